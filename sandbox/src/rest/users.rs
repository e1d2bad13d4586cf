//! Users and the application (resources/user.mdx "Get Current User", "Get User", "Create DM",
//! "Get Current User Guilds", "Get Current User Guild Member"; resources/application.mdx "Get
//! Current Application"; events/gateway.mdx "Get Gateway", "Get Gateway Bot").

use std::sync::Arc;

use axum::extract::{Extension, Path, State};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use super::body::{id, Body};
use super::layer::Caller;
use crate::error::{Answer, DiscordError};
use crate::gateway::session::application_flags;
use crate::ids::{snowflake, APPLICATION, BOT_USER, GUILD_OWNER};
use crate::permissions;
use crate::world::{json as wjson, Shared};

pub async fn gateway(State(s): State<Arc<Shared>>) -> Answer {
    let url = s.read(|w| format!("{}/ws", w.base_url.replacen("http", "ws", 1)));
    Ok(Json(json!({ "url": url })).into_response())
}

pub async fn gateway_bot(State(s): State<Arc<Shared>>) -> Answer {
    let url = s.read(|w| format!("{}/ws", w.base_url.replacen("http", "ws", 1)));
    Ok(
        Json(json!({ "url": url, "shards": 1, "session_start_limit": {
        "total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1 } }))
        .into_response(),
    )
}

/// `GET /users/@me`: the bot, or with a bearer token the person (`identify` scope; `email`
/// adds the email).
pub async fn me(State(s): State<Arc<Shared>>, Extension(caller): Extension<Caller>) -> Answer {
    s.read(|w| match &caller {
        Caller::Bearer { user, .. } if caller.has_scope("identify") => {
            let mut v = wjson::user(w, *user);
            v["locale"] = json!(w.user(*user)?.locale);
            v["mfa_enabled"] = json!(false);
            if caller.has_scope("email") {
                v["email"] = json!(format!("{}@sandbox.invalid", w.user(*user)?.name));
                v["verified"] = json!(true);
            }
            Ok(Json(v).into_response())
        }
        Caller::Bearer { .. } => Err(DiscordError::unauthorized()),
        _ => {
            let mut v = wjson::user(w, BOT_USER);
            v["verified"] = json!(true);
            v["mfa_enabled"] = json!(false);
            Ok(Json(v).into_response())
        }
    })
}

pub async fn user(State(s): State<Arc<Shared>>, Path(user): Path<String>) -> Answer {
    let user = id(&user, "user_id")?;
    s.read(|w| {
        w.user(user)?;
        Ok(Json(wjson::user(w, user)).into_response())
    })
}

/// `POST /users/@me/channels`: the DM channel with a person, the same one each time.
pub async fn create_dm(State(s): State<Arc<Shared>>, body: Body) -> Answer {
    let Some(recipient) = snowflake(&body.json["recipient_id"]) else {
        return Err(DiscordError::form(
            "recipient_id",
            "BASE_TYPE_REQUIRED",
            "This field is required",
        ));
    };
    s.write(|w| {
        w.user(recipient)?;
        if recipient == BOT_USER {
            return Err(DiscordError::new(400, 50033, "Invalid Recipient(s)"));
        }
        let channel = w.dm_channel(recipient);
        Ok(Json(wjson::channel(w, w.channel(channel)?)).into_response())
    })
}

/// `GET /users/@me/guilds`: partial guilds with the caller's guild-wide permissions.
pub async fn my_guilds(
    State(s): State<Arc<Shared>>,
    Extension(caller): Extension<Caller>,
) -> Answer {
    let user = match &caller {
        Caller::Bearer { user, .. } if caller.has_scope("guilds") => *user,
        Caller::Bearer { .. } => return Err(DiscordError::unauthorized()),
        _ => BOT_USER,
    };
    s.read(|w| {
        let list: Vec<Value> = w
            .guilds
            .values()
            .filter(|g| g.members.contains_key(&user))
            .map(|g| {
                json!({ "id": g.id.to_string(), "name": g.name, "icon": null, "banner": null,
                    "owner": g.owner == user, "features": [],
                    "permissions": permissions::base(w, g.id, user).to_string() })
            })
            .collect();
        Ok(Json(Value::Array(list)).into_response())
    })
}

/// `GET /users/@me/guilds/{guild}/member`: needs `guilds.members.read`; 10004 when the person
/// is not in the guild.
pub async fn my_member(
    State(s): State<Arc<Shared>>,
    Extension(caller): Extension<Caller>,
    Path(guild): Path<String>,
) -> Answer {
    let Caller::Bearer { user, .. } = &caller else {
        return Err(DiscordError::unauthorized());
    };
    if !caller.has_scope("guilds.members.read") {
        return Err(DiscordError::unauthorized());
    }
    let guild = id(&guild, "guild_id")?;
    s.read(|w| {
        if !w.is_member(guild, *user) {
            return Err(DiscordError::unknown_guild());
        }
        Ok(Json(wjson::member(w, guild, *user, true)).into_response())
    })
}

pub async fn application(State(s): State<Arc<Shared>>) -> Answer {
    s.read(|w| {
        let bot = wjson::user(w, BOT_USER);
        Ok(Json(json!({
            "id": APPLICATION.to_string(), "name": "casebot", "icon": null,
            "description": "casebot in the sandbox", "bot_public": false,
            "bot_require_code_grant": false, "bot": bot, "owner": wjson::user(w, GUILD_OWNER),
            "verify_key": "0".repeat(64), "team": null, "flags": application_flags(w),
            "redirect_uris": w.opts.oauth_redirect_uris.clone(),
            "interactions_endpoint_url": null, "role_connections_verification_url": null,
            "approximate_guild_count": w.guilds.len(), "integration_types_config": {
                "0": { "oauth2_install_params": { "scopes": ["applications.commands", "bot"],
                    "permissions": permissions::BOT_STAFF_DEFAULT.to_string() } } },
        }))
        .into_response())
    })
}
