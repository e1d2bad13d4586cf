//! Staff corrections of routing: a wrong intent or a hand-over that needed no person is stored,
//! audited, shown on the case and counted in `/metrics`; only the team may correct; and the
//! corrected cases export as labelled CSV that `casebot train --labels` takes.

use std::path::Path;

use casebot::domain::correction::Correction;
use casebot::domain::staff::{AuthError, Role};
use casebot::domain::{CaseId, Intent, OutboxKind};
use casebot::metrics;
use casebot::render::case::{case_text, CaseRecord};
use casebot::services::ActionError;
use casebot::store::Backend;

use crate::on_both_backends;
use crate::support::app::TestApp;

on_both_backends!(
    a_staff_member_corrects_the_intent_and_it_is_stored_audited_shown_and_counted,
    someone_off_the_team_cannot_correct_and_only_the_refusal_is_recorded,
    didnt_need_a_person_is_recorded_once_and_only_on_a_case_that_went_to_a_person,
    the_corrections_command_line_exports_csv_that_train_accepts,
);

const HACKED: &str = "Someone hacked my account and changed my password, I need a person now";

/// A customer whose first message routing hands to a person.
async fn escalated(t: &TestApp, user: &str) -> CaseId {
    let handled = t.dm(user, HACKED).await;
    assert!(handled.routed.as_ref().is_some_and(|r| r.escalated));
    handled.case_id
}

async fn card_refreshes(t: &TestApp, case: CaseId) -> usize {
    t.outbox(case)
        .await
        .iter()
        .filter(|e| e.kind == OutboxKind::CaseCard)
        .count()
}

fn details(event: &casebot::domain::AuditEvent) -> serde_json::Value {
    serde_json::from_str(&event.details).unwrap()
}

async fn metrics_page(t: &TestApp) -> String {
    metrics::render(&t.store().metrics().await.unwrap(), &t.app.latency)
}

async fn a_staff_member_corrects_the_intent_and_it_is_stored_audited_shown_and_counted(
    backend: Backend,
) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    let ana = t.staff("ana", Role::Staff).await;
    let case = escalated(&t, "u1").await;
    let routed = t.case(case).await.intent.expect("routing read an intent");
    assert_ne!(routed, Intent::Refund);
    let cards_before = card_refreshes(&t, case).await;

    let done = t
        .app
        .staff
        .correct_intent(case, &ana, Intent::Refund)
        .await
        .unwrap();

    let expected = Correction::Intent {
        from: Some(routed),
        to: Intent::Refund,
    };
    assert_eq!(done, expected);
    assert_eq!(t.case(case).await.intent, Some(Intent::Refund));
    let stored = t.store().corrections(case).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (stored[0].staff.as_str(), stored[0].correction),
        ("ana", expected)
    );
    let event = t
        .events(case)
        .await
        .into_iter()
        .find(|e| e.action == "intent.corrected")
        .expect("the correction is audited");
    assert_eq!(event.actor_id, "ana");
    let details = details(&event);
    assert_eq!(details["to"], "refund");
    assert_eq!(details["from"], routed.as_str());
    assert_eq!(
        card_refreshes(&t, case).await,
        cards_before + 1,
        "the card is refreshed once"
    );
    let later = t.dm("u1", "my account was hacked, anyone there?").await;
    assert_eq!(later.case_id, case);
    assert_eq!(
        t.case(case).await.intent,
        Some(Intent::Refund),
        "routing leaves an intent staff corrected as they set it"
    );

    let view = t.view(case).await;
    let text = case_text(&CaseRecord {
        view: &view,
        messages: &t.store().messages(case).await.unwrap(),
        notes: &[],
        trail: &[],
    });
    let line = format!("intent {routed} → refund by ana");
    assert!(text.contains(&line), "{text}");
    let page = metrics_page(&t).await;
    assert!(
        page.contains("casebot_corrections_total{kind=\"intent\"} 1"),
        "{page}"
    );
    assert!(
        page.contains("casebot_corrections_total{kind=\"no_person\"} 0"),
        "{page}"
    );
    t.assert_log_intact().await;
    t.cleanup().await;
}

async fn someone_off_the_team_cannot_correct_and_only_the_refusal_is_recorded(backend: Backend) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    let case = escalated(&t, "u1").await;
    let before = t.case(case).await;
    let eve = casebot::domain::StaffId::new("eve");

    let intent = t.app.staff.correct_intent(case, &eve, Intent::Refund).await;
    let no_person = t.app.staff.correct_no_person(case, &eve).await;

    for refused in [intent, no_person] {
        assert!(
            matches!(
                refused,
                Err(ActionError::Unauthorized(AuthError::NotStaff { ref who })) if who.as_str() == "eve"
            ),
            "{refused:?}"
        );
    }
    let after = t.case(case).await;
    assert_eq!(
        (after.intent, after.version),
        (before.intent, before.version)
    );
    assert!(t.store().corrections(case).await.unwrap().is_empty());
    let events = t.events(case).await;
    assert!(!events
        .iter()
        .any(|e| e.action == "intent.corrected" || e.action == "handover.corrected"));
    let attempted: Vec<String> = events
        .iter()
        .filter(|e| e.action == "auth.refused")
        .filter_map(|e| details(e)["attempted"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(attempted, ["intent.corrected", "handover.corrected"]);
    assert_eq!(t.store().metrics().await.unwrap().intent_corrections, 0);
    t.cleanup().await;
}

async fn didnt_need_a_person_is_recorded_once_and_only_on_a_case_that_went_to_a_person(
    backend: Backend,
) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    let ana = t.staff("ana", Role::Staff).await;
    let lee = t.staff("lee", Role::Lead).await;
    let self_served = t.dm("u1", "hi, what are your opening hours?").await;
    assert!(!self_served.routed.as_ref().unwrap().escalated);
    let never = t
        .app
        .staff
        .correct_no_person(self_served.case_id, &ana)
        .await;
    assert!(
        matches!(never, Err(ActionError::Invalid(ref why)) if why.contains("never handed to a person")),
        "{never:?}"
    );

    let case = escalated(&t, "u2").await;
    let state = t.case(case).await.state;
    let done = t.app.staff.correct_no_person(case, &ana).await.unwrap();
    assert_eq!(done, Correction::NoPerson);
    assert_eq!(
        t.case(case).await.state,
        state,
        "the case stays with staff to finish"
    );
    let again = t.app.staff.correct_no_person(case, &lee).await;
    assert!(
        matches!(again, Err(ActionError::Invalid(ref why)) if why.contains("already")),
        "{again:?}"
    );
    let view = t.view(case).await;
    assert_eq!(view.corrections.len(), 1);
    assert_eq!(view.corrections[0].staff.as_str(), "ana");
    assert_eq!(
        t.trail(case)
            .await
            .iter()
            .filter(|a| *a == "handover.corrected")
            .count(),
        1
    );
    let page = metrics_page(&t).await;
    assert!(
        page.contains("casebot_corrections_total{kind=\"no_person\"} 1"),
        "{page}"
    );
    t.cleanup().await;
}

/// Runs the casebot binary on the test's database: its exit code and what it printed.
async fn casebot(t: &TestApp, dir: &Path, args: &[&str]) -> (i32, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_casebot"))
        .args(args)
        .current_dir(dir)
        .env("DATABASE_URL", &t.db.url)
        .env_remove("CASEBOT_CONFIG")
        .output()
        .await
        .expect("casebot runs");
    let printed = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code().unwrap_or(-1), printed)
}

async fn the_corrections_command_line_exports_csv_that_train_accepts(backend: Backend) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    t.staff("ana", Role::Staff).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cases = Vec::new();
    for user in ["u1", "u2", "u3", "u4"] {
        cases.push(escalated(&t, user).await);
    }
    // A fifth case nobody corrects.
    escalated(&t, "u5").await;
    let corrections: [&[&str]; 4] = [
        &["--intent", "refund"],
        &["--intent", "refund"],
        &["--intent", "missing_delivery"],
        &["--no-person"],
    ];
    for (case, how) in cases.iter().zip(corrections) {
        let id = case.to_string();
        let mut args = vec!["case", "correct", id.as_str(), "--as", "ana"];
        args.extend_from_slice(how);
        let (code, printed) = casebot(&t, dir.path(), &args).await;
        assert_eq!(code, 0, "{printed}");
        assert!(printed.contains("kept for retraining"), "{printed}");
    }
    let (code, printed) = casebot(
        &t,
        dir.path(),
        &[
            "case", "correct", "1", "--intent", "refund", "--as", "mallory",
        ],
    )
    .await;
    assert_ne!(code, 0, "someone off the team is refused: {printed}");
    let shown = cases[0].to_string();
    let (code, printed) = casebot(&t, dir.path(), &["case", "show", shown.as_str()]).await;
    assert_eq!(code, 0, "{printed}");
    assert!(
        printed.contains("→ refund by ana"),
        "case show names the correction: {printed}"
    );

    let (code, printed) = casebot(
        &t,
        dir.path(),
        &["train", "--export-corrections", "corrections.csv"],
    )
    .await;
    assert_eq!(code, 0, "{printed}");
    assert!(printed.contains("wrote 4 corrected case(s)"), "{printed}");
    assert!(
        !printed.contains("hacked"),
        "the command prints no customer text: {printed}"
    );
    let exported = std::fs::read_to_string(dir.path().join("corrections.csv")).unwrap();
    let mut lines = exported.lines();
    assert_eq!(
        lines.next(),
        Some("text,intent,escalate,frustration,urgency")
    );
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.rsplitn(5, ',').map(str::to_owned).collect())
        .collect();
    let intents: Vec<&str> = rows.iter().map(|r| r[3].as_str()).collect();
    assert_eq!(intents[..3], ["refund", "refund", "missing_delivery"]);
    let escalate: Vec<&str> = rows.iter().map(|r| r[2].as_str()).collect();
    assert_eq!(escalate, ["yes", "yes", "yes", "no"]);
    assert!(rows.iter().all(|r| r[4].contains("hacked my account")));
    assert_eq!(rows.len(), 4, "only corrected cases are exported");

    let (code, printed) = casebot(
        &t,
        dir.path(),
        &[
            "train",
            "--labels",
            "corrections.csv",
            "--out",
            "shop.model",
            "--folds",
            "2",
        ],
    )
    .await;
    assert_eq!(code, 0, "train takes the export: {printed}");
    assert!(printed.contains("trained on 4 examples"), "{printed}");
    assert!(dir.path().join("shop.model").exists());
    t.cleanup().await;
}
