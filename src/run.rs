//! `casebot run`: the long-running bot. It connects to Discord, delivers the outbox, runs the
//! sweepers on their interval, and serves `/healthz`, `/readyz` and `/metrics`. SIGTERM or
//! Ctrl-C stops it cleanly: the gateway closes, and whatever is not yet delivered stays pending
//! in the outbox for the next start.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tokio::sync::watch;

use crate::config::{Config, DiscordIds};
use crate::discord::{self, Connection, DiscordSettings, Services};
use crate::metrics::{self, Latency};
use crate::services::sla::SlaSweeper;
use crate::services::stuck::StuckSweeper;
use crate::store::Store;

/// How `casebot run` connects.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// A Discord-compatible server to use instead of Discord (the sandbox).
    pub discord_url: Option<String>,
    /// The shards this process runs, out of how many.
    pub shards: Option<(Range<u32>, u32)>,
}

/// The staff server as configured; against the sandbox, its own when none is configured.
pub fn discord_settings(ids: &DiscordIds, sandbox: bool) -> anyhow::Result<DiscordSettings> {
    let unset = [
        ("discord.staff_guild_id", ids.staff_guild),
        ("discord.queue_channel_id", ids.queue_channel),
        ("discord.staff_role_id", ids.staff_role),
        ("discord.lead_role_id", ids.lead_role),
    ];
    if sandbox && unset.iter().all(|(_, id)| *id == 0) {
        return Ok(DiscordSettings {
            note_prefix: ids.note_prefix.clone(),
            ..DiscordSettings::sandbox()
        });
    }
    if let Some((key, _)) = unset.iter().find(|(_, id)| *id == 0) {
        anyhow::bail!("{key} is not set: casebot run needs the staff server's ids");
    }
    Ok(DiscordSettings {
        staff_guild: ids.staff_guild,
        queue_channel: ids.queue_channel,
        staff_role: ids.staff_role,
        lead_role: ids.lead_role,
        note_prefix: ids.note_prefix.clone(),
    })
}

/// Runs until SIGTERM or Ctrl-C.
pub async fn run(
    config: &Config,
    services: Services,
    sweepers: (StuckSweeper, SlaSweeper),
    options: RunOptions,
) -> anyhow::Result<()> {
    let sandbox = options.discord_url.is_some();
    let token = match (&config.discord_token, sandbox) {
        (Some(token), _) => token.expose().to_owned(),
        (None, true) => "sandbox".to_owned(),
        (None, false) => anyhow::bail!(
            "DISCORD_TOKEN is not set: casebot run reads the bot's token from the environment"
        ),
    };
    let settings = discord_settings(&config.discord, sandbox)?;
    let listener = tokio::net::TcpListener::bind(config.http_addr)
        .await
        .with_context(|| format!("cannot serve health checks on {}", config.http_addr))?;
    let store = services.store.clone();
    let latency = services.latency.clone();
    let connection = Connection {
        token,
        proxy: options.discord_url,
        shards: options.shards,
    };
    let bot = discord::start(services, settings, connection).await?;
    let (stop, stopped) = watch::channel(false);

    let health = Health {
        store: store.clone(),
        ready: bot.ready_flag(),
        latency,
    };
    let mut health_stopped = stopped.clone();
    let server = tokio::spawn(async move {
        let app = Router::new()
            .route("/healthz", get(|| async { "ok\n" }))
            .route("/readyz", get(readyz))
            .route("/metrics", get(metrics_page))
            .with_state(health);
        let shutdown = async move {
            let _ = health_stopped.changed().await;
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "the health server stopped");
        }
    });
    let sweeping = tokio::spawn(sweep_forever(
        sweepers,
        config.queue.sweep_interval,
        stopped,
    ));
    tracing::info!(addr = %config.http_addr, "casebot is running");

    shutdown_signal().await;
    tracing::info!("shutting down");
    let _ = stop.send(true);
    bot.stop().await;
    let _ = sweeping.await;
    let _ = server.await;
    store.close().await;
    Ok(())
}

/// Every interval: stuck cases, SLA breaches, overdue callbacks. A failed round is logged and
/// the next one runs as usual.
async fn sweep_forever(
    (stuck, sla): (StuckSweeper, SlaSweeper),
    every: std::time::Duration,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        if let Err(e) = stuck.sweep().await {
            tracing::error!(error = %e, "stuck-case sweep failed");
        }
        if let Err(e) = sla.sweep().await {
            tracing::error!(error = %e, "SLA sweep failed");
        }
        if let Err(e) = sla.sweep_callbacks().await {
            tracing::error!(error = %e, "callback sweep failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stopped.changed() => return,
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

#[derive(Clone)]
struct Health {
    store: Store,
    ready: Arc<AtomicBool>,
    latency: Arc<Latency>,
}

async fn readyz(State(h): State<Health>) -> impl IntoResponse {
    let database = h.store.ping().await;
    let gateway = h.ready.load(Ordering::Relaxed);
    match (database, gateway) {
        (true, true) => (StatusCode::OK, "ready\n".to_owned()),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: database {database}, gateway {gateway}\n"),
        ),
    }
}

async fn metrics_page(State(h): State<Health>) -> impl IntoResponse {
    match h.store.metrics().await {
        Ok(stored) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            metrics::render(&stored, &h.latency),
        ),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            format!("# the database did not answer: {e}\n"),
        ),
    }
}

/// Reads `--shards 0-1 --of 4` into the range 0..2 out of 4.
pub fn parse_shards(range: &str, of: u32) -> anyhow::Result<(Range<u32>, u32)> {
    let (first, last) = match range.split_once('-') {
        Some((a, b)) => (a.trim().parse::<u32>()?, b.trim().parse::<u32>()?),
        None => {
            let one = range.trim().parse::<u32>()?;
            (one, one)
        }
    };
    if first > last || last >= of {
        anyhow::bail!(
            "--shards {range} does not fit in --of {of}: shards are numbered 0 to {}",
            of.saturating_sub(1)
        );
    }
    Ok((first..last + 1, of))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_ranges_are_read_and_checked_against_the_total() {
        assert_eq!(parse_shards("0-1", 4).unwrap(), (0..2, 4));
        assert_eq!(parse_shards("3", 4).unwrap(), (3..4, 4));
        assert!(parse_shards("2-4", 4).is_err());
        assert!(parse_shards("3-1", 4).is_err());
        assert!(parse_shards("x", 4).is_err());
    }

    #[test]
    fn run_refuses_to_start_without_the_staff_server_unless_on_the_sandbox() {
        let unset = DiscordIds {
            staff_guild: 0,
            queue_channel: 0,
            staff_role: 0,
            lead_role: 0,
            note_prefix: "!note".into(),
        };
        let err = discord_settings(&unset, false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "discord.staff_guild_id is not set: casebot run needs the staff server's ids"
        );
        assert_eq!(
            discord_settings(&unset, true).unwrap(),
            DiscordSettings::sandbox()
        );
    }
}
