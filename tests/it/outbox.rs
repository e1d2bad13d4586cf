//! The outbox on both backends: every message casebot has to send is queued with the change that
//! causes it, and the dispatcher delivers each entry exactly once, through failures, crashes and
//! several processes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;
use casebot::domain::{CaseAction, Destination, OutboxKind, Outgoing, Priority};
use casebot::services::limits::{LimitSettings, RateLimits};
use casebot::services::outbox::{Deliver, DeliveryError, Dispatcher};
use casebot::services::{Actor, CaseService, IntakePolicy, IntakeService};
use casebot::store::{Backend, OutboxEntry, Store};
use chrono::Duration;

use crate::on_both_backends;
use crate::support::{dm, TestClock, TestDb};

on_both_backends!(
    an_escalation_queues_its_staff_card_in_the_same_transaction,
    the_dispatcher_delivers_each_entry_once_and_leaves_no_backlog,
    a_temporary_failure_is_retried_after_backoff_and_a_refusal_is_given_up_and_audited,
    after_a_crash_the_lease_runs_out_and_the_platform_sees_the_entry_once,
    two_dispatchers_on_separate_pools_deliver_each_entry_exactly_once,
    outbound_sends_wait_for_the_per_second_budget,
);

/// A platform that remembers what it was sent. Like Discord with `enforce_nonce`, a message with
/// a nonce it has seen recently is not posted again; the first message's id comes back.
#[derive(Default)]
struct FakePlatform {
    posted: Mutex<Vec<(i64, String, Instant)>>,
    by_nonce: Mutex<HashMap<String, String>>,
    /// Scripted failures per entry id, used up one per attempt.
    failures: Mutex<HashMap<i64, Vec<DeliveryError>>>,
    attempts: Mutex<HashMap<i64, usize>>,
}

impl FakePlatform {
    fn fail(&self, entry: i64, errors: Vec<DeliveryError>) {
        self.failures.lock().unwrap().insert(entry, errors);
    }

    fn posted_ids(&self) -> Vec<i64> {
        self.posted.lock().unwrap().iter().map(|p| p.0).collect()
    }
}

#[async_trait]
impl Deliver for FakePlatform {
    async fn deliver(&self, entry: &OutboxEntry, nonce: &str) -> Result<String, DeliveryError> {
        *self.attempts.lock().unwrap().entry(entry.id).or_default() += 1;
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

/// Queues `n` staff notices, each on a case of its own, and returns the case ids.
async fn queue_notices(store: &Store, clock: &TestClock, n: usize) -> Vec<i64> {
    use casebot::services::Clock;
    let intake = IntakeService::new(store.clone(), IntakePolicy::default());
    let mut cases = Vec::new();
    for i in 0..n {
        let case = intake
            .receive(&dm(&format!("c{i}"), &format!("m{i}"), "hello"))
            .await
            .unwrap()
            .case_id;
        let mut tx = store.begin().await.unwrap();
        let notice = Outgoing::to_staff(case, OutboxKind::StuckCase, format!("notice {i}"));
        tx.enqueue(&[notice], clock.now()).await.unwrap();
        tx.commit().await.unwrap();
        cases.push(case);
    }
    cases
}

fn dispatcher(store: &Store, platform: &Arc<FakePlatform>, clock: &Arc<TestClock>) -> Dispatcher {
    let limits = Arc::new(RateLimits::new(&LimitSettings::default()));
    Dispatcher::new(store.clone(), platform.clone(), limits).with_clock(clock.clone())
}

async fn an_escalation_queues_its_staff_card_in_the_same_transaction(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let store = db.store().await;
    let intake = IntakeService::new(store.clone(), IntakePolicy::default());
    let case = intake
        .receive(&dm("u1", "m1", "help"))
        .await
        .unwrap()
        .case_id;
    let escalate = CaseAction::Escalate {
        priority: Priority::High,
        reason: "asked for a person".into(),
    };
    let cases = CaseService::new(store.clone());
    cases.apply(case, &Actor::system(), escalate).await.unwrap();
    let queued = store.case_outbox(case).await.unwrap();
    assert_eq!(queued.len(), 1);
    let (card, state) = &queued[0];
    assert_eq!(
        (card.kind, &card.destination, state.as_str()),
        (OutboxKind::CaseCard, &Destination::StaffQueue, "pending")
    );
    assert!(card.body.contains("priority high") && card.body.contains("asked for a person"));

    // A refused change queues nothing: claiming a case twice is refused the second time.
    let claim = |who: &str| CaseAction::Claim { staff: who.into() };
    cases
        .apply(case, &Actor::system(), claim("ana"))
        .await
        .unwrap();
    assert!(cases
        .apply(case, &Actor::system(), claim("ben"))
        .await
        .is_err());
    assert_eq!(
        store.outbox_backlog().await.unwrap(),
        2,
        "the card, then its update for the one claim that happened"
    );
    db.cleanup().await;
}

async fn the_dispatcher_delivers_each_entry_once_and_leaves_no_backlog(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let store = db.store().await;
    let clock = Arc::new(TestClock::new());
    queue_notices(&store, &clock, 5).await;
    let platform = Arc::new(FakePlatform::default());
    let dispatch = dispatcher(&store, &platform, &clock);
    let first = dispatch.run_once().await.unwrap();
    assert_eq!(first.sent, 5);
    assert_eq!(dispatch.run_once().await.unwrap().handled(), 0);
    assert_eq!(platform.posted_ids().len(), 5);
    assert_eq!(store.outbox_backlog().await.unwrap(), 0);
    let nonces: Vec<String> = platform
        .posted
        .lock()
        .unwrap()
        .iter()
        .map(|p| p.1.clone())
        .collect();
    let ids = platform.posted_ids();
    let expected: Vec<String> = ids.iter().map(|id| format!("cb{id}")).collect();
    assert_eq!(
        nonces, expected,
        "each entry's nonce is derived from its id"
    );
    db.cleanup().await;
}

async fn a_temporary_failure_is_retried_after_backoff_and_a_refusal_is_given_up_and_audited(
    backend: Backend,
) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let store = db.store().await;
    let clock = Arc::new(TestClock::new());
    let cases = queue_notices(&store, &clock, 3).await;
    let ids: Vec<i64> = store.case_outbox(cases[0]).await.unwrap()[..1]
        .iter()
        .chain(&store.case_outbox(cases[1]).await.unwrap()[..1])
        .map(|(e, _)| e.id)
        .collect();
    let platform = Arc::new(FakePlatform::default());
    platform.fail(ids[0], vec![DeliveryError::Transient("502".into())]);
    platform.fail(
        ids[1],
        vec![DeliveryError::Permanent("unknown channel".into())],
    );
    let dispatch = dispatcher(&store, &platform, &clock);

    let first = dispatch.run_once().await.unwrap();
    assert_eq!((first.sent, first.retrying, first.failed), (1, 1, 1));
    assert_eq!(
        dispatch.run_once().await.unwrap().handled(),
        0,
        "the retry waits for its backoff"
    );
    clock.advance(Duration::seconds(2));
    assert_eq!(dispatch.run_once().await.unwrap().sent, 1);
    assert_eq!(platform.posted_ids().len(), 2);
    assert_eq!(store.outbox_backlog().await.unwrap(), 0);

    let states: Vec<String> = store
        .case_outbox(cases[1])
        .await
        .unwrap()
        .into_iter()
        .map(|(_, state)| state)
        .collect();
    assert_eq!(states, ["failed"]);
    let trail = store.audit_page(Some(cases[1]), 0, 100).await.unwrap();
    let failed = trail
        .iter()
        .find(|e| e.action == "delivery.failed")
        .expect("the refusal is audited");
    assert!(
        failed.details.contains("unknown channel"),
        "{}",
        failed.details
    );
    assert!(casebot::services::audit::verify(&store)
        .await
        .unwrap()
        .is_intact());
    db.cleanup().await;
}

async fn after_a_crash_the_lease_runs_out_and_the_platform_sees_the_entry_once(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let store = db.store().await;
    let clock = Arc::new(TestClock::new());
    queue_notices(&store, &clock, 1).await;
    let platform = Arc::new(FakePlatform::default());
    // The first process leases the entry and posts it, then dies before recording the delivery.
    let now = casebot::services::Clock::now(&*clock);
    let leased = store
        .lease_due_outbox(now, now + Duration::seconds(30), 10)
        .await
        .unwrap();
    assert_eq!(leased.len(), 1);
    let nonce = casebot::domain::outbox::nonce(leased[0].id);
    platform.deliver(&leased[0], &nonce).await.unwrap();

    // The restarted process leaves the entry alone while the lease holds, then retries it.
    let restarted = dispatcher(&store, &platform, &clock);
    assert_eq!(restarted.run_once().await.unwrap().handled(), 0);
    clock.advance(Duration::seconds(31));
    assert_eq!(restarted.run_once().await.unwrap().sent, 1);
    assert_eq!(
        platform.posted_ids().len(),
        1,
        "the retry carried the same nonce, so nothing was posted twice"
    );
    assert_eq!(store.outbox_backlog().await.unwrap(), 0);
    db.cleanup().await;
}

async fn two_dispatchers_on_separate_pools_deliver_each_entry_exactly_once(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let store = db.store().await;
    let clock = Arc::new(TestClock::new());
    queue_notices(&store, &clock, 120).await;
    // No nonce memory here: any double send would show as a repeated id.
    struct Counting(Mutex<Vec<i64>>);
    #[async_trait]
    impl Deliver for Counting {
        async fn deliver(&self, entry: &OutboxEntry, _: &str) -> Result<String, DeliveryError> {
            tokio::task::yield_now().await;
            self.0.lock().unwrap().push(entry.id);
            Ok(entry.id.to_string())
        }
    }
    let counting = Arc::new(Counting(Mutex::new(Vec::new())));
    let mut runs = tokio::task::JoinSet::new();
    for _ in 0..2 {
        let other = db.store().await;
        let limits = Arc::new(RateLimits::new(&LimitSettings {
            outbound_per_second: 50,
            ..LimitSettings::default()
        }));
        let dispatch = Dispatcher::new(other, counting.clone(), limits).with_clock(clock.clone());
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
    let mut total = 0;
    while let Some(sent) = runs.join_next().await {
        total += sent.unwrap();
    }
    let mut delivered = counting.0.lock().unwrap().clone();
    delivered.sort();
    let before = delivered.len();
    delivered.dedup();
    assert_eq!((before, delivered.len(), total), (120, 120, 120));
    assert_eq!(store.outbox_backlog().await.unwrap(), 0);
    db.cleanup().await;
}

async fn outbound_sends_wait_for_the_per_second_budget(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let store = db.store().await;
    let clock = Arc::new(TestClock::new());
    queue_notices(&store, &clock, 6).await;
    let platform = Arc::new(FakePlatform::default());
    let limits = Arc::new(RateLimits::new(&LimitSettings {
        outbound_per_second: 5,
        ..LimitSettings::default()
    }));
    let dispatch =
        Dispatcher::new(store.clone(), platform.clone(), limits).with_clock(clock.clone());
    assert_eq!(dispatch.run_once().await.unwrap().sent, 6);
    let posted = platform.posted.lock().unwrap().clone();
    // Five go at once; the sixth waits for the budget to refill (a fifth of a second).
    let gap = posted[5].2.duration_since(posted[0].2);
    assert!(gap >= std::time::Duration::from_millis(150), "{gap:?}");
    db.cleanup().await;
}
