//! The HTTP order source against a local fake order API: success, 404, timeouts, 500s, malformed
//! JSON, retries for reads only, and the headers every call must carry.

use std::time::Duration;

use casebot::orders::{
    HttpOrders, HttpOrdersConfig, OrderSource, OrderSourceError, OrderWrite, OrderWriteOutcome,
};
use casebot::secrets::Secret;
use chrono::Utc;

use crate::support::fake_http::{FakeHttp, Reply};

const ORDER: &str = r#"{"number":"112-4430938-2412367","customer_ref":"c1","status":"in_transit","total_cents":4999}"#;

fn client(server: &FakeHttp) -> HttpOrders {
    HttpOrders::new(HttpOrdersConfig {
        base_url: format!("{}/api/", server.url).parse().unwrap(),
        token: Some(Secret::new("order-api-token")),
        timeout: Duration::from_millis(300),
        read_attempts: 3,
        backoff: Duration::from_millis(10),
    })
    .unwrap()
}

fn refund_charge(id: &str) -> OrderWrite {
    OrderWrite::RefundCharge {
        charge_id: id.into(),
    }
}

#[tokio::test]
async fn an_order_is_read_with_the_bearer_token() {
    let server = FakeHttp::start(vec![Reply::Json(200, ORDER.into())]).await;
    let order = client(&server)
        .order("112-4430938-2412367")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(order.total_cents, 4999);
    let seen = &server.requests()[0];
    assert_eq!(seen.line, "GET /api/orders/112-4430938-2412367 HTTP/1.1");
    assert_eq!(seen.header("authorization"), Some("Bearer order-api-token"));
}

#[tokio::test]
async fn an_unknown_order_is_none_not_an_error() {
    let server = FakeHttp::start(vec![Reply::Json(404, "{}".into())]).await;
    assert_eq!(client(&server).order("1-2-3").await.unwrap(), None);
}

#[tokio::test]
async fn a_read_that_fails_with_500_is_retried_and_can_then_succeed() {
    let replies = vec![
        Reply::Json(500, "{}".into()),
        Reply::Json(200, ORDER.into()),
    ];
    let server = FakeHttp::start(replies).await;
    assert!(client(&server)
        .order("112-4430938-2412367")
        .await
        .unwrap()
        .is_some());
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_read_that_keeps_failing_reports_the_status_after_three_attempts() {
    let server = FakeHttp::start(vec![Reply::Json(503, "{}".into())]).await;
    let err = client(&server).order("1-2-3").await.unwrap_err();
    assert!(
        matches!(err, OrderSourceError::Status { status: 503 }),
        "{err:?}"
    );
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn a_client_error_is_not_retried() {
    let server = FakeHttp::start(vec![Reply::Json(401, "{}".into())]).await;
    let err = client(&server).order("1-2-3").await.unwrap_err();
    assert!(
        matches!(err, OrderSourceError::Status { status: 401 }),
        "{err:?}"
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_stalled_server_times_out_with_a_clear_error() {
    let server = FakeHttp::start(vec![Reply::Stall(Duration::from_secs(5))]).await;
    let err = client(&server).order("1-2-3").await.unwrap_err();
    assert!(matches!(err, OrderSourceError::Timeout(300)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "the order system did not answer within 300 ms"
    );
}

#[tokio::test]
async fn malformed_json_is_a_bad_reply() {
    let server = FakeHttp::start(vec![Reply::Json(200, "{\"number\": ".into())]).await;
    let err = client(&server).order("1-2-3").await.unwrap_err();
    assert!(matches!(err, OrderSourceError::BadReply(_)), "{err:?}");
}

#[tokio::test]
async fn a_refund_carries_its_idempotency_key_and_is_not_retried() {
    let server = FakeHttp::start(vec![Reply::Json(500, "{}".into())]).await;
    let err = client(&server)
        .write(&refund_charge("ch-1"), "refund:ch-1", Utc::now())
        .await
        .unwrap_err();
    assert!(
        matches!(err, OrderSourceError::Status { status: 500 }),
        "{err:?}"
    );
    let seen = server.requests();
    assert_eq!(seen.len(), 1, "writes are never retried by the client");
    assert_eq!(seen[0].line, "POST /api/charges/ch-1/refund HTTP/1.1");
    assert_eq!(seen[0].header("idempotency-key"), Some("refund:ch-1"));
}

#[tokio::test]
async fn write_results_are_read_back() {
    let replies = vec![
        Reply::Json(200, r#"{"result":"applied"}"#.into()),
        Reply::Json(200, r#"{"result":"repeated"}"#.into()),
        Reply::Json(404, "{}".into()),
        Reply::Json(200, r#"{"result":"maybe"}"#.into()),
    ];
    let server = FakeHttp::start(replies).await;
    let orders = client(&server);
    let now = Utc::now();
    let address = OrderWrite::ChangeAddress {
        number: "1-2-3".into(),
        address: "1 Main St".into(),
    };
    let refund = |number: &str| OrderWrite::RefundOrder {
        number: number.into(),
    };
    assert_eq!(
        orders.write(&address, "k1", now).await.unwrap(),
        OrderWriteOutcome::Applied
    );
    assert_eq!(
        orders.write(&address, "k1", now).await.unwrap(),
        OrderWriteOutcome::Repeated
    );
    assert_eq!(
        orders.write(&refund("9-9-9"), "k2", now).await.unwrap(),
        OrderWriteOutcome::NotFound
    );
    assert!(matches!(
        orders.write(&refund("1-2-3"), "k3", now).await,
        Err(OrderSourceError::BadReply(_))
    ));
    let seen = server.requests();
    assert_eq!(seen[0].line, "POST /api/orders/1-2-3/address HTTP/1.1");
    assert!(seen[0].body.contains("1 Main St"));
}
