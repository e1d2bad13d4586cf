//! The built-in order system: tables in casebot's own database, filled by `casebot orders import`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{OrderSource, OrderSourceError, OrderWrite};
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

    async fn refund_order(
        &self,
        number: &str,
        key: &str,
        at: DateTime<Utc>,
    ) -> Result<OrderWrite, OrderSourceError> {
        Ok(self.store.refund_order(number, key, at).await?)
    }

    async fn refund_charge(
        &self,
        charge_id: &str,
        key: &str,
        at: DateTime<Utc>,
    ) -> Result<OrderWrite, OrderSourceError> {
        Ok(self.store.refund_charge(charge_id, key, at).await?)
    }

    async fn change_address(
        &self,
        number: &str,
        address: &str,
        key: &str,
        at: DateTime<Utc>,
    ) -> Result<OrderWrite, OrderSourceError> {
        Ok(self.store.change_address(number, address, key, at).await?)
    }
}
