//! `casebot bench classify`: classification throughput on one core over real customer texts,
//! against lower-casing the same texts (the floor any classifier pays), measured in the same run.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;

use casebot::domain::routing::classify::{classify_intent, normalise, read_cues};
use casebot::domain::routing::model::IntentModel;
use casebot::domain::routing::signals::{first_decision, read_mood};

/// The outcome of `casebot bench classify`.
#[derive(Debug, Serialize)]
pub struct ClassifyBench {
    pub messages: usize,
    pub msgs_per_s: f64,
    pub p99_us: f64,
    /// The two halves of a decision measured apart, to show where the time goes.
    pub intent_only_msgs_per_s: f64,
    pub mood_only_msgs_per_s: f64,
    /// The learned model's scoring alone, and the precise cues alone (the classifier before
    /// the model), on the same texts.
    pub model_only_msgs_per_s: f64,
    pub cues_only_msgs_per_s: f64,
    /// Lower-casing the same texts and nothing else: the floor any classifier pays.
    pub baseline_normalise_msgs_per_s: f64,
    pub source: String,
}

/// Real customer texts from the shared data, or generated ones when it is absent.
pub fn tweet_texts(data: &Path) -> (Vec<String>, String) {
    let path = data.join("twcs/amazonhelp_first_turn_pairs.csv");
    let read = || -> anyhow::Result<Vec<String>> {
        let mut reader = csv::Reader::from_path(&path)?;
        let headers = reader.headers()?.clone();
        let col = headers
            .iter()
            .position(|h| h == "customer_text")
            .context("no customer_text column")?;
        reader
            .records()
            .map(|r| Ok(r?.get(col).unwrap_or_default().to_owned()))
            .collect()
    };
    match read() {
        Ok(texts) if !texts.is_empty() => (texts, path.display().to_string()),
        _ => (generated_texts(5_000), "built-in generator".to_owned()),
    }
}

/// Plausible support messages built from fixed parts, for machines without the shared data.
fn generated_texts(n: usize) -> Vec<String> {
    const OPENERS: [&str; 5] = ["hi,", "hello", "ugh", "please help:", "HEY"];
    const PROBLEMS: [&str; 8] = [
        "where is my order 112-4430938-2412367",
        "my parcel is 3 days late",
        "tracking says delivered but nothing arrived",
        "I was charged twice for my membership",
        "someone hacked my account",
        "I want a refund for the broken kettle",
        "how do I change my shipping address",
        "can I talk to a real person",
    ];
    const CLOSERS: [&str; 4] = ["thanks", "!!!", "this is the third time", "asap please"];
    (0..n)
        .map(|i| {
            format!(
                "{} {} {}",
                OPENERS[i % OPENERS.len()],
                PROBLEMS[(i / 5) % PROBLEMS.len()],
                CLOSERS[(i / 40) % CLOSERS.len()]
            )
        })
        .collect()
}

/// Classifies every text `rounds` times on this thread and reports throughput and the p99 of
/// single-message latency.
pub fn classify(data: &Path, rounds: usize) -> ClassifyBench {
    let (texts, source) = tweet_texts(data);
    // One unmeasured pass first: patterns compile lazily and the regex engines build their
    // automata on first use. The figures are for a running bot, not for its first minute.
    for text in &texts {
        std::hint::black_box(first_decision(text));
    }
    let mut latencies_ns = Vec::with_capacity(texts.len() * rounds);
    let started = Instant::now();
    for _ in 0..rounds {
        for text in &texts {
            let t = Instant::now();
            std::hint::black_box(first_decision(text));
            latencies_ns.push(t.elapsed().as_nanos() as u64);
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies_ns.sort_unstable();
    let p99 = latencies_ns[(latencies_ns.len() * 99 / 100).min(latencies_ns.len() - 1)];

    let messages = texts.len() * rounds;
    let rate = |f: &dyn Fn(&str)| {
        let started = Instant::now();
        for _ in 0..rounds {
            texts.iter().for_each(|t| f(t));
        }
        messages as f64 / started.elapsed().as_secs_f64()
    };
    let intent_only = rate(&|t| {
        std::hint::black_box(classify_intent(t));
    });
    let mood_only = rate(&|t| {
        std::hint::black_box(read_mood(t));
    });
    let model = IntentModel::builtin();
    let model_only = rate(&|t| {
        std::hint::black_box(model.log_probabilities(&normalise(t)));
    });
    let cues_only = rate(&|t| {
        std::hint::black_box(read_cues(&normalise(t)));
    });
    let baseline = rate(&|t| {
        std::hint::black_box(normalise(t));
    });
    ClassifyBench {
        messages,
        msgs_per_s: messages as f64 / elapsed,
        p99_us: p99 as f64 / 1_000.0,
        intent_only_msgs_per_s: intent_only,
        mood_only_msgs_per_s: mood_only,
        model_only_msgs_per_s: model_only,
        cues_only_msgs_per_s: cues_only,
        baseline_normalise_msgs_per_s: baseline,
        source,
    }
}
