//! What the sandbox remembers about traffic: interactions and their answers, gateway sessions,
//! and the REST request log.

use std::time::{Instant, SystemTime};

use serde_json::Value;

use crate::world::model::EPHEMERAL;

/// How the bot answered an interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerKind {
    /// `POST /interactions/{id}/{token}/callback` with this callback type.
    Callback(u8),
    /// `POST /webhooks/{app}/{token}`.
    Followup,
    /// `PATCH /webhooks/{app}/{token}/messages/@original`.
    EditOriginal,
    /// `DELETE /webhooks/{app}/{token}/messages/@original`.
    DeleteOriginal,
    /// `PATCH /webhooks/{app}/{token}/messages/{id}`.
    EditFollowup,
    /// `DELETE /webhooks/{app}/{token}/messages/{id}`.
    DeleteFollowup,
}

/// One accepted answer to an interaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub kind: AnswerKind,
    /// The callback's `data`, or the webhook body.
    pub data: Value,
    pub at: Instant,
}

impl Answer {
    /// The callback type, for a callback.
    pub fn callback_type(&self) -> Option<u8> {
        match self.kind {
            AnswerKind::Callback(t) => Some(t),
            _ => None,
        }
    }

    pub fn ephemeral(&self) -> bool {
        self.data["flags"].as_u64().unwrap_or(0) & EPHEMERAL != 0
    }

    pub fn content(&self) -> &str {
        self.data["content"].as_str().unwrap_or_default()
    }
}

/// An interaction a person started.
#[derive(Debug, Clone)]
pub struct Interaction {
    pub id: u64,
    pub token: String,
    /// 2 command, 3 component, 4 autocomplete, 5 modal submit.
    pub kind: u8,
    pub user: u64,
    pub channel: u64,
    pub guild: Option<u64>,
    pub created: Instant,
    /// The message whose component was used (components, and modals opened from one).
    pub message: Option<u64>,
    pub command: Option<String>,
    /// The accepted callback type, once answered.
    pub response: Option<u8>,
    /// The original response message (for 6/7, the component's message).
    pub original: Option<u64>,
    pub followups: Vec<u64>,
    pub answers: Vec<Answer>,
    /// The modal shown in answer (callback type 9).
    pub modal: Option<Value>,
}

/// One gateway connection, for tests that check how a client connects and leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// The session this connection identified or resumed; empty before that.
    pub session_id: String,
    pub resumed: bool,
    pub intents: u64,
    pub shard: (u64, u64),
    pub compress: bool,
    pub open: bool,
    /// The client sent a close frame...
    pub client_close_frame: bool,
    /// ... with this code.
    pub client_close_code: Option<u16>,
    /// The sandbox closed the connection with this code.
    pub server_close_code: Option<u16>,
}

/// One REST request as the sandbox answered it.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRecord {
    pub method: String,
    /// The route as the docs write it, such as `/channels/{channel}/messages`; `unknown` for a
    /// route the sandbox does not serve.
    pub route: String,
    pub path: String,
    pub status: u16,
    /// The JSON error code, for errors.
    pub code: Option<u64>,
    pub at: SystemTime,
    pub instant: Instant,
    /// The `Authorization` header as sent.
    pub token: Option<String>,
}

impl RequestRecord {
    pub fn is(&self, method: &str, route: &str) -> bool {
        self.method == method && self.route == route
    }
}
