//! OAuth2 for a staff dashboard logging in with Discord (topics/oauth2.mdx "Authorization Code
//! Grant"): `/oauth2/authorize` checks the client, the registered redirect URI, the response
//! type, the scopes and (a sandbox rule) a PKCE S256 challenge, then shows a page of people to log
//! in as; `/oauth2/token` exchanges a single-use, short-lived code (client_secret_basic or
//! client_secret_post, `code_verifier` checked) and refreshes; `/oauth2/token/revoke` revokes.

mod page;
mod token;

pub use token::{revoke, token};

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Extension, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::ids::{iso, now_ms, APPLICATION, OAUTH_CLIENT_ID};
use crate::rest::layer::Caller;
use crate::world::{json as wjson, Shared, World};

/// How long an authorization code may wait to be exchanged.
const CODE_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// `expires_in` of an access token: a week, as in the docs' example.
const TOKEN_LIFETIME: Duration = Duration::from_secs(604_800);

/// The scopes topics/oauth2.mdx lists.
const SCOPES: &[&str] = &[
    "activities.read",
    "activities.write",
    "applications.builds.read",
    "applications.builds.upload",
    "applications.commands",
    "applications.commands.update",
    "applications.commands.permissions.update",
    "applications.entitlements",
    "applications.store.update",
    "bot",
    "connections",
    "dm_channels.read",
    "email",
    "gdm.join",
    "guilds",
    "guilds.join",
    "guilds.members.read",
    "identify",
    "identify.premium",
    "messages.read",
    "relationships.read",
    "role_connections.write",
    "rpc",
    "rpc.activities.write",
    "rpc.notifications.read",
    "rpc.voice.read",
    "rpc.voice.write",
    "voice",
    "webhook.incoming",
];

struct Code {
    user: u64,
    scopes: Vec<String>,
    redirect_uri: String,
    challenge: Option<String>,
    created: Instant,
    used: bool,
}

struct Grant {
    user: u64,
    scopes: Vec<String>,
    issued: Instant,
    refresh: String,
}

#[derive(Default)]
pub struct OAuthState {
    codes: HashMap<String, Code>,
    grants: HashMap<String, Grant>,
    counter: u64,
}

impl OAuthState {
    /// The person and scopes behind a live access token.
    pub fn access(&self, token: &str) -> Option<(u64, Vec<String>)> {
        let g = self.grants.get(token)?;
        (g.issued.elapsed() < TOKEN_LIFETIME).then(|| (g.user, g.scopes.clone()))
    }

    fn fresh(&mut self, secret: &str, kind: &str) -> String {
        self.counter += 1;
        let digest =
            Sha256::digest(format!("{secret}{kind}{}{}", self.counter, now_ms()).as_bytes());
        URL_SAFE_NO_PAD.encode(&digest[..22])
    }
}

/// An authorization request's parameters.
pub type Params = HashMap<String, String>;

/// Why an authorization request cannot go on: shown as a page when the client or redirect URI
/// is wrong (nowhere safe to redirect), otherwise sent back to the redirect URI as `error`.
enum Refusal {
    Page(&'static str),
    Redirect(String, &'static str, String),
}

fn check_request(w: &World, p: &Params) -> Result<(String, Vec<String>), Refusal> {
    if p.get("client_id").and_then(|c| c.parse::<u64>().ok()) != Some(OAUTH_CLIENT_ID) {
        return Err(Refusal::Page("Unknown application: invalid client_id."));
    }
    let redirect = p.get("redirect_uri").cloned().unwrap_or_default();
    if !w.opts.oauth_redirect_uris.contains(&redirect) {
        return Err(Refusal::Page("Invalid OAuth2 redirect_uri."));
    }
    let refuse = |error, text: &str| Refusal::Redirect(redirect.clone(), error, text.to_owned());
    if p.get("response_type").map(String::as_str) != Some("code") {
        return Err(refuse(
            "unsupported_response_type",
            "response_type must be code",
        ));
    }
    let scopes: Vec<String> = p
        .get("scope")
        .map(|s| {
            s.split([' ', '+'])
                .filter(|x| !x.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if scopes.is_empty() || scopes.iter().any(|s| !SCOPES.contains(&s.as_str())) {
        return Err(refuse(
            "invalid_scope",
            "The requested scope is invalid, unknown, or malformed.",
        ));
    }
    let challenge = p.get("code_challenge");
    let method = p.get("code_challenge_method").map(String::as_str);
    if challenge.is_some() && method != Some("S256") {
        return Err(refuse(
            "invalid_request",
            "code_challenge_method must be S256",
        ));
    }
    if w.opts.require_pkce && challenge.is_none() {
        return Err(refuse(
            "invalid_request",
            "code_challenge (PKCE, S256) is required",
        ));
    }
    Ok((redirect, scopes))
}

fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut url = match url::Url::parse(uri) {
        Ok(u) => u,
        Err(_) => return uri.to_owned(),
    };
    for (k, v) in pairs {
        url.query_pairs_mut().append_pair(k, v);
    }
    url.to_string()
}

/// A 302 back to the application, as Discord's authorize screen sends.
fn found(location: &str) -> Response {
    (
        StatusCode::FOUND,
        [(axum::http::header::LOCATION, location.to_owned())],
    )
        .into_response()
}

fn refused(r: Refusal, state: Option<&String>) -> Response {
    match r {
        Refusal::Page(text) => (StatusCode::BAD_REQUEST, Html(page::error(text))).into_response(),
        Refusal::Redirect(uri, error, text) => {
            let mut pairs = vec![("error", error), ("error_description", text.as_str())];
            if let Some(s) = state {
                pairs.push(("state", s));
            }
            found(&with_query(&uri, &pairs))
        }
    }
}

/// Issues a code for `user` and sends the browser back with it and the `state`.
fn grant_code(
    w: &mut World,
    p: &Params,
    user: u64,
    redirect: String,
    scopes: Vec<String>,
) -> Response {
    let secret = w.secret.clone();
    let code = w.oauth.fresh(&secret, "code");
    w.oauth.codes.insert(
        code.clone(),
        Code {
            user,
            scopes,
            redirect_uri: redirect.clone(),
            challenge: p.get("code_challenge").cloned(),
            created: Instant::now(),
            used: false,
        },
    );
    let mut pairs = vec![("code", code.as_str())];
    if let Some(s) = p.get("state") {
        pairs.push(("state", s));
    }
    found(&with_query(&redirect, &pairs))
}

pub async fn authorize_page(State(s): State<Arc<Shared>>, Query(p): Query<Params>) -> Response {
    s.write(|w| match check_request(w, &p) {
        Err(r) => refused(r, p.get("state")),
        Ok((redirect, scopes)) => match w.auto_login {
            Some(user) => grant_code(w, &p, user, redirect, scopes),
            None => Html(page::chooser(w, &p)).into_response(),
        },
    })
}

/// The page's buttons post back here with the request and `user` (or `deny`).
pub async fn authorize_choice(
    State(s): State<Arc<Shared>>,
    axum::Form(p): axum::Form<Params>,
) -> Response {
    s.write(|w| match check_request(w, &p) {
        Err(r) => refused(r, p.get("state")),
        Ok((redirect, scopes)) => {
            let user = p.get("user").and_then(|u| u.parse::<u64>().ok());
            match user.filter(|u| w.users.get(u).is_some_and(|x| !x.bot)) {
                Some(user) => grant_code(w, &p, user, redirect, scopes),
                None => refused(
                    Refusal::Redirect(
                        redirect,
                        "access_denied",
                        "The resource owner denied the request".into(),
                    ),
                    p.get("state"),
                ),
            }
        }
    })
}

/// `GET /oauth2/@me` with a bearer token (topics/oauth2.mdx "Get Current Authorization
/// Information").
pub async fn authorization_info(
    State(s): State<Arc<Shared>>,
    Extension(caller): Extension<Caller>,
) -> Response {
    let Caller::Bearer { user, scopes } = caller else {
        return crate::error::DiscordError::unauthorized().into_response();
    };
    s.read(|w| {
        let expires = iso(now_ms() + TOKEN_LIFETIME.as_millis() as u64);
        let mut v: Value = json!({
            "application": { "id": APPLICATION.to_string(), "name": "casebot", "icon": null,
                "description": "casebot in the sandbox", "bot_public": false,
                "bot_require_code_grant": false, "verify_key": "0".repeat(64) },
            "scopes": scopes, "expires": expires,
        });
        if scopes.iter().any(|s| s == "identify") {
            v["user"] = wjson::user(w, user);
        }
        Json(v).into_response()
    })
}
