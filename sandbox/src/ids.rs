//! The sandbox's fixed ids and credentials, and snowflakes and timestamps made as Discord makes them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The bot user casebot runs as.
pub const BOT_USER: u64 = 900_000_000_000_000_001;
/// The bot's application; also the OAuth2 client id and the interactions' webhook id.
pub const APPLICATION: u64 = 900_000_000_000_000_002;
/// The person who owns both servers (owners hold every permission).
pub const GUILD_OWNER: u64 = 900_000_000_000_000_003;
/// The staff server, where cases are worked.
pub const STAFF_GUILD: u64 = 900_000_000_000_000_010;
/// The staff server's queue channel: one card per case, a private thread per case.
pub const QUEUE_CHANNEL: u64 = 900_000_000_000_000_011;
/// The staff role (no permissions of its own: it only names who is staff).
pub const STAFF_ROLE: u64 = 900_000_000_000_000_012;
/// The lead role (no permissions of its own either).
pub const LEAD_ROLE: u64 = 900_000_000_000_000_013;
/// The bot's managed role in the staff server, carrying what the invite URL granted.
pub const STAFF_BOT_ROLE: u64 = 900_000_000_000_000_014;
/// The public server, where customers @mention the bot.
pub const PUBLIC_GUILD: u64 = 900_000_000_000_000_020;
/// The public server's channel.
pub const PUBLIC_CHANNEL: u64 = 900_000_000_000_000_021;
/// The bot's managed role in the public server.
pub const PUBLIC_BOT_ROLE: u64 = 900_000_000_000_000_022;

/// The bot token, shaped as Discord's are (the base64 of the bot's id, a dot, two more parts).
/// serenity sends it as `Bot <TOKEN>`.
pub const TOKEN: &str = "OTAwMDAwMDAwMDAwMDAwMDAx.sandbox.casebot-sandbox-bot-token";
/// The OAuth2 client id: on Discord it is the application id.
pub const OAUTH_CLIENT_ID: u64 = APPLICATION;
/// The OAuth2 client secret of the sandbox application.
pub const OAUTH_CLIENT_SECRET: &str = "casebot-sandbox-client-secret";

/// Milliseconds from the Unix epoch to Discord's, the first second of 2015.
pub const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Makes snowflakes from the clock, so that ids sort by age and never repeat across runs.
#[derive(Debug, Default)]
pub struct Snowflakes {
    last: AtomicU64,
}

impl Snowflakes {
    pub fn next(&self) -> u64 {
        let fresh = now_ms().saturating_sub(DISCORD_EPOCH_MS) << 22;
        let mut last = self.last.load(Ordering::Relaxed);
        loop {
            let id = fresh.max(last + 1);
            match self
                .last
                .compare_exchange(last, id, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return id,
                Err(seen) => last = seen,
            }
        }
    }
}

/// When a snowflake was made, in Unix milliseconds.
pub fn snowflake_ms(id: u64) -> u64 {
    (id >> 22) + DISCORD_EPOCH_MS
}

/// An ISO8601 timestamp as Discord writes them: `2026-01-02T03:04:05.678000+00:00`.
pub fn iso(ms: u64) -> String {
    use chrono::TimeZone;
    chrono::Utc
        .timestamp_millis_opt(ms as i64)
        .single()
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string())
        .unwrap_or_else(|| "2015-01-01T00:00:00.000000+00:00".to_owned())
}

/// Parses a snowflake given as a JSON string or number (Discord accepts both).
pub fn snowflake(v: &serde_json::Value) -> Option<u64> {
    match v {
        serde_json::Value::String(s) => s.parse().ok(),
        serde_json::Value::Number(n) => n.as_u64(),
        _ => None,
    }
}
