//! topics/oauth2.mdx "Authorization Code Grant" (with PKCE), resources/user.mdx bearer routes.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use casebot_sandbox::*;
use reqwest::Method;
use sha2::{Digest, Sha256};

use crate::support::*;

const REDIRECT: &str = "http://127.0.0.1:9/callback";
const VERIFIER: &str = "a-long-random-verifier-string-of-at-least-43-characters-xyz";

fn challenge() -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()))
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn authorize_url(sb: &Sandbox, scope: &str, with_pkce: bool) -> String {
    let mut url = url::Url::parse(&format!("{}/oauth2/authorize", sb.base_url())).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &OAUTH_CLIENT_ID.to_string())
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", scope)
        .append_pair("state", "xyz-state");
    if with_pkce {
        url.query_pairs_mut()
            .append_pair("code_challenge", &challenge())
            .append_pair("code_challenge_method", "S256");
    }
    url.to_string()
}

/// Follows the authorize step and returns the redirect's query pairs.
async fn authorize(sb: &Sandbox, scope: &str, with_pkce: bool) -> Vec<(String, String)> {
    let res = no_redirects()
        .get(authorize_url(sb, scope, with_pkce))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302, "a redirect back");
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(REDIRECT));
    url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn pair<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

async fn exchange(sb: &Sandbox, form: &[(&str, &str)], basic: bool) -> (u16, serde_json::Value) {
    let mut req = reqwest::Client::new().post(format!("{}/api/v10/oauth2/token", sb.base_url()));
    if basic {
        req = req.basic_auth(OAUTH_CLIENT_ID, Some(OAUTH_CLIENT_SECRET));
    }
    let res = req.form(form).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap_or_default())
}

#[tokio::test]
async fn the_code_flow_with_pkce_gives_a_bearer_token_for_the_person_who_logged_in() {
    let sb = sandbox().await;
    sb.register_redirect_uri(REDIRECT);
    let ana = sb.person("ana");
    sb.join(STAFF_GUILD, ana, &[STAFF_ROLE]);
    sb.oauth_login_as(Some(ana));
    let back = authorize(&sb, "identify guilds.members.read", true).await;
    assert_eq!(pair(&back, "state"), Some("xyz-state"));
    let code = pair(&back, "code").unwrap().to_owned();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let (status, token) = exchange(&sb, &form, true).await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["scope"], "identify guilds.members.read");
    assert!(token["expires_in"].as_u64().unwrap() > 0 && token["refresh_token"].is_string());
    let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());
    let me = call(&sb, Method::GET, "/users/@me", None, Some(&bearer)).await;
    assert_eq!(me.id(), ana);
    let member = call(
        &sb,
        Method::GET,
        &format!("/users/@me/guilds/{STAFF_GUILD}/member"),
        None,
        Some(&bearer),
    )
    .await;
    assert_eq!(
        member.body["roles"],
        serde_json::json!([STAFF_ROLE.to_string()])
    );
    call(
        &sb,
        Method::GET,
        &format!("/users/@me/guilds/{PUBLIC_GUILD}/member"),
        None,
        Some(&bearer),
    )
    .await;
    let outsider = sb.person("outsider");
    let _ = outsider;
    call(&sb, Method::GET, "/users/@me/guilds", None, Some(&bearer))
        .await
        .is_error(401, 0);
    call(
        &sb,
        Method::GET,
        &format!("/channels/{QUEUE_CHANNEL}"),
        None,
        Some(&bearer),
    )
    .await
    .is_error(401, 0);
    let (again, err) = exchange(&sb, &form, true).await;
    assert_eq!(
        (again, err["error"].as_str()),
        (400, Some("invalid_grant")),
        "a code is single-use"
    );
}

#[tokio::test]
async fn the_token_endpoint_checks_the_client_the_verifier_and_the_redirect_uri() {
    let sb = sandbox().await;
    sb.register_redirect_uri(REDIRECT);
    let ana = sb.person("ana");
    sb.oauth_login_as(Some(ana));
    let code = pair(&authorize(&sb, "identify", true).await, "code")
        .unwrap()
        .to_owned();
    let (s, e) = exchange(
        &sb,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
        false,
    )
    .await;
    assert_eq!((s, e["error"].as_str()), (401, Some("invalid_client")));
    let (s, e) = exchange(
        &sb,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", "wrong"),
        ],
        true,
    )
    .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
    let (s, _) = exchange(
        &sb,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://elsewhere/"),
            ("code_verifier", VERIFIER),
        ],
        true,
    )
    .await;
    assert_eq!(s, 400);
    let post_secret = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
        ("client_id", "900000000000000002"),
        ("client_secret", OAUTH_CLIENT_SECRET),
    ];
    let (s, token) = exchange(&sb, &post_secret, false).await;
    assert_eq!(s, 200, "client_secret_post works too: {token}");
    let refresh = token["refresh_token"].as_str().unwrap().to_owned();
    let (s, renewed) = exchange(
        &sb,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        true,
    )
    .await;
    assert_eq!(s, 200);
    let res = reqwest::Client::new()
        .post(format!("{}/api/v10/oauth2/token", sb.base_url()))
        .basic_auth(OAUTH_CLIENT_ID, Some(OAUTH_CLIENT_SECRET))
        .json(&serde_json::json!({ "grant_type": "refresh_token" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        400,
        "the token endpoint takes only form bodies"
    );
    let access = renewed["access_token"].as_str().unwrap().to_owned();
    let res = reqwest::Client::new()
        .post(format!("{}/api/v10/oauth2/token/revoke", sb.base_url()))
        .basic_auth(OAUTH_CLIENT_ID, Some(OAUTH_CLIENT_SECRET))
        .form(&[("token", access.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    call(
        &sb,
        Method::GET,
        "/users/@me",
        None,
        Some(&format!("Bearer {access}")),
    )
    .await
    .is_error(401, 0);
}

#[tokio::test]
async fn authorize_refuses_unknown_clients_unregistered_redirects_bad_scopes_and_missing_pkce() {
    let sb = sandbox().await;
    let page = no_redirects()
        .get(authorize_url(&sb, "identify", true))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 400, "the redirect URI is not registered");
    sb.register_redirect_uri(REDIRECT);
    let wrong_client =
        authorize_url(&sb, "identify", true).replace(&OAUTH_CLIENT_ID.to_string(), "1");
    assert_eq!(
        no_redirects()
            .get(wrong_client)
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    let back = authorize(&sb, "identify made.up", true).await;
    assert_eq!(pair(&back, "error"), Some("invalid_scope"));
    assert_eq!(pair(&back, "state"), Some("xyz-state"));
    let back = authorize(&sb, "identify", false).await;
    assert_eq!(pair(&back, "error"), Some("invalid_request"));
}

#[tokio::test]
async fn without_a_preselected_person_authorize_shows_a_page_with_a_button_each() {
    let sb = sandbox().await;
    sb.register_redirect_uri(REDIRECT);
    let ana = sb.person("ana");
    let page = reqwest::get(authorize_url(&sb, "identify", true))
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Log in as ana"));
    let mut form: Vec<(String, String)> = url::Url::parse(&authorize_url(&sb, "identify", true))
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    form.push(("user".into(), ana.to_string()));
    let res = no_redirects()
        .post(format!("{}/oauth2/authorize", sb.base_url()))
        .form(&form)
        .send()
        .await
        .unwrap();
    let location = res.headers()["location"].to_str().unwrap();
    assert!(location.contains("code=") && location.contains("state=xyz-state"));
}
