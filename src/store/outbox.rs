//! The outbox's reads and its lease. Entries are queued and their outcomes recorded by
//! [`Store::apply`]; a dispatcher leases due entries here so that no two dispatchers (in one
//! process or several) deliver the same entry at once.

use chrono::{DateTime, Utc};

use super::rows::{convert, OutboxRow, Time};
use super::{on_db, Db, Store, StoreError};
use crate::domain::ids::{CaseId, OutboxId};
use crate::domain::views::OutboxEntry;

const COLUMNS: &str =
    "id, case_id, kind, destination, target, reply_to, body, attempts, state, created_at, sent_at";

/// Leases due entries: their next attempt moves to the lease's end, so another dispatcher (or
/// this one after a crash) takes them again only once the lease has run out. SQLite's single
/// writer already keeps dispatchers apart.
const LEASE_SQLITE: &str = "\
    UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $2 \
    WHERE id IN (SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= $1 \
        ORDER BY next_attempt_at, id LIMIT $3) \
    RETURNING id, case_id, kind, destination, target, reply_to, body, attempts, state, \
        created_at, sent_at";

/// The same on PostgreSQL, where dispatchers in other processes skip what one has locked instead
/// of waiting for it.
const LEASE_POSTGRES: &str = "\
    UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $2 \
    WHERE id IN (SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= $1 \
        ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) \
    RETURNING id, case_id, kind, destination, target, reply_to, body, attempts, state, \
        created_at, sent_at";

impl Store {
    /// Leases up to `limit` due entries until `lease_until`, oldest first.
    pub async fn lease_outbox(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let rows: Vec<OutboxRow> = match &self.db {
            Db::Sqlite(db) => {
                let mut conn = db.write.lock().await;
                sqlx::query_as(LEASE_SQLITE)
                    .bind(Time(now))
                    .bind(Time(lease_until))
                    .bind(limit)
                    .fetch_all(&mut *conn)
                    .await?
            }
            Db::Postgres(db) => {
                sqlx::query_as(LEASE_POSTGRES)
                    .bind(Time(now))
                    .bind(Time(lease_until))
                    .bind(limit)
                    .fetch_all(&db.pool)
                    .await?
            }
        };
        let mut entries: Vec<OutboxEntry> = convert(rows)?;
        entries.sort_by_key(|e| e.id);
        Ok(entries)
    }

    /// Everything queued for a case, oldest first, with each entry's state.
    pub async fn outbox_of_case(&self, case: CaseId) -> Result<Vec<OutboxEntry>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM outbox WHERE case_id = $1 ORDER BY id");
        let rows: Vec<OutboxRow> =
            on_db!(self, pool => sqlx::query_as(&sql).bind(case.get()).fetch_all(pool).await)?;
        convert(rows)
    }

    pub async fn outbox_entry(&self, id: OutboxId) -> Result<Option<OutboxEntry>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM outbox WHERE id = $1");
        let row: Option<OutboxRow> =
            on_db!(self, pool => sqlx::query_as(&sql).bind(id.get()).fetch_optional(pool).await)?;
        row.map(OutboxEntry::try_from).transpose()
    }

    /// Entries still waiting for delivery.
    pub async fn outbox_backlog(&self) -> Result<i64, StoreError> {
        let sql = "SELECT COUNT(*) FROM outbox WHERE state = 'pending'";
        Ok(on_db!(self, pool => sqlx::query_scalar(sql).fetch_one(pool).await)?)
    }
}
