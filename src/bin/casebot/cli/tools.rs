//! `casebot demo`, `console`, `replay`, `setup` and `bench`: the commands that drive casebot from
//! outside. The benchmarks open databases of their own; the others run on the configured one.

use std::io::Write;
use std::process::ExitCode;

use casebot::app::{App, Ports};
use casebot::config::Config;
use casebot::domain::policy::LimitSettings;
use serde::Serialize;

use super::grammar::{BenchCommand, Command, ReplayArgs};
use crate::tools::bench;
use crate::tools::replay::{self, Pace};

/// Runs `command` if it needs no database of the configuration's; otherwise hands it back.
pub async fn without_database(
    command: Command,
    config: &Config,
    out: &mut impl Write,
) -> anyhow::Result<Result<ExitCode, Command>> {
    let code = match command {
        Command::Setup { discord_url } => super::run::setup(config, discord_url, out).await?,
        Command::Bench(BenchCommand::Classify { data, rounds, json }) => {
            let b = bench::classify::classify(&data, rounds);
            print(out, json, &b, || {
                format!(
                    "{} messages: {:.0} msgs/s (p99 {:.1} µs); intent alone {:.0}/s, mood alone {:.0}/s; \
                     lower-casing alone {:.0}/s ({})",
                    b.messages, b.msgs_per_s, b.p99_us, b.intent_only_msgs_per_s, b.mood_only_msgs_per_s,
                    b.baseline_normalise_msgs_per_s, b.source
                )
            })?
        }
        Command::Bench(BenchCommand::Intake(args)) => {
            if let Some(prefix) = &args.worker {
                let report = bench::intake::worker(config, &args, prefix).await?;
                writeln!(out, "{}", serde_json::to_string(&report)?)?;
                return Ok(Ok(ExitCode::SUCCESS));
            }
            let b = bench::intake::intake(config, &args).await?;
            print(out, args.json, &b, || {
                let mut line = format!(
                    "{} intake of {} messages from {} customers, {} at a time: {:.0} msgs/s \
                     (p50 {:.1} ms, p99 {:.1} ms); the minimal program {:.0} msgs/s (p99 {:.1} ms); ratio {:.2}",
                    b.backend, b.messages, b.customers, b.concurrency, b.engine_msgs_per_s, b.p50_ms, b.p99_ms,
                    b.minimal_msgs_per_s, b.minimal_p99_ms, b.ratio
                );
                if let (Some(rate), Some(scaling)) = (b.processes_msgs_per_s, b.processes_scaling) {
                    line += &format!(
                        "; {} processes together {rate:.0} msgs/s ({scaling:.2}x one)",
                        b.processes
                    );
                }
                line
            })?
        }
        Command::Bench(BenchCommand::Claims {
            db,
            staff,
            cases,
            json,
        }) => {
            let b = bench::claims::claims(config, db.as_deref(), staff, cases).await?;
            let code = print(out, json, &b, || {
                format!(
                    "{} claims by {} staff over {} cases: {:.0} claims/s; one statement each {:.0}/s; \
                     ratio {:.2}; {} claimed twice",
                    b.backend, b.staff, b.cases, b.claims_per_s, b.minimal_claims_per_s, b.ratio, b.claimed_twice
                )
            })?;
            if b.claimed_twice > 0 {
                ExitCode::FAILURE
            } else {
                code
            }
        }
        Command::Bench(BenchCommand::Seed { db, messages, json }) => {
            let url = db.unwrap_or_else(|| config.database.url.expose().to_owned());
            let b = bench::intake::seed(config, &url, messages).await?;
            print(out, json, &b, || {
                format!(
                    "{} messages stored on {} in {:.1} s ({:.0}/s)",
                    b.messages, b.backend, b.seconds, b.msgs_per_s
                )
            })?
        }
        other => return Ok(Err(other)),
    };
    Ok(Ok(code))
}

fn print<T: Serialize>(
    out: &mut impl Write,
    json: bool,
    value: &T,
    text: impl FnOnce() -> String,
) -> anyhow::Result<ExitCode> {
    if json {
        writeln!(out, "{}", serde_json::to_string(value)?)?;
    } else {
        writeln!(out, "{}", text())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The tools that run on the configured database.
pub async fn with_database(
    app: &App,
    command: Command,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    match command {
        Command::Demo => crate::tools::demo::run(app, out).await,
        Command::Console => {
            crate::tools::console::run(app).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Replay(args) => replay(app, args, out).await,
        other => anyhow::bail!("{other:?} is not a tool command"),
    }
}

async fn replay(app: &App, args: ReplayArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let (messages, bad) = replay::read_file(&args.file)?;
    for b in bad.iter().take(20) {
        eprintln!("line {}: {}", b.line, b.reason);
    }
    let pace = match args.speed {
        Some(x) if x > 0.0 => Pace::Speed(x),
        Some(_) => anyhow::bail!("--speed must be above 0"),
        None => Pace::AsFastAsPossible,
    };
    // Time runs faster in a replay; the limits' windows shrink with it.
    let limits = match pace {
        Pace::Speed(x) => app.config.limits.compressed(x),
        Pace::AsFastAsPossible => LimitSettings::unlimited(),
    };
    let ports = Ports {
        limits: Some(limits),
        ..Ports::default()
    };
    let replaying = App::on_store(app.config.as_ref().clone(), app.store.clone(), ports)?;
    let s = replay::replay(replaying.intake.clone(), messages, &bad, pace, args.lanes).await?;
    if args.json {
        writeln!(out, "{}", serde_json::to_string(&s)?)?;
    } else {
        writeln!(
            out,
            "{} messages ({} bad lines skipped, {} already taken in) on {} cases in {:.1} s: {:.0} msgs/s; \
             {} escalated; {} held back by rate limits; {} failed",
            s.messages, s.bad_lines, s.duplicates, s.cases, s.seconds, s.msgs_per_s, s.escalations,
            s.held_by_rate_limits, s.failed
        )?;
        for (intent, n) in &s.intents {
            writeln!(out, "  {intent}: {n}")?;
        }
    }
    Ok(if s.failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
