//! Hostile and broken input: odd text, a database that is not there, one of a kind casebot does
//! not speak, and a SQLite file in a folder that does not exist yet.

use std::time::Duration;

use casebot::store::{Backend, Store, StoreError, StoreOptions};

use crate::on_both_backends;
use crate::support::app::TestApp;

on_both_backends!(
    an_empty_message_is_stored_as_empty_text,
    a_hundred_kilobyte_message_is_stored_cut_to_the_limit,
    nul_bytes_are_dropped_before_storage,
);

/// What casebot stored of `text`, and whether it was cut.
async fn stored_body(backend: Backend, text: &str) -> Option<(TestApp, String, bool)> {
    let t = TestApp::spawn(backend).await?;
    let handled = t.dm("u1", text).await;
    let messages = t.store().messages(handled.case_id).await.unwrap();
    let body = messages[0].body.clone();
    Some((t, body, handled.truncated))
}

async fn an_empty_message_is_stored_as_empty_text(backend: Backend) {
    let Some((t, body, _)) = stored_body(backend, "").await else {
        return;
    };
    assert_eq!(body, "");
    t.cleanup().await;
}

async fn a_hundred_kilobyte_message_is_stored_cut_to_the_limit(backend: Backend) {
    let text = "ü".repeat(50 * 1024);
    let Some((t, body, truncated)) = stored_body(backend, &text).await else {
        return;
    };
    assert!(truncated);
    assert_eq!(body.len(), t.app.config.cases.max_message_bytes);
    t.cleanup().await;
}

async fn nul_bytes_are_dropped_before_storage(backend: Backend) {
    let Some((t, body, _)) = stored_body(backend, "where\0is\0my order").await else {
        return;
    };
    assert_eq!(body, "whereismy order");
    t.cleanup().await;
}

#[tokio::test]
async fn an_unreachable_database_is_a_clear_error_not_a_panic() {
    let options = StoreOptions {
        connect_timeout: Duration::from_secs(1),
        ..Default::default()
    };
    let url = "postgres://casebot:hunter2@127.0.0.1:1/casebot";
    let Err(err) = Store::connect(url, &options).await else {
        panic!("nothing listens there");
    };
    let text = err.to_string();
    assert!(matches!(err, StoreError::Connect { .. }), "{err:?}");
    assert!(
        text.starts_with("cannot open the database at postgres://casebot:***@127.0.0.1:1"),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "{text}");
}

#[tokio::test]
async fn an_unknown_database_scheme_is_refused_by_name() {
    let url = "mysql://localhost/casebot";
    let Err(err) = Store::connect(url, &StoreOptions::default()).await else {
        panic!("casebot speaks no MySQL");
    };
    assert_eq!(
        err.to_string(),
        "unsupported database URL scheme \"mysql\": expected sqlite:// or postgres://"
    );
}

#[tokio::test]
async fn a_sqlite_database_in_a_missing_folder_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/nested/deeper/casebot.db", dir.path().display());
    let store = Store::open(&url, &StoreOptions::default()).await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(store.sqlite_pool().expect("a SQLite store"))
        .await
        .unwrap();
    assert_eq!(mode, "wal");
}
