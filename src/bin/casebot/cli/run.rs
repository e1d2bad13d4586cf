//! `casebot run` and `casebot setup`: the bot itself, and the check that Discord is set up for it.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use casebot::app::{App, Ports};
use casebot::config::Config;
use casebot::discord::rest::Rest;
use casebot::discord::setup::{self, Finding};
use casebot::discord::{Connection, DiscordSettings};
use casebot::secrets::Secret;
use casebot::services::outbox::LocalBudget;

use super::grammar::RunArgs;

/// Opens the database, and while it is unreachable says so and tries again, waiting longer each
/// time (up to half a minute), until it answers or the process is stopped.
pub async fn open_patiently(config: Config) -> anyhow::Result<App> {
    let mut wait = std::time::Duration::from_secs(1);
    loop {
        match App::build(config.clone(), Ports::default()).await {
            Ok(app) => return Ok(app),
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), retry_in_secs = wait.as_secs(), "the database is unreachable; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = tokio::signal::ctrl_c() => return Err(e),
                }
                wait = (wait * 2).min(std::time::Duration::from_secs(30));
            }
        }
    }
}

/// Against a sandbox (`--discord-url`) the sandbox's own staff server and token stand in for
/// any that are not configured.
fn connection(
    config: &Config,
    discord_url: Option<String>,
) -> anyhow::Result<(DiscordSettings, Secret)> {
    let sandbox = discord_url.is_some();
    let token = match (&config.discord_token, sandbox) {
        (Some(token), _) => token.clone(),
        (None, true) => Secret::new(casebot_sandbox::TOKEN),
        (None, false) => anyhow::bail!(
            "DISCORD_TOKEN is not set: casebot reads the bot's token from the environment"
        ),
    };
    let ids = &config.discord;
    let unset = [
        ids.staff_guild,
        ids.queue_channel,
        ids.staff_role,
        ids.lead_role,
    ]
    .iter()
    .all(|id| *id == 0);
    let settings = if sandbox && unset {
        let mut sandbox = DiscordSettings::from_config(ids);
        sandbox.staff_guild = casebot_sandbox::STAFF_GUILD;
        sandbox.queue_channel = casebot_sandbox::QUEUE_CHANNEL;
        sandbox.staff_role = casebot_sandbox::STAFF_ROLE;
        sandbox.lead_role = casebot_sandbox::LEAD_ROLE;
        sandbox
    } else {
        casebot::run::discord_settings(ids)?
    };
    Ok((settings, token))
}

pub async fn run(app: App, args: RunArgs) -> anyhow::Result<ExitCode> {
    let shards = match (args.shards, args.of) {
        (Some(range), Some(of)) => Some(casebot::run::parse_shards(&range, of)?),
        _ => None,
    };
    let (settings, token) = connection(&app.config, args.discord_url.clone())?;
    let budget = app.outbound_budget(&token);
    let connection = Connection {
        token,
        base_url: args.discord_url,
        shards,
    };
    casebot::run::run(app, settings, connection, budget).await?;
    Ok(ExitCode::SUCCESS)
}

pub async fn setup(
    config: &Config,
    discord_url: Option<String>,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    writeln!(out, "casebot needs these scopes:")?;
    for (scope, why) in setup::SCOPES {
        writeln!(out, "  {scope}: {why}")?;
    }
    writeln!(
        out,
        "and these permissions in the staff server's queue channel:"
    )?;
    for n in setup::IN_QUEUE_CHANNEL {
        writeln!(out, "  {}: {}", n.name, n.why)?;
    }
    writeln!(out, "and where customers mention it:")?;
    for n in setup::IN_PUBLIC_CHANNELS {
        writeln!(out, "  {}: {}", n.name, n.why)?;
    }
    let token = config.discord_token.clone().or_else(|| {
        discord_url
            .as_ref()
            .map(|_| Secret::new(casebot_sandbox::TOKEN))
    });
    let client_id = token
        .as_ref()
        .and_then(|t| setup::client_id_of(t.expose()))
        .unwrap_or_else(|| "YOUR_APPLICATION_ID".into());
    writeln!(
        out,
        "\ninvite casebot with:\n  {}\n",
        setup::invite_url(&client_id)
    )?;
    let Some(token) = token else {
        writeln!(out, "set DISCORD_TOKEN to check the staff server as well")?;
        return Ok(ExitCode::SUCCESS);
    };
    let (settings, _) = connection(config, discord_url.clone())?;
    let connection = Connection {
        token: token.clone(),
        base_url: discord_url,
        shards: None,
    };
    let rest = Rest::new(
        &connection.api(),
        token,
        Arc::new(LocalBudget(Arc::new(
            casebot::services::limits::RateLimits::new(&config.limits),
        ))),
    )?;
    let mut missing = 0;
    for finding in setup::check(&rest, &settings).await {
        match finding {
            Finding::Ok(what) => writeln!(out, "ok: {what}")?,
            Finding::Missing { what, fix } => {
                missing += 1;
                writeln!(out, "missing: {what}\n  fix: {fix}")?;
            }
        }
    }
    if missing > 0 {
        writeln!(out, "\n{missing} thing(s) to fix before `casebot run`")?;
        return Ok(ExitCode::FAILURE);
    }
    writeln!(
        out,
        "\neverything casebot needs is in place: start it with `casebot run`"
    )?;
    Ok(ExitCode::SUCCESS)
}
