//! A shop's own order API over HTTP. casebot expects:
//!
//! - `GET  {base}/orders/{number}` → an order as JSON, or 404
//! - `GET  {base}/customers/{ref}/billing` → `{"subscriptions": [...], "charges": [...]}`
//! - `POST {base}/orders/{number}/refund`, `POST {base}/charges/{id}/refund` and
//!   `POST {base}/orders/{number}/address` (`{"address": "..."}`) → `{"result": "applied" |
//!   "repeated" | "refused"}`, or 404
//!
//! Every request carries the bearer token; every write carries an `Idempotency-Key` header. Reads
//! are retried with backoff on timeouts, connection errors and 5xx; writes are not retried here
//! (their key makes a retry by the caller safe).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::{OrderSource, OrderSourceError, OrderWrite, OrderWriteOutcome};
use crate::domain::orders::{Billing, Order};
use crate::secrets::Secret;

#[derive(Debug, Clone)]
pub struct HttpOrdersConfig {
    pub base_url: Url,
    pub token: Option<Secret>,
    pub timeout: Duration,
    /// Attempts for a read, the first included.
    pub read_attempts: u32,
    /// The wait before the first retry; it doubles for each further one.
    pub backoff: Duration,
}

#[derive(Debug, Clone)]
pub struct HttpOrders {
    client: reqwest::Client,
    config: HttpOrdersConfig,
}

#[derive(Deserialize)]
struct WriteReply {
    result: String,
}

impl HttpOrders {
    pub fn new(config: HttpOrdersConfig) -> Result<HttpOrders, OrderSourceError> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| OrderSourceError::Unreachable(e.to_string()))?;
        Ok(HttpOrders { client, config })
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.config.base_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    async fn send(
        &self,
        method: Method,
        url: Url,
        key: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> Result<Option<Vec<u8>>, OrderSourceError> {
        let mut request = self.client.request(method, url);
        if let Some(token) = &self.config.token {
            request = request.bearer_auth(token.expose());
        }
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| self.transport_error(e))?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => {
                let body = response
                    .bytes()
                    .await
                    .map_err(|e| self.transport_error(e))?;
                Ok(Some(body.to_vec()))
            }
            s => Err(OrderSourceError::Status { status: s.as_u16() }),
        }
    }

    fn transport_error(&self, e: reqwest::Error) -> OrderSourceError {
        if e.is_timeout() {
            OrderSourceError::Timeout(self.config.timeout.as_millis() as u64)
        } else {
            OrderSourceError::Unreachable(e.without_url().to_string())
        }
    }

    /// A GET with retries on failures that may pass: timeouts, connection errors, 5xx.
    async fn read<T: DeserializeOwned>(&self, url: Url) -> Result<Option<T>, OrderSourceError> {
        let mut wait = self.config.backoff;
        let mut attempt = 1;
        loop {
            match self.send(Method::GET, url.clone(), None, None).await {
                Ok(None) => return Ok(None),
                Ok(Some(body)) => {
                    return serde_json::from_slice(&body)
                        .map(Some)
                        .map_err(|e| OrderSourceError::BadReply(e.to_string()))
                }
                Err(e) if attempt < self.config.read_attempts && retryable(&e) => {
                    tracing::debug!(attempt, error = %e, "order system read failed; retrying");
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn post(
        &self,
        url: Url,
        key: &str,
        body: Option<serde_json::Value>,
    ) -> Result<OrderWriteOutcome, OrderSourceError> {
        let Some(reply) = self.send(Method::POST, url, Some(key), body).await? else {
            return Ok(OrderWriteOutcome::NotFound);
        };
        let reply: WriteReply = serde_json::from_slice(&reply)
            .map_err(|e| OrderSourceError::BadReply(e.to_string()))?;
        match reply.result.as_str() {
            "applied" => Ok(OrderWriteOutcome::Applied),
            "repeated" => Ok(OrderWriteOutcome::Repeated),
            "refused" => Ok(OrderWriteOutcome::Refused),
            other => Err(OrderSourceError::BadReply(format!(
                "unknown result {other:?}"
            ))),
        }
    }
}

fn retryable(e: &OrderSourceError) -> bool {
    match e {
        OrderSourceError::Timeout(_) | OrderSourceError::Unreachable(_) => true,
        OrderSourceError::Status { status } => *status >= 500,
        _ => false,
    }
}

#[async_trait]
impl OrderSource for HttpOrders {
    async fn order(&self, number: &str) -> Result<Option<Order>, OrderSourceError> {
        self.read(self.url(&["orders", number])).await
    }

    async fn billing(&self, customer_ref: &str) -> Result<Billing, OrderSourceError> {
        let url = self.url(&["customers", customer_ref, "billing"]);
        Ok(self.read(url).await?.unwrap_or_default())
    }

    async fn write(
        &self,
        write: &OrderWrite,
        key: &str,
        _at: DateTime<Utc>,
    ) -> Result<OrderWriteOutcome, OrderSourceError> {
        match write {
            OrderWrite::RefundOrder { number } => {
                self.post(self.url(&["orders", number, "refund"]), key, None)
                    .await
            }
            OrderWrite::RefundCharge { charge_id } => {
                self.post(self.url(&["charges", charge_id, "refund"]), key, None)
                    .await
            }
            OrderWrite::ChangeAddress { number, address } => {
                let body = serde_json::json!({ "address": address });
                self.post(self.url(&["orders", number, "address"]), key, Some(body))
                    .await
            }
        }
    }
}
