//! `casebot eval`'s lead section: the routing decision scored on real retail tweets labelled
//! with the labelling guide (the shared development and training sets, read in place and never
//! copied into the repository): intent accuracy, macro-F1 and per-intent F1, and precision,
//! recall and F1 of the escalate, frustration and urgency flags.

use std::path::Path;

use casebot::domain::routing::model::train::score;
use casebot::domain::routing::model::IntentModel;
use casebot::domain::routing::signals::first_decision_by;
use casebot::domain::routing::Intent;

use super::eval::{open_csv, Counts};

/// The figures on one labelled file.
#[derive(Debug)]
pub struct RetailSet {
    pub name: String,
    pub rows: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub per_intent: Vec<(Intent, Counts)>,
    /// escalate, frustration, urgency.
    pub flags: [Counts; 3],
}

/// Scores the routing decision on `file` (columns customer_text, intent, escalate,
/// frustration, urgency).
pub fn score_file(data: &Path, file: &str, model: &IntentModel) -> anyhow::Result<RetailSet> {
    let names = [
        "customer_text",
        "intent",
        "escalate",
        "frustration",
        "urgency",
    ];
    let (mut reader, [text, intent, escalate, frustration, urgency]) =
        open_csv(&data.join(file), names)?;
    let (mut gold, mut predicted) = (Vec::new(), Vec::new());
    let mut flags = [Counts::default(); 3];
    for record in reader.records() {
        let record = record?;
        let d = first_decision_by(model, &record[text], None);
        gold.push(record[intent].parse::<Intent>().unwrap_or(Intent::Other));
        predicted.push(d.intent);
        let pairs = [
            (escalate, d.escalate),
            (frustration, d.frustration),
            (urgency, d.urgency),
        ];
        for (count, (col, guess)) in flags.iter_mut().zip(pairs) {
            count.add(&record[col] == "yes", guess);
        }
    }
    let per_intent = Intent::BY_PRECEDENCE
        .into_iter()
        .map(|i| {
            let mut c = Counts::default();
            for (&g, &p) in gold.iter().zip(&predicted) {
                if g == i || p == i {
                    c.add(g == i, p == i);
                }
            }
            (i, c)
        })
        .collect();
    let s = score(&gold, &predicted);
    Ok(RetailSet {
        name: file.to_owned(),
        rows: gold.len(),
        accuracy: s.accuracy,
        macro_f1: s.macro_f1,
        per_intent,
        flags,
    })
}

/// The sets side by side as Markdown.
pub fn markdown(sets: &[RetailSet]) -> String {
    let mut out = String::from("## Real retail tweets\n\n| | ");
    out += &sets
        .iter()
        .map(|s| format!("`{}` ({} rows)", s.name, s.rows))
        .collect::<Vec<_>>()
        .join(" | ");
    out += " |\n|---|";
    out += &"---|".repeat(sets.len());
    out.push('\n');
    let row = |label: &str, f: &dyn Fn(&RetailSet) -> String| {
        let cells: Vec<String> = sets.iter().map(f).collect();
        format!("| {label} | {} |\n", cells.join(" | "))
    };
    out += &row("intent accuracy", &|s| format!("**{:.3}**", s.accuracy));
    out += &row("intent macro-F1", &|s| format!("**{:.3}**", s.macro_f1));
    for (i, name) in ["escalate", "frustration", "urgency"].iter().enumerate() {
        out += &row(&format!("{name} P / R / F1"), &|s| {
            let c = s.flags[i];
            format!("{:.3} / {:.3} / {:.3}", c.precision(), c.recall(), c.f1())
        });
    }
    out += "\nPer-intent F1 (support in brackets):\n\n| intent | ";
    out += &sets
        .iter()
        .map(|s| s.name.clone())
        .collect::<Vec<_>>()
        .join(" | ");
    out += " |\n|---|";
    out += &"---|".repeat(sets.len());
    out.push('\n');
    for (k, intent) in Intent::BY_PRECEDENCE.iter().enumerate() {
        out += &row(intent.as_str(), &|s| {
            let c = s.per_intent[k].1;
            format!("{:.3} ({})", c.f1(), c.tp + c.fn_)
        });
    }
    out
}
