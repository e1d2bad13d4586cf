//! Interaction follow-ups through the application's webhook (interactions/receiving-and-
//! responding.mdx "Followup Messages"): valid for 15 minutes, only after the first answer; the
//! first follow-up after a deferred answer fills the "thinking" message in; `@original` is the
//! original response (for 6/7, the component's message).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;

use super::body::{id, Body};
use super::compose::{compose, fill};
use super::history::remove;
use crate::error::{Answer, DiscordError};
use crate::ids::{now_ms, APPLICATION, BOT_USER};
use crate::validate::message::{check, Context};
use crate::validate::Form;
use crate::world::model::LOADING;
use crate::world::records::{Answer as Given, AnswerKind, Interaction};
use crate::world::{json as wjson, Shared, World};

/// The interaction behind a webhook token, while the token lives and once it was answered.
fn by_token(w: &World, app: &str, token: &str) -> Result<Interaction, DiscordError> {
    if app.parse::<u64>().ok() != Some(APPLICATION) {
        return Err(DiscordError::unknown_webhook());
    }
    let ix = w
        .tokens
        .get(token)
        .and_then(|i| w.interactions.get(i))
        .ok_or_else(DiscordError::unknown_webhook)?;
    if ix.created.elapsed() > w.opts.interaction_token_lifetime || ix.response.is_none() {
        return Err(DiscordError::unknown_webhook());
    }
    Ok(ix.clone())
}

fn note(w: &mut World, ix: u64, kind: AnswerKind, data: serde_json::Value) {
    if let Some(i) = w.interactions.get_mut(&ix) {
        i.answers.push(Given {
            kind,
            data,
            at: Instant::now(),
        });
    }
}

pub async fn followup(
    State(s): State<Arc<Shared>>,
    Path((app, token)): Path<(String, String)>,
    body: Body,
) -> Answer {
    s.write(|w| {
        let ix = by_token(w, &app, &token)?;
        let loading = ix
            .original
            .and_then(|o| w.messages.get(&o))
            .is_some_and(|m| m.flags & LOADING != 0);
        if ix.response == Some(5) && loading {
            // Backwards compatibility: this edits the deferred response instead.
            let id = ix.original.unwrap_or_default();
            edit_message(w, id, &body)?;
            note(w, ix.id, AnswerKind::Followup, body.json.clone());
            return Ok(Json(wjson::message(w, &w.messages[&id], false)).into_response());
        }
        let mut m = compose(w, ix.channel, BOT_USER, &body, Context::Interaction, true)?;
        m.webhook_id = Some(APPLICATION);
        m.interaction = Some((
            ix.id,
            ix.kind,
            ix.user,
            ix.command.clone().unwrap_or_default(),
        ));
        let id = w.store(m);
        if let Some(i) = w.interactions.get_mut(&ix.id) {
            i.followups.push(id);
        }
        note(w, ix.id, AnswerKind::Followup, body.json.clone());
        w.message_event("MESSAGE_CREATE", id);
        Ok(Json(wjson::message(w, &w.messages[&id], false)).into_response())
    })
}

/// `@original` or a follow-up's id, for this interaction.
fn target(ix: &Interaction, message: &str) -> Result<(u64, bool), DiscordError> {
    if message == "@original" {
        return ix
            .original
            .map(|m| (m, true))
            .ok_or_else(DiscordError::unknown_message);
    }
    let id = id(message, "message_id")?;
    if ix.followups.contains(&id) || ix.original == Some(id) {
        return Ok((id, ix.original == Some(id)));
    }
    Err(DiscordError::unknown_message())
}

pub async fn get(
    State(s): State<Arc<Shared>>,
    Path((app, token, message)): Path<(String, String, String)>,
) -> Answer {
    s.read(|w| {
        let ix = by_token(w, &app, &token)?;
        let (id, _) = target(&ix, &message)?;
        let m = w
            .messages
            .get(&id)
            .filter(|m| !m.deleted)
            .ok_or_else(DiscordError::unknown_message)?;
        Ok(Json(wjson::message(w, m, false)).into_response())
    })
}

pub async fn edit(
    State(s): State<Arc<Shared>>,
    Path((app, token, message)): Path<(String, String, String)>,
    body: Body,
) -> Answer {
    s.write(|w| {
        let ix = by_token(w, &app, &token)?;
        let (id, original) = target(&ix, &message)?;
        edit_message(w, id, &body)?;
        let kind = if original {
            AnswerKind::EditOriginal
        } else {
            AnswerKind::EditFollowup
        };
        note(w, ix.id, kind, body.json.clone());
        Ok(Json(wjson::message(w, &w.messages[&id], false)).into_response())
    })
}

fn edit_message(w: &mut World, id: u64, body: &Body) -> Result<(), DiscordError> {
    let mut form = Form::default();
    check(
        &mut form,
        &body.json,
        body.files.len(),
        Context::Interaction,
    );
    form.done()?;
    let mut m = w
        .messages
        .get(&id)
        .filter(|m| !m.deleted)
        .cloned()
        .ok_or_else(DiscordError::unknown_message)?;
    let ephemeral = m.flags & crate::world::model::EPHEMERAL;
    fill(w, &mut m, body, true);
    // An existing message's ephemeral state cannot change; a filled-in response stops loading.
    m.flags = (m.flags & !LOADING & !crate::world::model::EPHEMERAL) | ephemeral;
    m.edited_ms = Some(now_ms());
    w.messages.insert(id, m);
    w.message_event("MESSAGE_UPDATE", id);
    Ok(())
}

pub async fn delete(
    State(s): State<Arc<Shared>>,
    Path((app, token, message)): Path<(String, String, String)>,
) -> Answer {
    s.write(|w| {
        let ix = by_token(w, &app, &token)?;
        let (id, original) = target(&ix, &message)?;
        w.messages
            .get(&id)
            .filter(|m| !m.deleted)
            .ok_or_else(DiscordError::unknown_message)?;
        remove(w, id);
        let kind = if original {
            AnswerKind::DeleteOriginal
        } else {
            AnswerKind::DeleteFollowup
        };
        note(w, ix.id, kind, serde_json::Value::Null);
        Ok(StatusCode::NO_CONTENT.into_response())
    })
}
