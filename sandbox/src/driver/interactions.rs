//! Acting as people through interactions: clicking buttons, choosing in selects, running slash
//! commands (as the client offers them: registered, allowed by `default_member_permissions`),
//! autocomplete, submitting a modal the bot showed. Each sends INTERACTION_CREATE carrying what
//! interactions/receiving-and-responding.mdx "Interaction Structure" lists.

use std::time::Instant;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{not_offered, Sandbox};
use crate::error::DiscordError;
use crate::ids::{now_ms, APPLICATION, BOT_USER};
use crate::permissions;
use crate::validate::components::modal_inputs;
use crate::world::model::ChannelType;
use crate::world::records::Interaction;
use crate::world::{json as wjson, World};

const COMMAND: u8 = 2;
const COMPONENT: u8 = 3;
const AUTOCOMPLETE: u8 = 4;
const MODAL_SUBMIT: u8 = 5;

/// The interaction payload for the gateway.
fn payload(w: &World, ix: &Interaction, data: &Value) -> Value {
    let ch = w.channels.get(&ix.channel);
    let app_permissions = match ch.map(|c| c.kind) {
        Some(ChannelType::Dm) => permissions::dm_permissions(true),
        _ => permissions::explicit(w, BOT_USER, ix.channel),
    };
    let locale = w
        .users
        .get(&ix.user)
        .map_or("en-US".to_owned(), |u| u.locale.clone());
    let mut v = json!({
        "id": ix.id.to_string(), "application_id": APPLICATION.to_string(), "type": ix.kind,
        "data": data, "token": ix.token, "version": 1, "channel_id": ix.channel.to_string(),
        "locale": locale, "entitlements": [], "app_permissions": app_permissions.to_string(),
        "attachment_size_limit": w.opts.upload_limit,
        "authorizing_integration_owners": { "0": ix.guild.unwrap_or(0).to_string() },
        "context": if ix.guild.is_some() { 0 } else { 1 },
    });
    if let Some(c) = ch {
        let mut partial = json!({ "id": c.id.to_string(), "type": c.kind as u8, "name": c.name,
            "flags": 0, "nsfw": false, "last_message_id": c.last_message_id.map(|m| m.to_string()) });
        if let Some(g) = c.guild {
            partial["guild_id"] = json!(g.to_string());
            partial["parent_id"] = json!(c.parent.map(|p| p.to_string()));
            partial["permissions"] = json!(permissions::explicit(w, ix.user, c.id).to_string());
        }
        v["channel"] = partial;
    }
    match ix.guild {
        Some(g) => {
            v["guild_id"] = json!(g.to_string());
            v["guild"] = json!({ "id": g.to_string(), "locale": "en-US", "features": [] });
            v["guild_locale"] = json!("en-US");
            let mut member = wjson::member(w, g, ix.user, true);
            member["permissions"] =
                json!(permissions::explicit(w, ix.user, ix.channel).to_string());
            v["member"] = member;
        }
        None => v["user"] = wjson::user(w, ix.user),
    }
    if let Some(m) = ix.message.and_then(|m| w.messages.get(&m)) {
        v["message"] = wjson::message(w, m, false);
    }
    v
}

/// Starts an interaction and sends INTERACTION_CREATE (no intent needed).
fn start(
    w: &mut World,
    user: u64,
    channel: u64,
    kind: u8,
    data: Value,
    message: Option<u64>,
    command: Option<String>,
) -> Result<u64, DiscordError> {
    let ch = w.channel(channel)?;
    let guild = ch.guild;
    if !permissions::can_view(w, user, channel) {
        return Err(DiscordError::missing_access());
    }
    let id = w.next_id();
    let digest = Sha256::digest(format!("{}{id}{}", w.secret, now_ms()).as_bytes());
    let token: String = format!(
        "aW50ZXJhY3Rpb246{id}:{}",
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let ix = Interaction {
        id,
        token: token.clone(),
        kind,
        user,
        channel,
        guild,
        created: Instant::now(),
        message,
        command,
        response: None,
        original: None,
        followups: Vec::new(),
        answers: Vec::new(),
        modal: None,
    };
    let event = payload(w, &ix, &data);
    w.interactions.insert(id, ix);
    w.tokens.insert(token, id);
    w.simple_event("INTERACTION_CREATE", guild, 0, event);
    Ok(id)
}

/// The component with `custom_id` on a message, searched through rows, sections, containers.
fn find_component(components: &[Value], custom_id: &str) -> Option<Value> {
    for c in components {
        if c["custom_id"].as_str() == Some(custom_id) {
            return Some(c.clone());
        }
        for key in ["components", "accessory", "component"] {
            let children = match &c[key] {
                Value::Array(list) => list.clone(),
                Value::Null => continue,
                one => vec![one.clone()],
            };
            if let Some(found) = find_component(&children, custom_id) {
                return Some(found);
            }
        }
    }
    None
}

/// The message and component a person uses, if they can see it.
fn component_of(
    w: &World,
    user: u64,
    message: u64,
    custom_id: &str,
) -> Result<(u64, Value), DiscordError> {
    let m = w
        .messages
        .get(&message)
        .filter(|m| !m.deleted)
        .ok_or_else(DiscordError::unknown_message)?;
    if m.ephemeral() && m.interaction.as_ref().is_some_and(|i| i.2 != user) {
        return Err(not_offered(
            "an ephemeral message shows only to the person it answered",
        ));
    }
    let c = find_component(&m.components, custom_id)
        .ok_or_else(|| not_offered("the message has no component with that custom_id"))?;
    if c["disabled"].as_bool() == Some(true) {
        return Err(not_offered("the component is disabled"));
    }
    Ok((m.channel_id, c))
}

use super::commands::{command_options, offered_command};

impl Sandbox {
    /// Someone clicks a button on `message`. Returns the interaction id.
    pub fn click(&self, user: u64, message: u64, custom_id: &str) -> Result<u64, DiscordError> {
        self.write(|w| {
            let (channel, c) = component_of(w, user, message, custom_id)?;
            if c["type"].as_u64() != Some(2) || c["style"].as_u64().is_some_and(|s| s >= 5) {
                return Err(not_offered("only non-link buttons send interactions"));
            }
            let data = json!({ "custom_id": custom_id, "component_type": 2, "id": c["id"] });
            start(w, user, channel, COMPONENT, data, Some(message), None)
        })
    }

    /// Someone picks `values` in a select menu on `message`.
    pub fn select(
        &self,
        user: u64,
        message: u64,
        custom_id: &str,
        values: &[&str],
    ) -> Result<u64, DiscordError> {
        self.write(|w| {
            let (channel, c) = component_of(w, user, message, custom_id)?;
            let kind = c["type"].as_u64().unwrap_or(0);
            if !matches!(kind, 3 | 5 | 6 | 7 | 8) {
                return Err(not_offered("the component is not a select menu"));
            }
            let (min, max) = (c["min_values"].as_u64().unwrap_or(1), c["max_values"].as_u64().unwrap_or(1));
            if (values.len() as u64) < min || values.len() as u64 > max {
                return Err(not_offered("the select takes a different number of values"));
            }
            if kind == 3 {
                let offered: Vec<&str> = c["options"].as_array().into_iter().flatten().filter_map(|o| o["value"].as_str()).collect();
                if values.iter().any(|v| !offered.contains(v)) {
                    return Err(not_offered("the select does not offer that value"));
                }
            }
            let mut data = json!({ "custom_id": custom_id, "component_type": kind, "values": values, "id": c["id"] });
            if matches!(kind, 5 | 7) {
                data["resolved"] = resolved_users(w, channel, values);
            }
            start(w, user, channel, COMPONENT, data, Some(message), None)
        })
    }

    /// Someone runs slash command `name` with `options`: an object of option names to values,
    /// or the interaction's `options` array as is.
    pub fn command(
        &self,
        user: u64,
        channel: u64,
        name: &str,
        options: Value,
    ) -> Result<u64, DiscordError> {
        self.invoke(user, channel, name, options, COMMAND)
    }

    /// Someone types in an autocomplete option: `options` as for [`Sandbox::command`], as an
    /// array with `"focused": true` on the option being typed.
    pub fn autocomplete(
        &self,
        user: u64,
        channel: u64,
        name: &str,
        options: Value,
    ) -> Result<u64, DiscordError> {
        self.invoke(user, channel, name, options, AUTOCOMPLETE)
    }

    fn invoke(
        &self,
        user: u64,
        channel: u64,
        name: &str,
        options: Value,
        kind: u8,
    ) -> Result<u64, DiscordError> {
        self.write(|w| {
            let def = offered_command(w, user, channel, name)?;
            let options = command_options(&def, &options, kind == AUTOCOMPLETE)?;
            let mut data = json!({ "id": def["id"], "name": name, "type": 1, "options": options });
            if let Some(g) = def.get("guild_id") {
                data["guild_id"] = g.clone();
            }
            let users: Vec<String> = options
                .iter()
                .filter(|o| o["type"].as_u64() == Some(6))
                .filter_map(|o| o["value"].as_str().map(str::to_owned))
                .collect();
            if !users.is_empty() {
                let refs: Vec<&str> = users.iter().map(String::as_str).collect();
                data["resolved"] = resolved_users(w, channel, &refs);
            }
            start(w, user, channel, kind, data, None, Some(name.to_owned()))
        })
    }

    /// Someone submits the modal with `custom_id` that the bot showed them, with text `fields`
    /// (`(custom_id, value)`).
    pub fn submit_modal(
        &self,
        user: u64,
        channel: u64,
        custom_id: &str,
        fields: &[(&str, &str)],
    ) -> Result<u64, DiscordError> {
        self.write(|w| {
            let (opener, modal) = shown_modal(w, user, custom_id)?;
            let components = modal_answer(&modal, fields)?;
            let message = w.interactions.get(&opener).and_then(|i| i.message);
            if let Some(i) = w.interactions.get_mut(&opener) {
                i.modal = None;
            }
            let data = json!({ "custom_id": custom_id, "components": components });
            start(w, user, channel, MODAL_SUBMIT, data, message, None)
        })
    }
}

fn resolved_users(w: &World, channel: u64, ids: &[&str]) -> Value {
    let guild = w.channels.get(&channel).and_then(|c| c.guild);
    let mut users = serde_json::Map::new();
    let mut members = serde_json::Map::new();
    for id in ids.iter().filter_map(|i| i.parse::<u64>().ok()) {
        users.insert(id.to_string(), wjson::user(w, id));
        if let Some(g) = guild.filter(|g| w.is_member(*g, id)) {
            let mut m = wjson::member(w, g, id, false);
            m["permissions"] = json!(permissions::explicit(w, id, channel).to_string());
            members.insert(id.to_string(), m);
        }
    }
    json!({ "users": users, "members": members })
}

/// The latest interaction of `user` the bot answered with modal `custom_id`, not yet submitted.
fn shown_modal(w: &World, user: u64, custom_id: &str) -> Result<(u64, Value), DiscordError> {
    w.interactions
        .values()
        .filter(|i| i.user == user)
        .filter_map(|i| i.modal.as_ref().map(|m| (i.id, m.clone())))
        .filter(|(_, m)| m["custom_id"].as_str() == Some(custom_id))
        .max_by_key(|(id, _)| *id)
        .ok_or_else(|| not_offered("the bot showed this person no such modal"))
}

/// The submitted components, in the modal's own layout (action rows or labels).
fn modal_answer(modal: &Value, fields: &[(&str, &str)]) -> Result<Vec<Value>, DiscordError> {
    let mut out = Vec::new();
    for c in modal["components"].as_array().into_iter().flatten() {
        let mut answers = Vec::new();
        for input in modal_inputs(c) {
            let id = input["custom_id"].as_str().unwrap_or_default();
            let value = fields.iter().find(|(k, _)| *k == id).map(|(_, v)| *v);
            let required = input["required"].as_bool().unwrap_or(true);
            let text = value.unwrap_or_default();
            let n = text.chars().count() as u64;
            if (required && text.is_empty())
                || n > input["max_length"].as_u64().unwrap_or(4000)
                || (n > 0 && n < input["min_length"].as_u64().unwrap_or(0))
            {
                return Err(not_offered("the modal would not accept these fields"));
            }
            answers.push(json!({ "type": 4, "id": input["id"], "custom_id": id, "value": text }));
        }
        match c["type"].as_u64() {
            Some(18) => out.push(json!({ "type": 18, "id": c["id"], "component": answers.pop() })),
            _ => out.push(json!({ "type": 1, "id": c["id"], "components": answers })),
        }
    }
    Ok(out)
}
