//! What the general-help flow says when no order is involved: a question back to a greeting, how
//! a hand-over to a person works, what to do about a message that pretends to be the shop, a help
//! article that fits, or a question that helps the customer say what they need.

use chrono::Duration;

use super::flows::Next;
use super::help::{best_article, HelpArticle};
use super::intent::Intent;
pub use super::second_need::{second_need, second_need_note};
pub use super::small_talk::{small_talk, SmallTalk};
use crate::domain::case::Priority;
use crate::domain::sla::SlaPolicy;

/// What casebot knows for answering without an order: the help articles, where the shop takes
/// reports of phishing, and its first-response targets (to say honestly how long a person takes).
#[derive(Debug, Clone, PartialEq)]
pub struct HelpDesk {
    pub articles: Vec<HelpArticle>,
    /// An e-mail address customers forward suspected phishing to; none: they delete it.
    pub phishing_report_to: Option<String>,
    pub sla: SlaPolicy,
}

impl Default for HelpDesk {
    fn default() -> HelpDesk {
        HelpDesk {
            articles: super::help::builtin(),
            phishing_report_to: None,
            sla: SlaPolicy::default(),
        }
    }
}

/// What is known when the general-help flow answers.
#[derive(Debug, Clone, Copy)]
pub struct Asked<'a> {
    pub intent: Intent,
    pub text: &'a str,
    /// The rules offer a person (the buttons come with the reply).
    pub offer_human: bool,
    /// The rules hand the case over now.
    pub escalate: bool,
    pub priority: Priority,
    /// Staff have the case already: they answer, not the bot.
    pub with_staff: bool,
}

/// The general-help flow's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub reply: String,
    pub next: Next,
    /// The help article shown, by id.
    pub article: Option<String>,
    /// The reply says itself how a person comes in, so the usual offer sentence is left out.
    pub explains_handover: bool,
}

impl Answer {
    fn say(reply: impl Into<String>) -> Answer {
        Answer {
            reply: reply.into(),
            next: Next::Done,
            article: None,
            explains_handover: false,
        }
    }

    fn offering(reply: impl Into<String>, reason: &'static str) -> Answer {
        Answer {
            next: Next::OfferHuman { reason },
            ..Answer::say(reply)
        }
    }
}

/// Reasons the general-help flow gives for offering a person.
pub mod reasons {
    pub const NO_ARTICLE: &str = "no_help_article";
    pub const PRODUCT_QUESTION: &str = "product_question";
}

pub const GREETING_REPLY: &str = "Hi! What can I help you with today? For example: tracking an \
     order, a refund or a return, or a charge on your account. Tell me in a sentence, with the \
     order number if you have it.";

pub const THANKS_REPLY: &str = "You're welcome! If there's anything else, just write here.";

const CLARIFY_REPLY: &str = "I'm not sure I've understood. Could you tell me a little more? For \
     example, is it about tracking an order, a refund or a return, a charge on your account, or \
     something else?";

const TECHNICAL_REPLY: &str = "Sorry that isn't working. Tell me which device, app or page it \
     is and what happens when you try (the exact error message helps), and I'll see what I can \
     find.";

const PRODUCT_REPLY: &str = "I don't have the details of that product here: its product page \
     lists the specifications and what comes in the box.";

/// The general-help flow.
pub fn general_help(asked: &Asked, desk: &HelpDesk) -> Answer {
    if asked.intent == Intent::PhishingReport {
        return Answer::say(phishing_reply(desk.phishing_report_to.as_deref()));
    }
    if asked.with_staff || asked.escalate {
        // The hand-over sentence says what happens; a person answers the rest.
        return Answer::say("");
    }
    match small_talk(asked.text) {
        Some(SmallTalk::Greeting) => return Answer::say(GREETING_REPLY),
        Some(SmallTalk::Thanks) => return Answer::say(THANKS_REPLY),
        None => {}
    }
    if asked.intent == Intent::HumanRequest {
        if !asked.offer_human {
            return Answer::say("");
        }
        let wait = desk.sla.first_response_for(asked.priority);
        return Answer {
            explains_handover: true,
            ..Answer::say(handover_reply(Some(wait)))
        };
    }
    if let Some(article) = best_article(&desk.articles, asked.intent, asked.text) {
        return Answer {
            article: Some(article.id.clone()),
            explains_handover: true,
            ..Answer::say(article_reply(article))
        };
    }
    match asked.intent {
        Intent::TechnicalIssue => Answer::offering(TECHNICAL_REPLY, reasons::NO_ARTICLE),
        Intent::ProductQuestion => Answer::offering(PRODUCT_REPLY, reasons::PRODUCT_QUESTION),
        _ => Answer::say(CLARIFY_REPLY),
    }
}

/// A help article as the customer reads it, with what its two buttons do.
pub fn article_reply(article: &HelpArticle) -> String {
    format!(
        "**{}**\n{}\n\nDid this help? Tap \"That helped\", or \"I still need help\" and I'll pass \
         your case to a person.",
        article.title, article.body
    )
}

/// What the shop never asks for, and what to do with the message.
pub fn phishing_reply(report_to: Option<&str>) -> String {
    let what_to_do = match report_to {
        Some(address) => format!(
            "Don't click its links or reply to it: forward it to {address}, then delete it."
        ),
        None => "Don't click its links or reply to it; just delete it.".to_owned(),
    };
    format!(
        "Thanks for checking with us first. We never ask for your password, one-time codes, your \
         full card number or payment by gift card, whether by e-mail, text or phone, so a message \
         that does is not from us. {what_to_do} If you already gave it any details, tell me here \
         and we'll help you secure your account."
    )
}

/// How a hand-over works, honestly: the button, who reads the case, where the answer comes, and
/// the shop's first-response target when there is one.
pub fn handover_reply(target: Option<Duration>) -> String {
    let when = target
        .filter(|t| *t > Duration::zero())
        .map(|t| format!("; we aim to pick cases up within {}", span(t)))
        .unwrap_or_default();
    format!(
        "I can pass this to a person: press \"Talk to a person\" below and your case goes to our \
         support team. Someone reads everything you've written here and replies in this chat{when}. \
         If you tell me what it's about first, I may be able to sort it straight away, and they'll \
         see it too."
    )
}

/// "5 minutes", "1 hour", "3 days".
fn span(d: Duration) -> String {
    let (n, unit) = if d.num_days() >= 1 && d.num_hours() % 24 == 0 {
        (d.num_days(), "day")
    } else if d.num_hours() >= 1 && d.num_minutes() % 60 == 0 {
        (d.num_hours(), "hour")
    } else {
        (d.num_minutes().max(1), "minute")
    };
    let plural = if n == 1 { "" } else { "s" };
    format!("{n} {unit}{plural}")
}

#[cfg(test)]
#[path = "replies_tests.rs"]
mod tests;
