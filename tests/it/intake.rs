//! Intake stories: how customer messages become cases.

use std::sync::Arc;

use casebot::domain::{CaseAction, CaseState, Origin};
use casebot::services::{Actor, CaseService, Disposition, IntakePolicy, IntakeService};
use casebot::store::Backend;
use chrono::Duration;

use crate::on_both_backends;
use crate::support::{dm, mention, TestClock, TestDb};

on_both_backends!(
    a_first_dm_opens_a_case_and_later_messages_join_it,
    a_replayed_message_is_reported_as_a_duplicate_and_changes_nothing,
    a_public_mention_opens_a_case_that_remembers_its_origin,
    a_message_within_the_reopen_window_reopens_the_resolved_case,
    a_message_after_the_reopen_window_closes_the_old_case_and_opens_a_new_one,
    card_numbers_never_reach_the_database,
    each_customer_gets_a_case_of_their_own,
);

async fn a_first_dm_opens_a_case_and_later_messages_join_it(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let intake = IntakeService::new(db.store().await, IntakePolicy::default());
    let first = intake
        .receive(&dm("u1", "m1", "where is my parcel?"))
        .await
        .unwrap();
    let second = intake.receive(&dm("u1", "m2", "any news?")).await.unwrap();
    assert_eq!(first.disposition, Disposition::New);
    assert_eq!(second.disposition, Disposition::Existing);
    assert_eq!(second.case_id, first.case_id);
    let messages = db.store().await.messages(first.case_id).await.unwrap();
    let bodies: Vec<_> = messages.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, ["where is my parcel?", "any news?"]);
    db.cleanup().await;
}

async fn a_replayed_message_is_reported_as_a_duplicate_and_changes_nothing(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let store = db.store().await;
    let intake = IntakeService::new(store.clone(), IntakePolicy::default());
    let first = intake.receive(&dm("u1", "m1", "hello")).await.unwrap();
    let before = store.counts().await.unwrap();
    let again = intake.receive(&dm("u1", "m1", "hello")).await.unwrap();
    assert!(again.is_duplicate());
    assert_eq!(again.case_id, first.case_id);
    assert_eq!(
        store.counts().await.unwrap(),
        before,
        "a duplicate must write nothing"
    );
    db.cleanup().await;
}

async fn a_public_mention_opens_a_case_that_remembers_its_origin(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let store = db.store().await;
    let intake = IntakeService::new(store.clone(), IntakePolicy::default());
    let outcome = intake
        .receive(&mention("u1", "p1", "@casebot help"))
        .await
        .unwrap();
    let case = store.case(outcome.case_id).await.unwrap().unwrap();
    assert_eq!(case.origin, Origin::PublicMention);
    assert_eq!(case.state, CaseState::Open);
    assert_eq!(case.customer_name, "u1 name");
    db.cleanup().await;
}

/// A customer whose first case was just resolved, with a clock the test moves and a 24 h window.
struct ResolvedCase {
    db: TestDb,
    intake: IntakeService,
    clock: Arc<TestClock>,
    case_id: i64,
}

async fn a_resolved_case(backend: Backend) -> Option<ResolvedCase> {
    let db = TestDb::new(backend).await?;
    let store = db.store().await;
    let clock = Arc::new(TestClock::new());
    let policy = IntakePolicy {
        reopen_window: Duration::hours(24),
        ..IntakePolicy::default()
    };
    let intake = IntakeService::with_clock(store.clone(), policy, clock.clone());
    let cases = CaseService::with_clock(store, clock.clone());
    let first = intake
        .receive(&dm("u1", "m1", "broken charger"))
        .await
        .unwrap();
    let resolve = CaseAction::Resolve {
        summary: "replacement sent".into(),
    };
    cases
        .apply(first.case_id, &Actor::staff("ana"), resolve)
        .await
        .unwrap();
    Some(ResolvedCase {
        db,
        intake,
        clock,
        case_id: first.case_id,
    })
}

async fn a_message_within_the_reopen_window_reopens_the_resolved_case(backend: Backend) {
    let Some(r) = a_resolved_case(backend).await else {
        return;
    };
    r.clock.advance(Duration::hours(23));
    let back = r
        .intake
        .receive(&dm("u1", "m2", "still broken"))
        .await
        .unwrap();
    assert_eq!(back.disposition, Disposition::Reopened);
    assert_eq!(back.case_id, r.case_id);
    let case = r.db.store().await.case(r.case_id).await.unwrap().unwrap();
    assert_eq!(case.state, CaseState::Open);
    r.db.cleanup().await;
}

async fn a_message_after_the_reopen_window_closes_the_old_case_and_opens_a_new_one(
    backend: Backend,
) {
    let Some(r) = a_resolved_case(backend).await else {
        return;
    };
    r.clock.advance(Duration::hours(25));
    let later = r
        .intake
        .receive(&dm("u1", "m2", "new question"))
        .await
        .unwrap();
    assert_eq!(later.disposition, Disposition::New);
    assert_ne!(later.case_id, r.case_id);
    let old = r.db.store().await.case(r.case_id).await.unwrap().unwrap();
    assert_eq!(old.state, CaseState::Closed);
    r.db.cleanup().await;
}

async fn card_numbers_never_reach_the_database(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let store = db.store().await;
    let intake = IntakeService::new(store.clone(), IntakePolicy::default());
    let text = "charged twice on 4111-1111-1111-1111 for order 112-4430938-2412367";
    let outcome = intake.receive(&dm("u1", "m1", text)).await.unwrap();
    assert_eq!(outcome.cards_removed, 1);
    let stored = &store.messages(outcome.case_id).await.unwrap()[0].body;
    assert_eq!(
        stored,
        "charged twice on [card number removed] for order 112-4430938-2412367"
    );
    let rows: Vec<String> = sqlx::query_scalar("SELECT details FROM audit_events")
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert!(
        rows.iter()
            .all(|d| !d.contains("4111") && !d.contains("charged")),
        "{rows:?}"
    );
    db.cleanup().await;
}

async fn each_customer_gets_a_case_of_their_own(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let intake = IntakeService::new(db.store().await, IntakePolicy::default());
    let a = intake.receive(&dm("u1", "m1", "hi")).await.unwrap();
    let b = intake.receive(&dm("u2", "m2", "hi")).await.unwrap();
    assert_ne!(a.case_id, b.case_id);
    assert_eq!(b.disposition, Disposition::New);
    db.cleanup().await;
}
