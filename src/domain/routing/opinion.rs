//! A language model's reading of a message (its intent and the guide's escalation signals), the
//! gate that says when such a reading may overrule the local model, and how it is folded into
//! the local mood. The model is asked elsewhere; this is only the rule for using its answer.

use serde::Serialize;

use super::classify::IntentGuess;
use super::escalation::Signal;
use super::intent::Intent;
use super::signals::Mood;

/// What a language model said about one message, already checked: one of casebot's intents and a
/// yes or no for each signal it was asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Opinion {
    pub intent: Intent,
    pub frustration: bool,
    /// Strong anger (insults, swearing, threats to leave), not mere disappointment.
    pub anger: bool,
    pub urgency: bool,
    /// Earlier contacts, a wait of about a week or more, a promise not kept.
    pub stuck: bool,
    pub high_value_item: bool,
    /// Something automation cannot grant: an exception, goodwill, a dispute.
    pub exception: bool,
}

impl Opinion {
    /// The signals the model is asked about; the others (details given to a scammer, a request
    /// for a person) stay with the local cues, which find them precisely.
    pub const ASKED: [Signal; 4] = [
        Signal::Anger,
        Signal::Stuck,
        Signal::HighValueItem,
        Signal::Exception,
    ];

    fn says(&self, signal: Signal) -> bool {
        match signal {
            Signal::Anger => self.anger,
            Signal::Stuck => self.stuck,
            Signal::HighValueItem => self.high_value_item,
            Signal::Exception => self.exception,
            Signal::GaveDetails | Signal::AsksForPerson => false,
        }
    }

    /// The mood with this opinion deciding what it was asked: frustration, urgency and the
    /// [`Opinion::ASKED`] signals are the model's, set or cleared; sentiment, the cues (kept for
    /// the trail) and the other signals stay as the local reading found them.
    pub fn apply(&self, mood: &mut Mood) {
        mood.frustration = self.frustration;
        mood.urgency = self.urgency;
        mood.signals.retain(|s| !Self::ASKED.contains(s));
        mood.signals
            .extend(Self::ASKED.into_iter().filter(|&s| self.says(s)));
        mood.signals.sort();
    }
}

/// Who decided a message's intent and signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DecidedBy {
    Local,
    Llm,
}

impl DecidedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            DecidedBy::Local => "local",
            DecidedBy::Llm => "llm",
        }
    }
}

/// When the language model may overrule the local model: only where the local model's confidence
/// is below `overrule_below`, and never where the local model found account security (its cues
/// for a break-in are precise, and a model talked out of it would hand a hacked account to
/// self-service).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gate {
    pub overrule_below: f32,
}

impl Gate {
    pub fn lets_overrule(&self, local: &IntentGuess) -> bool {
        local.intent != Intent::AccountSecurity && local.confidence < self.overrule_below
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::routing::signals::read_mood;

    fn opinion(intent: Intent) -> Opinion {
        Opinion {
            intent,
            frustration: false,
            anger: false,
            urgency: false,
            stuck: false,
            high_value_item: false,
            exception: false,
        }
    }

    fn guess(intent: Intent, confidence: f32) -> IntentGuess {
        IntentGuess {
            intent,
            confidence,
            evidence: Vec::new(),
            order_numbers: Vec::new(),
            amounts_cents: Vec::new(),
        }
    }

    #[test]
    fn the_opinion_sets_and_clears_the_signals_it_was_asked_about() {
        let mut mood = read_mood("third time asking!!! i clicked the link and entered my card");
        assert!(mood.signals.contains(&Signal::Stuck) && mood.frustration);
        let said = Opinion {
            urgency: true,
            high_value_item: true,
            ..opinion(Intent::PhishingReport)
        };
        said.apply(&mut mood);
        assert!(!mood.frustration && mood.urgency);
        assert!(!mood.signals.contains(&Signal::Stuck));
        assert!(!mood.signals.contains(&Signal::Anger));
        assert!(mood.signals.contains(&Signal::HighValueItem));
        assert!(
            mood.signals.contains(&Signal::GaveDetails),
            "a signal the model was not asked about stays: {:?}",
            mood.signals
        );
    }

    #[test]
    fn the_gate_opens_only_below_its_confidence_and_never_for_security() {
        let gate = Gate {
            overrule_below: 0.8,
        };
        assert!(gate.lets_overrule(&guess(Intent::Other, 0.5)));
        assert!(!gate.lets_overrule(&guess(Intent::Refund, 0.8)));
        assert!(!gate.lets_overrule(&guess(Intent::AccountSecurity, 0.1)));
    }
}
