//! Orders, subscriptions and charges as casebot sees them, whichever order system they come from.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where an order is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Placed,
    Shipped,
    InTransit,
    OutForDelivery,
    Delivered,
    Cancelled,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Placed => "placed",
            OrderStatus::Shipped => "shipped",
            OrderStatus::InTransit => "in_transit",
            OrderStatus::OutForDelivery => "out_for_delivery",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    /// Said to a customer.
    pub fn label(self) -> &'static str {
        match self {
            OrderStatus::Placed => "placed, not shipped yet",
            OrderStatus::Shipped => "shipped",
            OrderStatus::InTransit => "on its way",
            OrderStatus::OutForDelivery => "out for delivery",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<OrderStatus> {
        [
            OrderStatus::Placed,
            OrderStatus::Shipped,
            OrderStatus::InTransit,
            OrderStatus::OutForDelivery,
            OrderStatus::Delivered,
            OrderStatus::Cancelled,
        ]
        .into_iter()
        .find(|status| status.as_str() == s)
    }
}

/// An order, with what the carrier last said about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Order {
    pub number: String,
    /// The order system's id for the customer.
    pub customer_ref: String,
    pub status: OrderStatus,
    pub total_cents: i64,
    #[serde(default)]
    pub carrier: Option<String>,
    #[serde(default)]
    pub last_scan: Option<String>,
    #[serde(default)]
    pub last_scan_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub promised_by: Option<DateTime<Utc>>,
    #[serde(default)]
    pub estimated_by: Option<DateTime<Utc>>,
    #[serde(default)]
    pub delivered_at: Option<DateTime<Utc>>,
    /// A reference to the carrier's proof-of-delivery photo, if it took one.
    #[serde(default)]
    pub delivery_photo: Option<String>,
    #[serde(default = "default_return_window")]
    pub return_window_days: u32,
    #[serde(default)]
    pub refunded_at: Option<DateTime<Utc>>,
}

fn default_return_window() -> u32 {
    30
}

/// A subscription (a membership, a plan) and when it was cancelled, if it was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subscription {
    pub id: String,
    pub customer_ref: String,
    pub name: String,
    #[serde(default)]
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// One charge of a subscription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Charge {
    pub id: String,
    pub subscription_id: String,
    pub amount_cents: i64,
    pub charged_at: DateTime<Utc>,
    #[serde(default)]
    pub refunded_at: Option<DateTime<Utc>>,
}

/// A customer's subscriptions with their charges.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Billing {
    pub subscriptions: Vec<Subscription>,
    pub charges: Vec<Charge>,
}

/// A write to an order system. Each carries an idempotency key when it is made, so a retried
/// call never refunds or changes anything twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderWrite {
    RefundCharge { charge_id: String },
    RefundOrder { number: String },
    ChangeAddress { number: String, address: String },
}

/// What came of an order write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderWriteOutcome {
    /// Applied now.
    Applied,
    /// This idempotency key was applied before; nothing changed.
    Repeated,
    /// The target is not in a state that allows it (already refunded, already shipped).
    Refused,
    /// No such order or charge.
    NotFound,
}

/// Formats cents as dollars for people: `$1,249.99`.
pub fn dollars(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    let whole = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    format!("{sign}${grouped}.{:02}", cents % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollars_are_grouped_by_thousands() {
        assert_eq!(dollars(124_999), "$1,249.99");
        assert_eq!(dollars(5), "$0.05");
        assert_eq!(dollars(100_000_000), "$1,000,000.00");
    }

    #[test]
    fn an_order_reads_from_json_with_defaults() {
        let order: Order = serde_json::from_str(
            r#"{"number":"112-4430938-2412367","customer_ref":"c1","status":"in_transit","total_cents":4999}"#,
        )
        .unwrap();
        assert_eq!(order.status, OrderStatus::InTransit);
        assert_eq!(order.return_window_days, 30);
    }

    #[test]
    fn statuses_round_trip() {
        for s in [
            "placed",
            "shipped",
            "in_transit",
            "out_for_delivery",
            "delivered",
            "cancelled",
        ] {
            assert_eq!(OrderStatus::parse(s).unwrap().as_str(), s);
        }
        assert_eq!(OrderStatus::parse("teleported"), None);
    }
}
