//! A fresh, migrated database per test: a SQLite file in a temporary folder, or a PostgreSQL
//! schema of its own, so tests never see each other's rows. Outside CI the PostgreSQL half is
//! skipped (with a message) when its URL is not set; in CI it may not be.

use casebot::store::{Backend, Store, StoreOptions};

pub const POSTGRES_ENV: &str = "CASEBOT_TEST_POSTGRES_URL";

pub struct TestDb {
    pub url: String,
    schema: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// `None` when the backend is not available here (PostgreSQL without its URL, outside CI).
    pub async fn new(backend: Backend) -> Option<TestDb> {
        let db = TestDb::empty(backend).await?;
        db.store().await.migrate().await.unwrap();
        Some(db)
    }

    /// A database with no schema at all yet.
    pub async fn empty(backend: Backend) -> Option<TestDb> {
        Some(match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("casebot.db").display());
                TestDb {
                    url,
                    schema: None,
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let base = postgres_url()?;
                let schema = format!("casebot_test_{}", uuid::Uuid::new_v4().simple());
                admin(&base, &format!("CREATE SCHEMA {schema}")).await;
                let sep = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
                TestDb {
                    url,
                    schema: Some((base, schema)),
                    _dir: None,
                }
            }
        })
    }

    /// A new pool on this database. Two of them behave like two casebot processes.
    pub async fn store(&self) -> Store {
        Store::connect(&self.url, &StoreOptions::default())
            .await
            .unwrap()
    }

    /// Drops the PostgreSQL schema; the SQLite folder goes away with the value.
    pub async fn cleanup(self) {
        if let Some((base, schema)) = &self.schema {
            admin(base, &format!("DROP SCHEMA {schema} CASCADE")).await;
        }
    }
}

async fn admin(url: &str, statement: &str) {
    use sqlx::Executor;
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    pool.execute(statement).await.unwrap();
    pool.close().await;
}

fn postgres_url() -> Option<String> {
    match std::env::var(POSTGRES_ENV) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!(
                "{POSTGRES_ENV} must be set in CI: the PostgreSQL suite may not be skipped there"
            )
        }
        _ => {
            eprintln!("skipping the PostgreSQL run: set {POSTGRES_ENV} to include it");
            None
        }
    }
}
