//! Routing a customer message on its case: understand it (local classifier, optionally the LLM),
//! apply the rules, run the self-service flow against the order system, then record the decision,
//! any escalation and any refund on the case in one transaction with their audit events. It
//! returns the reply for the adapter to deliver (in DM: it may carry order details).

use std::sync::Arc;

use serde::Serialize;
use serde_json::json;

use super::limits::RateLimits;
use super::{Clock, SystemClock};
use chrono::{DateTime, Utc};

use crate::domain::classify::{classify_normalised, normalise, IntentGuess};
use crate::domain::flows::{self, FlowOutcome, FlowPolicy, Next};
use crate::domain::intent::Intent;
use crate::domain::message::sha256_hex;
use crate::domain::orders::{dollars, Order};
use crate::domain::personal::{redact_personal, PersonalData};
use crate::domain::redact::redact_card_numbers;
use crate::domain::rules::{route, Facts, Rule};
use crate::domain::signals::read_mood_normalised;
use crate::domain::{
    ActorKind, CaseState, Destination, NewAuditEvent, OutboxKind, Outgoing, Priority,
};
use crate::llm::{decide_intent, IntentOracle};
use crate::orders::{OrderSource, OrderSourceError, OrderWrite};
use crate::render;
use crate::store::{CaseRouting, RoutingUpdate, Store, StoreError};

/// What routing decided for one message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Routed {
    pub intent: Intent,
    pub priority: Priority,
    pub escalated: bool,
    pub offer_human: bool,
    pub flow: Option<&'static str>,
    pub reply: String,
    pub reasons: Vec<String>,
    /// Refunds issued by this message, `(charge or order, cents)`.
    pub refunds: Vec<(String, i64)>,
}

#[derive(Debug, thiserror::Error)]
pub enum RoutingError {
    #[error("case {0} does not exist")]
    NoSuchCase(i64),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone)]
pub struct RoutingService {
    store: Store,
    orders: Arc<dyn OrderSource>,
    oracle: Option<Arc<dyn IntentOracle>>,
    rules: Arc<Vec<Rule>>,
    policy: FlowPolicy,
    /// The shop's order-number format; by default the classifier's own.
    order_pattern: Option<regex::Regex>,
    limits: Option<Arc<RateLimits>>,
    clock: Arc<dyn Clock>,
}

/// The reply when the order system fails: the case goes to a person instead.
const FOLLOW_UP: &str = "I can't reach our order system right now, so a member of our team will \
                         follow up with you here.";

/// The acknowledgement of a public post, as a reply to it (or, when the post held personal
/// data and comes down, in the channel, saying why).
fn public_ack(
    case_id: i64,
    (channel_id, message_id): (&str, &str),
    removed: &[PersonalData],
) -> Outgoing {
    Outgoing {
        case_id: Some(case_id),
        kind: OutboxKind::PublicAck,
        destination: Destination::Channel {
            channel_id: channel_id.to_owned(),
            reply_to: removed.is_empty().then(|| message_id.to_owned()),
        },
        body: render::public_ack(case_id, removed),
    }
}

/// The reason recorded when a customer's escalation is held back by the hourly limit.
const ESCALATION_HELD: &str = "escalation_rate_limited";

/// What self-service settled for one message.
struct Settled {
    /// The flow to remember on the case (one that awaits a follow-up stays).
    flow: Option<&'static str>,
    outcome: FlowOutcome,
    refunds: Vec<(String, i64)>,
}

impl RoutingService {
    pub fn new(
        store: Store,
        orders: Arc<dyn OrderSource>,
        rules: Vec<Rule>,
        policy: FlowPolicy,
    ) -> RoutingService {
        RoutingService {
            store,
            orders,
            oracle: None,
            rules: Arc::new(rules),
            policy,
            order_pattern: None,
            limits: None,
            clock: Arc::new(SystemClock),
        }
    }

    /// Recognises order numbers with `pattern` instead of the default retailer format.
    pub fn with_order_pattern(mut self, pattern: regex::Regex) -> RoutingService {
        self.order_pattern = Some(pattern);
        self
    }

    pub fn with_oracle(mut self, oracle: Arc<dyn IntentOracle>) -> RoutingService {
        self.oracle = Some(oracle);
        self
    }

    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> RoutingService {
        self.clock = clock;
        self
    }

    /// Holds a customer to the escalation rate limit: past it, their case stays with the bot.
    pub fn with_limits(mut self, limits: Arc<RateLimits>) -> RoutingService {
        self.limits = Some(limits);
        self
    }

    /// Routes `text`, just taken in on `case_id` from the customer's DMs, and queues the reply.
    pub async fn route_message(&self, case_id: i64, text: &str) -> Result<Routed, RoutingError> {
        self.route(case_id, text, None, None).await
    }

    /// Routes a stored customer message and records, in the same transaction, that routing has
    /// finished with it: a message stored but not routed is routed when it arrives again.
    pub async fn route_inbound(
        &self,
        case_id: i64,
        msg: &crate::domain::InboundMessage,
        removed: &[PersonalData],
    ) -> Result<Routed, RoutingError> {
        let stored = Some((msg.platform.as_str(), msg.message_id.as_str()));
        let ack = (msg.channel_kind == crate::domain::ChannelKind::Public)
            .then(|| public_ack(case_id, (&msg.channel_id, &msg.message_id), removed));
        self.route(case_id, &msg.text, ack, stored).await
    }

    /// Routes a public mention: the reply goes by DM, and the public channel gets only the
    /// acknowledgement, as a reply to `message_id` in `channel_id` (or, when the post held
    /// personal data and comes down, in the channel, saying why).
    pub async fn route_public(
        &self,
        case_id: i64,
        text: &str,
        (channel_id, message_id): (&str, &str),
        removed: &[PersonalData],
    ) -> Result<Routed, RoutingError> {
        let ack = public_ack(case_id, (channel_id, message_id), removed);
        self.route(case_id, text, Some(ack), None).await
    }

    #[tracing::instrument(name = "routing", skip_all, fields(case.id = case_id))]
    async fn route(
        &self,
        case_id: i64,
        text: &str,
        public_ack: Option<Outgoing>,
        stored: Option<(&str, &str)>,
    ) -> Result<Routed, RoutingError> {
        let now = self.clock.now();
        // Lower-case once; the classifier, the mood and the order-number pattern all read it.
        let norm = normalise(text);
        let local = classify_normalised(&norm);
        let intent = decide_intent(&local, self.oracle.as_deref(), text).await;
        let mood = read_mood_normalised(text, &norm);
        let case = self.case(case_id).await?;
        let order_number = self
            .order_number(&norm, &local)
            .or(case.order_number.clone());

        // Look the order up first: its value is a routing condition.
        let (order, lookup_failed) = match &order_number {
            Some(number) => match self.orders.order(number).await {
                Ok(order) => (order, false),
                Err(e) => {
                    tracing::warn!(error = %e, "order lookup failed; escalating");
                    (None, true)
                }
            },
            None => (None, false),
        };
        let human_requests = case.human_requests + u32::from(intent == Intent::HumanRequest);
        let contacts_about_order = match &order_number {
            Some(number) => self.contacts_about_order(case_id, &case, number).await?,
            None => 0,
        };
        let routing = route(
            &self.rules,
            &Facts {
                intent: Some(intent),
                frustration: mood.frustration,
                urgency: mood.urgency,
                order_value_cents: order.as_ref().map(|o| o.total_cents),
                human_requests,
                contacts_about_order,
            },
        );
        let settled = self
            .settle(
                case_id,
                &case,
                intent,
                text,
                routing.flow,
                (order_number.as_deref(), order.as_ref()),
                lookup_failed,
                now,
            )
            .await;

        let mut reasons = routing.reasons.clone();
        let mut priority = routing.priority.max(case.priority);
        let (escalate_reason, stuck_reason, waiting_until) = match &settled.outcome.next {
            Next::Escalate { reason } => (Some(*reason), None, None),
            Next::Stuck { reason } => (Some(*reason), Some(*reason), None),
            Next::WaitUntil { at, .. } => (None, None, Some(*at)),
            _ => (None, None, None),
        };
        if let Some(reason) = escalate_reason {
            reasons.push(reason.to_owned());
            if reason == "high_value_missing_delivery" {
                priority = priority.max(Priority::High);
            }
        }
        let mut escalated = routing.escalate || escalate_reason.is_some();
        // Only a customer-caused move into the queue counts against their hourly limit.
        let held = escalated
            && case.state == CaseState::Open
            && self
                .limits
                .as_ref()
                .is_some_and(|l| !l.allow_escalation(&case.customer_id.to_string()));
        let mut reply = render::routing_reply(
            case_id,
            routing.safety_notice.as_deref(),
            &settled.outcome.reply,
            escalated && !held,
            routing.offer_human && !held,
        );
        if held {
            escalated = false;
            reasons.push(ESCALATION_HELD.to_owned());
            reply = format!("{reply} {}", render::escalation_held(case_id));
        }
        let routed = Routed {
            intent,
            priority,
            escalated,
            offer_human: routing.offer_human,
            flow: settled.flow,
            reply,
            reasons,
            refunds: settled.refunds,
        };
        let update = RoutingUpdate {
            intent: intent.as_str(),
            priority,
            order_number: order_number.as_deref(),
            human_requests,
            flow: settled.flow,
            waiting_until,
            stuck_reason,
            escalation_reason: None,
            at: now,
            order_value_cents: order.as_ref().map(|o| o.total_cents),
            sentiment: mood.sentiment,
            frustrated: mood.frustration,
        };
        let details = json!({
            "intent": intent.as_str(),
            "local_intent": local.intent.as_str(),
            "confidence": local.confidence,
            "frustration": mood.frustration,
            "urgency": mood.urgency,
            "rules": routing.matched,
            "flow": settled.flow,
            "priority": priority.as_str(),
            "reply_sha256": sha256_hex(routed.reply.as_bytes()),
        });
        // Where the rules offer a person, the reply carries the buttons for it.
        let kind = if routed.offer_human && !routed.escalated {
            OutboxKind::Offer
        } else {
            OutboxKind::Reply
        };
        let mut outgoing = vec![Outgoing::to_customer(
            case_id,
            &case.customer_user,
            kind,
            routed.reply.clone(),
        )];
        if case.state != CaseState::Open || routed.escalated {
            // Staff have the case (or are about to): they read along in its thread.
            // The same redaction intake applied before storing: nothing else is kept anywhere.
            let (mut text, _) = redact_card_numbers(text);
            if public_ack.is_some() {
                text = redact_personal(&text).0;
            }
            let mirror = Outgoing {
                case_id: Some(case_id),
                kind: OutboxKind::Mirror,
                destination: Destination::CaseThread,
                body: format!("Customer: {text}"),
            };
            outgoing.push(mirror);
        }
        outgoing.extend(public_ack);
        let effects = (outgoing, stored);
        self.record(case_id, case.state, update, details, &routed, effects)
            .await?;
        Ok(routed)
    }

    /// The first order number in the (normalised) text, in the shop's format.
    fn order_number(&self, norm: &str, local: &IntentGuess) -> Option<String> {
        match &self.order_pattern {
            Some(pattern) => pattern.find(norm).map(|m| m.as_str().to_owned()),
            None => local.order_numbers.first().cloned(),
        }
    }

    /// Runs self-service: an awaited follow-up, or the flow the rules chose, then any refund it
    /// decided on. Any failure of the order system turns into a hand-over to a person.
    #[allow(clippy::too_many_arguments)]
    async fn settle(
        &self,
        case_id: i64,
        case: &CaseRouting,
        intent: Intent,
        text: &str,
        chosen: Option<&'static str>,
        (number, order): (Option<&str>, Option<&Order>),
        lookup_failed: bool,
        now: DateTime<Utc>,
    ) -> Settled {
        let hand_over = |flow| Settled {
            flow,
            outcome: FlowOutcome {
                reply: FOLLOW_UP.to_owned(),
                next: Next::Escalate {
                    reason: "order_system_unavailable",
                },
            },
            refunds: Vec::new(),
        };
        if lookup_failed {
            return hand_over(None);
        }
        let (result, flow) = match self
            .address_follow_up(case_id, case, intent, text, now)
            .await
        {
            Some((result, keep)) => (result, keep),
            None => (
                self.run_flow(chosen, number, order, case, now).await,
                chosen,
            ),
        };
        let outcome = match result {
            Ok(outcome) => outcome,
            Err(e) => {
                tracing::warn!(error = %e, "self-service flow failed; escalating");
                return hand_over(flow);
            }
        };
        match self.carry_out(&outcome.next, order, now).await {
            Ok(refunds) => Settled {
                flow,
                outcome,
                refunds,
            },
            // The flow promised a refund that did not happen: a person takes over instead.
            Err(e) => {
                tracing::warn!(error = %e, "refund failed; escalating");
                hand_over(flow)
            }
        }
    }

    /// Writes the decision on the case, escalates it when needed, and audits both, in one
    /// transaction.
    async fn record(
        &self,
        case_id: i64,
        state: CaseState,
        mut update: RoutingUpdate<'_>,
        routed_details: serde_json::Value,
        routed: &Routed,
        // What to send, and the stored message (platform, id) routing has now finished with.
        (mut outgoing, stored): (Vec<Outgoing>, Option<(&str, &str)>),
    ) -> Result<(), RoutingError> {
        let at = update.at;
        let escalation_reason = routed.escalated.then(|| routed.reasons.join("; "));
        update.escalation_reason = escalation_reason.as_deref();
        let mut tx = self.store.begin().await?;
        tx.update_case_routing(case_id, &update).await?;
        let bot = |action: &'static str, details: serde_json::Value| NewAuditEvent {
            at,
            actor_kind: ActorKind::Bot,
            actor_id: "casebot".into(),
            action,
            case_id: Some(case_id),
            details,
        };
        let mut events = vec![bot("case.routed", routed_details)];
        for (target, cents) in &routed.refunds {
            let details = json!({ "target": target, "cents": cents, "automatic": true });
            events.push(bot("refund.issued", details));
        }
        let open_to_escalated = ((CaseState::Open, None), (CaseState::Escalated, None));
        let moved = routed.escalated
            && state == CaseState::Open
            && tx
                .set_case_state(case_id, open_to_escalated.0, open_to_escalated.1, at)
                .await?;
        if moved {
            let details =
                json!({ "priority": routed.priority.as_str(), "reason": escalation_reason });
            events.push(bot("case.escalated", details));
            let card = render::case_card(case_id, routed.priority, &routed.reasons.join("; "));
            outgoing.push(Outgoing::to_staff(case_id, OutboxKind::CaseCard, card));
        }
        if routed.reasons.iter().any(|r| r == ESCALATION_HELD) {
            let details = json!({ "limit": "escalations_per_customer", "notice": false });
            events.push(NewAuditEvent {
                actor_kind: ActorKind::System,
                actor_id: "rate-limits".into(),
                ..bot("rate.limited", details)
            });
        }
        tx.enqueue(&outgoing, at).await?;
        if let Some((platform, message_id)) = stored {
            tx.mark_message_routed(platform, message_id, at).await?;
        }
        tx.append_audit(&events).await?;
        tx.commit().await?;
        Ok(())
    }

    /// After the address-change flow asked for a new address, the next message that is not some
    /// other request is that address.
    async fn address_follow_up(
        &self,
        case_id: i64,
        case: &CaseRouting,
        intent: Intent,
        text: &str,
        now: DateTime<Utc>,
    ) -> Option<(Result<FlowOutcome, OrderSourceError>, Option<&'static str>)> {
        let number = case.order_number.as_deref()?;
        let waiting = case.flow.as_deref() == Some("address_change");
        if !waiting || !matches!(intent, Intent::Other | Intent::AddressChange) {
            return None;
        }
        let address = text.trim();
        let looks_like_address = address.len() >= 10 && address.chars().any(|c| c.is_ascii_digit());
        if !looks_like_address {
            let reply = "Please send the full new address, with the street number and postcode.";
            let again = FlowOutcome {
                reply: reply.into(),
                next: Next::Done,
            };
            return Some((Ok(again), Some("address_change")));
        }
        // The key covers the case and the address, so resending the same address is harmless.
        let key = format!(
            "address:{case_id}:{}",
            &sha256_hex(address.as_bytes())[..16]
        );
        let written = self.orders.change_address(number, address, &key, now).await;
        let outcome = written.map(|result| match result {
            OrderWrite::Applied | OrderWrite::Repeated => FlowOutcome {
                reply: format!("Done: order {number} will now go to the new address."),
                next: Next::Done,
            },
            OrderWrite::Refused => FlowOutcome {
                reply: format!(
                    "Order {number} has shipped in the meantime, so I can't change its address. \
                     A person can try to redirect it with the carrier."
                ),
                next: Next::OfferHuman {
                    reason: "address_after_shipping",
                },
            },
            OrderWrite::NotFound => FlowOutcome {
                reply: format!("I couldn't find order {number} any more."),
                next: Next::OfferHuman {
                    reason: "order_not_found",
                },
            },
        });
        Some((outcome, None))
    }

    /// Messages about this order so far, this one included. Earlier messages on this case count
    /// only once the case is linked to the order, which happens when it is first mentioned.
    async fn contacts_about_order(
        &self,
        case_id: i64,
        case: &CaseRouting,
        number: &str,
    ) -> Result<u32, RoutingError> {
        let earlier = self.store.contacts_about_order(case_id, number).await?;
        let linked_here = case.order_number.as_deref() == Some(number);
        // When this case is already linked, the current message is among those counted.
        Ok(if linked_here { earlier } else { earlier + 1 })
    }

    async fn case(&self, case_id: i64) -> Result<CaseRouting, RoutingError> {
        self.store
            .case_routing(case_id)
            .await?
            .ok_or(RoutingError::NoSuchCase(case_id))
    }

    /// Runs the named flow. Errors only for order-system failures.
    async fn run_flow(
        &self,
        flow: Option<&str>,
        number: Option<&str>,
        order: Option<&Order>,
        case: &CaseRouting,
        now: DateTime<Utc>,
    ) -> Result<FlowOutcome, OrderSourceError> {
        let done = |reply: String| FlowOutcome {
            reply,
            next: Next::Done,
        };
        let needs_order = matches!(
            flow,
            Some("tracking" | "missing_delivery" | "refund" | "address_change")
        );
        if needs_order {
            let Some(number) = number else {
                return Ok(done(
                    "Could you send me your order number? It looks like 123-1234567-1234567."
                        .into(),
                ));
            };
            let Some(order) = order else {
                return Ok(done(format!(
                    "I couldn't find order {number}. Could you check the number and send it again?"
                )));
            };
            return Ok(match flow {
                Some("tracking") => flows::tracking(order, now, &self.policy),
                Some("missing_delivery") => flows::missing_delivery(order, now, &self.policy),
                Some("refund") => flows::refund(order, now),
                _ => flows::address_change(order),
            });
        }
        if flow == Some("billing_refund") {
            let customer_ref = case
                .customer_ref
                .clone()
                .or_else(|| order.map(|o| o.customer_ref.clone()));
            let Some(customer_ref) = customer_ref else {
                return Ok(FlowOutcome {
                    reply: "I can't see the account this is about, so a person will look at your charges."
                        .into(),
                    next: Next::Escalate { reason: "billing_account_unknown" },
                });
            };
            let billing = self.orders.billing(&customer_ref).await?;
            return Ok(flows::billing_refund(&billing, &self.policy));
        }
        Ok(done("Thanks, I've noted this on your case.".into()))
    }

    /// Carries out refunds the flow decided on. Each carries a key derived from what it refunds,
    /// so no retry or repeated message can refund the same thing twice; one already made is not
    /// reported again.
    async fn carry_out(
        &self,
        next: &Next,
        order: Option<&Order>,
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, i64)>, OrderSourceError> {
        let mut issued = Vec::new();
        match (next, order) {
            (Next::RefundCharges { charges }, _) => {
                for (id, cents) in charges {
                    let key = format!("auto-refund:{id}");
                    if self.orders.refund_charge(id, &key, now).await? == OrderWrite::Applied {
                        issued.push((id.clone(), *cents));
                    }
                }
            }
            (Next::RefundOrder, Some(order)) => {
                let key = format!("refund-order:{}", order.number);
                if self.orders.refund_order(&order.number, &key, now).await? == OrderWrite::Applied
                {
                    issued.push((order.number.clone(), order.total_cents));
                }
            }
            _ => {}
        }
        if !issued.is_empty() {
            let total: i64 = issued.iter().map(|r| r.1).sum();
            tracing::info!(refunds = issued.len(), total = %dollars(total), "refunds issued");
        }
        Ok(issued)
    }
}
