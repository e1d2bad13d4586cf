//! The demo's shop: a parcel in transit, a delivered laptop and a cancelled membership still
//! charged, put in the built-in order system under numbers tagged by the run.

use casebot::app::App;
use casebot::domain::orders::{Billing, Charge, Order, OrderStatus, Subscription};
use chrono::{Duration, Utc};

/// The order numbers and customer reference the scenario talks about.
pub(super) struct DemoOrders {
    pub parcel: String,
    pub laptop: String,
    pub ivy_ref: String,
}

/// Orders of this run in the built-in order system, numbered from the run tag.
pub(super) async fn seed_orders(app: &App, tag: i64) -> anyhow::Result<DemoOrders> {
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
    app.store.import_order(&parcel).await?;
    app.store.import_order(&laptop).await?;
    let ivy_ref = format!("ivy-ref-{tag}");
    let plan = Subscription {
        id: format!("plus-{tag}"),
        customer_ref: ivy_ref.clone(),
        name: "Plus membership".into(),
        cancelled_at: Some(now - Duration::days(20)),
    };
    let charges = [(1, 45), (2, 5)]
        .map(|(i, days_ago)| Charge {
            id: format!("charge-{i}-{tag}"),
            subscription_id: plan.id.clone(),
            amount_cents: 1_499,
            charged_at: now - Duration::days(days_ago),
            refunded_at: None,
        })
        .to_vec();
    app.store
        .import_billing(&Billing {
            subscriptions: vec![plan],
            charges,
        })
        .await?;
    Ok(DemoOrders {
        parcel: parcel.number,
        laptop: laptop.number,
        ivy_ref,
    })
}
