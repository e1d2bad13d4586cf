//! The command-line adapter: reads the arguments and the configuration, wires casebot, runs the
//! command group's handler, and is the one place an error becomes what a person reads.

mod cases;
pub mod grammar;
mod orders;
mod privacy;
mod queue;
mod routing;
mod run;
pub mod tools;
mod train;

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use casebot::app::{App, Ports};
use casebot::config::{Config, ConfigError};
use clap::Parser;

use grammar::{Cli, Command};

/// Runs the command line and turns the result into an exit code.
pub fn main() -> ExitCode {
    // A missing .env is normal; a present one fills the environment before config is read.
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    match start(cli) {
        Ok(code) => code,
        Err(err) => report(&err),
    }
}

/// The one place an error becomes text for a person: one line, causes joined, no backtrace.
/// Bad configuration (or a bad model or rules file) exits with 2, anything else with 1.
fn report(err: &anyhow::Error) -> ExitCode {
    eprintln!("error: {err:#}");
    let bad_input = |cause: &(dyn std::error::Error + 'static)| {
        cause.is::<ConfigError>()
            || cause.is::<casebot::domain::routing::model::labels::LabelError>()
    };
    if err.chain().any(bad_input) {
        ExitCode::from(2)
    } else {
        ExitCode::FAILURE
    }
}

fn start(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut config = Config::from_env(cli.config.as_deref())?;
    if let Some(path) = &cli.model {
        config.routing.custom_model = Some(std::sync::Arc::new(casebot::config::load_model(path)?));
        config.routing.model_file = Some(path.clone());
    }
    casebot::telemetry::init(&config.log);
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(dispatch(cli.command, config))
}

/// Commands that need no database run first; the rest get casebot wired on the configured one.
async fn dispatch(command: Command, config: Config) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    let command = match routing::without_database(command, &config, &mut out).await? {
        Ok(code) => return Ok(code),
        Err(command) => command,
    };
    let command = match tools::without_database(command, &config, &mut out).await? {
        Ok(code) => return Ok(code),
        Err(command) => command,
    };
    let app = match &command {
        // The bot waits for its database; a one-off command says at once that it cannot reach it.
        Command::Run(_) => run::open_patiently(config).await?,
        _ => App::build(config, Ports::default()).await?,
    };
    let code = match command {
        Command::Migrate => {
            let backend = app.store.backend().as_str();
            writeln!(
                out,
                "{backend} database {} is migrated",
                app.config.database.url
            )?;
            ExitCode::SUCCESS
        }
        Command::Audit(c) => cases::audit(&app, c, &mut out).await?,
        Command::Case(c) => cases::case(&app, c, &mut out).await?,
        Command::Intake(args) => cases::intake(&app, args, &mut out).await?,
        Command::CallMe { case_id, phone } => {
            cases::call_me(&app, case_id, &phone, &mut out).await?
        }
        Command::Queue(c) => queue::queue(&app, c, &mut out).await?,
        Command::Staff(c) => queue::staff(&app, c, &mut out).await?,
        Command::Orders(c) => orders::orders(&app, c, &mut out).await?,
        Command::Privacy(c) => privacy::privacy(&app, c, &mut out).await?,
        Command::Train(args) => train::export_corrections(&app, &args, &mut out).await?,
        Command::Run(args) => run::run(app.clone(), args).await?,
        other => tools::with_database(&app, other, &mut out).await?,
    };
    app.store.close().await;
    Ok(code)
}
