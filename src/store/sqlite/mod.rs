//! The SQLite adapter: the embedded default, on sqlx's SQLite driver. The database file is opened
//! in WAL mode; reads go through a pool, and every write goes through one write connection, which
//! the group-commit writer and the few other writers take in turn (SQLite has one writer at a time,
//! and queueing here is fairer than polling its busy handler). Times are epoch milliseconds and
//! booleans 0/1, as suits SQLite. A batch goes out as scripts of statements over bound `VALUES`
//! ([`script`], [`statements`]).

mod script;
mod statements;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::ConnectOptions;
use tokio::sync::Mutex;

use crate::domain::{Applied, Change};
use crate::store::batch::{self, TimeFormat};
use crate::store::writer::ApplyBatch;
use crate::store::{StoreError, StoreOptions};
use script::SqliteBatch;

/// How long a writer waits for SQLite's lock when another process holds it (a backup, say).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The pool for reads and the one connection for writes.
pub(crate) struct SqliteDb {
    pub(crate) pool: SqlitePool,
    pub(crate) write: Mutex<SqliteConnection>,
}

impl SqliteDb {
    pub(crate) async fn connect(
        url: &str,
        options: &StoreOptions,
    ) -> Result<SqliteDb, sqlx::Error> {
        let synchronous = match options.sqlite_synchronous.as_str() {
            "full" => SqliteSynchronous::Full,
            _ => SqliteSynchronous::Normal,
        };
        let connect = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(synchronous)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let file = connect.get_filename();
        if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        // The write connection first: it creates the file and switches it to WAL before the
        // readers open it.
        // Its cache holds the batch scripts, whose text varies with the number of rows.
        let write = connect
            .clone()
            .statement_cache_capacity(512)
            .connect()
            .await?;
        let pool = SqlitePoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.connect_timeout)
            .connect_with(connect)
            .await?;
        Ok(SqliteDb {
            pool,
            write: Mutex::new(write),
        })
    }

    pub(crate) async fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.write.lock().await;
        sqlx::migrate!("./migrations/sqlite")
            .run(&mut *conn)
            .await?;
        crate::store::upgrade::carry_over(&mut SqliteBatch::on(&mut conn)).await
    }
}

#[async_trait]
impl ApplyBatch for SqliteDb {
    async fn apply_batch(&self, changes: &[&Change]) -> Result<Vec<Applied>, StoreError> {
        let mut conn = self.write.lock().await;
        let mut tx = SqliteBatch::on(&mut conn);
        batch::apply(&mut tx, changes, TimeFormat::Millis).await
    }
}
