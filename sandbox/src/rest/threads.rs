//! Threads (resources/channel.mdx "Start Thread from Message", "Start Thread without Message",
//! thread-member routes; topics/threads.mdx): who may create public and private threads, the
//! creator joining, members added and removed, GUILD_MEMBERS gating the member list.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use super::body::{id, Body};
use super::channels::ARCHIVE_DURATIONS;
use crate::error::{Answer, DiscordError};
use crate::ids::{now_ms, BOT_USER};
use crate::permissions::*;
use crate::validate::Form;
use crate::world::model::{Channel, ChannelType, ThreadState, HAS_THREAD};
use crate::world::{json as wjson, Shared, World};

/// Active threads a guild may hold (160006 beyond).
const MAX_ACTIVE_THREADS: usize = 1000;
/// Members a thread may hold (30033 beyond).
const MAX_THREAD_MEMBERS: usize = 1000;

pub async fn create(
    State(s): State<Arc<Shared>>,
    Path(parent): Path<String>,
    body: Body,
) -> Answer {
    let parent = id(&parent, "channel_id")?;
    let kind = match body.json["type"].as_u64() {
        None | Some(12) => ChannelType::PrivateThread,
        Some(11) => ChannelType::PublicThread,
        Some(_) => {
            return Err(DiscordError::form(
                "type",
                "BASE_TYPE_CHOICES",
                "Value must be one of (10, 11, 12).",
            ))
        }
    };
    s.write(|w| {
        let needed = match kind {
            ChannelType::PrivateThread => CREATE_PRIVATE_THREADS,
            _ => CREATE_PUBLIC_THREADS,
        };
        let id = start(w, parent, kind, needed, &body.json, None)?;
        Ok((StatusCode::CREATED, Json(wjson::channel(w, w.channel(id)?))).into_response())
    })
}

pub async fn from_message(
    State(s): State<Arc<Shared>>,
    Path((parent, message)): Path<(String, String)>,
    body: Body,
) -> Answer {
    let (parent, message) = (id(&parent, "channel_id")?, id(&message, "message_id")?);
    s.write(|w| {
        let m = w.message_in(parent, message)?;
        if m.thread.is_some() {
            return Err(DiscordError::new(
                400,
                160004,
                "A thread has already been created for this message",
            ));
        }
        let id = start(
            w,
            parent,
            ChannelType::PublicThread,
            CREATE_PUBLIC_THREADS,
            &body.json,
            Some(message),
        )?;
        if let Some(m) = w.messages.get_mut(&message) {
            m.thread = Some(id);
            m.flags |= HAS_THREAD;
        }
        w.message_event("MESSAGE_UPDATE", message);
        Ok((StatusCode::CREATED, Json(wjson::channel(w, w.channel(id)?))).into_response())
    })
}

/// Creates a thread in `parent` after the checks: a text channel the bot sees, the create
/// permission, name and archive duration, the active-thread limit. A thread from a message
/// takes the message's id.
fn start(
    w: &mut World,
    parent: u64,
    kind: ChannelType,
    needed: u64,
    body: &Value,
    from: Option<u64>,
) -> Result<u64, DiscordError> {
    let p = w.channel(parent)?.clone();
    if !can_view(w, BOT_USER, parent) {
        return Err(DiscordError::missing_access());
    }
    if p.kind != ChannelType::Text {
        return Err(DiscordError::new(
            400,
            50024,
            "Cannot execute action on this channel type",
        ));
    }
    if effective(w, BOT_USER, parent) & needed == 0 {
        return Err(DiscordError::missing_permissions());
    }
    let mut form = Form::default();
    form.required_text("name", &body["name"], 1, 100);
    let duration = body["auto_archive_duration"].as_u64().unwrap_or(4320);
    if !ARCHIVE_DURATIONS.contains(&duration) {
        form.err(
            "auto_archive_duration",
            "BASE_TYPE_CHOICES",
            "Value must be one of (60, 1440, 4320, 10080).",
        );
    }
    form.done()?;
    let guild = p.guild.unwrap_or_default();
    let active = w
        .channels
        .values()
        .filter(|c| c.guild == Some(guild) && c.thread.as_ref().is_some_and(|t| !t.archived))
        .count();
    if active >= MAX_ACTIVE_THREADS {
        return Err(DiscordError::new(
            400,
            160006,
            "Maximum number of active threads reached",
        ));
    }
    let id = from.unwrap_or_else(|| w.next_id());
    let now = now_ms();
    let thread = ThreadState {
        owner: BOT_USER,
        members: BTreeMap::from([(BOT_USER, now)]),
        archived: false,
        locked: false,
        invitable: kind == ChannelType::PrivateThread
            && body["invitable"].as_bool().unwrap_or(true),
        auto_archive_duration: duration,
        archive_ms: now,
        created_ms: now,
        message_count: 0,
        total_sent: 0,
    };
    let name = body["name"].as_str().unwrap_or_default().to_owned();
    w.channels.insert(
        id,
        Channel {
            id,
            kind,
            name,
            guild: Some(guild),
            parent: Some(parent),
            thread: Some(thread),
            rate_limit_per_user: body["rate_limit_per_user"].as_u64().unwrap_or(0),
            ..p
        },
    );
    if let Some(ch) = w.channels.get_mut(&id) {
        ch.overwrites.clear();
        ch.last_message_id = None;
    }
    w.channel_event("THREAD_CREATE", id, json!({ "newly_created": true }));
    w.thread_members_update(id, &[BOT_USER], &[]);
    Ok(id)
}

fn thread_of(w: &World, channel: u64) -> Result<&ThreadState, DiscordError> {
    let ch = w.channel(channel)?;
    if !can_view(w, BOT_USER, channel) {
        return Err(DiscordError::missing_access());
    }
    ch.thread
        .as_ref()
        .ok_or_else(|| DiscordError::new(400, 50024, "Cannot execute action on this channel type"))
}

fn member_id(segment: &str) -> Result<u64, DiscordError> {
    if segment == "@me" {
        return Ok(BOT_USER);
    }
    id(segment, "user_id")
}

pub async fn add_member(
    State(s): State<Arc<Shared>>,
    Path((thread, user)): Path<(String, String)>,
) -> Answer {
    let thread = id(&thread, "channel_id")?;
    let user = member_id(&user)?;
    s.write(|w| {
        let t = thread_of(w, thread)?.clone();
        let guild = w.channel(thread)?.guild.unwrap_or_default();
        let perms = effective(w, BOT_USER, thread);
        if t.archived {
            return Err(DiscordError::new(400, 50083, "Thread is archived"));
        }
        if perms & SEND_MESSAGES_IN_THREADS == 0 {
            return Err(DiscordError::missing_permissions());
        }
        let private = w.channel(thread)?.kind == ChannelType::PrivateThread;
        if private && !t.invitable && perms & MANAGE_THREADS == 0 && user != BOT_USER {
            return Err(DiscordError::missing_permissions());
        }
        w.user(user)?;
        if !w.is_member(guild, user) {
            return Err(DiscordError::unknown_member());
        }
        if t.members.contains_key(&user) {
            return Ok(StatusCode::NO_CONTENT.into_response());
        }
        if t.members.len() >= MAX_THREAD_MEMBERS {
            return Err(DiscordError::new(
                400,
                30033,
                "Maximum number of thread participants has been reached (1000)",
            ));
        }
        add_to_thread(w, thread, user);
        Ok(StatusCode::NO_CONTENT.into_response())
    })
}

/// Adds a member and fires THREAD_MEMBERS_UPDATE (and THREAD_CREATE when the bot joins).
pub fn add_to_thread(w: &mut World, thread: u64, user: u64) {
    if let Some(t) = w.channels.get_mut(&thread).and_then(|c| c.thread.as_mut()) {
        t.members.insert(user, now_ms());
    }
    if user == BOT_USER {
        w.channel_event("THREAD_CREATE", thread, json!({}));
    }
    w.thread_members_update(thread, &[user], &[]);
}

pub async fn remove_member(
    State(s): State<Arc<Shared>>,
    Path((thread, user)): Path<(String, String)>,
) -> Answer {
    let thread = id(&thread, "channel_id")?;
    let user = member_id(&user)?;
    s.write(|w| {
        let t = thread_of(w, thread)?.clone();
        if t.archived {
            return Err(DiscordError::new(400, 50083, "Thread is archived"));
        }
        let private = w.channel(thread)?.kind == ChannelType::PrivateThread;
        let moderator = effective(w, BOT_USER, thread) & MANAGE_THREADS != 0;
        let allowed = user == BOT_USER || moderator || (private && t.owner == BOT_USER);
        if !allowed {
            return Err(DiscordError::missing_permissions());
        }
        if !t.members.contains_key(&user) {
            return Err(DiscordError::unknown_member());
        }
        if let Some(t) = w.channels.get_mut(&thread).and_then(|c| c.thread.as_mut()) {
            t.members.remove(&user);
        }
        w.thread_members_update(thread, &[], &[user]);
        Ok(StatusCode::NO_CONTENT.into_response())
    })
}

pub async fn get_member(
    State(s): State<Arc<Shared>>,
    Path((thread, user)): Path<(String, String)>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Answer {
    let thread = id(&thread, "channel_id")?;
    let user = member_id(&user)?;
    s.read(|w| {
        let t = thread_of(w, thread)?;
        let joined = t
            .members
            .get(&user)
            .ok_or_else(DiscordError::unknown_member)?;
        let mut v = wjson::thread_member(thread, user, *joined);
        if q.get("with_member").map(String::as_str) == Some("true") {
            let guild = w.channel(thread)?.guild.unwrap_or_default();
            v["member"] = wjson::member(w, guild, user, true);
        }
        Ok(Json(v).into_response())
    })
}

/// Listing a thread's members needs the GUILD_MEMBERS intent switched on in the portal
/// (resources/channel.mdx "List Thread Members").
pub async fn list_members(State(s): State<Arc<Shared>>, Path(thread): Path<String>) -> Answer {
    let thread = id(&thread, "channel_id")?;
    s.read(|w| {
        let t = thread_of(w, thread)?;
        if !w.opts.guild_members_intent {
            return Err(DiscordError::missing_access());
        }
        let list: Vec<Value> = t
            .members
            .iter()
            .map(|(u, j)| wjson::thread_member(thread, *u, *j))
            .collect();
        Ok(Json(Value::Array(list)).into_response())
    })
}
