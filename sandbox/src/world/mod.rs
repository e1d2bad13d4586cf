//! The world the sandbox's Discord holds: who exists, the two servers, channels, messages,
//! interactions, commands and gateway sessions, behind one lock.

pub mod dispatch;
pub mod json;
pub mod model;
pub mod post;
pub mod records;
mod setup;

pub use setup::{add_user as setup_user, role as setup_role, text as setup_text};

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::Notify;

use crate::error::DiscordError;
use crate::gateway::session::Session;
use crate::ids::Snowflakes;
use crate::oauth2::OAuthState;
use crate::options::Options;
use crate::rate_limits::RateLimiter;
use model::{Channel, Guild, Message, User};
use records::{Interaction, RequestRecord, SessionInfo};

/// A fault the driver queued for the next REST requests.
#[derive(Debug, Clone)]
pub enum Fault {
    Fail { status: u16, code: u64 },
    RateLimit { global: bool, retry_after: Duration },
}

pub struct World {
    pub opts: Options,
    pub base_url: String,
    pub ids: Snowflakes,
    pub users: BTreeMap<u64, User>,
    pub guilds: BTreeMap<u64, Guild>,
    pub channels: BTreeMap<u64, Channel>,
    pub messages: BTreeMap<u64, Message>,
    /// Attachment bytes by attachment id, with the channel they were posted in.
    pub files: HashMap<u64, (u64, Arc<Vec<u8>>)>,
    /// The bot's DM channel with each person.
    pub dm_of: HashMap<u64, u64>,
    pub interactions: HashMap<u64, Interaction>,
    /// Interaction tokens to interaction ids.
    pub tokens: HashMap<String, u64>,
    /// Registered commands: `None` global, `Some(guild)` for a guild.
    pub commands: BTreeMap<Option<u64>, Vec<Value>>,
    /// `(author, nonce)` to the message made with it and when, for `enforce_nonce`.
    pub nonces: HashMap<(u64, String), (u64, Instant)>,
    pub sessions: Vec<Session>,
    pub connections: Vec<SessionInfo>,
    pub log: Vec<RequestRecord>,
    pub faults: VecDeque<Fault>,
    pub limits: RateLimiter,
    pub oauth: OAuthState,
    /// The secret that signs attachment URLs.
    pub secret: String,
    /// Who logs in at `/oauth2/authorize` without the page being shown.
    pub auto_login: Option<u64>,
}

impl World {
    pub fn next_id(&self) -> u64 {
        self.ids.next()
    }

    pub fn channel(&self, id: u64) -> Result<&Channel, DiscordError> {
        self.channels
            .get(&id)
            .ok_or_else(DiscordError::unknown_channel)
    }

    pub fn channel_mut(&mut self, id: u64) -> Result<&mut Channel, DiscordError> {
        self.channels
            .get_mut(&id)
            .ok_or_else(DiscordError::unknown_channel)
    }

    pub fn user(&self, id: u64) -> Result<&User, DiscordError> {
        self.users.get(&id).ok_or_else(DiscordError::unknown_user)
    }

    pub fn guild(&self, id: u64) -> Result<&Guild, DiscordError> {
        self.guilds.get(&id).ok_or_else(DiscordError::unknown_guild)
    }

    pub fn is_member(&self, guild: u64, user: u64) -> bool {
        self.guilds
            .get(&guild)
            .is_some_and(|g| g.members.contains_key(&user))
    }

    /// A live (not deleted) message in a channel.
    pub fn message_in(&self, channel: u64, id: u64) -> Result<&Message, DiscordError> {
        self.messages
            .get(&id)
            .filter(|m| m.channel_id == channel && !m.deleted)
            .ok_or_else(DiscordError::unknown_message)
    }

    /// The bot's DM channel with `user`, opened if needed.
    pub fn dm_channel(&mut self, user: u64) -> u64 {
        if let Some(id) = self.dm_of.get(&user) {
            return *id;
        }
        let id = self.next_id();
        self.channels.insert(id, setup::dm(id, user));
        self.dm_of.insert(user, id);
        id
    }
}

/// The world behind its lock, and the signal that wakes `wait_for`.
pub struct Shared {
    world: Mutex<World>,
    pub changed: Notify,
}

impl Shared {
    pub fn new(opts: Options, base_url: String) -> Arc<Shared> {
        Arc::new(Shared {
            world: Mutex::new(setup::world(opts, base_url)),
            changed: Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, World> {
        // A panic elsewhere must not take the whole sandbox down with it.
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads the world.
    pub fn read<R>(&self, f: impl FnOnce(&World) -> R) -> R {
        f(&self.lock())
    }

    /// Changes the world and wakes whoever waits for a change.
    pub fn write<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        let out = f(&mut self.lock());
        self.changed.notify_waiters();
        out
    }
}
