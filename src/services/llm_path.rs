//! The language model as routing's accurate path: when the gate lets it overrule the local
//! model, ask it (or its cache, by message id), use a valid answer for the intent and the
//! signals, and fall back to the local reading on anything else, counting each outcome.

use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::domain::routing::classify::IntentGuess;
use crate::domain::routing::opinion::{DecidedBy, Gate, Opinion};
use crate::llm::cache::Lru;
use crate::llm::{Labeller, LlmAnswer};
use crate::metrics::LlmCounts;

/// What the language model contributed to one message, for the trail and `casebot classify`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LlmReport {
    /// `answered`, `refused`, `timeout`, `error`, or `not_asked` when the gate kept the local
    /// model's answer.
    pub outcome: &'static str,
    /// Whether the answer came from the cache rather than a call.
    pub cached: bool,
}

/// What consulting the path came to.
#[derive(Debug, Clone)]
pub struct Consulted {
    pub decided_by: DecidedBy,
    /// The model's valid answer, when it decides.
    pub opinion: Option<Opinion>,
    pub report: LlmReport,
    /// The answer itself, when there was one (for `casebot classify`; never logged).
    pub answer: Option<LlmAnswer>,
}

#[derive(Clone)]
pub struct LlmPath {
    labeller: Arc<dyn Labeller>,
    gate: Gate,
    /// Answers by message id. Only answers are kept: a timeout or an error may go better on a
    /// second delivery of the same message.
    cache: Arc<Mutex<Lru<LlmAnswer>>>,
    counts: Arc<LlmCounts>,
}

impl LlmPath {
    pub fn new(labeller: Arc<dyn Labeller>, gate: Gate, cache_entries: usize) -> LlmPath {
        LlmPath {
            labeller,
            gate,
            cache: Arc::new(Mutex::new(Lru::new(cache_entries))),
            counts: Arc::default(),
        }
    }

    pub fn counts(&self) -> &Arc<LlmCounts> {
        &self.counts
    }

    /// Consults the model about `text` (whose platform message id is `key`, when it has one),
    /// given what the local model made of it.
    pub async fn consult(&self, key: Option<&str>, local: &IntentGuess, text: &str) -> Consulted {
        if !self.gate.lets_overrule(local) {
            LlmCounts::add(&self.counts.kept_local);
            return Consulted {
                decided_by: DecidedBy::Local,
                opinion: None,
                report: LlmReport {
                    outcome: "not_asked",
                    cached: false,
                },
                answer: None,
            };
        }
        let cached = key.and_then(|k| self.cache.lock().expect("cache lock").get(k));
        let answer = match cached.clone() {
            Some(answer) => {
                LlmCounts::add(&self.counts.cache_hits);
                answer
            }
            None => {
                let answer = self.labeller.label(text).await;
                self.count_call(&answer);
                if let (Some(key), LlmAnswer::Labelled(_) | LlmAnswer::Refused { .. }) =
                    (key, &answer)
                {
                    self.cache
                        .lock()
                        .expect("cache lock")
                        .insert(key, answer.clone());
                }
                answer
            }
        };
        let opinion = match &answer {
            LlmAnswer::Labelled(opinion) => {
                LlmCounts::add(&self.counts.decided);
                Some(*opinion)
            }
            _ => None,
        };
        Consulted {
            decided_by: if opinion.is_some() {
                DecidedBy::Llm
            } else {
                DecidedBy::Local
            },
            opinion,
            report: LlmReport {
                outcome: answer.outcome(),
                cached: cached.is_some(),
            },
            answer: Some(answer),
        }
    }

    /// Counts a call's outcome, and logs a failure once here, where it is handled. Neither the
    /// customer's text nor the model's answer is logged: only what kind of failure it was.
    fn count_call(&self, answer: &LlmAnswer) {
        let c = &self.counts;
        match answer {
            LlmAnswer::Labelled(_) => LlmCounts::add(&c.answered),
            LlmAnswer::Refused { refusal, raw } => {
                LlmCounts::add(&c.refused);
                tracing::warn!(
                    refusal = refusal.kind,
                    answer_bytes = raw.len(),
                    "the language model's answer was refused; the local model decides"
                );
            }
            LlmAnswer::TimedOut => {
                LlmCounts::add(&c.timeouts);
                tracing::warn!("the language model timed out; the local model decides");
            }
            LlmAnswer::Failed { error, .. } => {
                LlmCounts::add(&c.errors);
                tracing::warn!(%error, "the language model call failed; the local model decides");
            }
        }
    }
}
