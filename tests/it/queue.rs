//! The human queue: claim next takes the highest priority, then the oldest, and hands each case to
//! exactly one staff member however many claim at once; only the team acts, and only the holder
//! (or a lead) releases, transfers, resolves, replies or sees a callback number.

use std::collections::HashSet;

use casebot::domain::change::MessageAuthor;
use casebot::domain::staff::{AuthError, Role};
use casebot::domain::{CaseAction, CaseId, CaseState, Destination, OutboxKind, Priority, StaffId};
use casebot::services::staff::StaffService;
use casebot::services::ActionError;
use casebot::store::Backend;
use chrono::Duration;
use tokio::task::JoinSet;

use crate::on_both_backends;
use crate::support::app::TestApp;

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
    a_case_escalated_at_low_priority_is_served_after_normal_ones,
);

/// The priorities the cases below cycle through. (Low has its own story:
/// [`a_case_escalated_at_low_priority_is_served_after_normal_ones`].)
const PRIORITIES: [Priority; 3] = [Priority::Normal, Priority::High, Priority::Urgent];

/// `n` escalated cases, one a second, cycling through the priorities; returns them in order.
async fn escalated(t: &TestApp, n: usize) -> Vec<(CaseId, Priority)> {
    escalated_at(t, n, &PRIORITIES).await
}

/// `n` escalated cases, one a second, cycling through `priorities`.
async fn escalated_at(t: &TestApp, n: usize, priorities: &[Priority]) -> Vec<(CaseId, Priority)> {
    let mut made = Vec::new();
    for i in 0..n {
        t.clock.advance(Duration::seconds(1));
        let priority = priorities[i % priorities.len()];
        made.push((
            t.escalated(&format!("c{i}"), priority, "test").await,
            priority,
        ));
    }
    made
}

/// The order the queue must serve: priority first, then the order of escalation.
fn expected_order(made: &[(CaseId, Priority)]) -> Vec<CaseId> {
    let mut sorted = made.to_vec();
    sorted.sort_by_key(|&(id, priority)| (std::cmp::Reverse(priority), id));
    sorted.into_iter().map(|(id, _)| id).collect()
}

/// How many refusals the audit log holds.
async fn refusals(t: &TestApp) -> usize {
    let events = t.all_events().await;
    events.iter().filter(|e| e.action == "auth.refused").count()
}

async fn claim_next_takes_the_highest_priority_then_the_longest_waiting(backend: Backend) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    let made = escalated(&t, 12).await;
    let ana = t.staff("ana", Role::Staff).await;
    let mut claimed = Vec::new();
    while let Some(id) = t.app.staff.claim_next(&ana).await.unwrap() {
        claimed.push(id);
    }
    assert_eq!(claimed, expected_order(&made));
    t.cleanup().await;
}

async fn a_case_escalated_at_low_priority_is_served_after_normal_ones(backend: Backend) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    let made = escalated_at(&t, 4, &[Priority::Low, Priority::Normal]).await;
    let ana = t.staff("ana", Role::Staff).await;
    let mut claimed = Vec::new();
    while let Some(id) = t.app.staff.claim_next(&ana).await.unwrap() {
        claimed.push(id);
    }
    assert_eq!(claimed, expected_order(&made));
    t.cleanup().await;
}

async fn ten_staff_claiming_next_over_a_hundred_cases_claim_each_exactly_once(backend: Backend) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    let made = escalated(&t, 100).await;
    let mut team = Vec::new();
    for s in 0..10 {
        team.push(t.staff(&format!("staff{s}"), Role::Staff).await);
    }
    // Two pools, as two casebot processes would have.
    let services = [
        StaffService::new(t.db.store().await),
        StaffService::new(t.db.store().await),
    ];
    let mut staff = JoinSet::new();
    for (s, me) in team.into_iter().enumerate() {
        let service = services[s % 2].clone();
        staff.spawn(async move {
            let mut mine = Vec::new();
            loop {
                match service.claim_next(&me).await {
                    Ok(Some(id)) => mine.push(id),
                    Ok(None) => break,
                    // Someone else took the head of the queue first, many times: try again.
                    Err(e) if e.is_transient() => continue,
                    Err(e) => panic!("{e:?}"),
                }
            }
            mine
        });
    }
    let claims: Vec<CaseId> = staff.join_all().await.into_iter().flatten().collect();
    let distinct: HashSet<CaseId> = claims.iter().copied().collect();
    assert_eq!(claims.len(), 100, "every case claimed once, none twice");
    assert_eq!(distinct.len(), 100);
    for (id, _) in &made {
        assert_eq!(t.case(*id).await.state, CaseState::Claimed);
    }
    t.assert_log_intact().await;
    t.cleanup().await;
}

async fn the_queue_lists_waiting_cases_in_the_order_staff_take_them(backend: Backend) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    let made = escalated(&t, 8).await;
    let ana = t.staff("ana", Role::Staff).await;
    let first = t.app.staff.claim_next(&ana).await.unwrap().unwrap();
    let queue = t.store().queue(100).await.unwrap();
    let waiting: Vec<CaseId> = queue
        .iter()
        .filter(|e| e.state == CaseState::Escalated)
        .map(|e| e.case_id)
        .collect();
    let mut expected = expected_order(&made);
    expected.retain(|&id| id != first);
    assert_eq!(waiting, expected);
    let claimed = queue.last().unwrap();
    assert_eq!(
        (claimed.case_id, claimed.claimed_by.as_ref()),
        (first, Some(&ana))
    );
    assert!(queue
        .iter()
        .all(|e| e.waiting_since.is_some() && e.reasons == ["test"]));
    t.cleanup().await;
}

async fn someone_off_the_team_is_refused_and_the_refusal_is_audited(backend: Backend) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    let made = escalated(&t, 2).await;
    let mallory = StaffId::new("mallory");
    let err = t.app.staff.claim_next(&mallory).await.unwrap_err();
    assert!(
        matches!(err, ActionError::Unauthorized(AuthError::NotStaff { .. })),
        "{err:?}"
    );
    let err = t.claim(made[0].0, &mallory).await.unwrap_err();
    assert_eq!(err.to_string(), "mallory is not on the support team");
    assert_eq!(t.case(made[0].0).await.state, CaseState::Escalated);
    assert_eq!(refusals(&t).await, 2);
    t.assert_log_intact().await;
    t.cleanup().await;
}

async fn only_the_assignee_or_a_lead_may_release_transfer_or_resolve(backend: Backend) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    let case = escalated(&t, 1).await[0].0;
    let ana = t.staff("ana", Role::Staff).await;
    let ben = t.staff("ben", Role::Staff).await;
    let lee = t.staff("lee", Role::Lead).await;
    t.claim(case, &ana).await.unwrap();
    for action in [
        CaseAction::Release,
        CaseAction::Transfer { to: ben.clone() },
        CaseAction::Resolve {
            summary: "mine now".into(),
        },
    ] {
        let err = t.app.staff.act(case, &ben, action).await.unwrap_err();
        assert!(
            matches!(
                err,
                ActionError::Unauthorized(AuthError::NotAssignee { .. })
            ),
            "{err:?}"
        );
    }
    let moved = t
        .app
        .staff
        .act(case, &lee, CaseAction::Transfer { to: ben.clone() })
        .await;
    assert_eq!(moved.unwrap(), CaseState::Claimed);
    assert_eq!(t.case(case).await.assignee, Some(ben.clone()));
    let resolve = CaseAction::Resolve {
        summary: "sorted".into(),
    };
    let done = t.app.staff.act(case, &ben, resolve).await;
    assert_eq!(done.unwrap(), CaseState::Resolved);
    t.cleanup().await;
}

async fn a_blocked_customer_is_stored_but_marked_for_no_reply(backend: Backend) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    let case = t.dm("troll", "spam spam").await.case_id;
    let ana = t.staff("ana", Role::Staff).await;
    let mallory = StaffId::new("mallory");
    let err = t
        .app
        .staff
        .set_blocked(case, &mallory, true)
        .await
        .unwrap_err();
    assert!(matches!(err, ActionError::Unauthorized(_)), "{err:?}");
    t.app.staff.set_blocked(case, &ana, true).await.unwrap();
    let later = t.dm("troll", "more spam").await;
    assert!(later.customer_blocked);
    let messages = t.store().messages(case).await.unwrap();
    assert_eq!(messages.len(), 2, "nothing is lost");
    t.app.staff.set_blocked(case, &ana, false).await.unwrap();
    assert!(!t.dm("troll", "sorry").await.customer_blocked);
    t.cleanup().await;
}

async fn a_released_case_keeps_its_place_in_the_queue(backend: Backend) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    // Each priority in turn: the first and the fourth are both normal.
    let made = escalated(&t, 6).await;
    let ana = t.staff("ana", Role::Staff).await;
    let (older, newer) = (made[0].0, made[3].0);
    t.claim(older, &ana).await.unwrap();
    t.clock.advance(Duration::minutes(10));
    t.app
        .staff
        .act(older, &ana, CaseAction::Release)
        .await
        .unwrap();
    let normal: Vec<CaseId> = t
        .store()
        .queue(100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.priority == Priority::Normal)
        .map(|e| e.case_id)
        .collect();
    assert_eq!(normal, [older, newer], "the released case is still ahead");
    t.cleanup().await;
}

async fn a_staff_reply_is_queued_for_the_customer_and_a_note_never_is(backend: Backend) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    let case = escalated(&t, 1).await[0].0;
    let ana = t.staff("ana", Role::Staff).await;
    let ben = t.staff("ben", Role::Staff).await;
    t.claim(case, &ana).await.unwrap();

    let staff = &t.app.staff;
    let note = "customer sounds like a reseller; check order history";
    staff.note(case, &ben, note).await.unwrap();
    let reply = "I've reissued your parcel; it ships today.";
    staff.reply(case, &ana, reply, None).await.unwrap();
    let err = staff
        .reply(case, &ben, "hello from ben", None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ActionError::Unauthorized(AuthError::NotAssignee { .. })
        ),
        "{err:?}"
    );
    let err = staff
        .note(case, &StaffId::new("mallory"), "hi")
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        ActionError::Unauthorized(AuthError::NotStaff { .. })
    ));

    let queued = t.outbox(case).await;
    let to_customer: Vec<&str> = queued
        .iter()
        .filter(|e| matches!(e.destination, Destination::CustomerDm { .. }))
        .filter(|e| e.kind == OutboxKind::StaffReply)
        .map(|e| e.body.as_str())
        .collect();
    assert_eq!(to_customer.len(), 1, "{to_customer:?}");
    assert!(to_customer[0].contains(reply), "{to_customer:?}");
    let posted = queued.iter().find(|e| e.kind == OutboxKind::Note).unwrap();
    assert_eq!(posted.destination, Destination::CaseThread);
    assert!(queued
        .iter()
        .filter(|e| e.kind.reaches_customer())
        .all(|e| !e.body.contains("reseller")));

    let messages = t.store().messages(case).await.unwrap();
    assert_eq!(messages.last().unwrap().author, MessageAuthor::Staff(ana));
    assert_eq!(t.store().notes(case).await.unwrap().len(), 1);
    let trail = t.events(case).await;
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
    t.cleanup().await;
}

async fn a_callback_number_is_validated_masked_and_shown_only_to_the_claimer(backend: Backend) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    let case = t.dm("u1", "hello").await.case_id;
    let ana = t.staff("ana", Role::Staff).await;
    let lee = t.staff("lee", Role::Lead).await;
    let callbacks = &t.app.callbacks;

    let err = callbacks.request(case, "07700 900123").await.unwrap_err();
    assert!(matches!(err, ActionError::InvalidPhone(_)), "{err:?}");
    let phone = callbacks.request(case, "+44 7700 900123").await.unwrap();
    assert_eq!(phone.expose(), "+447700900123");
    let stored = t.case(case).await;
    assert_eq!(
        (stored.state, stored.priority),
        (CaseState::Escalated, Priority::High)
    );

    // Everywhere but the claimer's view, the number is masked.
    let queued = t.outbox(case).await;
    let trail = t.events(case).await;
    let everywhere: Vec<&str> = queued
        .iter()
        .map(|e| e.body.as_str())
        .chain(trail.iter().map(|e| e.details.as_str()))
        .collect();
    assert!(
        everywhere.iter().any(|s| s.contains("+44********23")),
        "{everywhere:?}"
    );
    assert!(everywhere.iter().all(|s| !s.contains("7700900123")));

    let err = callbacks.number_for(case, &ana).await.unwrap_err();
    assert!(
        matches!(err, ActionError::Unauthorized(AuthError::NotClaimed)),
        "{err:?}"
    );
    t.claim(case, &ana).await.unwrap();
    let err = callbacks.number_for(case, &lee).await.unwrap_err();
    assert!(
        matches!(err, ActionError::Unauthorized(AuthError::AssigneeOnly)),
        "{err:?}"
    );
    let callback = callbacks.number_for(case, &ana).await.unwrap();
    assert_eq!(callback.phone.expose(), "+447700900123");
    assert_eq!(
        callback.due_at - callback.requested_at,
        Duration::minutes(3)
    );

    // The callback has its own deadline; missing it is reported to staff once.
    let sweepers = &t.app.sweepers;
    assert!(sweepers.overdue_callbacks().await.unwrap().is_empty());
    t.clock.advance(Duration::minutes(4));
    assert_eq!(sweepers.overdue_callbacks().await.unwrap(), [case]);
    assert!(sweepers.overdue_callbacks().await.unwrap().is_empty());
    t.cleanup().await;
}
