//! Self-service flows: what casebot can settle on its own from the order data, what it says to the
//! customer, and what has to happen next. Pure decisions; the services carry them out.

use chrono::{DateTime, Duration, Utc};

use crate::domain::orders::{dollars, Billing, Order, OrderStatus};

/// A self-service flow: what the bot can settle on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flow {
    Tracking,
    MissingDelivery,
    Refund,
    BillingRefund,
    AddressChange,
    GeneralHelp,
}

impl Flow {
    pub const ALL: [Flow; 6] = [
        Flow::Tracking,
        Flow::MissingDelivery,
        Flow::Refund,
        Flow::BillingRefund,
        Flow::AddressChange,
        Flow::GeneralHelp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Flow::Tracking => "tracking",
            Flow::MissingDelivery => "missing_delivery",
            Flow::Refund => "refund",
            Flow::BillingRefund => "billing_refund",
            Flow::AddressChange => "address_change",
            Flow::GeneralHelp => "general_help",
        }
    }

    /// Whether the flow works on one order, and so needs its number.
    pub fn needs_order(self) -> bool {
        matches!(
            self,
            Flow::Tracking | Flow::MissingDelivery | Flow::Refund | Flow::AddressChange
        )
    }
}

crate::domain::case::parse_by_name!(
    Flow,
    "flow",
    [
        Flow::Tracking,
        Flow::MissingDelivery,
        Flow::Refund,
        Flow::BillingRefund,
        Flow::AddressChange,
        Flow::GeneralHelp,
    ]
);

/// The thresholds the flows use; they come from configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowPolicy {
    /// An undelivered order this many days past its promised date is stuck.
    pub late_after_days: i64,
    /// How long a "delivered but not received" case waits before a person takes it.
    pub missing_wait_hours: i64,
    /// Orders worth more than this go to a person at once when something is wrong.
    pub high_value_cents: i64,
    /// Automatic refunds of wrong subscription charges up to this much; above it a person decides.
    pub auto_refund_cap_cents: i64,
}

impl Default for FlowPolicy {
    fn default() -> Self {
        FlowPolicy {
            late_after_days: 3,
            missing_wait_hours: 48,
            high_value_cents: 50_000,
            auto_refund_cap_cents: 10_000,
        }
    }
}

/// What must happen after the reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Answered; nothing else to do.
    Done,
    /// The case is stuck and goes to the human queue with this reason code.
    Stuck { reason: &'static str },
    /// Wait for the customer (or the parcel) until then; a person takes over after.
    WaitUntil {
        at: DateTime<Utc>,
        reason: &'static str,
    },
    /// A person takes the case now.
    Escalate { reason: &'static str },
    /// Offer a person; the customer may accept.
    OfferHuman { reason: &'static str },
    /// Start the refund of the order.
    RefundOrder,
    /// Refund these subscription charges automatically: `(charge id, cents)`.
    RefundCharges { charges: Vec<(String, i64)> },
    /// The address can still be changed.
    ChangeAddress,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowOutcome {
    /// What the customer reads (in DM only: it carries order details).
    pub reply: String,
    pub next: Next,
}

fn outcome(reply: String, next: Next) -> FlowOutcome {
    FlowOutcome { reply, next }
}

fn day(at: DateTime<Utc>) -> String {
    at.format("%a %-d %b").to_string()
}

/// Order tracking and late deliveries: status, carrier scan, promised date and new estimate.
pub fn tracking(order: &Order, now: DateTime<Utc>, policy: &FlowPolicy) -> FlowOutcome {
    let mut reply = format!("Order {} is {}.", order.number, order.status.label());
    if let (Some(scan), Some(at)) = (&order.last_scan, order.last_scan_at) {
        let carrier = order.carrier.as_deref().unwrap_or("The carrier");
        reply.push_str(&format!(
            " {carrier}'s last scan: \"{scan}\" on {}.",
            day(at)
        ));
    }
    if order.status == OrderStatus::Delivered {
        return outcome(reply, Next::Done);
    }
    if let Some(promised) = order.promised_by {
        reply.push_str(&format!(" It was promised by {}", day(promised)));
        match order.estimated_by.filter(|e| *e > promised) {
            Some(estimate) => reply.push_str(&format!("; the new estimate is {}.", day(estimate))),
            None => reply.push('.'),
        }
        if now > promised + Duration::days(policy.late_after_days) {
            reply.push_str(" That is too late, so a member of our team will look into it for you.");
            return outcome(
                reply,
                Next::Stuck {
                    reason: "order_late",
                },
            );
        }
    }
    outcome(reply, Next::Done)
}

/// Marked delivered but not received: explain the scan, give steps, then wait or hand over.
pub fn missing_delivery(order: &Order, now: DateTime<Utc>, policy: &FlowPolicy) -> FlowOutcome {
    let mut reply = match order.delivered_at {
        Some(at) => format!(
            "Order {} was marked delivered at {} on {}.",
            order.number,
            at.format("%H:%M"),
            day(at)
        ),
        None => format!("Order {} is {}.", order.number, order.status.label()),
    };
    if let Some(photo) = &order.delivery_photo {
        reply.push_str(&format!(" The carrier took a delivery photo: {photo}."));
    }
    if order.total_cents > policy.high_value_cents {
        reply.push_str(" Because of its value, a member of our team is taking this over now.");
        return outcome(
            reply,
            Next::Escalate {
                reason: "high_value_missing_delivery",
            },
        );
    }
    let wait = Duration::hours(policy.missing_wait_hours);
    reply.push_str(&format!(
        " Parcels marked delivered sometimes turn up within a day or two: please check around your \
         door, with neighbours and in your mailbox. If it has not appeared by {}, a member of our \
         team will take over.",
        day(now + wait)
    ));
    outcome(
        reply,
        Next::WaitUntil {
            at: now + wait,
            reason: "missing_delivery_window",
        },
    )
}

/// Refunds: delivered, within the return window and not refunded already.
pub fn refund(order: &Order, now: DateTime<Utc>) -> FlowOutcome {
    let refusal = |why: String| {
        outcome(
            format!("{why} A person can look at goodwill credit if you'd like."),
            Next::OfferHuman {
                reason: "refund_not_eligible",
            },
        )
    };
    if order.refunded_at.is_some() {
        return refusal(format!("Order {} has already been refunded.", order.number));
    }
    let Some(delivered) = order.delivered_at else {
        return refusal(format!(
            "Order {} hasn't been delivered yet, so it can't be refunded as a return.",
            order.number
        ));
    };
    let closes = delivered + Duration::days(order.return_window_days.into());
    if now > closes {
        return refusal(format!(
            "The return window for order {} closed on {}.",
            order.number,
            day(closes)
        ));
    }
    outcome(
        format!(
            "Order {} qualifies for a refund of {}. I've started it; you'll get a confirmation \
             once it's processed.",
            order.number,
            dollars(order.total_cents)
        ),
        Next::RefundOrder,
    )
}

/// "Refund at first scan": subscription charges dated after the cancellation are refunded
/// automatically up to the cap; anything above goes to a person.
pub fn billing_refund(billing: &Billing, policy: &FlowPolicy) -> FlowOutcome {
    let wrong: Vec<_> = billing
        .charges
        .iter()
        .filter(|c| c.refunded_at.is_none())
        .filter(|c| {
            billing.subscriptions.iter().any(|s| {
                s.id == c.subscription_id && s.cancelled_at.is_some_and(|at| c.charged_at > at)
            })
        })
        .collect();
    if wrong.is_empty() {
        return outcome(
            "I couldn't find a charge made after a cancellation on your account. A person can \
             go through your charges with you."
                .to_owned(),
            Next::OfferHuman {
                reason: "billing_question",
            },
        );
    }
    let total: i64 = wrong.iter().map(|c| c.amount_cents).sum();
    if total > policy.auto_refund_cap_cents {
        return outcome(
            format!(
                "I found {} charged after you cancelled. That is more than I can refund on my \
                 own, so a member of our team is taking this over now.",
                dollars(total)
            ),
            Next::Escalate {
                reason: "refund_above_cap",
            },
        );
    }
    outcome(
        format!(
            "You were charged {} after you cancelled. That was our mistake: I've refunded it, and \
             it will be back on your card in 3-5 business days.",
            dollars(total)
        ),
        Next::RefundCharges {
            charges: wrong
                .iter()
                .map(|c| (c.id.clone(), c.amount_cents))
                .collect(),
        },
    )
}

/// Address changes: possible until the order ships.
pub fn address_change(order: &Order) -> FlowOutcome {
    if order.status == OrderStatus::Placed {
        return outcome(
            format!(
                "Order {} hasn't shipped yet, so its address can still be changed. Please send \
                 the new address here.",
                order.number
            ),
            Next::ChangeAddress,
        );
    }
    outcome(
        format!(
            "Order {} is already {}, so I can't change its address any more. A person can try \
             to redirect it with the carrier.",
            order.number,
            order.status.label()
        ),
        Next::OfferHuman {
            reason: "address_after_shipping",
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::orders::{Charge, Subscription};

    fn at(day: u32) -> DateTime<Utc> {
        format!("2026-11-{day:02}T10:00:00Z").parse().unwrap()
    }

    fn order(status: OrderStatus) -> Order {
        Order {
            number: "112-4430938-2412367".into(),
            customer_ref: "c1".into(),
            status,
            total_cents: 4_999,
            carrier: Some("Parcelway".into()),
            last_scan: Some("Departed hub".into()),
            last_scan_at: Some(at(3)),
            promised_by: Some(at(5)),
            estimated_by: Some(at(7)),
            delivered_at: None,
            delivery_photo: None,
            return_window_days: 30,
            refunded_at: None,
        }
    }

    fn delivered(on: u32) -> Order {
        Order {
            delivered_at: Some(at(on)),
            ..order(OrderStatus::Delivered)
        }
    }

    #[test]
    fn tracking_answers_status_scan_promise_and_estimate() {
        let o = tracking(
            &order(OrderStatus::InTransit),
            at(6),
            &FlowPolicy::default(),
        );
        assert_eq!(o.next, Next::Done);
        for part in [
            "on its way",
            "Departed hub",
            "promised by Thu 5 Nov",
            "new estimate is Sat 7 Nov",
        ] {
            assert!(o.reply.contains(part), "{part}: {}", o.reply);
        }
    }

    #[test]
    fn an_order_late_beyond_the_threshold_is_stuck() {
        let policy = FlowPolicy::default();
        assert_eq!(
            tracking(&order(OrderStatus::InTransit), at(8), &policy).next,
            Next::Done
        );
        let late = tracking(&order(OrderStatus::InTransit), at(9), &policy);
        assert_eq!(
            late.next,
            Next::Stuck {
                reason: "order_late"
            }
        );
    }

    #[test]
    fn a_missing_parcel_waits_for_the_window_then_goes_to_a_person() {
        let o = missing_delivery(&delivered(4), at(5), &FlowPolicy::default());
        assert_eq!(
            o.next,
            Next::WaitUntil {
                at: at(7),
                reason: "missing_delivery_window"
            }
        );
        assert!(o.reply.contains("marked delivered at 10:00"), "{}", o.reply);
    }

    #[test]
    fn a_missing_high_value_parcel_goes_to_a_person_at_once() {
        let laptop = Order {
            total_cents: 90_000,
            ..delivered(4)
        };
        let o = missing_delivery(&laptop, at(5), &FlowPolicy::default());
        assert_eq!(
            o.next,
            Next::Escalate {
                reason: "high_value_missing_delivery"
            }
        );
    }

    #[test]
    fn refunds_need_delivery_the_window_and_no_earlier_refund() {
        assert_eq!(refund(&delivered(1), at(20)).next, Next::RefundOrder);
        let table = [
            order(OrderStatus::InTransit),
            Order {
                return_window_days: 7,
                ..delivered(1)
            },
            Order {
                refunded_at: Some(at(2)),
                ..delivered(1)
            },
        ];
        for o in table {
            let outcome = refund(&o, at(20));
            assert_eq!(
                outcome.next,
                Next::OfferHuman {
                    reason: "refund_not_eligible"
                },
                "{o:?}"
            );
            assert!(outcome.reply.contains("goodwill"));
        }
    }

    fn billing(charge_cents: &[i64]) -> Billing {
        Billing {
            subscriptions: vec![Subscription {
                id: "s1".into(),
                customer_ref: "c1".into(),
                name: "Membership".into(),
                cancelled_at: Some(at(10)),
            }],
            charges: charge_cents
                .iter()
                .enumerate()
                .map(|(i, &amount_cents)| Charge {
                    id: format!("ch{i}"),
                    subscription_id: "s1".into(),
                    amount_cents,
                    charged_at: at(9 + i as u32 * 2),
                    refunded_at: None,
                })
                .collect(),
        }
    }

    #[test]
    fn only_charges_after_the_cancellation_are_refunded_automatically() {
        // ch0 is before the cancellation, ch1 after.
        let o = billing_refund(&billing(&[1_299, 1_299]), &FlowPolicy::default());
        assert_eq!(
            o.next,
            Next::RefundCharges {
                charges: vec![("ch1".into(), 1_299)]
            }
        );
        assert!(o.reply.contains("$12.99"), "{}", o.reply);
    }

    #[test]
    fn a_charge_already_refunded_is_never_refunded_again() {
        let mut b = billing(&[1_299, 1_299]);
        b.charges[1].refunded_at = Some(at(12));
        let o = billing_refund(&b, &FlowPolicy::default());
        assert_eq!(
            o.next,
            Next::OfferHuman {
                reason: "billing_question"
            }
        );
    }

    #[test]
    fn refunds_above_the_cap_go_to_a_person() {
        let o = billing_refund(&billing(&[100, 8_000, 8_000]), &FlowPolicy::default());
        assert_eq!(
            o.next,
            Next::Escalate {
                reason: "refund_above_cap"
            }
        );
    }

    #[test]
    fn an_address_changes_only_before_shipping() {
        assert_eq!(
            address_change(&order(OrderStatus::Placed)).next,
            Next::ChangeAddress
        );
        let shipped = address_change(&order(OrderStatus::Shipped));
        assert_eq!(
            shipped.next,
            Next::OfferHuman {
                reason: "address_after_shipping"
            }
        );
    }
}
