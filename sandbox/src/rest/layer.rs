//! What every REST request goes through before and after its handler: the Cloudflare ban,
//! authentication (`Bot` token or OAuth2 `Bearer`), faults the driver queued, the global and
//! per-route rate limits, the X-RateLimit headers, and the request log.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::{DiscordError, ErrorCode};
use crate::gateway::session::token_ok;
use crate::rate_limits::{bucket_for, reset_epoch, Headers, Limited};
use crate::world::records::RequestRecord;
use crate::world::{Fault, Shared, World};

/// Who may call a group of routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// A bot token.
    Bot,
    /// A bot token or an OAuth2 bearer token.
    BotOrBearer,
    /// An OAuth2 bearer token.
    Bearer,
    /// Interaction endpoints: the token is in the path; not bound to the global limit.
    Interaction,
    /// No authentication (GET /gateway, the OAuth2 token endpoints, which check the client).
    Open,
}

/// The authenticated caller, for handlers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Bot,
    Bearer { user: u64, scopes: Vec<String> },
    Nobody,
}

impl Caller {
    pub fn has_scope(&self, scope: &str) -> bool {
        matches!(self, Caller::Bearer { scopes, .. } if scopes.iter().any(|s| s == scope))
    }
}

pub async fn layer(
    State((shared, policy)): State<(Arc<Shared>, Policy)>,
    mut req: Request,
    next: Next,
) -> Response {
    let instant = Instant::now();
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unknown".to_owned(), |m| doc_route(m.as_str()));
    let token = header(req.headers(), "authorization");
    let rename = if method == "PATCH" && route == "/channels/{channel}" {
        let (changed, rebuilt) = renames(req).await;
        req = rebuilt;
        changed
    } else {
        false
    };
    let before = shared.write(|w| {
        admit(
            w,
            policy,
            &method,
            &route,
            &path,
            token.as_deref(),
            rename,
            instant,
        )
    });
    let (mut response, headers) = match before {
        Err(response) => (*response, None),
        Ok((caller, headers)) => {
            req.extensions_mut().insert(caller);
            (next.run(req).await, headers)
        }
    };
    if let Some(h) = headers {
        add_rate_headers(response.headers_mut(), &h);
    }
    let code = response.extensions().get::<ErrorCode>().map(|c| c.0);
    let status = response.status().as_u16();
    shared.write(|w| {
        let shared_scope =
            header(response.headers(), "x-ratelimit-scope").as_deref() == Some("shared");
        if matches!(status, 401 | 403) || (status == 429 && !shared_scope) {
            let limit = w.opts.invalid_request_limit;
            w.limits.invalid(instant, limit);
        }
        w.log.push(RequestRecord {
            method,
            route,
            path,
            status,
            code,
            at: SystemTime::now(),
            instant,
            token,
        });
    });
    response
}

/// The checks before the handler: ban, authentication, faults, rate limits.
#[allow(clippy::too_many_arguments)]
fn admit(
    w: &mut World,
    policy: Policy,
    method: &str,
    route: &str,
    path: &str,
    token: Option<&str>,
    rename: bool,
    now: Instant,
) -> Result<(Caller, Option<Headers>), Box<Response>> {
    if w.limits.banned {
        return Err(Box::new(banned()));
    }
    let caller = authenticate(w, policy, token).map_err(|e| Box::new(e.into_response()))?;
    if matches!(
        policy,
        Policy::Bot | Policy::BotOrBearer | Policy::Interaction
    ) {
        if let Some(fault) = w.faults.pop_front() {
            return Err(Box::new(fault_response(fault, method, route)));
        }
    }
    if policy == Policy::Open {
        return Ok((caller, None));
    }
    let key = token.unwrap_or("anonymous").to_owned();
    if policy != Policy::Interaction {
        let per_second = w.opts.global_limit;
        w.limits
            .global(&key, per_second, now)
            .map_err(|l| Box::new(limited_response(l)))?;
    }
    if !w.opts.route_limits || route.starts_with("/interactions/") {
        return Ok((caller, None));
    }
    let bucket = bucket_for(method, route, rename);
    let mut resource = top_level_resource(path);
    if bucket.name == "route" {
        // Routes without a bucket of their own each count apart.
        resource = format!("{method} {route} {resource}");
    }
    let headers = w
        .limits
        .route(&key, bucket, &resource, now)
        .map_err(|l| Box::new(limited_response(l)))?;
    Ok((caller, Some(headers)))
}

fn authenticate(w: &World, policy: Policy, token: Option<&str>) -> Result<Caller, DiscordError> {
    let bot = token_ok(token) && token.is_some_and(|t| t.starts_with("Bot "));
    let bearer = token
        .and_then(|t| t.strip_prefix("Bearer "))
        .and_then(|t| w.oauth.access(t));
    match policy {
        Policy::Interaction | Policy::Open => Ok(Caller::Nobody),
        Policy::Bot if bot => Ok(Caller::Bot),
        Policy::BotOrBearer if bot => Ok(Caller::Bot),
        Policy::BotOrBearer | Policy::Bearer => match bearer {
            Some((user, scopes)) => Ok(Caller::Bearer { user, scopes }),
            None => Err(DiscordError::unauthorized()),
        },
        Policy::Bot => Err(DiscordError::unauthorized()),
    }
}

/// The channel, guild or webhook a path is about: rate limits count each separately.
fn top_level_resource(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    for (i, part) in parts.iter().enumerate() {
        match *part {
            "channels" | "guilds" => return parts.get(i + 1).copied().unwrap_or("").to_owned(),
            "webhooks" => {
                return parts
                    .get(i + 1..i + 3)
                    .map(|p| p.join("/"))
                    .unwrap_or_default()
            }
            _ => {}
        }
    }
    String::new()
}

/// `/api/v10/channels/:channel/messages` as the docs write it: `/channels/{channel}/messages`.
pub fn doc_route(matched: &str) -> String {
    let trimmed = matched
        .strip_prefix("/api/v10")
        .or_else(|| matched.strip_prefix("/api"))
        .unwrap_or(matched);
    trimmed
        .split('/')
        .map(|s| match s.strip_prefix(':') {
            Some(name) => format!("{{{name}}}"),
            None => s.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Whether a channel PATCH changes `name` or `topic` (the rename bucket); the body is read and
/// put back for the handler.
async fn renames(req: Request) -> (bool, Request) {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let changed = serde_json::from_slice::<serde_json::Value>(&bytes)
        .map(|v| v.get("name").is_some() || v.get("topic").is_some())
        .unwrap_or(false);
    (changed, Request::from_parts(parts, Body::from(bytes)))
}

fn fault_response(fault: Fault, method: &str, route: &str) -> Response {
    match fault {
        Fault::Fail { status, code } => {
            DiscordError::new(status, code, "Injected by the sandbox").into_response()
        }
        Fault::RateLimit {
            global,
            retry_after,
        } => {
            let bucket = bucket_for(method, route, false);
            let secs = retry_after.as_secs_f64();
            let headers = (!global).then(|| Headers {
                limit: bucket.limit,
                remaining: 0,
                reset_after: secs,
                bucket: crate::rate_limits::bucket_hash(bucket.name),
            });
            limited_response(Limited {
                retry_after: secs,
                global,
                scope: if global { "global" } else { "user" },
                headers,
            })
        }
    }
}

/// A 429 as topics/rate-limits.mdx "Exceeding A Rate Limit" shows it.
pub fn limited_response(l: Limited) -> Response {
    let body = json!({ "message": "You are being rate limited.", "retry_after": l.retry_after,
        "global": l.global });
    let mut response = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
    let h = response.headers_mut();
    let retry = l.retry_after.ceil().max(1.0) as u64;
    insert(h, "retry-after", &retry.to_string());
    insert(h, "x-ratelimit-scope", l.scope);
    if l.global {
        insert(h, "x-ratelimit-global", "true");
    }
    if let Some(headers) = &l.headers {
        add_rate_headers(h, headers);
    }
    response
}

fn add_rate_headers(h: &mut HeaderMap, r: &Headers) {
    insert(h, "x-ratelimit-limit", &r.limit.to_string());
    insert(h, "x-ratelimit-remaining", &r.remaining.to_string());
    insert(
        h,
        "x-ratelimit-reset",
        &format!("{:.3}", reset_epoch(r.reset_after)),
    );
    insert(
        h,
        "x-ratelimit-reset-after",
        &format!("{:.3}", r.reset_after),
    );
    insert(h, "x-ratelimit-bucket", &r.bucket);
}

fn insert(h: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        h.insert(name, v);
    }
}

/// What a banned client gets: Cloudflare's page, not Discord's JSON.
fn banned() -> Response {
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        "error code: 1015 (you are being blocked from accessing the API temporarily)",
    )
        .into_response();
    insert(response.headers_mut(), "content-type", "text/html");
    response
}

/// Unserved routes: Discord's 404, recorded so tests can see what was asked.
pub async fn not_found(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    record_unserved(&shared, &req, DiscordError::not_found())
}

pub async fn method_not_allowed(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    record_unserved(&shared, &req, DiscordError::method_not_allowed())
}

fn record_unserved(shared: &Shared, req: &Request, error: DiscordError) -> Response {
    let status = error.status;
    let record = RequestRecord {
        method: req.method().to_string(),
        route: "unknown".to_owned(),
        path: req.uri().path().to_owned(),
        status,
        code: Some(0),
        at: SystemTime::now(),
        instant: Instant::now(),
        token: header(req.headers(), "authorization"),
    };
    tracing::warn!(method = %record.method, path = %record.path, "the sandbox does not serve this route");
    shared.write(|w| w.log.push(record));
    error.into_response()
}
