//! Intake stories: how customer messages become cases, each message one unit of work.

use casebot::domain::case::Disposition;
use casebot::domain::staff::Role;
use casebot::domain::{CaseAction, CaseState, Origin};
use casebot::store::{Backend, Page};
use chrono::Duration;

use crate::on_both_backends;
use crate::support::app::{Setup, TestApp};

on_both_backends!(
    a_first_dm_opens_a_case_and_later_messages_join_it,
    a_replayed_message_is_reported_as_a_duplicate_and_changes_nothing,
    a_public_mention_opens_a_case_that_remembers_its_origin,
    a_message_within_the_reopen_window_reopens_the_resolved_case,
    a_message_after_the_reopen_window_closes_the_old_case_and_opens_a_new_one,
    card_numbers_never_reach_the_database,
    each_customer_gets_a_case_of_their_own,
    a_message_is_stored_routed_and_answered_in_one_unit_of_work,
    a_reply_to_a_new_case_names_its_number,
);

async fn a_first_dm_opens_a_case_and_later_messages_join_it(backend: Backend) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    let first = t.dm("u1", "where is my parcel?").await;
    let second = t.dm("u1", "any news?").await;
    assert_eq!(first.disposition, Disposition::New);
    assert_eq!(second.disposition, Disposition::Existing);
    assert_eq!(second.case_id, first.case_id);
    let messages = t.store().messages(first.case_id).await.unwrap();
    let bodies: Vec<_> = messages.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, ["where is my parcel?", "any news?"]);
    assert_eq!(t.case(first.case_id).await.customer_messages, 2);
    t.cleanup().await;
}

async fn a_replayed_message_is_reported_as_a_duplicate_and_changes_nothing(backend: Backend) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    let msg = t.dm_message("u1", "hello");
    let first = t.app.intake.take_in(&msg).await.unwrap();
    let before = t.store().counts().await.unwrap();
    let outbox_before = t.outbox(first.case_id).await.len();
    let again = t.app.intake.take_in(&msg).await.unwrap();
    assert!(again.is_duplicate());
    assert_eq!(again.case_id, first.case_id);
    assert_eq!(
        t.store().counts().await.unwrap(),
        before,
        "a duplicate must write nothing"
    );
    assert_eq!(
        t.outbox(first.case_id).await.len(),
        outbox_before,
        "nor send anything"
    );
    t.cleanup().await;
}

async fn a_public_mention_opens_a_case_that_remembers_its_origin(backend: Backend) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    let outcome = t.mention("u1", "help please").await;
    let view = t.view(outcome.case_id).await;
    assert_eq!(view.case.origin, Origin::PublicMention);
    assert_eq!(view.case.state, CaseState::Open);
    assert_eq!(view.customer.display_name, "u1 name");
    assert!(view.case.last_mention_at.is_some());
    t.cleanup().await;
}

/// A customer whose first case was just resolved, with a 24 h reopen window.
async fn a_resolved_case(backend: Backend) -> Option<(TestApp, casebot::domain::CaseId)> {
    let env = vec![("CASEBOT__CASES__REOPEN_WINDOW_HOURS".into(), "24".into())];
    let t = TestApp::with(
        backend,
        Setup {
            env,
            limits: Some(casebot::domain::policy::LimitSettings::unlimited()),
            ..Setup::default()
        },
    )
    .await?;
    let first = t.dm("u1", "broken charger").await;
    let ana = t.staff("ana", Role::Staff).await;
    let resolve = CaseAction::Resolve {
        summary: "replacement sent".into(),
    };
    t.app.staff.act(first.case_id, &ana, resolve).await.unwrap();
    Some((t, first.case_id))
}

async fn a_message_within_the_reopen_window_reopens_the_resolved_case(backend: Backend) {
    let Some((t, case)) = a_resolved_case(backend).await else {
        return;
    };
    t.clock.advance(Duration::hours(23));
    let back = t.dm("u1", "still broken").await;
    assert_eq!(back.disposition, Disposition::Reopened);
    assert_eq!(back.case_id, case);
    assert_eq!(t.case(case).await.state, CaseState::Open);
    assert!(t.trail(case).await.contains(&"case.reopened".to_owned()));
    t.assert_log_intact().await;
    t.cleanup().await;
}

async fn a_message_after_the_reopen_window_closes_the_old_case_and_opens_a_new_one(
    backend: Backend,
) {
    let Some((t, case)) = a_resolved_case(backend).await else {
        return;
    };
    t.clock.advance(Duration::hours(25));
    let later = t.dm("u1", "new question").await;
    assert_eq!(later.disposition, Disposition::New);
    assert_ne!(later.case_id, case);
    assert_eq!(t.case(case).await.state, CaseState::Closed);
    t.assert_log_intact().await;
    t.cleanup().await;
}

async fn card_numbers_never_reach_the_database(backend: Backend) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    let text = "charged twice on 4111-1111-1111-1111 for order 112-4430938-2412367";
    let outcome = t.dm("u1", text).await;
    assert_eq!(outcome.cards_removed, 1);
    let stored = &t.store().messages(outcome.case_id).await.unwrap()[0].body;
    assert_eq!(
        stored,
        "charged twice on [card number removed] for order 112-4430938-2412367"
    );
    let events = t
        .store()
        .audit_events(None, Page::first(1000))
        .await
        .unwrap();
    assert!(events
        .iter()
        .all(|(_, e)| !e.details.contains("4111") && !e.details.contains("charged")));
    let outbox = t.outbox(outcome.case_id).await;
    assert!(outbox.iter().all(|e| !e.body.contains("4111")));
    t.cleanup().await;
}

async fn each_customer_gets_a_case_of_their_own(backend: Backend) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    let a = t.dm("u1", "hi").await;
    let b = t.dm("u2", "hi").await;
    assert_ne!(a.case_id, b.case_id);
    assert_eq!(b.disposition, Disposition::New);
    t.cleanup().await;
}

async fn a_message_is_stored_routed_and_answered_in_one_unit_of_work(backend: Backend) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    let handled = t
        .dm("u1", "someone hacked my account and changed my password")
        .await;
    let routed = handled.routed.expect("routing ran");
    assert!(routed.escalated);
    let trail = t.trail(handled.case_id).await;
    assert_eq!(
        trail,
        [
            "case.opened",
            "message.received",
            "case.escalated",
            "case.routed"
        ]
    );
    let case = t.case(handled.case_id).await;
    assert_eq!(case.state, CaseState::Escalated);
    assert_eq!(case.version, 0, "one insert wrote the case as routed");
    let kinds: Vec<_> = t
        .outbox(handled.case_id)
        .await
        .iter()
        .map(|e| e.kind.as_str())
        .collect();
    assert_eq!(kinds, ["case_card", "reply", "mirror"]);
    t.assert_log_intact().await;
    t.cleanup().await;
}

async fn a_reply_to_a_new_case_names_its_number(backend: Backend) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    let handled = t.dm("u1", "my account was hacked").await;
    let number = format!("#{}", handled.case_id);
    assert!(handled.routed.unwrap().reply.contains(&number));
    let outbox = t.outbox(handled.case_id).await;
    assert!(
        outbox.iter().all(|e| !e.body.contains("{new case}")),
        "{outbox:?}"
    );
    assert!(outbox.iter().any(|e| e.body.contains(&number)));
    t.cleanup().await;
}
