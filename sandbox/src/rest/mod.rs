//! The REST API under `/api/v10`: the routes the sandbox serves, grouped by who may call them,
//! and Discord's 404 and 405 for everything else.

pub mod body;
pub mod cdn;
mod channels;
mod commands;
mod compose;
mod guilds;
pub mod history;
mod interactions;
pub mod layer;
mod messages;
pub mod threads;
mod users;
mod webhooks;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use axum::Router;

use crate::world::Shared;
use layer::Policy;

pub use channels::delete_channel;

const V10: &str = "/api/v10";

fn group(shared: &Arc<Shared>, policy: Policy, routes: Router<Arc<Shared>>) -> Router<Arc<Shared>> {
    routes.route_layer(from_fn_with_state((shared.clone(), policy), layer::layer))
}

fn bot_routes() -> Router<Arc<Shared>> {
    let r = |p: &str| format!("{V10}{p}");
    Router::new()
        .route(&r("/gateway/bot"), get(users::gateway_bot))
        .route(&r("/users/:user"), get(users::user))
        .route(&r("/users/@me/channels"), post(users::create_dm))
        .route(&r("/oauth2/applications/@me"), get(users::application))
        .route(&r("/applications/@me"), get(users::application))
        .route(
            &r("/applications/:app/commands"),
            get(commands::list)
                .put(commands::overwrite)
                .post(commands::create),
        )
        .route(
            &r("/applications/:app/commands/:command"),
            get(commands::get)
                .patch(commands::edit)
                .delete(commands::delete),
        )
        .route(
            &r("/applications/:app/guilds/:guild/commands"),
            get(commands::list)
                .put(commands::overwrite)
                .post(commands::create),
        )
        .route(
            &r("/applications/:app/guilds/:guild/commands/:command"),
            get(commands::get)
                .patch(commands::edit)
                .delete(commands::delete),
        )
        .route(
            &r("/channels/:channel"),
            get(channels::get)
                .patch(channels::modify)
                .delete(channels::delete),
        )
        .route(&r("/channels/:channel/typing"), post(channels::typing))
        .route(
            &r("/channels/:channel/messages"),
            get(history::list).post(messages::create),
        )
        .route(
            &r("/channels/:channel/messages/bulk-delete"),
            post(history::bulk_delete),
        )
        .route(
            &r("/channels/:channel/messages/:message"),
            get(history::get)
                .patch(history::edit)
                .delete(history::delete),
        )
        .route(
            &r("/channels/:channel/messages/:message/threads"),
            post(threads::from_message),
        )
        .route(&r("/channels/:channel/threads"), post(threads::create))
        .route(
            &r("/channels/:channel/thread-members"),
            get(threads::list_members),
        )
        .route(
            &r("/channels/:channel/thread-members/:user"),
            get(threads::get_member)
                .put(threads::add_member)
                .delete(threads::remove_member),
        )
        .route(&r("/guilds/:guild"), get(guilds::get))
        .route(&r("/guilds/:guild/roles"), get(guilds::roles))
        .route(&r("/guilds/:guild/channels"), get(guilds::channels))
        .route(&r("/guilds/:guild/members"), get(guilds::members))
        .route(&r("/guilds/:guild/members/:user"), get(guilds::member))
        .route(
            &r("/guilds/:guild/threads/active"),
            get(guilds::active_threads),
        )
}

fn interaction_routes() -> Router<Arc<Shared>> {
    let r = |p: &str| format!("{V10}{p}");
    Router::new()
        .route(
            &r("/interactions/:id/:token/callback"),
            post(interactions::callback),
        )
        .route(&r("/webhooks/:app/:token"), post(webhooks::followup))
        .route(
            &r("/webhooks/:app/:token/messages/:message"),
            get(webhooks::get)
                .patch(webhooks::edit)
                .delete(webhooks::delete),
        )
}

pub fn router(shared: Arc<Shared>) -> Router {
    let either = Router::new()
        .route(&format!("{V10}/users/@me"), get(users::me))
        .route(&format!("{V10}/users/@me/guilds"), get(users::my_guilds));
    let bearer = Router::new()
        .route(
            &format!("{V10}/users/@me/guilds/:guild/member"),
            get(users::my_member),
        )
        .route(
            &format!("{V10}/oauth2/@me"),
            get(crate::oauth2::authorization_info),
        );
    let open = Router::new()
        .route(&format!("{V10}/gateway"), get(users::gateway))
        .route(&format!("{V10}/oauth2/token"), post(crate::oauth2::token))
        .route("/api/oauth2/token", post(crate::oauth2::token))
        .route(
            &format!("{V10}/oauth2/token/revoke"),
            post(crate::oauth2::revoke),
        )
        .route("/api/oauth2/token/revoke", post(crate::oauth2::revoke));
    Router::new()
        .merge(group(&shared, Policy::Bot, bot_routes()))
        .merge(group(&shared, Policy::BotOrBearer, either))
        .merge(group(&shared, Policy::Bearer, bearer))
        .merge(group(&shared, Policy::Interaction, interaction_routes()))
        .merge(group(&shared, Policy::Open, open))
        .route("/ws", get(crate::gateway::upgrade))
        .route("/attachments/:channel/:id/:filename", get(cdn::serve))
        .route(
            "/oauth2/authorize",
            get(crate::oauth2::authorize_page).post(crate::oauth2::authorize_choice),
        )
        .route(
            "/api/oauth2/authorize",
            get(crate::oauth2::authorize_page).post(crate::oauth2::authorize_choice),
        )
        .fallback(layer::not_found)
        .method_not_allowed_fallback(layer::method_not_allowed)
        .layer(DefaultBodyLimit::max(body::MAX_REQUEST + (1 << 20)))
        .with_state(shared)
}
