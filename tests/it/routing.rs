//! Routing stories on both backends: each default rule and each self-service flow, from a
//! customer message on a case to the reply, the case's new state and the audit trail.

use std::sync::Arc;

use async_trait::async_trait;
use casebot::domain::flows::FlowPolicy;
use casebot::domain::intent::Intent;
use casebot::domain::orders::{Billing, Order};
use casebot::domain::rules::{parse_rules, DEFAULT_RULES};
use casebot::domain::{CaseState, Priority};
use casebot::orders::import::import;
use casebot::orders::{BuiltInOrders, OrderSource, OrderSourceError, OrderWrite};
use casebot::services::conversation::Conversation;
use casebot::services::limits::{LimitSettings, Rate, RateLimits};
use casebot::services::routing::{Routed, RoutingService};
use casebot::services::stuck::{StuckPolicy, StuckSweeper};
use casebot::services::{audit, IntakePolicy, IntakeService};
use casebot::store::{Backend, Store};
use chrono::{DateTime, Duration, Utc};

use crate::on_both_backends;
use crate::support::{dm, mention, TestClock, TestDb};

on_both_backends!(
    a_security_report_escalates_at_once_with_the_safety_notice,
    a_tracking_question_is_answered_from_the_order_and_links_it,
    an_order_late_beyond_the_threshold_goes_to_the_queue,
    a_missing_high_value_parcel_with_an_angry_customer_goes_to_a_person_at_high_priority,
    a_charge_after_cancellation_is_refunded_once_and_audited,
    a_second_request_for_a_person_transfers_without_more_questions,
    an_order_system_outage_degrades_to_a_person_following_up,
    an_address_is_changed_from_the_follow_up_message_while_unshipped,
    a_third_message_about_the_same_order_offers_a_person_at_high_priority,
    an_unknown_order_number_is_named_back_to_the_customer,
    each_kind_of_stuck_case_goes_to_the_queue_with_its_reason,
    only_one_process_sweeps_at_a_time,
    a_flood_from_one_customer_is_stored_completely_with_one_notice,
    public_mentions_beyond_the_server_limit_get_no_public_reply,
    a_public_mention_left_unanswered_goes_to_the_queue,
    a_customer_past_the_hourly_escalation_limit_stays_with_the_bot,
    every_reply_waits_in_the_outbox_addressed_to_where_it_belongs,
);

const EXAMPLES: &[u8] = include_bytes!("../../examples/orders.jsonl");

fn noon(day: u32) -> DateTime<Utc> {
    format!("2026-11-{day:02}T12:00:00Z").parse().unwrap()
}

struct World {
    db: TestDb,
    store: Store,
    intake: IntakeService,
    routing: RoutingService,
    clock: Arc<TestClock>,
}

async fn world(backend: Backend, orders: Option<Arc<dyn OrderSource>>) -> Option<World> {
    let db = TestDb::new(backend).await?;
    let store = db.store().await;
    import(&store, EXAMPLES, false).await.unwrap();
    let clock = Arc::new(TestClock::at(noon(24)));
    let orders = orders.unwrap_or_else(|| Arc::new(BuiltInOrders::new(store.clone())));
    let rules = parse_rules(DEFAULT_RULES).unwrap();
    let routing = RoutingService::new(store.clone(), orders, rules, FlowPolicy::default())
        .with_clock(clock.clone());
    let intake = IntakeService::with_clock(store.clone(), IntakePolicy::default(), clock.clone());
    Some(World {
        db,
        store,
        intake,
        routing,
        clock,
    })
}

impl World {
    /// Takes in and routes one DM; returns the case id and the routing.
    async fn say(&self, who: &str, id: &str, text: &str) -> (i64, Routed) {
        let outcome = self.intake.receive(&dm(who, id, text)).await.unwrap();
        let routed = self
            .routing
            .route_message(outcome.case_id, text)
            .await
            .unwrap();
        (outcome.case_id, routed)
    }

    async fn state(&self, case_id: i64) -> (CaseState, Priority) {
        let case = self.store.case(case_id).await.unwrap().unwrap();
        (case.state, case.priority)
    }

    async fn actions(&self, case_id: i64) -> Vec<String> {
        let trail = self.store.audit_page(Some(case_id), 0, 1000).await.unwrap();
        trail.into_iter().map(|e| e.action).collect()
    }
}

async fn a_security_report_escalates_at_once_with_the_safety_notice(backend: Backend) {
    let Some(w) = world(backend, None).await else {
        return;
    };
    let (case, r) = w
        .say("u1", "m1", "someone hacked my account and ordered stuff")
        .await;
    assert_eq!(r.intent, Intent::AccountSecurity);
    assert!(r.escalated);
    assert!(
        r.reply.contains("never ask for your password"),
        "{}",
        r.reply
    );
    assert_eq!(
        w.state(case).await,
        (CaseState::Escalated, Priority::Urgent)
    );
    assert!(w
        .actions(case)
        .await
        .ends_with(&["case.routed".into(), "case.escalated".into()]));
    w.db.cleanup().await;
}

async fn a_tracking_question_is_answered_from_the_order_and_links_it(backend: Backend) {
    let Some(w) = world(backend, None).await else {
        return;
    };
    let (case, r) = w
        .say("u1", "m1", "where is my order 112-4430938-2412367?")
        .await;
    assert_eq!(r.flow, Some("tracking"));
    assert!(!r.escalated);
    for part in ["on its way", "Departed regional hub", "new estimate"] {
        assert!(r.reply.contains(part), "{part}: {}", r.reply);
    }
    let stored = w.store.case(case).await.unwrap().unwrap();
    assert_eq!(stored.order_number.as_deref(), Some("112-4430938-2412367"));
    assert_eq!(stored.state, CaseState::Open);
    w.db.cleanup().await;
}

async fn an_order_late_beyond_the_threshold_goes_to_the_queue(backend: Backend) {
    let Some(w) = world(backend, None).await else {
        return;
    };
    w.clock.advance(Duration::days(6)); // promised on the 26th; now the 30th
    let (case, r) = w.say("u1", "m1", "any update on 112-4430938-2412367").await;
    assert!(r.escalated, "{r:?}");
    assert!(
        r.reasons.contains(&"order_late".to_owned()),
        "{:?}",
        r.reasons
    );
    assert_eq!(w.state(case).await.0, CaseState::Escalated);
    w.db.cleanup().await;
}

async fn a_missing_high_value_parcel_with_an_angry_customer_goes_to_a_person_at_high_priority(
    backend: Backend,
) {
    let Some(w) = world(backend, None).await else {
        return;
    };
    let text = "tracking says my laptop 114-2207745-8812230 was delivered but it never arrived. this is ridiculous!!!";
    let (case, r) = w.say("u1", "m1", text).await;
    assert_eq!(r.intent, Intent::MissingDelivery);
    assert!(r.escalated);
    assert!(r.reply.contains("marked delivered"), "{}", r.reply);
    assert_eq!(w.state(case).await, (CaseState::Escalated, Priority::High));
    w.db.cleanup().await;
}

async fn a_charge_after_cancellation_is_refunded_once_and_audited(backend: Backend) {
    let Some(w) = world(backend, None).await else {
        return;
    };
    w.intake.receive(&dm("ivy", "m0", "hi")).await.unwrap();
    assert!(w
        .store
        .link_customer("discord", "ivy", "demo-ivy")
        .await
        .unwrap());
    let text = "I cancelled my membership but you charged me again this month";
    let (case, first) = w.say("ivy", "m1", text).await;
    assert_eq!(first.intent, Intent::BillingSubscription);
    assert_eq!(first.refunds, [("ch-ivy-2026-11".to_owned(), 1_499)]);
    assert!(first.reply.contains("$14.99"), "{}", first.reply);
    assert!(!first.escalated);

    let (_, again) = w.say("ivy", "m2", text).await;
    assert!(
        again.refunds.is_empty(),
        "never twice for one charge: {again:?}"
    );
    let refunds = w
        .actions(case)
        .await
        .iter()
        .filter(|a| *a == "refund.issued")
        .count();
    assert_eq!(refunds, 1);
    assert!(audit::verify(&w.store).await.unwrap().is_intact());
    w.db.cleanup().await;
}

async fn a_second_request_for_a_person_transfers_without_more_questions(backend: Backend) {
    let Some(w) = world(backend, None).await else {
        return;
    };
    let (case, first) = w
        .say("u1", "m1", "can I talk to a real person please")
        .await;
    assert!(first.offer_human && !first.escalated, "{first:?}");
    assert_eq!(w.state(case).await.0, CaseState::Open);
    let (_, second) = w.say("u1", "m2", "I want to speak to a human agent").await;
    assert!(second.escalated, "{second:?}");
    assert_eq!(w.state(case).await.0, CaseState::Escalated);
    w.db.cleanup().await;
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
    async fn refund_order(
        &self,
        _: &str,
        _: &str,
        _: DateTime<Utc>,
    ) -> Result<OrderWrite, OrderSourceError> {
        Err(OrderSourceError::Timeout(2000))
    }
    async fn refund_charge(
        &self,
        _: &str,
        _: &str,
        _: DateTime<Utc>,
    ) -> Result<OrderWrite, OrderSourceError> {
        Err(OrderSourceError::Timeout(2000))
    }
    async fn change_address(
        &self,
        _: &str,
        _: &str,
        _: &str,
        _: DateTime<Utc>,
    ) -> Result<OrderWrite, OrderSourceError> {
        Err(OrderSourceError::Timeout(2000))
    }
}

async fn an_order_system_outage_degrades_to_a_person_following_up(backend: Backend) {
    let Some(w) = world(backend, Some(Arc::new(DownOrders))).await else {
        return;
    };
    let (case, r) = w
        .say("u1", "m1", "where is my order 112-4430938-2412367")
        .await;
    assert!(r.escalated);
    assert!(
        r.reply.contains("a member of our team will follow up"),
        "{}",
        r.reply
    );
    assert!(
        r.reasons.contains(&"order_system_unavailable".to_owned()),
        "{:?}",
        r.reasons
    );
    assert_eq!(w.state(case).await.0, CaseState::Escalated);
    w.db.cleanup().await;
}

async fn an_address_is_changed_from_the_follow_up_message_while_unshipped(backend: Backend) {
    let Some(w) = world(backend, None).await else {
        return;
    };
    let ask = "I need to change the shipping address for order 111-5531287-4470019";
    let (_, first) = w.say("u1", "m1", ask).await;
    assert_eq!(first.flow, Some("address_change"));
    assert!(
        first.reply.contains("send the new address"),
        "{}",
        first.reply
    );
    let (_, vague) = w.say("u1", "m2", "my new place").await;
    assert!(vague.reply.contains("full new address"), "{}", vague.reply);
    let (_, done) = w.say("u1", "m3", "12 Harbour Street, Leith EH6 6QT").await;
    assert!(
        done.reply.starts_with("Done: order 111-5531287-4470019"),
        "{}",
        done.reply
    );
    w.db.cleanup().await;
}

async fn a_third_message_about_the_same_order_offers_a_person_at_high_priority(backend: Backend) {
    let Some(w) = world(backend, None).await else {
        return;
    };
    let ask = "where is 112-4430938-2412367";
    let (case, first) = w.say("u1", "m1", ask).await;
    assert!(!first.offer_human, "{first:?}");
    w.say("u1", "m2", "hello? any news on 112-4430938-2412367")
        .await;
    let (_, third) = w
        .say("u1", "m3", "checking again on 112-4430938-2412367")
        .await;
    assert!(third.offer_human, "{third:?}");
    assert_eq!(w.state(case).await.1, Priority::High);
    w.db.cleanup().await;
}

async fn an_unknown_order_number_is_named_back_to_the_customer(backend: Backend) {
    let Some(w) = world(backend, None).await else {
        return;
    };
    let (_, r) = w
        .say("u1", "m1", "where is my order 999-0000000-0000000")
        .await;
    assert!(
        r.reply.contains("couldn't find order 999-0000000-0000000"),
        "{}",
        r.reply
    );
    w.db.cleanup().await;
}

impl World {
    fn sweeper(&self) -> StuckSweeper {
        let orders = Arc::new(BuiltInOrders::new(self.store.clone()));
        StuckSweeper::new(
            self.store.clone(),
            orders,
            FlowPolicy::default(),
            StuckPolicy::default(),
        )
        .with_clock(self.clock.clone())
    }

    async fn sweep(&self) -> Vec<(i64, &'static str)> {
        self.sweeper()
            .sweep()
            .await
            .unwrap()
            .expect("no other sweeper is running")
    }
}

async fn each_kind_of_stuck_case_goes_to_the_queue_with_its_reason(backend: Backend) {
    let Some(w) = world(backend, None).await else {
        return;
    };
    let (window, _) = w
        .say(
            "u1",
            "m1",
            "tracking says 113-9054411-0326618 was delivered but it never arrived",
        )
        .await;
    let (late, _) = w
        .say("u2", "m2", "where is my order 112-4430938-2412367")
        .await;
    let (refund, _) = w
        .say("u3", "m3", "I want a refund for order 112-4430938-2412367")
        .await;
    let mut chatty = 0;
    for (i, text) in ["hello", "hello?", "is anyone there"].iter().enumerate() {
        chatty = w.say("u4", &format!("c{i}"), text).await.0;
    }
    let stuck = w.sweep().await;
    assert_eq!(
        stuck,
        [(chatty, "bot_not_resolving")],
        "only the chatty case is stuck yet"
    );

    w.clock.advance(Duration::days(6));
    let mut stuck = w.sweep().await;
    stuck.sort();
    let mut expected = vec![
        (window, "missing_delivery_window_ended"),
        (late, "order_late"),
        (refund, "refund_pending"),
    ];
    expected.sort();
    assert_eq!(stuck, expected);
    for (case, _) in expected {
        assert_eq!(w.state(case).await.0, CaseState::Escalated);
    }
    assert!(
        w.sweep().await.is_empty(),
        "escalated cases are not swept again"
    );
    w.db.cleanup().await;
}

async fn only_one_process_sweeps_at_a_time(backend: Backend) {
    let Some(w) = world(backend, None).await else {
        return;
    };
    if backend == Backend::Sqlite {
        // One process owns a SQLite database; the sweep simply runs.
        assert!(w.sweeper().sweep().await.unwrap().is_some());
        return w.db.cleanup().await;
    }
    let other = w.db.store().await;
    let mut held = other.pool().acquire().await.unwrap();
    let got: bool =
        sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext(current_schema()), $1)")
            .bind(casebot::store::JOB_STUCK_SWEEP)
            .fetch_one(&mut *held)
            .await
            .unwrap();
    assert!(got);
    assert_eq!(
        w.sweeper().sweep().await.unwrap(),
        None,
        "another process holds the sweep"
    );
    sqlx::query("SELECT pg_advisory_unlock(hashtext(current_schema()), $1)")
        .bind(casebot::store::JOB_STUCK_SWEEP)
        .execute(&mut *held)
        .await
        .unwrap();
    drop(held);
    other.close().await;
    assert!(w.sweeper().sweep().await.unwrap().is_some());
    w.db.cleanup().await;
}

impl World {
    fn conversation(&self, limits: LimitSettings) -> Conversation {
        Conversation::new(
            self.store.clone(),
            self.intake.clone(),
            self.routing.clone(),
            Arc::new(RateLimits::new(&limits)),
        )
    }
}

async fn a_flood_from_one_customer_is_stored_completely_with_one_notice(backend: Backend) {
    let Some(w) = world(backend, None).await else {
        return;
    };
    let talk = w.conversation(LimitSettings::default());
    let mut handled = Vec::new();
    for i in 0..20 {
        handled.push(
            talk.handle(&dm("flood", &format!("f{i}"), &format!("hello {i}")))
                .await
                .unwrap(),
        );
    }
    let routed = handled.iter().filter(|h| h.routed.is_some()).count();
    let notices = handled.iter().filter(|h| h.notice.is_some()).count();
    assert_eq!(
        (routed, notices),
        (5, 1),
        "5 per 10 s are answered; one notice for the rest"
    );
    let case = handled[0].intake.case_id;
    assert_eq!(
        w.store.messages(case).await.unwrap().len(),
        20,
        "every message is stored"
    );
    let limited = w
        .actions(case)
        .await
        .iter()
        .filter(|a| *a == "rate.limited")
        .count();
    assert_eq!(limited, 15);
    assert!(casebot::services::audit::verify(&w.store)
        .await
        .unwrap()
        .is_intact());
    w.db.cleanup().await;
}

async fn public_mentions_beyond_the_server_limit_get_no_public_reply(backend: Backend) {
    let Some(w) = world(backend, None).await else {
        return;
    };
    let limits = LimitSettings {
        mentions_per_server: Rate {
            events: 3,
            per: std::time::Duration::from_secs(60),
        },
        ..LimitSettings::default()
    };
    let talk = w.conversation(limits);
    let mut acks = 0;
    for i in 0..5 {
        let h = talk
            .handle(&mention(
                &format!("p{i}"),
                &format!("p{i}"),
                "@casebot help",
            ))
            .await
            .unwrap();
        acks += usize::from(h.public_ack.is_some());
        assert!(h.public_ack.as_deref().is_none_or(|a| !a.contains("order")));
    }
    assert_eq!(acks, 3);
    let (customers, cases, messages, _) = w.store.counts().await.unwrap();
    assert_eq!((customers, cases, messages), (5, 5, 5), "nothing is lost");
    w.db.cleanup().await;
}

async fn a_public_mention_left_unanswered_goes_to_the_queue(backend: Backend) {
    let Some(w) = world(backend, None).await else {
        return;
    };
    let talk = w.conversation(LimitSettings::default());
    let unanswered = talk
        .handle(&mention("p1", "p1", "@casebot my order never came"))
        .await
        .unwrap()
        .intake
        .case_id;
    let answered = talk
        .handle(&mention("p2", "p2", "@casebot hello"))
        .await
        .unwrap()
        .intake
        .case_id;
    // Only the second case's messages reach the platform.
    for (entry, _) in w.store.case_outbox(answered).await.unwrap() {
        let now = casebot::services::Clock::now(&*w.clock);
        w.store
            .mark_outbox_sent(entry.id, "msg", now)
            .await
            .unwrap();
    }
    w.clock.advance(Duration::minutes(14));
    assert!(w.sweep().await.is_empty(), "15 minutes have not passed yet");
    w.clock.advance(Duration::minutes(2));
    assert_eq!(w.sweep().await, [(unanswered, "public_mention_unanswered")]);
    assert_eq!(w.state(answered).await.0, CaseState::Open);
    w.db.cleanup().await;
}

async fn a_customer_past_the_hourly_escalation_limit_stays_with_the_bot(backend: Backend) {
    let Some(w) = world(backend, None).await else {
        return;
    };
    let limits = Arc::new(RateLimits::new(&LimitSettings {
        escalations_per_customer: Rate {
            events: 1,
            per: std::time::Duration::from_secs(3600),
        },
        ..LimitSettings::default()
    }));
    let routing = w.routing.clone().with_limits(limits.clone());
    let talk = Conversation::new(w.store.clone(), w.intake.clone(), routing, limits);
    let first = talk
        .handle(&dm("u1", "m1", "someone hacked my account"))
        .await
        .unwrap();
    let case = first.intake.case_id;
    assert!(first.routed.unwrap().escalated);
    let cases = casebot::services::CaseService::with_clock(w.store.clone(), w.clock.clone());
    let resolve = casebot::domain::CaseAction::Resolve {
        summary: "secured".into(),
    };
    let system = casebot::services::Actor::system();
    cases.apply(case, &system, resolve).await.unwrap();

    // Ten minutes later the same customer writes again: the case reopens, but stays with the bot.
    w.clock.advance(Duration::minutes(10));
    let again = talk
        .handle(&dm(
            "u1",
            "m2",
            "my account was hacked again, I need a person",
        ))
        .await
        .unwrap();
    assert_eq!(again.intake.case_id, case);
    let routed = again.routed.unwrap();
    assert!(!routed.escalated);
    assert!(routed
        .reasons
        .contains(&"escalation_rate_limited".to_owned()));
    assert!(routed.reply.contains("this hour"), "{}", routed.reply);
    assert_eq!(w.state(case).await.0, CaseState::Open);
    assert_eq!(
        w.store.messages(case).await.unwrap().len(),
        2,
        "nothing is lost"
    );
    let trail = w.store.audit_page(Some(case), 0, 100).await.unwrap();
    let limited = trail.iter().find(|e| e.action == "rate.limited").unwrap();
    assert!(limited.details.contains("escalations_per_customer"));
    w.db.cleanup().await;
}

async fn every_reply_waits_in_the_outbox_addressed_to_where_it_belongs(backend: Backend) {
    use casebot::domain::{Destination, OutboxKind};
    let Some(w) = world(backend, None).await else {
        return;
    };
    let talk = w.conversation(LimitSettings::default());
    let handled = talk
        .handle(&mention(
            "p1",
            "post-1",
            "@casebot someone hacked my account",
        ))
        .await
        .unwrap();
    let case = handled.intake.case_id;
    let queued: Vec<_> = w
        .store
        .case_outbox(case)
        .await
        .unwrap()
        .into_iter()
        .map(|(e, _)| (e.kind, e.destination, e.body))
        .collect();
    let kinds: Vec<OutboxKind> = queued.iter().map(|q| q.0).collect();
    assert_eq!(
        kinds,
        [
            OutboxKind::Reply,
            OutboxKind::Mirror,
            OutboxKind::PublicAck,
            OutboxKind::CaseCard
        ]
    );
    assert_eq!(queued[1].1, Destination::CaseThread);
    assert_eq!(
        queued[0].1,
        Destination::CustomerDm {
            user_id: "p1".into()
        }
    );
    assert_eq!(queued[0].2, handled.routed.unwrap().reply);
    assert_eq!(
        queued[2].1,
        Destination::Channel {
            channel_id: "general".into(),
            reply_to: Some("post-1".into())
        }
    );
    assert_eq!(queued[2].2, handled.public_ack.unwrap());
    assert_eq!(queued[3].1, Destination::StaffQueue);
    w.db.cleanup().await;
}
