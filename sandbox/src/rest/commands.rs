//! Application commands (interactions/application-commands.mdx "Endpoints"): global and guild
//! lists, bulk overwrite, create (an upsert by name), get, edit, delete; each checked as the docs
//! say, kept as registered for tests to read.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use super::body::{id, Body};
use crate::error::{Answer, DiscordError};
use crate::ids::{snowflake, APPLICATION, BOT_USER};
use crate::validate::commands::{check_all, check_command};
use crate::validate::Form;
use crate::world::{Shared, World};

fn scope(w: &World, app: &str, guild: Option<&str>) -> Result<Option<u64>, DiscordError> {
    if id(app, "application_id")? != APPLICATION {
        return Err(DiscordError::new(
            403,
            20012,
            "You are not authorized to perform this action on this application",
        ));
    }
    let Some(guild) = guild else {
        return Ok(None);
    };
    let guild = id(guild, "guild_id")?;
    if !w.is_member(guild, BOT_USER) {
        return Err(DiscordError::missing_access());
    }
    Ok(Some(guild))
}

/// A command as Discord stores it: ids, version, defaults filled in.
fn stored(w: &World, c: &Value, scope: Option<u64>, existing: Option<&Value>) -> Value {
    let mut c = c.clone();
    let id = existing
        .and_then(|e| snowflake(&e["id"]))
        .unwrap_or_else(|| w.next_id());
    c["id"] = json!(id.to_string());
    c["application_id"] = json!(APPLICATION.to_string());
    c["version"] = json!(w.next_id().to_string());
    let kind = c["type"].as_u64().unwrap_or(1);
    c["type"] = json!(kind);
    if c["description"].is_null() {
        c["description"] = json!("");
    }
    if c.get("default_member_permissions").is_none() {
        c["default_member_permissions"] = Value::Null;
    }
    if c["nsfw"].is_null() {
        c["nsfw"] = json!(false);
    }
    match scope {
        Some(g) => c["guild_id"] = json!(g.to_string()),
        None => {
            if c["contexts"].is_null() {
                c["contexts"] = Value::Null;
            }
            if c["integration_types"].is_null() {
                c["integration_types"] = json!([0]);
            }
        }
    }
    c
}

fn same(a: &Value, b: &Value) -> bool {
    a["name"] == b["name"] && a["type"].as_u64().unwrap_or(1) == b["type"].as_u64().unwrap_or(1)
}

pub async fn list(State(s): State<Arc<Shared>>, Path(p): Path<Vec<(String, String)>>) -> Answer {
    s.read(|w| {
        let scope = scope(w, &p[0].1, p.get(1).map(|g| g.1.as_str()))?;
        let list = w.commands.get(&scope).cloned().unwrap_or_default();
        Ok(Json(Value::Array(list)).into_response())
    })
}

pub async fn overwrite(
    State(s): State<Arc<Shared>>,
    Path(p): Path<Vec<(String, String)>>,
    body: Body,
) -> Answer {
    let Some(list) = body.json.as_array() else {
        return Err(DiscordError::form(
            "",
            "BASE_TYPE_ARRAY",
            "Could not interpret value as an array.",
        ));
    };
    s.write(|w| {
        let scope = scope(w, &p[0].1, p.get(1).map(|g| g.1.as_str()))?;
        let mut form = Form::default();
        check_all(&mut form, list);
        form.done()?;
        let old = w.commands.get(&scope).cloned().unwrap_or_default();
        let new: Vec<Value> = list
            .iter()
            .map(|c| stored(w, c, scope, old.iter().find(|o| same(o, c))))
            .collect();
        w.commands.insert(scope, new.clone());
        Ok(Json(Value::Array(new)).into_response())
    })
}

pub async fn create(
    State(s): State<Arc<Shared>>,
    Path(p): Path<Vec<(String, String)>>,
    body: Body,
) -> Answer {
    s.write(|w| {
        let scope = scope(w, &p[0].1, p.get(1).map(|g| g.1.as_str()))?;
        let mut form = Form::default();
        check_command(&mut form, "", &body.json);
        form.done()?;
        let list = w.commands.entry(scope).or_default().clone();
        let at = list.iter().position(|o| same(o, &body.json));
        let c = stored(w, &body.json, scope, at.map(|i| &list[i]));
        let list = w.commands.entry(scope).or_default();
        let status = match at {
            Some(i) => {
                list[i] = c.clone();
                StatusCode::OK
            }
            None => {
                list.push(c.clone());
                StatusCode::CREATED
            }
        };
        Ok((status, Json(c)).into_response())
    })
}

/// `p` ends with the command id; the guild, if any, comes before it.
fn one_of(p: &[(String, String)]) -> (String, Option<String>, String) {
    let app = p[0].1.clone();
    let command = p[p.len() - 1].1.clone();
    let guild = (p.len() == 3).then(|| p[1].1.clone());
    (app, guild, command)
}

pub async fn get(State(s): State<Arc<Shared>>, Path(p): Path<Vec<(String, String)>>) -> Answer {
    let (app, guild, command) = one_of(&p);
    s.read(|w| {
        let scope = scope(w, &app, guild.as_deref())?;
        let list = w.commands.get(&scope).cloned().unwrap_or_default();
        let c = list
            .iter()
            .find(|c| c["id"] == json!(command))
            .ok_or_else(DiscordError::unknown_command)?;
        Ok(Json(c.clone()).into_response())
    })
}

pub async fn edit(
    State(s): State<Arc<Shared>>,
    Path(p): Path<Vec<(String, String)>>,
    body: Body,
) -> Answer {
    let (app, guild, command) = one_of(&p);
    s.write(|w| {
        let scope = scope(w, &app, guild.as_deref())?;
        let list = w.commands.get(&scope).cloned().unwrap_or_default();
        let i = list
            .iter()
            .position(|c| c["id"] == json!(command))
            .ok_or_else(DiscordError::unknown_command)?;
        let mut merged = list[i].clone();
        if let (Some(o), Some(changes)) = (merged.as_object_mut(), body.json.as_object()) {
            o.extend(changes.clone());
        }
        let mut form = Form::default();
        check_command(&mut form, "", &merged);
        form.done()?;
        let c = stored(w, &merged, scope, Some(&list[i]));
        w.commands.entry(scope).or_default()[i] = c.clone();
        Ok(Json(c).into_response())
    })
}

pub async fn delete(State(s): State<Arc<Shared>>, Path(p): Path<Vec<(String, String)>>) -> Answer {
    let (app, guild, command) = one_of(&p);
    s.write(|w| {
        let scope = scope(w, &app, guild.as_deref())?;
        let list = w.commands.entry(scope).or_default();
        let before = list.len();
        list.retain(|c| c["id"] != json!(command));
        if list.len() == before {
            return Err(DiscordError::unknown_command());
        }
        Ok(StatusCode::NO_CONTENT.into_response())
    })
}
