//! General help without Discord: what a greeting, a phishing question, a first request for a
//! person and a message with two needs are answered; the customer's answer to a help article,
//! and nobody else's; and a help folder that does not parse, refused at start with exit 2.

use std::path::Path;

use casebot::domain::routing::help;
use casebot::domain::{CaseState, Flow, Intent, OutboxKind, UserId};
use casebot::services::customers::{CustomerAction, ARTICLE_DID_NOT_HELP};
use casebot::services::ActionError;
use casebot::store::Backend;

use crate::on_both_backends;
use crate::support::app::{Setup, TestApp};

on_both_backends!(
    a_greeting_alone_is_answered_with_a_question_about_what_they_need,
    a_question_about_a_message_claiming_to_be_the_shop_says_how_to_report_it,
    a_first_request_for_a_person_offers_one_at_once_and_says_how_it_works,
    a_message_with_two_needs_answers_the_first_and_notes_the_second,
    a_help_article_is_answered_only_by_the_customer_of_the_case,
    an_article_that_did_not_help_goes_to_the_queue_in_one_change_with_its_card,
);

async fn a_greeting_alone_is_answered_with_a_question_about_what_they_need(backend: Backend) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    for (user, text) in [
        ("u1", "hi"),
        ("u2", "hello there"),
        ("u3", "hey amazon"),
        ("u4", "good morning"),
    ] {
        let routed = t.dm(user, text).await.routed.expect("routed");
        assert_eq!(routed.flow, Some(Flow::GeneralHelp), "{text}");
        assert!(
            routed.reply.contains("What can I help you with") && routed.reply.contains('?'),
            "{text}: {}",
            routed.reply
        );
        assert!(!routed.reply.contains("noted"), "{text}: {}", routed.reply);
        assert!(!routed.escalated);
    }
    t.cleanup().await;
}

async fn a_question_about_a_message_claiming_to_be_the_shop_says_how_to_report_it(
    backend: Backend,
) {
    let setup = Setup {
        env: vec![(
            "CASEBOT__HELP__PHISHING_REPORT_ADDRESS".into(),
            "report@shop.example".into(),
        )],
        ..Setup::default()
    };
    let Some(t) = TestApp::with(backend, setup).await else {
        return;
    };
    let routed = t
        .dm(
            "u1",
            "got a text saying my account is locked, is it you? is this real?",
        )
        .await
        .routed
        .expect("routed");
    assert_eq!(routed.intent, Intent::PhishingReport);
    for part in [
        "password",
        "one-time codes",
        "gift card",
        "report@shop.example",
    ] {
        assert!(routed.reply.contains(part), "{part}: {}", routed.reply);
    }
    assert!(!routed.escalated, "no details were given away");
    t.cleanup().await;
}

async fn a_first_request_for_a_person_offers_one_at_once_and_says_how_it_works(backend: Backend) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    let handled = t.dm("u1", "can I talk to a person please").await;
    let routed = handled.routed.expect("routed");
    assert!(routed.offer_human && !routed.escalated);
    for part in [
        "\"Talk to a person\"",
        "replies in this chat",
        "within 1 hour",
    ] {
        assert!(routed.reply.contains(part), "{part}: {}", routed.reply);
    }
    assert!(
        !routed.reply.contains("just say so"),
        "one explanation, not two: {}",
        routed.reply
    );
    // The reply is sent as an offer, which carries the "Talk to a person" button.
    let outbox = t.outbox(handled.case_id).await;
    assert!(
        outbox.iter().any(|e| e.kind == OutboxKind::Offer),
        "{outbox:?}"
    );
    t.cleanup().await;
}

async fn a_message_with_two_needs_answers_the_first_and_notes_the_second(backend: Backend) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    let handled = t
        .dm(
            "u1",
            "I need to change my shipping address on my order, and I want a refund for the broken lamp",
        )
        .await;
    let routed = handled.routed.expect("routed");
    let second = routed.second_need.expect("a second need");
    assert_ne!(second, routed.intent);
    assert!(
        routed.reply.contains("You also mentioned") && routed.reply.contains("noted"),
        "{}",
        routed.reply
    );
    let events = t.events(handled.case_id).await;
    let routed_event = events
        .iter()
        .find(|e| e.action == "case.routed")
        .expect("the routing is audited");
    let details: serde_json::Value = serde_json::from_str(&routed_event.details).unwrap();
    assert_eq!(details["second_need"], second.as_str());
    t.cleanup().await;
}

async fn a_help_article_is_answered_only_by_the_customer_of_the_case(backend: Backend) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    let handled = t.dm("u1", "my kindle won't turn on").await;
    let case = handled.case_id;
    assert_eq!(
        handled.routed.and_then(|r| r.article).as_deref(),
        Some("device-wont-turn-on")
    );
    let stranger = UserId::new("u2");
    for action in [CustomerAction::ArticleHelped, CustomerAction::StillNeedHelp] {
        let refused = t.app.customers.act(case, &stranger, action).await;
        assert!(
            matches!(refused, Err(ActionError::NotYourCase(c)) if c == case),
            "{refused:?}"
        );
    }
    assert_eq!(t.case(case).await.state, CaseState::Open);
    let helped = t
        .app
        .customers
        .act(case, &UserId::new("u1"), CustomerAction::ArticleHelped)
        .await
        .unwrap();
    assert_eq!(helped, CaseState::Resolved);
    let trail = t.trail(case).await;
    assert!(
        trail.iter().any(|a| a == "help.answered") && trail.iter().any(|a| a == "case.resolved"),
        "{trail:?}"
    );
    t.assert_log_intact().await;
    t.cleanup().await;
}

async fn an_article_that_did_not_help_goes_to_the_queue_in_one_change_with_its_card(
    backend: Backend,
) {
    let Some(t) = TestApp::spawn(backend).await else {
        return;
    };
    let case = t.dm("u1", "my kindle won't turn on").await.case_id;
    let state = t
        .app
        .customers
        .act(case, &UserId::new("u1"), CustomerAction::StillNeedHelp)
        .await
        .unwrap();
    assert_eq!(state, CaseState::Escalated);
    let escalated = t.case(case).await;
    assert!(
        escalated
            .escalation_reasons
            .iter()
            .any(|r| r == ARTICLE_DID_NOT_HELP),
        "{:?}",
        escalated.escalation_reasons
    );
    let events = t.events(case).await;
    let escalation = events
        .iter()
        .find(|e| e.action == "case.escalated")
        .expect("the hand-over is audited");
    let details: serde_json::Value = serde_json::from_str(&escalation.details).unwrap();
    assert_eq!(details["reason"], ARTICLE_DID_NOT_HELP);
    assert!(t
        .outbox(case)
        .await
        .iter()
        .any(|e| e.kind == OutboxKind::CaseCard));
    t.cleanup().await;
}

#[test]
fn the_built_in_articles_are_the_shipped_help_folder() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("help");
    let shipped = casebot::config::load_articles(&folder).expect("the help folder loads");
    assert_eq!(shipped, help::builtin());
}

#[tokio::test]
async fn a_help_file_that_does_not_parse_is_refused_at_start_naming_the_file_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let articles = dir.path().join("help");
    std::fs::create_dir(&articles).unwrap();
    std::fs::write(
        articles.join("gift-cards.md"),
        "+++\ntitle = \"Gift cards\"\nintents = [\"gifts\"]\nkeywords = [\"gift card\"]\n+++\nBody\n",
    )
    .unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_casebot"))
        .args(["config", "check"])
        .current_dir(dir.path())
        .env("CASEBOT__HELP__ARTICLES_DIR", &articles)
        .env_remove("DATABASE_URL")
        .output()
        .await
        .expect("casebot runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("gift-cards.md"), "{stderr}");
    assert!(
        stderr.contains("field `intents`: unknown intent \"gifts\""),
        "{stderr}"
    );
}
