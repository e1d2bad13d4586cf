//! Channels (resources/channel.mdx "Get Channel", "Modify Channel", "Delete/Close Channel",
//! "Trigger Typing Indicator"), with the thread rules of topics/threads.mdx "Editing & Deleting
//! Threads".

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use super::body::{id, Body};
use crate::error::{Answer, DiscordError};
use crate::ids::{now_ms, BOT_USER};
use crate::permissions::*;
use crate::validate::Form;
use crate::world::dispatch::GUILDS;
use crate::world::model::ChannelType;
use crate::world::{json as wjson, Shared, World};

pub const ARCHIVE_DURATIONS: [u64; 4] = [60, 1440, 4320, 10080];

pub async fn get(State(s): State<Arc<Shared>>, Path(channel): Path<String>) -> Answer {
    let channel = id(&channel, "channel_id")?;
    s.read(|w| {
        let ch = w.channel(channel)?;
        if !can_view(w, BOT_USER, channel) {
            return Err(DiscordError::missing_access());
        }
        Ok(Json(wjson::channel(w, ch)).into_response())
    })
}

pub async fn typing(State(s): State<Arc<Shared>>, Path(channel): Path<String>) -> Answer {
    let channel = id(&channel, "channel_id")?;
    s.read(|w| {
        super::messages::may_send(w, channel)?;
        Ok(StatusCode::NO_CONTENT.into_response())
    })
}

pub async fn modify(
    State(s): State<Arc<Shared>>,
    Path(channel): Path<String>,
    body: Body,
) -> Answer {
    let channel = id(&channel, "channel_id")?;
    s.write(|w| {
        let kind = w.channel(channel)?.kind;
        if !can_view(w, BOT_USER, channel) {
            return Err(DiscordError::missing_access());
        }
        let mut form = Form::default();
        form.text("name", &body.json["name"], 1, 100);
        form.text("topic", &body.json["topic"], 0, 1024);
        if let Some(d) = body.json["auto_archive_duration"].as_u64() {
            if !ARCHIVE_DURATIONS.contains(&d) {
                form.err(
                    "auto_archive_duration",
                    "BASE_TYPE_CHOICES",
                    "Value must be one of (60, 1440, 4320, 10080).",
                );
            }
        }
        form.done()?;
        match kind {
            ChannelType::Dm => Err(DiscordError::new(
                403,
                50003,
                "Cannot execute action on a DM channel",
            )),
            ChannelType::Text => modify_text(w, channel, &body.json),
            _ => modify_thread(w, channel, &body.json),
        }
    })
}

fn modify_text(w: &mut World, channel: u64, body: &Value) -> Answer {
    if effective(w, BOT_USER, channel) & MANAGE_CHANNELS == 0 {
        return Err(DiscordError::missing_permissions());
    }
    let ch = w.channel_mut(channel)?;
    if let Some(name) = body["name"].as_str() {
        ch.name = name.to_owned();
    }
    if body.get("topic").is_some() {
        ch.topic = body["topic"].as_str().map(str::to_owned);
    }
    if let Some(r) = body["rate_limit_per_user"].as_u64() {
        ch.rate_limit_per_user = r.min(21600);
    }
    w.channel_event("CHANNEL_UPDATE", channel, json!({}));
    Ok(Json(wjson::channel(w, w.channel(channel)?)).into_response())
}

fn modify_thread(w: &mut World, channel: u64, body: &Value) -> Answer {
    let perms = effective(w, BOT_USER, channel);
    let moderator = perms & MANAGE_THREADS != 0;
    let ch = w.channel(channel)?;
    let t = ch
        .thread
        .clone()
        .ok_or_else(DiscordError::unknown_channel)?;
    let creator = t.owner == BOT_USER;
    let unarchive = body["archived"].as_bool() == Some(false);
    if t.archived && !unarchive {
        return Err(DiscordError::new(400, 50083, "Thread is archived"));
    }
    if t.archived && t.locked && !moderator {
        return Err(DiscordError::missing_permissions());
    }
    let owner_fields = ["name", "archived", "auto_archive_duration", "invitable"];
    let wants_owner = owner_fields.iter().any(|k| body.get(*k).is_some());
    let wants_moderator = body.get("locked").is_some() || body.get("rate_limit_per_user").is_some();
    if (wants_owner && !(creator || moderator)) || (wants_moderator && !moderator) {
        return Err(DiscordError::missing_permissions());
    }
    let ch = w.channel_mut(channel)?;
    if let Some(name) = body["name"].as_str() {
        ch.name = name.to_owned();
    }
    if let Some(t) = ch.thread.as_mut() {
        if let Some(a) = body["archived"].as_bool() {
            t.archived = a;
            t.archive_ms = now_ms();
        }
        if let Some(l) = body["locked"].as_bool() {
            t.locked = l;
        }
        if let Some(d) = body["auto_archive_duration"].as_u64() {
            t.auto_archive_duration = d;
        }
        if let Some(i) = body["invitable"].as_bool() {
            t.invitable = i;
        }
    }
    w.channel_event("THREAD_UPDATE", channel, json!({}));
    Ok(Json(wjson::channel(w, w.channel(channel)?)).into_response())
}

pub async fn delete(State(s): State<Arc<Shared>>, Path(channel): Path<String>) -> Answer {
    let channel = id(&channel, "channel_id")?;
    s.write(|w| {
        let ch = w.channel(channel)?.clone();
        if !can_view(w, BOT_USER, channel) {
            return Err(DiscordError::missing_access());
        }
        let needed = match ch.kind {
            ChannelType::Dm => 0,
            ChannelType::Text => MANAGE_CHANNELS,
            _ => MANAGE_THREADS,
        };
        if effective(w, BOT_USER, channel) & needed != needed {
            return Err(DiscordError::missing_permissions());
        }
        let body = wjson::channel(w, &ch);
        if ch.kind != ChannelType::Dm {
            delete_channel(w, channel);
        }
        Ok(Json(body).into_response())
    })
}

/// Deletes a guild channel (and a text channel's threads), announcing what the bot could see:
/// THREAD_DELETE with `id`, `guild_id`, `parent_id` and `type`, CHANNEL_DELETE with the channel.
pub fn delete_channel(w: &mut World, channel: u64) {
    let threads: Vec<u64> = w
        .channels
        .values()
        .filter(|c| c.parent == Some(channel) && c.kind.is_thread())
        .map(|c| c.id)
        .collect();
    for t in threads {
        delete_channel(w, t);
    }
    let Some(ch) = w.channels.get(&channel).cloned() else {
        return;
    };
    let visible = can_view(w, BOT_USER, channel);
    let data = if ch.kind.is_thread() {
        json!({ "id": ch.id.to_string(), "guild_id": ch.guild.map(|g| g.to_string()),
            "parent_id": ch.parent.map(|p| p.to_string()), "type": ch.kind as u8 })
    } else {
        wjson::channel(w, &ch)
    };
    w.channels.remove(&channel);
    if visible {
        let name = if ch.kind.is_thread() {
            "THREAD_DELETE"
        } else {
            "CHANNEL_DELETE"
        };
        w.simple_event(name, ch.guild, GUILDS, data);
    }
}
