//! Small talk: whether a message is only a greeting ("hi", "hello there", "hey amazon", "good
//! morning") or only thanks, so that it gets a question or a welcome back rather than a flow.

use super::classify::{cue_scores, normalise};
use super::help::words;

/// A message that is only a greeting or only thanks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmallTalk {
    Greeting,
    Thanks,
}

/// Words that open a greeting.
const GREETINGS: &[&str] = &[
    "hi",
    "hello",
    "hey",
    "hiya",
    "heya",
    "howdy",
    "yo",
    "greetings",
    "hallo",
    "hola",
    "namaste",
    "morning",
    "afternoon",
    "evening",
    "gm",
];
/// Words that may follow one without adding a need.
const GREETING_FILLERS: &[&str] = &[
    "there",
    "all",
    "team",
    "everyone",
    "everybody",
    "folks",
    "guys",
    "support",
    "again",
    "friend",
    "friends",
    "sir",
    "madam",
    "mate",
    "how",
    "are",
    "you",
    "doing",
    "today",
    "is",
    "anyone",
    "anybody",
    "good",
    "morning",
    "afternoon",
    "evening",
    "day",
    "and",
    "hi",
    "hello",
    "hey",
];
const THANKS: &[&str] = &["thanks", "thank", "thx", "ty", "cheers", "tysm", "thankyou"];
const THANKS_FILLERS: &[&str] = &[
    "you",
    "so",
    "much",
    "very",
    "a",
    "lot",
    "for",
    "the",
    "your",
    "help",
    "ok",
    "okay",
    "great",
    "perfect",
    "awesome",
    "brilliant",
    "that",
    "thats",
    "all",
    "bye",
    "again",
    "loads",
    "mate",
    "many",
    "kindly",
    "cool",
    "fine",
    "good",
    "sorted",
    "got",
    "it",
];

/// Whether the message is only a greeting ("hi", "hello there", "hey amazon", "good morning")
/// or only thanks ("thanks a lot!"). Strict on purpose: any word that could carry a need makes
/// it neither, so a real question is never answered with small talk.
pub fn small_talk(text: &str) -> Option<SmallTalk> {
    let words = words(text);
    if words.is_empty() || words.len() > 8 {
        return None;
    }
    if is_greeting(&words) {
        return Some(SmallTalk::Greeting);
    }
    let thanked = words.iter().any(|w| THANKS.contains(&w.as_str()));
    let only_thanks = words
        .iter()
        .all(|w| THANKS.contains(&w.as_str()) || THANKS_FILLERS.contains(&w.as_str()));
    (thanked && only_thanks).then_some(SmallTalk::Thanks)
}

fn is_greeting(words: &[String]) -> bool {
    let first = words[0].as_str();
    let opens = greeting_word(first)
        || (first == "good"
            && words.get(1).is_some_and(|w| {
                matches!(w.as_str(), "morning" | "afternoon" | "evening" | "day")
            }));
    if !opens {
        return false;
    }
    // One word straight after the greeting may be a name ("hey amazon", "hi sam"), unless a cue
    // reads a need in it ("hi refund").
    let rest = &words[1..];
    let unknown = |w: &String| !greeting_word(w) && !GREETING_FILLERS.contains(&w.as_str());
    match rest.iter().position(unknown) {
        None => true,
        Some(0) => {
            words.len() <= 3
                && !rest[1..].iter().any(unknown)
                && cue_scores(&normalise(&rest[0])).iter().all(|s| *s <= 0.0)
        }
        Some(_) => false,
    }
}

/// "hi", and its stretched forms ("hiii", "heyyy", "hellooo").
fn greeting_word(w: &str) -> bool {
    if GREETINGS.contains(&w) {
        return true;
    }
    let squeezed: String = w.chars().fold(String::new(), |mut s, c| {
        if !s.ends_with(c) {
            s.push(c);
        }
        s
    });
    matches!(squeezed.as_str(), "hi" | "hey" | "helo" | "hiya")
}
