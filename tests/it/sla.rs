//! SLA breaches with an injected clock, on both backends: a missed deadline raises the priority one
//! step and is recorded and audited once.

use std::sync::Arc;

use casebot::domain::sla::{BreachKind, SlaPolicy};
use casebot::domain::staff::{Role, StaffMember};
use casebot::domain::{CaseAction, Priority};
use casebot::services::sla::SlaSweeper;
use casebot::services::{Actor, CaseService, IntakePolicy, IntakeService};
use casebot::store::Backend;
use chrono::Duration;

use crate::on_both_backends;
use crate::support::{dm, TestClock, TestDb};

on_both_backends!(
    a_missed_first_response_raises_priority_once,
    a_claimed_case_breaches_only_its_resolution_deadline,
);

/// One customer's case, escalated at `priority`, with the services and sweeper on a test clock.
struct Escalated {
    store: casebot::store::Store,
    clock: Arc<TestClock>,
    cases: CaseService,
    sweeper: SlaSweeper,
    case: i64,
}

async fn escalated(db: &TestDb, priority: Priority) -> Escalated {
    let store = db.store().await;
    let clock = Arc::new(TestClock::new());
    let intake = IntakeService::with_clock(store.clone(), IntakePolicy::default(), clock.clone());
    let cases = CaseService::with_clock(store.clone(), clock.clone());
    let sweeper = SlaSweeper::new(store.clone(), SlaPolicy::default()).with_clock(clock.clone());
    let case = intake
        .receive(&dm("u1", "m1", "help"))
        .await
        .unwrap()
        .case_id;
    let escalate = CaseAction::Escalate {
        priority,
        reason: "asked".into(),
    };
    cases.apply(case, &Actor::system(), escalate).await.unwrap();
    Escalated {
        store,
        clock,
        cases,
        sweeper,
        case,
    }
}

async fn a_missed_first_response_raises_priority_once(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let Escalated {
        store,
        clock,
        sweeper,
        case,
        ..
    } = escalated(&db, Priority::Normal).await;

    clock.advance(Duration::minutes(59));
    assert!(sweeper.sweep().await.unwrap().is_empty());
    clock.advance(Duration::minutes(2));
    let breaches = sweeper.sweep().await.unwrap();
    assert_eq!(breaches.len(), 1);
    assert_eq!(
        (breaches[0].kind, breaches[0].to),
        (BreachKind::FirstResponse, Priority::High)
    );
    assert!(
        sweeper.sweep().await.unwrap().is_empty(),
        "a breach is reported once"
    );
    assert_eq!(
        store.case(case).await.unwrap().unwrap().priority,
        Priority::High
    );
    let trail = store.audit_page(Some(case), 0, 100).await.unwrap();
    assert_eq!(
        trail.iter().filter(|e| e.action == "sla.breached").count(),
        1
    );
    let notices: Vec<String> = store
        .case_outbox(case)
        .await
        .unwrap()
        .into_iter()
        .filter(|(e, _)| e.kind == casebot::domain::OutboxKind::SlaBreach)
        .map(|(e, _)| e.body)
        .collect();
    assert_eq!(
        notices,
        [format!(
            "Case #{case} missed its first-response deadline; priority is now high."
        )],
        "staff are re-notified once"
    );
    db.cleanup().await;
}

async fn a_claimed_case_breaches_only_its_resolution_deadline(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let Escalated {
        store,
        clock,
        cases,
        sweeper,
        case,
    } = escalated(&db, Priority::High).await;
    let ana = StaffMember {
        id: "ana".into(),
        role: Role::Staff,
    };
    cases.add_staff(&ana, &Actor::system()).await.unwrap();
    clock.advance(Duration::minutes(10));
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

    clock.advance(Duration::hours(23));
    assert!(
        sweeper.sweep().await.unwrap().is_empty(),
        "claimed in time: no first-response breach"
    );
    clock.advance(Duration::hours(2));
    let breaches = sweeper.sweep().await.unwrap();
    assert_eq!(breaches.len(), 1);
    assert_eq!(
        (breaches[0].kind, breaches[0].to),
        (BreachKind::Resolution, Priority::Urgent)
    );
    assert!(casebot::services::audit::verify(&store)
        .await
        .unwrap()
        .is_intact());
    db.cleanup().await;
}
