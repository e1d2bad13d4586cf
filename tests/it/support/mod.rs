//! Test support: fresh databases per test on either backend, and the macro that runs a story on
//! both.

pub mod app;
pub mod db;
pub mod fake_http;
pub mod fake_llm;
pub mod sql;

pub use db::TestDb;

/// Writes each test once and runs it on both backends: `async fn name(backend: Backend)`. A name
/// may carry attributes (such as `#[ignore = "bug: ..."]`) for both of its runs.
#[macro_export]
macro_rules! on_both_backends {
    ($($(#[$meta:meta])* $name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                $(#[$meta])*
                async fn $name() {
                    super::$name(casebot::store::Backend::Sqlite).await
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                $(#[$meta])*
                async fn $name() {
                    super::$name(casebot::store::Backend::Postgres).await
                }
            )+
        }
    };
}
