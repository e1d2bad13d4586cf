//! Reading, editing and deleting messages (resources/message.mdx "Get Channel Messages",
//! "Get Channel Message", "Edit Message", "Delete Message", "Bulk Delete Messages").

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use super::body::{id, Body};
use super::compose::{check_file_sizes, fill};
use crate::error::{Answer, DiscordError};
use crate::ids::{now_ms, snowflake, snowflake_ms, BOT_USER};
use crate::permissions::*;
use crate::validate::message::{check, Context};
use crate::validate::Form;
use crate::world::dispatch::GUILD_MESSAGES;
use crate::world::model::{ChannelType, Message};
use crate::world::{json as wjson, Shared, World};

/// A message as REST hands it to the bot: guarded fields empty without the portal's
/// MESSAGE_CONTENT switch (events/gateway.mdx "HTTP Restrictions").
pub fn rest_json(w: &World, m: &Message) -> Value {
    let blank = !wjson::content_exempt(m) && !w.opts.message_content_intent;
    wjson::message(w, m, blank)
}

fn visible(w: &World, channel: u64) -> Result<u64, DiscordError> {
    w.channel(channel)?;
    let perms = effective(w, BOT_USER, channel);
    if perms & VIEW_CHANNEL == 0 {
        return Err(DiscordError::missing_access());
    }
    Ok(perms)
}

pub async fn list(
    State(s): State<Arc<Shared>>,
    Path(channel): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Answer {
    let channel = id(&channel, "channel_id")?;
    s.read(|w| {
        let perms = visible(w, channel)?;
        let (anchor, limit) = page(&q)?;
        if perms & READ_MESSAGE_HISTORY == 0 {
            return Ok(Json(json!([])).into_response());
        }
        let ids = select(w, channel, anchor, limit);
        let list: Vec<Value> = ids.iter().map(|i| rest_json(w, &w.messages[i])).collect();
        Ok(Json(Value::Array(list)).into_response())
    })
}

enum Anchor {
    Latest,
    Before(u64),
    After(u64),
    Around(u64),
}

fn page(q: &HashMap<String, String>) -> Result<(Anchor, usize), DiscordError> {
    let limit = match q.get("limit") {
        None => 50,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => n,
            _ => {
                return Err(DiscordError::form(
                    "limit",
                    "NUMBER_TYPE_MAX",
                    "int value should be between 1 and 100.",
                ))
            }
        },
    };
    let given: Vec<(&str, &String)> = ["before", "after", "around"]
        .iter()
        .filter_map(|k| q.get(*k).map(|v| (*k, v)))
        .collect();
    if given.len() > 1 {
        return Err(DiscordError::form(
            "",
            "QUERY_MUTUALLY_EXCLUSIVE",
            "before, after and around are mutually exclusive.",
        ));
    }
    let anchor = match given.first() {
        None => Anchor::Latest,
        Some((key, v)) => {
            let at = id(v, key)?;
            match *key {
                "before" => Anchor::Before(at),
                "after" => Anchor::After(at),
                _ => Anchor::Around(at),
            }
        }
    };
    Ok((anchor, limit))
}

/// The page of message ids, newest first.
fn select(w: &World, channel: u64, anchor: Anchor, limit: usize) -> Vec<u64> {
    let all: Vec<u64> = w
        .messages
        .values()
        .filter(|m| m.channel_id == channel && !m.deleted && !m.ephemeral())
        .map(|m| m.id)
        .collect();
    let mut page: Vec<u64> = match anchor {
        Anchor::Latest => all.iter().rev().take(limit).copied().collect(),
        Anchor::Before(b) => all
            .iter()
            .rev()
            .filter(|i| **i < b)
            .take(limit)
            .copied()
            .collect(),
        Anchor::After(a) => all
            .iter()
            .filter(|i| **i > a)
            .take(limit)
            .copied()
            .collect(),
        Anchor::Around(a) => {
            let older: Vec<u64> = all
                .iter()
                .rev()
                .filter(|i| **i < a)
                .take(limit / 2)
                .copied()
                .collect();
            let newer = all.iter().filter(|i| **i >= a).take(limit - older.len());
            older.into_iter().chain(newer.copied()).collect()
        }
    };
    page.sort_unstable_by(|a, b| b.cmp(a));
    page
}

pub async fn get(
    State(s): State<Arc<Shared>>,
    Path((channel, message)): Path<(String, String)>,
) -> Answer {
    let (channel, message) = (id(&channel, "channel_id")?, id(&message, "message_id")?);
    s.read(|w| {
        let perms = visible(w, channel)?;
        if w.channel(channel)?.guild.is_some() && perms & READ_MESSAGE_HISTORY == 0 {
            return Err(DiscordError::missing_access());
        }
        let m = w.message_in(channel, message)?;
        if m.ephemeral() {
            return Err(DiscordError::unknown_message());
        }
        Ok(Json(rest_json(w, m)).into_response())
    })
}

pub async fn edit(
    State(s): State<Arc<Shared>>,
    Path((channel, message)): Path<(String, String)>,
    body: Body,
) -> Answer {
    let (channel, message) = (id(&channel, "channel_id")?, id(&message, "message_id")?);
    s.write(|w| edit_in(w, channel, message, &body))
}

fn edit_in(w: &mut World, channel: u64, message: u64, body: &Body) -> Answer {
    let perms = visible(w, channel)?;
    let author = w.message_in(channel, message)?.author_id;
    if let Some(t) = &w.channel(channel)?.thread {
        if t.archived {
            return Err(DiscordError::new(400, 50083, "Thread is archived"));
        }
        if t.locked && perms & MANAGE_THREADS == 0 {
            return Err(DiscordError::new(403, 160005, "Thread is locked"));
        }
    }
    let keys = ["content", "embeds", "components", "attachments"];
    let changes_content =
        keys.iter().any(|k| body.json.get(*k).is_some()) || !body.files.is_empty();
    if author != BOT_USER && changes_content {
        return Err(DiscordError::new(
            403,
            50005,
            "Cannot edit a message authored by another user",
        ));
    }
    if author != BOT_USER && perms & MANAGE_MESSAGES == 0 {
        return Err(DiscordError::missing_permissions());
    }
    let mut form = Form::default();
    check(&mut form, &body.json, body.files.len(), Context::Edit);
    form.done()?;
    check_file_sizes(w, body)?;
    let mut m = w.messages[&message].clone();
    let from_webhook = m.webhook_id.is_some();
    fill(w, &mut m, body, from_webhook);
    m.edited_ms = Some(now_ms());
    w.messages.insert(message, m);
    w.message_event("MESSAGE_UPDATE", message);
    Ok(Json(rest_json(w, &w.messages[&message])).into_response())
}

/// Types that cannot be deleted (resources/message.mdx "Message Types").
fn undeletable(kind: u8) -> bool {
    matches!(kind, 1..=5 | 21)
}

pub async fn delete(
    State(s): State<Arc<Shared>>,
    Path((channel, message)): Path<(String, String)>,
) -> Answer {
    let (channel, message) = (id(&channel, "channel_id")?, id(&message, "message_id")?);
    s.write(|w| {
        let perms = visible(w, channel)?;
        let m = w.message_in(channel, message)?;
        if undeletable(m.kind) {
            return Err(DiscordError::new(
                400,
                50021,
                "Cannot execute action on a system message",
            ));
        }
        if m.author_id != BOT_USER {
            if w.channel(channel)?.kind == ChannelType::Dm {
                return Err(DiscordError::new(
                    403,
                    50003,
                    "Cannot execute action on a DM channel",
                ));
            }
            if perms & MANAGE_MESSAGES == 0 {
                return Err(DiscordError::missing_permissions());
            }
        }
        remove(w, message);
        Ok(StatusCode::NO_CONTENT.into_response())
    })
}

/// Marks a message deleted and says so on the gateway.
pub fn remove(w: &mut World, message: u64) {
    let Some(m) = w.messages.get_mut(&message) else {
        return;
    };
    m.deleted = true;
    let (channel, guild) = (m.channel_id, m.guild_id);
    if let Some(t) = w.channels.get_mut(&channel).and_then(|c| c.thread.as_mut()) {
        t.message_count = t.message_count.saturating_sub(1);
    }
    let visible = can_view(w, BOT_USER, channel);
    w.message_deleted(message, channel, guild, visible);
}

pub async fn bulk_delete(
    State(s): State<Arc<Shared>>,
    Path(channel): Path<String>,
    body: Body,
) -> Answer {
    let channel = id(&channel, "channel_id")?;
    s.write(|w| {
        let perms = visible(w, channel)?;
        let guild = w.channel(channel)?.guild;
        if guild.is_none() {
            return Err(DiscordError::new(
                403,
                50003,
                "Cannot execute action on a DM channel",
            ));
        }
        if perms & MANAGE_MESSAGES == 0 {
            return Err(DiscordError::missing_permissions());
        }
        let ids = bulk_ids(&body.json)?;
        let two_weeks = 14 * 24 * 3600 * 1000;
        if ids
            .iter()
            .any(|i| now_ms().saturating_sub(snowflake_ms(*i)) > two_weeks)
        {
            return Err(DiscordError::new(
                400,
                50034,
                "A message provided was too old to bulk delete",
            ));
        }
        let mut gone = Vec::new();
        for i in ids {
            if let Some(m) = w
                .messages
                .get_mut(&i)
                .filter(|m| m.channel_id == channel && !m.deleted)
            {
                m.deleted = true;
                gone.push(i.to_string());
            }
        }
        let data = json!({ "ids": gone, "channel_id": channel.to_string(),
            "guild_id": guild.map(|g| g.to_string()) });
        w.simple_event("MESSAGE_DELETE_BULK", guild, GUILD_MESSAGES, data);
        Ok(StatusCode::NO_CONTENT.into_response())
    })
}

fn bulk_ids(body: &Value) -> Result<Vec<u64>, DiscordError> {
    let list = body["messages"].as_array().cloned().unwrap_or_default();
    if !(2..=100).contains(&list.len()) {
        return Err(DiscordError::form(
            "messages",
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 2 and 100 in length.",
        ));
    }
    let ids: Vec<u64> = list.iter().filter_map(snowflake).collect();
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    if ids.len() != list.len() || unique.len() != ids.len() {
        return Err(DiscordError::form(
            "messages",
            "BULK_DELETE_DUPLICATE_IDS",
            "Message ids must be unique snowflakes.",
        ));
    }
    Ok(ids)
}
