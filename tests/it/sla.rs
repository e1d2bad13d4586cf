//! SLA breaches on a clock the test moves: a missed deadline raises the priority one step, tells
//! staff, and is recorded and audited once.

use casebot::domain::sla::BreachKind;
use casebot::domain::staff::Role;
use casebot::domain::{OutboxKind, Priority};
use casebot::store::Backend;
use chrono::Duration;

use crate::on_both_backends;
use crate::support::app::TestApp;

on_both_backends!(
    a_missed_first_response_raises_priority_once,
    a_claimed_case_breaches_only_its_resolution_deadline,
);

async fn a_missed_first_response_raises_priority_once(backend: Backend) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    let case = t.escalated("u1", Priority::Normal, "asked").await;
    let sweepers = &t.app.sweepers;

    t.clock.advance(Duration::minutes(59));
    assert!(sweepers.sla_breaches().await.unwrap().is_empty());
    t.clock.advance(Duration::minutes(2));
    let breaches = sweepers.sla_breaches().await.unwrap();
    assert_eq!(breaches.len(), 1);
    assert_eq!(
        (breaches[0].kind, breaches[0].to),
        (BreachKind::FirstResponse, Priority::High)
    );
    assert!(
        sweepers.sla_breaches().await.unwrap().is_empty(),
        "a breach is reported once"
    );
    assert_eq!(t.case(case).await.priority, Priority::High);
    let trail = t.trail(case).await;
    assert_eq!(trail.iter().filter(|a| *a == "sla.breached").count(), 1);
    let notices: Vec<String> = t
        .outbox(case)
        .await
        .into_iter()
        .filter(|e| e.kind == OutboxKind::SlaBreach)
        .map(|e| e.body)
        .collect();
    assert_eq!(
        notices,
        [format!(
            "Case #{case} missed its first-response deadline; priority is now high."
        )],
        "staff are told once"
    );
    t.assert_log_intact().await;
    t.cleanup().await;
}

async fn a_claimed_case_breaches_only_its_resolution_deadline(backend: Backend) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    let case = t.escalated("u1", Priority::High, "asked").await;
    let ana = t.staff("ana", Role::Staff).await;
    t.clock.advance(Duration::minutes(10));
    t.claim(case, &ana).await.unwrap();
    let sweepers = &t.app.sweepers;

    t.clock.advance(Duration::hours(23));
    assert!(
        sweepers.sla_breaches().await.unwrap().is_empty(),
        "claimed in time: no first-response breach"
    );
    t.clock.advance(Duration::hours(2));
    let breaches = sweepers.sla_breaches().await.unwrap();
    assert_eq!(breaches.len(), 1);
    assert_eq!(
        (breaches[0].kind, breaches[0].to),
        (BreachKind::Resolution, Priority::Urgent)
    );
    t.assert_log_intact().await;
    t.cleanup().await;
}
