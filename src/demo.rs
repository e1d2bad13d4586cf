//! `casebot demo`: a scripted support conversation played through the real services on the
//! configured database, printed as a transcript. Every step states what it expects; the demo exits
//! non-zero naming the first step that did not behave.

use std::io::Write;
use std::process::ExitCode;

use chrono::{Duration, Utc};

use crate::domain::orders::{Charge, Order, OrderStatus, Subscription};
use crate::domain::staff::{Role, StaffMember};
use crate::domain::{CaseAction, CaseState, ChannelKind, InboundMessage, Priority};
use crate::services::routing::{Routed, RoutingService};
use crate::services::{audit, Actor, CaseService, Disposition, IntakeOutcome, IntakeService};
use crate::store::Store;

/// Plays the scenario. Ids carry a per-run tag, so the demo can run again on the same database.
pub async fn run(
    store: &Store,
    intake: IntakeService,
    routing: RoutingService,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let cases = CaseService::new(store.clone());
    let tag = Utc::now().timestamp_millis();
    let orders = seed_orders(store, tag).await?;
    let mut script = Script {
        out,
        tag,
        intake,
        routing,
        failed: None,
    };
    let backend = store.backend().as_str();
    writeln!(script.out, "casebot demo on {backend} (run {tag})\n")?;

    let question = format!("Where is my order {}?", orders.parcel);
    let (first, routed) = script.dm("maya", "Maya", "m1", &question).await?;
    let answered = first.disposition == Disposition::New
        && routed.flow == Some("tracking")
        && routed.reply.contains("on its way");
    script.expect(
        1,
        "a tracking question in DM is answered from the order",
        answered,
    )?;

    let replay = script
        .customer("maya", "Maya", ChannelKind::Dm, "m1", &question)
        .await?;
    let same = replay.is_duplicate() && replay.case_id == first.case_id;
    script.expect(
        2,
        "a redelivered message is recognised and changes nothing",
        same,
    )?;

    let (card, _) = script
        .dm("maya", "Maya", "m2", "It was paid with 4111 1111 1111 1111")
        .await?;
    let stored = store.messages(first.case_id).await?;
    let hidden = card.cards_removed == 1 && stored.iter().all(|m| !m.body.contains("4111"));
    script.expect(3, "a card number is removed before it is stored", hidden)?;

    script
        .customer("ivy", "Ivy", ChannelKind::Dm, "i0", "hi")
        .await?;
    store
        .link_customer("demo", &format!("ivy-{tag}"), &orders.ivy_ref)
        .await?;
    let complaint = "I cancelled my membership last month but you charged me again!";
    let (_, refund) = script.dm("ivy", "Ivy", "i1", complaint).await?;
    let refunded = refund.refunds.len() == 1 && refund.reply.contains("$14.99");
    script.expect(
        4,
        "a charge after cancellation is refunded at first contact",
        refunded,
    )?;

    let public = script
        .customer(
            "leo",
            "Leo",
            ChannelKind::Public,
            "l1",
            "@casebot I need help with an order",
        )
        .await?;
    let own_case = public.disposition == Disposition::New && public.case_id != first.case_id;
    script.expect(
        5,
        "a public mention opens the customer's own case",
        own_case,
    )?;

    let angry = format!(
        "Tracking says my laptop {} was delivered but it NEVER arrived. This is ridiculous!!!",
        orders.laptop
    );
    let (_, escalated) = script.dm("leo", "Leo", "l2", &angry).await?;
    let case = store.case(public.case_id).await?;
    let high =
        case.is_some_and(|c| c.state == CaseState::Escalated && c.priority == Priority::High);
    script.expect(
        6,
        "a frustrated customer with a missing $900 laptop is escalated, priority high",
        escalated.escalated && high,
    )?;

    // Two staff members click Claim at the same moment.
    for id in ["ana", "ben"] {
        let member = StaffMember {
            id: id.into(),
            role: Role::Staff,
        };
        cases.add_staff(&member, &Actor::system()).await?;
    }
    let claim = |staff: &str| CaseAction::Claim {
        staff: staff.into(),
    };
    let (a, b) = tokio::join!(
        cases.apply_as_staff(public.case_id, "ana", claim("ana")),
        cases.apply_as_staff(public.case_id, "ben", claim("ben")),
    );
    let outcome = |r: &Result<CaseState, crate::services::CaseError>| match r {
        Ok(_) => "claimed".to_owned(),
        Err(e) => e.to_string(),
    };
    writeln!(
        script.out,
        "  ana clicks Claim: {}\n  ben clicks Claim: {}",
        outcome(&a),
        outcome(&b)
    )?;
    script.expect(
        7,
        "of two simultaneous claims exactly one wins",
        a.is_ok() != b.is_ok(),
    )?;

    let winner = if a.is_ok() { "ana" } else { "ben" };
    let resolve = CaseAction::Resolve {
        summary: "replacement laptop sent".into(),
    };
    cases
        .apply_as_staff(public.case_id, winner, resolve)
        .await?;
    let back = script
        .customer(
            "leo",
            "Leo",
            ChannelKind::Dm,
            "l3",
            "thanks, it just arrived!",
        )
        .await?;
    let reopened = back.disposition == Disposition::Reopened && back.case_id == public.case_id;
    script.expect(
        8,
        "a message soon after resolution reopens the case",
        reopened,
    )?;

    let report = audit::verify(store).await?;
    let state = if report.is_intact() {
        "intact"
    } else {
        "TAMPERED"
    };
    writeln!(
        script.out,
        "\naudit verify: {} events, {state}",
        report.checked
    )?;
    script.expect(9, "the audit log verifies", report.is_intact())?;

    Ok(match script.failed {
        None => {
            writeln!(script.out, "\ndemo passed: every step behaved as expected")?;
            ExitCode::SUCCESS
        }
        Some(step) => {
            writeln!(script.out, "\ndemo FAILED at step {step}")?;
            ExitCode::FAILURE
        }
    })
}

/// The order numbers and customer reference the scenario talks about.
struct DemoOrders {
    parcel: String,
    laptop: String,
    ivy_ref: String,
}

/// Orders of this run in the built-in order system, numbered from the run tag.
async fn seed_orders(store: &Store, tag: i64) -> anyhow::Result<DemoOrders> {
    let now = Utc::now();
    let number = |n: i64| {
        format!(
            "{:03}-{:07}-{:07}",
            100 + n,
            tag % 10_000_000,
            (tag / 10) % 10_000_000
        )
    };
    let parcel = Order {
        number: number(1),
        customer_ref: format!("maya-{tag}"),
        status: OrderStatus::InTransit,
        total_cents: 4_999,
        carrier: Some("Parcelway".into()),
        last_scan: Some("Departed regional hub".into()),
        last_scan_at: Some(now - Duration::hours(20)),
        promised_by: Some(now + Duration::days(1)),
        estimated_by: Some(now + Duration::days(2)),
        delivered_at: None,
        delivery_photo: None,
        return_window_days: 30,
        refunded_at: None,
    };
    let laptop = Order {
        number: number(2),
        customer_ref: format!("leo-{tag}"),
        status: OrderStatus::Delivered,
        total_cents: 89_999,
        last_scan: Some("Delivered, left at front door".into()),
        last_scan_at: Some(now - Duration::hours(5)),
        delivered_at: Some(now - Duration::hours(5)),
        delivery_photo: Some(format!("pod-{}.jpg", number(2))),
        ..parcel.clone()
    };
    store.upsert_order(&parcel).await?;
    store.upsert_order(&laptop).await?;
    let ivy_ref = format!("ivy-ref-{tag}");
    let plan = Subscription {
        id: format!("plus-{tag}"),
        customer_ref: ivy_ref.clone(),
        name: "Plus membership".into(),
        cancelled_at: Some(now - Duration::days(20)),
    };
    store.upsert_subscription(&plan).await?;
    for (i, days_ago) in [(1, 45), (2, 5)] {
        store
            .upsert_charge(&Charge {
                id: format!("charge-{i}-{tag}"),
                subscription_id: plan.id.clone(),
                amount_cents: 1_499,
                charged_at: now - Duration::days(days_ago),
                refunded_at: None,
            })
            .await?;
    }
    Ok(DemoOrders {
        parcel: parcel.number,
        laptop: laptop.number,
        ivy_ref,
    })
}

struct Script<'o, W: Write> {
    out: &'o mut W,
    tag: i64,
    intake: IntakeService,
    routing: RoutingService,
    failed: Option<u32>,
}

impl<W: Write> Script<'_, W> {
    async fn customer(
        &mut self,
        who: &str,
        name: &str,
        channel: ChannelKind,
        message: &str,
        text: &str,
    ) -> anyhow::Result<IntakeOutcome> {
        let msg = InboundMessage {
            platform: "demo".into(),
            author_id: format!("{who}-{}", self.tag),
            author_name: name.into(),
            channel_kind: channel,
            channel_id: format!("{}-{}", channel.as_str(), self.tag),
            message_id: format!("{message}-{}", self.tag),
            text: text.into(),
            sent_at: Utc::now(),
        };
        let outcome = self.intake.receive(&msg).await?;
        writeln!(
            self.out,
            "  {name} ({}): {text:?}\n    -> case #{} {:?}",
            channel.as_str(),
            outcome.case_id,
            outcome.disposition
        )?;
        Ok(outcome)
    }

    /// A DM taken in and routed, with the bot's reply shown.
    async fn dm(
        &mut self,
        who: &str,
        name: &str,
        message: &str,
        text: &str,
    ) -> anyhow::Result<(IntakeOutcome, Routed)> {
        let outcome = self
            .customer(who, name, ChannelKind::Dm, message, text)
            .await?;
        let routed = self.routing.route_message(outcome.case_id, text).await?;
        writeln!(
            self.out,
            "    routing: intent {}, priority {}, {}\n    casebot: {}",
            routed.intent,
            routed.priority,
            if routed.escalated {
                "escalated to the queue"
            } else {
                "self-service"
            },
            routed.reply
        )?;
        Ok((outcome, routed))
    }

    fn expect(&mut self, step: u32, what: &str, held: bool) -> anyhow::Result<()> {
        let verdict = if held { "ok" } else { "FAILED" };
        writeln!(self.out, "  step {step}: {what}: {verdict}")?;
        if !held && self.failed.is_none() {
            self.failed = Some(step);
        }
        Ok(())
    }
}
