//! Reading callback requests. Requests, their completion and missed deadlines are written by
//! [`Store::apply`].

use chrono::{DateTime, Utc};

use super::rows::{convert, CallbackRow, Time};
use super::{on_db, Store, StoreError};
use crate::domain::ids::CaseId;
use crate::domain::views::Callback;

const CASE_CALLBACKS: &str = "\
    SELECT id, case_id, phone, requested_at, due_at, done_at, breached_at \
    FROM callbacks WHERE case_id = $1 ORDER BY id";

const OVERDUE: &str = "\
    SELECT id, case_id, phone, requested_at, due_at, done_at, breached_at FROM callbacks \
    WHERE done_at IS NULL AND breached_at IS NULL AND due_at <= $1 ORDER BY due_at, id";

impl Store {
    /// A case's callback requests, oldest first; the number in full, for the claimer only.
    pub async fn callbacks(&self, case: CaseId) -> Result<Vec<Callback>, StoreError> {
        let rows: Vec<CallbackRow> = on_db!(self, pool => sqlx::query_as(CASE_CALLBACKS).bind(case.get()).fetch_all(pool).await)?;
        convert(rows)
    }

    /// Callbacks past their deadline, not made and not yet reported.
    pub async fn overdue_callbacks(&self, now: DateTime<Utc>) -> Result<Vec<Callback>, StoreError> {
        let rows: Vec<CallbackRow> =
            on_db!(self, pool => sqlx::query_as(OVERDUE).bind(Time(now)).fetch_all(pool).await)?;
        convert(rows)
    }
}
