//! Creating messages (resources/message.mdx "Create Message"): permissions (VIEW_CHANNEL,
//! SEND_MESSAGES or SEND_MESSAGES_IN_THREADS, ATTACH_FILES, SEND_TTS_MESSAGES,
//! READ_MESSAGE_HISTORY for replies), closed DMs, locked threads, `enforce_nonce`, replies.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::Value;

use super::body::{id, Body};
use super::compose::{compose, reply_target};
use crate::error::{Answer, DiscordError};
use crate::ids::BOT_USER;
use crate::permissions::*;
use crate::validate::message::Context;
use crate::world::json;
use crate::world::model::ChannelType;
use crate::world::{Shared, World};

pub async fn create(
    State(s): State<Arc<Shared>>,
    Path(channel): Path<String>,
    body: Body,
) -> Answer {
    let channel = id(&channel, "channel_id")?;
    s.write(|w| create_in(w, channel, &body))
}

/// The bot's checks before it may write in a channel: it exists and can be seen, the bot may
/// send there, a DM is open, a thread is not locked.
pub fn may_send(w: &World, channel: u64) -> Result<u64, DiscordError> {
    let ch = w.channel(channel)?;
    let perms = effective(w, BOT_USER, channel);
    if perms & VIEW_CHANNEL == 0 {
        return Err(DiscordError::missing_access());
    }
    if ch.kind == ChannelType::Dm {
        if w.dm_refused(channel) {
            return Err(DiscordError::cannot_message_user());
        }
        return Ok(perms);
    }
    if perms & send_permission(ch.kind) == 0 {
        return Err(DiscordError::missing_permissions());
    }
    if let Some(t) = &ch.thread {
        if t.locked && perms & MANAGE_THREADS == 0 {
            return Err(DiscordError::new(403, 160005, "Thread is locked"));
        }
    }
    Ok(perms)
}

fn create_in(w: &mut World, channel: u64, body: &Body) -> Answer {
    let perms = may_send(w, channel)?;
    let guild = w.channel(channel)?.guild.is_some();
    if guild && !body.files.is_empty() && perms & ATTACH_FILES == 0 {
        return Err(DiscordError::missing_permissions());
    }
    if guild && body.json["tts"].as_bool() == Some(true) && perms & SEND_TTS_MESSAGES == 0 {
        return Err(DiscordError::missing_permissions());
    }
    if let Some(existing) = repeated_nonce(w, &body.json) {
        let m = &w.messages[&existing];
        return Ok(Json(json::message(w, m, false)).into_response());
    }
    let reply = reply_to(w, channel, perms, &body.json)?;
    let mut m = compose(w, channel, BOT_USER, body, Context::Create, false)?;
    if let Some(to) = reply {
        m.reply_to = Some(to);
        m.kind = 19;
        let replied = w.messages[&to].author_id;
        let ping = body.json["allowed_mentions"]["replied_user"]
            .as_bool()
            .unwrap_or(false);
        if ping && !m.mentions.contains(&replied) {
            m.mentions.push(replied);
        }
    }
    let id = w.store(m);
    if let (Some(nonce), true) = (nonce_key(&body.json), enforce(&body.json)) {
        w.nonces.insert((BOT_USER, nonce), (id, Instant::now()));
    }
    w.message_event("MESSAGE_CREATE", id);
    let m = &w.messages[&id];
    Ok(Json(json::message(w, m, false)).into_response())
}

fn enforce(body: &Value) -> bool {
    body["enforce_nonce"].as_bool() == Some(true)
}

fn nonce_key(body: &Value) -> Option<String> {
    match &body["nonce"] {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// With `enforce_nonce`, a nonce the bot used in the past few minutes returns that message
/// (resources/message.mdx "Create Message", `enforce_nonce`).
fn repeated_nonce(w: &World, body: &Value) -> Option<u64> {
    if !enforce(body) {
        return None;
    }
    let key = (BOT_USER, nonce_key(body)?);
    let (id, when) = w.nonces.get(&key)?;
    (when.elapsed() < w.opts.nonce_window && w.messages.contains_key(id)).then_some(*id)
}

/// A reply needs READ_MESSAGE_HISTORY (160002) and an existing message, unless
/// `fail_if_not_exists` is false, when it posts as a plain message.
fn reply_to(
    w: &World,
    channel: u64,
    perms: u64,
    body: &Value,
) -> Result<Option<u64>, DiscordError> {
    let Some(target) = reply_target(body) else {
        return Ok(None);
    };
    let guild = w.channel(channel)?.guild.is_some();
    if guild && perms & READ_MESSAGE_HISTORY == 0 {
        return Err(DiscordError::new(
            403,
            160002,
            "Cannot reply without permission to read message history",
        ));
    }
    let reference_channel =
        crate::ids::snowflake(&body["message_reference"]["channel_id"]).unwrap_or(channel);
    let exists = w.message_in(reference_channel, target).is_ok();
    match (
        exists,
        body["message_reference"]["fail_if_not_exists"].as_bool(),
    ) {
        (true, _) => Ok(Some(target)),
        (false, Some(false)) => Ok(None),
        (false, _) => Err(DiscordError::form(
            "message_reference",
            "REPLIES_UNKNOWN_MESSAGE",
            "Unknown message",
        )),
    }
}
