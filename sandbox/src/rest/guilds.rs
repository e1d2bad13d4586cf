//! Guilds (resources/guild.mdx "Get Guild", "Get Guild Roles", "Get Guild Channels", "Get Guild
//! Member", "List Guild Members", "List Active Guild Threads").

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use super::body::id;
use crate::error::{Answer, DiscordError};
use crate::ids::BOT_USER;
use crate::permissions::can_view;
use crate::world::model::Guild;
use crate::world::{json as wjson, Shared, World};

/// A guild the bot is in.
fn bots_guild(w: &World, guild: &str) -> Result<Guild, DiscordError> {
    let guild = id(guild, "guild_id")?;
    let g = w.guild(guild)?;
    if !g.members.contains_key(&BOT_USER) {
        return Err(DiscordError::missing_access());
    }
    Ok(g.clone())
}

pub async fn get(
    State(s): State<Arc<Shared>>,
    Path(guild): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Answer {
    s.read(|w| {
        let g = bots_guild(w, &guild)?;
        let counts = q.get("with_counts").map(String::as_str) == Some("true");
        Ok(Json(wjson::guild(&g, counts)).into_response())
    })
}

pub async fn roles(State(s): State<Arc<Shared>>, Path(guild): Path<String>) -> Answer {
    s.read(|w| {
        let g = bots_guild(w, &guild)?;
        let list: Vec<Value> = g.roles.values().map(wjson::role).collect();
        Ok(Json(Value::Array(list)).into_response())
    })
}

/// Every channel of the guild, threads excepted.
pub async fn channels(State(s): State<Arc<Shared>>, Path(guild): Path<String>) -> Answer {
    s.read(|w| {
        let g = bots_guild(w, &guild)?;
        let list: Vec<Value> = w
            .channels
            .values()
            .filter(|c| c.guild == Some(g.id) && !c.kind.is_thread())
            .map(|c| wjson::channel(w, c))
            .collect();
        Ok(Json(Value::Array(list)).into_response())
    })
}

/// One member: needs no privileged intent.
pub async fn member(
    State(s): State<Arc<Shared>>,
    Path((guild, user)): Path<(String, String)>,
) -> Answer {
    s.read(|w| {
        let g = bots_guild(w, &guild)?;
        let user = id(&user, "user_id")?;
        w.user(user)?;
        if !g.members.contains_key(&user) {
            return Err(DiscordError::unknown_member());
        }
        Ok(Json(wjson::member(w, g.id, user, true)).into_response())
    })
}

/// The member list: needs GUILD_MEMBERS switched on in the portal.
pub async fn members(
    State(s): State<Arc<Shared>>,
    Path(guild): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Answer {
    s.read(|w| {
        let g = bots_guild(w, &guild)?;
        if !w.opts.guild_members_intent {
            return Err(DiscordError::missing_access());
        }
        let limit = q
            .get("limit")
            .and_then(|l| l.parse().ok())
            .unwrap_or(1usize);
        if !(1..=1000).contains(&limit) {
            return Err(DiscordError::form(
                "limit",
                "NUMBER_TYPE_MAX",
                "int value should be between 1 and 1000.",
            ));
        }
        let after = q.get("after").and_then(|a| a.parse().ok()).unwrap_or(0u64);
        let list: Vec<Value> = g
            .members
            .keys()
            .filter(|u| **u > after)
            .take(limit)
            .map(|u| wjson::member(w, g.id, *u, true))
            .collect();
        Ok(Json(Value::Array(list)).into_response())
    })
}

/// Active threads the bot can see, newest first, with its own thread members.
pub async fn active_threads(State(s): State<Arc<Shared>>, Path(guild): Path<String>) -> Answer {
    s.read(|w| {
        let g = bots_guild(w, &guild)?;
        let mut threads: Vec<_> = w
            .channels
            .values()
            .filter(|c| c.guild == Some(g.id) && c.thread.as_ref().is_some_and(|t| !t.archived))
            .filter(|c| can_view(w, BOT_USER, c.id))
            .collect();
        threads.sort_by_key(|c| std::cmp::Reverse(c.id));
        let members: Vec<Value> = threads
            .iter()
            .filter_map(|c| {
                let joined = c.thread.as_ref()?.members.get(&BOT_USER)?;
                Some(wjson::thread_member(c.id, BOT_USER, *joined))
            })
            .collect();
        let list: Vec<Value> = threads.iter().map(|c| wjson::channel(w, c)).collect();
        Ok(Json(json!({ "threads": list, "members": members })).into_response())
    })
}
