//! Routing stories on both backends: each default rule and each self-service flow, from a
//! customer message to the reply, the case's new state and its audit trail; the stuck-case
//! sweeper; and the rate limits that keep a flood from drowning the queue without losing a word.

use std::sync::Arc;

use async_trait::async_trait;
use casebot::domain::audit::Actor;
use casebot::domain::change::OutboxUpdate;
use casebot::domain::ids::CaseId;
use casebot::domain::orders::{Billing, Order, OrderWrite, OrderWriteOutcome};
use casebot::domain::policy::{LimitSettings, Rate};
use casebot::domain::views::OutboxEntry;
use casebot::domain::{
    CaseAction, CaseState, Change, ChannelKind, Destination, Flow, InboundMessage, Intent,
    OutboxKind, Priority, UserId,
};
use casebot::orders::import::import;
use casebot::orders::{OrderSource, OrderSourceError};
use casebot::services::intake::Handled;
use casebot::services::Clock;
use casebot::store::Backend;
use chrono::{DateTime, Duration, Utc};

use crate::on_both_backends;
use crate::support::app::{Setup, TestApp};

on_both_backends!(
    a_security_report_escalates_at_once_with_the_safety_notice,
    a_tracking_question_is_answered_from_the_order_and_links_it,
    an_order_late_beyond_the_threshold_goes_to_the_queue,
    a_missing_high_value_parcel_with_an_angry_customer_goes_to_a_person_at_high_priority,
    a_charge_after_cancellation_is_refunded_once_and_audited,
    a_second_request_for_a_person_transfers_without_more_questions,
    an_order_system_outage_degrades_to_a_person_following_up,
    #[ignore = "bug: while the address-change flow waits for the new address, the vague follow-up \
                \"my new place\" is classified return_or_exchange at 0.36 and answered by the refund \
                flow instead of being asked for the full new address"]
    an_address_is_changed_from_the_follow_up_message_while_unshipped,
    a_third_message_about_the_same_order_offers_a_person_at_high_priority,
    an_unknown_order_number_is_named_back_to_the_customer,
    each_kind_of_stuck_case_goes_to_the_queue_with_its_reason,
    only_one_process_sweeps_stuck_cases_at_a_time,
    a_flood_from_one_customer_is_stored_completely_with_one_notice,
    public_mentions_beyond_the_server_limit_get_no_public_reply,
    a_public_mention_left_unanswered_goes_to_the_queue,
    a_customer_past_the_hourly_escalation_limit_stays_with_the_bot,
    every_reply_waits_in_the_outbox_addressed_to_where_it_belongs,
);

const EXAMPLES: &[u8] = include_bytes!("../../examples/orders.jsonl");

/// The example orders' dates are set around noon on 24 November 2026.
fn noon(day: u32) -> DateTime<Utc> {
    format!("2026-11-{day:02}T12:00:00Z").parse().unwrap()
}

/// casebot on the example orders at noon on the 24th, with `setup` besides.
async fn shop(backend: Backend, setup: Setup) -> Option<TestApp> {
    let setup = Setup {
        clock: Some(noon(24)),
        limits: setup.limits.or(Some(LimitSettings::unlimited())),
        ..setup
    };
    let t = TestApp::with(backend, setup).await?;
    import(t.store(), EXAMPLES, false).await.unwrap();
    Some(t)
}

async fn default_shop(backend: Backend) -> Option<TestApp> {
    shop(backend, Setup::default()).await
}

/// `user` writes `text` in DM: the case and what routing made of it.
async fn say(t: &TestApp, user: &str, text: &str) -> (CaseId, casebot::services::intake::Routed) {
    let handled = t.dm(user, text).await;
    let routed = handled.routed.expect("the message is routed");
    (handled.case_id, routed)
}

async fn state(t: &TestApp, case: CaseId) -> (CaseState, Priority) {
    let case = t.case(case).await;
    (case.state, case.priority)
}

async fn a_security_report_escalates_at_once_with_the_safety_notice(backend: Backend) {
    let Some(t) = default_shop(backend).await else {
        return;
    };
    let (case, r) = say(&t, "u1", "someone hacked my account and ordered stuff").await;
    assert_eq!(r.intent, Intent::AccountSecurity);
    assert!(r.escalated);
    assert!(
        r.reply.contains("never ask for your password"),
        "{}",
        r.reply
    );
    assert_eq!(
        state(&t, case).await,
        (CaseState::Escalated, Priority::Urgent)
    );
    let trail = t.trail(case).await;
    // Routing and its escalation are one unit of work, recorded escalation first.
    assert!(
        trail.ends_with(&["case.escalated".into(), "case.routed".into()]),
        "{trail:?}"
    );
    t.cleanup().await;
}

async fn a_tracking_question_is_answered_from_the_order_and_links_it(backend: Backend) {
    let Some(t) = default_shop(backend).await else {
        return;
    };
    let (case, r) = say(&t, "u1", "where is my order 112-4430938-2412367?").await;
    assert_eq!(r.flow, Some(Flow::Tracking));
    assert!(!r.escalated);
    for part in ["on its way", "Departed regional hub", "new estimate"] {
        assert!(r.reply.contains(part), "{part}: {}", r.reply);
    }
    let stored = t.case(case).await;
    assert_eq!(stored.order_number.as_deref(), Some("112-4430938-2412367"));
    assert_eq!(stored.state, CaseState::Open);
    t.cleanup().await;
}

async fn an_order_late_beyond_the_threshold_goes_to_the_queue(backend: Backend) {
    let Some(t) = default_shop(backend).await else {
        return;
    };
    t.clock.advance(Duration::days(6)); // promised for the 26th; now it is the 30th
    let (case, r) = say(&t, "u1", "any update on 112-4430938-2412367").await;
    assert!(r.escalated, "{r:?}");
    assert!(
        r.reasons.iter().any(|x| x == "order_late"),
        "{:?}",
        r.reasons
    );
    assert_eq!(state(&t, case).await.0, CaseState::Escalated);
    t.cleanup().await;
}

async fn a_missing_high_value_parcel_with_an_angry_customer_goes_to_a_person_at_high_priority(
    backend: Backend,
) {
    let Some(t) = default_shop(backend).await else {
        return;
    };
    let text = "tracking says my laptop 114-2207745-8812230 was delivered but it never arrived. this is ridiculous!!!";
    let (case, r) = say(&t, "u1", text).await;
    assert_eq!(r.intent, Intent::MissingDelivery);
    assert!(r.escalated);
    assert!(r.reply.contains("marked delivered"), "{}", r.reply);
    assert_eq!(
        state(&t, case).await,
        (CaseState::Escalated, Priority::High)
    );
    t.cleanup().await;
}

async fn a_charge_after_cancellation_is_refunded_once_and_audited(backend: Backend) {
    let Some(t) = default_shop(backend).await else {
        return;
    };
    let case = t.dm("ivy", "hi").await.case_id;
    let customer = t.case(case).await.customer_id;
    t.app
        .customers
        .link_account(customer, "demo-ivy", &Actor::system("test"))
        .await
        .unwrap();
    let text = "I cancelled my membership but you charged me again this month";
    let (_, first) = say(&t, "ivy", text).await;
    assert_eq!(first.intent, Intent::BillingSubscription);
    assert_eq!(first.refunds, [("ch-ivy-2026-11".to_owned(), 1_499)]);
    assert!(first.reply.contains("$14.99"), "{}", first.reply);
    assert!(!first.escalated);

    let (_, again) = say(&t, "ivy", text).await;
    assert!(
        again.refunds.is_empty(),
        "never twice for one charge: {again:?}"
    );
    let trail = t.trail(case).await;
    let refunds = trail.iter().filter(|a| *a == "refund.issued").count();
    assert_eq!(refunds, 1, "{trail:?}");
    t.assert_log_intact().await;
    t.cleanup().await;
}

async fn a_second_request_for_a_person_transfers_without_more_questions(backend: Backend) {
    let Some(t) = default_shop(backend).await else {
        return;
    };
    let (case, first) = say(&t, "u1", "can I talk to a real person please").await;
    assert!(first.offer_human && !first.escalated, "{first:?}");
    assert_eq!(state(&t, case).await.0, CaseState::Open);
    let (_, second) = say(&t, "u1", "I want to speak to a human agent").await;
    assert!(second.escalated, "{second:?}");
    assert_eq!(state(&t, case).await.0, CaseState::Escalated);
    t.cleanup().await;
}

/// An order system that never answers in time.
struct DownOrders;

#[async_trait]
impl OrderSource for DownOrders {
    async fn order(&self, _: &str) -> Result<Option<Order>, OrderSourceError> {
        Err(OrderSourceError::Timeout(2000))
    }
    async fn billing(&self, _: &str) -> Result<Billing, OrderSourceError> {
        Err(OrderSourceError::Timeout(2000))
    }
    async fn write(
        &self,
        _: &OrderWrite,
        _: &str,
        _: DateTime<Utc>,
    ) -> Result<OrderWriteOutcome, OrderSourceError> {
        Err(OrderSourceError::Timeout(2000))
    }
}

async fn an_order_system_outage_degrades_to_a_person_following_up(backend: Backend) {
    let setup = Setup {
        orders: Some(Arc::new(DownOrders)),
        ..Setup::default()
    };
    let Some(t) = shop(backend, setup).await else {
        return;
    };
    let (case, r) = say(&t, "u1", "where is my order 112-4430938-2412367").await;
    assert!(r.escalated);
    assert!(
        r.reply.contains("a member of our team will follow up"),
        "{}",
        r.reply
    );
    assert!(
        r.reasons.iter().any(|x| x == "order_system_unavailable"),
        "{:?}",
        r.reasons
    );
    assert_eq!(state(&t, case).await.0, CaseState::Escalated);
    t.cleanup().await;
}

async fn an_address_is_changed_from_the_follow_up_message_while_unshipped(backend: Backend) {
    let Some(t) = default_shop(backend).await else {
        return;
    };
    let ask = "I need to change the shipping address for order 111-5531287-4470019";
    let (_, first) = say(&t, "u1", ask).await;
    assert_eq!(first.flow, Some(Flow::AddressChange));
    assert!(
        first.reply.contains("send the new address"),
        "{}",
        first.reply
    );
    let (_, vague) = say(&t, "u1", "my new place").await;
    assert!(vague.reply.contains("full new address"), "{}", vague.reply);
    let (_, done) = say(&t, "u1", "12 Harbour Street, Leith EH6 6QT").await;
    assert!(
        done.reply.starts_with("Done: order 111-5531287-4470019"),
        "{}",
        done.reply
    );
    t.cleanup().await;
}

async fn a_third_message_about_the_same_order_offers_a_person_at_high_priority(backend: Backend) {
    let Some(t) = default_shop(backend).await else {
        return;
    };
    let (case, first) = say(&t, "u1", "where is 112-4430938-2412367").await;
    assert!(!first.offer_human, "{first:?}");
    say(&t, "u1", "hello? any news on 112-4430938-2412367").await;
    let (_, third) = say(&t, "u1", "checking again on 112-4430938-2412367").await;
    assert!(third.offer_human, "{third:?}");
    assert_eq!(state(&t, case).await.1, Priority::High);
    t.cleanup().await;
}

async fn an_unknown_order_number_is_named_back_to_the_customer(backend: Backend) {
    let Some(t) = default_shop(backend).await else {
        return;
    };
    let (_, r) = say(&t, "u1", "where is my order 999-0000000-0000000").await;
    assert!(
        r.reply.contains("couldn't find order 999-0000000-0000000"),
        "{}",
        r.reply
    );
    t.cleanup().await;
}

/// One pass of the stuck-case sweeper: the cases it handed to the queue, with their reasons.
async fn sweep(t: &TestApp) -> Vec<(CaseId, &'static str)> {
    let mut stuck = t
        .app
        .sweepers
        .stuck_cases()
        .await
        .unwrap()
        .expect("no other process is sweeping");
    stuck.sort();
    stuck
}

async fn each_kind_of_stuck_case_goes_to_the_queue_with_its_reason(backend: Backend) {
    let Some(t) = default_shop(backend).await else {
        return;
    };
    let text = "tracking says 113-9054411-0326618 was delivered but it never arrived";
    let (window, _) = say(&t, "u1", text).await;
    let (late, _) = say(&t, "u2", "where is my order 112-4430938-2412367").await;
    let (refund, _) = say(&t, "u3", "I want a refund for order 112-4430938-2412367").await;
    let mut chatty = CaseId::NEW;
    for text in ["hello", "hello?", "is anyone there"] {
        chatty = say(&t, "u4", text).await.0;
    }
    assert_eq!(
        sweep(&t).await,
        [(chatty, "bot_not_resolving")],
        "only the chatty case is stuck yet"
    );

    t.clock.advance(Duration::days(6));
    let mut expected = vec![
        (window, "missing_delivery_window_ended"),
        (late, "order_late"),
        (refund, "refund_pending"),
    ];
    expected.sort();
    assert_eq!(sweep(&t).await, expected);
    for (case, _) in expected {
        assert_eq!(state(&t, case).await.0, CaseState::Escalated);
    }
    assert!(
        sweep(&t).await.is_empty(),
        "escalated cases are not swept again"
    );
    t.cleanup().await;
}

async fn only_one_process_sweeps_stuck_cases_at_a_time(backend: Backend) {
    let Some(t) = default_shop(backend).await else {
        return;
    };
    if backend == Backend::Sqlite {
        // One process owns a SQLite database; the sweep simply runs.
        assert!(t.app.sweepers.stuck_cases().await.unwrap().is_some());
        return t.cleanup().await;
    }
    let other = t.db.store().await;
    let held = other.try_exclusive("stuck-sweeper").await.unwrap();
    assert!(held.is_some(), "the other process takes the sweep");
    assert_eq!(
        t.app.sweepers.stuck_cases().await.unwrap(),
        None,
        "another process holds the sweep"
    );
    held.unwrap().release().await;
    other.close().await;
    assert!(t.app.sweepers.stuck_cases().await.unwrap().is_some());
    t.cleanup().await;
}

/// What the message queued for the customer, of `kind`.
async fn queued(t: &TestApp, case: CaseId, kind: OutboxKind) -> Vec<OutboxEntry> {
    let entries = t.outbox(case).await;
    entries.into_iter().filter(|e| e.kind == kind).collect()
}

async fn a_flood_from_one_customer_is_stored_completely_with_one_notice(backend: Backend) {
    let setup = Setup {
        limits: Some(LimitSettings::default()),
        ..Setup::default()
    };
    let Some(t) = shop(backend, setup).await else {
        return;
    };
    let mut handled: Vec<Handled> = Vec::new();
    for i in 0..20 {
        handled.push(t.dm("flood", &format!("hello {i}")).await);
    }
    let case = handled[0].case_id;
    let routed = handled.iter().filter(|h| h.routed.is_some()).count();
    let notices = queued(&t, case, OutboxKind::SlowDown).await.len();
    assert_eq!(
        (routed, notices),
        (5, 1),
        "5 in 10 s are answered; one notice for the rest"
    );
    assert_eq!(
        t.store().messages(case).await.unwrap().len(),
        20,
        "every message is stored"
    );
    let limited = t.trail(case).await;
    assert_eq!(limited.iter().filter(|a| *a == "rate.limited").count(), 15);
    t.assert_log_intact().await;
    t.cleanup().await;
}

async fn public_mentions_beyond_the_server_limit_get_no_public_reply(backend: Backend) {
    let limits = LimitSettings {
        mentions_per_server: Rate {
            events: 3,
            per: std::time::Duration::from_secs(60),
        },
        ..LimitSettings::default()
    };
    let setup = Setup {
        limits: Some(limits),
        ..Setup::default()
    };
    let Some(t) = shop(backend, setup).await else {
        return;
    };
    let mut acks = 0;
    for i in 0..5 {
        let case = t.mention(&format!("p{i}"), "@casebot help").await.case_id;
        let public = queued(&t, case, OutboxKind::PublicAck).await;
        acks += public.len();
        assert!(
            public.iter().all(|a| !a.body.contains("order")),
            "{public:?}"
        );
    }
    assert_eq!(acks, 3);
    let counts = t.store().counts().await.unwrap();
    assert_eq!(
        (counts.customers, counts.cases, counts.messages),
        (5, 5, 5),
        "nothing is lost"
    );
    t.cleanup().await;
}

async fn a_public_mention_left_unanswered_goes_to_the_queue(backend: Backend) {
    let Some(t) = default_shop(backend).await else {
        return;
    };
    let unanswered = t
        .mention("p1", "@casebot my order never came")
        .await
        .case_id;
    let answered = t.mention("p2", "@casebot hello").await.case_id;
    // Only the second case's messages reach the platform.
    for entry in t.outbox(answered).await {
        let sent = OutboxUpdate::Sent {
            id: entry.id,
            platform_message_id: format!("msg-{}", entry.id),
        };
        let change = Change::at(t.clock.now()).delivered(sent);
        t.store().apply(change).await.unwrap();
    }
    t.clock.advance(Duration::minutes(14));
    assert!(sweep(&t).await.is_empty(), "15 minutes have not passed yet");
    t.clock.advance(Duration::minutes(2));
    assert_eq!(sweep(&t).await, [(unanswered, "public_mention_unanswered")]);
    assert_eq!(state(&t, answered).await.0, CaseState::Open);
    t.cleanup().await;
}

async fn a_customer_past_the_hourly_escalation_limit_stays_with_the_bot(backend: Backend) {
    let limits = LimitSettings {
        escalations_per_customer: Rate {
            events: 1,
            per: std::time::Duration::from_secs(3600),
        },
        ..LimitSettings::default()
    };
    let setup = Setup {
        limits: Some(limits),
        ..Setup::default()
    };
    let Some(t) = shop(backend, setup).await else {
        return;
    };
    let (case, first) = say(&t, "u1", "someone hacked my account").await;
    assert!(first.escalated);
    let resolve = CaseAction::Resolve {
        summary: "secured".into(),
    };
    t.app
        .staff
        .act_as(case, &Actor::system("test"), resolve)
        .await
        .unwrap();

    // Ten minutes later the same customer writes again: the case reopens, but stays with the bot.
    t.clock.advance(Duration::minutes(10));
    let (again, routed) = say(&t, "u1", "my account was hacked again, I need a person").await;
    assert_eq!(again, case);
    assert!(!routed.escalated, "{routed:?}");
    assert!(
        routed
            .reasons
            .iter()
            .any(|x| x == "escalation_rate_limited"),
        "{:?}",
        routed.reasons
    );
    assert!(routed.reply.contains("this hour"), "{}", routed.reply);
    assert_eq!(state(&t, case).await.0, CaseState::Open);
    assert_eq!(
        t.store().messages(case).await.unwrap().len(),
        2,
        "nothing is lost"
    );
    let limited = t
        .events(case)
        .await
        .into_iter()
        .find(|e| e.action == "rate.limited")
        .expect("the limit is audited");
    assert!(
        limited
            .details
            .to_string()
            .contains("escalations_per_customer"),
        "{:?}",
        limited.details
    );
    t.cleanup().await;
}

async fn every_reply_waits_in_the_outbox_addressed_to_where_it_belongs(backend: Backend) {
    let Some(t) = default_shop(backend).await else {
        return;
    };
    let post = InboundMessage {
        platform: "discord".into(),
        author_id: UserId::new("p1"),
        author_name: "p1 name".into(),
        channel_kind: ChannelKind::Public,
        channel_id: "general".into(),
        message_id: "post-1".into(),
        text: "@casebot someone hacked my account".into(),
        sent_at: t.clock.now(),
    };
    let handled = t.app.intake.take_in(&post).await.unwrap();
    let queued: Vec<_> = t
        .outbox(handled.case_id)
        .await
        .into_iter()
        .map(|e| (e.kind, e.destination, e.body))
        .collect();
    let kinds: Vec<OutboxKind> = queued.iter().map(|q| q.0).collect();
    assert_eq!(
        kinds,
        [
            OutboxKind::CaseCard,
            OutboxKind::Reply,
            OutboxKind::Mirror,
            OutboxKind::PublicAck,
        ]
    );
    assert_eq!(queued[0].1, Destination::StaffQueue);
    assert_eq!(
        queued[1].1,
        Destination::CustomerDm {
            user_id: UserId::new("p1")
        }
    );
    assert_eq!(queued[1].2, handled.routed.unwrap().reply);
    assert_eq!(queued[2].1, Destination::CaseThread);
    assert_eq!(
        queued[3].1,
        Destination::Channel {
            channel_id: "general".into(),
            reply_to: Some("post-1".into())
        }
    );
    t.cleanup().await;
}
