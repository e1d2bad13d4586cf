//! casebot's own client for Discord's REST API: every request casebot makes goes through here, so
//! Discord's rate limits are kept the way its documentation asks. Each route's bucket is tracked
//! from the `X-RateLimit-*` headers and waited out before it is empty; a 429 is waited out for
//! exactly its `retry_after` (the whole client waits when it is global) and the request tried
//! again; and outside interaction callbacks every request first takes a share of the token's
//! outbound budget, shared by every process using the token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::secrets::Secret;
use crate::services::outbox::OutboundBudget;

/// Where Discord's API lives.
pub const DISCORD_API: &str = "https://discord.com/api/v10";

/// How often a request refused with 429 is tried again before the caller is told.
const RATE_LIMIT_RETRIES: u32 = 3;

/// Why a request did not succeed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RestError {
    /// Discord answered with an error: its HTTP status and JSON error code.
    #[error("Discord {status} ({code}): {message}")]
    Discord {
        status: u16,
        code: u64,
        message: String,
    },
    /// Still rate limited after waiting; try again after this long.
    #[error("rate limited for {0:?}")]
    RateLimited(Duration),
    /// The request did not reach Discord or its answer did not arrive.
    #[error("cannot reach Discord: {0}")]
    Transport(String),
}

impl RestError {
    /// Discord's JSON error code, when it answered with one.
    pub fn code(&self) -> Option<u64> {
        match self {
            RestError::Discord { code, .. } => Some(*code),
            _ => None,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            RestError::Discord { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Discord's error codes casebot acts on.
pub mod codes {
    pub const UNKNOWN_CHANNEL: u64 = 10_003;
    pub const UNKNOWN_MESSAGE: u64 = 10_008;
    pub const UNKNOWN_INTERACTION: u64 = 10_062;
    pub const MISSING_ACCESS: u64 = 50_001;
    pub const CANNOT_SEND_TO_USER: u64 = 50_007;
    pub const MISSING_PERMISSIONS: u64 = 50_013;
    pub const ALREADY_ACKNOWLEDGED: u64 = 40_060;
}

/// A bucket as the last answer on its route described it.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    remaining: u64,
    resets_at: Instant,
}

#[derive(Default)]
struct Limits {
    buckets: HashMap<String, Bucket>,
    /// Every route waits until then (a global 429).
    global_until: Option<Instant>,
}

/// The client. Cloning shares its buckets.
#[derive(Clone)]
pub struct Rest {
    client: reqwest::Client,
    base: String,
    token: Secret,
    budget: Arc<dyn OutboundBudget>,
    limits: Arc<Mutex<Limits>>,
}

impl Rest {
    /// A client for Discord at `base` (its `/api/v10` root; a sandbox's in tests) with the bot
    /// `token`, taking each request from `budget`.
    pub fn new(
        base: &str,
        token: Secret,
        budget: Arc<dyn OutboundBudget>,
    ) -> Result<Rest, RestError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .user_agent("DiscordBot (https://github.com/casebot, 0.2)")
            .build()
            .map_err(|e| RestError::Transport(e.to_string()))?;
        Ok(Rest {
            client,
            base: base.trim_end_matches('/').to_owned(),
            token,
            budget,
            limits: Arc::default(),
        })
    }

    pub async fn get(&self, path: &str) -> Result<Value, RestError> {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, RestError> {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Result<Value, RestError> {
        self.send(Method::PATCH, path, Some(body)).await
    }

    pub async fn put(&self, path: &str) -> Result<Value, RestError> {
        self.send(Method::PUT, path, None).await
    }

    pub async fn put_json(&self, path: &str, body: &Value) -> Result<Value, RestError> {
        self.send(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Result<Value, RestError> {
        self.send(Method::DELETE, path, None).await
    }

    /// Answers an interaction. Interaction callbacks are outside the global limit and must be
    /// answered within three seconds, so they do not wait for the outbound budget.
    pub async fn callback(
        &self,
        interaction: u64,
        token: &str,
        body: &Value,
    ) -> Result<(), RestError> {
        let path = format!("/interactions/{interaction}/{token}/callback");
        self.request(Method::POST, &path, Some(body), false)
            .await
            .map(|_| ())
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, RestError> {
        self.request(method, path, body, true).await
    }

    async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        budgeted: bool,
    ) -> Result<Value, RestError> {
        let route = route_key(&method, path);
        let mut retries = 0;
        loop {
            self.wait_for(&route).await;
            if budgeted {
                self.budget.take().await;
            }
            let mut request = self
                .client
                .request(method.clone(), format!("{}{path}", self.base))
                .header("Authorization", format!("Bot {}", self.token.expose()));
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = request
                .send()
                .await
                .map_err(|e| RestError::Transport(e.without_url().to_string()))?;
            self.note_bucket(&route, response.headers());
            match response.status() {
                StatusCode::TOO_MANY_REQUESTS => {
                    let wait = self.note_429(&route, response).await;
                    retries += 1;
                    if retries > RATE_LIMIT_RETRIES {
                        return Err(RestError::RateLimited(wait));
                    }
                    tracing::debug!(route = %route, wait_ms = wait.as_millis() as u64, "rate limited by Discord; waiting");
                }
                StatusCode::NO_CONTENT => return Ok(Value::Null),
                status if status.is_success() => {
                    return response
                        .json()
                        .await
                        .map_err(|e| RestError::Transport(e.to_string()));
                }
                status => return Err(error_of(status, response).await),
            }
        }
    }

    /// Waits out a global limit, and a bucket this route emptied, before the next request.
    async fn wait_for(&self, route: &str) {
        let until = {
            let limits = self.limits.lock().expect("limits lock");
            let bucket = limits
                .buckets
                .get(route)
                .filter(|b| b.remaining == 0)
                .map(|b| b.resets_at);
            limits.global_until.into_iter().chain(bucket).max()
        };
        if let Some(until) = until {
            tokio::time::sleep_until(until.into()).await;
        }
    }

    fn note_bucket(&self, route: &str, headers: &reqwest::header::HeaderMap) {
        let number = |name: &str| headers.get(name)?.to_str().ok()?.parse::<f64>().ok();
        if let (Some(remaining), Some(reset_after)) = (
            number("x-ratelimit-remaining"),
            number("x-ratelimit-reset-after"),
        ) {
            let bucket = Bucket {
                remaining: remaining as u64,
                resets_at: Instant::now() + Duration::from_secs_f64(reset_after.max(0.0)),
            };
            self.limits
                .lock()
                .expect("limits lock")
                .buckets
                .insert(route.to_owned(), bucket);
        }
    }

    /// How long a 429 asks us to wait, from its body (`retry_after`, fractional seconds) or its
    /// headers; a global one holds back every route.
    async fn note_429(&self, route: &str, response: reqwest::Response) -> Duration {
        let headers = response.headers().clone();
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<f64>().ok())
        };
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let seconds = body["retry_after"]
            .as_f64()
            .or_else(|| header("retry-after"))
            .or_else(|| header("x-ratelimit-reset-after"))
            .unwrap_or(1.0);
        let wait = Duration::from_secs_f64(seconds.clamp(0.0, 3_600.0));
        let global = body["global"].as_bool().unwrap_or(false)
            || headers
                .get("x-ratelimit-global")
                .is_some_and(|v| v == "true");
        let until = Instant::now() + wait;
        let mut limits = self.limits.lock().expect("limits lock");
        if global {
            limits.global_until = Some(until);
        } else {
            let bucket = Bucket {
                remaining: 0,
                resets_at: until,
            };
            limits.buckets.insert(route.to_owned(), bucket);
        }
        wait
    }
}

/// Routes share a bucket per method and path, with ids other than the major one (channel,
/// guild, webhook) read as placeholders.
fn route_key(method: &Method, path: &str) -> String {
    let mut key = format!("{method} ");
    let mut previous = "";
    for part in path.split('/').filter(|p| !p.is_empty()) {
        let major = matches!(
            previous,
            "channels" | "guilds" | "webhooks" | "interactions"
        );
        if part.chars().all(|c| c.is_ascii_digit()) && !major {
            key.push_str("/:id");
        } else {
            key.push('/');
            key.push_str(part);
        }
        previous = part;
    }
    key
}

async fn error_of(status: StatusCode, response: reqwest::Response) -> RestError {
    let body: Value = response.json().await.unwrap_or(Value::Null);
    RestError::Discord {
        status: status.as_u16(),
        code: body["code"].as_u64().unwrap_or(0),
        message: body["message"].as_str().unwrap_or("").to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_share_a_bucket_per_major_id() {
        let a = route_key(&Method::POST, "/channels/123/messages");
        let b = route_key(&Method::POST, "/channels/456/messages");
        assert_ne!(a, b, "each channel has its own bucket");
        let edit1 = route_key(&Method::PATCH, "/channels/123/messages/7");
        let edit2 = route_key(&Method::PATCH, "/channels/123/messages/8");
        assert_eq!(edit1, edit2, "messages of one channel share it");
    }
}
