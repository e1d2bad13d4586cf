//! The driver: what casebot's demo, console and tests call to start a sandbox, set up people,
//! permissions and faults, and steer the gateway. Acting as people is in `people` and
//! `interactions`, observing in `observe`.

mod commands;
mod interactions;
mod observe;
mod people;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

pub use observe::ThreadInfo;

use crate::error::DiscordError;
use crate::ids::BOT_USER;
use crate::options::Options;
use crate::world::dispatch::GUILDS;
use crate::world::model::{Member, Overwrite};
use crate::world::{json as wjson, Fault, Shared, World};

/// A running sandbox on 127.0.0.1. Clones share it; it lives as long as the runtime.
#[derive(Clone)]
pub struct Sandbox {
    shared: Arc<Shared>,
    addr: SocketAddr,
}

/// Where an injected 429 applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimitScope {
    /// Every route: `global: true`, `X-RateLimit-Global`.
    Global,
    /// The route of the request it lands on: `X-RateLimit-Scope: user`.
    Route,
}

impl Sandbox {
    /// Starts a sandbox with the default [`Options`].
    pub async fn start() -> std::io::Result<Sandbox> {
        Sandbox::start_with(Options::default()).await
    }

    pub async fn start_with(opts: Options) -> std::io::Result<Sandbox> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Shared::new(opts, format!("http://{addr}"));
        let app = crate::rest::router(shared.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "the Discord sandbox stopped serving");
            }
        });
        Ok(Sandbox { shared, addr })
    }

    /// Where serenity's HTTP proxy setting points: the sandbox stands in for https://discord.com.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The gateway URL, as `GET /gateway` gives it.
    pub fn gateway_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    fn read<R>(&self, f: impl FnOnce(&World) -> R) -> R {
        self.shared.read(f)
    }

    fn write<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        self.shared.write(f)
    }

    /// Adds a person, a member of the public server (where customers come from).
    pub fn person(&self, name: &str) -> u64 {
        self.account(name, false)
    }

    /// Adds another bot account (whose messages casebot must ignore), in the public server.
    pub fn other_bot(&self, name: &str) -> u64 {
        self.account(name, true)
    }

    fn account(&self, name: &str, bot: bool) -> u64 {
        self.write(|w| {
            let id = w.next_id();
            crate::world::setup_user(w, id, name, bot);
            join(w, crate::ids::PUBLIC_GUILD, id, &[]);
            id
        })
    }

    /// Makes `user` a member of `guild` with `roles`.
    pub fn join(&self, guild: u64, user: u64, roles: &[u64]) {
        self.write(|w| join(w, guild, user, roles));
    }

    /// Gives a member new roles; GUILD_MEMBER_UPDATE goes out (to a bot without GUILD_MEMBERS
    /// only for its own member).
    pub fn set_roles(&self, guild: u64, user: u64, roles: &[u64]) {
        self.write(|w| {
            if let Some(m) = w
                .guilds
                .get_mut(&guild)
                .and_then(|g| g.members.get_mut(&user))
            {
                m.roles = roles.to_vec();
                w.member_update(guild, user);
            }
        });
    }

    /// Closes (or opens) a person's DMs to the bot: sends answer 50007.
    pub fn set_dms_closed(&self, user: u64, closed: bool) {
        self.write(|w| {
            if let Some(u) = w.users.get_mut(&user) {
                u.dms_closed = closed;
            }
        });
    }

    /// Sets the permissions of the bot's role in `guild` (what the invite URL granted).
    pub fn set_bot_permissions(&self, guild: u64, permissions: u64) {
        let role = self.read(|w| {
            w.guilds.get(&guild).and_then(|g| {
                g.roles
                    .values()
                    .find(|r| r.bot_id == Some(BOT_USER))
                    .map(|r| r.id)
            })
        });
        if let Some(role) = role {
            self.set_role_permissions(guild, role, permissions);
        }
    }

    /// Sets a role's guild-wide permissions (`guild` itself is `@everyone`).
    pub fn set_role_permissions(&self, guild: u64, role: u64, permissions: u64) {
        self.write(|w| {
            let Some(r) = w
                .guilds
                .get_mut(&guild)
                .and_then(|g| g.roles.get_mut(&role))
            else {
                return;
            };
            r.permissions = permissions;
            let data = json!({ "guild_id": guild.to_string(), "role": wjson::role(r) });
            w.simple_event("GUILD_ROLE_UPDATE", Some(guild), GUILDS, data);
        });
    }

    /// Adds a role to a guild.
    pub fn create_role(&self, guild: u64, name: &str, permissions: u64) -> u64 {
        self.write(|w| {
            let id = w.next_id();
            let role = crate::world::setup_role(id, name, permissions, 1);
            let data = json!({ "guild_id": guild.to_string(), "role": wjson::role(&role) });
            if let Some(g) = w.guilds.get_mut(&guild) {
                g.roles.insert(id, role);
            }
            w.simple_event("GUILD_ROLE_CREATE", Some(guild), GUILDS, data);
            id
        })
    }

    /// Deletes a role; members lose it.
    pub fn remove_role(&self, guild: u64, role: u64) {
        self.write(|w| {
            let Some(g) = w.guilds.get_mut(&guild) else {
                return;
            };
            if g.roles.remove(&role).is_none() {
                return;
            }
            for m in g.members.values_mut() {
                m.roles.retain(|r| *r != role);
            }
            let data = json!({ "guild_id": guild.to_string(), "role_id": role.to_string() });
            w.simple_event("GUILD_ROLE_DELETE", Some(guild), GUILDS, data);
        });
    }

    /// Sets a channel overwrite for a role (`member` false) or a member (`member` true).
    pub fn set_overwrite(&self, channel: u64, target: u64, member: bool, allow: u64, deny: u64) {
        self.write(|w| {
            let Some(ch) = w.channels.get_mut(&channel) else {
                return;
            };
            ch.overwrites.retain(|o| o.id != target);
            ch.overwrites.push(Overwrite {
                id: target,
                kind: u8::from(member),
                allow,
                deny,
            });
            w.channel_event("CHANNEL_UPDATE", channel, json!({}));
        });
    }

    /// Removes a channel overwrite.
    pub fn remove_overwrite(&self, channel: u64, target: u64) {
        self.write(|w| {
            if let Some(ch) = w.channels.get_mut(&channel) {
                ch.overwrites.retain(|o| o.id != target);
            }
            w.channel_event("CHANNEL_UPDATE", channel, json!({}));
        });
    }

    /// Adds a text channel to a guild (CHANNEL_CREATE).
    pub fn create_channel(&self, guild: u64, name: &str) -> u64 {
        self.write(|w| {
            let id = w.next_id();
            w.channels
                .insert(id, crate::world::setup_text(id, guild, name));
            w.channel_event("CHANNEL_CREATE", id, json!({}));
            id
        })
    }

    /// A moderator deletes a channel or thread: CHANNEL_DELETE or THREAD_DELETE goes out.
    pub fn delete_channel(&self, channel: u64) {
        self.write(|w| crate::rest::delete_channel(w, channel));
    }

    /// A moderator deletes a message: MESSAGE_DELETE goes out.
    pub fn delete_message(&self, message: u64) {
        self.write(|w| crate::rest::history::remove(w, message));
    }

    /// A moderator archives (or unarchives) a thread, and locks it if `locked`.
    pub fn archive_thread(&self, thread: u64, archived: bool, locked: bool) {
        self.write(|w| {
            if let Some(t) = w.channels.get_mut(&thread).and_then(|c| c.thread.as_mut()) {
                t.archived = archived;
                t.locked = locked;
                t.archive_ms = crate::ids::now_ms();
            }
            w.channel_event("THREAD_UPDATE", thread, json!({}));
        });
    }

    /// The bot's DM channel with `user`, opened if needed.
    pub fn dm_channel(&self, user: u64) -> u64 {
        self.write(|w| w.dm_channel(user))
    }

    /// Registers an OAuth2 redirect URI for the application.
    pub fn register_redirect_uri(&self, uri: &str) {
        self.write(|w| w.opts.oauth_redirect_uris.push(uri.to_owned()));
    }

    /// Makes `/oauth2/authorize` log `user` in at once and redirect back (no page), or, with
    /// `None`, show the page again.
    pub fn oauth_login_as(&self, user: Option<u64>) {
        self.write(|w| w.auto_login = user);
    }

    /// Makes the next `n` bot REST calls fail with `status` and Discord error `code`.
    pub fn fail_next(&self, n: usize, status: u16, code: u64) {
        self.write(|w| {
            for _ in 0..n {
                w.faults.push_back(Fault::Fail { status, code });
            }
        });
    }

    /// Makes the next `n` bot REST calls answer 429 with `retry_after`.
    pub fn rate_limit_next(&self, n: usize, scope: RateLimitScope, retry_after: Duration) {
        self.write(|w| {
            for _ in 0..n {
                w.faults.push_back(Fault::RateLimit {
                    global: scope == RateLimitScope::Global,
                    retry_after,
                });
            }
        });
    }

    /// Sends op 7 RECONNECT on every open gateway connection; the client should resume.
    pub fn send_reconnect(&self) {
        self.write(|w| w.send_op(&json!({ "op": 7, "d": null })));
    }

    /// Invalidates every session (op 9 `false`): clients must identify afresh.
    pub fn invalidate_sessions(&self) {
        self.write(|w| {
            w.send_op(&json!({ "op": 9, "d": false }));
            for s in &mut w.sessions {
                s.resumable = false;
            }
        });
    }

    /// Closes every open gateway connection with `code` (4000 lets clients resume).
    pub fn close_gateway(&self, code: u16) {
        self.write(|w| {
            for s in &w.sessions {
                if let Some((_, tx)) = &s.conn {
                    let _ = tx.send(crate::gateway::session::Outbound::Close(
                        code,
                        "Closed by the sandbox.",
                    ));
                }
            }
        });
    }
}

fn join(w: &mut World, guild: u64, user: u64, roles: &[u64]) {
    if let Some(g) = w.guilds.get_mut(&guild) {
        g.members.insert(
            user,
            Member {
                roles: roles.to_vec(),
                joined_ms: crate::ids::now_ms(),
            },
        );
    }
    let mut data = wjson::member(w, guild, user, true);
    data["guild_id"] = json!(guild.to_string());
    w.simple_event(
        "GUILD_MEMBER_ADD",
        Some(guild),
        crate::world::dispatch::GUILD_MEMBERS,
        data,
    );
}

/// A refusal of something the Discord client would not offer.
fn not_offered(what: &str) -> DiscordError {
    DiscordError::new(0, 0, what)
}
