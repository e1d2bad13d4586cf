//! `casebot run`: the long-running bot. It connects to Discord, delivers the outbox, runs the
//! sweepers on their interval, seals audit checkpoints, and serves `/healthz`, `/readyz` and
//! `/metrics`. SIGTERM or Ctrl-C stops it cleanly: the gateway closes with a close frame, a last
//! checkpoint is sealed, and whatever is not yet delivered stays pending for the next start.

use std::ops::Range;
use std::sync::Arc;

use anyhow::Context;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tokio::sync::watch;

use crate::app::App;
use crate::discord::{self, Connection, DiscordSettings};
use crate::services::outbox::OutboundBudget;

/// Runs until SIGTERM or Ctrl-C.
pub async fn run(
    app: App,
    settings: DiscordSettings,
    connection: Connection,
    budget: Arc<dyn OutboundBudget>,
) -> anyhow::Result<()> {
    let addr = app.config.http_addr;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot serve health checks on {addr}"))?;
    let bot = discord::start(&app, settings, connection, budget).await?;
    let (stop, stopped) = watch::channel(false);
    let health = Health {
        app: app.clone(),
        gateway_ready: bot.ready_flag(),
    };
    let mut server_stopped = stopped.clone();
    let server = tokio::spawn(async move {
        let shutdown = async move {
            let _ = server_stopped.changed().await;
        };
        if let Err(e) = axum::serve(listener, router(health))
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "the health server stopped");
        }
    });
    let sweeping = tokio::spawn(sweep_forever(app.clone(), stopped.clone()));
    let audit = app.audit.clone();
    let sealing = tokio::spawn(async move { audit.run_sealer(stopped).await });
    tracing::info!(%addr, "casebot is running");

    shutdown_signal().await;
    tracing::info!("shutting down");
    let _ = stop.send(true);
    bot.stop().await;
    let _ = sweeping.await;
    let _ = sealing.await;
    let _ = server.await;
    app.store.close().await;
    Ok(())
}

/// Every interval: stuck cases, SLA breaches, overdue callbacks. A failed round is logged and
/// the next one runs as usual.
async fn sweep_forever(app: App, mut stopped: watch::Receiver<bool>) {
    let every = app.config.queue.sweep_interval;
    loop {
        if let Err(e) = app.sweepers.sweep().await {
            tracing::error!(error = %e, "a sweep failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stopped.changed() => return,
        }
    }
}

/// Waits for SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            let _ = ctrl_c.await;
            return;
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
    app: App,
    gateway_ready: Arc<dyn Fn() -> bool + Send + Sync>,
}

fn router(health: Health) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_page))
        .with_state(health)
}

async fn readyz(State(h): State<Health>) -> impl IntoResponse {
    let database = h.app.store.ping().await;
    let gateway = (h.gateway_ready)();
    match (database, gateway) {
        (true, true) => (StatusCode::OK, "ready\n".to_owned()),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: database {database}, gateway {gateway}\n"),
        ),
    }
}

async fn metrics_page(State(h): State<Health>) -> impl IntoResponse {
    let text = [(header::CONTENT_TYPE, "text/plain; version=0.0.4")];
    match h.app.metrics_page().await {
        Ok(page) => (StatusCode::OK, text, page),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            text,
            format!("# the database did not answer: {e}\n"),
        ),
    }
}

/// The staff server as configured, or what is missing.
pub fn discord_settings(ids: &crate::config::DiscordIds) -> anyhow::Result<DiscordSettings> {
    let unset = [
        ("discord.staff_guild_id", ids.staff_guild),
        ("discord.queue_channel_id", ids.queue_channel),
        ("discord.staff_role_id", ids.staff_role),
        ("discord.lead_role_id", ids.lead_role),
    ];
    if let Some((key, _)) = unset.iter().find(|(_, id)| *id == 0) {
        anyhow::bail!("{key} is not set: casebot run needs the staff server's ids");
    }
    Ok(DiscordSettings::from_config(ids))
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
    fn run_refuses_to_start_without_the_staff_server() {
        let unset = crate::config::DiscordIds {
            staff_guild: 0,
            queue_channel: 0,
            staff_role: 0,
            lead_role: 0,
            note_prefix: "!note".into(),
            message_content: false,
            keep_thread_after_release: false,
        };
        let err = discord_settings(&unset).unwrap_err();
        assert_eq!(
            err.to_string(),
            "discord.staff_guild_id is not set: casebot run needs the staff server's ids"
        );
    }
}
