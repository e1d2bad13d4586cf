//! `casebot classify` and `casebot eval`: routing's understanding of messages, without a database.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use casebot::config::Config;
use casebot::domain::routing::classify::{classify_with, normalise};
use casebot::domain::routing::signals::first_decision_by;
use casebot::llm::{decide_intent, IntentOracle, LlmConfig, LlmIntent};

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
            classify(&args, config, oracle(config)?.as_deref(), out).await?;
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

fn oracle(config: &Config) -> anyhow::Result<Option<Box<dyn IntentOracle>>> {
    let Some(base_url) = config.llm.base_url.clone() else {
        return Ok(None);
    };
    let llm = LlmIntent::new(LlmConfig {
        base_url,
        model: config.llm.model.clone(),
        api_key: config.llm.api_key.clone(),
        timeout: std::time::Duration::from_millis(config.llm.timeout_ms),
    })
    .context("cannot set up the LLM client")?;
    Ok(Some(Box::new(llm)))
}

/// Prints one JSON decision per input line, in order. Input that is not UTF-8 is decoded with
/// replacement characters rather than refused.
async fn classify(
    args: &ClassifyArgs,
    config: &Config,
    oracle: Option<&dyn IntentOracle>,
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
        let intent = match oracle {
            Some(oracle) => {
                let local = classify_with(model, &normalise(text));
                Some(decide_intent(&local, Some(oracle), text).await)
            }
            None => None,
        };
        serde_json::to_writer(&mut *out, &first_decision_by(model, text, intent))?;
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
