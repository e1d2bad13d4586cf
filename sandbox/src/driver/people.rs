//! Acting as people: writing to the bot in DM, posting and mentioning it in guild channels and
//! threads, editing and deleting, joining threads. Each is refused as Discord would refuse the
//! person, and each sends the gateway events the bot would get.

use serde_json::Value;

use super::{not_offered, Sandbox};
use crate::error::DiscordError;
use crate::ids::{now_ms, BOT_USER};
use crate::permissions::{self, *};
use crate::world::model::{ChannelType, Message};
use crate::world::post::{blank, mentions};
use crate::world::World;

/// Whether `user` may write in `channel`, and the message they would make.
fn draft(w: &World, user: u64, channel: u64, text: &str) -> Result<Message, DiscordError> {
    let ch = w.channel(channel)?;
    let perms = permissions::effective(w, user, channel);
    if ch.kind == ChannelType::Dm {
        if ch.recipient != Some(user) {
            return Err(DiscordError::missing_access());
        }
    } else {
        if perms & VIEW_CHANNEL == 0 {
            return Err(DiscordError::missing_access());
        }
        if perms & send_permission(ch.kind) == 0 {
            return Err(DiscordError::missing_permissions());
        }
        if ch.thread.as_ref().is_some_and(|t| t.locked) && perms & MANAGE_THREADS == 0 {
            return Err(DiscordError::new(403, 160005, "Thread is locked"));
        }
    }
    if text.chars().count() > 2000 {
        return Err(DiscordError::form(
            "content",
            "BASE_TYPE_MAX_LENGTH",
            "Must be 2000 or fewer in length.",
        ));
    }
    let mut m = blank(w, channel, user);
    m.content = text.to_owned();
    let found = mentions(w, text, None, false, user, channel);
    m.mentions = found.users;
    m.mention_roles = found.roles;
    m.mention_everyone = found.everyone;
    Ok(m)
}

impl Sandbox {
    /// A person writes to the bot in DM. Returns the message id.
    pub fn dm(&self, user: u64, text: &str) -> u64 {
        self.dm_with_files(user, text, &[])
    }

    /// A person writes to the bot in DM with files (`(filename, bytes)`).
    pub fn dm_with_files(&self, user: u64, text: &str, files: &[(&str, &[u8])]) -> u64 {
        self.write(|w| {
            let channel = w.dm_channel(user);
            let mut m = blank(w, channel, user);
            m.content = text.to_owned();
            let uploads: Vec<_> = files
                .iter()
                .enumerate()
                .map(|(i, (name, bytes))| crate::rest::body::Upload {
                    index: i as u64,
                    filename: (*name).to_owned(),
                    content_type: None,
                    bytes: bytes.to_vec(),
                })
                .collect();
            m.attachments = w.store_files(channel, &uploads, &Value::Null);
            let id = w.store(m);
            w.message_event("MESSAGE_CREATE", id);
            id
        })
    }

    /// A person @mentions the bot in a guild channel: content `<@BOT> text`.
    pub fn mention(&self, user: u64, channel: u64, text: &str) -> Result<u64, DiscordError> {
        self.post(user, channel, &format!("<@{BOT_USER}> {text}"))
    }

    /// A person posts in a guild channel or thread (or their DM with the bot), refused as
    /// Discord refuses someone who cannot see or write there. A thread gains them as a member.
    pub fn post(&self, user: u64, channel: u64, text: &str) -> Result<u64, DiscordError> {
        self.write(|w| {
            let m = draft(w, user, channel, text)?;
            let id = w.store(m);
            w.message_event("MESSAGE_CREATE", id);
            Ok(id)
        })
    }

    /// A message posted while no bot was connected: stored, no event, so a bot can find it
    /// by reading history after a restart.
    pub fn post_while_offline(
        &self,
        user: u64,
        channel: u64,
        text: &str,
    ) -> Result<u64, DiscordError> {
        self.write(|w| {
            let m = draft(w, user, channel, text)?;
            Ok(w.store(m))
        })
    }

    /// A DM that arrived while no bot was connected.
    pub fn dm_while_offline(&self, user: u64, text: &str) -> u64 {
        self.write(|w| {
            let channel = w.dm_channel(user);
            let mut m = blank(w, channel, user);
            m.content = text.to_owned();
            w.store(m)
        })
    }

    /// A person edits their message (MESSAGE_UPDATE).
    pub fn edit(&self, user: u64, message: u64, text: &str) -> Result<(), DiscordError> {
        self.write(|w| {
            let m = w
                .messages
                .get(&message)
                .filter(|m| !m.deleted)
                .ok_or_else(DiscordError::unknown_message)?;
            if m.author_id != user {
                return Err(DiscordError::new(
                    403,
                    50005,
                    "Cannot edit a message authored by another user",
                ));
            }
            let channel = m.channel_id;
            let fresh = draft(w, user, channel, text)?;
            let m = w
                .messages
                .get_mut(&message)
                .ok_or_else(DiscordError::unknown_message)?;
            m.content = fresh.content;
            m.mentions = fresh.mentions;
            m.mention_roles = fresh.mention_roles;
            m.mention_everyone = fresh.mention_everyone;
            m.edited_ms = Some(now_ms());
            w.message_event("MESSAGE_UPDATE", message);
            Ok(())
        })
    }

    /// A person deletes a message: their own, or another's with MANAGE_MESSAGES.
    pub fn delete_as(&self, user: u64, message: u64) -> Result<(), DiscordError> {
        self.write(|w| {
            let m = w
                .messages
                .get(&message)
                .filter(|m| !m.deleted)
                .ok_or_else(DiscordError::unknown_message)?;
            let perms = permissions::effective(w, user, m.channel_id);
            if perms & VIEW_CHANNEL == 0 {
                return Err(DiscordError::missing_access());
            }
            if m.author_id != user && (m.guild_id.is_none() || perms & MANAGE_MESSAGES == 0) {
                return Err(DiscordError::missing_permissions());
            }
            crate::rest::history::remove(w, message);
            Ok(())
        })
    }

    /// A person joins a thread: a private one only with MANAGE_THREADS.
    pub fn join_thread(&self, user: u64, thread: u64) -> Result<(), DiscordError> {
        self.write(|w| {
            let ch = w.channel(thread)?;
            if !ch.kind.is_thread() {
                return Err(not_offered("not a thread"));
            }
            if !permissions::can_view(w, user, thread) {
                return Err(DiscordError::missing_access());
            }
            crate::rest::threads::add_to_thread(w, thread, user);
            Ok(())
        })
    }
}
