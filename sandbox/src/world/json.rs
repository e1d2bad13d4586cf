//! The world's objects as Discord's JSON (resources/user.mdx, guild.mdx, channel.mdx,
//! message.mdx, topics/permissions.mdx "Role Object").

use serde_json::{json, Value};

use super::model::{Attachment, Channel, ChannelType, Guild, Message, Role};
use super::World;
use crate::ids::{iso, snowflake_ms, BOT_USER};
use crate::permissions;

pub fn user(w: &World, id: u64) -> Value {
    let (name, bot) = w
        .users
        .get(&id)
        .map_or((format!("user{id}"), false), |u| (u.name.clone(), u.bot));
    json!({
        "id": id.to_string(), "username": name, "discriminator": "0", "global_name": name,
        "avatar": null, "bot": bot, "banner": null, "accent_color": null, "public_flags": 0,
        "flags": 0, "avatar_decoration_data": null,
    })
}

/// A guild member; `with_user` false for the partial member of MESSAGE_CREATE.
pub fn member(w: &World, guild: u64, user_id: u64, with_user: bool) -> Value {
    let m = w.guilds.get(&guild).and_then(|g| g.members.get(&user_id));
    let roles: Vec<String> = m
        .map(|m| m.roles.iter().map(u64::to_string).collect())
        .unwrap_or_default();
    let joined = m.map_or(0, |m| m.joined_ms);
    let mut v = json!({
        "nick": null, "avatar": null, "banner": null, "roles": roles, "joined_at": iso(joined),
        "premium_since": null, "deaf": false, "mute": false, "flags": 0, "pending": false,
        "communication_disabled_until": null,
    });
    if with_user {
        v["user"] = user(w, user_id);
    }
    v
}

pub fn role(r: &Role) -> Value {
    let mut v = json!({
        "id": r.id.to_string(), "name": r.name, "color": 0,
        "colors": { "primary_color": 0, "secondary_color": null, "tertiary_color": null },
        "hoist": false, "icon": null, "unicode_emoji": null, "position": r.position,
        "permissions": r.permissions.to_string(), "managed": r.bot_id.is_some(),
        "mentionable": r.mentionable, "flags": 0,
    });
    if let Some(bot) = r.bot_id {
        v["tags"] = json!({ "bot_id": bot.to_string() });
    }
    v
}

fn overwrites(ch: &Channel) -> Value {
    let list: Vec<Value> = ch
        .overwrites
        .iter()
        .map(|o| {
            json!({ "id": o.id.to_string(), "type": o.kind, "allow": o.allow.to_string(),
                "deny": o.deny.to_string() })
        })
        .collect();
    Value::Array(list)
}

/// A channel; for a thread the bot has joined, `member` carries its thread member.
pub fn channel(w: &World, ch: &Channel) -> Value {
    if ch.kind == ChannelType::Dm {
        let recipient = ch.recipient.unwrap_or_default();
        return json!({
            "id": ch.id.to_string(), "type": 1, "flags": 0,
            "last_message_id": ch.last_message_id.map(|m| m.to_string()),
            "recipients": [user(w, recipient)],
        });
    }
    let mut v = json!({
        "id": ch.id.to_string(), "type": ch.kind as u8, "name": ch.name,
        "guild_id": ch.guild.map(|g| g.to_string()), "position": ch.position,
        "permission_overwrites": overwrites(ch), "topic": ch.topic, "nsfw": false,
        "last_message_id": ch.last_message_id.map(|m| m.to_string()),
        "rate_limit_per_user": ch.rate_limit_per_user,
        "parent_id": ch.parent.map(|p| p.to_string()), "flags": 0,
        "default_auto_archive_duration": 10080,
    });
    if let Some(t) = &ch.thread {
        let o = v.as_object_mut().expect("a channel is an object");
        o.remove("permission_overwrites");
        o.remove("topic");
        o.remove("position");
        o.remove("default_auto_archive_duration");
        v["owner_id"] = json!(t.owner.to_string());
        v["message_count"] = json!(t.message_count);
        v["total_message_sent"] = json!(t.total_sent);
        v["member_count"] = json!(t.members.len().min(50));
        let mut meta = json!({
            "archived": t.archived, "auto_archive_duration": t.auto_archive_duration,
            "archive_timestamp": iso(t.archive_ms), "locked": t.locked,
            "create_timestamp": iso(t.created_ms),
        });
        if ch.kind == ChannelType::PrivateThread {
            meta["invitable"] = json!(t.invitable);
        }
        v["thread_metadata"] = meta;
        if let Some(joined) = t.members.get(&BOT_USER) {
            v["member"] = thread_member(ch.id, BOT_USER, *joined);
        }
    }
    v
}

pub fn thread_member(thread: u64, user_id: u64, joined_ms: u64) -> Value {
    json!({ "id": thread.to_string(), "user_id": user_id.to_string(),
        "join_timestamp": iso(joined_ms), "flags": 0 })
}

/// The guild object of `GET /guilds/{id}`.
pub fn guild(g: &Guild, counts: bool) -> Value {
    let roles: Vec<Value> = g.roles.values().map(role).collect();
    let mut v = json!({
        "id": g.id.to_string(), "name": g.name, "icon": null, "icon_hash": null, "splash": null,
        "discovery_splash": null, "owner_id": g.owner.to_string(), "afk_channel_id": null,
        "afk_timeout": 300, "widget_enabled": false, "widget_channel_id": null,
        "verification_level": 0, "default_message_notifications": 1,
        "explicit_content_filter": 0, "roles": roles, "emojis": [], "features": [],
        "mfa_level": 0, "application_id": null, "system_channel_id": null,
        "system_channel_flags": 0, "rules_channel_id": null, "max_presences": null,
        "max_members": 500000, "vanity_url_code": null, "description": null, "banner": null,
        "premium_tier": 0, "premium_subscription_count": 0, "preferred_locale": "en-US",
        "public_updates_channel_id": null, "max_video_channel_users": 25,
        "max_stage_video_channel_users": 50, "nsfw_level": 0, "stickers": [],
        "premium_progress_bar_enabled": false, "safety_alerts_channel_id": null,
        "incidents_data": null,
    });
    if counts {
        v["approximate_member_count"] = json!(g.members.len());
        v["approximate_presence_count"] = json!(0);
    }
    v
}

/// The GUILD_CREATE payload: the guild with the bot's own member only (no GUILD_PRESENCES), its
/// channels, and the active threads the bot can see (events/gateway-events.mdx "Guild Create").
pub fn guild_create(w: &World, g: &Guild) -> Value {
    let mut v = guild(g, false);
    let channels: Vec<Value> = w
        .channels
        .values()
        .filter(|c| c.guild == Some(g.id) && !c.kind.is_thread())
        .map(|c| channel(w, c))
        .collect();
    let threads: Vec<Value> = w
        .channels
        .values()
        .filter(|c| c.guild == Some(g.id) && c.kind.is_thread())
        .filter(|c| c.thread.as_ref().is_some_and(|t| !t.archived))
        .filter(|c| permissions::can_view(w, BOT_USER, c.id))
        .map(|c| channel(w, c))
        .collect();
    let joined = g.members.get(&BOT_USER).map_or(0, |m| m.joined_ms);
    v["joined_at"] = json!(iso(joined));
    v["large"] = json!(false);
    v["unavailable"] = json!(false);
    v["member_count"] = json!(g.members.len());
    v["voice_states"] = json!([]);
    v["members"] = json!([member(w, g.id, BOT_USER, true)]);
    v["channels"] = Value::Array(channels);
    v["threads"] = Value::Array(threads);
    v["presences"] = json!([]);
    v["stage_instances"] = json!([]);
    v["guild_scheduled_events"] = json!([]);
    v["soundboard_sounds"] = json!([]);
    v
}

/// Whether a message's content reaches an app without MESSAGE_CONTENT anyway: in DMs, the
/// app's own messages, and messages that mention it (events/gateway.mdx "Message Content
/// Intent").
pub fn content_exempt(m: &Message) -> bool {
    m.guild_id.is_none() || m.author_id == BOT_USER || m.mentions.contains(&BOT_USER)
}

/// A message as the bot sees it; `blank` empties what MESSAGE_CONTENT guards.
pub fn message(w: &World, m: &Message, blank: bool) -> Value {
    let mentions: Vec<Value> = m.mentions.iter().map(|u| user(w, *u)).collect();
    let roles: Vec<String> = m.mention_roles.iter().map(u64::to_string).collect();
    let attachments: Vec<Value> = m
        .attachments
        .iter()
        .map(|a| attachment(w, m.channel_id, a))
        .collect();
    let mut v = json!({
        "id": m.id.to_string(), "channel_id": m.channel_id.to_string(),
        "author": user(w, m.author_id), "content": m.content,
        "timestamp": iso(snowflake_ms(m.id)), "edited_timestamp": m.edited_ms.map(iso),
        "tts": m.tts, "mention_everyone": m.mention_everyone, "mentions": mentions,
        "mention_roles": roles, "attachments": attachments, "embeds": m.embeds,
        "components": m.components, "pinned": false, "type": m.kind, "flags": m.flags,
    });
    if let Some(nonce) = &m.nonce {
        v["nonce"] = nonce.clone();
    }
    if let Some(app) = m.webhook_id {
        v["webhook_id"] = json!(app.to_string());
        v["application_id"] = json!(app.to_string());
    }
    if let Some(poll) = &m.poll {
        v["poll"] = poll.clone();
    }
    extras(w, m, &mut v);
    if blank {
        v["content"] = json!("");
        v["embeds"] = json!([]);
        v["attachments"] = json!([]);
        v["components"] = json!([]);
        if let Some(o) = v.as_object_mut() {
            o.remove("poll");
        }
    }
    v
}

fn extras(w: &World, m: &Message, v: &mut Value) {
    if let Some(to) = m.reply_to {
        v["message_reference"] = json!({ "type": 0, "message_id": to.to_string(),
            "channel_id": m.channel_id.to_string(), "guild_id": m.guild_id.map(|g| g.to_string()) });
        v["referenced_message"] = match w.messages.get(&to).filter(|r| !r.deleted) {
            Some(r) => {
                let blank = !content_exempt(r) && !w.opts.message_content_intent;
                let mut inner = message_core(w, r);
                if blank {
                    inner["content"] = json!("");
                }
                inner
            }
            None => Value::Null,
        };
    }
    if let Some((id, kind, user_id, name)) = &m.interaction {
        v["interaction_metadata"] = json!({ "id": id.to_string(), "type": kind,
            "user": user(w, *user_id), "authorizing_integration_owners": {} });
        v["interaction"] = json!({ "id": id.to_string(), "type": kind, "name": name,
            "user": user(w, *user_id) });
    }
    if let Some(thread) = m.thread.and_then(|t| w.channels.get(&t)) {
        v["thread"] = channel(w, thread);
    }
}

/// A referenced message, without its own reference (Discord nests one level only).
fn message_core(w: &World, m: &Message) -> Value {
    let mut copy = m.clone();
    copy.reply_to = None;
    copy.interaction = None;
    copy.thread = None;
    message(w, &copy, false)
}

/// A message as MESSAGE_CREATE / MESSAGE_UPDATE carry it: with `guild_id` and the author's
/// partial `member`, except for ephemeral messages (events/gateway-events.mdx "Messages").
pub fn message_event(w: &World, m: &Message, blank: bool) -> Value {
    let mut v = message(w, m, blank);
    let kind = w.channels.get(&m.channel_id).map_or(0, |c| c.kind as u8);
    v["channel_type"] = json!(kind);
    if let (Some(guild), false) = (m.guild_id, m.ephemeral()) {
        v["guild_id"] = json!(guild.to_string());
        if m.webhook_id.is_none() && w.is_member(guild, m.author_id) {
            v["member"] = member(w, guild, m.author_id, false);
        }
    }
    v
}

pub fn attachment(w: &World, channel: u64, a: &Attachment) -> Value {
    let url = crate::rest::cdn::signed_url(w, channel, a);
    let mut v = json!({
        "id": a.id.to_string(), "filename": a.filename, "size": a.size, "url": url,
        "proxy_url": url, "content_type": a.content_type,
    });
    if let Some(d) = &a.description {
        v["description"] = json!(d);
    }
    v
}
