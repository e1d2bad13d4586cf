//! Message bodies (resources/message.mdx "Create Message", "Edit Message", "Embed Limits",
//! "Allowed Mentions Object"): content up to 2,000 characters, up to 10 embeds within their
//! limits and 6,000 characters in all, components, `allowed_mentions`, `nonce`, `flags`.

use serde_json::{json, Value};

use super::{at, components, Form};
use crate::world::model::COMPONENTS_V2;

/// Where a message body comes from: the flags it may set differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Create,
    Edit,
    /// An interaction response or follow-up: EPHEMERAL allowed.
    Interaction,
}

const SUPPRESS_EMBEDS: u64 = 1 << 2;
const SUPPRESS_NOTIFICATIONS: u64 = 1 << 12;
const IS_VOICE_MESSAGE: u64 = 1 << 13;

/// Checks a message body; `files` is how many files came with it.
pub fn check(form: &mut Form, body: &Value, files: usize, ctx: Context) {
    if !body.is_object() {
        form.err(
            "",
            "MODEL_TYPE_CONVERT",
            "Only dictionaries may be used in a ModelType",
        );
        return;
    }
    form.text("content", &body["content"], 0, 2000);
    check_embeds(form, &body["embeds"]);
    let flags = body["flags"].as_u64().unwrap_or(0);
    check_flags(form, flags, ctx);
    components::check_message(form, &body["components"], flags & COMPONENTS_V2 != 0);
    if flags & COMPONENTS_V2 != 0 {
        let has_content = body["content"].as_str().is_some_and(|c| !c.is_empty());
        let has_embeds = body["embeds"].as_array().is_some_and(|e| !e.is_empty());
        if has_content || has_embeds {
            form.err(
                "content",
                "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
                "The 'content' and 'embeds' fields cannot be used when using MessageFlags.IS_COMPONENTS_V2",
            );
        }
    }
    check_allowed_mentions(form, &body["allowed_mentions"]);
    match &body["nonce"] {
        Value::Null | Value::Number(_) => {}
        Value::String(s) => form.length("nonce", s, 0, 25),
        _ => form.err(
            "nonce",
            "BASE_TYPE_STRING",
            "Could not interpret value as string.",
        ),
    }
    form.array("sticker_ids", &body["sticker_ids"], 3);
    let _ = files;
}

/// Whether a create carries anything (50006 otherwise).
pub fn is_empty(body: &Value, files: usize) -> bool {
    let text = body["content"]
        .as_str()
        .is_some_and(|c| !c.trim().is_empty());
    let list = |k: &str| body[k].as_array().is_some_and(|a| !a.is_empty());
    !(text
        || list("embeds")
        || list("components")
        || list("sticker_ids")
        || files > 0
        || !body["poll"].is_null())
}

fn check_flags(form: &mut Form, flags: u64, ctx: Context) {
    let allowed = match ctx {
        Context::Create => {
            SUPPRESS_EMBEDS | SUPPRESS_NOTIFICATIONS | IS_VOICE_MESSAGE | COMPONENTS_V2
        }
        Context::Edit => SUPPRESS_EMBEDS | COMPONENTS_V2,
        Context::Interaction => {
            SUPPRESS_EMBEDS
                | crate::world::model::EPHEMERAL
                | COMPONENTS_V2
                | IS_VOICE_MESSAGE
                | SUPPRESS_NOTIFICATIONS
        }
    };
    if flags & !allowed != 0 {
        form.err(
            "flags",
            "MESSAGE_FLAGS_INVALID",
            "Invalid flags for this message.",
        );
    }
}

fn check_embeds(form: &mut Form, embeds: &Value) {
    let mut total = 0;
    for (i, e) in form.array("embeds", embeds, 10).iter().enumerate() {
        let path = at("embeds", i);
        if !e.is_object() {
            form.err(
                &path,
                "MODEL_TYPE_CONVERT",
                "Only dictionaries may be used in a ModelType",
            );
            continue;
        }
        total += trimmed(form, &at(&path, "title"), &e["title"], 256);
        total += trimmed(form, &at(&path, "description"), &e["description"], 4096);
        if let Some(footer) = e.get("footer").filter(|f| !f.is_null()) {
            let p = at(&path, "footer.text");
            if footer["text"].is_null() {
                form.err(&p, "BASE_TYPE_REQUIRED", "This field is required");
            }
            total += trimmed(form, &p, &footer["text"], 2048);
        }
        if let Some(author) = e.get("author").filter(|a| !a.is_null()) {
            let p = at(&path, "author.name");
            if author["name"].is_null() {
                form.err(&p, "BASE_TYPE_REQUIRED", "This field is required");
            }
            total += trimmed(form, &p, &author["name"], 256);
        }
        let fields_path = at(&path, "fields");
        for (j, f) in form
            .array(&fields_path, &e["fields"], 25)
            .iter()
            .enumerate()
        {
            for (key, max) in [("name", 256), ("value", 1024)] {
                let p = at(&at(&fields_path, j), key);
                if f[key].is_null() {
                    form.err(&p, "BASE_TYPE_REQUIRED", "This field is required");
                }
                total += trimmed(form, &p, &f[key], max);
            }
        }
        if let Some(color) = e.get("color").filter(|c| !c.is_null()) {
            if color.as_u64().is_none_or(|c| c > 0xFF_FFFF) {
                let p = at(&path, "color");
                form.err(
                    &p,
                    "NUMBER_TYPE_MAX",
                    "int value should be less than or equal to 16777215.",
                );
            }
        }
    }
    if total > 6000 {
        form.err(
            "embeds",
            "MAX_EMBED_SIZE_EXCEEDED",
            "Embed size exceeds maximum size of 6000",
        );
    }
}

/// Counts a string field after trimming, as Discord measures embed limits.
fn trimmed(form: &mut Form, path: &str, v: &Value, max: usize) -> usize {
    match v {
        Value::String(s) => {
            let n = s.trim().chars().count();
            form.length(path, s.trim(), 0, max);
            n
        }
        Value::Null => 0,
        _ => {
            form.err(
                path,
                "BASE_TYPE_STRING",
                "Could not interpret value as string.",
            );
            0
        }
    }
}

/// The embeds as stored: type `rich`, without the fields a sender cannot set.
pub fn stored_embeds(embeds: &Value) -> Vec<Value> {
    embeds
        .as_array()
        .map(|list| {
            list.iter()
                .map(|e| {
                    let mut e = e.clone();
                    if let Some(o) = e.as_object_mut() {
                        o.remove("provider");
                        o.remove("video");
                        o.insert("type".into(), json!("rich"));
                    }
                    e
                })
                .collect()
        })
        .unwrap_or_default()
}

fn check_allowed_mentions(form: &mut Form, am: &Value) {
    if am.is_null() {
        return;
    }
    if !am.is_object() {
        form.err(
            "allowed_mentions",
            "MODEL_TYPE_CONVERT",
            "Only dictionaries may be used in a ModelType",
        );
        return;
    }
    let parse = form.array("allowed_mentions.parse", &am["parse"], 3);
    for (i, p) in parse.iter().enumerate() {
        if !matches!(p.as_str(), Some("users" | "roles" | "everyone")) {
            let path = at("allowed_mentions.parse", i);
            form.err(
                &path,
                "BASE_TYPE_CHOICES",
                "Value must be one of ('roles', 'users', 'everyone').",
            );
        }
    }
    for kind in ["users", "roles"] {
        let list = form.array(&at("allowed_mentions", kind), &am[kind], 100);
        let parsed = parse.iter().any(|p| p.as_str() == Some(kind));
        if parsed && !list.is_empty() {
            form.err(
                "allowed_mentions",
                "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                &format!("parse:[\"{kind}\"] and {kind}: [ids...] are mutually exclusive."),
            );
        }
    }
}
