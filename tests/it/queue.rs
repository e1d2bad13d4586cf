//! The human queue on both backends: claim next takes the highest priority, then the oldest, and
//! hands each case to exactly one staff member however many claim at once.

use std::collections::HashSet;
use std::sync::Arc;

use casebot::domain::staff::{AuthError, Role, StaffMember};
use casebot::domain::{CaseAction, CaseState, Destination, OutboxKind, Priority};
use casebot::services::{Actor, CaseError, CaseService, IntakePolicy, IntakeService};
use casebot::store::{Backend, Store};
use chrono::Duration;
use tokio::task::JoinSet;

use crate::on_both_backends;
use crate::support::{dm, TestClock, TestDb};

on_both_backends!(
    claim_next_takes_the_highest_priority_then_the_longest_waiting,
    ten_staff_claiming_next_over_a_hundred_cases_claim_each_exactly_once,
    the_queue_lists_waiting_cases_in_the_order_staff_take_them,
    someone_off_the_team_is_refused_and_the_refusal_is_audited,
    only_the_assignee_or_a_lead_may_release_transfer_or_resolve,
    a_blocked_customer_is_stored_but_marked_for_no_reply,
    a_released_case_keeps_its_place_in_the_queue,
    a_staff_reply_is_queued_for_the_customer_and_a_note_never_is,
    a_callback_number_is_validated_masked_and_shown_only_to_the_claimer,
);

const PRIORITIES: [Priority; 4] = [
    Priority::Low,
    Priority::Normal,
    Priority::High,
    Priority::Urgent,
];

/// `n` escalated cases, one a second, cycling through the priorities; returns them in order.
async fn escalated(store: &Store, clock: &Arc<TestClock>, n: usize) -> Vec<(i64, Priority)> {
    let intake = IntakeService::with_clock(store.clone(), IntakePolicy::default(), clock.clone());
    let cases = CaseService::with_clock(store.clone(), clock.clone());
    let mut made = Vec::new();
    for i in 0..n {
        clock.advance(Duration::seconds(1));
        let id = intake
            .receive(&dm(&format!("c{i}"), &format!("m{i}"), "help"))
            .await
            .unwrap()
            .case_id;
        let priority = PRIORITIES[i % PRIORITIES.len()];
        let escalate = CaseAction::Escalate {
            priority,
            reason: "test".into(),
        };
        cases.apply(id, &Actor::system(), escalate).await.unwrap();
        made.push((id, priority));
    }
    made
}

/// Puts these people on the support team.
async fn hire(store: &Store, ids: &[&str], role: Role) {
    let cases = CaseService::new(store.clone());
    for id in ids {
        let member = StaffMember {
            id: (*id).to_owned(),
            role,
        };
        cases.add_staff(&member, &Actor::system()).await.unwrap();
    }
}

/// The order the queue must serve: priority first, then the order of escalation.
fn expected_order(made: &[(i64, Priority)]) -> Vec<i64> {
    let mut sorted = made.to_vec();
    sorted.sort_by_key(|&(id, priority)| (std::cmp::Reverse(priority), id));
    sorted.into_iter().map(|(id, _)| id).collect()
}

async fn claim_next_takes_the_highest_priority_then_the_longest_waiting(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let store = db.store().await;
    let clock = Arc::new(TestClock::new());
    let made = escalated(&store, &clock, 12).await;
    hire(&store, &["ana"], Role::Staff).await;
    let cases = CaseService::with_clock(store.clone(), clock.clone());
    let mut claimed = Vec::new();
    while let Some(id) = cases.claim_next(&Actor::staff("ana")).await.unwrap() {
        claimed.push(id);
    }
    assert_eq!(claimed, expected_order(&made));
    db.cleanup().await;
}

async fn ten_staff_claiming_next_over_a_hundred_cases_claim_each_exactly_once(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let store = db.store().await;
    let clock = Arc::new(TestClock::new());
    let made = escalated(&store, &clock, 100).await;
    let team: Vec<String> = (0..10).map(|s| format!("staff{s}")).collect();
    hire(
        &store,
        &team.iter().map(String::as_str).collect::<Vec<_>>(),
        Role::Staff,
    )
    .await;
    let services = [
        CaseService::new(db.store().await),
        CaseService::new(db.store().await),
    ];
    let mut staff = JoinSet::new();
    for s in 0..10 {
        let cases = services[s % 2].clone();
        staff.spawn(async move {
            let me = Actor::staff(format!("staff{s}"));
            let mut mine = Vec::new();
            while let Some(id) = cases.claim_next(&me).await.unwrap() {
                mine.push(id);
            }
            mine
        });
    }
    let claims: Vec<i64> = staff.join_all().await.into_iter().flatten().collect();
    let distinct: HashSet<i64> = claims.iter().copied().collect();
    assert_eq!(claims.len(), 100, "every case claimed once, none twice");
    assert_eq!(distinct.len(), 100);
    for (id, _) in &made {
        let case = store.case(*id).await.unwrap().unwrap();
        assert_eq!(case.state, CaseState::Claimed);
    }
    assert!(casebot::services::audit::verify(&store)
        .await
        .unwrap()
        .is_intact());
    db.cleanup().await;
}

async fn the_queue_lists_waiting_cases_in_the_order_staff_take_them(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let store = db.store().await;
    let clock = Arc::new(TestClock::new());
    let made = escalated(&store, &clock, 8).await;
    hire(&store, &["ana"], Role::Staff).await;
    let cases = CaseService::with_clock(store.clone(), clock.clone());
    let first = cases
        .claim_next(&Actor::staff("ana"))
        .await
        .unwrap()
        .unwrap();
    let queue = store.queue(100).await.unwrap();
    let waiting: Vec<i64> = queue
        .iter()
        .filter(|e| e.state == CaseState::Escalated)
        .map(|e| e.case_id)
        .collect();
    let mut expected = expected_order(&made);
    expected.retain(|&id| id != first);
    assert_eq!(waiting, expected);
    let claimed = queue.last().unwrap();
    assert_eq!(
        (claimed.case_id, claimed.claimed_by.as_deref()),
        (first, Some("ana"))
    );
    assert!(queue
        .iter()
        .all(|e| e.waiting_since.is_some() && e.reasons == ["test"]));
    db.cleanup().await;
}

async fn someone_off_the_team_is_refused_and_the_refusal_is_audited(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let store = db.store().await;
    let clock = Arc::new(TestClock::new());
    let made = escalated(&store, &clock, 2).await;
    let cases = CaseService::new(store.clone());
    let err = cases
        .claim_next(&Actor::staff("mallory"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CaseError::Unauthorized(AuthError::NotStaff { .. })),
        "{err:?}"
    );
    let claim = CaseAction::Claim {
        staff: "mallory".into(),
    };
    let err = cases
        .apply_as_staff(made[0].0, "mallory", claim)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "mallory is not on the support team");
    assert_eq!(
        store.case(made[0].0).await.unwrap().unwrap().state,
        CaseState::Escalated
    );
    let trail = store.audit_page(None, 0, 1000).await.unwrap();
    let refusals = trail.iter().filter(|e| e.action == "auth.refused").count();
    assert_eq!(refusals, 2);
    db.cleanup().await;
}

async fn only_the_assignee_or_a_lead_may_release_transfer_or_resolve(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let store = db.store().await;
    let clock = Arc::new(TestClock::new());
    let made = escalated(&store, &clock, 1).await;
    hire(&store, &["ana", "ben"], Role::Staff).await;
    hire(&store, &["lee"], Role::Lead).await;
    let cases = CaseService::new(store.clone());
    let case = made[0].0;
    cases
        .apply_as_staff(
            case,
            "ana",
            CaseAction::Claim {
                staff: "ana".into(),
            },
        )
        .await
        .unwrap();
    for action in [
        CaseAction::Release,
        CaseAction::Transfer { to: "ben".into() },
        CaseAction::Resolve {
            summary: "mine now".into(),
        },
    ] {
        let err = cases.apply_as_staff(case, "ben", action).await.unwrap_err();
        assert!(
            matches!(err, CaseError::Unauthorized(AuthError::NotAssignee { .. })),
            "{err:?}"
        );
    }
    let moved = cases
        .apply_as_staff(case, "lee", CaseAction::Transfer { to: "ben".into() })
        .await;
    assert_eq!(moved.unwrap(), CaseState::Claimed);
    let stored = store.case(case).await.unwrap().unwrap();
    assert_eq!(stored.assignee.as_deref(), Some("ben"));
    let done = cases.apply_as_staff(
        case,
        "ben",
        CaseAction::Resolve {
            summary: "sorted".into(),
        },
    );
    assert_eq!(done.await.unwrap(), CaseState::Resolved);
    db.cleanup().await;
}

async fn a_blocked_customer_is_stored_but_marked_for_no_reply(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let store = db.store().await;
    let intake = IntakeService::new(store.clone(), IntakePolicy::default());
    let case = intake
        .receive(&dm("troll", "m1", "spam spam"))
        .await
        .unwrap()
        .case_id;
    hire(&store, &["ana"], Role::Staff).await;
    let cases = CaseService::new(store.clone());
    let err = cases.set_blocked(case, "mallory", true).await.unwrap_err();
    assert!(matches!(err, CaseError::Unauthorized(_)), "{err:?}");
    cases.set_blocked(case, "ana", true).await.unwrap();
    let later = intake
        .receive(&dm("troll", "m2", "more spam"))
        .await
        .unwrap();
    assert!(later.customer_blocked);
    assert_eq!(
        store.messages(case).await.unwrap().len(),
        2,
        "nothing is lost"
    );
    cases.set_blocked(case, "ana", false).await.unwrap();
    let after = intake.receive(&dm("troll", "m3", "sorry")).await.unwrap();
    assert!(!after.customer_blocked);
    db.cleanup().await;
}

async fn a_released_case_keeps_its_place_in_the_queue(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let store = db.store().await;
    let clock = Arc::new(TestClock::new());
    // Four cases of each priority in turn: the first and the fifth are both low.
    let made = escalated(&store, &clock, 8).await;
    hire(&store, &["ana", "ben"], Role::Staff).await;
    let cases = CaseService::with_clock(store.clone(), clock.clone());
    let (older, newer) = (made[0].0, made[4].0);
    let claim = CaseAction::Claim {
        staff: "ana".into(),
    };
    cases.apply_as_staff(older, "ana", claim).await.unwrap();
    clock.advance(Duration::minutes(10));
    cases
        .apply_as_staff(older, "ana", CaseAction::Release)
        .await
        .unwrap();
    let low: Vec<i64> = store
        .queue(100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.priority == Priority::Low)
        .map(|e| e.case_id)
        .collect();
    assert_eq!(low, [older, newer], "the released case is still ahead");
    db.cleanup().await;
}

async fn a_staff_reply_is_queued_for_the_customer_and_a_note_never_is(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let store = db.store().await;
    let clock = Arc::new(TestClock::new());
    let case = escalated(&store, &clock, 1).await[0].0;
    hire(&store, &["ana", "ben"], Role::Staff).await;
    let cases = CaseService::with_clock(store.clone(), clock.clone());
    let claim = CaseAction::Claim {
        staff: "ana".into(),
    };
    cases.apply_as_staff(case, "ana", claim).await.unwrap();

    cases
        .note(
            case,
            "ben",
            "customer sounds like a reseller; check order history",
        )
        .await
        .unwrap();
    cases
        .reply(
            case,
            "ana",
            "I've reissued your parcel; it ships today.",
            None,
        )
        .await
        .unwrap();
    let err = cases
        .reply(case, "ben", "hello from ben", None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, CaseError::Unauthorized(AuthError::NotAssignee { .. })),
        "{err:?}"
    );
    let err = cases.note(case, "mallory", "hi").await.unwrap_err();
    assert!(matches!(
        err,
        CaseError::Unauthorized(AuthError::NotStaff { .. })
    ));

    let queued = store.case_outbox(case).await.unwrap();
    let to_customer: Vec<&str> = queued
        .iter()
        .filter(|(e, _)| matches!(e.destination, Destination::CustomerDm { .. }))
        .map(|(e, _)| e.body.as_str())
        .collect();
    assert_eq!(
        to_customer,
        ["Support team: I've reissued your parcel; it ships today."]
    );
    let note = queued
        .iter()
        .find(|(e, _)| e.kind == OutboxKind::Note)
        .unwrap();
    assert_eq!(note.0.destination, Destination::CaseThread);
    assert!(queued
        .iter()
        .filter(|(e, _)| e.kind.reaches_customer())
        .all(|(e, _)| !e.body.contains("reseller")));

    let messages = store.messages(case).await.unwrap();
    assert_eq!(messages.last().unwrap().author_kind, "staff");
    assert_eq!(store.case_notes(case).await.unwrap().len(), 1);
    let trail = store.audit_page(Some(case), 0, 100).await.unwrap();
    let actions: Vec<&str> = trail.iter().map(|e| e.action.as_str()).collect();
    for expected in ["case.noted", "case.replied", "auth.refused"] {
        assert!(actions.contains(&expected), "{actions:?}");
    }
    assert!(
        trail
            .iter()
            .all(|e| !e.details.contains("reseller") && !e.details.contains("reissued")),
        "the audit log holds fingerprints, not text"
    );
    db.cleanup().await;
}

async fn a_callback_number_is_validated_masked_and_shown_only_to_the_claimer(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let store = db.store().await;
    let clock = Arc::new(TestClock::new());
    let intake = IntakeService::with_clock(store.clone(), IntakePolicy::default(), clock.clone());
    let case = intake
        .receive(&dm("u1", "m1", "please call me now"))
        .await
        .unwrap()
        .case_id;
    hire(&store, &["ana"], Role::Staff).await;
    hire(&store, &["lee"], Role::Lead).await;
    let cases = CaseService::with_clock(store.clone(), clock.clone());

    let err = cases
        .request_callback(case, "07700 900123")
        .await
        .unwrap_err();
    assert!(matches!(err, CaseError::InvalidPhone(_)), "{err:?}");
    let phone = cases
        .request_callback(case, "+44 7700 900123")
        .await
        .unwrap();
    assert_eq!(phone.expose(), "+447700900123");
    let stored = store.case(case).await.unwrap().unwrap();
    assert_eq!(
        (stored.state, stored.priority),
        (CaseState::Escalated, Priority::High)
    );

    // Everywhere but the claimer's view, the number is masked.
    let queued = store.case_outbox(case).await.unwrap();
    let trail = store.audit_page(Some(case), 0, 100).await.unwrap();
    let everywhere: Vec<&str> = queued
        .iter()
        .map(|(e, _)| e.body.as_str())
        .chain(trail.iter().map(|e| e.details.as_str()))
        .collect();
    assert!(
        everywhere.iter().any(|t| t.contains("+44********23")),
        "{everywhere:?}"
    );
    assert!(everywhere.iter().all(|t| !t.contains("7700900123")));

    let err = cases.callback_for(case, "ana").await.unwrap_err();
    assert!(
        matches!(err, CaseError::Unauthorized(AuthError::NotClaimed)),
        "{err:?}"
    );
    let claim = CaseAction::Claim {
        staff: "ana".into(),
    };
    cases.apply_as_staff(case, "ana", claim).await.unwrap();
    let err = cases.callback_for(case, "lee").await.unwrap_err();
    assert!(
        matches!(err, CaseError::Unauthorized(AuthError::AssigneeOnly)),
        "{err:?}"
    );
    let callback = cases.callback_for(case, "ana").await.unwrap();
    assert_eq!(callback.phone.expose(), "+447700900123");
    assert_eq!(
        callback.due_at - callback.requested_at,
        Duration::minutes(3)
    );

    // The callback has its own deadline; missing it is reported to staff once.
    let sla = casebot::services::sla::SlaSweeper::new(store.clone(), Default::default())
        .with_clock(clock.clone());
    assert!(sla.sweep_callbacks().await.unwrap().is_empty());
    clock.advance(Duration::minutes(4));
    assert_eq!(sla.sweep_callbacks().await.unwrap(), [case]);
    assert!(sla.sweep_callbacks().await.unwrap().is_empty());
    db.cleanup().await;
}
