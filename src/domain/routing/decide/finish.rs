//! Step 4 of routing: the decision on one message, from the plan and what its order writes did.

use chrono::{DateTime, Utc};

use super::{reasons, OrderAction, Plan, Situation, WriteOutcome, FOLLOW_UP};
use crate::domain::case::Priority;
use crate::domain::routing::flows::{Flow, FlowOutcome, Next};
use crate::domain::routing::intent::Intent;
use crate::domain::routing::replies;

/// The decision on one message.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub intent: Intent,
    /// The order the message is about (from the text, or the case's), and its value if known.
    pub order_number: Option<String>,
    pub order_value_cents: Option<i64>,
    /// Requests for a person on the case, this message included.
    pub human_requests: u32,
    pub priority: Priority,
    /// The case goes to the human queue (if it is not with staff already).
    pub escalate: bool,
    pub offer_human: bool,
    pub flow: Option<Flow>,
    /// What the customer reads, without the case-number sentence the reply adds.
    pub safety_notice: Option<String>,
    pub flow_reply: String,
    /// The help article the reply shows, by id: its buttons ask whether it helped.
    pub article: Option<String>,
    /// The reply says how a person comes in, so the usual offer sentence is left out.
    pub explains_handover: bool,
    /// A second need noted on the case (the reply says so).
    pub second_need: Option<Intent>,
    pub reasons: Vec<String>,
    pub waiting_until: Option<DateTime<Utc>>,
    pub stuck_reason: Option<String>,
    /// Refunds made now, `(charge or order, cents)`.
    pub refunds: Vec<(String, i64)>,
    /// The rules that applied, for the audit trail.
    pub rules: Vec<String>,
}

/// Step 4: the decision, given what the order writes did (in the order of `plan.actions`).
pub fn finish(plan: Plan, s: &Situation, outcomes: &[WriteOutcome]) -> Decision {
    let Plan {
        routing,
        flow,
        mut outcome,
        actions,
        article,
        explains_handover,
    } = plan;
    let refunds = carry_out(&actions, outcomes, &mut outcome);
    let mut reasons = routing.reasons.clone();
    let mut priority = routing.priority.max(s.case.priority);
    let (escalate_reason, stuck_reason, waiting_until) = match &outcome.next {
        Next::Escalate { reason } => (Some(*reason), None, None),
        Next::Stuck { reason } => (Some(*reason), Some((*reason).to_owned()), None),
        Next::WaitUntil { at, .. } => (None, None, Some(*at)),
        _ => (None, None, None),
    };
    if let Some(reason) = escalate_reason {
        reasons.push(reason.to_owned());
        if reason == reasons::HIGH_VALUE_MISSING {
            priority = priority.max(Priority::High);
        }
    }
    let escalate = routing.escalate || escalate_reason.is_some();
    let second_need = s.second_need.filter(|need| *need != s.intent);
    let mut flow_reply = outcome.reply;
    if let Some(need) = second_need {
        let to_a_person = escalate || s.case.state.with_staff();
        let note = replies::second_need_note(need, to_a_person);
        flow_reply = if flow_reply.is_empty() {
            note
        } else {
            format!("{flow_reply} {note}")
        };
    }
    Decision {
        intent: s.intent,
        order_number: s.order_number.clone(),
        order_value_cents: s.order.order().map(|o| o.total_cents),
        human_requests: s.human_requests(),
        priority,
        escalate,
        offer_human: routing.offer_human || matches!(outcome.next, Next::OfferHuman { .. }),
        flow,
        safety_notice: routing.safety_notice.clone(),
        flow_reply,
        article,
        explains_handover,
        second_need,
        reasons,
        waiting_until,
        stuck_reason,
        refunds,
        rules: routing.matched,
    }
}

/// The refunds the order writes made, and the outcome they leave: a refund that did not happen
/// hands over instead, and an address change says how it went.
fn carry_out(
    actions: &[OrderAction],
    outcomes: &[WriteOutcome],
    outcome: &mut FlowOutcome,
) -> Vec<(String, i64)> {
    let mut refunds = Vec::new();
    for (action, result) in actions.iter().zip(outcomes) {
        match (action, result) {
            (
                OrderAction::RefundCharge {
                    charge_id: id,
                    cents,
                }
                | OrderAction::RefundOrder { number: id, cents },
                WriteOutcome::Applied,
            ) => {
                refunds.push((id.clone(), *cents));
            }
            (
                OrderAction::RefundCharge { .. } | OrderAction::RefundOrder { .. },
                WriteOutcome::Failed | WriteOutcome::NotFound,
            ) => {
                // The flow promised a refund that did not happen: a person takes over instead.
                *outcome = FlowOutcome {
                    reply: FOLLOW_UP.to_owned(),
                    next: Next::Escalate {
                        reason: reasons::REFUND_FAILED,
                    },
                };
            }
            (OrderAction::ChangeAddress { number, .. }, result) => {
                *outcome = address_result(number, *result);
            }
            _ => {}
        }
    }
    refunds
}

fn address_result(number: &str, result: WriteOutcome) -> FlowOutcome {
    match result {
        WriteOutcome::Applied | WriteOutcome::Repeated => FlowOutcome {
            reply: format!("Done: order {number} will now go to the new address."),
            next: Next::Done,
        },
        WriteOutcome::Refused => FlowOutcome {
            reply: format!(
                "Order {number} has shipped in the meantime, so I can't change its address. \
                 A person can try to redirect it with the carrier."
            ),
            next: Next::OfferHuman {
                reason: reasons::ADDRESS_AFTER_SHIPPING,
            },
        },
        WriteOutcome::NotFound => FlowOutcome {
            reply: format!("I couldn't find order {number} any more."),
            next: Next::OfferHuman {
                reason: reasons::ORDER_NOT_FOUND,
            },
        },
        WriteOutcome::Failed => FlowOutcome {
            reply: FOLLOW_UP.to_owned(),
            next: Next::Escalate {
                reason: reasons::ORDER_SYSTEM_UNAVAILABLE,
            },
        },
    }
}

/// Holds back an escalation the customer's hourly limit does not allow: the case stays with the
/// bot, and the decision says why.
pub fn hold_escalation(mut decision: Decision) -> Decision {
    decision.escalate = false;
    decision.offer_human = false;
    decision.reasons.push(reasons::ESCALATION_HELD.to_owned());
    decision
}
