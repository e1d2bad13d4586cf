//! `casebot classify` and `casebot eval`: routing's understanding of messages, without a database.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use casebot::app::llm_path;
use casebot::config::Config;
use casebot::domain::routing::classify::{classify_with, normalise};
use casebot::domain::routing::opinion::{DecidedBy, Opinion};
use casebot::domain::routing::signals::{first_decision_by, FirstDecision};
use casebot::domain::routing::Intent;
use casebot::llm::LlmAnswer;
use casebot::services::llm_path::{Consulted, LlmPath};
use serde::Serialize;

use super::grammar::{ClassifyArgs, Command};

/// Runs `command` if it needs no database; otherwise hands it back.
pub async fn without_database(
    command: Command,
    config: &Config,
    out: &mut impl Write,
) -> anyhow::Result<Result<ExitCode, Command>> {
    match command {
        Command::Config(_) => {
            writeln!(out, "{config:#?}")?;
            writeln!(out, "configuration is valid")?;
            Ok(Ok(ExitCode::SUCCESS))
        }
        Command::Classify(args) => {
            let llm = llm_path(config, None)?;
            classify(&args, config, llm.as_ref(), out).await?;
            Ok(Ok(ExitCode::SUCCESS))
        }
        // Exporting corrections reads the database; training does not.
        Command::Train(args) if args.export_corrections.is_none() => {
            super::train::run(&args, out)?;
            Ok(Ok(ExitCode::SUCCESS))
        }
        Command::Eval { data } => {
            let report = crate::tools::eval::run(&data, &config.routing.model())?;
            write!(out, "{}", report.markdown("cargo run --release -- eval"))?;
            Ok(Ok(ExitCode::SUCCESS))
        }
        other => Ok(Err(other)),
    }
}

/// One line of `casebot classify`: the first-message decision, who decided it, and what the
/// language model answered when one is set up.
#[derive(Serialize)]
struct Classified {
    #[serde(flatten)]
    decision: FirstDecision,
    local_intent: Intent,
    decided_by: DecidedBy,
    #[serde(skip_serializing_if = "Option::is_none")]
    llm: Option<LlmShown>,
}

/// The language model's part, raw answer included, for whoever runs the command on their own
/// messages (it is never logged).
#[derive(Serialize)]
struct LlmShown {
    /// `answered`, `refused`, `timeout`, `error` or `not_asked` (the gate kept the local answer).
    outcome: &'static str,
    /// Whether the answer was JSON of the schema.
    valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    answer: Option<Opinion>,
    /// Why the answer was refused, or what failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<String>,
    /// What the model said when it was refused, or the server with an error status, cut to 400
    /// characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    raw: Option<String>,
}

impl LlmShown {
    fn of(consulted: &Consulted) -> LlmShown {
        let (answer, problem, raw) = match &consulted.answer {
            Some(LlmAnswer::Labelled(opinion)) => (Some(*opinion), None, None),
            Some(LlmAnswer::Refused { refusal, raw }) => (
                None,
                Some(format!("{}: {}", refusal.kind, refusal.detail)),
                Some(raw.chars().take(400).collect()),
            ),
            Some(LlmAnswer::Failed { error, body }) => (None, Some(error.clone()), body.clone()),
            Some(LlmAnswer::TimedOut) | None => (None, None, None),
        };
        LlmShown {
            outcome: consulted.report.outcome,
            valid: answer.is_some(),
            answer,
            problem,
            raw,
        }
    }
}

/// Prints one JSON decision per input line, in order. Input that is not UTF-8 is decoded with
/// replacement characters rather than refused.
async fn classify(
    args: &ClassifyArgs,
    config: &Config,
    llm: Option<&LlmPath>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let input = match &args.file {
        Some(path) => {
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?
        }
        None => {
            let mut buf = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)?;
            buf
        }
    };
    let model = &config.routing.model();
    for text in &texts(args, &input)? {
        let local = classify_with(model, &normalise(text));
        // Lines have no message id, so nothing is cached: each line is asked about.
        let consulted = match llm {
            Some(llm) => Some(llm.consult(None, &local, text).await),
            None => None,
        };
        let opinion = consulted.as_ref().and_then(|c| c.opinion);
        let line = Classified {
            decision: first_decision_by(model, text, opinion.as_ref()),
            local_intent: local.intent,
            decided_by: consulted
                .as_ref()
                .map_or(DecidedBy::Local, |c| c.decided_by),
            llm: consulted.as_ref().map(LlmShown::of),
        };
        serde_json::to_writer(&mut *out, &line)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// The texts to classify: a CSV column, or the input's lines.
fn texts(args: &ClassifyArgs, input: &[u8]) -> anyhow::Result<Vec<String>> {
    if let (Some(column), true) = (&args.column, args.csv) {
        let mut reader = csv::Reader::from_reader(input);
        let headers = reader.byte_headers()?.clone();
        let index = headers
            .iter()
            .position(|h| h == column.as_bytes())
            .with_context(|| format!("the CSV has no column named {column:?}"))?;
        return reader
            .byte_records()
            .map(|r| Ok(String::from_utf8_lossy(r?.get(index).unwrap_or_default()).into_owned()))
            .collect();
    }
    if input.is_empty() {
        return Ok(Vec::new());
    }
    let text = String::from_utf8_lossy(input);
    let body = text.strip_suffix('\n').unwrap_or(&text);
    Ok(body
        .split('\n')
        .map(|l| l.trim_end_matches('\r').to_owned())
        .collect())
}
