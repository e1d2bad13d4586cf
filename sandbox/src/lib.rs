//! casebot's Discord sandbox: a local stand-in for Discord's REST API v10, gateway and OAuth2,
//! written from Discord's documentation, so that the real serenity client runs against it and
//! whatever would fail on Discord fails here. See README.md for what it covers.

mod driver;
mod error;
mod gateway;
mod ids;
mod oauth2;
mod options;
pub mod permissions;
mod rate_limits;
mod rest;
mod validate;
mod world;

pub use driver::{RateLimitScope, Sandbox, ThreadInfo};
pub use error::DiscordError;
pub use ids::*;
pub use options::{Compression, Options};
pub use world::model::{Attachment, Message};
pub use world::records::{Answer, AnswerKind, RequestRecord, SessionInfo};

/// Gateway intent bits (events/gateway.mdx "List of Intents").
pub mod intents {
    pub use crate::world::dispatch::{
        DIRECT_MESSAGES, GUILDS, GUILD_MEMBERS, GUILD_MESSAGES, GUILD_MESSAGE_REACTIONS,
        GUILD_PRESENCES, MESSAGE_CONTENT,
    };
}
