//! The storage port: the only place in casebot that speaks SQL.
//!
//! Services see [`Store`] (reads and `begin`) and [`Tx`] (the writes of one unit of work). Both
//! backends run the same statements through sqlx's `Any` driver: the schema stores times as epoch
//! milliseconds and uses `$n` placeholders, which SQLite and PostgreSQL both accept. What does
//! differ (connection set-up, how a write transaction starts, row locking) lives in the
//! [`sqlite`] and [`postgres`] adapters, behind [`Backend`].

pub mod baseline;
mod orders;
mod postgres;
mod queries;
mod sqlite;
mod tx;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, FromRow, Row};

use crate::domain::audit::{AuditEvent, ChainProblem, ChainReport, ChainVerifier};
use crate::domain::sla::SlaClock;
use crate::domain::{CaseState, NewAuditEvent, Origin, Priority};

pub use orders::OrderWrite;
pub use postgres::JOB_STUCK_SWEEP;
pub use tx::{Callback, CaseRouting, NewCase, NewMessage, OutboxEntry, RoutingUpdate, Tx};

/// Which database a [`Store`] talks to, picked from the URL scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Picks the backend from a database URL, or says why it cannot.
    pub fn from_url(url: &str) -> Result<Backend, StoreError> {
        let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
        match scheme {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            _ => Err(StoreError::UnsupportedScheme {
                scheme: scheme.to_owned(),
            }),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL scheme {scheme:?}: expected sqlite:// or postgres://")]
    UnsupportedScheme { scheme: String },
    #[error("cannot open the database at {url}: {source}")]
    Connect {
        /// The URL with any password masked.
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot apply database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the database holds a value casebot does not know: {0}")]
    Corrupt(String),
}

/// How to open a store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub max_connections: u32,
    pub connect_timeout: Duration,
    /// SQLite's `synchronous` pragma: `full` or `normal` (see the README on durability).
    pub sqlite_synchronous: String,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 8,
            connect_timeout: Duration::from_secs(5),
            sqlite_synchronous: "normal".into(),
        }
    }
}

/// A connection pool to one casebot database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite allows one writer at a time. Writers of this process queue here, in order, instead
    /// of in SQLite's busy handler, which polls with sleeps of up to 100 ms and starves some.
    writer: Option<Arc<tokio::sync::Mutex<()>>>,
}

impl Store {
    /// Opens the database at `url`. Nothing is created or migrated until [`Store::migrate`].
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let pool_options = AnyPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.connect_timeout);
        let connect_error = |source| StoreError::Connect {
            url: crate::config::mask_url_password(url),
            source,
        };
        let pool = match backend {
            Backend::Sqlite => sqlite::open(url, pool_options, options).await,
            Backend::Postgres => postgres::open(url, pool_options).await,
        }
        .map_err(connect_error)?;
        let writer = (backend == Backend::Sqlite).then(|| Arc::new(tokio::sync::Mutex::new(())));
        Ok(Store {
            pool,
            backend,
            writer,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool itself, for the benchmark's bare-SQL baseline and for tests that tamper with rows.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Applies the embedded migrations of this backend.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self.backend {
            Backend::Sqlite => {
                sqlx::migrate!("./migrations/sqlite")
                    .run(&self.pool)
                    .await?
            }
            Backend::Postgres => {
                sqlx::migrate!("./migrations/postgres")
                    .run(&self.pool)
                    .await?
            }
        }
        Ok(())
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once, so two writers
    /// never deadlock upgrading a read lock, after waiting its turn among this process's writers.
    /// Never call it while holding another [`Tx`] of the same store.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        let turn = match &self.writer {
            Some(writer) => Some(writer.clone().lock_owned().await),
            None => None,
        };
        let begin = match self.backend {
            Backend::Sqlite => sqlite::BEGIN_WRITE,
            Backend::Postgres => postgres::BEGIN_WRITE,
        };
        let inner = self.pool.begin_with(begin).await?;
        Ok(Tx::new(inner, self.backend, turn))
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub async fn case(&self, case_id: i64) -> Result<Option<CaseRecord>, StoreError> {
        let row = sqlx::query(queries::SELECT_CASE)
            .bind(case_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| CaseRecord::from_row(&r)).transpose()
    }

    /// What routing needs to know about a case, read outside any write transaction: routing
    /// only reads it, and on SQLite a write transaction would take the single write lock.
    pub async fn case_routing(&self, case_id: i64) -> Result<Option<CaseRouting>, StoreError> {
        let row = sqlx::query(queries::SELECT_CASE_ROUTING)
            .bind(case_id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(CaseRouting {
            state: parse_column(&row, "state")?,
            human_requests: u32::try_from(row.try_get::<i64, _>(1)?).unwrap_or(0),
            order_number: row.try_get(2)?,
            customer_ref: row.try_get(3)?,
            priority: parse_column(&row, "priority")?,
            flow: row.try_get(5)?,
            customer_id: row.try_get(6)?,
            customer_user: row.try_get(7)?,
        }))
    }

    /// How many times the case's customer has written about `order_number`, on any case.
    pub async fn contacts_about_order(
        &self,
        case_id: i64,
        order_number: &str,
    ) -> Result<u32, StoreError> {
        let count: i64 = sqlx::query_scalar(queries::COUNT_CONTACTS_ABOUT_ORDER)
            .bind(case_id)
            .bind(order_number)
            .fetch_one(&self.pool)
            .await?;
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }

    /// Waiting cases in the order staff take them (priority, then age), then the claimed ones.
    pub async fn queue(&self, limit: i64) -> Result<Vec<QueueEntry>, StoreError> {
        let rows = sqlx::query(queries::SELECT_QUEUE)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let reasons: Option<String> = row.try_get("escalation_reason")?;
                Ok(QueueEntry {
                    case_id: row.try_get("id")?,
                    priority: parse_column(row, "priority")?,
                    state: parse_column(row, "state")?,
                    waiting_since: row
                        .try_get::<Option<i64>, _>("escalated_at")?
                        .map(from_millis),
                    claimed_by: row.try_get("assignee")?,
                    reasons: reasons
                        .map(|r| r.split("; ").map(str::to_owned).collect())
                        .unwrap_or_default(),
                })
            })
            .collect()
    }

    /// SLA clocks of queue cases that may still breach, a page at a time after case `after`.
    pub async fn sla_clocks(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(i64, SlaClock)>, StoreError> {
        let rows = sqlx::query(queries::SELECT_SLA_CLOCKS)
            .bind(limit)
            .bind(after)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let at = |column: &str| -> Result<Option<DateTime<Utc>>, StoreError> {
                    Ok(row.try_get::<Option<i64>, _>(column)?.map(from_millis))
                };
                let clock = SlaClock {
                    state: parse_column(row, "state")?,
                    priority: parse_column(row, "priority")?,
                    escalated_at: at("escalated_at")?.unwrap_or_default(),
                    first_response_at: at("first_response_at")?,
                    first_response_breached: at("first_response_breached_at")?.is_some(),
                    resolution_breached: at("resolution_breached_at")?.is_some(),
                };
                Ok((row.try_get("id")?, clock))
            })
            .collect()
    }

    /// Open cases for the stuck-case sweeper, a page at a time after case `after`.
    pub async fn open_cases(&self, after: i64, limit: i64) -> Result<Vec<OpenCase>, StoreError> {
        let rows = sqlx::query(queries::SELECT_OPEN_FOR_SWEEP)
            .bind(limit)
            .bind(after)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(OpenCase {
                    case_id: row.try_get("id")?,
                    intent: row.try_get("intent")?,
                    order_number: row.try_get("order_number")?,
                    waiting_until: row
                        .try_get::<Option<i64>, _>("waiting_until")?
                        .map(from_millis),
                    updated_at: from_millis(row.try_get("updated_at")?),
                    customer_messages: row.try_get("customer_messages")?,
                    last_mention_at: row
                        .try_get::<Option<i64>, _>("last_mention_at")?
                        .map(from_millis),
                    last_answer_at: row
                        .try_get::<Option<i64>, _>("last_answer_at")?
                        .map(from_millis),
                })
            })
            .collect()
    }

    /// Runs `work` only if no other process is running the same exclusive job right now
    /// (PostgreSQL advisory lock; SQLite has one process). Returns `None` when it was busy.
    pub async fn exclusively<T, F, Fut>(&self, job: i32, work: F) -> Result<Option<T>, StoreError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T, StoreError>>,
    {
        if self.backend == Backend::Sqlite {
            return work().await.map(Some);
        }
        let mut lock = self.pool.acquire().await?;
        let got: bool = sqlx::query_scalar(postgres::TRY_LOCK_JOB)
            .bind(job)
            .fetch_one(&mut *lock)
            .await?;
        if !got {
            return Ok(None);
        }
        let result = work().await;
        let unlocked = sqlx::query(postgres::UNLOCK_JOB)
            .bind(job)
            .execute(&mut *lock)
            .await;
        if let Err(e) = unlocked {
            // Closing the session releases its advisory locks; a pooled connection would keep it.
            let _ = lock.close().await;
            return Err(e.into());
        }
        result.map(Some)
    }

    /// Leases up to `limit` due outbox entries to this dispatcher until `lease_until`.
    pub async fn lease_due_outbox(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut tx = self.begin().await?;
        let entries = tx.lease_due_outbox(now, lease_until, limit).await?;
        tx.commit().await?;
        Ok(entries)
    }

    /// Records a delivery; false when the entry was no longer pending.
    pub async fn mark_outbox_sent(
        &self,
        id: i64,
        platform_message_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(queries::MARK_OUTBOX_SENT)
            .bind(id)
            .bind(at.timestamp_millis())
            .bind(platform_message_id)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Puts an entry back for another attempt at `at`, noting why this one failed.
    pub async fn reschedule_outbox(
        &self,
        id: i64,
        at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(queries::RESCHEDULE_OUTBOX)
            .bind(id)
            .bind(at.timestamp_millis())
            .bind(error)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Gives up on an entry for good, with the reason, and audits it in the same transaction.
    pub async fn fail_outbox(
        &self,
        entry: &OutboxEntry,
        error: &str,
        event: NewAuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let result = sqlx::query(queries::MARK_OUTBOX_FAILED)
            .bind(entry.id)
            .bind(error)
            .execute(&mut *tx.inner)
            .await?;
        if result.rows_affected() == 1 {
            tx.append_audit(&[event]).await?;
        }
        tx.commit().await
    }

    /// Entries still waiting for delivery.
    pub async fn outbox_backlog(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(queries::COUNT_OUTBOX_PENDING)
            .fetch_one(&self.pool)
            .await?)
    }

    /// Everything queued for a case, oldest first, with each entry's state.
    pub async fn case_outbox(
        &self,
        case_id: i64,
    ) -> Result<Vec<(OutboxEntry, String)>, StoreError> {
        let rows = sqlx::query(queries::SELECT_CASE_OUTBOX)
            .bind(case_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| Ok((OutboxEntry::from_row(row)?, row.try_get("state")?)))
            .collect()
    }

    /// The case's internal notes: `(author, text, when)`, oldest first.
    pub async fn case_notes(
        &self,
        case_id: i64,
    ) -> Result<Vec<(String, String, DateTime<Utc>)>, StoreError> {
        let rows = sqlx::query(queries::SELECT_CASE_NOTES)
            .bind(case_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("author")?,
                    r.try_get("body")?,
                    from_millis(r.try_get("created_at")?),
                ))
            })
            .collect()
    }

    /// Callbacks past their deadline and not yet reported: `(callback id, case id)`.
    pub async fn overdue_callbacks(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<(i64, i64)>, StoreError> {
        let rows = sqlx::query(queries::SELECT_OVERDUE_CALLBACKS)
            .bind(now.timestamp_millis())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("case_id")?)))
            .collect()
    }

    /// Records where the case's card and staff thread are on the platform.
    pub async fn set_case_card(
        &self,
        case_id: i64,
        card_message_id: Option<&str>,
        thread_id: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        tx.set_case_card(case_id, card_message_id, thread_id)
            .await?;
        tx.commit().await
    }

    /// The case whose staff thread this is.
    pub async fn case_by_thread(&self, thread_id: &str) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(queries::SELECT_CASE_BY_THREAD)
            .bind(thread_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// The case whose card this is.
    pub async fn case_by_card(&self, card_message_id: &str) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(queries::SELECT_CASE_BY_CARD)
            .bind(card_message_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Records that the customer's DMs are closed (or open again), audited when it changes.
    pub async fn set_dm_closed(
        &self,
        case_id: i64,
        closed: bool,
        event: NewAuditEvent,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let changed = sqlx::query(queries::SET_DM_CLOSED)
            .bind(case_id)
            .bind(i64::from(closed))
            .execute(&mut *tx.inner)
            .await?
            .rows_affected()
            == 1;
        if changed {
            tx.append_audit(&[event]).await?;
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// For each active case on `platform`: `(case id, customer user id, DM channel id, id of the
    /// customer's latest stored DM)`.
    pub async fn last_dms_of_active_cases(
        &self,
        platform: &str,
    ) -> Result<Vec<(i64, String, String, String)>, StoreError> {
        let rows = sqlx::query(queries::SELECT_LAST_DMS_OF_ACTIVE_CASES)
            .bind(platform)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
            .collect()
    }

    /// The figures `/metrics` reports from the database.
    pub async fn metrics(&self) -> Result<StoredMetrics, StoreError> {
        let row = sqlx::query(queries::SELECT_METRICS)
            .fetch_one(&self.pool)
            .await?;
        Ok(StoredMetrics {
            customer_messages: row.try_get(0)?,
            waiting_by_priority: [
                ("urgent", row.try_get(1)?),
                ("high", row.try_get(2)?),
                ("normal", row.try_get(3)?),
                ("low", row.try_get(4)?),
            ],
            sla_breaches: row.try_get(5)?,
            outbox_backlog: row.try_get(6)?,
        })
    }

    /// The latest case of a platform user, if they have one.
    pub async fn case_of_user(
        &self,
        platform: &str,
        user_id: &str,
    ) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(queries::SELECT_LATEST_CASE_OF_USER)
            .bind(platform)
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// A customer as stored, for a data export.
    pub async fn customer(&self, id: i64) -> Result<Option<serde_json::Value>, StoreError> {
        let row = sqlx::query(queries::SELECT_CUSTOMER)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(serde_json::json!({
                "id": r.try_get::<i64, _>("id")?,
                "platform": r.try_get::<String, _>("platform")?,
                "platform_user_id": r.try_get::<String, _>("platform_user_id")?,
                "display_name": r.try_get::<String, _>("display_name")?,
                "order_system_id": r.try_get::<Option<String>, _>("external_customer_id")?,
                "blocked": r.try_get::<i64, _>("blocked")? != 0,
                "created_at": from_millis(r.try_get("created_at")?).to_rfc3339(),
            }))
        })
        .transpose()
    }

    /// The ids of a customer's cases, oldest first.
    pub async fn customer_cases(&self, customer_id: i64) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar(queries::SELECT_CUSTOMER_CASES)
            .bind(customer_id)
            .fetch_all(&self.pool)
            .await?)
    }

    /// A case's callback requests: `(phone, requested, due, done)`.
    pub async fn case_callbacks(&self, case_id: i64) -> Result<Vec<serde_json::Value>, StoreError> {
        let rows = sqlx::query(queries::SELECT_CASE_CALLBACKS)
            .bind(case_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let at = |c: &str| -> Result<Option<String>, StoreError> {
                    Ok(r.try_get::<Option<i64>, _>(c)?
                        .map(|ms| from_millis(ms).to_rfc3339()))
                };
                Ok(serde_json::json!({
                    "phone": r.try_get::<String, _>("phone")?,
                    "requested_at": at("requested_at")?,
                    "due_at": at("due_at")?,
                    "done_at": at("done_at")?,
                }))
            })
            .collect()
    }

    /// Removes a customer's personal data and message text, leaving tombstones, and audits it
    /// in the same transaction. Returns how many messages were erased.
    pub async fn erase_customer(
        &self,
        customer_id: i64,
        at: DateTime<Utc>,
        event: impl FnOnce(u64) -> NewAuditEvent,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query(queries::ERASE_CUSTOMER)
            .bind(customer_id)
            .execute(&mut *tx.inner)
            .await?;
        let messages = sqlx::query(queries::ERASE_MESSAGES)
            .bind(customer_id)
            .execute(&mut *tx.inner)
            .await?
            .rows_affected();
        for statement in [
            queries::ERASE_CASES,
            queries::ERASE_NOTES,
            queries::ERASE_OUTBOX,
        ] {
            sqlx::query(statement)
                .bind(customer_id)
                .execute(&mut *tx.inner)
                .await?;
        }
        sqlx::query(queries::ERASE_CALLBACKS)
            .bind(customer_id)
            .bind(at.timestamp_millis())
            .execute(&mut *tx.inner)
            .await?;
        tx.append_audit(&[event(messages)]).await?;
        tx.commit().await?;
        Ok(messages)
    }

    /// For a stored message routing never finished with: whether its author is blocked.
    /// `None` when the message was routed (or is not stored).
    pub async fn unrouted_message(
        &self,
        platform: &str,
        message_id: &str,
    ) -> Result<Option<bool>, StoreError> {
        let blocked: Option<i64> = sqlx::query_scalar(queries::SELECT_UNROUTED_MESSAGE)
            .bind(platform)
            .bind(message_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(blocked.map(|b| b != 0))
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query(queries::PING).execute(&self.pool).await.is_ok()
    }

    /// Links a platform user to the order system's customer id.
    pub async fn link_customer(
        &self,
        platform: &str,
        user_id: &str,
        external_ref: &str,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(queries::LINK_CUSTOMER)
            .bind(platform)
            .bind(user_id)
            .bind(external_ref)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() == 1)
    }

    pub async fn messages(&self, case_id: i64) -> Result<Vec<MessageRecord>, StoreError> {
        let rows = sqlx::query(queries::SELECT_CASE_MESSAGES)
            .bind(case_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(MessageRecord::from_row)
            .collect::<Result<_, _>>()?)
    }

    /// Counts rows the tests and the demo check against: (customers, cases, messages, audit events).
    pub async fn counts(&self) -> Result<(i64, i64, i64, i64), StoreError> {
        let row = sqlx::query(queries::COUNT_ALL)
            .fetch_one(&self.pool)
            .await?;
        Ok((
            row.try_get(0)?,
            row.try_get(1)?,
            row.try_get(2)?,
            row.try_get(3)?,
        ))
    }

    /// Audit events in chain order, optionally for one case, a page at a time after `after_seq`.
    pub async fn audit_page(
        &self,
        case_id: Option<i64>,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let query = match case_id {
            Some(case_id) => sqlx::query(queries::SELECT_AUDIT_PAGE_FOR_CASE).bind(case_id),
            None => sqlx::query(queries::SELECT_AUDIT_PAGE),
        };
        let rows = query
            .bind(after_seq)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(audit_event_from_row).collect()
    }

    /// Walks the whole audit chain in pages and checks every link and hash.
    pub async fn verify_audit_chain(&self) -> Result<ChainReport, StoreError> {
        const PAGE: i64 = 5_000;
        // Read the head first: events appended during the walk then lie beyond it and are not
        // mistaken for tampering. They are checked by the next run.
        let head = sqlx::query(queries::SELECT_AUDIT_HEAD)
            .fetch_one(&self.pool)
            .await?;
        let (head_seq, head_hash): (i64, String) = (head.try_get(0)?, head.try_get(1)?);
        let mut verifier = ChainVerifier::default();
        let mut after = 0;
        loop {
            let page = self.audit_page(None, after, PAGE).await?;
            for event in page.iter().take_while(|e| e.seq <= head_seq) {
                verifier.check(event);
            }
            match page.last() {
                Some(last) if last.seq < head_seq && page.len() as i64 == PAGE => after = last.seq,
                _ => break,
            }
        }
        let mut report = verifier.finish(head_seq, &head_hash);
        // Rows past the head as it stands now were not written by an append.
        let beyond: Option<i64> = sqlx::query_scalar(queries::SELECT_FIRST_BEYOND_HEAD)
            .fetch_one(&self.pool)
            .await?;
        if let Some(seq) = beyond {
            report.problems.push(ChainProblem::BeyondHead { seq });
        }
        Ok(report)
    }
}

/// Database figures for `/metrics`.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMetrics {
    pub customer_messages: i64,
    pub waiting_by_priority: [(&'static str, i64); 4],
    pub sla_breaches: i64,
    pub outbox_backlog: i64,
}

/// One case in the staff queue.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct QueueEntry {
    pub case_id: i64,
    pub priority: Priority,
    pub state: CaseState,
    pub waiting_since: Option<DateTime<Utc>>,
    pub claimed_by: Option<String>,
    pub reasons: Vec<String>,
}

/// A case the bot is handling, as the stuck-case sweeper sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenCase {
    pub case_id: i64,
    pub intent: Option<String>,
    pub order_number: Option<String>,
    pub waiting_until: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub customer_messages: i64,
    /// When the customer last mentioned the bot in public on this case.
    pub last_mention_at: Option<DateTime<Utc>>,
    /// When an answer to the customer (public or DM) was last delivered.
    pub last_answer_at: Option<DateTime<Utc>>,
}

/// A case as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseRecord {
    pub id: i64,
    pub customer_id: i64,
    pub customer_name: String,
    pub state: CaseState,
    pub intent: Option<String>,
    pub priority: Priority,
    pub origin: Origin,
    pub order_number: Option<String>,
    pub assignee: Option<String>,
    pub escalation_reason: Option<String>,
    pub resolution_summary: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub escalated_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// The customer's platform user id.
    pub customer_user: String,
    /// The case's card in the staff queue channel and its staff thread, once posted.
    pub card_message_id: Option<String>,
    pub thread_id: Option<String>,
    /// The customer's DMs were closed at the last attempt to write to them.
    pub dm_closed: bool,
    pub rating: Option<i64>,
    pub order_value_cents: Option<i64>,
    /// The latest message's sentiment (-1 to 1) and whether it read as frustrated.
    pub sentiment: Option<f64>,
    pub frustrated: bool,
}

impl CaseRecord {
    fn from_row(row: &AnyRow) -> Result<CaseRecord, StoreError> {
        Ok(CaseRecord {
            id: row.try_get("id")?,
            customer_id: row.try_get("customer_id")?,
            customer_name: row.try_get("display_name")?,
            state: parse_column(row, "state")?,
            intent: row.try_get("intent")?,
            priority: parse_column(row, "priority")?,
            origin: parse_column(row, "origin")?,
            order_number: row.try_get("order_number")?,
            assignee: row.try_get("assignee")?,
            escalation_reason: row.try_get("escalation_reason")?,
            resolution_summary: row.try_get("resolution_summary")?,
            created_at: from_millis(row.try_get("created_at")?),
            updated_at: from_millis(row.try_get("updated_at")?),
            escalated_at: row
                .try_get::<Option<i64>, _>("escalated_at")?
                .map(from_millis),
            resolved_at: row
                .try_get::<Option<i64>, _>("resolved_at")?
                .map(from_millis),
            customer_user: row.try_get("platform_user_id")?,
            card_message_id: row.try_get("card_message_id")?,
            thread_id: row.try_get("thread_id")?,
            dm_closed: row.try_get::<i64, _>("dm_closed")? != 0,
            rating: row.try_get("rating")?,
            order_value_cents: row.try_get("order_value_cents")?,
            sentiment: row.try_get("sentiment")?,
            frustrated: row.try_get::<i64, _>("frustrated")? != 0,
        })
    }
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct MessageRecord {
    pub id: i64,
    pub platform_message_id: String,
    pub channel_kind: String,
    pub author_kind: String,
    pub body: String,
    pub sent_at: i64,
}

fn audit_event_from_row(row: &AnyRow) -> Result<AuditEvent, StoreError> {
    Ok(AuditEvent {
        seq: row.try_get("seq")?,
        at_ms: row.try_get("at")?,
        actor_kind: row.try_get("actor_kind")?,
        actor_id: row.try_get("actor_id")?,
        action: row.try_get("action")?,
        case_id: row.try_get("case_id")?,
        details: row.try_get("details")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

fn parse_column<T>(row: &AnyRow, column: &str) -> Result<T, StoreError>
where
    T: std::str::FromStr<Err = crate::domain::case::UnknownName>,
{
    let value: String = row.try_get(column)?;
    value
        .parse()
        .map_err(|e: crate::domain::case::UnknownName| StoreError::Corrupt(e.to_string()))
}

pub(crate) fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}
