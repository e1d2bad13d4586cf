//! Which cases the bot is handling are stuck and should go to a person: a waiting window that
//! ended, a public mention nobody answered, a customer who keeps writing without a resolution, an
//! order late past the threshold, a refund pending too long. Pure: the sweeper gathers, this
//! decides.

use chrono::{DateTime, Duration, Utc};

use super::case::Case;
use super::orders::Order;
use super::policy::StuckPolicy;
use super::routing::flows::{self, FlowPolicy, Next};
use super::routing::Intent;
use super::views::Projection;

pub const WINDOW_ENDED: &str = "missing_delivery_window_ended";
pub const MENTION_UNANSWERED: &str = "public_mention_unanswered";
pub const BOT_NOT_RESOLVING: &str = "bot_not_resolving";
pub const ORDER_LATE: &str = "order_late";
pub const REFUND_PENDING: &str = "refund_pending";

/// Whether the reason can be told without the case's order.
pub fn needs_order(case: &Case) -> bool {
    case.order_number.is_some()
        && matches!(
            case.intent,
            Some(Intent::OrderTracking | Intent::LateDelivery | Intent::Refund)
        )
}

/// Why this open case should go to a person now, if it should. `order` is the case's order
/// when [`needs_order`] said it matters and the order system had it.
pub fn stuck_reason(
    case: &Case,
    projection: &Projection,
    order: Option<&Order>,
    now: DateTime<Utc>,
    (policy, flow_policy): (&StuckPolicy, &FlowPolicy),
) -> Option<&'static str> {
    if case.waiting_until.is_some_and(|until| until <= now) {
        return Some(WINDOW_ENDED);
    }
    if let Some(mention) = case.last_mention_at {
        // Answered means delivered: a reply still in the outbox has not reached anyone.
        let answered = projection.last_answer_at.is_some_and(|at| at >= mention);
        if !answered && now - mention >= policy.mention_unanswered {
            return Some(MENTION_UNANSWERED);
        }
    }
    if case.customer_messages >= policy.max_customer_messages {
        return Some(BOT_NOT_RESOLVING);
    }
    let order = order?;
    match case.intent? {
        Intent::OrderTracking | Intent::LateDelivery => {
            let late = flows::tracking(order, now, flow_policy).next;
            matches!(late, Next::Stuck { .. }).then_some(ORDER_LATE)
        }
        Intent::Refund => {
            let waited = now - case.updated_at > Duration::days(policy.refund_pending_days);
            (order.refunded_at.is_none() && waited).then_some(REFUND_PENDING)
        }
        _ => None,
    }
}
