//! Tests of the help articles: their format, the shipped set, and matching messages to them.

use super::*;

fn article(text: &str) -> Result<HelpArticle, HelpError> {
    parse_article("sample.md", text)
}

const SAMPLE: &str =
    "+++\ntitle = \"Sample\"\nintents = [\"other\"]\nkeywords = [\"gift card\"]\n+++\nBody.\n";

#[test]
fn every_shipped_article_parses_and_fits_one_discord_message() {
    let all = builtin();
    assert_eq!(all.len(), BUILTIN.len());
    for a in &all {
        let reply = format!("**{}**\n{}", a.title, a.body);
        assert!(reply.chars().count() < 1_700, "{} is too long", a.id);
        assert!(
            a.intents.iter().any(|i| HELP_INTENTS.contains(i)),
            "{} can never be shown",
            a.id
        );
    }
}

#[test]
fn an_article_has_a_title_intents_keywords_and_a_body() {
    let a = article(SAMPLE).unwrap();
    assert_eq!(a.id, "sample");
    assert_eq!(a.title, "Sample");
    assert_eq!(a.intents, [Intent::Other]);
    assert_eq!(a.keywords, [vec!["gift".to_owned(), "card".to_owned()]]);
    assert_eq!(a.body, "Body.");
}

#[test]
fn a_bad_article_is_refused_naming_the_file_and_the_field() {
    let table = [
        ("title = \"x\"", "no front matter", "front matter"),
        (
            "+++\ntitle = \"x\"\nintents = [\"other\"]\nkeywords = [\"a b\"]\nBody",
            "unclosed front matter",
            "front matter",
        ),
        (
            "+++\ntitle = \"\"\nintents = [\"other\"]\nkeywords = [\"a b\"]\n+++\nBody",
            "an empty title",
            "title",
        ),
        (
            "+++\ntitle = \"x\"\nintents = [\"shipping\"]\nkeywords = [\"a b\"]\n+++\nBody",
            "an unknown intent",
            "intents",
        ),
        (
            "+++\ntitle = \"x\"\nintents = []\nkeywords = [\"a b\"]\n+++\nBody",
            "no intents",
            "intents",
        ),
        (
            "+++\ntitle = \"x\"\nintents = [\"other\"]\nkeywords = [\"!!\"]\n+++\nBody",
            "a keyword without words",
            "keywords",
        ),
        (
            "+++\ntitle = \"x\"\nintents = [\"other\"]\nkeywords = [\"a b\"]\n+++\n  \n",
            "an empty body",
            "body",
        ),
        (
            "+++\ntitle = \"x\"\nintents = [\"other\"]\nkeywords = [\"a b\"]\ncolour = 1\n+++\nBody",
            "an unknown field",
            "front matter",
        ),
    ];
    for (text, what, field) in table {
        let err = article(text).expect_err(what);
        assert_eq!(err.field, field, "{what}: {err}");
        assert!(
            err.to_string().starts_with("help article sample.md, field"),
            "{err}"
        );
    }
    let err = parse_article("Gift Cards.md", SAMPLE).unwrap_err();
    assert_eq!(err.field, "file name");
}

#[test]
fn messages_get_the_article_that_answers_them_and_unrelated_ones_get_none() {
    let all = builtin();
    let table = [
        (
            Intent::TechnicalIssue,
            "my kindle won't turn on",
            Some("device-wont-turn-on"),
        ),
        (
            Intent::TechnicalIssue,
            "Tablet is dead, black screen even after charging",
            Some("device-wont-turn-on"),
        ),
        (
            Intent::TechnicalIssue,
            "I can't log in to the app, the verification code never comes",
            Some("app-login"),
        ),
        (
            Intent::Other,
            "how do I redeem a gift card?",
            Some("gift-cards"),
        ),
        (
            Intent::ProductQuestion,
            "what delivery options do you have, is there next day?",
            Some("delivery-options"),
        ),
        (
            Intent::Other,
            "where can I download an invoice for my order",
            Some("invoice"),
        ),
        (
            Intent::Other,
            "I want to cancel my order, I ordered it by mistake",
            Some("cancel-order"),
        ),
        (
            Intent::Other,
            "how do i cancel my prime membership",
            Some("membership"),
        ),
        (
            Intent::Other,
            "my card expired, how do I change the payment method",
            Some("payment-method"),
        ),
        (
            Intent::ProductQuestion,
            "what is your return policy",
            Some("returns"),
        ),
        // Unrelated, or only one common word: no article.
        (Intent::Other, "hello there", None),
        (Intent::Other, "what's the weather like", None),
        (
            Intent::TechnicalIssue,
            "the app keeps crashing when I open it",
            Some("app-not-working"),
        ),
        (Intent::TechnicalIssue, "my headphones sound muffled", None),
        (Intent::ProductQuestion, "is this jacket waterproof?", None),
        // An article is never the answer to a need with a flow of its own.
        (Intent::Refund, "refund my gift card order, cancel it", None),
    ];
    for (intent, text, expected) in table {
        let found = best_article(&all, intent, text).map(|a| a.id.as_str());
        assert_eq!(found, expected, "{intent}: {text}");
    }
}

#[test]
fn keyword_words_match_whole_words_or_the_start_of_longer_ones() {
    let message = words("The charger's cable got charged; on");
    assert!(word_found("charge", &message));
    assert!(word_found("on", &message));
    assert!(!word_found("charg", &["x".to_owned()]));
    assert!(!word_found("ch", &message), "short words match whole only");
    assert_eq!(words("Won't TURN-on!"), ["wont", "turn", "on"]);
}

#[test]
fn ties_go_to_the_article_listed_first() {
    let a = article(SAMPLE).unwrap();
    let b = HelpArticle {
        id: "other".into(),
        ..a.clone()
    };
    let both = [a, b];
    let found = best_article(&both, Intent::Other, "my gift card").unwrap();
    assert_eq!(found.id, "sample");
}
