//! Test support: fresh databases per test on either backend, and the macro that runs a story on
//! both.

pub mod app;
pub mod db;
pub mod fake_http;
pub mod sql;

pub use db::TestDb;

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
