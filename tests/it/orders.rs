//! The built-in order system on both backends: import with line-numbered problems, and writes
//! that are applied once per idempotency key and only when the order allows them.

use casebot::orders::import::import;
use casebot::orders::{BuiltInOrders, OrderSource, OrderWrite};
use casebot::store::Backend;
use chrono::Utc;

use crate::on_both_backends;
use crate::support::TestDb;

on_both_backends!(
    the_example_orders_import_completely,
    bad_rows_are_reported_by_line_and_the_rest_still_load,
    a_refund_is_applied_once_per_key_and_never_twice_per_charge,
    an_address_changes_only_while_the_order_is_unshipped,
);

const EXAMPLES: &[u8] = include_bytes!("../../examples/orders.jsonl");

async fn the_example_orders_import_completely(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let store = db.store().await;
    let report = import(&store, EXAMPLES, false).await.unwrap();
    assert_eq!(
        (report.orders, report.subscriptions, report.charges),
        (4, 1, 2)
    );
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    let orders = BuiltInOrders::new(store);
    let laptop = orders.order("114-2207745-8812230").await.unwrap().unwrap();
    assert_eq!(laptop.total_cents, 89_999);
    let billing = orders.billing("demo-ivy").await.unwrap();
    assert_eq!((billing.subscriptions.len(), billing.charges.len()), (1, 2));
    db.cleanup().await;
}

async fn bad_rows_are_reported_by_line_and_the_rest_still_load(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let store = db.store().await;
    let input = b"{\"kind\":\"subscription\",\"id\":\"s1\",\"customer_ref\":\"c1\",\"name\":\"Plus\"}\n\
{\"kind\":\"order\",\"number\":\"1\"}\n\
{\"kind\":\"charge\",\"id\":\"x\",\"subscription_id\":\"missing\",\"amount_cents\":1,\"charged_at\":\"2026-01-01T00:00:00Z\"}\n\
{\"kind\":\"charge\",\"id\":\"c1\",\"subscription_id\":\"s1\",\"amount_cents\":100,\"charged_at\":\"2026-01-01T00:00:00Z\"}\n";
    let report = import(&store, input, false).await.unwrap();
    let lines: Vec<usize> = report.skipped.iter().map(|(line, _)| *line).collect();
    assert_eq!(lines, [2, 3]);
    assert_eq!((report.subscriptions, report.charges), (1, 1));
    db.cleanup().await;
}

async fn a_refund_is_applied_once_per_key_and_never_twice_per_charge(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let store = db.store().await;
    import(&store, EXAMPLES, false).await.unwrap();
    let orders = BuiltInOrders::new(store);
    let now = Utc::now();
    let charge = "ch-ivy-2026-11";
    assert_eq!(
        orders.refund_charge(charge, "k1", now).await.unwrap(),
        OrderWrite::Applied
    );
    assert_eq!(
        orders.refund_charge(charge, "k1", now).await.unwrap(),
        OrderWrite::Repeated
    );
    assert_eq!(
        orders.refund_charge(charge, "k2", now).await.unwrap(),
        OrderWrite::Refused
    );
    assert_eq!(
        orders.refund_charge("no-such", "k3", now).await.unwrap(),
        OrderWrite::NotFound
    );
    let billing = orders.billing("demo-ivy").await.unwrap();
    let refunded = billing
        .charges
        .iter()
        .filter(|c| c.refunded_at.is_some())
        .count();
    assert_eq!(refunded, 1);
    db.cleanup().await;
}

async fn an_address_changes_only_while_the_order_is_unshipped(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let store = db.store().await;
    import(&store, EXAMPLES, false).await.unwrap();
    let orders = BuiltInOrders::new(store);
    let now = Utc::now();
    let placed = orders
        .change_address("111-5531287-4470019", "2 New Rd", "a1", now)
        .await;
    assert_eq!(placed.unwrap(), OrderWrite::Applied);
    let shipped = orders
        .change_address("112-4430938-2412367", "2 New Rd", "a2", now)
        .await;
    assert_eq!(shipped.unwrap(), OrderWrite::Refused);
    // A refused change leaves its key free for a later attempt that may succeed.
    let retry = orders
        .change_address("111-5531287-4470019", "3 Other St", "a2", now)
        .await;
    assert_eq!(retry.unwrap(), OrderWrite::Applied);
    db.cleanup().await;
}
