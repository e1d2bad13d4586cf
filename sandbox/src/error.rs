//! Discord's JSON errors: `{"code":..,"message":..}` plus, for form errors, the nested `errors` tree
//! (docs: reference.mdx "Error Messages", topics/opcodes-and-status-codes.mdx "JSON").

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

/// An error as Discord answers it. `status` 0 marks something the Discord client itself would
/// not let a person do (such as clicking a button that is not there).
#[derive(Debug, Clone, PartialEq)]
pub struct DiscordError {
    pub status: u16,
    pub code: u64,
    pub message: String,
    /// The `errors` tree of a 50035 Invalid Form Body.
    pub errors: Option<Value>,
}

/// The JSON error code an answer carried, for the request log.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ErrorCode(pub u64);

impl DiscordError {
    pub fn new(status: u16, code: u64, message: &str) -> DiscordError {
        DiscordError {
            status,
            code,
            message: message.to_owned(),
            errors: None,
        }
    }

    pub fn unauthorized() -> Self {
        Self::new(401, 0, "401: Unauthorized")
    }
    pub fn not_found() -> Self {
        Self::new(404, 0, "404: Not Found")
    }
    pub fn method_not_allowed() -> Self {
        Self::new(405, 0, "405: Method Not Allowed")
    }
    pub fn missing_access() -> Self {
        Self::new(403, 50001, "Missing Access")
    }
    pub fn missing_permissions() -> Self {
        Self::new(403, 50013, "Missing Permissions")
    }
    pub fn unknown_channel() -> Self {
        Self::new(404, 10003, "Unknown Channel")
    }
    pub fn unknown_guild() -> Self {
        Self::new(404, 10004, "Unknown Guild")
    }
    pub fn unknown_member() -> Self {
        Self::new(404, 10007, "Unknown Member")
    }
    pub fn unknown_message() -> Self {
        Self::new(404, 10008, "Unknown Message")
    }
    pub fn unknown_role() -> Self {
        Self::new(404, 10011, "Unknown Role")
    }
    pub fn unknown_user() -> Self {
        Self::new(404, 10013, "Unknown User")
    }
    pub fn unknown_webhook() -> Self {
        Self::new(404, 10015, "Unknown Webhook")
    }
    pub fn unknown_interaction() -> Self {
        Self::new(404, 10062, "Unknown interaction")
    }
    pub fn unknown_command() -> Self {
        Self::new(404, 10063, "Unknown application command")
    }
    pub fn already_acknowledged() -> Self {
        Self::new(400, 40060, "Interaction has already been acknowledged.")
    }
    pub fn cannot_message_user() -> Self {
        Self::new(403, 50007, "Cannot send messages to this user")
    }
    pub fn empty_message() -> Self {
        Self::new(400, 50006, "Cannot send an empty message")
    }
    pub fn too_large() -> Self {
        Self::new(413, 40005, "Request entity too large")
    }
    pub fn invalid_json() -> Self {
        Self::new(400, 50109, "The request body contains invalid JSON.")
    }

    /// A 50035 Invalid Form Body with one error at `path` (dots between keys, as
    /// `embeds.0.title`; empty for an error about the whole request).
    pub fn form(path: &str, code: &str, message: &str) -> Self {
        let mut tree = Value::Object(Map::new());
        add_form_error(&mut tree, path, code, message);
        Self::form_tree(tree)
    }

    /// A 50035 Invalid Form Body with an `errors` tree built by [`add_form_error`].
    pub fn form_tree(errors: Value) -> Self {
        DiscordError {
            status: 400,
            code: 50035,
            message: "Invalid Form Body".to_owned(),
            errors: Some(errors),
        }
    }

    /// The JSON body Discord sends.
    pub fn body(&self) -> Value {
        let mut body = json!({ "code": self.code, "message": self.message });
        if let Some(errors) = &self.errors {
            body["errors"] = errors.clone();
        }
        body
    }
}

/// Adds one error to a form-error tree: `{"embeds":{"0":{"title":{"_errors":[..]}}}}`.
pub fn add_form_error(tree: &mut Value, path: &str, code: &str, message: &str) {
    let mut node = tree;
    for key in path.split('.').filter(|k| !k.is_empty()) {
        node = &mut node[key];
    }
    let entry = json!({ "code": code, "message": message });
    match node.get_mut("_errors").and_then(Value::as_array_mut) {
        Some(list) => list.push(entry),
        None => node["_errors"] = json!([entry]),
    }
}

impl std::fmt::Display for DiscordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (code {}): {}", self.status, self.code, self.message)?;
        if let Some(errors) = &self.errors {
            write!(f, " {errors}")?;
        }
        Ok(())
    }
}

impl std::error::Error for DiscordError {}

impl IntoResponse for DiscordError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let mut response = (status, Json(self.body())).into_response();
        response.extensions_mut().insert(ErrorCode(self.code));
        response
    }
}

/// What handlers return.
pub(crate) type Answer = Result<Response, DiscordError>;
