//! Routing a customer message on its case: understand it (local classifier, optionally the LLM),
//! apply the rules, run the self-service flow against the order system, then record the decision,
//! any escalation and any refund on the case in one transaction with their audit events. It
//! returns the reply for the adapter to deliver (in DM: it may carry order details).

use std::sync::Arc;

use serde::Serialize;
use serde_json::json;

use super::{Clock, SystemClock};
use crate::domain::classify::classify_intent;
use crate::domain::flows::{self, FlowOutcome, FlowPolicy, Next};
use crate::domain::intent::Intent;
use crate::domain::message::sha256_hex;
use crate::domain::orders::{dollars, Order};
use crate::domain::rules::{route, Facts, Rule};
use crate::domain::signals::read_mood;
use crate::domain::{ActorKind, CaseState, NewAuditEvent, Priority};
use crate::llm::{decide_intent, IntentOracle};
use crate::orders::{OrderSource, OrderSourceError, OrderWrite};
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
    clock: Arc<dyn Clock>,
}

/// The reply when the order system fails: the case goes to a person instead.
const FOLLOW_UP: &str = "I can't reach our order system right now, so a member of our team will \
                         follow up with you here.";

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

    /// Routes `text`, just taken in on `case_id`.
    #[tracing::instrument(name = "routing", skip_all, fields(case.id = case_id))]
    pub async fn route_message(&self, case_id: i64, text: &str) -> Result<Routed, RoutingError> {
        let now = self.clock.now();
        let local = classify_intent(text);
        let intent = decide_intent(&local, self.oracle.as_deref(), text).await;
        let mood = read_mood(text);
        let case = self.case(case_id).await?;
        let mentioned = match &self.order_pattern {
            Some(pattern) => pattern
                .find(&crate::domain::classify::normalise(text))
                .map(|m| m.as_str().to_owned()),
            None => local.order_numbers.first().cloned(),
        };
        let order_number = mentioned.or(case.order_number.clone());

        // Look the order up first: its value is a routing condition.
        let (order, mut degraded) = match &order_number {
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
        let facts = Facts {
            intent: Some(intent),
            frustration: mood.frustration,
            urgency: mood.urgency,
            order_value_cents: order.as_ref().map(|o| o.total_cents),
            human_requests,
            contacts_about_order,
        };
        let routing = route(&self.rules, &facts);
        let follow_up = self
            .address_follow_up(case_id, &case, intent, text, now)
            .await;
        let flow = match &follow_up {
            Some((_, keep)) => *keep,
            None if degraded => None,
            None => routing.flow,
        };
        let flow_result = match follow_up {
            Some((result, _)) => result,
            None => {
                self.run_flow(flow, order_number.as_deref(), order.as_ref(), &case, now)
                    .await
            }
        };
        let mut outcome = match flow_result {
            Ok(outcome) => outcome,
            Err(e) => {
                tracing::warn!(error = %e, "self-service flow failed; escalating");
                degraded = true;
                FlowOutcome {
                    reply: String::new(),
                    next: Next::Escalate {
                        reason: "order_system_unavailable",
                    },
                }
            }
        };
        if degraded {
            outcome = FlowOutcome {
                reply: FOLLOW_UP.to_owned(),
                next: Next::Escalate {
                    reason: "order_system_unavailable",
                },
            };
        }
        let refunds = match self.carry_out(&outcome.next, order.as_ref(), now).await {
            Ok(refunds) => refunds,
            Err(e) => {
                // The flow promised a refund that did not happen: a person takes over instead.
                tracing::warn!(error = %e, "refund failed; escalating");
                outcome = FlowOutcome {
                    reply: FOLLOW_UP.to_owned(),
                    next: Next::Escalate {
                        reason: "order_system_unavailable",
                    },
                };
                Vec::new()
            }
        };

        let mut reasons = routing.reasons.clone();
        let mut priority = routing.priority.max(case.priority);
        let (escalate_reason, stuck_reason, waiting_until) = match &outcome.next {
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
        let escalate = routing.escalate || escalate_reason.is_some();
        let escalation_reason = escalate.then(|| reasons.join("; "));

        let mut reply = String::new();
        if let Some(notice) = &routing.safety_notice {
            reply.push_str(notice);
            reply.push(' ');
        }
        reply.push_str(&outcome.reply);
        if escalate {
            reply.push_str(&format!(
                " Your case number is #{case_id}; a member of our team will reply here."
            ));
        } else if routing.offer_human {
            reply.push_str(
                " If you'd rather talk to a person, just say so or use \"Talk to a person\".",
            );
        }
        let reply = reply.trim().to_owned();

        let mut tx = self.store.begin().await?;
        tx.update_case_routing(
            case_id,
            &RoutingUpdate {
                intent: intent.as_str(),
                priority,
                order_number: order_number.as_deref(),
                human_requests,
                flow,
                waiting_until,
                stuck_reason,
                escalation_reason: escalation_reason.as_deref(),
                at: now,
            },
        )
        .await?;
        let bot = |action: &'static str, details: serde_json::Value| NewAuditEvent {
            at: now,
            actor_kind: ActorKind::Bot,
            actor_id: "casebot".into(),
            action,
            case_id: Some(case_id),
            details,
        };
        let mut events = vec![bot(
            "case.routed",
            json!({
                "intent": intent.as_str(),
                "local_intent": local.intent.as_str(),
                "confidence": local.confidence,
                "frustration": mood.frustration,
                "urgency": mood.urgency,
                "rules": routing.matched,
                "flow": flow,
                "priority": priority.as_str(),
                "reply_sha256": sha256_hex(reply.as_bytes()),
            }),
        )];
        for (target, cents) in &refunds {
            events.push(bot(
                "refund.issued",
                json!({ "target": target, "cents": cents, "automatic": true }),
            ));
        }
        let moved = escalate
            && case.state == CaseState::Open
            && tx
                .set_case_state(
                    case_id,
                    (CaseState::Open, None),
                    (CaseState::Escalated, None),
                    now,
                )
                .await?;
        if moved {
            events.push(bot(
                "case.escalated",
                json!({ "priority": priority.as_str(), "reason": escalation_reason }),
            ));
        }
        tx.append_audit(&events).await?;
        tx.commit().await?;
        Ok(Routed {
            intent,
            priority,
            escalated: escalate,
            offer_human: routing.offer_human,
            flow,
            reply,
            reasons,
            refunds,
        })
    }

    /// After the address-change flow asked for a new address, the next message that is not some
    /// other request is that address.
    async fn address_follow_up(
        &self,
        case_id: i64,
        case: &CaseRouting,
        intent: Intent,
        text: &str,
        now: chrono::DateTime<chrono::Utc>,
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
        let mut tx = self.store.begin().await?;
        let earlier = tx.contacts_about_order(case_id, number).await?;
        let linked_here = case.order_number.as_deref() == Some(number);
        // When this case is already linked, the current message is among those counted.
        Ok(if linked_here { earlier } else { earlier + 1 })
    }

    async fn case(&self, case_id: i64) -> Result<CaseRouting, RoutingError> {
        let mut tx = self.store.begin().await?;
        tx.case_routing(case_id)
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
        now: chrono::DateTime<chrono::Utc>,
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
        now: chrono::DateTime<chrono::Utc>,
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
