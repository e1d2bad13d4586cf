//! The PostgreSQL adapter: production, shared by several casebot processes, on sqlx's PostgreSQL
//! driver. Times are `timestamptz`, flags `boolean`, lists `text[]`. The batch statements take their
//! rows as one JSON array read into the table's own row type (`jsonb_populate_recordset`), so one
//! prepared statement serves a batch of any size. Appending to a chain locks that chain's head
//! row, so writers on different cases never wait for each other, in this process or another.

use std::collections::HashMap;

use async_trait::async_trait;
use serde_json::Value;
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions};
use sqlx::{Connection, Executor, Row};

use super::batch::{self, BatchTx, Rows, TimeFormat};
use super::rows::CASE_TARGETS;
use super::upgrade::{
    LegacyLog, LegacyRow, DROP_LEGACY_EVENTS, DROP_LEGACY_HEAD, LEGACY_EVENTS, LEGACY_HEAD,
};
use super::writer::ApplyBatch;
use super::{ExclusiveJob, StoreError, StoreOptions};
use crate::domain::{Applied, Change};

pub(crate) struct PgDb {
    pub(crate) pool: PgPool,
}

impl PgDb {
    pub(crate) async fn connect(url: &str, options: &StoreOptions) -> Result<PgDb, sqlx::Error> {
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.connect_timeout)
            .connect(url)
            .await?;
        Ok(PgDb { pool })
    }

    pub(crate) async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations/postgres")
            .run(&self.pool)
            .await?;
        let mut conn = self.pool.acquire().await?;
        super::upgrade::carry_over(&mut PgBatch { conn: &mut conn }).await
    }

    /// Takes the session advisory lock named `job` if free. The key includes the schema, so two
    /// casebot deployments sharing one database do not block each other. The lock is held on its
    /// own connection until the guard is dropped.
    pub(crate) async fn try_exclusive(
        &self,
        job: &str,
    ) -> Result<Option<ExclusiveJob>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let got: bool = sqlx::query_scalar(
            "SELECT pg_try_advisory_lock(hashtext(current_schema()), hashtext($1))",
        )
        .bind(job)
        .fetch_one(&mut *conn)
        .await?;
        if !got {
            return Ok(None);
        }
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let (unlocked_tx, unlocked_rx) = tokio::sync::oneshot::channel::<()>();
        let job = job.to_owned();
        tokio::spawn(async move {
            let _ = released.await;
            let unlocked =
                sqlx::query("SELECT pg_advisory_unlock(hashtext(current_schema()), hashtext($1))")
                    .bind(&job)
                    .execute(&mut *conn)
                    .await;
            if unlocked.is_err() {
                // Closing the session releases its locks; a pooled connection would keep them.
                let _ = conn.detach().close().await;
            }
            let _ = unlocked_tx.send(());
        });
        Ok(Some(ExclusiveJob::with_release_done(
            move || {
                let _ = release.send(());
            },
            unlocked_rx,
        )))
    }
}

#[async_trait]
impl ApplyBatch for PgDb {
    async fn apply_batch(&self, changes: &[&Change]) -> Result<Vec<Applied>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let mut tx = PgBatch { conn: &mut conn };
        batch::apply(&mut tx, changes, TimeFormat::Rfc3339).await
    }
}

struct PgBatch<'c> {
    conn: &'c mut PgConnection,
}

/// Locks in chain order, so two batches touching the same chains cannot deadlock.
const LOCK_CHAINS: &str =
    "SELECT chain, seq, hash FROM audit_chains WHERE chain = ANY($1) ORDER BY chain FOR UPDATE";

/// On PostgreSQL the upsert also locks the customer's row until commit, which queues concurrent
/// messages of one customer behind each other across processes.
const UPSERT_CUSTOMERS: &str = "\
    INSERT INTO customers (platform, platform_user_id, display_name, created_at) \
    SELECT r.platform, r.user_id, r.display_name, r.created_at \
    FROM jsonb_to_recordset($1) AS r(platform text, user_id text, display_name text, \
        created_at timestamptz) \
    ON CONFLICT (platform, platform_user_id) DO UPDATE SET display_name = excluded.display_name \
    RETURNING platform, platform_user_id, id";

const INSERT_MESSAGES: &str = "\
    INSERT INTO messages (case_id, customer_id, platform, platform_message_id, channel_kind, \
        channel_id, author_kind, author_id, body, body_sha256, sent_at, received_at) \
    SELECT case_id, customer_id, platform, platform_message_id, channel_kind, channel_id, \
        author_kind, author_id, body, body_sha256, sent_at, received_at \
    FROM jsonb_populate_recordset(NULL::messages, $1) \
    ON CONFLICT (platform, platform_message_id) DO NOTHING RETURNING platform_message_id";

fn statement(what: Rows) -> &'static str {
    match what {
        Rows::Notes => {
            "INSERT INTO case_notes (case_id, author, body, created_at) \
             SELECT case_id, author, body, created_at \
             FROM jsonb_populate_recordset(NULL::case_notes, $1)"
        }
        Rows::CallbackRequests => {
            "INSERT INTO callbacks (case_id, phone, requested_at, due_at) \
             SELECT case_id, phone, requested_at, due_at \
             FROM jsonb_populate_recordset(NULL::callbacks, $1)"
        }
        Rows::CallbacksFinished => {
            "UPDATE callbacks c SET done_at = r.at \
             FROM jsonb_to_recordset($1) AS r(case_id bigint, at timestamptz) \
             WHERE c.case_id = r.case_id AND c.done_at IS NULL"
        }
        Rows::CallbacksOverdue => {
            "UPDATE callbacks c SET breached_at = r.at \
             FROM jsonb_to_recordset($1) AS r(id bigint, at timestamptz) \
             WHERE c.id = r.id AND c.breached_at IS NULL"
        }
        Rows::StaffSet => {
            "INSERT INTO staff_members (id, role, added_at) \
             SELECT id, role, added_at FROM jsonb_populate_recordset(NULL::staff_members, $1) \
             ON CONFLICT (id) DO UPDATE SET role = excluded.role"
        }
        Rows::StaffRemoved => {
            "DELETE FROM staff_members WHERE id IN \
             (SELECT id FROM jsonb_to_recordset($1) AS r(id text))"
        }
        Rows::CustomersBlocked => {
            "UPDATE customers c SET blocked = r.blocked \
             FROM jsonb_to_recordset($1) AS r(id bigint, blocked boolean) WHERE c.id = r.id"
        }
        Rows::CustomersLinked => {
            "UPDATE customers c SET external_customer_id = r.external_id \
             FROM jsonb_to_recordset($1) AS r(id bigint, external_id text) WHERE c.id = r.id"
        }
        Rows::EraseCustomers => {
            "UPDATE customers c SET display_name = '[erased]', \
                platform_user_id = 'erased-' || c.id, external_customer_id = NULL \
             FROM jsonb_to_recordset($1) AS r(id bigint) WHERE c.id = r.id"
        }
        Rows::EraseMessages => {
            "UPDATE messages m SET body = '[erased]', channel_id = 'erased' \
             FROM jsonb_to_recordset($1) AS r(id bigint) \
             WHERE m.customer_id = r.id AND m.body <> '[erased]'"
        }
        Rows::EraseCases => {
            "UPDATE cases c SET order_number = NULL, version = c.version + 1, \
                resolution_summary = CASE WHEN c.resolution_summary IS NULL THEN NULL \
                    ELSE '[erased]' END \
             FROM jsonb_to_recordset($1) AS r(id bigint) WHERE c.customer_id = r.id"
        }
        Rows::EraseNotes => {
            "UPDATE case_notes n SET body = '[erased]' FROM jsonb_to_recordset($1) AS r(id bigint) \
             WHERE n.case_id IN (SELECT id FROM cases WHERE customer_id = r.id) \
               AND n.body <> '[erased]'"
        }
        Rows::EraseCallbacks => {
            "UPDATE callbacks b SET phone = '[erased]', done_at = COALESCE(b.done_at, r.at) \
             FROM jsonb_to_recordset($1) AS r(id bigint, at timestamptz) \
             WHERE b.case_id IN (SELECT id FROM cases WHERE customer_id = r.id) \
               AND b.phone <> '[erased]'"
        }
        Rows::EraseOutbox => {
            "UPDATE outbox o SET body = '[erased]', \
                target = CASE WHEN o.destination = 'customer_dm' THEN 'erased' ELSE o.target END, \
                state = CASE WHEN o.state = 'pending' THEN 'failed' ELSE o.state END, \
                last_error = CASE WHEN o.state = 'pending' THEN 'the customer was erased' \
                    ELSE o.last_error END \
             FROM jsonb_to_recordset($1) AS r(id bigint) \
             WHERE o.case_id IN (SELECT id FROM cases WHERE customer_id = r.id) \
               AND o.body <> '[erased]'"
        }
        Rows::Cards => {
            "INSERT INTO case_projections (case_id, card_message_id, thread_id) \
             SELECT case_id, card_message_id, thread_id \
             FROM jsonb_populate_recordset(NULL::case_projections, $1) \
             ON CONFLICT (case_id) DO UPDATE SET card_message_id = excluded.card_message_id, \
                thread_id = excluded.thread_id"
        }
        Rows::DmsClosed => {
            "INSERT INTO case_projections (case_id, dm_closed) \
             SELECT r.case_id, r.closed FROM jsonb_to_recordset($1) AS r(case_id bigint, closed boolean) \
             ON CONFLICT (case_id) DO UPDATE SET dm_closed = excluded.dm_closed"
        }
        Rows::ThreadMembers => {
            "INSERT INTO case_projections (case_id, thread_members) \
             SELECT r.case_id, r.members FROM jsonb_to_recordset($1) AS r(case_id bigint, members text[]) \
             ON CONFLICT (case_id) DO UPDATE SET thread_members = excluded.thread_members"
        }
        Rows::Corrections => {
            "INSERT INTO case_corrections (case_id, kind, from_intent, to_intent, staff_id, \
                created_at) \
             SELECT case_id, kind, from_intent, to_intent, staff_id, created_at \
             FROM jsonb_populate_recordset(NULL::case_corrections, $1)"
        }
        Rows::Outbox => {
            "INSERT INTO outbox (case_id, kind, destination, target, reply_to, body, \
                next_attempt_at, created_at) \
             SELECT case_id, kind, destination, target, reply_to, body, created_at, created_at \
             FROM jsonb_populate_recordset(NULL::outbox, $1)"
        }
        Rows::OutboxSent => {
            "UPDATE outbox o SET state = 'sent', sent_at = r.at, \
                platform_message_id = r.platform_message_id, last_error = NULL \
             FROM jsonb_to_recordset($1) AS r(id bigint, platform_message_id text, at timestamptz) \
             WHERE o.id = r.id AND o.state = 'pending'"
        }
        Rows::OutboxRetry => {
            "UPDATE outbox o SET next_attempt_at = r.at, last_error = r.error \
             FROM jsonb_to_recordset($1) AS r(id bigint, at timestamptz, error text) \
             WHERE o.id = r.id AND o.state = 'pending'"
        }
        Rows::OutboxFailed => {
            "UPDATE outbox o SET state = 'failed', last_error = r.error \
             FROM jsonb_to_recordset($1) AS r(id bigint, error text) \
             WHERE o.id = r.id AND o.state = 'pending'"
        }
        Rows::AuditEvents => {
            "INSERT INTO audit_events (chain, seq, at_ms, actor_kind, actor_id, action, case_id, \
                details, prev_hash, hash) \
             SELECT chain, seq, at_ms, actor_kind, actor_id, action, case_id, details, prev_hash, \
                hash FROM jsonb_populate_recordset(NULL::audit_events, $1)"
        }
        Rows::AuditHeads => {
            "INSERT INTO audit_chains (chain, seq, hash) \
             SELECT r.chain, r.seq, r.hash FROM jsonb_to_recordset($1) AS r(chain text, seq bigint, hash text) \
             ON CONFLICT (chain) DO UPDATE SET seq = excluded.seq, hash = excluded.hash"
        }
    }
}

/// The two case statements, built once from the shared column list.
fn case_statements() -> &'static (String, String) {
    static STATEMENTS: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    STATEMENTS.get_or_init(|| {
        let columns: Vec<&str> = CASE_TARGETS.split(',').map(str::trim).collect();
        let set: Vec<String> = columns
            .iter()
            .filter(|c| !matches!(**c, "customer_id" | "created_at"))
            .map(|c| format!("{c} = r.{c}"))
            .collect();
        let update = format!(
            "UPDATE cases c SET {} FROM jsonb_populate_recordset(NULL::cases, $1) AS r \
             WHERE c.id = r.id AND c.version = r.version - 1 RETURNING c.id",
            set.join(", ")
        );
        let insert = format!(
            "INSERT INTO cases ({CASE_TARGETS}) SELECT {CASE_TARGETS} \
             FROM jsonb_populate_recordset(NULL::cases, $1) \
             ON CONFLICT (customer_id) WHERE state IN ('open', 'escalated', 'claimed') DO NOTHING \
             RETURNING customer_id, id"
        );
        (update, insert)
    })
}

#[async_trait]
impl BatchTx for PgBatch<'_> {
    async fn begin(&mut self) -> Result<(), sqlx::Error> {
        // Read committed: each statement sees what others committed before it, which is what lets
        // a writer that lost the race for a customer's case find the winner's case.
        self.conn
            .execute("BEGIN ISOLATION LEVEL READ COMMITTED")
            .await
            .map(|_| ())
    }

    async fn commit(&mut self) -> Result<(), sqlx::Error> {
        self.conn.execute("COMMIT").await.map(|_| ())
    }

    async fn rollback(&mut self) -> Result<(), sqlx::Error> {
        self.conn.execute("ROLLBACK").await.map(|_| ())
    }

    async fn lock_chains(
        &mut self,
        chains: &[String],
    ) -> Result<HashMap<String, (i64, String)>, sqlx::Error> {
        let rows = sqlx::query(LOCK_CHAINS)
            .bind(chains)
            .fetch_all(&mut *self.conn)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, (r.try_get(1)?, r.try_get(2)?))))
            .collect()
    }

    async fn upsert_customers(
        &mut self,
        rows: Value,
    ) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
        sqlx::query_as(UPSERT_CUSTOMERS)
            .bind(rows)
            .fetch_all(&mut *self.conn)
            .await
    }

    async fn update_cases(&mut self, rows: Value) -> Result<Vec<i64>, sqlx::Error> {
        sqlx::query_scalar(&case_statements().0)
            .bind(rows)
            .fetch_all(&mut *self.conn)
            .await
    }

    async fn insert_cases(&mut self, rows: Value) -> Result<Vec<(i64, i64)>, sqlx::Error> {
        sqlx::query_as(&case_statements().1)
            .bind(rows)
            .fetch_all(&mut *self.conn)
            .await
    }

    async fn insert_messages(&mut self, rows: Value) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar(INSERT_MESSAGES)
            .bind(rows)
            .fetch_all(&mut *self.conn)
            .await
    }

    async fn write(&mut self, what: Rows, rows: Value) -> Result<(), sqlx::Error> {
        sqlx::query(statement(what))
            .bind(rows)
            .execute(&mut *self.conn)
            .await
            .map(|_| ())
    }
}

#[async_trait]
impl LegacyLog for PgBatch<'_> {
    async fn has_legacy_log(&mut self) -> Result<bool, sqlx::Error> {
        sqlx::query_scalar("SELECT to_regclass('legacy_audit_events') IS NOT NULL")
            .fetch_one(&mut *self.conn)
            .await
    }

    async fn legacy_head(&mut self) -> Result<(i64, String), sqlx::Error> {
        sqlx::query_as(LEGACY_HEAD).fetch_one(&mut *self.conn).await
    }

    async fn legacy_events(
        &mut self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<LegacyRow>, sqlx::Error> {
        sqlx::query_as(LEGACY_EVENTS)
            .bind(after)
            .bind(limit)
            .fetch_all(&mut *self.conn)
            .await
    }

    async fn drop_legacy_log(&mut self) -> Result<(), sqlx::Error> {
        self.conn.execute(DROP_LEGACY_EVENTS).await?;
        self.conn.execute(DROP_LEGACY_HEAD).await?;
        Ok(())
    }
}
