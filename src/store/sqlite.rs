//! The SQLite adapter: the embedded default. Opens (and creates) the database file in WAL mode and
//! takes the write lock at the start of every write transaction.

use std::path::Path;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyConnection, AnyPool, Connection, Executor};

use super::StoreOptions;

/// `IMMEDIATE` takes the write lock up front. A deferred transaction that reads first and writes
/// later can fail with SQLITE_BUSY when another writer got in between; waiting at `BEGIN` instead
/// lets `busy_timeout` queue the writers.
pub const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

/// The transaction already holds SQLite's single write lock, so a plain read is enough.
pub const LOCK_AUDIT_HEAD: &str = "SELECT seq, hash FROM audit_head WHERE id = 1";

/// SQLite has one writer at a time, so the write transaction already excludes other claimers
/// and dispatchers.
pub const SKIP_LOCKED: &str = "";

/// How long a writer waits for the lock before giving up, in milliseconds.
const BUSY_TIMEOUT_MS: u32 = 10_000;

pub(super) async fn open(
    url: &str,
    pool: AnyPoolOptions,
    options: &StoreOptions,
) -> Result<AnyPool, sqlx::Error> {
    let url = with_create_mode(url);
    if let Some(parent) = database_file(&url).and_then(|file| Path::new(file).parent()) {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent)?;
        }
    }
    // WAL is a property of the file, so one connection switches it before the pool opens more.
    let mut first = AnyConnection::connect(&url).await?;
    if database_file(&url).is_some() {
        first.execute("PRAGMA journal_mode = WAL").await?;
    }
    first.close().await?;

    let synchronous = match options.sqlite_synchronous.as_str() {
        "full" => "FULL",
        _ => "NORMAL",
    };
    let pragmas = format!(
        "PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}; PRAGMA synchronous = {synchronous}; \
         PRAGMA foreign_keys = ON;"
    );
    pool.after_connect(move |conn, _meta| {
        let pragmas = pragmas.clone();
        Box::pin(async move {
            conn.execute(pragmas.as_str()).await?;
            Ok(())
        })
    })
    .connect(&url)
    .await
}

/// Asks SQLite to create the file when missing, unless the URL already chose a mode.
fn with_create_mode(url: &str) -> String {
    if url.contains("mode=") || url.contains(":memory:") {
        return url.to_owned();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}mode=rwc")
}

/// The file path in a `sqlite:` URL, or `None` for an in-memory database.
fn database_file(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relative_url_names_a_relative_file() {
        assert_eq!(
            database_file("sqlite://data/casebot.db"),
            Some("data/casebot.db")
        );
        assert_eq!(
            database_file("sqlite:data/casebot.db?mode=rwc"),
            Some("data/casebot.db")
        );
    }

    #[test]
    fn an_absolute_url_names_an_absolute_file() {
        assert_eq!(
            database_file("sqlite:///var/lib/casebot/x.db"),
            Some("/var/lib/casebot/x.db")
        );
    }

    #[test]
    fn memory_databases_have_no_file() {
        assert_eq!(database_file("sqlite::memory:"), None);
    }

    #[test]
    fn missing_files_are_created_unless_a_mode_is_given() {
        assert_eq!(with_create_mode("sqlite://a.db"), "sqlite://a.db?mode=rwc");
        assert_eq!(
            with_create_mode("sqlite://a.db?mode=ro"),
            "sqlite://a.db?mode=ro"
        );
    }
}
