//! The objects the sandbox's Discord is made of: users, guilds with roles and members, channels
//! and threads, messages with attachments.

use std::collections::BTreeMap;

use serde_json::Value;

/// A Discord account: a person or a bot.
#[derive(Debug, Clone)]
pub struct User {
    pub id: u64,
    pub name: String,
    pub bot: bool,
    /// The person turned off DMs from this bot (or blocked it): sends answer 50007.
    pub dms_closed: bool,
    pub locale: String,
}

/// A role (topics/permissions.mdx "Role Object"); `@everyone` has the guild's id.
#[derive(Debug, Clone)]
pub struct Role {
    pub id: u64,
    pub name: String,
    pub permissions: u64,
    pub position: u32,
    pub mentionable: bool,
    /// For a bot's managed role: the bot it belongs to.
    pub bot_id: Option<u64>,
}

/// Someone's membership of a guild.
#[derive(Debug, Clone)]
pub struct Member {
    pub roles: Vec<u64>,
    pub joined_ms: u64,
}

#[derive(Debug, Clone)]
pub struct Guild {
    pub id: u64,
    pub name: String,
    pub owner: u64,
    pub roles: BTreeMap<u64, Role>,
    pub members: BTreeMap<u64, Member>,
}

/// Channel types the sandbox has (resources/channel.mdx "Channel Types").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelType {
    Text = 0,
    Dm = 1,
    PublicThread = 11,
    PrivateThread = 12,
}

impl ChannelType {
    pub fn is_thread(self) -> bool {
        matches!(self, ChannelType::PublicThread | ChannelType::PrivateThread)
    }
}

/// A permission overwrite: `kind` 0 for a role, 1 for a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overwrite {
    pub id: u64,
    pub kind: u8,
    pub allow: u64,
    pub deny: u64,
}

/// Thread-only state (resources/channel.mdx "Thread Metadata Object", "Thread Member Object").
#[derive(Debug, Clone)]
pub struct ThreadState {
    pub owner: u64,
    /// Members and when they joined (Unix ms).
    pub members: BTreeMap<u64, u64>,
    pub archived: bool,
    pub locked: bool,
    pub invitable: bool,
    pub auto_archive_duration: u64,
    pub archive_ms: u64,
    pub created_ms: u64,
    pub message_count: u64,
    pub total_sent: u64,
}

#[derive(Debug, Clone)]
pub struct Channel {
    pub id: u64,
    pub kind: ChannelType,
    pub name: String,
    pub guild: Option<u64>,
    /// For a thread: the channel it was made in.
    pub parent: Option<u64>,
    pub position: u32,
    pub topic: Option<String>,
    pub overwrites: Vec<Overwrite>,
    pub last_message_id: Option<u64>,
    /// For a DM: the person at the other end.
    pub recipient: Option<u64>,
    pub thread: Option<ThreadState>,
    pub rate_limit_per_user: u64,
}

/// A file attached to a message; its bytes are kept apart, served by the CDN route.
#[derive(Debug, Clone, PartialEq)]
pub struct Attachment {
    pub id: u64,
    pub filename: String,
    pub size: usize,
    pub content_type: Option<String>,
    pub description: Option<String>,
}

/// A message. `Sandbox::message` and friends hand out copies.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub id: u64,
    pub channel_id: u64,
    pub guild_id: Option<u64>,
    pub author_id: u64,
    pub content: String,
    pub embeds: Vec<Value>,
    pub components: Vec<Value>,
    pub attachments: Vec<Attachment>,
    /// Users mentioned (and so notified) as `allowed_mentions` let through.
    pub mentions: Vec<u64>,
    pub mention_roles: Vec<u64>,
    pub mention_everyone: bool,
    /// The `allowed_mentions` the bot sent, as sent.
    pub allowed_mentions: Option<Value>,
    /// The message this one replies to.
    pub reply_to: Option<u64>,
    /// Message type (0 default, 19 reply, 20 chat input command, 21 thread starter, ...).
    pub kind: u8,
    pub flags: u64,
    pub nonce: Option<Value>,
    pub tts: bool,
    pub edited_ms: Option<u64>,
    pub deleted: bool,
    /// Set for interaction responses: the application that answered.
    pub webhook_id: Option<u64>,
    /// For interaction responses: the interaction's id, type, user and command name.
    pub interaction: Option<(u64, u8, u64, String)>,
    /// The thread started from this message.
    pub thread: Option<u64>,
    pub poll: Option<Value>,
}

/// Message flag EPHEMERAL (`1 << 6`).
pub const EPHEMERAL: u64 = 1 << 6;
/// Message flag LOADING (`1 << 7`): a deferred interaction response, "thinking".
pub const LOADING: u64 = 1 << 7;
/// Message flag HAS_THREAD (`1 << 5`).
pub const HAS_THREAD: u64 = 1 << 5;
/// Message flag IS_COMPONENTS_V2 (`1 << 15`).
pub const COMPONENTS_V2: u64 = 1 << 15;

impl Message {
    /// The custom ids of the message's buttons and selects, in order.
    pub fn buttons(&self) -> Vec<String> {
        let mut ids = Vec::new();
        collect_custom_ids(&Value::Array(self.components.clone()), &mut ids);
        ids
    }

    /// Content and embed text together, for searching.
    pub fn text(&self) -> String {
        let mut text = self.content.clone();
        for embed in &self.embeds {
            text.push(' ');
            text.push_str(&embed.to_string());
        }
        text
    }

    pub fn ephemeral(&self) -> bool {
        self.flags & EPHEMERAL != 0
    }
}

fn collect_custom_ids(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| collect_custom_ids(i, out)),
        Value::Object(map) => {
            if let Some(id) = map.get("custom_id").and_then(Value::as_str) {
                out.push(id.to_owned());
            }
            for key in ["components", "component", "accessory"] {
                if let Some(child) = map.get(key) {
                    collect_custom_ids(child, out);
                }
            }
        }
        _ => {}
    }
}
