//! The outbox on both backends: everything casebot has to send is queued in the transaction of
//! the change that causes it, and the dispatcher delivers each entry exactly once, through
//! failures, a crash mid-delivery and two processes delivering side by side.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;
use casebot::domain::ids::{CaseId, OutboxId};
use casebot::domain::outbox::nonce;
use casebot::domain::policy::LimitSettings;
use casebot::domain::staff::Role;
use casebot::domain::views::{Delivery, OutboxEntry};
use casebot::domain::{Change, Destination, OutboxKind, Outgoing, Priority};
use casebot::services::limits::RateLimits;
use casebot::services::outbox::{Deliver, DeliveryError, Dispatcher, LocalBudget};
use casebot::services::Clock;
use casebot::store::Backend;
use chrono::Duration;

use crate::on_both_backends;
use crate::support::app::TestApp;

on_both_backends!(
    an_escalation_queues_its_staff_card_in_the_same_transaction_and_a_refused_claim_queues_nothing,
    the_dispatcher_delivers_each_entry_once_with_a_nonce_from_its_id_and_leaves_no_backlog,
    a_temporary_failure_is_retried_after_backoff_and_a_refusal_is_given_up_and_audited,
    after_a_crash_mid_delivery_the_lease_runs_out_and_the_platform_sees_the_entry_once,
    two_dispatchers_on_separate_pools_deliver_each_entry_exactly_once,
    outbound_sends_wait_for_the_per_second_budget,
);

/// A platform that remembers what it was sent. Like Discord with `enforce_nonce`, a message with
/// a nonce it has seen recently is not posted again: the first message's id comes back.
#[derive(Default)]
struct FakePlatform {
    posted: Mutex<Vec<(OutboxId, String, Instant)>>,
    by_nonce: Mutex<HashMap<String, String>>,
    /// Scripted failures per entry, used up one per attempt.
    failures: Mutex<HashMap<OutboxId, Vec<DeliveryError>>>,
}

impl FakePlatform {
    fn fail(&self, entry: OutboxId, errors: Vec<DeliveryError>) {
        self.failures.lock().unwrap().insert(entry, errors);
    }

    fn posted_ids(&self) -> Vec<OutboxId> {
        self.posted.lock().unwrap().iter().map(|p| p.0).collect()
    }
}

#[async_trait]
impl Deliver for FakePlatform {
    async fn deliver(&self, entry: &OutboxEntry, nonce: &str) -> Result<String, DeliveryError> {
        if let Some(errors) = self.failures.lock().unwrap().get_mut(&entry.id) {
            if !errors.is_empty() {
                return Err(errors.remove(0));
            }
        }
        let mut by_nonce = self.by_nonce.lock().unwrap();
        if let Some(id) = by_nonce.get(nonce) {
            return Ok(id.clone());
        }
        let id = format!("msg-{}", by_nonce.len() + 1);
        by_nonce.insert(nonce.to_owned(), id.clone());
        let posted = (entry.id, nonce.to_owned(), Instant::now());
        self.posted.lock().unwrap().push(posted);
        Ok(id)
    }
}

/// `n` customers write in, and a staff notice is queued on each one's case: the cases. Each case
/// then has its reply to the customer and the notice pending.
async fn cases_with_notices(t: &TestApp, n: usize) -> Vec<CaseId> {
    let mut cases = Vec::new();
    for i in 0..n {
        let case = t.dm(&format!("c{i}"), "hello").await.case_id;
        let notice = Outgoing::to_staff(case, OutboxKind::StuckCase, format!("notice {i}"));
        t.store()
            .apply(Change::at(t.clock.now()).send(notice))
            .await
            .unwrap();
        cases.push(case);
    }
    cases
}

/// The case's staff notice, as queued by [`cases_with_notices`].
async fn notice_of(t: &TestApp, case: CaseId) -> OutboxEntry {
    t.outbox(case)
        .await
        .into_iter()
        .find(|e| e.kind == OutboxKind::StuckCase)
        .expect("the notice is queued")
}

fn dispatcher(t: &TestApp, platform: &Arc<FakePlatform>) -> Dispatcher {
    Dispatcher::new(t.store().clone(), platform.clone()).with_clock(t.clock.clone())
}

async fn an_escalation_queues_its_staff_card_in_the_same_transaction_and_a_refused_claim_queues_nothing(
    backend: Backend,
) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    let case = t
        .escalated("u1", Priority::High, "asked for a person")
        .await;
    let cards: Vec<OutboxEntry> = t
        .outbox(case)
        .await
        .into_iter()
        .filter(|e| e.kind == OutboxKind::CaseCard)
        .collect();
    assert_eq!(cards.len(), 1, "{cards:?}");
    assert_eq!(
        (&cards[0].destination, cards[0].state),
        (&Destination::StaffQueue, Delivery::Pending)
    );
    assert!(
        cards[0].body.contains("asked for a person"),
        "the card gives the reason: {}",
        cards[0].body
    );

    let ana = t.staff("ana", Role::Staff).await;
    let ben = t.staff("ben", Role::Staff).await;
    t.claim(case, &ana).await.unwrap();
    let after_claim = t.outbox(case).await.len();
    assert!(
        after_claim > cards.len(),
        "the claim queued its card update"
    );
    assert!(
        t.claim(case, &ben).await.is_err(),
        "a second claim is refused"
    );
    assert_eq!(
        t.outbox(case).await.len(),
        after_claim,
        "the refused claim queued nothing"
    );
    t.cleanup().await;
}

async fn the_dispatcher_delivers_each_entry_once_with_a_nonce_from_its_id_and_leaves_no_backlog(
    backend: Backend,
) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    cases_with_notices(&t, 5).await;
    let queued = t.store().outbox_backlog().await.unwrap() as usize;
    assert_eq!(queued, 10, "five replies and five notices");
    let platform = Arc::new(FakePlatform::default());
    let dispatch = dispatcher(&t, &platform);
    assert_eq!(dispatch.run_once().await.unwrap().sent, queued);
    assert_eq!(dispatch.run_once().await.unwrap().handled(), 0);
    assert_eq!(t.store().outbox_backlog().await.unwrap(), 0);
    let posted = platform.posted.lock().unwrap().clone();
    assert_eq!(posted.len(), queued);
    for (id, sent_with, _) in &posted {
        assert_eq!(
            sent_with,
            &nonce(*id),
            "each entry's nonce derives from its id"
        );
    }
    t.cleanup().await;
}

async fn a_temporary_failure_is_retried_after_backoff_and_a_refusal_is_given_up_and_audited(
    backend: Backend,
) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    let cases = cases_with_notices(&t, 3).await;
    let (flaky, refused) = (notice_of(&t, cases[0]).await, notice_of(&t, cases[1]).await);
    let platform = Arc::new(FakePlatform::default());
    platform.fail(flaky.id, vec![DeliveryError::Transient("502".into())]);
    platform.fail(
        refused.id,
        vec![DeliveryError::Permanent("unknown channel".into())],
    );
    let dispatch = dispatcher(&t, &platform);

    let first = dispatch.run_once().await.unwrap();
    assert_eq!((first.sent, first.retrying, first.failed), (4, 1, 1));
    assert_eq!(
        dispatch.run_once().await.unwrap().handled(),
        0,
        "the retry waits for its backoff"
    );
    t.clock.advance(Duration::seconds(2));
    assert_eq!(dispatch.run_once().await.unwrap().sent, 1);
    assert!(platform.posted_ids().contains(&flaky.id));
    assert!(!platform.posted_ids().contains(&refused.id));
    assert_eq!(t.store().outbox_backlog().await.unwrap(), 0);

    assert_eq!(notice_of(&t, cases[1]).await.state, Delivery::Failed);
    let failed = t
        .events(cases[1])
        .await
        .into_iter()
        .find(|e| e.action == "delivery.failed")
        .expect("the refusal is audited");
    assert!(
        failed.details.to_string().contains("unknown channel"),
        "{:?}",
        failed.details
    );
    t.assert_log_intact().await;
    t.cleanup().await;
}

async fn after_a_crash_mid_delivery_the_lease_runs_out_and_the_platform_sees_the_entry_once(
    backend: Backend,
) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    cases_with_notices(&t, 1).await;
    let platform = Arc::new(FakePlatform::default());
    // The first process leases the entries and posts them, then dies before recording it.
    let now = t.clock.now();
    let leased = t
        .store()
        .lease_outbox(now, now + Duration::seconds(30), 10)
        .await
        .unwrap();
    assert_eq!(leased.len(), 2);
    for entry in &leased {
        platform.deliver(entry, &nonce(entry.id)).await.unwrap();
    }

    // The restarted process leaves the entries alone while the lease holds, then retries them.
    let restarted = dispatcher(&t, &platform);
    assert_eq!(restarted.run_once().await.unwrap().handled(), 0);
    t.clock.advance(Duration::seconds(31));
    assert_eq!(restarted.run_once().await.unwrap().sent, 2);
    assert_eq!(
        platform.posted_ids().len(),
        2,
        "the retries carried the same nonces, so nothing was posted twice"
    );
    assert_eq!(t.store().outbox_backlog().await.unwrap(), 0);
    t.cleanup().await;
}

/// A platform with no nonce memory: a double send would show as a repeated id.
struct Counting(Mutex<Vec<OutboxId>>);

#[async_trait]
impl Deliver for Counting {
    async fn deliver(&self, entry: &OutboxEntry, _: &str) -> Result<String, DeliveryError> {
        tokio::task::yield_now().await;
        self.0.lock().unwrap().push(entry.id);
        Ok(entry.id.to_string())
    }
}

async fn two_dispatchers_on_separate_pools_deliver_each_entry_exactly_once(backend: Backend) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    cases_with_notices(&t, 60).await;
    let queued = t.store().outbox_backlog().await.unwrap() as usize;
    assert_eq!(queued, 120);
    let counting = Arc::new(Counting(Mutex::new(Vec::new())));
    let mut runs = tokio::task::JoinSet::new();
    for _ in 0..2 {
        let store = t.db.store().await;
        let dispatch = Dispatcher::new(store, counting.clone()).with_clock(t.clock.clone());
        runs.spawn(async move {
            let mut sent = 0;
            loop {
                let report = dispatch.run_once().await.unwrap();
                if report.handled() == 0 {
                    return sent;
                }
                sent += report.sent;
            }
        });
    }
    let total: usize = runs.join_all().await.into_iter().sum();
    let mut delivered = counting.0.lock().unwrap().clone();
    delivered.sort();
    let before = delivered.len();
    delivered.dedup();
    assert_eq!((before, delivered.len(), total), (queued, queued, queued));
    assert_eq!(t.store().outbox_backlog().await.unwrap(), 0);
    t.cleanup().await;
}

async fn outbound_sends_wait_for_the_per_second_budget(backend: Backend) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    cases_with_notices(&t, 3).await;
    let platform = Arc::new(FakePlatform::default());
    let limits = Arc::new(RateLimits::new(&LimitSettings {
        outbound_per_second: 5,
        ..LimitSettings::default()
    }));
    let dispatch = dispatcher(&t, &platform).with_budget(Arc::new(LocalBudget(limits)));
    assert_eq!(dispatch.run_once().await.unwrap().sent, 6);
    let posted = platform.posted.lock().unwrap().clone();
    // Five go at once; the sixth waits for the budget to refill (a fifth of a second).
    let gap = posted[5].2.duration_since(posted[0].2);
    assert!(gap >= std::time::Duration::from_millis(150), "{gap:?}");
    t.cleanup().await;
}
