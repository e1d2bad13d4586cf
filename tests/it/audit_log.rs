//! The audit log against tampering, on both backends: every kind of change to a case's chain is
//! named by case and position; a case whose trail was deleted whole is found; and a log rewritten
//! consistently, hashes and checkpoints included, is caught by a seal kept outside the database.

use casebot::domain::audit::{AuditEvent, Checkpoint, Problem};
use casebot::domain::ids::CaseId;
use casebot::store::{Backend, Page, Store};
use sqlx::Executor;

use crate::on_both_backends;
use crate::support::app::TestApp;

/// Runs raw SQL on the database, as someone with write access to it would.
async fn tamper(store: &Store, sql: &str) {
    match (store.sqlite_pool(), store.postgres_pool()) {
        (Some(pool), _) => {
            pool.execute(sql).await.unwrap();
        }
        (_, Some(pool)) => {
            pool.execute(sql).await.unwrap();
        }
        _ => unreachable!(),
    }
}

/// Three customers with a few messages each, so each case has a chain of several events.
async fn three_cases(t: &TestApp) -> Vec<CaseId> {
    let mut cases = Vec::new();
    for user in ["ana", "ben", "cy"] {
        let first = t.dm(user, "where is my order?").await;
        t.dm(user, "it was due on monday").await;
        t.dm(user, "still nothing").await;
        cases.push(first.case_id);
    }
    cases
}

async fn problems(store: &Store, seal: Option<&str>) -> Vec<Problem> {
    store.verify_audit(seal).await.unwrap().problems
}

fn chain(case: CaseId) -> String {
    format!("case:{case}")
}

async fn an_untouched_log_verifies_with_every_checkpoint_and_its_seal(backend: Backend) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    let cases = three_cases(&t).await;
    let first = t
        .app
        .audit
        .checkpoint()
        .await
        .unwrap()
        .expect("a first checkpoint");
    t.dm("ana", "hello again").await;
    let second = t
        .app
        .audit
        .checkpoint()
        .await
        .unwrap()
        .expect("a second checkpoint");
    assert_eq!((first.number, second.number), (1, 2));
    assert_eq!(second.prev_hash, first.hash);
    assert_eq!(
        second.heads.len(),
        1,
        "only the chain that changed is sealed again"
    );
    assert_eq!(second.heads[0].chain, chain(cases[0]));
    let report = t.store().verify_audit(Some(&second.hash)).await.unwrap();
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!(report.checkpoints, 2);
    // Nothing new: nothing to seal.
    assert_eq!(t.app.audit.seal().await.unwrap(), None);
    t.cleanup().await;
}

async fn an_edited_event_is_named_by_its_case_and_position(backend: Backend) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    let cases = three_cases(&t).await;
    let c = chain(cases[1]);
    tamper(
        t.store(),
        &format!("UPDATE audit_events SET details = '{{}}' WHERE chain = '{c}' AND seq = 3"),
    )
    .await;
    assert_eq!(
        problems(t.store(), None).await,
        vec![Problem::Edited {
            chain: c.clone(),
            seq: 3
        }]
    );
    t.cleanup().await;
}

async fn a_deleted_event_is_named_where_it_was(backend: Backend) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    let cases = three_cases(&t).await;
    let c = chain(cases[2]);
    tamper(
        t.store(),
        &format!("DELETE FROM audit_events WHERE chain = '{c}' AND seq = 2"),
    )
    .await;
    let found = problems(t.store(), None).await;
    assert!(
        found.contains(&Problem::Missing {
            chain: c.clone(),
            expected_seq: 2,
            found_seq: 3
        }),
        "{found:?}"
    );
    t.cleanup().await;
}

async fn an_event_inserted_after_the_fact_is_caught(backend: Backend) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    let cases = three_cases(&t).await;
    let events = t.events(cases[0]).await;
    let last = events.last().unwrap();
    // A forged event with a hash of its own, appended without moving the chain's head.
    let mut forged = AuditEvent {
        seq: last.seq + 1,
        prev_hash: last.hash.clone(),
        action: "case.resolved".into(),
        ..last.clone()
    };
    forged.hash = forged.compute_hash();
    tamper(t.store(), &format!(
        "INSERT INTO audit_events (chain, seq, at_ms, actor_kind, actor_id, action, case_id, details, prev_hash, hash) \
         VALUES ('{}', {}, {}, 'staff', 'mallory', '{}', {}, '{}', '{}', '{}')",
        forged.chain, forged.seq, forged.at_ms, forged.action, cases[0], forged.details, forged.prev_hash, forged.hash
    ))
    .await;
    let found = problems(t.store(), None).await;
    assert_eq!(
        found,
        vec![Problem::BeyondHead {
            chain: chain(cases[0]),
            seq: forged.seq
        }]
    );
    t.cleanup().await;
}

async fn two_events_swapped_inside_a_case_are_caught(backend: Backend) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    let cases = three_cases(&t).await;
    let c = chain(cases[0]);
    for sql in [
        format!("UPDATE audit_events SET seq = -1 WHERE chain = '{c}' AND seq = 2"),
        format!("UPDATE audit_events SET seq = 2 WHERE chain = '{c}' AND seq = 3"),
        format!("UPDATE audit_events SET seq = 3 WHERE chain = '{c}' AND seq = -1"),
    ] {
        tamper(t.store(), &sql).await;
    }
    let found = problems(t.store(), None).await;
    assert!(
        found.contains(&Problem::BrokenLink {
            chain: c.clone(),
            seq: 2
        }),
        "{found:?}"
    );
    t.cleanup().await;
}

async fn a_case_whose_trail_was_deleted_whole_is_found(backend: Backend) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    let cases = three_cases(&t).await;
    let seal = t.app.audit.checkpoint().await.unwrap().unwrap();
    let c = chain(cases[1]);
    tamper(
        t.store(),
        &format!("DELETE FROM audit_events WHERE chain = '{c}'"),
    )
    .await;
    tamper(
        t.store(),
        &format!("DELETE FROM audit_chains WHERE chain = '{c}'"),
    )
    .await;
    let found = problems(t.store(), Some(&seal.hash)).await;
    assert!(
        found.contains(&Problem::CaseWithoutTrail {
            case: cases[1].get()
        }),
        "{found:?}"
    );
    let sealed_gone = found
        .iter()
        .any(|p| matches!(p, Problem::SealedEventChanged { chain, now: None, .. } if *chain == c));
    assert!(
        sealed_gone,
        "the checkpoint names the chain that is gone: {found:?}"
    );
    t.cleanup().await;
}

async fn a_log_rewritten_consistently_is_caught_by_the_seal(backend: Backend) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    let cases = three_cases(&t).await;
    let seal = t.app.audit.checkpoint().await.unwrap().unwrap();
    rewrite_chain(t.store(), cases[0]).await;
    // Every hash, head and checkpoint agrees with every other: only the seal tells.
    assert_eq!(problems(t.store(), None).await, vec![]);
    assert_eq!(
        problems(t.store(), Some(&seal.hash)).await,
        vec![Problem::SealNotFound {
            hash: seal.hash.clone()
        }]
    );
    t.cleanup().await;
}

/// Rewrites a case's first event and everything that depends on it, as someone who knows the
/// hashing would: the chain, its head, and every checkpoint after it.
async fn rewrite_chain(store: &Store, case: CaseId) {
    let c = chain(case);
    let events = store
        .audit_events(Some(case), Page::first(1000))
        .await
        .unwrap();
    let mut prev = casebot::domain::audit::GENESIS_HASH.to_owned();
    for (i, (_, event)) in events.iter().enumerate() {
        let mut e = event.clone();
        if i == 0 {
            e.actor_id = "someone-else".into();
        }
        e.prev_hash = prev.clone();
        e.hash = e.compute_hash();
        tamper(store, &format!(
            "UPDATE audit_events SET actor_id = '{}', prev_hash = '{}', hash = '{}' WHERE chain = '{c}' AND seq = {}",
            e.actor_id, e.prev_hash, e.hash, e.seq
        ))
        .await;
        prev = e.hash;
    }
    let head = events.len();
    tamper(
        store,
        &format!("UPDATE audit_chains SET hash = '{prev}' WHERE chain = '{c}'"),
    )
    .await;
    tamper(store, &format!("UPDATE audit_checkpoint_heads SET hash = '{prev}' WHERE chain = '{c}' AND seq = {head}")).await;
    let checkpoint = store.latest_checkpoint().await.unwrap().unwrap();
    let mut forged = Checkpoint {
        heads: checkpoint.heads.clone(),
        ..checkpoint.clone()
    };
    for h in &mut forged.heads {
        if h.chain == c {
            h.hash = prev.clone();
        }
    }
    forged.hash = forged.compute_hash();
    tamper(
        store,
        &format!(
            "UPDATE audit_checkpoints SET hash = '{}' WHERE number = {}",
            forged.hash, forged.number
        ),
    )
    .await;
}

on_both_backends!(
    an_untouched_log_verifies_with_every_checkpoint_and_its_seal,
    an_edited_event_is_named_by_its_case_and_position,
    a_deleted_event_is_named_where_it_was,
    an_event_inserted_after_the_fact_is_caught,
    two_events_swapped_inside_a_case_are_caught,
    a_case_whose_trail_was_deleted_whole_is_found,
    a_log_rewritten_consistently_is_caught_by_the_seal,
);
