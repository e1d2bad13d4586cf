//! Rate limits as topics/rate-limits.mdx describes them: a global limit per bot token (50 a
//! second; interaction endpoints exempt), per-route buckets counted per top-level resource
//! (channel, guild, webhook), 429 answers with `retry_after` and the X-RateLimit headers, and the
//! count of invalid requests (401, 403, 429 but not `shared` 429s) behind the 10,000-per-10-minutes
//! ban.
//!
//! Discord does not publish its bucket sizes ("should not be hard coded"); the sandbox uses
//! these commonly observed ones:
//! - create message: 5 per 5 s per channel; edit message: 5 per 5 s per channel;
//! - delete message: 5 per 1 s per channel; bulk delete: 1 per 1 s per channel;
//! - rename a channel or thread (`name` or `topic` in PATCH /channels/{id}): 2 per 10 minutes;
//! - create a thread: 10 per 10 s per channel; add or remove a thread member: 10 per 10 s;
//! - interaction follow-ups (POST /webhooks/{app}/{token}): 5 per 2 s per token;
//! - every other route: 50 per 1 s per route and resource.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

/// A per-route bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    pub name: &'static str,
    pub limit: u32,
    pub per: Duration,
}

const fn bucket(name: &'static str, limit: u32, per_ms: u64) -> Bucket {
    Bucket {
        name,
        limit,
        per: Duration::from_millis(per_ms),
    }
}

/// The bucket of a route; `rename` for a PATCH /channels/{id} that changes name or topic.
pub fn bucket_for(method: &str, route: &str, rename: bool) -> Bucket {
    match (method, route) {
        ("POST", "/channels/{channel}/messages") => bucket("message-create", 5, 5_000),
        ("PATCH", "/channels/{channel}/messages/{message}") => bucket("message-edit", 5, 5_000),
        ("DELETE", "/channels/{channel}/messages/{message}") => bucket("message-delete", 5, 1_000),
        ("POST", "/channels/{channel}/messages/bulk-delete") => bucket("bulk-delete", 1, 1_000),
        ("PATCH", "/channels/{channel}") if rename => bucket("channel-rename", 2, 600_000),
        ("POST", "/channels/{channel}/threads")
        | ("POST", "/channels/{channel}/messages/{message}/threads") => {
            bucket("thread-create", 10, 10_000)
        }
        ("PUT" | "DELETE", "/channels/{channel}/thread-members/{user}") => {
            bucket("thread-member", 10, 10_000)
        }
        ("POST", r) if r.starts_with("/webhooks/") => bucket("webhook-execute", 5, 2_000),
        _ => bucket("route", 50, 1_000),
    }
}

/// The headers of an answer within its bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct Headers {
    pub limit: u32,
    pub remaining: u32,
    pub reset_after: f64,
    pub bucket: String,
}

/// A 429 to give.
#[derive(Debug, Clone, PartialEq)]
pub struct Limited {
    pub retry_after: f64,
    pub global: bool,
    /// `X-RateLimit-Scope`: `user`, `global` or `shared`.
    pub scope: &'static str,
    pub headers: Option<Headers>,
}

struct Window {
    started: Instant,
    count: u32,
}

#[derive(Default)]
pub struct RateLimiter {
    global: HashMap<String, VecDeque<Instant>>,
    buckets: HashMap<(String, &'static str, String), Window>,
    invalid: VecDeque<Instant>,
    pub banned: bool,
}

impl RateLimiter {
    /// Counts a request against the global limit of its token.
    pub fn global(&mut self, token: &str, per_second: u32, now: Instant) -> Result<(), Limited> {
        let seen = self.global.entry(token.to_owned()).or_default();
        while seen
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            seen.pop_front();
        }
        if seen.len() as u32 >= per_second {
            let oldest = seen.front().copied().unwrap_or(now);
            let wait = Duration::from_secs(1).saturating_sub(now.duration_since(oldest));
            return Err(Limited {
                retry_after: round_ms(wait.as_secs_f64().max(0.001)),
                global: true,
                scope: "global",
                headers: None,
            });
        }
        seen.push_back(now);
        Ok(())
    }

    /// Counts a request against its route bucket for one top-level resource.
    pub fn route(
        &mut self,
        token: &str,
        b: Bucket,
        resource: &str,
        now: Instant,
    ) -> Result<Headers, Limited> {
        let key = (token.to_owned(), b.name, resource.to_owned());
        let window = self.buckets.entry(key).or_insert(Window {
            started: now,
            count: 0,
        });
        if now.duration_since(window.started) >= b.per {
            window.started = now;
            window.count = 0;
        }
        let reset_after = b.per.saturating_sub(now.duration_since(window.started));
        let mut headers = Headers {
            limit: b.limit,
            remaining: b.limit.saturating_sub(window.count),
            reset_after: round_ms(reset_after.as_secs_f64()),
            bucket: bucket_hash(b.name),
        };
        if window.count >= b.limit {
            headers.remaining = 0;
            return Err(Limited {
                retry_after: headers.reset_after.max(0.001),
                global: false,
                scope: "user",
                headers: Some(headers),
            });
        }
        window.count += 1;
        headers.remaining = b.limit - window.count;
        Ok(headers)
    }

    /// Notes an invalid request; true once the limit is reached and the caller is banned.
    pub fn invalid(&mut self, now: Instant, limit: u32) -> bool {
        let ten_minutes = Duration::from_secs(600);
        while self
            .invalid
            .front()
            .is_some_and(|t| now.duration_since(*t) >= ten_minutes)
        {
            self.invalid.pop_front();
        }
        self.invalid.push_back(now);
        if self.invalid.len() as u32 >= limit {
            self.banned = true;
        }
        self.banned
    }

    /// Invalid requests in the last 10 minutes.
    pub fn invalid_count(&self, now: Instant) -> usize {
        let ten_minutes = Duration::from_secs(600);
        self.invalid
            .iter()
            .filter(|t| now.duration_since(**t) < ten_minutes)
            .count()
    }
}

/// `X-RateLimit-Bucket`: an opaque id for the bucket, the same for every resource.
pub fn bucket_hash(name: &str) -> String {
    let digest = Sha256::digest(name.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

fn round_ms(seconds: f64) -> f64 {
    (seconds * 1000.0).ceil() / 1000.0
}

/// `X-RateLimit-Reset`: the epoch second (with fraction) when the bucket resets.
pub fn reset_epoch(reset_after: f64) -> f64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    round_ms(now + reset_after)
}
