//! Tests of the general-help replies: small talk, hand-overs, phishing, articles, second needs.

use super::*;
use crate::domain::routing::classify::{cue_scores, normalise};

fn asked(intent: Intent, text: &str) -> Asked<'_> {
    Asked {
        intent,
        text,
        offer_human: false,
        escalate: false,
        priority: Priority::Normal,
        with_staff: false,
    }
}

fn answer(intent: Intent, text: &str) -> Answer {
    general_help(&asked(intent, text), &HelpDesk::default())
}

#[test]
fn a_greeting_alone_is_recognised_and_a_question_with_a_need_is_not() {
    let table = [
        ("hi", Some(SmallTalk::Greeting)),
        ("Hello there!", Some(SmallTalk::Greeting)),
        ("hey amazon", Some(SmallTalk::Greeting)),
        ("Good morning", Some(SmallTalk::Greeting)),
        ("hiii", Some(SmallTalk::Greeting)),
        ("heyyy team, how are you?", Some(SmallTalk::Greeting)),
        ("hi 👋", Some(SmallTalk::Greeting)),
        ("thanks a lot!", Some(SmallTalk::Thanks)),
        ("ok thank you so much for the help", Some(SmallTalk::Thanks)),
        ("hi, where is my order?", None),
        ("hi refund", None),
        ("hello tracking", None),
        ("hello I need a refund", None),
        ("hey amazon my kindle won't turn on", None),
        ("good product but arrived late", None),
        ("thanks for nothing", None),
        ("this", None),
        ("", None),
        ("👋", None),
    ];
    for (text, expected) in table {
        assert_eq!(small_talk(text), expected, "{text:?}");
    }
}

#[test]
fn a_greeting_gets_a_question_with_examples_never_a_bare_acknowledgement() {
    for text in ["hi", "hello there", "hey amazon", "good morning"] {
        let a = answer(Intent::Other, text);
        assert_eq!(a.reply, GREETING_REPLY, "{text}");
        assert!(a.reply.contains('?') && a.reply.contains("tracking an order"));
        assert!(!a.reply.contains("noted"));
        assert_eq!(a.next, Next::Done);
    }
}

#[test]
fn a_first_request_for_a_person_explains_the_hand_over_with_the_target() {
    let a = general_help(
        &Asked {
            offer_human: true,
            ..asked(Intent::HumanRequest, "can I talk to a person")
        },
        &HelpDesk::default(),
    );
    assert!(a.explains_handover);
    for part in [
        "\"Talk to a person\"",
        "replies in this chat",
        "within 1 hour",
    ] {
        assert!(a.reply.contains(part), "{part}: {}", a.reply);
    }
    let urgent = Asked {
        offer_human: true,
        priority: Priority::Urgent,
        ..asked(Intent::HumanRequest, "a person please")
    };
    let a = general_help(&urgent, &HelpDesk::default());
    assert!(a.reply.contains("within 5 minutes"), "{}", a.reply);
}

#[test]
fn a_hand_over_without_a_known_target_promises_no_time() {
    let reply = handover_reply(None);
    assert!(!reply.contains("within"), "{reply}");
    assert!(reply.contains("replies in this chat"), "{reply}");
    assert_eq!(span(Duration::hours(72)), "3 days");
    assert_eq!(span(Duration::minutes(90)), "90 minutes");
    assert_eq!(span(Duration::hours(2)), "2 hours");
}

#[test]
fn a_phishing_question_says_what_is_never_asked_for_and_how_to_report_it() {
    let desk = HelpDesk {
        phishing_report_to: Some("report@shop.example".into()),
        ..HelpDesk::default()
    };
    let a = general_help(&asked(Intent::PhishingReport, "is this email real?"), &desk);
    for part in [
        "password",
        "one-time codes",
        "card number",
        "gift card",
        "forward it to report@shop.example",
    ] {
        assert!(a.reply.contains(part), "{part}: {}", a.reply);
    }
    let without = answer(
        Intent::PhishingReport,
        "got a text saying my account is locked, is it you?",
    );
    assert!(without.reply.contains("delete it"), "{}", without.reply);
    assert!(!without.reply.contains("forward"), "{}", without.reply);
    assert!(
        without.reply.chars().count() < 500,
        "short: {}",
        without.reply
    );
}

#[test]
fn a_matching_article_is_shown_with_what_its_buttons_do() {
    let a = answer(Intent::TechnicalIssue, "my kindle won't turn on");
    assert_eq!(a.article.as_deref(), Some("device-wont-turn-on"));
    assert!(a.explains_handover);
    assert!(
        a.reply.starts_with("**A device that won't turn on**\n"),
        "{}",
        a.reply
    );
    assert!(a.reply.contains("\"That helped\"") && a.reply.contains("\"I still need help\""));
}

#[test]
fn without_an_article_each_help_intent_gets_a_useful_reply() {
    let table = [
        (Intent::TechnicalIssue, "my headphones sound muffled", true),
        (Intent::ProductQuestion, "is this jacket waterproof?", true),
        (Intent::Other, "something happened", false),
    ];
    for (intent, text, offers) in table {
        let a = answer(intent, text);
        assert!(a.article.is_none(), "{text}");
        assert!(!a.reply.is_empty(), "{text}");
        assert_eq!(matches!(a.next, Next::OfferHuman { .. }), offers, "{text}");
    }
}

#[test]
fn no_general_help_reply_is_empty_unless_a_person_already_answers() {
    for intent in Intent::BY_PRECEDENCE {
        for text in ["", "hi", "help", "my kindle won't turn on", "asdf qwerty"] {
            let a = general_help(
                &Asked {
                    offer_human: true,
                    ..asked(intent, text)
                },
                &HelpDesk::default(),
            );
            assert!(!a.reply.is_empty(), "{intent}: {text:?}");
        }
    }
    let with_staff = Asked {
        with_staff: true,
        ..asked(Intent::Other, "hi")
    };
    assert_eq!(general_help(&with_staff, &HelpDesk::default()).reply, "");
}

fn second(primary: Intent, text: &str) -> Option<Intent> {
    second_need(primary, &cue_scores(&normalise(text)))
}

#[test]
fn a_clear_second_need_is_found_and_one_need_in_two_words_is_not() {
    let table = [
        (
            Intent::Refund,
            "I want a refund for the blender and I also need to change my shipping address",
            Some(Intent::AddressChange),
        ),
        (
            Intent::AddressChange,
            "please change my delivery address, and I forgot my password",
            Some(Intent::TechnicalIssue),
        ),
        (
            Intent::OrderTracking,
            "where is my order? also I was charged twice for it",
            Some(Intent::BillingSubscription),
        ),
        // One need, said with words of two intents of the same group.
        (
            Intent::Refund,
            "the item arrived broken and I want a refund",
            None,
        ),
        (
            Intent::LateDelivery,
            "my parcel is late, where is my order",
            None,
        ),
        // A passing word is not a need.
        (Intent::OrderTracking, "where is my kindle order", None),
        // Security goes to a person, who reads everything.
        (
            Intent::AccountSecurity,
            "someone hacked my account and I want a refund",
            None,
        ),
    ];
    for (primary, text, expected) in table {
        assert_eq!(second(primary, text), expected, "{text}");
    }
}

#[test]
fn the_second_need_note_says_who_takes_it_up() {
    let to_person = second_need_note(Intent::AddressChange, true);
    assert!(to_person.contains("changing an address"), "{to_person}");
    assert!(
        to_person.contains("the person who picks it up"),
        "{to_person}"
    );
    let to_bot = second_need_note(Intent::Refund, false);
    assert!(
        to_bot.contains("a refund") && to_bot.contains("ask me"),
        "{to_bot}"
    );
}
