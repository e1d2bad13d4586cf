//! Gateway dispatches: which sessions get an event (intents, shard, what the bot can see) and
//! in which form (MESSAGE_CONTENT), with a sequence number per session.

use serde_json::{json, Value};

use super::json;
use super::World;
use crate::gateway::session::Outbound;
use crate::ids::BOT_USER;
use crate::permissions;

pub const GUILDS: u64 = 1 << 0;
pub const GUILD_MEMBERS: u64 = 1 << 1;
pub const GUILD_PRESENCES: u64 = 1 << 8;
pub const GUILD_MESSAGES: u64 = 1 << 9;
pub const GUILD_MESSAGE_REACTIONS: u64 = 1 << 10;
pub const DIRECT_MESSAGES: u64 = 1 << 12;
pub const MESSAGE_CONTENT: u64 = 1 << 15;
/// Every intent events/gateway.mdx lists: bits 0-16, 20, 21, 24 and 25.
pub const KNOWN_INTENTS: u64 = 0x1_FFFF | (1 << 20) | (1 << 21) | (1 << 24) | (1 << 25);
/// The privileged ones, which the Developer Portal must allow.
pub const PRIVILEGED: u64 = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT;

/// One event to send.
pub struct Event {
    pub name: &'static str,
    /// Routes the event to its guild's shard; `None` goes to shard 0.
    pub guild: Option<u64>,
    /// The intents of which a session needs one; 0 for events sent regardless.
    pub intents: u64,
    pub data: Value,
    /// The payload for a session without MESSAGE_CONTENT, where it differs.
    pub blank: Option<Value>,
}

impl World {
    pub fn dispatch(&mut self, e: Event) {
        for s in self.sessions.iter_mut().filter(|s| s.resumable) {
            if e.intents != 0 && s.intents & e.intents == 0 {
                continue;
            }
            let mine = match e.guild {
                Some(g) => (g >> 22) % s.shard.1 == s.shard.0,
                None => s.shard.0 == 0,
            };
            if !mine {
                continue;
            }
            let data = match (&e.blank, s.intents & MESSAGE_CONTENT) {
                (Some(blank), 0) => blank,
                _ => &e.data,
            };
            s.push(e.name, data);
        }
    }

    /// MESSAGE_CREATE or MESSAGE_UPDATE for a message, if the bot can see its channel.
    pub fn message_event(&mut self, name: &'static str, id: u64) {
        let Some(m) = self.messages.get(&id) else {
            return;
        };
        if !permissions::can_view(self, BOT_USER, m.channel_id) {
            return;
        }
        // Ephemeral messages travel like DMs (events/gateway-events.mdx "Messages").
        let (guild, intents) = match (m.guild_id, m.ephemeral()) {
            (Some(g), false) => (Some(g), GUILD_MESSAGES),
            _ => (None, DIRECT_MESSAGES),
        };
        let data = json::message_event(self, m, false);
        let blank = (!json::content_exempt(m)).then(|| json::message_event(self, m, true));
        self.dispatch(Event {
            name,
            guild,
            intents,
            data,
            blank,
        });
    }

    /// MESSAGE_DELETE, sent when the bot could see the message's channel.
    pub fn message_deleted(&mut self, id: u64, channel: u64, guild: Option<u64>, visible: bool) {
        if !visible {
            return;
        }
        let mut data = json!({ "id": id.to_string(), "channel_id": channel.to_string() });
        if let Some(g) = guild {
            data["guild_id"] = json!(g.to_string());
        }
        let intents = if guild.is_some() {
            GUILD_MESSAGES
        } else {
            DIRECT_MESSAGES
        };
        self.dispatch(Event {
            name: "MESSAGE_DELETE",
            guild,
            intents,
            data,
            blank: None,
        });
    }

    /// A channel event (GUILDS intent), if the bot can see the channel.
    pub fn channel_event(&mut self, name: &'static str, channel: u64, extra: Value) {
        let Some(ch) = self.channels.get(&channel) else {
            return;
        };
        if !permissions::can_view(self, BOT_USER, channel) {
            return;
        }
        let mut data = json::channel(self, ch);
        if let (Some(o), Value::Object(more)) = (data.as_object_mut(), extra) {
            o.extend(more);
        }
        let guild = ch.guild;
        self.dispatch(Event {
            name,
            guild,
            intents: GUILDS,
            data,
            blank: None,
        });
    }

    /// THREAD_MEMBERS_UPDATE: to a bot without GUILD_MEMBERS only when the bot itself was
    /// added or removed (events/gateway-events.mdx "Thread Members Update").
    pub fn thread_members_update(&mut self, thread: u64, added: &[u64], removed: &[u64]) {
        let Some(ch) = self.channels.get(&thread) else {
            return;
        };
        let (Some(guild), Some(t)) = (ch.guild, &ch.thread) else {
            return;
        };
        let bot_involved = added.contains(&BOT_USER) || removed.contains(&BOT_USER);
        if !bot_involved && !permissions::can_view(self, BOT_USER, thread) {
            return;
        }
        let added_json: Vec<Value> = added
            .iter()
            .map(|u| {
                let joined = t.members.get(u).copied().unwrap_or_default();
                let mut m = json::thread_member(thread, *u, joined);
                m["member"] = json::member(self, guild, *u, true);
                m["presence"] = Value::Null;
                m
            })
            .collect();
        let removed_json: Vec<String> = removed.iter().map(u64::to_string).collect();
        let data = json!({
            "id": thread.to_string(), "guild_id": guild.to_string(),
            "member_count": t.members.len().min(50),
            "added_members": added_json, "removed_member_ids": removed_json,
        });
        let intents = if bot_involved {
            GUILDS | GUILD_MEMBERS
        } else {
            GUILD_MEMBERS
        };
        self.dispatch(Event {
            name: "THREAD_MEMBERS_UPDATE",
            guild: Some(guild),
            intents,
            data,
            blank: None,
        });
    }

    /// GUILD_MEMBER_UPDATE: needs GUILD_MEMBERS, except for the bot's own member.
    pub fn member_update(&mut self, guild: u64, user: u64) {
        let mut data = json::member(self, guild, user, true);
        data["guild_id"] = json!(guild.to_string());
        let intents = if user == BOT_USER { 0 } else { GUILD_MEMBERS };
        self.dispatch(Event {
            name: "GUILD_MEMBER_UPDATE",
            guild: Some(guild),
            intents,
            data,
            blank: None,
        });
    }

    /// Any other event.
    pub fn simple_event(
        &mut self,
        name: &'static str,
        guild: Option<u64>,
        intents: u64,
        data: Value,
    ) {
        self.dispatch(Event {
            name,
            guild,
            intents,
            data,
            blank: None,
        });
    }

    /// Sends an opcode other than a dispatch to every connected session.
    pub fn send_op(&mut self, payload: &Value) {
        let text = payload.to_string();
        for s in &self.sessions {
            if let Some((_, tx)) = &s.conn {
                let _ = tx.send(Outbound::Op(text.clone()));
            }
        }
    }
}
