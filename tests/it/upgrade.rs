//! A database written by the previous release opens, migrates and verifies: the fixtures are what
//! casebot 0.1 wrote running its demo and a few commands (see tests/fixtures). Its single-chain
//! audit log is checked under the old rules and carried onto per-case chains; a damaged one is
//! refused, naming where it breaks.

use casebot::domain::ids::CaseId;
use casebot::domain::CaseState;
use casebot::store::{Backend, Page, Store, StoreError, StoreOptions};
use sqlx::Executor;

use crate::on_both_backends;
use crate::support::TestDb;

const SQLITE_FIXTURE: &str = include_str!("../fixtures/previous-release-sqlite.sql");
const POSTGRES_FIXTURE: &str = include_str!("../fixtures/previous-release-postgres.sql");

/// A database holding exactly what the previous release wrote; `tamper` runs on it afterwards.
async fn previous_release(backend: Backend, tamper: Option<&str>) -> Option<TestDb> {
    let db = TestDb::empty(backend).await?;
    match backend {
        Backend::Sqlite => {
            let options: sqlx::sqlite::SqliteConnectOptions = db.url.parse().unwrap();
            // A dump lists tables by name, so rows may arrive before the table they point at exists.
            let options = options.create_if_missing(true).foreign_keys(false);
            let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
            pool.execute(SQLITE_FIXTURE).await.unwrap();
            if let Some(sql) = tamper {
                pool.execute(sql).await.unwrap();
            }
            pool.close().await;
        }
        Backend::Postgres => {
            let schema = db.url.rsplit("search_path%3D").next().unwrap().to_owned();
            let sql = POSTGRES_FIXTURE.replace("casebot_previous_release.", &format!("{schema}."));
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            pool.execute(sql.as_str()).await.unwrap();
            if let Some(tamper) = tamper {
                pool.execute(tamper).await.unwrap();
            }
            pool.close().await;
        }
    }
    Some(db)
}

async fn a_database_from_the_previous_release_opens_migrates_and_verifies(backend: Backend) {
    let Some(db) = previous_release(backend, None).await else {
        return;
    };
    let store = Store::open(&db.url, &StoreOptions::default())
        .await
        .unwrap();
    let report = store.verify_audit(None).await.unwrap();
    assert!(report.is_intact(), "{:?}", report.problems);
    // 35 events came over, and one records the carrying over.
    assert_eq!(report.events, 36);
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.customers, counts.cases, counts.messages), (5, 5, 9));
    // The claimed case from after the demo: its callback, note, reply and trail are all there.
    let view = store.case_view(CaseId(5)).await.unwrap().unwrap();
    assert_eq!(view.case.state, CaseState::Claimed);
    assert_eq!(view.case.assignee.as_ref().map(|a| a.as_str()), Some("ana"));
    assert_eq!(view.case.customer_messages, 1);
    assert_eq!(
        store.notes(CaseId(5)).await.unwrap()[0].body,
        "checked the carrier, parcel lost"
    );
    assert_eq!(
        store.callbacks(CaseId(5)).await.unwrap()[0].phone.expose(),
        "+442079460958"
    );
    let trail = store
        .audit_events(Some(CaseId(5)), Page::first(100))
        .await
        .unwrap();
    let actions: Vec<&str> = trail.iter().map(|(_, e)| e.action.as_str()).collect();
    assert!(
        actions.starts_with(&["case.opened", "message.received"]),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"case.claimed") && actions.contains(&"case.replied"),
        "{actions:?}"
    );
    // The demo's escalated case keeps its card and thread, now beside the case.
    let mut with_cards = 0;
    for id in 1..=5 {
        let view = store.case_view(CaseId(id)).await.unwrap().unwrap();
        with_cards += usize::from(view.projection.card_message_id.is_some());
    }
    assert!(with_cards >= 1);
    // Opening again changes nothing more.
    store.migrate().await.unwrap();
    assert_eq!(store.verify_audit(None).await.unwrap().events, 36);
    db.cleanup().await;
}

async fn a_damaged_log_from_the_previous_release_is_refused_naming_where(backend: Backend) {
    let edit = "UPDATE audit_events SET details = '{\"forged\":true}' WHERE seq = 7";
    let Some(db) = previous_release(backend, Some(edit)).await else {
        return;
    };
    let err = Store::open(&db.url, &StoreOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Upgrade(_)), "{err}");
    assert!(err.to_string().contains("#7"), "{err}");
    db.cleanup().await;
}

on_both_backends!(
    a_database_from_the_previous_release_opens_migrates_and_verifies,
    a_damaged_log_from_the_previous_release_is_refused_naming_where,
);
