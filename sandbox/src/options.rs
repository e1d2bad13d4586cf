//! How a sandbox is set up: what the Developer Portal has switched on, limits and lifetimes.

use std::time::Duration;

/// When a connection that identified with `compress: true` gets binary zlib frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Never compress.
    Never,
    /// Compress dispatches whose JSON is longer than this many bytes (Discord compresses only
    /// some payloads; events/gateway.mdx "Payload Compression").
    LargerThan(usize),
    /// Compress every frame after IDENTIFY.
    Always,
}

#[derive(Debug, Clone)]
pub struct Options {
    /// The MESSAGE_CONTENT privileged intent is switched on in the Developer Portal. Without it,
    /// identifying with the intent closes with 4014, and guild messages reach the bot (gateway
    /// and REST) with empty content unless they mention it. Default false.
    pub message_content_intent: bool,
    /// The GUILD_MEMBERS privileged intent is switched on in the portal. Default false.
    pub guild_members_intent: bool,
    /// The GUILD_PRESENCES privileged intent is switched on in the portal. Default false.
    pub presence_intent: bool,
    pub compression: Compression,
    /// Requests per second per bot token (topics/rate-limits.mdx "Global Rate Limit"): 50.
    pub global_limit: u32,
    /// Whether per-route buckets apply (see `rate_limits`). Default true.
    pub route_limits: bool,
    /// Invalid requests (401, 403, 429) in 10 minutes before the sandbox bans the caller, as
    /// Cloudflare does: 10,000.
    pub invalid_request_limit: u32,
    /// How long an interaction may wait for its first answer: 3 s.
    pub interaction_deadline: Duration,
    /// How long an interaction token serves follow-ups: 15 minutes.
    pub interaction_token_lifetime: Duration,
    /// How long a signed attachment URL stays valid. Discord does not document it (about a
    /// day in practice): 24 h.
    pub attachment_url_lifetime: Duration,
    /// Largest file per upload: the documented default of 10 MiB (reference.mdx "Uploading
    /// Files"); boosted servers allow more.
    pub upload_limit: usize,
    /// The bot role's permissions per guild, replacing the defaults
    /// (`permissions::BOT_STAFF_DEFAULT`, `permissions::BOT_PUBLIC_DEFAULT`).
    pub bot_permissions: Vec<(u64, u64)>,
    /// The HELLO's heartbeat interval: 41.25 s.
    pub heartbeat_interval: Duration,
    /// OAuth2 redirect URIs registered for the application.
    pub oauth_redirect_uris: Vec<String>,
    /// Whether `/oauth2/authorize` insists on a PKCE S256 `code_challenge`. Default true (a
    /// stricter rule than Discord's, which accepts PKCE without requiring it).
    pub require_pkce: bool,
    /// How long `enforce_nonce` remembers a nonce ("the past few minutes"): 5 minutes.
    pub nonce_window: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            message_content_intent: false,
            guild_members_intent: false,
            presence_intent: false,
            compression: Compression::LargerThan(1024),
            global_limit: 50,
            route_limits: true,
            invalid_request_limit: 10_000,
            interaction_deadline: Duration::from_secs(3),
            interaction_token_lifetime: Duration::from_secs(15 * 60),
            attachment_url_lifetime: Duration::from_secs(24 * 3600),
            upload_limit: 10 * 1024 * 1024,
            bot_permissions: Vec::new(),
            heartbeat_interval: Duration::from_millis(41_250),
            oauth_redirect_uris: Vec::new(),
            require_pkce: true,
            nonce_window: Duration::from_secs(5 * 60),
        }
    }
}
