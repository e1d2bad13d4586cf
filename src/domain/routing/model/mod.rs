//! The learned intent model: a multinomial logistic regression over hashed word and character
//! n-grams ([`features`]), trained by [`train`], stored in the versioned, checksummed format of
//! [`format`]. The built-in model ships inside the binary (`models/intent.model`, trained on the
//! project's own corpus only), so casebot works with no download.

pub mod features;
pub mod format;
pub mod labels;
pub mod train;

use std::sync::{Arc, OnceLock};

use super::intent::Intent;
pub use features::FeatureSpec;
pub use format::ModelError;

/// The built-in model's bytes.
const BUILTIN: &[u8] = include_bytes!("../../../../models/intent.model");

/// Number of intents, which is also the width of every score array (in `Intent::BY_PRECEDENCE`
/// order).
pub const INTENTS: usize = Intent::BY_PRECEDENCE.len();

/// A trained model, ready to score messages.
#[derive(Debug, Clone, PartialEq)]
pub struct IntentModel {
    pub(crate) spec: FeatureSpec,
    /// The intents the model was trained on, in the order of its weight columns.
    pub(crate) classes: Vec<Intent>,
    /// How much the precise cues count against the model's log-probabilities (chosen by
    /// cross-validation when training).
    pub(crate) cue_weight: f32,
    /// Weights are stored quantised: the real weight is `weights[i] * scale`.
    pub(crate) scale: f32,
    pub(crate) bias: Vec<f32>,
    /// `weights[bucket * classes.len() + class]`.
    pub(crate) weights: Vec<i8>,
}

impl IntentModel {
    /// The model built into casebot.
    pub fn builtin() -> Arc<IntentModel> {
        static MODEL: OnceLock<Arc<IntentModel>> = OnceLock::new();
        MODEL
            .get_or_init(|| {
                Arc::new(IntentModel::from_bytes(BUILTIN).expect("the built-in model is valid"))
            })
            .clone()
    }

    pub fn cue_weight(&self) -> f32 {
        self.cue_weight
    }

    pub fn classes(&self) -> &[Intent] {
        &self.classes
    }

    /// Natural-log probabilities per intent, in `Intent::BY_PRECEDENCE` order; intents the model
    /// was not trained on get negative infinity.
    pub fn log_probabilities(&self, norm: &str) -> [f32; INTENTS] {
        self.log_probabilities_of(&features::features(self.spec, norm))
    }

    /// The same, from features already extracted with this model's [`FeatureSpec`].
    pub(crate) fn log_probabilities_of(&self, features: &[(u32, f32)]) -> [f32; INTENTS] {
        let k = self.classes.len();
        let mut z = self.bias.clone();
        for &(bucket, value) in features {
            let row = &self.weights[bucket as usize * k..][..k];
            let value = value * self.scale;
            for (acc, &w) in z.iter_mut().zip(row) {
                *acc += f32::from(w) * value;
            }
        }
        let top = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let total = z.iter().map(|v| (v - top).exp()).sum::<f32>().ln() + top;
        let mut out = [f32::NEG_INFINITY; INTENTS];
        for (class, v) in self.classes.iter().zip(z) {
            out[slot(*class)] = v - total;
        }
        out
    }
}

/// The position of `intent` in `Intent::BY_PRECEDENCE`.
pub fn slot(intent: Intent) -> usize {
    Intent::BY_PRECEDENCE
        .iter()
        .position(|&i| i == intent)
        .expect("every intent has a slot")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_model_loads_and_knows_every_intent() {
        let model = IntentModel::builtin();
        assert_eq!(model.classes.len(), INTENTS);
        let p = model.log_probabilities("where is my parcel");
        let total: f32 = p.iter().map(|v| v.exp()).sum();
        assert!((total - 1.0).abs() < 1e-3, "{total}");
    }

    #[test]
    fn the_builtin_model_reads_plain_requests() {
        let model = IntentModel::builtin();
        let best = |text: &str| {
            let p = model.log_probabilities(text);
            let i = (0..INTENTS).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap();
            Intent::BY_PRECEDENCE[i]
        };
        assert_eq!(best("i want my money back for the blender"), Intent::Refund);
        assert_eq!(
            best("the app keeps crashing when i open it"),
            Intent::TechnicalIssue
        );
    }
}
