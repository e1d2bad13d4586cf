//! Test support: fresh databases per test, extra pools standing in for extra processes, a clock
//! the test moves, and message builders.

use std::sync::Mutex;

use casebot::domain::{ChannelKind, InboundMessage};
use casebot::services::Clock;
use casebot::store::{Backend, Store, StoreOptions};
use chrono::{DateTime, Duration, Utc};

pub const POSTGRES_ENV: &str = "CASEBOT_TEST_POSTGRES_URL";

/// A fresh, migrated database: a SQLite file in a temporary folder, or a PostgreSQL schema of its
/// own, so tests never see each other's rows.
pub struct TestDb {
    pub url: String,
    schema: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// `None` when the backend is not available here (PostgreSQL without its URL, outside CI).
    pub async fn new(backend: Backend) -> Option<TestDb> {
        let db = match backend {
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
                let admin = Store::connect(&base, &StoreOptions::default())
                    .await
                    .unwrap();
                sqlx::query(&format!("CREATE SCHEMA {schema}"))
                    .execute(admin.pool())
                    .await
                    .unwrap();
                admin.close().await;
                let sep = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
                TestDb {
                    url,
                    schema: Some((base, schema)),
                    _dir: None,
                }
            }
        };
        db.store().await.migrate().await.unwrap();
        Some(db)
    }

    /// A new pool on this database. Two of them behave like two casebot processes.
    pub async fn store(&self) -> Store {
        let options = StoreOptions {
            max_connections: 8,
            ..StoreOptions::default()
        };
        Store::connect(&self.url, &options).await.unwrap()
    }

    /// Drops the PostgreSQL schema; the SQLite folder goes away with the value.
    pub async fn cleanup(self) {
        if let Some((base, schema)) = &self.schema {
            let admin = Store::connect(base, &StoreOptions::default())
                .await
                .unwrap();
            sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                .execute(admin.pool())
                .await
                .unwrap();
            admin.close().await;
        }
    }
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

/// Writes each test once and runs it on both backends: `async fn name(backend: Backend)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(casebot::store::Backend::Sqlite).await
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(casebot::store::Backend::Postgres).await
                }
            )+
        }
    };
}

/// A clock that stands still until the test moves it.
pub struct TestClock(Mutex<DateTime<Utc>>);

impl TestClock {
    pub fn new() -> TestClock {
        TestClock::at(Utc::now())
    }

    pub fn at(time: DateTime<Utc>) -> TestClock {
        TestClock(Mutex::new(time))
    }

    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// A DM from `author` with platform message id `id`.
pub fn dm(author: &str, id: &str, text: &str) -> InboundMessage {
    InboundMessage {
        platform: "discord".into(),
        author_id: author.into(),
        author_name: format!("{author} name"),
        channel_kind: ChannelKind::Dm,
        channel_id: format!("dm-{author}"),
        message_id: id.into(),
        text: text.into(),
        sent_at: Utc::now(),
    }
}

/// A public mention from `author`.
pub fn mention(author: &str, id: &str, text: &str) -> InboundMessage {
    InboundMessage {
        channel_kind: ChannelKind::Public,
        channel_id: "general".into(),
        ..dm(author, id, text)
    }
}

/// The services the Discord adapter calls, wired as `casebot run` wires them, with the default
/// rules and limits (and `outbound_per_second` sends a second).
pub fn discord_services_with(
    store: &Store,
    outbound_per_second: u32,
) -> casebot::discord::Services {
    use casebot::domain::flows::FlowPolicy;
    use casebot::domain::rules::{parse_rules, DEFAULT_RULES};
    use casebot::services::limits::{LimitSettings, RateLimits};
    use std::sync::Arc;
    let limits = Arc::new(RateLimits::new(&LimitSettings {
        outbound_per_second,
        ..LimitSettings::default()
    }));
    let orders = Arc::new(casebot::orders::BuiltInOrders::new(store.clone()));
    let routing = casebot::services::routing::RoutingService::new(
        store.clone(),
        orders,
        parse_rules(DEFAULT_RULES).unwrap(),
        FlowPolicy::default(),
    )
    .with_limits(limits.clone());
    let intake = casebot::services::IntakeService::new(
        store.clone(),
        casebot::services::IntakePolicy::default(),
    );
    casebot::discord::Services {
        store: store.clone(),
        conversation: casebot::services::conversation::Conversation::new(
            store.clone(),
            intake,
            routing,
            limits.clone(),
        ),
        cases: casebot::services::CaseService::new(store.clone()),
        limits,
        latency: Arc::default(),
        sla: Default::default(),
    }
}

/// The same with the default outbound limit.
pub fn discord_services(store: &Store) -> casebot::discord::Services {
    discord_services_with(store, 40)
}
