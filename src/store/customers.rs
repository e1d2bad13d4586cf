//! Reading customers: who they are, their cases, and a platform user's latest case. Customers are
//! created and changed by [`Store::apply`]; [`super::privacy`] erases them.

use std::sync::OnceLock;

use super::rows::{once, CustomerRow, CUSTOMER_COLUMNS};
use super::{on_db, Store, StoreError};
use crate::domain::ids::{CaseId, CustomerId, UserId};
use crate::domain::views::Customer;

static SELECT_CUSTOMER: OnceLock<String> = OnceLock::new();

const CUSTOMER_CASES: &str = "SELECT id FROM cases WHERE customer_id = $1 ORDER BY id";

const LATEST_CASE_OF_USER: &str = "\
    SELECT c.id FROM cases c JOIN customers cu ON cu.id = c.customer_id \
    WHERE cu.platform = $1 AND cu.platform_user_id = $2 ORDER BY c.id DESC LIMIT 1";

impl Store {
    pub async fn customer(&self, id: CustomerId) -> Result<Option<Customer>, StoreError> {
        let sql = once(&SELECT_CUSTOMER, || {
            format!("SELECT {CUSTOMER_COLUMNS} FROM customers cu WHERE cu.id = $1")
        });
        let row: Option<CustomerRow> =
            on_db!(self, pool => sqlx::query_as(sql).bind(id.get()).fetch_optional(pool).await)?;
        Ok(row.map(Customer::from))
    }

    /// A customer's cases, oldest first.
    pub async fn customer_cases(&self, id: CustomerId) -> Result<Vec<CaseId>, StoreError> {
        let ids: Vec<i64> = on_db!(self, pool => sqlx::query_scalar(CUSTOMER_CASES).bind(id.get()).fetch_all(pool).await)?;
        Ok(ids.into_iter().map(CaseId).collect())
    }

    /// The latest case of a platform user, if they have one.
    pub async fn latest_case_of_user(
        &self,
        platform: &str,
        user: &UserId,
    ) -> Result<Option<CaseId>, StoreError> {
        let id: Option<i64> = on_db!(self, pool => sqlx::query_scalar(LATEST_CASE_OF_USER)
            .bind(platform)
            .bind(user.as_str())
            .fetch_optional(pool)
            .await)?;
        Ok(id.map(CaseId))
    }
}
