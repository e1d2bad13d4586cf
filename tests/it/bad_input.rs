//! Hostile and broken input: odd text, bad configuration, a database that is not there.

use std::time::Duration;

use casebot::services::{IntakePolicy, IntakeService};
use casebot::store::{Backend, Store, StoreError, StoreOptions};

use crate::on_both_backends;
use crate::support::{dm, TestDb};

on_both_backends!(
    an_empty_message_is_stored_as_empty_text,
    a_hundred_kilobyte_message_is_stored_cut_to_the_limit,
    nul_bytes_are_dropped_before_storage,
);

async fn stored_body(backend: Backend, text: &str) -> Option<(TestDb, String, bool)> {
    let db = TestDb::new(backend).await?;
    let store = db.store().await;
    let intake = IntakeService::new(store.clone(), IntakePolicy::default());
    let outcome = intake.receive(&dm("u1", "m1", text)).await.unwrap();
    let body = store
        .messages(outcome.case_id)
        .await
        .unwrap()
        .remove(0)
        .body;
    Some((db, body, outcome.truncated))
}

async fn an_empty_message_is_stored_as_empty_text(backend: Backend) {
    let Some((db, body, _)) = stored_body(backend, "").await else {
        return;
    };
    assert_eq!(body, "");
    db.cleanup().await;
}

async fn a_hundred_kilobyte_message_is_stored_cut_to_the_limit(backend: Backend) {
    let text = "ü".repeat(50 * 1024);
    let Some((db, body, truncated)) = stored_body(backend, &text).await else {
        return;
    };
    assert!(truncated);
    assert_eq!(body.len(), IntakePolicy::default().max_message_bytes);
    db.cleanup().await;
}

async fn nul_bytes_are_dropped_before_storage(backend: Backend) {
    let Some((db, body, _)) = stored_body(backend, "where\0is\0my order").await else {
        return;
    };
    assert_eq!(body, "whereismy order");
    db.cleanup().await;
}

#[tokio::test]
async fn an_unreachable_database_is_a_clear_error_not_a_panic() {
    let options = StoreOptions {
        connect_timeout: Duration::from_secs(1),
        ..Default::default()
    };
    let err = Store::connect("postgres://casebot:hunter2@127.0.0.1:1/casebot", &options)
        .await
        .unwrap_err();
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
    let err = Store::connect("mysql://localhost/casebot", &StoreOptions::default())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "unsupported database URL scheme \"mysql\": expected sqlite:// or postgres://"
    );
}

#[tokio::test]
async fn a_sqlite_database_in_a_missing_folder_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/nested/deeper/casebot.db", dir.path().display());
    let store = Store::connect(&url, &StoreOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(mode, "wal");
}
