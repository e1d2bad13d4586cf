//! Scratch databases for benchmarks: a fresh SQLite file in a temporary folder, or a schema of
//! its own on a PostgreSQL database, dropped afterwards, so a benchmark never touches real rows.

use super::{Backend, Db, Store, StoreError, StoreOptions};

/// A database a benchmark may fill and throw away.
pub struct Scratch {
    pub url: String,
    /// On PostgreSQL: the database's URL and the schema made on it.
    schema: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl Scratch {
    /// A SQLite URL is used as given; on a PostgreSQL URL a new schema is made; without one, a
    /// new SQLite file.
    pub async fn new(base: Option<&str>) -> Result<Scratch, StoreError> {
        let base = match base {
            Some(url) if Backend::from_url(url)? == Backend::Postgres => url,
            Some(url) => {
                return Ok(Scratch {
                    url: url.to_owned(),
                    schema: None,
                    _dir: None,
                })
            }
            None => {
                let dir = tempfile::tempdir()
                    .map_err(|e| StoreError::Upgrade(format!("cannot make a folder: {e}")))?;
                let url = format!("sqlite://{}", dir.path().join("bench.db").display());
                return Ok(Scratch {
                    url,
                    schema: None,
                    _dir: Some(dir),
                });
            }
        };
        let schema = format!("casebot_bench_{}", chrono::Utc::now().timestamp_micros());
        admin(base, &format!("CREATE SCHEMA {schema}")).await?;
        let sep = if base.contains('?') { '&' } else { '?' };
        Ok(Scratch {
            url: format!("{base}{sep}options=-c%20search_path%3D{schema}"),
            schema: Some((base.to_owned(), schema)),
            _dir: None,
        })
    }

    /// Drops the PostgreSQL schema; a SQLite folder goes with the value.
    pub async fn drop(self) -> Result<(), StoreError> {
        if let Some((base, schema)) = &self.schema {
            admin(base, &format!("DROP SCHEMA {schema} CASCADE")).await?;
        }
        Ok(())
    }
}

async fn admin(url: &str, sql: &str) -> Result<(), StoreError> {
    let store = Store::connect(
        url,
        &StoreOptions {
            max_connections: 1,
            ..StoreOptions::default()
        },
    )
    .await?;
    if let Db::Postgres(db) = &store.db {
        sqlx::query(sql).execute(&db.pool).await?;
    }
    store.close().await;
    Ok(())
}
