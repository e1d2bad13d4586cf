//! Races between writers. Each test uses two pools on one database, standing in for two casebot
//! processes, and fires everything at once.

use std::collections::HashSet;

use casebot::domain::{CaseAction, Priority, TransitionError};
use casebot::services::{
    audit, Actor, CaseError, CaseService, Disposition, IntakePolicy, IntakeService,
};
use casebot::store::Backend;
use tokio::task::JoinSet;

use crate::on_both_backends;
use crate::support::{dm, TestDb};

on_both_backends!(
    fifty_simultaneous_first_messages_from_one_customer_open_exactly_one_case,
    the_same_message_delivered_ten_times_at_once_is_stored_once,
    of_twenty_staff_claiming_one_case_at_once_exactly_one_wins,
);

async fn two_intakes(db: &TestDb) -> [IntakeService; 2] {
    [
        IntakeService::new(db.store().await, IntakePolicy::default()),
        IntakeService::new(db.store().await, IntakePolicy::default()),
    ]
}

async fn fifty_simultaneous_first_messages_from_one_customer_open_exactly_one_case(
    backend: Backend,
) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let intakes = two_intakes(&db).await;
    let mut tasks = JoinSet::new();
    for i in 0..50 {
        let intake = intakes[i % 2].clone();
        tasks.spawn(async move {
            intake
                .receive(&dm("newcomer", &format!("m{i}"), "hi?"))
                .await
        });
    }
    let outcomes: Vec<_> = tasks
        .join_all()
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();

    let cases: HashSet<i64> = outcomes.iter().map(|o| o.case_id).collect();
    assert_eq!(cases.len(), 1, "all fifty messages must land in one case");
    let opened = outcomes
        .iter()
        .filter(|o| o.disposition == Disposition::New)
        .count();
    assert_eq!(opened, 1);
    let store = db.store().await;
    let (customers, case_rows, messages, _) = store.counts().await.unwrap();
    assert_eq!((customers, case_rows, messages), (1, 1, 50));
    assert!(audit::verify(&store).await.unwrap().is_intact());
    db.cleanup().await;
}

async fn the_same_message_delivered_ten_times_at_once_is_stored_once(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let intakes = two_intakes(&db).await;
    let mut tasks = JoinSet::new();
    for i in 0..10 {
        let intake = intakes[i % 2].clone();
        tasks.spawn(async move { intake.receive(&dm("u1", "replayed", "refund please")).await });
    }
    let outcomes: Vec<_> = tasks
        .join_all()
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();

    let duplicates = outcomes.iter().filter(|o| o.is_duplicate()).count();
    assert_eq!(duplicates, 9, "{outcomes:?}");
    let cases: HashSet<i64> = outcomes.iter().map(|o| o.case_id).collect();
    assert_eq!(
        cases.len(),
        1,
        "duplicates report the case the message is in"
    );
    let store = db.store().await;
    let (_, case_rows, messages, events) = store.counts().await.unwrap();
    assert_eq!(
        (case_rows, messages, events),
        (1, 1, 2),
        "one case.opened, one message.received"
    );
    assert!(audit::verify(&store).await.unwrap().is_intact());
    db.cleanup().await;
}

async fn of_twenty_staff_claiming_one_case_at_once_exactly_one_wins(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let store = db.store().await;
    let intake = IntakeService::new(store.clone(), IntakePolicy::default());
    let case_id = intake
        .receive(&dm("u1", "m1", "help"))
        .await
        .unwrap()
        .case_id;
    let escalate = CaseAction::Escalate {
        priority: Priority::High,
        reason: "asked".into(),
    };
    CaseService::new(store.clone())
        .apply(case_id, &Actor::system(), escalate)
        .await
        .unwrap();

    let services = [
        CaseService::new(db.store().await),
        CaseService::new(db.store().await),
    ];
    let mut tasks = JoinSet::new();
    for i in 0..20 {
        let cases = services[i % 2].clone();
        let staff = format!("staff{i}");
        tasks.spawn(async move {
            let claim = CaseAction::Claim {
                staff: staff.clone(),
            };
            (
                staff.clone(),
                cases.apply(case_id, &Actor::staff(staff), claim).await,
            )
        });
    }
    let results = tasks.join_all().await;
    let winners: Vec<_> = results
        .iter()
        .filter(|(_, r)| r.is_ok())
        .map(|(s, _)| s)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for (_, result) in &results {
        if let Err(err) = result {
            let named_winner = matches!(err,
                CaseError::Refused(TransitionError::AlreadyClaimed { by }) if by == winners[0]);
            assert!(named_winner, "a loser must learn who won, got {err:?}");
        }
    }
    let case = store.case(case_id).await.unwrap().unwrap();
    assert_eq!(case.assignee.as_ref(), Some(winners[0]));
    assert!(audit::verify(&store).await.unwrap().is_intact());
    db.cleanup().await;
}
