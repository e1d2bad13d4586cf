//! Races between writers: two casebot processes (two apps, each on its own pool over one
//! database) fire everything at once, and each case still comes out as if it had been one.

use std::collections::HashSet;

use casebot::domain::case::Disposition;
use casebot::domain::staff::Role;
use casebot::domain::InboundMessage;
use casebot::domain::{CaseAction, Priority, TransitionError};
use casebot::services::intake::{Handled, IntakeService};
use casebot::services::ActionError;
use casebot::store::Backend;
use tokio::task::JoinSet;

use crate::on_both_backends;
use crate::support::app::TestApp;

on_both_backends!(
    fifty_simultaneous_first_messages_from_one_customer_open_exactly_one_case,
    the_same_message_delivered_ten_times_at_once_is_stored_and_answered_once,
    of_twenty_staff_claiming_one_case_at_once_exactly_one_wins_and_the_rest_learn_who,
);

/// Takes `msg` in as the Discord adapter does: a transient refusal (the customer's case changed
/// under intake too often, with the other process writing the same case) is tried again.
async fn take_in(
    intake: IntakeService,
    msg: InboundMessage,
) -> Result<Handled, casebot::services::intake::IntakeError> {
    let mut pause = std::time::Duration::from_millis(10);
    let mut handled = intake.take_in(&msg).await;
    for _ in 0..7 {
        if !handled.as_ref().is_err_and(|e| e.is_transient()) {
            break;
        }
        tokio::time::sleep(pause).await;
        pause *= 2;
        handled = intake.take_in(&msg).await;
    }
    handled
}

async fn fifty_simultaneous_first_messages_from_one_customer_open_exactly_one_case(
    backend: Backend,
) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    let apps = [t.app.clone(), t.another_process().await];
    let mut tasks = JoinSet::new();
    for i in 0..50 {
        let intake = apps[i % 2].intake.clone();
        let msg = t.dm_message("newcomer", "hi?");
        tasks.spawn(take_in(intake, msg));
    }
    let outcomes: Vec<_> = tasks
        .join_all()
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();

    let cases: HashSet<_> = outcomes.iter().map(|o| o.case_id).collect();
    assert_eq!(cases.len(), 1, "all fifty messages land in one case");
    let opened = outcomes
        .iter()
        .filter(|o| o.disposition == Disposition::New)
        .count();
    assert_eq!(opened, 1, "exactly one of them opened it");
    let counts = t.store().counts().await.unwrap();
    assert_eq!(
        (counts.customers, counts.cases, counts.messages),
        (1, 1, 50)
    );
    t.assert_log_intact().await;
    t.cleanup().await;
}

async fn the_same_message_delivered_ten_times_at_once_is_stored_and_answered_once(
    backend: Backend,
) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    let apps = [t.app.clone(), t.another_process().await];
    let msg = t.dm_message("u1", "refund please");
    let mut tasks = JoinSet::new();
    for i in 0..10 {
        let intake = apps[i % 2].intake.clone();
        let msg = msg.clone();
        tasks.spawn(take_in(intake, msg));
    }
    let outcomes: Vec<_> = tasks
        .join_all()
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();

    let duplicates = outcomes.iter().filter(|o| o.is_duplicate()).count();
    assert_eq!(duplicates, 9, "{outcomes:?}");
    let cases: HashSet<_> = outcomes.iter().map(|o| o.case_id).collect();
    assert_eq!(cases.len(), 1, "duplicates name the case the message is in");
    let case = outcomes[0].case_id;
    let counts = t.store().counts().await.unwrap();
    assert_eq!((counts.cases, counts.messages), (1, 1));
    let trail = t.trail(case).await;
    let distinct: HashSet<_> = trail.iter().collect();
    assert_eq!(
        distinct.len(),
        trail.len(),
        "nothing recorded twice: {trail:?}"
    );
    assert!(trail.iter().any(|a| a == "case.opened"), "{trail:?}");
    assert!(trail.iter().any(|a| a == "message.received"), "{trail:?}");
    let replies = t
        .outbox(case)
        .await
        .into_iter()
        .filter(|e| e.kind.reaches_customer())
        .count();
    assert_eq!(replies, 1, "the customer is answered once");
    t.assert_log_intact().await;
    t.cleanup().await;
}

async fn of_twenty_staff_claiming_one_case_at_once_exactly_one_wins_and_the_rest_learn_who(
    backend: Backend,
) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    let case = t.escalated("u1", Priority::High, "asked").await;
    let mut staff = Vec::new();
    for i in 0..20 {
        staff.push(t.staff(&format!("staff{i}"), Role::Staff).await);
    }
    let apps = [t.app.clone(), t.another_process().await];
    let mut tasks = JoinSet::new();
    for (i, member) in staff.into_iter().enumerate() {
        let service = apps[i % 2].staff.clone();
        tasks.spawn(async move {
            let claim = CaseAction::Claim {
                staff: member.clone(),
            };
            let result = service.act(case, &member, claim).await;
            (member, result)
        });
    }
    let results = tasks.join_all().await;
    let winners: Vec<_> = results
        .iter()
        .filter(|(_, r)| r.is_ok())
        .map(|(s, _)| s.clone())
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for (_, result) in &results {
        if let Err(err) = result {
            let names_the_winner = matches!(err,
                ActionError::Refused(TransitionError::AlreadyClaimed { by }) if *by == winners[0]);
            assert!(names_the_winner, "a loser learns who won, got {err:?}");
        }
    }
    assert_eq!(t.case(case).await.assignee.as_ref(), Some(&winners[0]));
    let claims = t.trail(case).await;
    assert_eq!(
        claims
            .iter()
            .filter(|a| a.as_str() == "case.claimed")
            .count(),
        1,
        "{claims:?}"
    );
    t.assert_log_intact().await;
    t.cleanup().await;
}
