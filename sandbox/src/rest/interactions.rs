//! Interaction callbacks (interactions/receiving-and-responding.mdx "Interaction Callback"):
//! once only (40060), within 3 seconds (10062), with the callback types each interaction type
//! takes, each callback's data checked; the original response made or the clicked message
//! updated.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use super::body::Body;
use super::compose::{compose, fill};
use crate::error::{Answer, DiscordError};
use crate::ids::{now_ms, APPLICATION, BOT_USER};
use crate::validate::components::check_modal;
use crate::validate::message::{check, Context};
use crate::validate::Form;
use crate::world::model::{COMPONENTS_V2, EPHEMERAL, LOADING};
use crate::world::records::{Answer as Given, AnswerKind, Interaction};
use crate::world::{json as wjson, Shared, World};

const COMPONENT: u8 = 3;
const AUTOCOMPLETE: u8 = 4;
const MODAL_SUBMIT: u8 = 5;

pub async fn callback(
    State(s): State<Arc<Shared>>,
    Path((id, token)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    body: Body,
) -> Answer {
    let id: u64 = id
        .parse()
        .map_err(|_| DiscordError::unknown_interaction())?;
    let with_response = q.get("with_response").map(String::as_str) == Some("true");
    s.write(|w| {
        let ix = w
            .interactions
            .get(&id)
            .filter(|i| i.token == token)
            .cloned()
            .ok_or_else(DiscordError::unknown_interaction)?;
        if ix.response.is_some() {
            return Err(DiscordError::already_acknowledged());
        }
        if ix.created.elapsed() > w.opts.interaction_deadline {
            return Err(DiscordError::unknown_interaction());
        }
        let kind = callback_type(&ix, &body.json)?;
        let data = body.json.get("data").cloned().unwrap_or(Value::Null);
        let original = respond(w, &ix, kind, &data, &body)?;
        let entry = w
            .interactions
            .get_mut(&id)
            .ok_or_else(DiscordError::unknown_interaction)?;
        entry.response = Some(kind);
        entry.original = original;
        if kind == 9 {
            entry.modal = Some(data.clone());
        }
        entry.answers.push(Given {
            kind: AnswerKind::Callback(kind),
            data,
            at: Instant::now(),
        });
        if !with_response {
            return Ok(StatusCode::NO_CONTENT.into_response());
        }
        Ok(Json(callback_response(w, id, ix.kind, kind, original)).into_response())
    })
}

/// The callback type, if this interaction may take it.
fn callback_type(ix: &Interaction, body: &Value) -> Result<u8, DiscordError> {
    let kind = body["type"]
        .as_u64()
        .ok_or_else(|| DiscordError::form("type", "BASE_TYPE_REQUIRED", "This field is required"))?
        as u8;
    let from_component = ix.kind == COMPONENT || (ix.kind == MODAL_SUBMIT && ix.message.is_some());
    let allowed = match kind {
        4 | 5 => ix.kind != AUTOCOMPLETE,
        6 | 7 => from_component,
        8 => ix.kind == AUTOCOMPLETE,
        9 => ix.kind != AUTOCOMPLETE && ix.kind != MODAL_SUBMIT,
        _ => false,
    };
    if !allowed {
        return Err(DiscordError::form(
            "type",
            "INTERACTION_RESPONSE_TYPE_INVALID",
            &format!("Interaction response type {kind} is not valid for this interaction."),
        ));
    }
    Ok(kind)
}

/// Carries out a callback; returns the original response's message id.
fn respond(
    w: &mut World,
    ix: &Interaction,
    kind: u8,
    data: &Value,
    body: &Body,
) -> Result<Option<u64>, DiscordError> {
    let inner = Body {
        json: if data.is_null() {
            json!({})
        } else {
            data.clone()
        },
        files: body.files.clone(),
    };
    match kind {
        4 => Ok(Some(original(w, ix, &inner, false)?)),
        5 => {
            let flags = inner.json["flags"].as_u64().unwrap_or(0);
            if flags & !EPHEMERAL != 0 {
                return Err(DiscordError::form(
                    "data.flags",
                    "MESSAGE_FLAGS_INVALID",
                    "A deferred response takes only the EPHEMERAL flag.",
                ));
            }
            Ok(Some(original(w, ix, &inner, true)?))
        }
        6 => Ok(ix.message),
        7 => {
            update_clicked(w, ix, &inner)?;
            Ok(ix.message)
        }
        8 => {
            check_choices(&inner.json)?;
            Ok(None)
        }
        _ => {
            let mut form = Form::default();
            check_modal(&mut form, &inner.json);
            form.done()?;
            Ok(None)
        }
    }
}

/// The original response: a message in the interaction's channel from the application.
fn original(
    w: &mut World,
    ix: &Interaction,
    body: &Body,
    deferred: bool,
) -> Result<u64, DiscordError> {
    let mut m = if deferred {
        crate::world::post::blank(w, ix.channel, BOT_USER)
    } else {
        compose(w, ix.channel, BOT_USER, body, Context::Interaction, true)?
    };
    if deferred {
        m.flags = body.json["flags"].as_u64().unwrap_or(0) | LOADING;
    }
    m.webhook_id = Some(APPLICATION);
    m.kind = if ix.kind == 2 { 20 } else { 0 };
    let name = ix.command.clone().unwrap_or_default();
    m.interaction = Some((ix.id, ix.kind, ix.user, name));
    let id = w.store(m);
    w.message_event("MESSAGE_CREATE", id);
    Ok(id)
}

/// UPDATE_MESSAGE edits the message whose component was used.
fn update_clicked(w: &mut World, ix: &Interaction, body: &Body) -> Result<(), DiscordError> {
    let mut form = Form::default();
    check(
        &mut form,
        &body.json,
        body.files.len(),
        Context::Interaction,
    );
    form.done()?;
    let message = ix.message.ok_or_else(DiscordError::unknown_message)?;
    let mut m = w
        .messages
        .get(&message)
        .cloned()
        .ok_or_else(DiscordError::unknown_message)?;
    let was_v2 = m.flags & COMPONENTS_V2;
    fill(w, &mut m, body, true);
    m.flags |= was_v2;
    m.edited_ms = Some(now_ms());
    w.messages.insert(message, m);
    w.message_event("MESSAGE_UPDATE", message);
    Ok(())
}

fn check_choices(data: &Value) -> Result<(), DiscordError> {
    let mut form = Form::default();
    let choices = form.array("data.choices", &data["choices"], 25);
    for (i, c) in choices.iter().enumerate() {
        let path = format!("data.choices.{i}");
        form.required_text(&format!("{path}.name"), &c["name"], 1, 100);
        if c["value"].is_null() {
            form.err(
                &format!("{path}.value"),
                "BASE_TYPE_REQUIRED",
                "This field is required",
            );
        }
    }
    form.done()
}

/// The body of `?with_response=true` ("Interaction Callback Response Object").
fn callback_response(w: &World, id: u64, ix_kind: u8, kind: u8, original: Option<u64>) -> Value {
    let message = original.and_then(|m| w.messages.get(&m));
    let mut interaction = json!({ "id": id.to_string(), "type": ix_kind });
    if let (Some(m), true) = (message, matches!(kind, 4 | 5 | 7)) {
        interaction["response_message_id"] = json!(m.id.to_string());
        interaction["response_message_loading"] = json!(m.flags & LOADING != 0);
        interaction["response_message_ephemeral"] = json!(m.ephemeral());
    }
    let mut resource = json!({ "type": kind });
    if let (Some(m), true) = (message, matches!(kind, 4 | 7)) {
        resource["message"] = wjson::message(w, m, false);
    }
    json!({ "interaction": interaction, "resource": resource })
}
