//! A Discord-compatible sandbox on 127.0.0.1: enough of the REST API and the gateway for the real
//! serenity client to run casebot against it with no network and no token. `casebot demo`, the
//! console and the end-to-end tests drive it as customers and staff would, and read back what the
//! bot posted. It behaves like Discord where it matters to casebot: nonces with `enforce_nonce`
//! de-duplicate, closed DMs answer 50007, a second interaction response answers 40060.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::{Message as Frame, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::sync::{broadcast, Notify};

/// The sandbox's fixed ids: the bot, its application, the staff server with its queue channel and
/// roles, and a public server where customers mention the bot.
pub const BOT_USER: u64 = 900_000_000_000_000_001;
pub const APPLICATION: u64 = 900_000_000_000_000_002;
pub const STAFF_GUILD: u64 = 900_000_000_000_000_010;
pub const QUEUE_CHANNEL: u64 = 900_000_000_000_000_011;
pub const STAFF_ROLE: u64 = 900_000_000_000_000_012;
pub const LEAD_ROLE: u64 = 900_000_000_000_000_013;
pub const PUBLIC_GUILD: u64 = 900_000_000_000_000_020;
pub const PUBLIC_CHANNEL: u64 = 900_000_000_000_000_021;

const MESSAGE_FLAG_EPHEMERAL: u64 = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelKind {
    Dm { recipient: u64 },
    Text { guild: u64 },
    Thread { guild: u64, parent: u64 },
}

/// A message as the sandbox holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Posted {
    pub id: u64,
    pub channel_id: u64,
    pub author_id: u64,
    pub content: String,
    pub embeds: Value,
    pub components: Value,
    pub allowed_mentions: Value,
    pub reply_to: Option<u64>,
    pub deleted: bool,
}

impl Posted {
    /// The custom ids of the message's buttons.
    pub fn buttons(&self) -> Vec<String> {
        let mut ids = Vec::new();
        for row in self.components.as_array().into_iter().flatten() {
            for c in row["components"].as_array().into_iter().flatten() {
                if let Some(id) = c["custom_id"].as_str() {
                    ids.push(id.to_owned());
                }
            }
        }
        ids
    }

    /// Content and embed text together, for searching.
    pub fn text(&self) -> String {
        format!("{} {}", self.content, self.embeds)
    }
}

/// An answer to an interaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Callback {
    pub kind: u64,
    pub data: Value,
}

impl Callback {
    pub fn ephemeral(&self) -> bool {
        self.data["flags"].as_u64().unwrap_or(0) & MESSAGE_FLAG_EPHEMERAL != 0
    }

    pub fn content(&self) -> &str {
        self.data["content"].as_str().unwrap_or_default()
    }
}

#[derive(Default)]
struct World {
    users: HashMap<u64, (String, bool)>,
    roles: HashMap<(u64, u64), Vec<u64>>,
    channels: HashMap<u64, ChannelKind>,
    dm_of: HashMap<u64, u64>,
    messages: Vec<Posted>,
    nonces: HashMap<(u64, String), u64>,
    closed_dms: HashSet<u64>,
    /// Whether the bot may delete other people's messages in public channels.
    can_manage_messages: bool,
    callbacks: HashMap<u64, Vec<Callback>>,
    /// Interactions by token, for follow-ups and edits of the original response.
    tokens: HashMap<String, u64>,
    /// The message whose button started an interaction.
    clicked: HashMap<u64, u64>,
    /// Failures to answer the next requests with, as `(status, code)`.
    failures: Vec<(u16, u64)>,
}

struct Shared {
    world: Mutex<World>,
    ids: AtomicU64,
    events: broadcast::Sender<(Option<u64>, Value)>,
    changed: Notify,
    addr: SocketAddr,
}

/// A running sandbox. Dropping it stops nothing; it lives as long as the runtime.
#[derive(Clone)]
pub struct Sandbox {
    shared: Arc<Shared>,
}

impl Sandbox {
    /// Starts the sandbox on a free port of 127.0.0.1, with the staff and public servers set up.
    pub async fn start() -> std::io::Result<Sandbox> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (events, _) = broadcast::channel(4096);
        let shared = Arc::new(Shared {
            world: Mutex::new(World {
                can_manage_messages: true,
                ..World::default()
            }),
            // Snowflakes as Discord makes them, from the time: ids never repeat across runs on
            // the same database, and they sort by age.
            ids: AtomicU64::new(snowflake_now()),
            events,
            changed: Notify::new(),
            addr,
        });
        {
            let mut w = shared.world.lock().expect("sandbox lock");
            w.users.insert(BOT_USER, ("casebot".into(), true));
            w.channels
                .insert(QUEUE_CHANNEL, ChannelKind::Text { guild: STAFF_GUILD });
            w.channels.insert(
                PUBLIC_CHANNEL,
                ChannelKind::Text {
                    guild: PUBLIC_GUILD,
                },
            );
        }
        let app = Router::new()
            .route("/api/v10/gateway", get(gateway_url))
            .route("/api/v10/gateway/bot", get(gateway_url))
            .route("/ws", get(gateway))
            .route("/api/v10/users/@me", get(current_user))
            .route("/api/v10/oauth2/applications/@me", get(application))
            .route("/api/v10/applications/:app/commands", put(commands))
            .route(
                "/api/v10/applications/:app/guilds/:guild/commands",
                put(commands),
            )
            .route("/api/v10/users/@me/channels", post(create_dm))
            .route(
                "/api/v10/channels/:channel",
                get(get_channel).delete(delete_channel),
            )
            .route(
                "/api/v10/channels/:channel/messages",
                post(create_message).get(list_messages),
            )
            .route(
                "/api/v10/channels/:channel/messages/:message",
                patch(edit_message).delete(delete_message),
            )
            .route("/api/v10/channels/:channel/threads", post(create_thread))
            .route(
                "/api/v10/interactions/:id/:token/callback",
                post(interaction_callback),
            )
            .route("/api/v10/webhooks/:app/:token", post(followup))
            .route(
                "/api/v10/webhooks/:app/:token/messages/:message",
                patch(followup),
            )
            .fallback(unknown_route)
            .with_state(shared.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Sandbox { shared })
    }

    /// Where serenity's HTTP proxy setting points: the sandbox stands in for https://discord.com.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.shared.world.lock().expect("sandbox lock")
    }

    fn next_id(&self) -> u64 {
        self.shared.ids.fetch_add(1, Ordering::Relaxed)
    }

    /// Adds a person; with `roles` they are a member of the staff server holding those roles.
    pub fn person(&self, name: &str, roles: &[u64]) -> u64 {
        let id = self.next_id();
        let mut w = self.world();
        w.users.insert(id, (name.to_owned(), false));
        w.roles.insert((STAFF_GUILD, id), roles.to_vec());
        id
    }

    /// Gives `user` roles in another server (a staff role elsewhere means nothing to casebot).
    pub fn grant(&self, guild: u64, user: u64, roles: &[u64]) {
        self.world().roles.insert((guild, user), roles.to_vec());
    }

    /// Adds another bot account (whose messages casebot must ignore).
    pub fn other_bot(&self, name: &str) -> u64 {
        let id = self.next_id();
        self.world().users.insert(id, (name.to_owned(), true));
        id
    }

    /// Closes (or opens) a person's DMs to the bot.
    pub fn set_dms_closed(&self, user: u64, closed: bool) {
        let mut w = self.world();
        if closed {
            w.closed_dms.insert(user);
        } else {
            w.closed_dms.remove(&user);
        }
    }

    /// Whether the bot may delete customers' messages in the public server.
    pub fn set_can_manage_messages(&self, allowed: bool) {
        self.world().can_manage_messages = allowed;
    }

    /// Makes the next `n` REST calls fail with `status` and Discord error `code`.
    pub fn fail_next(&self, n: usize, status: u16, code: u64) {
        self.world()
            .failures
            .extend(std::iter::repeat_n((status, code), n));
    }

    /// Deletes a channel (such as a case thread) as a moderator might; a thread's deletion is
    /// announced on the gateway, as Discord does.
    pub fn delete_channel(&self, channel: u64) {
        let removed = {
            let mut w = self.world();
            w.channels.remove(&channel)
        };
        if let Some(ChannelKind::Thread { guild, parent }) = removed {
            self.dispatch(
                "THREAD_DELETE",
                json!({ "id": channel.to_string(), "guild_id": guild.to_string(),
                    "parent_id": parent.to_string(), "type": 12 }),
            );
        }
    }

    /// A moderator deletes a message (such as a case card); the gateway says so.
    pub fn delete_message(&self, message: u64) {
        let deleted = {
            let mut w = self.world();
            let found = w.messages.iter_mut().find(|m| m.id == message);
            found.map(|m| {
                m.deleted = true;
                m.channel_id
            })
        };
        if let Some(channel) = deleted {
            let guild = guild_of(&self.world(), channel);
            let mut event = json!({ "id": message.to_string(), "channel_id": channel.to_string() });
            if let Some(guild) = guild {
                event["guild_id"] = json!(guild.to_string());
            }
            self.dispatch("MESSAGE_DELETE", event);
        }
    }

    /// The DM channel between the bot and `user`, opened if needed.
    pub fn dm_channel(&self, user: u64) -> u64 {
        if let Some(id) = self.world().dm_of.get(&user) {
            return *id;
        }
        let id = self.next_id();
        let mut w = self.world();
        w.channels.insert(id, ChannelKind::Dm { recipient: user });
        w.dm_of.insert(user, id);
        id
    }

    /// A customer writes to the bot in DM. Returns the message id.
    pub fn dm(&self, user: u64, text: &str) -> u64 {
        let channel = self.dm_channel(user);
        self.post(channel, user, text, &[])
    }

    /// A customer mentions the bot in the public server's channel.
    pub fn mention(&self, user: u64, text: &str) -> u64 {
        let content = format!("<@{BOT_USER}> {text}");
        self.post(PUBLIC_CHANNEL, user, &content, &[BOT_USER])
    }

    /// Someone posts `text` in `channel` (a thread, the queue channel, a DM).
    pub fn say(&self, channel: u64, user: u64, text: &str) -> u64 {
        self.post(channel, user, text, &[])
    }

    /// A message that arrived while nobody was listening: stored, but no gateway event.
    pub fn dm_offline(&self, user: u64, text: &str) -> u64 {
        let channel = self.dm_channel(user);
        let none = (Value::Null, Value::Null, Value::Null);
        self.store_message(channel, user, text, none, None).id
    }

    fn post(&self, channel: u64, user: u64, text: &str, mentions: &[u64]) -> u64 {
        let posted = self.store_message(
            channel,
            user,
            text,
            (json!([]), json!([]), Value::Null),
            None,
        );
        let event = {
            let w = self.world();
            let mut payload = message_json(&w, &posted);
            payload["mentions"] =
                Value::Array(mentions.iter().map(|id| user_json(&w, *id)).collect());
            payload
        };
        self.dispatch("MESSAGE_CREATE", event);
        posted.id
    }

    fn store_message(
        &self,
        channel: u64,
        author: u64,
        content: &str,
        (embeds, components, allowed_mentions): (Value, Value, Value),
        reply_to: Option<u64>,
    ) -> Posted {
        let posted = Posted {
            id: self.next_id(),
            channel_id: channel,
            author_id: author,
            content: content.to_owned(),
            embeds: if embeds.is_null() { json!([]) } else { embeds },
            components: if components.is_null() {
                json!([])
            } else {
                components
            },
            allowed_mentions,
            reply_to,
            deleted: false,
        };
        self.world().messages.push(posted.clone());
        self.shared.changed.notify_waiters();
        posted
    }

    /// Someone clicks a button on message `message`. Returns the interaction id.
    pub fn click(&self, user: u64, message: u64, custom_id: &str) -> u64 {
        self.click_in(user, None, message, custom_id)
    }

    /// A click as if made in `channel` (a forged or replayed interaction elsewhere).
    pub fn click_in(&self, user: u64, channel: Option<u64>, message: u64, custom_id: &str) -> u64 {
        let posted = self
            .message(message)
            .expect("clicked a message the sandbox knows");
        let data = json!({ "custom_id": custom_id, "component_type": 2 });
        let channel = channel.unwrap_or(posted.channel_id);
        self.interact(user, channel, 3, data, Some(&posted))
    }

    /// Someone submits a modal (such as the callback form) with text fields `fields`.
    pub fn submit_modal(
        &self,
        user: u64,
        channel: u64,
        custom_id: &str,
        fields: &[(&str, &str)],
    ) -> u64 {
        let rows: Vec<Value> = fields
            .iter()
            .map(|(id, value)| {
                json!({ "type": 1, "components": [
                    { "type": 4, "custom_id": id, "value": value }
                ]})
            })
            .collect();
        let data = json!({ "custom_id": custom_id, "components": rows });
        self.interact(user, channel, 5, data, None)
    }

    /// Someone runs a slash command with the given options.
    pub fn command(&self, user: u64, channel: u64, name: &str, options: Value) -> u64 {
        let data = json!({
            "id": self.next_id().to_string(), "name": name, "type": 1, "options": options
        });
        self.interact(user, channel, 2, data, None)
    }

    /// Sends an interaction of `kind` (2 command, 3 button, 5 form) and returns its id.
    fn interact(
        &self,
        user: u64,
        channel: u64,
        kind: u64,
        data: Value,
        clicked: Option<&Posted>,
    ) -> u64 {
        let id = self.next_id();
        let token = format!("token-{id}");
        let payload = {
            let mut w = self.world();
            w.tokens.insert(token.clone(), id);
            let mut payload = interaction_base(&w, id, &token, channel, user);
            payload["type"] = json!(kind);
            payload["data"] = data;
            if let Some(posted) = clicked {
                w.clicked.insert(id, posted.id);
                payload["message"] = message_json(&w, posted);
            }
            payload
        };
        self.dispatch("INTERACTION_CREATE", payload);
        id
    }

    fn dispatch(&self, event: &str, payload: Value) {
        let guild = payload["guild_id"]
            .as_str()
            .and_then(|g| g.parse::<u64>().ok());
        let _ = self
            .shared
            .events
            .send((guild, json!({ "op": 0, "t": event, "d": payload })));
    }

    /// Every message in `channel` that has not been deleted, oldest first.
    pub fn messages_in(&self, channel: u64) -> Vec<Posted> {
        let w = self.world();
        w.messages
            .iter()
            .filter(|m| m.channel_id == channel && !m.deleted)
            .cloned()
            .collect()
    }

    /// A message, deleted or not.
    pub fn message(&self, id: u64) -> Option<Posted> {
        self.world().messages.iter().find(|m| m.id == id).cloned()
    }

    /// What the bot sent to `user` by DM.
    pub fn bot_dms(&self, user: u64) -> Vec<Posted> {
        let channel = self.world().dm_of.get(&user).copied();
        match channel {
            Some(channel) => self
                .messages_in(channel)
                .into_iter()
                .filter(|m| m.author_id == BOT_USER)
                .collect(),
            None => Vec::new(),
        }
    }

    /// Threads the bot opened in the staff queue channel.
    pub fn threads(&self) -> Vec<u64> {
        let w = self.world();
        let mut threads: Vec<u64> = w
            .channels
            .iter()
            .filter(|(_, kind)| matches!(kind, ChannelKind::Thread { .. }))
            .map(|(id, _)| *id)
            .collect();
        threads.sort_unstable();
        threads
    }

    /// The answers given to an interaction.
    pub fn callbacks(&self, interaction: u64) -> Vec<Callback> {
        self.world()
            .callbacks
            .get(&interaction)
            .cloned()
            .unwrap_or_default()
    }

    /// Every message the bot posted anywhere.
    pub fn everything_the_bot_said(&self) -> Vec<Posted> {
        let w = self.world();
        w.messages
            .iter()
            .filter(|m| m.author_id == BOT_USER)
            .cloned()
            .collect()
    }

    /// Waits until `check` holds, up to `limit`; returns whether it did.
    pub async fn wait_for(&self, limit: Duration, mut check: impl FnMut(&Sandbox) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let changed = self.shared.changed.notified();
            if check(self) {
                return true;
            }
            let step = tokio::time::sleep(Duration::from_millis(25));
            tokio::select! {
                _ = changed => {}
                _ = step => {}
                _ = tokio::time::sleep_until(deadline) => return check(self),
            }
        }
    }
}

fn snowflake_now() -> u64 {
    const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    (now.saturating_sub(DISCORD_EPOCH_MS)) << 22
}

fn user_json(w: &World, id: u64) -> Value {
    let (name, bot) = w
        .users
        .get(&id)
        .cloned()
        .unwrap_or_else(|| (format!("user{id}"), false));
    json!({
        "id": id.to_string(), "username": name, "discriminator": "0", "global_name": name,
        "avatar": null, "bot": bot,
    })
}

fn member_json(w: &World, guild: u64, user: u64) -> Value {
    let roles: Vec<String> = w
        .roles
        .get(&(guild, user))
        .into_iter()
        .flatten()
        .map(u64::to_string)
        .collect();
    json!({
        "user": user_json(w, user), "roles": roles, "joined_at": "2026-01-01T00:00:00.000000+00:00",
        "deaf": false, "mute": false, "flags": 0, "permissions": "2199023255551",
    })
}

fn guild_of(w: &World, channel: u64) -> Option<u64> {
    match w.channels.get(&channel)? {
        ChannelKind::Dm { .. } => None,
        ChannelKind::Text { guild } | ChannelKind::Thread { guild, .. } => Some(*guild),
    }
}

fn message_json(w: &World, m: &Posted) -> Value {
    let mut v = json!({
        "id": m.id.to_string(), "channel_id": m.channel_id.to_string(),
        "author": user_json(w, m.author_id), "content": m.content,
        "timestamp": "2026-11-26T10:00:00.000000+00:00", "edited_timestamp": null,
        "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [],
        "attachments": [], "embeds": m.embeds, "components": m.components, "pinned": false,
        "type": if m.reply_to.is_some() { 19 } else { 0 },
    });
    if let Some(guild) = guild_of(w, m.channel_id) {
        v["guild_id"] = json!(guild.to_string());
        let mut member = member_json(w, guild, m.author_id);
        member.as_object_mut().map(|o| o.remove("user"));
        v["member"] = member;
    }
    if let Some(reply_to) = m.reply_to {
        v["message_reference"] = json!({ "message_id": reply_to.to_string(),
            "channel_id": m.channel_id.to_string() });
    }
    v
}

fn channel_json(id: u64, kind: ChannelKind, w: &World) -> Value {
    match kind {
        ChannelKind::Dm { recipient } => json!({
            "id": id.to_string(), "type": 1, "recipients": [user_json(w, recipient)],
            "last_message_id": null,
        }),
        ChannelKind::Text { guild } => json!({
            "id": id.to_string(), "type": 0, "guild_id": guild.to_string(), "name": "channel",
        }),
        ChannelKind::Thread { guild, parent } => json!({
            "id": id.to_string(), "type": 12, "guild_id": guild.to_string(), "name": "thread",
            "parent_id": parent.to_string(), "owner_id": BOT_USER.to_string(),
            "thread_metadata": { "archived": false, "auto_archive_duration": 10080,
                "archive_timestamp": "2026-11-26T10:00:00.000000+00:00", "locked": false },
        }),
    }
}

fn interaction_base(w: &World, id: u64, token: &str, channel: u64, user: u64) -> Value {
    let mut v = json!({
        "id": id.to_string(), "application_id": APPLICATION.to_string(), "token": token,
        "version": 1, "channel_id": channel.to_string(), "locale": "en-US",
        "entitlements": [], "attachment_size_limit": 8_388_608,
        "app_permissions": "2199023255551",
    });
    match guild_of(w, channel) {
        Some(guild) => {
            v["guild_id"] = json!(guild.to_string());
            v["member"] = member_json(w, guild, user);
        }
        None => v["user"] = user_json(w, user),
    }
    v
}

fn error(status: u16, code: u64, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(json!({ "code": code, "message": message }))).into_response()
}

/// Answers an injected failure instead of serving the call, when one is queued.
fn injected_failure(s: &Shared) -> Option<Response> {
    let mut w = s.world.lock().expect("sandbox lock");
    if w.failures.is_empty() {
        return None;
    }
    let (status, code) = w.failures.remove(0);
    let mut response = error(status, code, "injected by the sandbox");
    if status == 429 {
        let body = json!({ "message": "You are being rate limited.", "retry_after": 0.05,
            "global": false });
        response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
    }
    Some(response)
}

type Shd = State<Arc<Shared>>;

async fn gateway_url(State(s): Shd) -> Json<Value> {
    let url = format!("ws://{}/ws", s.addr);
    Json(json!({ "url": url, "shards": 1, "session_start_limit": {
        "total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1 } }))
}

async fn current_user(State(s): Shd) -> Json<Value> {
    let w = s.world.lock().expect("sandbox lock");
    Json(user_json(&w, BOT_USER))
}

async fn application(State(s): Shd) -> Json<Value> {
    let w = s.world.lock().expect("sandbox lock");
    Json(json!({
        "id": APPLICATION.to_string(), "name": "casebot", "icon": null, "description": "",
        "bot_public": false, "bot_require_code_grant": false, "verify_key": "0",
        "owner": user_json(&w, BOT_USER), "flags": 0, "team": null,
    }))
}

async fn commands(Json(body): Json<Value>) -> Json<Value> {
    let commands: Vec<Value> = body
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, c)| {
            let mut c = c.clone();
            c["id"] = json!((950_000_000_000_000_000u64 + i as u64).to_string());
            c["application_id"] = json!(APPLICATION.to_string());
            c["version"] = json!("1");
            c["type"] = c.get("type").cloned().unwrap_or(json!(1));
            c["description"] = c.get("description").cloned().unwrap_or(json!(""));
            c
        })
        .collect();
    Json(Value::Array(commands))
}

async fn create_dm(State(s): Shd, Json(body): Json<Value>) -> Response {
    if let Some(r) = injected_failure(&s) {
        return r;
    }
    let Some(user) = body["recipient_id"]
        .as_str()
        .and_then(|u| u.parse::<u64>().ok())
    else {
        return error(400, 50035, "Invalid Form Body");
    };
    let sandbox = Sandbox { shared: s.clone() };
    let channel = sandbox.dm_channel(user);
    let w = s.world.lock().expect("sandbox lock");
    Json(channel_json(
        channel,
        ChannelKind::Dm { recipient: user },
        &w,
    ))
    .into_response()
}

async fn get_channel(State(s): Shd, Path(channel): Path<u64>) -> Response {
    let w = s.world.lock().expect("sandbox lock");
    match w.channels.get(&channel) {
        Some(kind) => Json(channel_json(channel, *kind, &w)).into_response(),
        None => error(404, 10003, "Unknown Channel"),
    }
}

async fn delete_channel(State(s): Shd, Path(channel): Path<u64>) -> Response {
    let sandbox = Sandbox { shared: s.clone() };
    {
        let mut w = s.world.lock().expect("sandbox lock");
        w.channels.remove(&channel);
    }
    let _ = sandbox;
    StatusCode::NO_CONTENT.into_response()
}

async fn create_message(
    State(s): Shd,
    Path(channel): Path<u64>,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = injected_failure(&s) {
        return r;
    }
    let sandbox = Sandbox { shared: s.clone() };
    let nonce = body["nonce"].as_str().map(str::to_owned);
    {
        let w = s.world.lock().expect("sandbox lock");
        match w.channels.get(&channel) {
            None => return error(404, 10003, "Unknown Channel"),
            Some(ChannelKind::Dm { recipient }) if w.closed_dms.contains(recipient) => {
                return error(403, 50007, "Cannot send messages to this user");
            }
            _ => {}
        }
        if let (Some(nonce), Some(true)) = (&nonce, body["enforce_nonce"].as_bool()) {
            if let Some(first) = w.nonces.get(&(channel, nonce.clone())) {
                let posted = w.messages.iter().find(|m| m.id == *first).cloned();
                if let Some(posted) = posted {
                    return Json(message_json(&w, &posted)).into_response();
                }
            }
        }
    }
    let reply_to = body["message_reference"]["message_id"]
        .as_str()
        .and_then(|m| m.parse().ok());
    let content = body["content"].as_str().unwrap_or_default();
    if content.chars().count() > 2000 {
        return error(400, 50035, "content: Must be 2000 or fewer in length.");
    }
    let extras = (
        body["embeds"].clone(),
        body["components"].clone(),
        body["allowed_mentions"].clone(),
    );
    let posted = sandbox.store_message(channel, BOT_USER, content, extras, reply_to);
    let json = {
        let mut w = s.world.lock().expect("sandbox lock");
        if let Some(nonce) = nonce {
            w.nonces.insert((channel, nonce), posted.id);
        }
        message_json(&w, &posted)
    };
    // Discord echoes the bot's own messages on the gateway; the bot must ignore them.
    sandbox.dispatch("MESSAGE_CREATE", json.clone());
    Json(json).into_response()
}

#[derive(serde::Deserialize)]
struct After {
    after: Option<u64>,
    limit: Option<usize>,
}

async fn list_messages(
    State(s): Shd,
    Path(channel): Path<u64>,
    Query(q): Query<After>,
) -> Response {
    let w = s.world.lock().expect("sandbox lock");
    if !w.channels.contains_key(&channel) {
        return error(404, 10003, "Unknown Channel");
    }
    let after = q.after.unwrap_or(0);
    let mut found: Vec<Value> = w
        .messages
        .iter()
        .filter(|m| m.channel_id == channel && !m.deleted && m.id > after)
        .take(q.limit.unwrap_or(50).min(100))
        .map(|m| message_json(&w, m))
        .collect();
    // Discord lists newest first.
    found.reverse();
    Json(Value::Array(found)).into_response()
}

async fn edit_message(
    State(s): Shd,
    Path((channel, message)): Path<(u64, u64)>,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = injected_failure(&s) {
        return r;
    }
    let json = {
        let mut w = s.world.lock().expect("sandbox lock");
        let Some(m) = w
            .messages
            .iter_mut()
            .find(|m| m.id == message && m.channel_id == channel && !m.deleted)
        else {
            return error(404, 10008, "Unknown Message");
        };
        apply_edit(m, &body);
        let m = m.clone();
        message_json(&w, &m)
    };
    s.changed.notify_waiters();
    Json(json).into_response()
}

fn apply_edit(m: &mut Posted, body: &Value) {
    if let Some(content) = body["content"].as_str() {
        m.content = content.to_owned();
    }
    if body["embeds"].is_array() {
        m.embeds = body["embeds"].clone();
    }
    if body["components"].is_array() {
        m.components = body["components"].clone();
    }
}

async fn delete_message(State(s): Shd, Path((channel, message)): Path<(u64, u64)>) -> Response {
    {
        let mut w = s.world.lock().expect("sandbox lock");
        let public = matches!(w.channels.get(&channel), Some(ChannelKind::Text { .. }));
        if public && !w.can_manage_messages {
            return error(403, 50013, "Missing Permissions");
        }
        match w.messages.iter_mut().find(|m| m.id == message) {
            Some(m) => m.deleted = true,
            None => return error(404, 10008, "Unknown Message"),
        }
    }
    s.changed.notify_waiters();
    StatusCode::NO_CONTENT.into_response()
}

async fn create_thread(State(s): Shd, Path(parent): Path<u64>) -> Response {
    if let Some(r) = injected_failure(&s) {
        return r;
    }
    let sandbox = Sandbox { shared: s.clone() };
    let id = sandbox.next_id();
    let json = {
        let mut w = s.world.lock().expect("sandbox lock");
        let Some(guild) = guild_of(&w, parent) else {
            return error(404, 10003, "Unknown Channel");
        };
        let kind = ChannelKind::Thread { guild, parent };
        w.channels.insert(id, kind);
        channel_json(id, kind, &w)
    };
    s.changed.notify_waiters();
    Json(json).into_response()
}

async fn interaction_callback(
    State(s): Shd,
    Path((id, _token)): Path<(u64, String)>,
    Json(body): Json<Value>,
) -> Response {
    let kind = body["type"].as_u64().unwrap_or(0);
    {
        let mut w = s.world.lock().expect("sandbox lock");
        let answers = w.callbacks.entry(id).or_default();
        if !answers.is_empty() {
            return error(400, 40060, "Interaction has already been acknowledged.");
        }
        answers.push(Callback {
            kind,
            data: body["data"].clone(),
        });
        // An update (type 7) edits the message whose button was clicked.
        if kind == 7 {
            if let Some(message) = w.clicked.get(&id).copied() {
                if let Some(m) = w.messages.iter_mut().find(|m| m.id == message) {
                    apply_edit(m, &body["data"]);
                }
            }
        }
    }
    s.changed.notify_waiters();
    StatusCode::NO_CONTENT.into_response()
}

async fn followup(
    State(s): Shd,
    Path(params): Path<Vec<String>>,
    Json(body): Json<Value>,
) -> Response {
    let token = params.get(1).cloned().unwrap_or_default();
    {
        let mut w = s.world.lock().expect("sandbox lock");
        let Some(id) = w.tokens.get(&token).copied() else {
            return error(404, 10015, "Unknown Webhook");
        };
        w.callbacks.entry(id).or_default().push(Callback {
            kind: 0,
            data: body.clone(),
        });
    }
    s.changed.notify_waiters();
    let w = s.world.lock().expect("sandbox lock");
    let posted = Posted {
        id: 0,
        channel_id: 0,
        author_id: BOT_USER,
        content: body["content"].as_str().unwrap_or_default().to_owned(),
        embeds: json!([]),
        components: json!([]),
        allowed_mentions: Value::Null,
        reply_to: None,
        deleted: false,
    };
    Json(message_json(&w, &posted)).into_response()
}

async fn unknown_route(uri: axum::http::Uri) -> Response {
    tracing::warn!(path = %uri.path(), "the sandbox does not serve this route");
    error(404, 0, "the sandbox does not serve this route")
}

/// The gateway: HELLO, then READY after IDENTIFY, heartbeat acks, and the sandbox's dispatches
/// for this connection's shard.
async fn gateway(State(s): Shd, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| session(s, socket))
}

async fn session(s: Arc<Shared>, mut socket: WebSocket) {
    let hello = json!({ "op": 10, "d": { "heartbeat_interval": 41250 } });
    if socket.send(Frame::Text(hello.to_string())).await.is_err() {
        return;
    }
    let mut events = s.events.subscribe();
    let mut seq = 0u64;
    let mut shard: Option<(u64, u64)> = None;
    loop {
        tokio::select! {
            frame = socket.recv() => {
                let Some(Ok(frame)) = frame else { return };
                let Frame::Text(text) = frame else { continue };
                let Ok(payload) = serde_json::from_str::<Value>(&text) else { continue };
                let reply = match payload["op"].as_u64() {
                    Some(1) => Some(json!({ "op": 11 })),
                    Some(2) => {
                        let d = &payload["d"];
                        let (id, total) = (d["shard"][0].as_u64().unwrap_or(0),
                            d["shard"][1].as_u64().unwrap_or(1));
                        shard = Some((id, total.max(1)));
                        seq += 1;
                        let w = s.world.lock().expect("sandbox lock");
                        Some(json!({ "op": 0, "s": seq, "t": "READY", "d": {
                            "v": 10, "user": user_json(&w, BOT_USER), "guilds": [],
                            "session_id": format!("session-{seq}"),
                            "resume_gateway_url": format!("ws://{}/ws", s.addr),
                            "shard": [id, total], "private_channels": [],
                            "application": { "id": APPLICATION.to_string(), "flags": 0 },
                        }}))
                    }
                    Some(6) => Some(json!({ "op": 9, "d": false })),
                    _ => None,
                };
                if let Some(reply) = reply {
                    if socket.send(Frame::Text(reply.to_string())).await.is_err() {
                        return;
                    }
                }
            }
            event = events.recv() => {
                let Ok((guild, mut payload)) = event else { continue };
                let Some((id, total)) = shard else { continue };
                // Guild events go to the guild's shard; DMs to shard 0, as on Discord.
                let mine = match guild {
                    Some(guild) => (guild >> 22) % total == id,
                    None => id == 0,
                };
                if !mine {
                    continue;
                }
                seq += 1;
                payload["s"] = json!(seq);
                if socket.send(Frame::Text(payload.to_string())).await.is_err() {
                    return;
                }
            }
        }
    }
}
