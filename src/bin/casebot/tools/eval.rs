//! `casebot eval`: scores the local classifier on labelled third-party data (read from the shared
//! data folder, never copied into the repository) and renders the figures as Markdown.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;

use casebot::domain::routing::model::IntentModel;
use casebot::domain::routing::signals::{first_decision_by, read_mood};
use casebot::domain::routing::Intent;

#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub tp: u32,
    pub fp: u32,
    pub fn_: u32,
}

impl Counts {
    /// Counts one decision against its gold label.
    pub fn add(&mut self, gold: bool, predicted: bool) {
        match (gold, predicted) {
            (true, true) => self.tp += 1,
            (true, false) => self.fn_ += 1,
            (false, true) => self.fp += 1,
            (false, false) => {}
        }
    }
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

fn ratio(a: u32, b: u32) -> f64 {
    if b == 0 {
        0.0
    } else {
        f64::from(a) / f64::from(b)
    }
}

/// The evaluation's figures.
#[derive(Debug)]
pub struct Report {
    rows: u32,
    per_intent: BTreeMap<String, Counts>,
    macro_f1: f64,
    negatives: u32,
    frustration_recall: f64,
    positives: u32,
    frustration_false_positive_rate: f64,
    retail: Vec<super::eval_retail::RetailSet>,
}

/// Scores intents on the mapped rows with an exact or close fit, and frustration on airline tweets
/// whose sentiment label has a confidence of at least 0.99.
pub fn run(data: &Path, model: &IntentModel) -> anyhow::Result<Report> {
    let (mut reader, cols) = open_csv(
        &data.join("mapping/unified_labeled_eval.csv"),
        ["text", "our_intent", "fit"],
    )?;
    let [text_col, intent_col, fit_col] = cols;
    let mut per_intent: BTreeMap<String, Counts> = BTreeMap::new();
    let mut rows = 0;
    for record in reader.records() {
        let record = record?;
        if !matches!(&record[fit_col], "exact" | "close") {
            continue;
        }
        rows += 1;
        let gold = record[intent_col].to_owned();
        let guess = first_decision_by(model, &record[text_col], None)
            .intent
            .as_str()
            .to_owned();
        if guess == gold {
            per_intent.entry(gold).or_default().tp += 1;
        } else {
            per_intent.entry(gold).or_default().fn_ += 1;
            per_intent.entry(guess).or_default().fp += 1;
        }
    }
    // Macro-F1 over the intents the labelled data contains.
    let present: Vec<&Counts> = per_intent.values().filter(|c| c.tp + c.fn_ > 0).collect();
    let macro_f1 = present.iter().map(|c| c.f1()).sum::<f64>() / present.len().max(1) as f64;

    let (mut reader, cols) = open_csv(
        &data.join("airline_sentiment/Tweets.csv"),
        ["airline_sentiment", "airline_sentiment_confidence", "text"],
    )?;
    let [label, conf, text] = cols;
    let (mut negatives, mut caught, mut positives, mut flagged) = (0, 0, 0, 0);
    for record in reader.records() {
        let record = record?;
        let confident = record[conf].parse::<f64>().is_ok_and(|c| c >= 0.99);
        let frustrated = || read_mood(&record[text]).frustration;
        match &record[label] {
            "negative" if confident => {
                negatives += 1;
                caught += u32::from(frustrated());
            }
            "positive" => {
                positives += 1;
                flagged += u32::from(frustrated());
            }
            _ => {}
        }
    }
    Ok(Report {
        rows,
        per_intent,
        macro_f1,
        negatives,
        frustration_recall: ratio(caught, negatives),
        positives,
        frustration_false_positive_rate: ratio(flagged, positives),
        retail: [
            "twcs/amazonhelp_dev_labels.csv",
            "twcs/amazonhelp_train_labels.csv",
        ]
        .iter()
        .map(|f| super::eval_retail::score_file(data, f, model))
        .collect::<anyhow::Result<_>>()?,
    })
}

/// Opens a CSV file and finds the named columns, saying which one is missing.
pub fn open_csv<const N: usize>(
    path: &Path,
    names: [&str; N],
) -> anyhow::Result<(csv::Reader<std::fs::File>, [usize; N])> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("cannot read {}", path.display()))?;
    let headers = reader.headers()?.clone();
    let mut cols = [0; N];
    for (col, name) in cols.iter_mut().zip(names) {
        *col = headers
            .iter()
            .position(|h| h == name)
            .with_context(|| format!("{} has no column {name:?}", path.display()))?;
    }
    Ok((reader, cols))
}

impl Report {
    /// The figures as a Markdown section.
    pub fn markdown(&self, command: &str) -> String {
        let mut out = format!(
            "Produced by `{command}`.\n\n{}\n\
             ## Third-party data (secondary)\n\n\
             ### Intent ({} rows of `mapping/unified_labeled_eval.csv` with fit exact or close)\n\n\
             | intent | precision | recall | F1 | support |\n|---|---|---|---|---|\n",
            super::eval_retail::markdown(&self.retail),
            self.rows
        );
        for intent in Intent::BY_PRECEDENCE {
            if let Some(c) = self.per_intent.get(intent.as_str()) {
                out.push_str(&format!(
                    "| {intent} | {:.3} | {:.3} | {:.3} | {} |\n",
                    c.precision(),
                    c.recall(),
                    c.f1(),
                    c.tp + c.fn_
                ));
            }
        }
        out.push_str(&format!(
            "\n**Macro-F1: {:.3}** (over the intents present in the labels; target 0.85)\n\n\
             ### Frustration (airline tweets)\n\n\
             - recall on {} negative tweets labelled with confidence >= 0.99: **{:.3}** (target 0.75)\n\
             - flagged among {} positive tweets: **{:.3}** (target at most 0.15)\n",
            self.macro_f1,
            self.negatives,
            self.frustration_recall,
            self.positives,
            self.frustration_false_positive_rate
        ));
        out
    }
}
