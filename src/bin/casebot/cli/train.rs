//! `casebot train`: reads labelled CSV files, trains an intent model on them, reports its
//! cross-validated scores and writes the model file; or exports staff corrections as labelled
//! CSV to train on.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use casebot::app::App;
use casebot::domain::routing::model::labels::{parse_labels, Example};
use casebot::domain::routing::model::train::{train, TrainOptions};

use super::grammar::TrainArgs;

/// The CSV files named, folders expanded to their .csv files in name order.
fn label_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("cannot read {}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "csv"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn read_examples(args: &TrainArgs) -> anyhow::Result<Vec<Example>> {
    let mut examples = Vec::new();
    for file in label_files(&args.labels)? {
        let bytes =
            std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
        let name = file.display().to_string();
        examples.extend(parse_labels(
            &name,
            &bytes,
            &args.text_column,
            &args.intent_column,
        )?);
    }
    let intents: std::collections::BTreeSet<_> = examples.iter().map(|e| e.intent).collect();
    anyhow::ensure!(
        intents.len() >= 2,
        "training needs examples of at least two intents (found {})",
        intents.len()
    );
    Ok(examples)
}

/// Runs `casebot train`.
pub fn run(args: &TrainArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let examples = read_examples(args)?;
    let opts = TrainOptions {
        folds: usize::from(args.folds),
        ..TrainOptions::default()
    };
    let (model, cv) = train(&examples, &opts);
    let target = args
        .out
        .as_deref()
        .context("name the model file with --out")?;
    write_model(target, &model.to_bytes())?;
    writeln!(
        out,
        "trained on {} examples of {} intents in {:.1} s",
        cv.examples,
        model.classes().len(),
        started.elapsed().as_secs_f64()
    )?;
    writeln!(
        out,
        "{}-fold cross-validation: model alone accuracy {:.3}, macro-F1 {:.3}; \
         blended with the cues (weight {}) accuracy {:.3}, macro-F1 {:.3}",
        cv.folds,
        cv.model_only.accuracy,
        cv.model_only.macro_f1,
        cv.cue_weight,
        cv.blended.accuracy,
        cv.blended.macro_f1
    )?;
    writeln!(out, "wrote {}", target.display())?;
    Ok(())
}

/// Runs `casebot train --export-corrections FILE.csv`: every corrected case on the configured
/// database, as labelled CSV. Only counts are printed; the messages go to the file alone.
pub async fn export_corrections(
    app: &App,
    args: &TrainArgs,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let path = args
        .export_corrections
        .as_deref()
        .context("name the file with --export-corrections")?;
    let mut bytes = Vec::new();
    let exported = casebot::services::corrections::export(&app.store, &mut bytes).await?;
    write_model(path, &bytes)?;
    writeln!(
        out,
        "wrote {} corrected case(s) to {} ({} left out: no customer text left); train on it \
         with --labels {}",
        exported.rows,
        path.display(),
        exported.skipped,
        path.display()
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Writes through a temporary file beside the target, so a reader never sees half a file.
fn write_model(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    tmp.write_all(bytes)?;
    tmp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
