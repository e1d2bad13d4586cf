//! How the learned model and the precise cues decide together: the cue scores, scaled by a
//! weight chosen by cross-validation when the model was trained, are added to the model's
//! log-probabilities. A cue that is nearly always right (a hacked account, "marked delivered",
//! an amount charged twice) then moves the decision, while the model reads the indirect
//! phrasing no list of phrases covers.

use super::intent::Intent;
use super::model::{slot, INTENTS};

/// Cue weight on account security at which security wins whatever else the message says.
const SECURITY_CERTAIN: f32 = 5.0;

/// The blended score per intent, in `Intent::BY_PRECEDENCE` order.
pub fn blend_scores(log_p: &[f32; INTENTS], cues: &[f32; INTENTS], weight: f32) -> [f32; INTENTS] {
    std::array::from_fn(|i| log_p[i] + weight * cues[i])
}

/// The winning intent and how sure the blend is of it (its share of the blended scores taken as
/// a softmax). Exact ties go to the intent resolved first.
pub fn decide(log_p: &[f32; INTENTS], cues: &[f32; INTENTS], weight: f32) -> (Intent, f32) {
    let scores = blend_scores(log_p, cues, weight);
    // Two independent security cues (an order not made and someone else in the account) settle
    // it: the guide puts security before every other need.
    if cues[slot(Intent::AccountSecurity)] >= SECURITY_CERTAIN {
        return (Intent::AccountSecurity, 0.95);
    }
    let mut best = 0;
    for i in 1..INTENTS {
        if scores[i] > scores[best] {
            best = i;
        }
    }
    let top = scores[best];
    let total: f32 = scores.iter().map(|s| (s - top).exp()).sum();
    let confidence = (1.0 / total).clamp(0.0, 1.0);
    (Intent::BY_PRECEDENCE[best], confidence)
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
    fn exact_ties_go_to_the_intent_resolved_first() {
        assert_eq!(
            decide(&uniform(), &[0.0; INTENTS], 1.0).0,
            Intent::AccountSecurity
        );
    }
}
