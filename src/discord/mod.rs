//! The Discord adapter. It stays thin: gateway events (through serenity) and interactions are
//! parsed and checked here, the services decide, and everything the bot says goes through the
//! outbox and casebot's own REST client ([`rest`]), delivered by [`deliver::DiscordDelivery`].
//! Nothing here reads or writes the store.

pub mod commands;
pub mod components;
pub mod custom_id;
pub mod deliver;
mod events;
mod interactions;
pub mod rest;
pub mod setup;

use std::collections::HashMap;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use serenity::all::{ClientBuilder, GatewayIntents, HttpBuilder, ShardId, ShardManager};
use tokio::sync::watch;

use crate::app::App;
use crate::secrets::Secret;
use crate::services::outbox::{Dispatcher, OutboundBudget};

/// Where staff work on Discord: the staff server, its queue channel, the staff and lead roles,
/// the prefix that makes a thread message an internal note, and whether casebot reads plain
/// message content (the privileged intent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscordSettings {
    pub staff_guild: u64,
    pub queue_channel: u64,
    pub staff_role: u64,
    pub lead_role: u64,
    pub note_prefix: String,
    pub message_content: bool,
}

impl DiscordSettings {
    pub fn from_config(ids: &crate::config::DiscordIds) -> DiscordSettings {
        DiscordSettings {
            staff_guild: ids.staff_guild,
            queue_channel: ids.queue_channel,
            staff_role: ids.staff_role,
            lead_role: ids.lead_role,
            note_prefix: ids.note_prefix.clone(),
            message_content: ids.message_content,
        }
    }

    /// The intents casebot identifies with: guilds, guild messages and DMs, which carry the
    /// content of DMs and of messages that mention the bot; MESSAGE_CONTENT only when configured
    /// (it is privileged, and must be enabled for the application in the Developer Portal).
    pub fn intents(&self) -> GatewayIntents {
        let mut intents = GatewayIntents::GUILDS
            | GatewayIntents::GUILD_MESSAGES
            | GatewayIntents::DIRECT_MESSAGES;
        if self.message_content {
            intents |= GatewayIntents::MESSAGE_CONTENT;
        }
        intents
    }
}

/// How to reach Discord.
#[derive(Debug, Clone)]
pub struct Connection {
    pub token: Secret,
    /// Stands in for https://discord.com (a sandbox); `None` for the real Discord.
    pub base_url: Option<String>,
    /// The shards this process runs, out of how many; `None` runs the single shard.
    pub shards: Option<(Range<u32>, u32)>,
}

impl Connection {
    /// The REST API root.
    pub fn api(&self) -> String {
        match &self.base_url {
            Some(base) => format!("{}/api/v10", base.trim_end_matches('/')),
            None => rest::DISCORD_API.to_owned(),
        }
    }
}

/// What the gateway has said so far, for health checks and a clean shutdown.
#[derive(Default)]
pub(crate) struct GatewayState {
    pub(crate) ready: AtomicBool,
    /// READY events per shard. Every one after the first followed a re-identify, which leaves
    /// serenity's shutdown bookkeeping one message behind (see [`Running::stop`]).
    pub(crate) readies: Mutex<HashMap<u32, u32>>,
}

/// A running bot: the gateway client and the outbox dispatcher.
pub struct Running {
    shard_manager: Arc<ShardManager>,
    stop: watch::Sender<bool>,
    gateway: tokio::task::JoinHandle<()>,
    dispatcher: tokio::task::JoinHandle<()>,
    state: Arc<GatewayState>,
}

impl Running {
    /// Whether the gateway has said READY.
    pub fn is_ready(&self) -> bool {
        self.state.ready.load(Ordering::Relaxed)
    }

    /// A flag that follows [`Running::is_ready`], for health checks.
    pub fn ready_flag(&self) -> Arc<dyn Fn() -> bool + Send + Sync> {
        let state = self.state.clone();
        Arc::new(move || state.ready.load(Ordering::Relaxed))
    }

    /// Closes the gateway (with a close frame) and stops the dispatcher after the entry it is
    /// delivering; whatever is not delivered stays pending in the outbox for the next start.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let readies: Vec<(u32, u32)> = self
            .state
            .readies
            .lock()
            .expect("readies")
            .iter()
            .map(|(s, n)| (*s, *n))
            .collect();
        for (shard, count) in readies {
            // After a re-identify serenity has one stale "shut down" notice queued per restart;
            // asking once per notice makes the last request wait for the real close handshake.
            for _ in 0..count.max(1) {
                self.shard_manager.shutdown(ShardId(shard), 1000).await;
            }
        }
        self.shard_manager.shutdown_all().await;
        // Every shard has closed; the client task may not notice (serenity does not tell it
        // once its runners are gone), so it is ended here.
        self.gateway.abort();
        let _ = self.gateway.await;
        let _ = self.dispatcher.await;
    }
}

/// Connects to Discord (or a sandbox) and starts the dispatcher.
pub async fn start(
    app: &App,
    settings: DiscordSettings,
    connection: Connection,
    budget: Arc<dyn OutboundBudget>,
) -> anyhow::Result<Running> {
    let mut http = HttpBuilder::new(connection.token.expose());
    if let Some(base) = &connection.base_url {
        // serenity honours a proxy only with its own rate limiter off; casebot's REST client
        // keeps to Discord's limits for everything casebot sends.
        http = http.proxy(base.as_str()).ratelimiter_disabled(true);
    }
    let rest = rest::Rest::new(&connection.api(), connection.token.clone(), budget)
        .context("cannot set up the Discord REST client")?;
    let state = Arc::new(GatewayState::default());
    let handler = events::Handler::new(app.clone(), settings.clone(), rest.clone(), state.clone());
    let mut client = ClientBuilder::new_with_http(http.build(), settings.intents())
        .event_handler(handler)
        .await
        .context("cannot set up the Discord client")?;
    let shard_manager = client.shard_manager.clone();
    let shards = connection.shards.clone();
    let gateway = tokio::spawn(async move {
        let result = match shards {
            // serenity reads the end of the range as included; ours is excluded, as Rust's are.
            Some((range, total)) => {
                let last = range.end.saturating_sub(1).max(range.start);
                client.start_shard_range(range.start..last, total).await
            }
            None => client.start().await,
        };
        if let Err(e) = result {
            tracing::error!(error = %e, "the Discord gateway stopped");
        }
    });
    let delivery = Arc::new(deliver::DiscordDelivery::new(
        rest.clone(),
        app.cards.clone(),
        settings,
        app.config.sla.clone(),
    ));
    // The REST client takes each request from the outbound budget; the dispatcher need not.
    let dispatcher = Dispatcher::new(app.store.clone(), delivery).with_clock(app.clock.clone());
    let (stop, stopped) = watch::channel(false);
    let dispatcher = tokio::spawn(async move { dispatcher.run(stopped).await });
    Ok(Running {
        shard_manager,
        stop,
        gateway,
        dispatcher,
        state,
    })
}

/// Waits until `running`'s gateway is ready, or gives up after `limit`.
pub async fn wait_until_ready(running: &Running, limit: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if running.is_ready() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    running.is_ready()
}
