//! The store's conformance suite: units of work applied whole or not at all, compare-and-set on
//! case versions, duplicates, group commit keeping each change's own outcome, per-case audit
//! chains under concurrent writers, checkpoints, tampering of every kind found by verification,
//! and staff corrections with the reads the training export makes. Every story runs on both
//! backends.

use casebot::domain::audit::{Action, Actor, NewAuditEvent};
use casebot::domain::change::{CustomerUpsert, CustomerWrite, MessageAuthor, NewMessage};
use casebot::domain::correction::{Correction, NewCorrection};
use casebot::domain::ids::{CaseId, CustomerId, StaffId, UserId};
use casebot::domain::message::sha256_hex;
use casebot::domain::{Applied, Case, Change, ChannelKind, Intent, Origin, OutboxKind, Outgoing};
use casebot::store::{Backend, Page, Store};
use chrono::{DateTime, Utc};

use crate::on_both_backends;
use crate::support::TestDb;

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap()
}

/// What intake writes for a new customer's first message, reduced to its parts.
fn first_message(user: &str, message_id: &str, text: &str) -> Change {
    let at = now();
    let mut case = Case::open(CustomerId::NEW, Origin::Dm, at);
    case.customer_messages = 1;
    let mut change = Change::at(at);
    change.customer = Some(CustomerUpsert {
        platform: "test".into(),
        user_id: UserId::new(user),
        display_name: format!("{user} name"),
    });
    change.new_case = Some(case);
    change
        .message(NewMessage {
            case_id: CaseId::NEW,
            customer_id: CustomerId::NEW,
            platform: "test".into(),
            platform_message_id: message_id.into(),
            channel_kind: ChannelKind::Dm,
            channel_id: format!("dm-{user}"),
            author: MessageAuthor::Customer,
            body: text.into(),
            body_sha256: sha256_hex(text.as_bytes()),
            sent_at: at,
        })
        .event(
            NewAuditEvent::new(at, Actor::customer(CustomerId::NEW), Action::CaseOpened)
                .on(CaseId::NEW),
        )
        .send(Outgoing::to_customer(
            CaseId::NEW,
            &UserId::new(user),
            OutboxKind::Reply,
            "hello".into(),
        ))
}

async fn open_case(store: &Store, user: &str) -> Case {
    let Applied::Done {
        case_id: Some(id), ..
    } = store
        .apply(first_message(user, &format!("{user}-1"), "hi"))
        .await
        .unwrap()
    else {
        panic!("the first message should open a case")
    };
    store.case(id).await.unwrap().unwrap()
}

/// One more event on a case, over the version read, retried until it applies.
async fn touch(store: &Store, case: CaseId, n: usize) {
    loop {
        let before = store.case(case).await.unwrap().unwrap();
        let mut after = before.clone();
        after.human_requests += 1;
        let event = NewAuditEvent::new(now(), Actor::system("test"), Action::CaseRouted)
            .on(case)
            .with(serde_json::json!({ "n": n }));
        match store
            .apply(Change::at(now()).update(&before, after).event(event))
            .await
            .unwrap()
        {
            Applied::Done { .. } => return,
            Applied::Conflict => continue,
            Applied::Duplicate => panic!("no message in this change"),
        }
    }
}

async fn a_first_message_opens_a_case_with_its_message_event_and_reply(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let store = db.store().await;
    let case = open_case(&store, "maya").await;
    let view = store.case_view(case.id).await.unwrap().unwrap();
    assert_eq!(view.customer.user_id, UserId::new("maya"));
    assert_eq!(view.case.version, 0);
    assert_eq!(store.messages(case.id).await.unwrap()[0].body, "hi");
    let outbox = store.outbox_of_case(case.id).await.unwrap();
    assert_eq!(outbox.len(), 1);
    let events = store
        .audit_events(Some(case.id), Page::first(10))
        .await
        .unwrap();
    assert_eq!(events[0].1.action, "case.opened");
    assert_eq!(events[0].1.chain, format!("case:{}", case.id));
    assert!(store.verify_audit(None).await.unwrap().is_intact());
    db.cleanup().await;
}

async fn an_update_over_a_stale_version_is_a_conflict_and_writes_nothing(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let store = db.store().await;
    let case = open_case(&store, "maya").await;
    touch(&store, case.id, 1).await;
    // `case` is now one version behind.
    let mut stale = case.clone();
    stale.human_requests = 99;
    let event = NewAuditEvent::new(now(), Actor::bot(), Action::CaseRouted).on(case.id);
    let outcome = store
        .apply(Change::at(now()).update(&case, stale).event(event))
        .await
        .unwrap();
    assert_eq!(outcome, Applied::Conflict);
    let stored = store.case(case.id).await.unwrap().unwrap();
    assert_eq!((stored.version, stored.human_requests), (1, 1));
    assert_eq!(
        store
            .audit_events(Some(case.id), Page::first(10))
            .await
            .unwrap()
            .len(),
        2
    );
    db.cleanup().await;
}

async fn a_message_stored_before_is_a_duplicate(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let store = db.store().await;
    let case = open_case(&store, "maya").await;
    let mut again = first_message("maya", "maya-1", "hi");
    // The same message reaching an existing case.
    again.customer = None;
    again.new_case = None;
    again.messages[0].case_id = case.id;
    again.messages[0].customer_id = case.customer_id;
    again.events[0] = NewAuditEvent::new(now(), Actor::bot(), Action::MessageReceived).on(case.id);
    again.outbox.clear();
    assert_eq!(store.apply(again).await.unwrap(), Applied::Duplicate);
    assert_eq!(store.counts().await.unwrap().messages, 1);
    assert!(store.verify_audit(None).await.unwrap().is_intact());
    db.cleanup().await;
}

async fn a_second_active_case_for_one_customer_is_a_conflict(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let store = db.store().await;
    open_case(&store, "maya").await;
    let outcome = store
        .apply(first_message("maya", "maya-2", "again"))
        .await
        .unwrap();
    assert_eq!(outcome, Applied::Conflict);
    assert_eq!(store.counts().await.unwrap().cases, 1);
    db.cleanup().await;
}

async fn a_batch_with_one_failing_change_commits_the_rest(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let store = db.store().await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..40 {
        let store = store.clone();
        tasks.spawn(async move {
            let mut change = first_message(&format!("c{i}"), &format!("m{i}"), "hello");
            if i == 17 {
                // A message on a case that does not exist: the database refuses it.
                change.new_case = None;
                change.events.clear();
                change.outbox.clear();
                change.messages[0].case_id = CaseId(999_999);
            }
            (i, store.apply(change).await)
        });
    }
    let mut failed = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (i, outcome) = joined.unwrap();
        match outcome {
            Ok(Applied::Done { .. }) => {}
            Ok(other) => panic!("change {i}: {other:?}"),
            Err(_) => failed.push(i),
        }
    }
    assert_eq!(failed, [17]);
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.cases, counts.messages), (39, 39));
    assert!(store.verify_audit(None).await.unwrap().is_intact());
    db.cleanup().await;
}

async fn concurrent_writers_on_one_case_keep_its_chain_intact(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    // Two pools: two processes.
    let (a, b) = (db.store().await, db.store().await);
    let case = open_case(&a, "maya").await;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..20 {
        let store = if n % 2 == 0 { a.clone() } else { b.clone() };
        tasks.spawn(async move { touch(&store, case.id, n).await });
    }
    while tasks.join_next().await.is_some() {}
    let stored = a.case(case.id).await.unwrap().unwrap();
    assert_eq!((stored.version, stored.human_requests), (20, 20));
    let events = a
        .audit_events(Some(case.id), Page::first(100))
        .await
        .unwrap();
    let seqs: Vec<i64> = events.iter().map(|(_, e)| e.seq).collect();
    assert_eq!(seqs, (1..=21).collect::<Vec<_>>());
    let report = a.verify_audit(None).await.unwrap();
    assert!(report.is_intact(), "{:?}", report.problems);
    db.cleanup().await;
}

/// Two processes (two pools on one database) sending with one bot token draw from one bucket:
/// together they never go faster than the budget allows.
async fn two_processes_share_one_outbound_budget(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let (first, second) = (db.store().await, db.store().await);
    let (per_second, each) = (20.0, 30);
    let started = std::time::Instant::now();
    let take_all = |store: Store| async move {
        let mut taken = Vec::new();
        for _ in 0..each {
            while let Some(wait) = store
                .take_outbound("bot:test", per_second, per_second)
                .await
                .unwrap()
            {
                tokio::time::sleep(wait).await;
            }
            taken.push(started.elapsed());
        }
        taken
    };
    let (a, b) = tokio::join!(take_all(first), take_all(second));
    let mut all: Vec<_> = a.into_iter().chain(b).collect();
    all.sort();
    // A full bucket (20) goes at once; the other 40 need the refill: two seconds at 20 a second.
    let spent = all.last().unwrap().as_secs_f64();
    assert!(
        spent >= 1.8,
        "60 requests at 20 a second with a burst of 20 took only {spent:.2} s"
    );
    for (i, at) in all.iter().enumerate() {
        let within_a_second = all[i..]
            .iter()
            .take_while(|t| t.as_secs_f64() < at.as_secs_f64() + 1.0)
            .count();
        assert!(
            within_a_second <= 41,
            "{within_a_second} requests within one second from {at:?}"
        );
    }
    db.cleanup().await;
}

on_both_backends!(
    two_processes_share_one_outbound_budget,
    a_first_message_opens_a_case_with_its_message_event_and_reply,
    an_update_over_a_stale_version_is_a_conflict_and_writes_nothing,
    a_message_stored_before_is_a_duplicate,
    a_second_active_case_for_one_customer_is_a_conflict,
    a_batch_with_one_failing_change_commits_the_rest,
    concurrent_writers_on_one_case_keep_its_chain_intact,
    corrections_are_written_with_their_change_or_not_at_all_and_read_back_in_order,
    corrected_cases_come_a_page_at_a_time_with_their_first_text_and_routing_record,
);

/// A correction of `case` by ana, over the version `case` was read at.
fn correction(case: &Case, correction: Correction) -> Change {
    let mut after = case.clone();
    if let Correction::Intent { to, .. } = correction {
        after.intent = Some(to);
    }
    let event = NewAuditEvent::new(
        now(),
        Actor::staff(&StaffId::new("ana")),
        correction.audit_action(),
    )
    .on(case.id);
    Change::at(now())
        .update(case, after)
        .correct(NewCorrection {
            case_id: case.id,
            staff: StaffId::new("ana"),
            correction,
        })
        .event(event)
}

const TO_REFUND: Correction = Correction::Intent {
    from: None,
    to: Intent::Refund,
};

async fn corrections_are_written_with_their_change_or_not_at_all_and_read_back_in_order(
    backend: Backend,
) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let store = db.store().await;
    let case = open_case(&store, "maya").await;
    assert_eq!(store.correction_counts().await.unwrap(), (0, 0));
    let outcome = store.apply(correction(&case, TO_REFUND)).await.unwrap();
    assert!(matches!(outcome, Applied::Done { .. }));
    // `case` is a version behind now: a correction over it is refused whole.
    let stale = store.apply(correction(&case, Correction::NoPerson)).await;
    assert_eq!(stale.unwrap(), Applied::Conflict);
    assert_eq!(store.corrections(case.id).await.unwrap().len(), 1);

    let current = store.case(case.id).await.unwrap().unwrap();
    assert_eq!(current.intent, Some(Intent::Refund));
    store
        .apply(correction(&current, Correction::NoPerson))
        .await
        .unwrap();
    let stored = store.corrections(case.id).await.unwrap();
    let kinds: Vec<Correction> = stored.iter().map(|c| c.correction).collect();
    assert_eq!(kinds, [TO_REFUND, Correction::NoPerson]);
    assert!(stored
        .iter()
        .all(|c| c.staff.as_str() == "ana" && c.case_id == case.id));
    assert!(stored[0].at <= stored[1].at);
    let view = store.case_view(case.id).await.unwrap().unwrap();
    assert_eq!(view.corrections, stored);
    assert_eq!(store.correction_counts().await.unwrap(), (1, 1));
    let metrics = store.metrics().await.unwrap();
    assert_eq!(
        (metrics.intent_corrections, metrics.no_person_corrections),
        (1, 1)
    );
    assert!(store.verify_audit(None).await.unwrap().is_intact());
    db.cleanup().await;
}

async fn corrected_cases_come_a_page_at_a_time_with_their_first_text_and_routing_record(
    backend: Backend,
) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let store = db.store().await;
    let maya = open_case(&store, "maya").await;
    let omar = open_case(&store, "omar").await;
    let lin = open_case(&store, "lin").await;
    for (n, frustrated) in [(1, true), (2, false)] {
        let details = serde_json::json!({ "intent": "order_tracking", "escalate": n == 1,
            "frustration": frustrated, "urgency": false });
        let routed = NewAuditEvent::new(now(), Actor::bot(), Action::CaseRouted)
            .on(maya.id)
            .with(details);
        store.apply(Change::at(now()).event(routed)).await.unwrap();
    }
    store.apply(correction(&maya, TO_REFUND)).await.unwrap();
    store
        .apply(correction(&lin, Correction::NoPerson))
        .await
        .unwrap();
    let erase = Change::at(now()).customer(CustomerWrite::Erased {
        customer_id: lin.customer_id,
    });
    store.apply(erase).await.unwrap();

    let first = store.corrected_cases(Page::first(1)).await.unwrap();
    assert_eq!(first.len(), 1);
    let m = &first[0];
    assert_eq!(m.case_id, maya.id);
    assert_eq!(m.text.as_deref(), Some("hi"));
    let routing = m.routing.expect("maya's case was routed");
    assert_eq!(routing.intent, Some(Intent::OrderTracking));
    assert_eq!(
        (routing.escalate, routing.frustration),
        (Some(true), true),
        "the first routing record"
    );
    assert_eq!(m.corrected_intent, Some(Intent::Refund));
    assert!(!m.no_person);

    let page = Page {
        after: maya.id.get(),
        limit: 1,
    };
    let second = store.corrected_cases(page).await.unwrap();
    assert_eq!(second.len(), 1, "omar's case has no correction");
    let l = &second[0];
    assert_eq!(l.case_id, lin.id);
    assert_eq!(l.text, None, "an erased message is not exported");
    assert_eq!((l.routing, l.corrected_intent), (None, None));
    assert!(l.no_person);
    let page = Page {
        after: lin.id.get(),
        limit: 1,
    };
    assert!(store.corrected_cases(page).await.unwrap().is_empty());
    assert!(omar.id < lin.id, "the page skipped a case between the two");
    db.cleanup().await;
}
