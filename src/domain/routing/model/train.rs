//! Training the intent model: multinomial logistic regression by stochastic gradient descent
//! with L2 decay, in a fixed order from a fixed seed, so the same examples always give the same
//! model file byte for byte. Cross-validation reports how well it generalises and picks how much
//! the precise cues count in the blend.

use super::features::{features, FeatureSpec};
use super::labels::Example;
use super::{slot, IntentModel, INTENTS};
use crate::domain::routing::blend::blend_scores;
use crate::domain::routing::classify::{cue_scores, normalise};
use crate::domain::routing::intent::Intent;

/// How to train. The defaults were chosen by cross-validation on the project's corpus.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainOptions {
    pub spec: FeatureSpec,
    pub epochs: u32,
    /// L2 decay per example.
    pub lambda: f32,
    /// The starting learning rate.
    pub eta0: f32,
    pub seed: u64,
    pub folds: usize,
}

impl Default for TrainOptions {
    fn default() -> TrainOptions {
        TrainOptions {
            spec: FeatureSpec::default(),
            epochs: 12,
            lambda: 2e-5,
            eta0: 0.5,
            seed: 16,
            folds: 5,
        }
    }
}

/// The blend weights cross-validation chooses among.
const CUE_WEIGHTS: [f32; 7] = [0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0];

/// How far below the best cross-validated macro-F1 a larger cue weight may score and still be
/// chosen.
const CUE_WEIGHT_TOLERANCE: f64 = 0.005;

/// Accuracy and macro-F1 (over the intents present in the gold labels).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Scores {
    pub accuracy: f64,
    pub macro_f1: f64,
}

/// What cross-validation found.
#[derive(Debug, Clone, PartialEq)]
pub struct CrossValidation {
    pub folds: usize,
    pub examples: usize,
    /// The model alone.
    pub model_only: Scores,
    /// The model blended with the cues at the chosen weight.
    pub blended: Scores,
    pub cue_weight: f32,
}

/// One example as the trainer sees it.
struct Prepared {
    features: Vec<(u32, f32)>,
    cues: [f32; INTENTS],
    /// Column of the gold intent.
    label: usize,
}

fn prepare(examples: &[Example], spec: FeatureSpec, classes: &[Intent]) -> Vec<Prepared> {
    examples
        .iter()
        .map(|e| {
            let norm = normalise(&e.text);
            Prepared {
                features: features(spec, &norm),
                cues: cue_scores(&norm),
                label: classes.iter().position(|&c| c == e.intent).expect("known"),
            }
        })
        .collect()
}

/// The intents present in `examples`, in precedence order.
fn classes_of(examples: &[Example]) -> Vec<Intent> {
    Intent::BY_PRECEDENCE
        .into_iter()
        .filter(|i| examples.iter().any(|e| e.intent == *i))
        .collect()
}

/// Trains on every example, cross-validating first to report the expected scores and to choose
/// the blend weight. Needs at least two intents.
pub fn train(examples: &[Example], opts: &TrainOptions) -> (IntentModel, CrossValidation) {
    let classes = classes_of(examples);
    let prepared = prepare(examples, opts.spec, &classes);
    let cv = cross_validate(&prepared, &classes, opts);
    let all: Vec<&Prepared> = prepared.iter().collect();
    let model = fit(&all, &classes, opts, cv.cue_weight);
    (model, cv)
}

/// Stratified folds: each intent's examples are dealt round the folds in their given order, so
/// folds are balanced and the same every run.
fn fold_of(prepared: &[Prepared], folds: usize) -> Vec<usize> {
    let mut seen = [0usize; INTENTS];
    prepared
        .iter()
        .map(|p| {
            let f = seen[p.label] % folds;
            seen[p.label] += 1;
            f
        })
        .collect()
}

fn cross_validate(
    prepared: &[Prepared],
    classes: &[Intent],
    opts: &TrainOptions,
) -> CrossValidation {
    let folds = opts.folds.max(2);
    let fold = fold_of(prepared, folds);
    let gold: Vec<Intent> = prepared.iter().map(|p| classes[p.label]).collect();
    // Predictions per blend weight, filled fold by fold.
    let mut predicted = vec![vec![Intent::Other; prepared.len()]; CUE_WEIGHTS.len()];
    for f in 0..folds {
        let train: Vec<&Prepared> = (0..prepared.len())
            .filter(|&i| fold[i] != f)
            .map(|i| &prepared[i])
            .collect();
        let model = fit(&train, classes, opts, 0.0);
        for i in (0..prepared.len()).filter(|&i| fold[i] == f) {
            let log_p = model.log_probabilities_of(&prepared[i].features);
            for (w, out) in CUE_WEIGHTS.iter().zip(predicted.iter_mut()) {
                out[i] = best(&blend_scores(&log_p, &prepared[i].cues, *w));
            }
        }
    }
    let scored: Vec<Scores> = predicted.iter().map(|p| score(&gold, p)).collect();
    let top = scored
        .iter()
        .map(|s| s.macro_f1)
        .fold(f64::NEG_INFINITY, f64::max);
    // The largest weight that scores within a hair of the best: the examples a model is trained
    // on are easier for it than the messages it will meet, while a cue reads those the same, so
    // where cross-validation cannot tell two weights apart the cues are given the larger say.
    let chosen = (0..CUE_WEIGHTS.len())
        .rev()
        .find(|&w| scored[w].macro_f1 >= top - CUE_WEIGHT_TOLERANCE)
        .expect("weights to choose from");
    CrossValidation {
        folds,
        examples: prepared.len(),
        model_only: scored[0],
        blended: scored[chosen],
        cue_weight: CUE_WEIGHTS[chosen],
    }
}

fn best(scores: &[f32; INTENTS]) -> Intent {
    let i = (0..INTENTS)
        .max_by(|&a, &b| scores[a].total_cmp(&scores[b]).then(b.cmp(&a)))
        .expect("intents");
    Intent::BY_PRECEDENCE[i]
}

/// Accuracy and macro-F1 of `predicted` against `gold`.
pub fn score(gold: &[Intent], predicted: &[Intent]) -> Scores {
    let mut tp = [0u32; INTENTS];
    let mut fp = [0u32; INTENTS];
    let mut fn_ = [0u32; INTENTS];
    for (&g, &p) in gold.iter().zip(predicted) {
        if g == p {
            tp[slot(g)] += 1;
        } else {
            fn_[slot(g)] += 1;
            fp[slot(p)] += 1;
        }
    }
    let present: Vec<usize> = (0..INTENTS).filter(|&i| tp[i] + fn_[i] > 0).collect();
    let f1 = |i: usize| {
        let denominator = 2 * tp[i] + fp[i] + fn_[i];
        f64::from(2 * tp[i]) / f64::from(denominator.max(1))
    };
    Scores {
        accuracy: f64::from(tp.iter().sum::<u32>()) / gold.len().max(1) as f64,
        macro_f1: present.iter().map(|&i| f1(i)).sum::<f64>() / present.len().max(1) as f64,
    }
}

/// A small deterministic generator for the example order (xorshift64*).
struct Shuffle(u64);

impl Shuffle {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn order(&mut self, n: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            order.swap(i, (self.next() % (i as u64 + 1)) as usize);
        }
        order
    }
}

/// Stochastic gradient descent on the softmax loss. The L2 decay is kept as one scale factor
/// over all weights, so that each step touches only the example's own features.
fn fit(
    train: &[&Prepared],
    classes: &[Intent],
    opts: &TrainOptions,
    cue_weight: f32,
) -> IntentModel {
    let k = classes.len();
    let mut w = vec![0f32; (1usize << opts.spec.bits) * k];
    let mut bias = vec![0f32; k];
    let mut scale = 1f32;
    let mut rng = Shuffle(opts.seed.max(1));
    let mut t = 0f32;
    let mut p = vec![0f32; k];
    for _ in 0..opts.epochs {
        for &i in &rng.order(train.len()) {
            let ex = train[i];
            let eta = opts.eta0 / (1.0 + opts.eta0 * opts.lambda * t);
            t += 1.0;
            softmax_into(&w, &bias, scale, &ex.features, &mut p);
            scale *= 1.0 - eta * opts.lambda;
            for (c, pc) in p.iter_mut().enumerate() {
                *pc -= f32::from(u8::from(c == ex.label));
                bias[c] -= eta * *pc;
            }
            for &(bucket, value) in &ex.features {
                let row = &mut w[bucket as usize * k..][..k];
                for (wc, g) in row.iter_mut().zip(&p) {
                    *wc -= eta * g * value / scale;
                }
            }
            if scale < 1e-6 {
                w.iter_mut().for_each(|x| *x *= scale);
                scale = 1.0;
            }
        }
    }
    w.iter_mut().for_each(|x| *x *= scale);
    quantise(opts.spec, classes, &w, bias, cue_weight)
}

fn softmax_into(w: &[f32], bias: &[f32], scale: f32, features: &[(u32, f32)], p: &mut [f32]) {
    let k = bias.len();
    p.copy_from_slice(bias);
    for &(bucket, value) in features {
        let row = &w[bucket as usize * k..][..k];
        for (acc, wc) in p.iter_mut().zip(row) {
            *acc += wc * scale * value;
        }
    }
    let top = p.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut total = 0.0;
    for v in p.iter_mut() {
        *v = (*v - top).exp();
        total += *v;
    }
    p.iter_mut().for_each(|v| *v /= total);
}

/// Weights to one byte each: the largest weight maps to 127, rounding to nearest.
fn quantise(
    spec: FeatureSpec,
    classes: &[Intent],
    w: &[f32],
    bias: Vec<f32>,
    cue_weight: f32,
) -> IntentModel {
    let top = w.iter().fold(0f32, |m, x| m.max(x.abs())).max(1e-6);
    let scale = top / 127.0;
    IntentModel {
        spec,
        classes: classes.to_vec(),
        cue_weight,
        scale,
        bias,
        weights: w
            .iter()
            .map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn examples() -> Vec<Example> {
        let rows = [
            ("where is my parcel", Intent::OrderTracking),
            ("when will my order arrive", Intent::OrderTracking),
            ("i want my money back", Intent::Refund),
            ("please refund the broken lamp", Intent::Refund),
            ("the app crashes on login", Intent::TechnicalIssue),
            ("website error at checkout", Intent::TechnicalIssue),
        ];
        rows.iter()
            .cycle()
            .take(30)
            .map(|(t, i)| Example {
                text: (*t).to_owned(),
                intent: *i,
            })
            .collect()
    }

    fn quick() -> TrainOptions {
        TrainOptions {
            spec: FeatureSpec {
                bits: 12,
                ..FeatureSpec::default()
            },
            epochs: 5,
            ..TrainOptions::default()
        }
    }

    #[test]
    fn training_twice_on_the_same_examples_gives_the_same_bytes() {
        let (a, _) = train(&examples(), &quick());
        let (b, _) = train(&examples(), &quick());
        assert_eq!(a.to_bytes(), b.to_bytes());
    }

    #[test]
    fn a_trained_model_learns_its_examples_and_survives_its_file() {
        let (model, cv) = train(&examples(), &quick());
        assert!(cv.model_only.accuracy > 0.9, "{cv:?}");
        let read = IntentModel::from_bytes(&model.to_bytes()).unwrap();
        let p = read.log_probabilities("where is my parcel");
        assert_eq!(best(&p), Intent::OrderTracking);
    }

    #[test]
    fn scores_count_accuracy_and_macro_f1() {
        let gold = [Intent::Refund, Intent::Refund, Intent::Other];
        let s = score(&gold, &[Intent::Refund, Intent::Other, Intent::Other]);
        assert!((s.accuracy - 2.0 / 3.0).abs() < 1e-9);
        assert!((s.macro_f1 - (2.0 / 3.0 + 2.0 / 3.0) / 2.0).abs() < 1e-9);
    }
}
