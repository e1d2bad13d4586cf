//! The storage port: the only place in casebot that speaks SQL.
//!
//! Services see [`Store`]: reads by aggregate (one file each: [`cases`], [`messages`],
//! [`customers`], [`outbox`], [`audit`], [`staff`], [`callbacks`], [`orders`], [`corrections`]) and
//! one way to change state, [`Store::apply`], which takes a [`Change`] (a unit of work with its
//! audit events and outbox rows). The writer commits the changes of concurrent callers together
//! in one transaction (group commit, see [`writer`]) and reports each one's own outcome.
//!
//! Two adapters sit under it, chosen by the URL scheme: [`sqlite`] (the embedded default, on
//! sqlx's SQLite driver) and [`postgres`] (production and several processes, on sqlx's PostgreSQL
//! driver), each with its own migrations, types and batch statements. A read whose SQL is the same
//! on both is written once and run on whichever pool is open (see [`on_db`]).

mod audit;
pub mod baseline;
mod batch;
mod budget;
mod callbacks;
mod cases;
mod columns;
mod corrections;
mod customers;
mod messages;
mod orders;
mod outbox;
mod postgres;
mod rows;
pub mod scratch;
mod sqlite;
mod staff;
mod upgrade;
mod writer;

use std::sync::Arc;
use std::time::Duration;

use crate::domain::{Applied, Change};
use crate::secrets::mask_url_password;

pub use crate::domain::change::OutboxUpdate;
pub use rows::Time;

/// Which database a store talks to, picked from the URL scheme.
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
    #[error("cannot carry the database over from the previous release: {0}")]
    Upgrade(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the database holds a value casebot does not know: {0}")]
    Corrupt(String),
    /// The store's writer has stopped (the store was closed).
    #[error("the database writer has stopped")]
    Closed,
}

impl StoreError {
    /// Whether trying again later may work: the database was unreachable, busy or restarting.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Database(e) => {
                matches!(
                    e,
                    sqlx::Error::Io(_)
                        | sqlx::Error::PoolTimedOut
                        | sqlx::Error::PoolClosed
                        | sqlx::Error::WorkerCrashed
                ) || e.as_database_error().is_some_and(|d| {
                    // Serialization failures, deadlocks, SQLite busy: the transaction may be retried.
                    matches!(
                        d.code().as_deref(),
                        Some("40001" | "40P01" | "57P01" | "5" | "6")
                    )
                })
            }
            StoreError::Connect { .. } | StoreError::Closed => true,
            _ => false,
        }
    }
}

impl From<crate::domain::case::UnknownName> for StoreError {
    fn from(e: crate::domain::case::UnknownName) -> StoreError {
        StoreError::Corrupt(e.to_string())
    }
}

/// How to open a store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub max_connections: u32,
    pub connect_timeout: Duration,
    /// SQLite's `synchronous` pragma: `full` or `normal` (see the README on durability).
    pub sqlite_synchronous: String,
    /// The most changes the writer commits in one transaction.
    pub max_batch: usize,
    /// PostgreSQL: how many writers commit side by side, each on a connection of the pool.
    pub write_lanes: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 8,
            connect_timeout: Duration::from_secs(5),
            sqlite_synchronous: "normal".into(),
            max_batch: 64,
            write_lanes: 1,
        }
    }
}

/// The open database: its pool, and on SQLite the one write connection.
#[derive(Clone)]
pub(crate) enum Db {
    Sqlite(Arc<sqlite::SqliteDb>),
    Postgres(Arc<postgres::PgDb>),
}

/// Runs the same expression on whichever pool is open: for statements whose text is the same on
/// both backends. Each arm is type-checked with its own driver.
macro_rules! on_db {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.db {
            $crate::store::Db::Sqlite(db) => {
                let $pool = &db.pool;
                $body
            }
            $crate::store::Db::Postgres(db) => {
                let $pool = &db.pool;
                $body
            }
        }
    };
}
pub(crate) use on_db;

/// Runs `body` inside a write transaction `tx` on whichever backend is open (on SQLite, on the
/// write connection, after the writer's current batch). `body` commits; dropping `tx` rolls back.
macro_rules! in_transaction {
    ($store:expr, $tx:ident => $body:expr) => {
        match &$store.db {
            $crate::store::Db::Sqlite(db) => {
                let mut conn = db.write.lock().await;
                let mut $tx = sqlx::Connection::begin(&mut *conn).await?;
                $body
            }
            $crate::store::Db::Postgres(db) => {
                let mut $tx = db.pool.begin().await?;
                $body
            }
        }
    };
}
pub(crate) use in_transaction;

/// A connection pool to one casebot database, with its writer. Cloning shares both.
#[derive(Clone)]
pub struct Store {
    db: Db,
    writer: writer::Writer,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.backend().as_str())
    }
}

impl Store {
    /// Opens the database at `url` and brings its schema up to date.
    pub async fn open(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
        let store = Store::connect(url, options).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Opens the database at `url` (creating a SQLite file if needed) without migrating it.
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
        let connect_error = |source| StoreError::Connect {
            url: mask_url_password(url),
            source,
        };
        let (db, target): (Db, Arc<dyn writer::ApplyBatch>) = match Backend::from_url(url)? {
            Backend::Sqlite => {
                let db = Arc::new(
                    sqlite::SqliteDb::connect(url, options)
                        .await
                        .map_err(connect_error)?,
                );
                (Db::Sqlite(db.clone()), db)
            }
            Backend::Postgres => {
                let db = Arc::new(
                    postgres::PgDb::connect(url, options)
                        .await
                        .map_err(connect_error)?,
                );
                (Db::Postgres(db.clone()), db)
            }
        };
        let lanes = match db {
            Db::Sqlite(_) => 1,
            Db::Postgres(_) => options
                .write_lanes
                .clamp(1, options.max_connections as usize),
        };
        let writer = writer::Writer::start(target, options.max_batch, lanes);
        Ok(Store { db, writer })
    }

    pub fn backend(&self) -> Backend {
        match self.db {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Creates the schema or brings it up to date, carrying over a database written by an
    /// earlier release (its audit log verified under the old rules and re-sealed onto
    /// per-case chains).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.db {
            Db::Sqlite(db) => db.migrate().await,
            Db::Postgres(db) => db.migrate().await,
        }
    }

    /// Writes `change` in one transaction (possibly shared with other callers' changes) or not
    /// at all. A conflict or a duplicate writes nothing and is reported, not an error.
    pub async fn apply(&self, change: Change) -> Result<Applied, StoreError> {
        self.writer.apply(change).await
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        on_db!(self, pool => sqlx::query("SELECT 1").execute(pool).await.is_ok())
    }

    /// Closes the pool; the writer stops once the last handle is dropped.
    pub async fn close(&self) {
        on_db!(self, pool => pool.close().await)
    }

    /// Runs a periodic job only in one process at a time: `Some` guard while this process has
    /// it (PostgreSQL advisory lock; SQLite has one process), `None` when another has.
    pub async fn try_exclusive(&self, job: &str) -> Result<Option<ExclusiveJob>, StoreError> {
        match &self.db {
            Db::Sqlite(_) => Ok(Some(ExclusiveJob::new(|| {}))),
            Db::Postgres(db) => db.try_exclusive(job).await,
        }
    }

    /// The SQLite pool, for tests that tamper with rows as an attacker would and for the
    /// benchmark's hand-written baseline.
    pub fn sqlite_pool(&self) -> Option<&sqlx::SqlitePool> {
        match &self.db {
            Db::Sqlite(db) => Some(&db.pool),
            Db::Postgres(_) => None,
        }
    }

    /// The PostgreSQL pool, likewise.
    pub fn postgres_pool(&self) -> Option<&sqlx::PgPool> {
        match &self.db {
            Db::Postgres(db) => Some(&db.pool),
            Db::Sqlite(_) => None,
        }
    }
}

/// A page of keyset pagination: rows after `after`, at most `limit` of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub after: i64,
    pub limit: i64,
}

impl Page {
    pub fn first(limit: i64) -> Page {
        Page { after: 0, limit }
    }
}

/// A periodic job this process holds exclusively until the guard is dropped or released.
pub struct ExclusiveJob {
    release: Option<Box<dyn FnOnce() + Send>>,
    /// Resolves once the job is free again for every process (the advisory lock is gone).
    released: Option<tokio::sync::oneshot::Receiver<()>>,
}

impl ExclusiveJob {
    pub(crate) fn new(release: impl FnOnce() + Send + 'static) -> ExclusiveJob {
        ExclusiveJob {
            release: Some(Box::new(release)),
            released: None,
        }
    }

    /// A job whose release finishes when `released` resolves.
    pub(crate) fn with_release_done(
        release: impl FnOnce() + Send + 'static,
        released: tokio::sync::oneshot::Receiver<()>,
    ) -> ExclusiveJob {
        ExclusiveJob {
            release: Some(Box::new(release)),
            released: Some(released),
        }
    }

    /// Gives the job up and waits until it is free, so that the next run (in this process or
    /// another) finds it free. Dropping the guard gives it up too, but without waiting: a run
    /// straight after could still find it held and wrongly skip its turn.
    pub async fn release(mut self) {
        if let Some(release) = self.release.take() {
            release();
        }
        if let Some(released) = self.released.take() {
            let _ = released.await;
        }
    }
}

impl Drop for ExclusiveJob {
    fn drop(&mut self) {
        if let Some(release) = self.release.take() {
            release();
        }
    }
}
