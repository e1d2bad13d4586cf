//! The audit log: every change is recorded, and tampering with stored events is caught and located.

use casebot::domain::audit::ChainProblem;
use casebot::services::{audit, IntakePolicy, IntakeService};
use casebot::store::{Backend, Store};

use crate::on_both_backends;
use crate::support::{dm, TestDb};

on_both_backends!(
    an_untouched_log_verifies,
    an_edited_event_is_reported_at_its_position,
    a_deleted_event_is_reported_where_it_was,
    reordered_events_are_reported_at_the_first_moved_position,
    an_event_inserted_after_the_fact_is_reported,
    deleting_the_newest_events_is_reported,
    export_prints_one_json_line_per_event_of_the_case,
);

/// A database with two customers and five audit events.
async fn with_history(backend: Backend) -> Option<(TestDb, Store)> {
    let db = TestDb::new(backend).await?;
    let store = db.store().await;
    let intake = IntakeService::new(store.clone(), IntakePolicy::default());
    intake.receive(&dm("u1", "m1", "first")).await.unwrap();
    intake.receive(&dm("u1", "m2", "second")).await.unwrap();
    intake
        .receive(&dm("u2", "m3", "other customer"))
        .await
        .unwrap();
    Some((db, store))
}

async fn tamper(store: &Store, statements: &[&str]) {
    for sql in statements {
        sqlx::query(sql).execute(store.pool()).await.unwrap();
    }
}

async fn problems(store: &Store) -> Vec<ChainProblem> {
    audit::verify(store).await.unwrap().problems
}

async fn an_untouched_log_verifies(backend: Backend) {
    let Some((db, store)) = with_history(backend).await else {
        return;
    };
    let report = audit::verify(&store).await.unwrap();
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!(report.checked, 5);
    db.cleanup().await;
}

async fn an_edited_event_is_reported_at_its_position(backend: Backend) {
    let Some((db, store)) = with_history(backend).await else {
        return;
    };
    tamper(
        &store,
        &["UPDATE audit_events SET actor_id = 'someone else' WHERE seq = 3"],
    )
    .await;
    assert_eq!(problems(&store).await, [ChainProblem::Edited { seq: 3 }]);
    db.cleanup().await;
}

async fn a_deleted_event_is_reported_where_it_was(backend: Backend) {
    let Some((db, store)) = with_history(backend).await else {
        return;
    };
    tamper(&store, &["DELETE FROM audit_events WHERE seq = 2"]).await;
    let expected = ChainProblem::Missing {
        expected_seq: 2,
        found_seq: 3,
    };
    assert_eq!(problems(&store).await, [expected]);
    db.cleanup().await;
}

async fn reordered_events_are_reported_at_the_first_moved_position(backend: Backend) {
    let Some((db, store)) = with_history(backend).await else {
        return;
    };
    tamper(
        &store,
        &[
            "UPDATE audit_events SET seq = -1 WHERE seq = 2",
            "UPDATE audit_events SET seq = 2 WHERE seq = 3",
            "UPDATE audit_events SET seq = 3 WHERE seq = -1",
        ],
    )
    .await;
    let found = problems(&store).await;
    assert!(
        found.contains(&ChainProblem::BrokenLink { seq: 2 }),
        "{found:?}"
    );
    db.cleanup().await;
}

async fn an_event_inserted_after_the_fact_is_reported(backend: Backend) {
    let Some((db, store)) = with_history(backend).await else {
        return;
    };
    tamper(
        &store,
        &[
            "INSERT INTO audit_events (seq, at, actor_kind, actor_id, action, case_id, details, \
           prev_hash, hash) SELECT 6, at, 'staff', 'mallory', 'case.resolved', case_id, '{}', \
           hash, hash FROM audit_events WHERE seq = 5",
        ],
    )
    .await;
    assert_eq!(
        problems(&store).await,
        [ChainProblem::BeyondHead { seq: 6 }]
    );
    db.cleanup().await;
}

async fn deleting_the_newest_events_is_reported(backend: Backend) {
    let Some((db, store)) = with_history(backend).await else {
        return;
    };
    tamper(&store, &["DELETE FROM audit_events WHERE seq >= 4"]).await;
    let expected = ChainProblem::Truncated {
        last_seq: 3,
        head_seq: 5,
    };
    assert_eq!(problems(&store).await, [expected]);
    db.cleanup().await;
}

async fn export_prints_one_json_line_per_event_of_the_case(backend: Backend) {
    let Some((db, store)) = with_history(backend).await else {
        return;
    };
    let mut out = Vec::new();
    let written = audit::export(&store, Some(1), &mut out).await.unwrap();
    let lines: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(written, 3);
    let actions: Vec<_> = lines
        .iter()
        .map(|l| l["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["case.opened", "message.received", "message.received"]
    );
    assert!(lines.iter().all(|l| l["case_id"] == 1));
    assert!(
        lines[1]["details"]["sha256"].is_string(),
        "details hold a digest: {}",
        lines[1]
    );
    db.cleanup().await;
}
