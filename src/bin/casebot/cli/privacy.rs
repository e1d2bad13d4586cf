//! `casebot privacy`: a customer's export and erasure, both audited.

use std::io::Write;
use std::process::ExitCode;

use casebot::app::App;
use casebot::domain::{Actor, CustomerId};

use super::grammar::PrivacyCommand;

pub async fn privacy(
    app: &App,
    command: PrivacyCommand,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let operator = Actor::system("operator");
    match command {
        PrivacyCommand::Export { customer } => {
            let export = app.privacy.export(CustomerId(customer), &operator).await?;
            writeln!(out, "{}", serde_json::to_string_pretty(&export)?)?;
        }
        PrivacyCommand::Erase { customer } => {
            let erased = app.privacy.erase(CustomerId(customer), &operator).await?;
            writeln!(
                out,
                "customer #{customer} erased: {erased} messages emptied, personal data removed"
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
