//! The order system, behind one small trait: casebot's built-in tables, or a shop's own HTTP API.
//! Services and flows only ever see [`OrderSource`].

mod builtin;
mod http;
pub mod import;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

pub use builtin::BuiltInOrders;
pub use http::{HttpOrders, HttpOrdersConfig};

use crate::domain::orders::{Billing, Order};
pub use crate::domain::orders::{OrderWrite, OrderWriteOutcome};

#[derive(Debug, thiserror::Error)]
pub enum OrderSourceError {
    #[error("the order system did not answer within {0} ms")]
    Timeout(u64),
    #[error("the order system cannot be reached: {0}")]
    Unreachable(String),
    #[error("the order system answered HTTP {status}")]
    Status { status: u16 },
    #[error("the order system sent a reply casebot cannot read: {0}")]
    BadReply(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Reads and idempotent writes against an order system. Every write carries an idempotency key,
/// so a retried call never refunds or changes anything twice.
#[async_trait]
pub trait OrderSource: Send + Sync {
    async fn order(&self, number: &str) -> Result<Option<Order>, OrderSourceError>;
    async fn billing(&self, customer_ref: &str) -> Result<Billing, OrderSourceError>;
    /// Applies `write` once per `key`.
    async fn write(
        &self,
        write: &OrderWrite,
        key: &str,
        at: DateTime<Utc>,
    ) -> Result<OrderWriteOutcome, OrderSourceError>;
}
