//! Turning a message body (REST, interaction response or follow-up) into a message: checked
//! against the documented limits, files stored, mentions resolved.

use serde_json::Value;

use super::body::Body;
use crate::error::DiscordError;
use crate::validate::message::{self as check, Context};
use crate::validate::Form;
use crate::world::model::Message;
use crate::world::post::{blank, mentions};
use crate::world::World;

/// Checks a body and builds the message `author` would post with it in `channel`.
/// `interaction` selects the interaction/webhook defaults for `allowed_mentions`.
pub fn compose(
    w: &mut World,
    channel: u64,
    author: u64,
    body: &Body,
    ctx: Context,
    interaction: bool,
) -> Result<Message, DiscordError> {
    let json = &body.json;
    let mut form = Form::default();
    check::check(&mut form, json, body.files.len(), ctx);
    form.done()?;
    if ctx != Context::Edit && check::is_empty(json, body.files.len()) {
        return Err(DiscordError::empty_message());
    }
    check_file_sizes(w, body)?;
    let mut m = blank(w, channel, author);
    fill(w, &mut m, body, interaction);
    Ok(m)
}

pub fn check_file_sizes(w: &World, body: &Body) -> Result<(), DiscordError> {
    let limit = w.opts.upload_limit;
    if body.files.iter().any(|f| f.bytes.len() > limit) {
        return Err(DiscordError::too_large());
    }
    Ok(())
}

/// Sets what a body says on a message: content and its mentions, embeds, components, flags,
/// files, nonce, TTS. Used for edits too: absent fields stay as they were.
pub fn fill(w: &mut World, m: &mut Message, body: &Body, interaction: bool) {
    let json = &body.json;
    let allowed = json.get("allowed_mentions").filter(|a| !a.is_null());
    if let Some(content) = json.get("content").filter(|c| !c.is_null()) {
        m.content = content.as_str().unwrap_or_default().to_owned();
    }
    if json.get("content").is_some() || allowed.is_some() {
        let found = mentions(
            w,
            &m.content,
            allowed,
            interaction,
            m.author_id,
            m.channel_id,
        );
        m.mentions = found.users;
        m.mention_roles = found.roles;
        m.mention_everyone = found.everyone;
    }
    if let Some(a) = allowed {
        m.allowed_mentions = Some(a.clone());
    }
    if let Some(embeds) = json.get("embeds").filter(|e| !e.is_null()) {
        m.embeds = check::stored_embeds(embeds);
    }
    if let Some(components) = json.get("components").filter(|c| !c.is_null()) {
        m.components = components.as_array().cloned().unwrap_or_default();
    }
    if let Some(flags) = json["flags"].as_u64() {
        m.flags = flags;
    }
    if !json["nonce"].is_null() {
        m.nonce = Some(json["nonce"].clone());
    }
    m.tts = json["tts"].as_bool().unwrap_or(m.tts);
    if !json["poll"].is_null() {
        m.poll = Some(json["poll"].clone());
    }
    attachments(w, m, body);
}

/// Attachments: on an edit, `attachments` lists the ones to keep; new files are appended.
fn attachments(w: &mut World, m: &mut Message, body: &Body) {
    let meta = &body.json["attachments"];
    if let Value::Array(list) = meta {
        let keep: Vec<u64> = list
            .iter()
            .filter_map(|a| crate::ids::snowflake(&a["id"]))
            .collect();
        m.attachments.retain(|a| keep.contains(&a.id));
    }
    let added = w.store_files(m.channel_id, &body.files, meta);
    m.attachments.extend(added);
}

/// The `message_reference` message id of a reply, if any.
pub fn reply_target(body: &Value) -> Option<u64> {
    let reference = &body["message_reference"];
    let kind = reference["type"].as_u64().unwrap_or(0);
    (kind == 0)
        .then(|| crate::ids::snowflake(&reference["message_id"]))
        .flatten()
}
