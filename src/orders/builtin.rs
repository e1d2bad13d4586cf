//! The built-in order system: tables in casebot's own database, filled by `casebot orders import`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{OrderSource, OrderSourceError, OrderWrite, OrderWriteOutcome};
use crate::domain::orders::{Billing, Order};
use crate::store::Store;

#[derive(Debug, Clone)]
pub struct BuiltInOrders {
    store: Store,
}

impl BuiltInOrders {
    pub fn new(store: Store) -> BuiltInOrders {
        BuiltInOrders { store }
    }
}

#[async_trait]
impl OrderSource for BuiltInOrders {
    async fn order(&self, number: &str) -> Result<Option<Order>, OrderSourceError> {
        Ok(self.store.order(number).await?)
    }

    async fn billing(&self, customer_ref: &str) -> Result<Billing, OrderSourceError> {
        Ok(self.store.billing(customer_ref).await?)
    }

    async fn write(
        &self,
        write: &OrderWrite,
        key: &str,
        at: DateTime<Utc>,
    ) -> Result<OrderWriteOutcome, OrderSourceError> {
        Ok(self.store.write_order(write, key, at).await?)
    }
}
