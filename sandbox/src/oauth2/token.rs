//! The token endpoints (topics/oauth2.mdx "Access Token Exchange", "Refresh Token Exchange",
//! "Token Revocation"): form bodies only, the client authenticated by HTTP Basic or in the form,
//! codes single-use and short-lived, PKCE verifiers checked.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{Grant, Params, CODE_LIFETIME, TOKEN_LIFETIME};
use crate::ids::{OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET};
use crate::world::{Shared, World};

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

/// The form of a token request, and whether the client authenticated (HTTP Basic or
/// `client_id` and `client_secret` in the form).
fn token_form(headers: &HeaderMap, body: &[u8]) -> Result<Params, Box<Response>> {
    let form_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    if !form_type {
        return Err(Box::new(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Content-Type must be application/x-www-form-urlencoded",
        )));
    }
    let p: Params = serde_urlencoded::from_bytes(body).map_err(|_| {
        Box::new(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Malformed form body",
        ))
    })?;
    let basic = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let (id, secret) = match basic.as_deref().and_then(|b| b.split_once(':')) {
        Some((i, s)) => (i.to_owned(), s.to_owned()),
        None => (
            p.get("client_id").cloned().unwrap_or_default(),
            p.get("client_secret").cloned().unwrap_or_default(),
        ),
    };
    if id != OAUTH_CLIENT_ID.to_string() || secret != OAUTH_CLIENT_SECRET {
        return Err(Box::new(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Invalid client credentials",
        )));
    }
    Ok(p)
}

pub async fn token(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let p = match token_form(&headers, &body) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    s.write(|w| match p.get("grant_type").map(String::as_str) {
        Some("authorization_code") => exchange(w, &p),
        Some("refresh_token") => refresh(w, &p),
        _ => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Unsupported grant type",
        ),
    })
}

fn exchange(w: &mut World, p: &Params) -> Response {
    let bad = |text: &str| oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", text);
    let code_text = p.get("code").cloned().unwrap_or_default();
    let Some(code) = w.oauth.codes.get_mut(&code_text) else {
        return bad("Invalid \"code\" in request.");
    };
    if code.used || code.created.elapsed() > CODE_LIFETIME {
        return bad("Invalid \"code\" in request.");
    }
    if p.get("redirect_uri") != Some(&code.redirect_uri) {
        return bad("Invalid \"redirect_uri\" in request.");
    }
    if let Some(challenge) = &code.challenge {
        let verifier = p
            .get("code_verifier")
            .map(String::as_str)
            .unwrap_or_default();
        let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        if verifier.is_empty() || &computed != challenge {
            return bad("Invalid \"code_verifier\" in request.");
        }
    }
    code.used = true;
    let (user, scopes) = (code.user, code.scopes.clone());
    issue(w, user, scopes)
}

fn refresh(w: &mut World, p: &Params) -> Response {
    let given = p.get("refresh_token").cloned().unwrap_or_default();
    let old = w
        .oauth
        .grants
        .iter()
        .find(|(_, g)| g.refresh == given && !given.is_empty())
        .map(|(a, g)| (a.clone(), g.user, g.scopes.clone()));
    let Some((access, user, scopes)) = old else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Invalid \"refresh_token\" in request.",
        );
    };
    w.oauth.grants.remove(&access);
    issue(w, user, scopes)
}

fn issue(w: &mut World, user: u64, scopes: Vec<String>) -> Response {
    let secret = w.secret.clone();
    let access = w.oauth.fresh(&secret, "access");
    let refresh = w.oauth.fresh(&secret, "refresh");
    let scope = scopes.join(" ");
    w.oauth.grants.insert(
        access.clone(),
        Grant {
            user,
            scopes,
            issued: Instant::now(),
            refresh: refresh.clone(),
        },
    );
    Json(json!({ "access_token": access, "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME.as_secs(), "refresh_token": refresh, "scope": scope }))
    .into_response()
}

/// Revoking either token revokes the whole authorization.
pub async fn revoke(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let p = match token_form(&headers, &body) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let token = p.get("token").cloned().unwrap_or_default();
    s.write(|w| {
        w.oauth
            .grants
            .retain(|access, g| *access != token && g.refresh != token);
    });
    Json(json!({})).into_response()
}
