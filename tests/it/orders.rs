//! The built-in order system on both backends: an import reports bad rows by line and loads the
//! rest, and writes are applied once per idempotency key and only when the order allows them.

use casebot::orders::import::import;
use casebot::orders::{OrderWrite, OrderWriteOutcome};
use casebot::services::Clock;
use casebot::store::Backend;

use crate::on_both_backends;
use crate::support::app::TestApp;

on_both_backends!(
    the_example_orders_import_completely,
    bad_rows_are_reported_by_line_and_the_rest_still_load,
    a_refund_is_applied_once_per_key_and_never_twice_per_charge,
    an_address_changes_only_while_the_order_is_unshipped,
);

const EXAMPLES: &[u8] = include_bytes!("../../examples/orders.jsonl");

/// casebot with the example orders imported.
async fn with_examples(backend: Backend) -> Option<TestApp> {
    let t = TestApp::spawn(backend).await?;
    import(t.store(), EXAMPLES, false).await.unwrap();
    Some(t)
}

async fn the_example_orders_import_completely(backend: Backend) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    let report = import(t.store(), EXAMPLES, false).await.unwrap();
    assert_eq!(
        (report.orders, report.subscriptions, report.charges),
        (4, 1, 2)
    );
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    let laptop = t.app.orders.order("114-2207745-8812230").await.unwrap();
    assert_eq!(laptop.expect("the laptop order").total_cents, 89_999);
    let billing = t.app.orders.billing("demo-ivy").await.unwrap();
    assert_eq!((billing.subscriptions.len(), billing.charges.len()), (1, 2));
    t.cleanup().await;
}

async fn bad_rows_are_reported_by_line_and_the_rest_still_load(backend: Backend) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    let input = b"{\"kind\":\"subscription\",\"id\":\"s1\",\"customer_ref\":\"c1\",\"name\":\"Plus\"}\n\
{\"kind\":\"order\",\"number\":\"1\"}\n\
{\"kind\":\"charge\",\"id\":\"x\",\"subscription_id\":\"missing\",\"amount_cents\":1,\"charged_at\":\"2026-01-01T00:00:00Z\"}\n\
{\"kind\":\"charge\",\"id\":\"c1\",\"subscription_id\":\"s1\",\"amount_cents\":100,\"charged_at\":\"2026-01-01T00:00:00Z\"}\n";
    let report = import(t.store(), input, false).await.unwrap();
    let lines: Vec<usize> = report.skipped.iter().map(|(line, _)| *line).collect();
    assert_eq!(lines, [2, 3]);
    assert_eq!((report.subscriptions, report.charges), (1, 1));
    t.cleanup().await;
}

fn refund_charge(id: &str) -> OrderWrite {
    OrderWrite::RefundCharge {
        charge_id: id.into(),
    }
}

fn change_address(number: &str, address: &str) -> OrderWrite {
    OrderWrite::ChangeAddress {
        number: number.into(),
        address: address.into(),
    }
}

async fn a_refund_is_applied_once_per_key_and_never_twice_per_charge(backend: Backend) {
    let Some(t) = with_examples(backend).await else {
        return;
    };
    let (orders, now) = (&t.app.orders, t.clock.now());
    let charge = refund_charge("ch-ivy-2026-11");
    let outcomes = [
        orders.write(&charge, "k1", now).await.unwrap(),
        orders.write(&charge, "k1", now).await.unwrap(),
        orders.write(&charge, "k2", now).await.unwrap(),
        orders
            .write(&refund_charge("no-such"), "k3", now)
            .await
            .unwrap(),
    ];
    use OrderWriteOutcome::*;
    assert_eq!(outcomes, [Applied, Repeated, Refused, NotFound]);
    let billing = orders.billing("demo-ivy").await.unwrap();
    let refunded = billing
        .charges
        .iter()
        .filter(|c| c.refunded_at.is_some())
        .count();
    assert_eq!(refunded, 1);
    t.cleanup().await;
}

async fn an_address_changes_only_while_the_order_is_unshipped(backend: Backend) {
    let Some(t) = with_examples(backend).await else {
        return;
    };
    let (orders, now) = (&t.app.orders, t.clock.now());
    let placed = change_address("111-5531287-4470019", "2 New Rd");
    assert_eq!(
        orders.write(&placed, "a1", now).await.unwrap(),
        OrderWriteOutcome::Applied
    );
    let shipped = change_address("112-4430938-2412367", "2 New Rd");
    assert_eq!(
        orders.write(&shipped, "a2", now).await.unwrap(),
        OrderWriteOutcome::Refused
    );
    // A refused change leaves its key free for a later attempt that may succeed.
    let retry = change_address("111-5531287-4470019", "3 Other St");
    assert_eq!(
        orders.write(&retry, "a2", now).await.unwrap(),
        OrderWriteOutcome::Applied
    );
    t.cleanup().await;
}
