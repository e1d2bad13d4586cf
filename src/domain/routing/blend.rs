//! How the learned model and the precise cues decide together: the cue scores, scaled by a
//! weight chosen by cross-validation when the model was trained, are added to the model's
//! log-probabilities. A cue that is nearly always right (a hacked account, "marked delivered",
//! an amount charged twice) then moves the decision, while the model reads the indirect
//! phrasing no list of phrases covers.

use super::intent::Intent;
use super::model::{slot, INTENTS};

/// Cue weight on account security at which security wins whatever else the message says.
const SECURITY_CERTAIN: f32 = 5.0;

/// The rare, high-stakes intents are taken only on evidence: a cue of at least this weight, or a
/// model that is sure of them on its own. On real traffic they are about one message in fifty,
/// while the words that suggest them ("scam", "fraud", an email, a call) come up in every kind of
/// complaint; without this, an angry "this is a scam" about a late parcel read as a phishing
/// report and went to the security queue.
const NEEDS_EVIDENCE: [(Intent, f32); 2] = [
    // A message about a message: "a text pretending to be you", "is this email real".
    (Intent::PhishingReport, 2.5),
    // Any security cue: an order not made, a changed password, a locked account.
    (Intent::AccountSecurity, 0.5),
];

/// The model's probability above which it needs no cue for those intents.
const SURE_ALONE: f32 = 0.6;

/// The blended score per intent, in `Intent::BY_PRECEDENCE` order.
pub fn blend_scores(log_p: &[f32; INTENTS], cues: &[f32; INTENTS], weight: f32) -> [f32; INTENTS] {
    std::array::from_fn(|i| log_p[i] + weight * cues[i])
}

/// The winning intent and how sure the blend is of it (its share of the blended scores taken as
/// a softmax). Exact ties go to the intent resolved first.
pub fn decide(log_p: &[f32; INTENTS], cues: &[f32; INTENTS], weight: f32) -> (Intent, f32) {
    let mut scores = blend_scores(log_p, cues, weight);
    // Two independent security cues (an order not made and someone else in the account) settle
    // it: the guide puts security before every other need.
    if cues[slot(Intent::AccountSecurity)] >= SECURITY_CERTAIN {
        return (Intent::AccountSecurity, 0.95);
    }
    let mut best = best_of(&scores);
    while NEEDS_EVIDENCE.iter().any(|&(intent, cue)| {
        best == slot(intent) && cues[best] < cue && log_p[best].exp() < SURE_ALONE
    }) {
        scores[best] = f32::NEG_INFINITY;
        best = best_of(&scores);
    }
    let top = scores[best];
    let total: f32 = scores.iter().map(|s| (s - top).exp()).sum();
    let confidence = (1.0 / total).clamp(0.0, 1.0);
    (Intent::BY_PRECEDENCE[best], confidence)
}

/// The slot with the highest score; exact ties go to the intent resolved first.
fn best_of(scores: &[f32; INTENTS]) -> usize {
    let mut best = 0;
    for i in 1..INTENTS {
        if scores[i] > scores[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::routing::model::slot;

    fn uniform() -> [f32; INTENTS] {
        [(1.0 / INTENTS as f32).ln(); INTENTS]
    }

    #[test]
    fn with_no_cues_the_model_decides() {
        let mut log_p = uniform();
        log_p[slot(Intent::Refund)] = -0.1;
        let (intent, confidence) = decide(&log_p, &[0.0; INTENTS], 1.0);
        assert_eq!(intent, Intent::Refund);
        assert!(confidence > 0.4, "{confidence}");
    }

    #[test]
    fn a_strong_cue_overrules_a_hesitant_model() {
        let mut log_p = uniform();
        log_p[slot(Intent::Other)] = -1.0;
        let mut cues = [0.0; INTENTS];
        cues[slot(Intent::AccountSecurity)] = 2.5;
        assert_eq!(decide(&log_p, &cues, 1.0).0, Intent::AccountSecurity);
    }

    #[test]
    fn a_hesitant_phishing_guess_without_a_cue_gives_way_to_the_runner_up() {
        let mut log_p = uniform();
        log_p[slot(Intent::PhishingReport)] = 0.45f32.ln();
        log_p[slot(Intent::LateDelivery)] = 0.35f32.ln();
        let (intent, _) = decide(&log_p, &[0.0; INTENTS], 1.0);
        assert_eq!(intent, Intent::LateDelivery);
    }

    #[test]
    fn a_phishing_guess_with_a_message_about_a_message_stands() {
        let mut log_p = uniform();
        log_p[slot(Intent::PhishingReport)] = 0.45f32.ln();
        log_p[slot(Intent::LateDelivery)] = 0.35f32.ln();
        let mut cues = [0.0; INTENTS];
        cues[slot(Intent::PhishingReport)] = 2.5;
        assert_eq!(decide(&log_p, &cues, 1.0).0, Intent::PhishingReport);
    }

    #[test]
    fn a_model_sure_of_account_security_needs_no_cue() {
        let mut log_p = uniform();
        log_p[slot(Intent::AccountSecurity)] = 0.7f32.ln();
        assert_eq!(
            decide(&log_p, &[0.0; INTENTS], 1.0).0,
            Intent::AccountSecurity
        );
    }

    #[test]
    fn exact_ties_go_to_the_intent_resolved_first_that_needs_no_evidence() {
        assert_eq!(
            decide(&uniform(), &[0.0; INTENTS], 1.0).0,
            Intent::MissingDelivery
        );
    }
}
