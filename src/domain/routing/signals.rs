//! How a customer feels and how pressing it is: a VADER sentiment score (see [`super::sentiment`]) plus the cues sentiment
//! misses (shouting, repeated punctuation, insults, "third time", long waits, threats to leave),
//! and urgency words and deadlines. Then the first-message decision built on them.

use std::sync::OnceLock;

use regex::Regex;
use serde::Serialize;

use super::classify::{classify_with, normalise, pattern, IntentGuess};
use super::escalation::{read_signals, Signal};
use super::intent::Intent;
use super::model::IntentModel;
use super::opinion::Opinion;
use super::rules::{parse_rules, route, Facts, Rule, DEFAULT_RULES};
use crate::domain::case::Priority;

/// Sentiment at or below this counts as frustration on its own.
const NEGATIVE_SENTIMENT: f64 = -0.05;
/// Compound sentiment at or below this, in a message that reads as frustrated, is strong anger
/// even with no insult or swearing in it: under the labelling guide "hopeless service, still not
/// delivered" is handed over as readily as a message that swears, while a mildly let-down
/// "a bit disappointed it's late" (about -0.4) is not.
const STRONGLY_NEGATIVE: f64 = -0.5;

/// Cue weight at or above this counts as frustration whatever the sentiment.
const CUES_ALONE: f32 = 1.0;

struct Patterns {
    repeated_marks: Regex,
    insults: Regex,
    again: Regex,
    long_wait: Regex,
    sarcasm: Regex,
    leaving: Regex,
    trouble: Regex,
    urgency: Regex,
}

fn patterns() -> &'static Patterns {
    static PATTERNS: OnceLock<Patterns> = OnceLock::new();
    PATTERNS.get_or_init(|| Patterns {
        repeated_marks: pattern(r"[!?]{2,}"),
        insults: pattern(r"\b(idiots?|stupid|useless|pathetic|incompetent|joke|clowns?|morons?|shit|shitty|crap|crappy|damn|wtf|fuck\w*|bs|sucks?|worst|ridiculous|unacceptable|terrible|horrible|awful|disgusting|disgrace(ful)?|shame(ful)?|rude|liars?|scam|fed up|sick of|tired of|frustrat\w*|angry|furious|annoy\w*|disappoint\w*|hopeless|nightmare|lousy|poor service)\b"),
        again: pattern(r"\b(third|3rd|fourth|4th|fifth|5th|second|2nd|\d+(th)?) time\b|\bagain\b|\bstill\b|\byet again\b|\bkeep (getting|telling|saying)\b|\bno one (has )?(helped|answered|responded)\b|\bnobody\b|\bno (response|reply|answer)\b|\b(multiple|several|many|\d+) times\b|\bover and over\b|\btransferred\b"),
        long_wait: pattern(r"\b(\d+|an|one|two|three|four|five|six|several|many|few|over an?|more than an?)\s?(hours?|hrs?|days|weeks?|months?)\b|\bon hold\b|\bfor (hours|days|weeks|ages|months|ever)\b|\bwait(ing)? times?\b"),
        sarcasm: pattern(r"#\w*(fail|suck|worst|notcool|never|shame|angry|disappoint|ruin|fraud|scam)\w*|\bnot!|\bthanks? for nothing\b|\b(don'?t|doesn'?t|do not|does not|never) (really )?care\b|\bcanned (response|reply)\b|\bform letters?\b"),
        leaving: pattern(r"\b(cancel(l?ing)? (my )?(account|membership|prime|subscription)|switch(ing)? to|never (again|(order|shop|buy|fly)(ing)? (from|with))|take my (business|money) elsewhere|lost a customer|last time i)\b"),
        trouble: pattern(r"\b(why|how come|what happened|seriously|delayed|delay|cancell?ed|lost|missing|broken|damaged|never|no one|nobody|waiting|waited|hold|stuck|stranded|missed|late|wrong|fail(ed|s)?|can'?t|cannot|won'?t|unable|problem|issue|complain\w*|refund)\b"),
        // Time-critical: said outright, a medical need, a need tied to a close day or hour, or an
        // occasion (a birthday, a flight) that is days away.
        urgency: pattern(concat!(
            r"\b(urgent(ly)?|asap|as soon as possible|immediate(ly)?|immidiate(ly)?|right now|right away|emergency|expedite|deadline|medication|medicine|insulin|prescription|life or death|time sensitive|sos|panic(king)?)\b",
            r"|\b(need|needed|needs|must|have to|has to|required|want)\b.{0,40}\b(today|tonight|tomorrow|tmrw?|tomorow|by (the )?morning|(by|before) (monday|tuesday|wednesday|thursday|friday|saturday|sunday|the weekend|christmas|diwali|\d))\b",
            r"|\b(birthday|wedding|anniversary|flight|trip|exam|interview|funeral)\b.{0,40}\b(today|tonight|tomorrow|tmrw?|this (week|weekend)|on \d{1,2}(st|nd|rd|th)?)\b",
            r"|\b(today|tonight|tomorrow|tmrw?)\b.{0,40}\b(birthday|wedding|anniversary|flight|trip|exam|interview|funeral)\b",
            r"|\b(paid|payed|pay|paying) (extra )?for (same|next|one)[- ]day\b"
        )),
    })
}

/// Feelings and pressure read from one message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mood {
    /// VADER compound score, -1 (very negative) to 1 (very positive).
    pub sentiment: f64,
    pub frustration: bool,
    pub urgency: bool,
    /// Which cues fired, for the audit trail and the staff card.
    pub cues: Vec<&'static str>,
    /// What the guide's escalation criteria look for (see [`super::escalation`]).
    pub signals: Vec<Signal>,
}

/// True when at least three words of three or more letters are in capitals and they make up half
/// the words: shouting, not an acronym or two.
fn shouting(text: &str) -> bool {
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| w.chars().count() >= 3)
        .collect();
    let loud = words
        .iter()
        .filter(|w| w.chars().all(char::is_uppercase))
        .count();
    loud >= 3 && loud * 2 >= words.len()
}

/// Reads frustration and urgency from a message.
pub fn read_mood(text: &str) -> Mood {
    read_mood_normalised(text, &normalise(text))
}

/// Reads the mood given the original text (for capitals and punctuation) and its normalised form.
pub fn read_mood_normalised(text: &str, norm: &str) -> Mood {
    let p = patterns();
    let sentiment = super::sentiment::compound(text);
    let mut cues = Vec::new();
    let mut weight = 0.0f32;
    let checks: [(&'static str, bool, f32); 7] = [
        ("sarcasm or complaint tag", p.sarcasm.is_match(norm), 1.5),
        ("something went wrong", p.trouble.is_match(norm), 1.0),
        ("shouting", shouting(text), 1.5),
        ("repeated punctuation", p.repeated_marks.is_match(text), 1.0),
        ("insult or strong word", p.insults.is_match(norm), 1.5),
        ("repeat contact", p.again.is_match(norm), 1.0),
        ("threat to leave", p.leaving.is_match(norm), 2.0),
    ];
    for (name, fired, w) in checks {
        if fired {
            cues.push(name);
            weight += w;
        }
    }
    let waited = p.long_wait.is_match(norm);
    if waited {
        cues.push("long wait");
        weight += 1.0;
    }
    let negative = sentiment <= NEGATIVE_SENTIMENT;
    if negative {
        cues.push("negative sentiment");
    }
    // One cue needs a tone that is not clearly happy ("still" in a thank-you is not frustration);
    // two cues stand on their own, which catches sarcasm that sentiment reads as praise.
    let frustration =
        negative || weight >= 2.0 * CUES_ALONE || weight >= CUES_ALONE && sentiment < 0.5;
    let urgency = p.urgency.is_match(norm);
    if urgency {
        cues.push("urgency");
    }
    let mut signals = read_signals(text, norm);
    if frustration && sentiment <= STRONGLY_NEGATIVE && !signals.contains(&Signal::Anger) {
        // `Signal::Anger` comes first in the signals' order.
        signals.insert(0, Signal::Anger);
    }
    Mood {
        sentiment,
        frustration,
        urgency,
        cues,
        signals,
    }
}

/// The decision for a first message with no order data and no history: what the default rules
/// say before routing has more to go on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FirstDecision {
    pub intent: Intent,
    pub confidence: f32,
    pub sentiment: f64,
    pub frustration: bool,
    pub urgency: bool,
    pub escalate: bool,
    pub priority: Priority,
    pub reasons: Vec<String>,
}

/// Decides a first message under the shipped routing rules. `escalate` is true when the rules hand
/// the case to a person or offer one.
pub fn first_decision(text: &str) -> FirstDecision {
    first_decision_by(&IntentModel::builtin(), text, None)
}

/// The same decision with a given intent model and, when a language model was consulted and its
/// answer may overrule the local one, that answer (see [`super::opinion`]).
pub fn first_decision_by(
    model: &IntentModel,
    text: &str,
    opinion: Option<&Opinion>,
) -> FirstDecision {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    let rules =
        RULES.get_or_init(|| parse_rules(DEFAULT_RULES).expect("the shipped rules are valid"));
    let norm = normalise(text);
    let mut guess: IntentGuess = classify_with(model, &norm);
    let mut mood = read_mood_normalised(text, &norm);
    if let Some(opinion) = opinion {
        // The confidence stays the local model's: it is what the gate read.
        guess.intent = opinion.intent;
        opinion.apply(&mut mood);
    }
    let facts = Facts {
        intent: Some(guess.intent),
        frustration: mood.frustration,
        urgency: mood.urgency,
        signals: mood.signals.clone(),
        order_value_cents: None,
        human_requests: u32::from(guess.intent == Intent::HumanRequest),
        contacts_about_order: 0,
        tags: Vec::new(),
    };
    let routing = route(rules, &facts);
    let asked_for_person =
        guess.intent == Intent::HumanRequest || mood.signals.contains(&Signal::AsksForPerson);
    let mut reasons = routing.reasons;
    if let Some(flow) = routing.flow {
        reasons.push(format!("self-service: {flow}"));
    }
    if mood.frustration {
        reasons.push("frustration".to_owned());
    }
    if mood.urgency {
        reasons.push("urgency".to_owned());
    }
    FirstDecision {
        intent: guess.intent,
        confidence: guess.confidence,
        sentiment: mood.sentiment,
        frustration: mood.frustration,
        urgency: mood.urgency,
        // A person offered because the customer asked for one counts as a hand-over: the guide
        // labels such messages as escalations, and one click hands them over. A person offered
        // for frustration alone does not.
        escalate: routing.escalate || routing.offer_human && asked_for_person,
        priority: routing.priority,
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_calm_question_is_neither_frustrated_nor_urgent() {
        let mood = read_mood("Hi, could you tell me when my order will arrive? Thanks!");
        assert!(!mood.frustration && !mood.urgency, "{mood:?}");
    }

    #[test]
    fn shouting_and_repeat_contact_read_as_frustration_even_without_bad_words() {
        let mood = read_mood("THIRD TIME I AM ASKING where is my parcel???");
        assert!(mood.frustration, "{mood:?}");
        assert!(mood.cues.contains(&"shouting"));
    }

    #[test]
    fn deadlines_and_medication_are_urgent() {
        assert!(read_mood("I need my insulin delivered before Friday").urgency);
        assert!(read_mood("please help asap").urgency);
    }

    #[test]
    fn an_occasion_days_away_or_a_paid_for_next_day_delivery_is_urgent() {
        assert!(read_mood("it's a birthday present for tomorrow, where is it").urgency);
        assert!(read_mood("i have a flight to catch tmrw and need it with me").urgency);
        assert!(read_mood("paid extra for next day delivery and nothing").urgency);
        assert!(read_mood("#sos my order is missing").urgency);
    }

    #[test]
    fn a_plain_question_about_a_day_is_not_urgent() {
        assert!(!read_mood("will my order arrive by friday?").urgency);
        assert!(!read_mood("can i return a birthday present i was given?").urgency);
    }

    #[test]
    fn an_acronym_is_not_shouting() {
        assert!(!shouting("My USB cable from the USA store"));
    }

    #[test]
    fn a_security_message_escalates_at_once_as_urgent() {
        let d = first_decision("someone hacked my account");
        assert!(d.escalate);
        assert_eq!(d.priority, Priority::Urgent);
    }

    #[test]
    fn a_plain_tracking_question_stays_in_self_service() {
        let d = first_decision("where is my package?");
        assert!(!d.escalate);
        assert_eq!(d.priority, Priority::Normal);
        assert_eq!(d.reasons, ["self-service: tracking"]);
    }

    #[test]
    fn frustration_raises_priority_and_hands_over() {
        let d = first_decision("this is ridiculous, my package is 2 weeks late!!!");
        assert!(d.frustration && d.escalate);
        assert_eq!(d.priority, Priority::High);
    }

    #[test]
    fn a_strongly_negative_frustrated_message_is_anger_without_an_insult() {
        let mood = read_mood("very poor service, really upset and sad that my order never came");
        assert!(mood.signals.contains(&Signal::Anger), "{mood:?}");
    }

    #[test]
    fn mild_disappointment_is_not_anger() {
        let mood = read_mood("a bit disappointed my parcel is late");
        assert!(!mood.signals.contains(&Signal::Anger), "{mood:?}");
    }
}
