//! Routing as pure decisions. The service gathers what is known about a message (its intent and
//! mood, the case, the order), then:
//!
//! 1. [`choose`] applies the rules: which flow answers, whether a person is offered or takes over;
//! 2. [`plan`] runs the flow against the order data and says which order-system writes (refunds,
//!    an address change) it needs;
//! 3. the service carries those writes out;
//! 4. [`finish`] turns the plan and what the writes did into the decision: the reply, whether the
//!    case goes to people and why, what the case remembers.
//!
//! Every step takes plain values and returns plain values, so table tests cover them.

use chrono::{DateTime, Utc};

use super::flows::{self, Flow, FlowOutcome, FlowPolicy, Next};
use super::intent::Intent;
use super::replies::{self, Asked, HelpDesk};
use super::rules::{route, Facts, Routing, Rule};
use super::signals::Mood;
use crate::domain::case::Case;
use crate::domain::message::sha256_hex;
use crate::domain::orders::{Billing, Order, OrderWrite, OrderWriteOutcome};

mod finish;
pub use finish::{finish, hold_escalation, Decision};

/// Reasons the decision itself gives for a hand-over (rules give their own).
pub mod reasons {
    pub const ORDER_SYSTEM_UNAVAILABLE: &str = "order_system_unavailable";
    pub const HIGH_VALUE_MISSING: &str = "high_value_missing_delivery";
    pub const ESCALATION_HELD: &str = "escalation_rate_limited";
    pub const ADDRESS_AFTER_SHIPPING: &str = "address_after_shipping";
    pub const ORDER_NOT_FOUND: &str = "order_not_found";
    pub const BILLING_ACCOUNT_UNKNOWN: &str = "billing_account_unknown";
    pub const REFUND_FAILED: &str = "refund_failed";
}

/// What became of looking the order up.
#[derive(Debug, Clone, PartialEq)]
pub enum OrderLookup {
    /// No order number in the message or on the case.
    NoNumber,
    Found(Order),
    NotFound,
    /// The order system did not answer: a person follows up.
    Failed,
}

impl OrderLookup {
    pub fn order(&self) -> Option<&Order> {
        match self {
            OrderLookup::Found(order) => Some(order),
            _ => None,
        }
    }
}

/// Everything routing knows about a message, gathered before deciding.
#[derive(Debug, Clone)]
pub struct Situation<'a> {
    /// The case as it stands before this message.
    pub case: &'a Case,
    pub text: &'a str,
    pub intent: Intent,
    pub mood: &'a Mood,
    pub order_number: Option<String>,
    pub order: OrderLookup,
    /// Customer messages about this order so far, this one included.
    pub contacts_about_order: u32,
    pub now: DateTime<Utc>,
    /// What the general-help flow answers from.
    pub desk: &'a HelpDesk,
    /// A clear second need in the message (see [`replies::second_need`]).
    pub second_need: Option<Intent>,
}

impl Situation<'_> {
    /// Requests for a person on the case, this message included.
    pub fn human_requests(&self) -> u32 {
        self.case.human_requests + u32::from(self.intent == Intent::HumanRequest)
    }
}

/// Step 1: the rules.
pub fn choose(rules: &[Rule], s: &Situation) -> Routing {
    route(
        rules,
        &Facts {
            intent: Some(s.intent),
            frustration: s.mood.frustration,
            urgency: s.mood.urgency,
            signals: s.mood.signals.clone(),
            order_value_cents: s.order.order().map(|o| o.total_cents),
            human_requests: s.human_requests(),
            contacts_about_order: s.contacts_about_order,
            tags: s.case.tags.clone(),
        },
    )
}

/// A write the plan needs from the order system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderAction {
    RefundCharge { charge_id: String, cents: i64 },
    RefundOrder { number: String, cents: i64 },
    ChangeAddress { number: String, address: String },
}

impl OrderAction {
    /// The write to send to the order system.
    pub fn write(&self) -> OrderWrite {
        match self {
            OrderAction::RefundCharge { charge_id, .. } => OrderWrite::RefundCharge {
                charge_id: charge_id.clone(),
            },
            OrderAction::RefundOrder { number, .. } => OrderWrite::RefundOrder {
                number: number.clone(),
            },
            OrderAction::ChangeAddress { number, address } => OrderWrite::ChangeAddress {
                number: number.clone(),
                address: address.clone(),
            },
        }
    }

    /// The idempotency key: derived from what the write does, so no retry or repeated message
    /// can refund the same thing twice or apply the same address twice.
    pub fn key(&self, case: &Case) -> String {
        match self {
            OrderAction::RefundCharge { charge_id, .. } => format!("auto-refund:{charge_id}"),
            OrderAction::RefundOrder { number, .. } => format!("refund-order:{number}"),
            OrderAction::ChangeAddress { address, .. } => format!(
                "address:{}:{}",
                case.id,
                &sha256_hex(address.as_bytes())[..16]
            ),
        }
    }
}

/// What became of an order write, as the decision sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    Applied,
    /// Done before under the same key: not reported again.
    Repeated,
    /// No longer possible (refunded already, shipped already).
    Refused,
    NotFound,
    /// The order system failed.
    Failed,
}

impl From<OrderWriteOutcome> for WriteOutcome {
    fn from(o: OrderWriteOutcome) -> WriteOutcome {
        match o {
            OrderWriteOutcome::Applied => WriteOutcome::Applied,
            OrderWriteOutcome::Repeated => WriteOutcome::Repeated,
            OrderWriteOutcome::Refused => WriteOutcome::Refused,
            OrderWriteOutcome::NotFound => WriteOutcome::NotFound,
        }
    }
}

/// Step 2: what the flow says, and the writes it needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub routing: Routing,
    /// The flow to remember on the case (one awaiting a follow-up stays).
    pub flow: Option<Flow>,
    pub outcome: FlowOutcome,
    pub actions: Vec<OrderAction>,
    /// The help article the reply shows, by id.
    pub article: Option<String>,
    /// The reply explains how a person comes in itself.
    pub explains_handover: bool,
}

/// The billing data the billing flow needs, looked up by the service once [`choose`] picked it.
#[derive(Debug, Clone, PartialEq)]
pub enum BillingLookup {
    NotNeeded,
    /// The customer's account in the order system is not known.
    NoAccount,
    Found(Billing),
    Failed,
}

/// The reply when the order system fails: the case goes to a person instead.
const FOLLOW_UP: &str = "I can't reach our order system right now, so a member of our team will \
                         follow up with you here.";

/// Whether this message answers the address-change flow's question (a new address) rather than
/// asking something else.
pub fn is_address_follow_up(s: &Situation) -> bool {
    s.case.flow == Some(Flow::AddressChange)
        && s.case.order_number.is_some()
        && matches!(s.intent, Intent::Other | Intent::AddressChange)
}

/// Whether the message itself names the order it is about.
fn names_its_order(s: &Situation) -> bool {
    s.order_number
        .as_deref()
        .is_some_and(|number| s.text.contains(number))
}

/// Step 2.
pub fn plan(routing: Routing, s: &Situation, billing: &BillingLookup, policy: &FlowPolicy) -> Plan {
    let hand_over = |routing: Routing, flow| Plan {
        routing,
        flow,
        outcome: FlowOutcome {
            reply: FOLLOW_UP.to_owned(),
            next: Next::Escalate {
                reason: reasons::ORDER_SYSTEM_UNAVAILABLE,
            },
        },
        actions: Vec::new(),
        article: None,
        explains_handover: false,
    };
    if s.order == OrderLookup::Failed {
        return hand_over(routing, None);
    }
    if is_address_follow_up(s) {
        return address_follow_up(routing, s);
    }
    // A greeting or thanks alone holds no need, whatever the classifier made of it: it gets a
    // question back, never a flow that asks for an order number.
    let small_talk = replies::small_talk(s.text).is_some() && !routing.escalate;
    let flow = match routing.flow {
        _ if small_talk => Some(Flow::GeneralHelp),
        // A message with no need of its own that names an order ("any update on 112-...")
        // asks after that order: its status answers it, and a late or stuck one goes to people.
        // Only a number in this message counts: a remark on a case that already has an order is
        // not a status question.
        Some(Flow::GeneralHelp) if s.intent == Intent::Other && names_its_order(s) => {
            Some(Flow::Tracking)
        }
        flow => flow,
    };
    let mut article = None;
    let mut explains_handover = false;
    let outcome = match (flow, &s.order) {
        (Some(f), _) if f.needs_order() => order_flow(f, s, policy),
        (Some(Flow::BillingRefund), _) => match billing_flow(billing, policy) {
            Some(outcome) => outcome,
            None => return hand_over(routing, flow),
        },
        (Some(Flow::GeneralHelp), _) => {
            let answer = replies::general_help(
                &Asked {
                    intent: s.intent,
                    text: s.text,
                    offer_human: routing.offer_human,
                    escalate: routing.escalate,
                    priority: routing.priority.max(s.case.priority),
                    with_staff: s.case.state.with_staff(),
                },
                s.desk,
            );
            article = answer.article;
            explains_handover = answer.explains_handover;
            FlowOutcome {
                reply: answer.reply,
                next: answer.next,
            }
        }
        // No flow: the rules hand the case over, and the reply says so.
        _ => FlowOutcome {
            reply: String::new(),
            next: Next::Done,
        },
    };
    let actions = order_writes(&outcome.next, s.order.order());
    Plan {
        routing,
        flow,
        outcome,
        actions,
        article,
        explains_handover,
    }
}

/// The billing-refund flow over what the billing lookup found; `None` when the billing system
/// could not be reached, which hands the case over.
fn billing_flow(billing: &BillingLookup, policy: &FlowPolicy) -> Option<FlowOutcome> {
    match billing {
        BillingLookup::Failed => None,
        BillingLookup::Found(billing) => Some(flows::billing_refund(billing, policy)),
        _ => Some(FlowOutcome {
            reply: "I can't see the account this is about, so a person will look at your charges."
                .into(),
            next: Next::Escalate {
                reason: reasons::BILLING_ACCOUNT_UNKNOWN,
            },
        }),
    }
}

/// The order-system writes a flow's outcome needs: the refunds it promised.
fn order_writes(next: &Next, order: Option<&Order>) -> Vec<OrderAction> {
    match (next, order) {
        (Next::RefundCharges { charges }, _) => charges
            .iter()
            .map(|(id, cents)| OrderAction::RefundCharge {
                charge_id: id.clone(),
                cents: *cents,
            })
            .collect(),
        (Next::RefundOrder, Some(order)) => vec![OrderAction::RefundOrder {
            number: order.number.clone(),
            cents: order.total_cents,
        }],
        _ => Vec::new(),
    }
}

fn order_flow(flow: Flow, s: &Situation, policy: &FlowPolicy) -> FlowOutcome {
    let done = |reply: String| FlowOutcome {
        reply,
        next: Next::Done,
    };
    let Some(number) = &s.order_number else {
        return done(
            "Could you send me your order number? It looks like 123-1234567-1234567.".into(),
        );
    };
    let Some(order) = s.order.order() else {
        return done(format!(
            "I couldn't find order {number}. Could you check the number and send it again?"
        ));
    };
    match flow {
        Flow::Tracking => flows::tracking(order, s.now, policy),
        Flow::MissingDelivery => flows::missing_delivery(order, s.now, policy),
        Flow::Refund => flows::refund(order, s.now),
        _ => flows::address_change(order),
    }
}

/// After the address-change flow asked for a new address, the next message that is not some
/// other request is that address.
fn address_follow_up(routing: Routing, s: &Situation) -> Plan {
    let address = s.text.trim();
    let number = s.case.order_number.clone().unwrap_or_default();
    let looks_like_address = address.len() >= 10 && address.chars().any(|c| c.is_ascii_digit());
    if !looks_like_address {
        return Plan {
            routing,
            flow: Some(Flow::AddressChange),
            outcome: FlowOutcome {
                reply: "Please send the full new address, with the street number and postcode."
                    .into(),
                next: Next::Done,
            },
            actions: Vec::new(),
            article: None,
            explains_handover: false,
        };
    }
    Plan {
        routing,
        flow: None,
        outcome: FlowOutcome {
            reply: format!("Done: order {number} will now go to the new address."),
            next: Next::Done,
        },
        actions: vec![OrderAction::ChangeAddress {
            number,
            address: address.to_owned(),
        }],
        article: None,
        explains_handover: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::case::Origin;
    use crate::domain::ids::CustomerId;
    use crate::domain::routing::rules::{parse_rules, DEFAULT_RULES};
    use crate::domain::routing::signals::read_mood;

    /// The flow `plan` picks for `text`, read as `other`, on a case that may already have an order.
    fn flow_for(text: &str, message_names: Option<&str>, case_order: Option<&str>) -> Option<Flow> {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let mut case = Case::open(CustomerId(1), Origin::Dm, now);
        case.order_number = case_order.map(str::to_owned);
        let mood = read_mood(text);
        let desk = HelpDesk::default();
        let s = Situation {
            case: &case,
            text,
            intent: Intent::Other,
            mood: &mood,
            order_number: message_names.or(case_order).map(str::to_owned),
            order: OrderLookup::NotFound,
            contacts_about_order: 1,
            now,
            desk: &desk,
            second_need: None,
        };
        let rules = parse_rules(DEFAULT_RULES).unwrap();
        plan(
            choose(&rules, &s),
            &s,
            &BillingLookup::NotNeeded,
            &FlowPolicy::default(),
        )
        .flow
    }

    #[test]
    fn a_message_naming_an_order_with_no_other_need_gets_its_status() {
        let number = "112-4430938-2412367";
        let text = format!("any update on {number}");
        assert_eq!(flow_for(&text, Some(number), None), Some(Flow::Tracking));
    }

    #[test]
    fn a_remark_on_a_case_that_already_has_an_order_stays_general_help() {
        let number = "112-4430938-2412367";
        let flow = flow_for("the driver was very rude to my mum", None, Some(number));
        assert_eq!(flow, Some(Flow::GeneralHelp));
    }
}
