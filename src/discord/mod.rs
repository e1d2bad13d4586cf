//! The Discord adapter: connects casebot to Discord with serenity. It stays thin: events are
//! parsed and checked here, the services decide, and everything the bot says goes through the
//! outbox, delivered by [`deliver::DiscordDelivery`].

pub mod commands;
pub mod custom_id;
pub mod deliver;
mod handler;

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context;
use serenity::all::{ClientBuilder, GatewayIntents, HttpBuilder, ShardManager};
use tokio::sync::watch;

use crate::services::conversation::Conversation;
use crate::services::limits::RateLimits;
use crate::services::outbox::Dispatcher;
use crate::services::CaseService;
use crate::store::Store;

/// Where staff work on Discord: the staff server, its queue channel, the staff and lead roles,
/// and the prefix that makes a thread message an internal note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscordSettings {
    pub staff_guild: u64,
    pub queue_channel: u64,
    pub staff_role: u64,
    pub lead_role: u64,
    pub note_prefix: String,
}

impl DiscordSettings {
    /// The staff server of the built-in sandbox.
    pub fn sandbox() -> DiscordSettings {
        use crate::sandbox::{LEAD_ROLE, QUEUE_CHANNEL, STAFF_GUILD, STAFF_ROLE};
        DiscordSettings {
            staff_guild: STAFF_GUILD,
            queue_channel: QUEUE_CHANNEL,
            staff_role: STAFF_ROLE,
            lead_role: LEAD_ROLE,
            note_prefix: "!note".into(),
        }
    }
}

/// The services the adapter calls.
#[derive(Clone)]
pub struct Services {
    pub store: Store,
    pub conversation: Conversation,
    pub cases: CaseService,
    pub limits: Arc<RateLimits>,
    /// Where the time to take in and route each customer message is recorded.
    pub latency: Arc<crate::metrics::Latency>,
    /// The SLA deadlines, shown on case cards.
    pub sla: crate::domain::sla::SlaPolicy,
}

/// How to reach Discord.
#[derive(Debug, Clone)]
pub struct Connection {
    pub token: String,
    /// Stands in for https://discord.com (the sandbox); `None` for the real Discord.
    pub proxy: Option<String>,
    /// The shards this process runs, out of how many; `None` runs the single shard.
    pub shards: Option<(Range<u32>, u32)>,
}

/// A running bot: the gateway client and the outbox dispatcher.
pub struct Running {
    shard_manager: Arc<ShardManager>,
    stop: watch::Sender<bool>,
    tasks: tokio::task::JoinSet<()>,
    ready: Arc<AtomicBool>,
}

impl Running {
    /// Whether the gateway has said READY.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    /// A flag that follows [`Running::is_ready`], for health checks.
    pub fn ready_flag(&self) -> Arc<AtomicBool> {
        self.ready.clone()
    }

    /// Closes the gateway and stops the dispatcher after the entry it is delivering; whatever is
    /// not delivered stays pending in the outbox for the next start.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        self.shard_manager.shutdown_all().await;
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Starts the built-in Discord sandbox and the bot connected to it, for the demo and the console;
/// returns once the bot's gateway is ready.
pub async fn start_on_sandbox(
    services: Services,
) -> anyhow::Result<(crate::sandbox::Sandbox, Running)> {
    let sandbox = crate::sandbox::Sandbox::start()
        .await
        .context("cannot start the Discord sandbox")?;
    let connection = Connection {
        token: "sandbox".into(),
        proxy: Some(sandbox.base_url()),
        shards: None,
    };
    let bot = start(services, DiscordSettings::sandbox(), connection).await?;
    // Events sent before the gateway is up would reach nobody: wait for READY.
    for _ in 0..400 {
        if bot.is_ready() {
            return Ok((sandbox, bot));
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    bot.stop().await;
    anyhow::bail!("the bot did not connect to the sandbox's gateway within 10 seconds")
}

/// Connects to Discord (or the sandbox) and starts the dispatcher.
pub async fn start(
    services: Services,
    settings: DiscordSettings,
    connection: Connection,
) -> anyhow::Result<Running> {
    let mut http = HttpBuilder::new(&connection.token);
    if let Some(proxy) = &connection.proxy {
        // serenity honours a proxy only with its own rate limiter off; the outbox keeps casebot
        // under Discord's limits instead.
        http = http.proxy(proxy.as_str()).ratelimiter_disabled(true);
    }
    let http = http.build();
    // The non-privileged intents: mentions and DMs carry their content without MESSAGE_CONTENT.
    let intents =
        GatewayIntents::GUILDS | GatewayIntents::GUILD_MESSAGES | GatewayIntents::DIRECT_MESSAGES;
    let ready = Arc::new(AtomicBool::new(false));
    let handler = handler::Handler::new(services.clone(), settings.clone(), ready.clone());
    let mut client = ClientBuilder::new_with_http(http, intents)
        .event_handler(handler)
        .await
        .context("cannot set up the Discord client")?;
    let shard_manager = client.shard_manager.clone();
    let http = client.http.clone();
    let (stop, stopped) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    let shards = connection.shards.clone();
    tasks.spawn(async move {
        let result = match shards {
            Some((range, total)) => client.start_shard_range(range, total).await,
            None => client.start().await,
        };
        if let Err(e) = result {
            tracing::error!(error = %e, "the Discord gateway stopped");
        }
    });
    let delivery = Arc::new(deliver::DiscordDelivery::new(
        http,
        services.store.clone(),
        settings,
        services.sla.clone(),
    ));
    let dispatcher = Dispatcher::new(services.store.clone(), delivery, services.limits.clone());
    tasks.spawn(async move { dispatcher.run(stopped).await });
    Ok(Running {
        shard_manager,
        stop,
        tasks,
        ready,
    })
}
