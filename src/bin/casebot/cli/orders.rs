//! `casebot orders import`: loading the built-in order system.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use casebot::app::App;

use super::grammar::OrdersCommand;

pub async fn orders(
    app: &App,
    command: OrdersCommand,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let OrdersCommand::Import { file, csv } = command;
    let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
    let csv = csv
        || file
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let report = casebot::orders::import::import(&app.store, &bytes, csv).await?;
    for (line, problem) in &report.skipped {
        writeln!(out, "line {line}: skipped: {problem}")?;
    }
    writeln!(
        out,
        "imported {} orders, {} subscriptions, {} charges; skipped {} rows",
        report.orders,
        report.subscriptions,
        report.charges,
        report.skipped.len()
    )?;
    Ok(ExitCode::SUCCESS)
}
