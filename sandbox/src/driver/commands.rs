//! Which slash commands the Discord client offers a person (registered in scope, allowed by
//! `default_member_permissions` and USE_APPLICATION_COMMANDS), and the option values it lets
//! through (required options, choices, types, ranges).

use serde_json::{json, Value};

use super::not_offered;
use crate::error::DiscordError;
use crate::permissions::{self, ADMINISTRATOR, USE_APPLICATION_COMMANDS};
use crate::world::World;

/// The registered command the client would offer `user` in `channel`.
pub(super) fn offered_command(
    w: &World,
    user: u64,
    channel: u64,
    name: &str,
) -> Result<Value, DiscordError> {
    let guild = w.channel(channel)?.guild;
    let find = |scope: Option<u64>| {
        w.commands.get(&scope).and_then(|list| {
            list.iter()
                .find(|c| c["name"] == json!(name) && c["type"].as_u64().unwrap_or(1) == 1)
                .cloned()
        })
    };
    let context = if guild.is_some() { 0 } else { 1 };
    let global = find(None).filter(|c| match c["contexts"].as_array() {
        Some(list) => list.iter().any(|x| x.as_u64() == Some(context)),
        None => context == 0 || c["dm_permission"].as_bool() != Some(false),
    });
    let def = guild
        .and_then(|g| find(Some(g)))
        .or(global)
        .ok_or_else(|| not_offered("no such command here"))?;
    let Some(g) = guild else {
        return Ok(def);
    };
    let perms = permissions::explicit(w, user, channel);
    if perms & USE_APPLICATION_COMMANDS == 0 {
        return Err(not_offered(
            "the person may not use application commands here",
        ));
    }
    let admin = perms & ADMINISTRATOR != 0 || w.guilds.get(&g).is_some_and(|x| x.owner == user);
    let needed = def["default_member_permissions"]
        .as_str()
        .and_then(|p| p.parse::<u64>().ok());
    match needed {
        Some(0) if !admin => Err(not_offered(
            "default_member_permissions \"0\" hides the command from all but admins",
        )),
        Some(bits) if !admin && perms & bits != bits => Err(not_offered(
            "default_member_permissions hides the command from this person",
        )),
        _ => Ok(def),
    }
}

/// The options an invocation carries, checked as the client checks them.
pub(super) fn command_options(
    def: &Value,
    given: &Value,
    partial: bool,
) -> Result<Vec<Value>, DiscordError> {
    let defs = def["options"].as_array().cloned().unwrap_or_default();
    let list = match given {
        Value::Array(list) => list.clone(),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| {
                let kind = defs
                    .iter()
                    .find(|d| d["name"] == json!(k))
                    .map_or(3, |d| d["type"].as_u64().unwrap_or(3));
                json!({ "name": k, "type": kind, "value": v })
            })
            .collect(),
        Value::Null => Vec::new(),
        _ => return Err(not_offered("options are an object or an array")),
    };
    for o in &list {
        let d = defs
            .iter()
            .find(|d| d["name"] == o["name"])
            .ok_or_else(|| not_offered("the command has no such option"))?;
        if matches!(d["type"].as_u64(), Some(1 | 2)) {
            continue;
        }
        if partial {
            continue;
        }
        let choices = d["choices"].as_array().cloned().unwrap_or_default();
        if !choices.is_empty() && !choices.iter().any(|c| c["value"] == o["value"]) {
            return Err(not_offered("the value is not one of the option's choices"));
        }
        if !value_fits(d, &o["value"]) {
            return Err(not_offered("the value does not fit the option"));
        }
    }
    let has_subcommands = defs
        .iter()
        .any(|d| matches!(d["type"].as_u64(), Some(1 | 2)));
    if !partial && !has_subcommands {
        for d in defs
            .iter()
            .filter(|d| d["required"].as_bool() == Some(true))
        {
            if !list.iter().any(|o| o["name"] == d["name"]) {
                return Err(not_offered("a required option is missing"));
            }
        }
    }
    Ok(list)
}

fn value_fits(d: &Value, v: &Value) -> bool {
    match d["type"].as_u64() {
        Some(3) => v.as_str().is_some_and(|s| {
            let n = s.chars().count() as u64;
            n >= d["min_length"].as_u64().unwrap_or(0)
                && n <= d["max_length"].as_u64().unwrap_or(6000)
        }),
        Some(4) => v.as_i64().is_some_and(|n| in_range(d, n as f64)),
        Some(10) => v.as_f64().is_some_and(|n| in_range(d, n)),
        Some(5) => v.is_boolean(),
        _ => v.as_str().is_some_and(|s| s.parse::<u64>().is_ok()),
    }
}

fn in_range(d: &Value, n: f64) -> bool {
    d["min_value"].as_f64().is_none_or(|m| n >= m) && d["max_value"].as_f64().is_none_or(|m| n <= m)
}
