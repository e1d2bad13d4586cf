//! `casebot setup`: the invite URL with exactly the scopes and permissions casebot needs (and why
//! each), and, with a bot token, a check through Discord's REST API that the configured staff
//! server, queue channel and roles exist and that the bot holds each permission it needs there,
//! naming any that is missing and how to fix it.

use serde_json::Value;

use super::rest::Rest;
use super::DiscordSettings;

/// A Discord permission casebot needs, with why.
pub struct Needed {
    pub bit: u64,
    pub name: &'static str,
    pub why: &'static str,
}

const VIEW_CHANNEL: u64 = 1 << 10;
const SEND_MESSAGES: u64 = 1 << 11;
const MANAGE_MESSAGES: u64 = 1 << 13;
const EMBED_LINKS: u64 = 1 << 14;
const ATTACH_FILES: u64 = 1 << 15;
const READ_MESSAGE_HISTORY: u64 = 1 << 16;
const MENTION_EVERYONE: u64 = 1 << 17;
const ADMINISTRATOR: u64 = 1 << 3;
const MANAGE_THREADS: u64 = 1 << 34;
const CREATE_PRIVATE_THREADS: u64 = 1 << 36;
const SEND_MESSAGES_IN_THREADS: u64 = 1 << 38;

/// What the bot needs in the staff server's queue channel.
pub const IN_QUEUE_CHANNEL: &[Needed] = &[
    Needed {
        bit: VIEW_CHANNEL,
        name: "View Channel",
        why: "to see the queue channel",
    },
    Needed {
        bit: SEND_MESSAGES,
        name: "Send Messages",
        why: "to post case cards and staff notices",
    },
    Needed {
        bit: EMBED_LINKS,
        name: "Embed Links",
        why: "case cards are embeds",
    },
    Needed {
        bit: ATTACH_FILES,
        name: "Attach Files",
        why: "to relay customers' photos and files into case threads",
    },
    Needed {
        bit: READ_MESSAGE_HISTORY,
        name: "Read Message History",
        why: "to edit cards and read a thread's history",
    },
    Needed {
        bit: CREATE_PRIVATE_THREADS,
        name: "Create Private Threads",
        why: "each case gets a private thread",
    },
    Needed {
        bit: SEND_MESSAGES_IN_THREADS,
        name: "Send Messages in Threads",
        why: "to mirror the customer's messages and notes there",
    },
    Needed {
        bit: MANAGE_THREADS,
        name: "Manage Threads",
        why: "to add the claimer (and leads) to a case's private thread and take them out again",
    },
];

/// What the bot needs where customers mention it.
pub const IN_PUBLIC_CHANNELS: &[Needed] = &[
    Needed {
        bit: VIEW_CHANNEL,
        name: "View Channel",
        why: "to see mentions",
    },
    Needed {
        bit: SEND_MESSAGES,
        name: "Send Messages",
        why: "to acknowledge a mention",
    },
    Needed {
        bit: READ_MESSAGE_HISTORY,
        name: "Read Message History",
        why: "to answer a mention as a reply to it",
    },
    Needed {
        bit: MANAGE_MESSAGES,
        name: "Manage Messages",
        why:
            "to take down a public post that shows a card number, e-mail, phone number or password",
    },
];

/// The OAuth2 scopes of the invite: the bot itself, and its slash commands.
pub const SCOPES: &[(&str, &str)] = &[
    ("bot", "casebot joins the server as a bot user"),
    (
        "applications.commands",
        "the staff slash commands (/reply, /claim, /case, ...)",
    ),
];

/// Every permission of the invite.
pub fn invite_permissions() -> u64 {
    IN_QUEUE_CHANNEL
        .iter()
        .chain(IN_PUBLIC_CHANNELS)
        .fold(0, |bits, n| bits | n.bit)
}

/// The invite URL for the application `client_id`.
pub fn invite_url(client_id: &str) -> String {
    let scopes: Vec<&str> = SCOPES.iter().map(|(s, _)| *s).collect();
    format!(
        "https://discord.com/oauth2/authorize?client_id={client_id}&scope={}&permissions={}",
        scopes.join("%20"),
        invite_permissions()
    )
}

/// The application id a bot token belongs to: its first part is the bot user's id in base64
/// (for a bot made in the Developer Portal the user and the application share the id).
pub fn client_id_of(token: &str) -> Option<String> {
    use base64::Engine;
    let first = token.split('.').next()?;
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(first.trim_end_matches('='))
        .ok()?;
    let id = String::from_utf8(bytes).ok()?;
    id.chars().all(|c| c.is_ascii_digit()).then_some(id)
}

/// One finding of the check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    Ok(String),
    Missing { what: String, fix: String },
}

/// A channel's permission overwrite.
struct Overwrite {
    id: u64,
    allow: u64,
    deny: u64,
}

/// The permissions a member with `roles` has in a channel, computed as Discord's documentation
/// describes: the base from `@everyone` and the roles (administrators have everything), then the
/// channel's overwrites for `@everyone`, for the roles, and for the member, in that order.
fn permissions_in(
    guild: u64,
    owner: bool,
    member: (u64, &[u64]),
    role_perms: &[(u64, u64)],
    overwrites: &[Overwrite],
) -> u64 {
    if owner {
        return u64::MAX;
    }
    let (member_id, roles) = member;
    let of = |role: u64| {
        role_perms
            .iter()
            .find(|(id, _)| *id == role)
            .map_or(0, |r| r.1)
    };
    let mut base = of(guild);
    for role in roles {
        base |= of(*role);
    }
    if base & ADMINISTRATOR != 0 {
        return u64::MAX;
    }
    let mut perms = base;
    if let Some(everyone) = overwrites.iter().find(|o| o.id == guild) {
        perms = (perms & !everyone.deny) | everyone.allow;
    }
    let (mut allow, mut deny) = (0, 0);
    for o in overwrites.iter().filter(|o| roles.contains(&o.id)) {
        allow |= o.allow;
        deny |= o.deny;
    }
    perms = (perms & !deny) | allow;
    if let Some(mine) = overwrites.iter().find(|o| o.id == member_id) {
        perms = (perms & !mine.deny) | mine.allow;
    }
    perms
}

fn bits(value: &Value) -> u64 {
    value
        .as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| value.as_u64())
        .unwrap_or(0)
}

fn id(value: &Value) -> u64 {
    bits(value)
}

/// Checks the staff server through the REST API as the bot sees it.
pub async fn check(rest: &Rest, settings: &DiscordSettings) -> Vec<Finding> {
    let mut found = Vec::new();
    let me = match rest.get("/users/@me").await {
        Ok(me) => me,
        Err(e) => {
            found.push(Finding::Missing {
                what: format!("a working bot token ({e})"),
                fix: "set DISCORD_TOKEN to the token under Bot in the Developer Portal".into(),
            });
            return found;
        }
    };
    found.push(Finding::Ok(format!(
        "the token belongs to {}",
        me["username"].as_str().unwrap_or("the bot")
    )));
    let guild = settings.staff_guild;
    let server = match rest.get(&format!("/guilds/{guild}")).await {
        Ok(server) => server,
        Err(e) => {
            found.push(Finding::Missing { what: format!("the staff server {guild} ({e})"), fix: "invite casebot with the URL above, and set discord.staff_guild_id to the server's id".into() });
            return found;
        }
    };
    found.push(Finding::Ok(format!(
        "casebot is in the staff server {}",
        server["name"].as_str().unwrap_or_default()
    )));
    let roles = rest
        .get(&format!("/guilds/{guild}/roles"))
        .await
        .unwrap_or(Value::Null);
    let role_perms: Vec<(u64, u64)> = roles
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| (id(&r["id"]), bits(&r["permissions"])))
        .collect();
    for (key, role) in [
        ("discord.staff_role_id", settings.staff_role),
        ("discord.lead_role_id", settings.lead_role),
    ] {
        match roles
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| id(&r["id"]) == role)
        {
            Some(r) => found.push(Finding::Ok(format!(
                "{key} is the role {}",
                r["name"].as_str().unwrap_or_default()
            ))),
            None => found.push(Finding::Missing {
                what: format!("the role {role} ({key})"),
                fix: format!("create it in Server Settings → Roles and set {key} to its id"),
            }),
        }
    }
    check_queue_channel(rest, settings, &server, &role_perms, &me, &mut found).await;
    found
}

async fn check_queue_channel(
    rest: &Rest,
    settings: &DiscordSettings,
    server: &Value,
    role_perms: &[(u64, u64)],
    me: &Value,
    found: &mut Vec<Finding>,
) {
    let guild = settings.staff_guild;
    let channels = rest
        .get(&format!("/guilds/{guild}/channels"))
        .await
        .unwrap_or(Value::Null);
    let Some(queue) = channels
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| id(&c["id"]) == settings.queue_channel)
    else {
        found.push(Finding::Missing {
            what: format!(
                "the queue channel {} (discord.queue_channel_id)",
                settings.queue_channel
            ),
            fix: "create a text channel for cards and set discord.queue_channel_id to its id"
                .into(),
        });
        return;
    };
    found.push(Finding::Ok(format!(
        "the queue channel is #{}",
        queue["name"].as_str().unwrap_or_default()
    )));
    let bot = id(&me["id"]);
    let member = rest
        .get(&format!("/guilds/{guild}/members/{bot}"))
        .await
        .unwrap_or(Value::Null);
    let roles: Vec<u64> = member["roles"]
        .as_array()
        .into_iter()
        .flatten()
        .map(id)
        .collect();
    let overwrites: Vec<Overwrite> = queue["permission_overwrites"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| Overwrite {
            id: id(&o["id"]),
            allow: bits(&o["allow"]),
            deny: bits(&o["deny"]),
        })
        .collect();
    let owner = id(&server["owner_id"]) == bot;
    let perms = permissions_in(guild, owner, (bot, &roles), role_perms, &overwrites);
    for needed in IN_QUEUE_CHANNEL {
        if perms & needed.bit == needed.bit {
            found.push(Finding::Ok(format!("{} in the queue channel", needed.name)));
        } else {
            found.push(Finding::Missing {
                what: format!("{} in the queue channel ({})", needed.name, needed.why),
                fix: format!("give casebot's role {} (Server Settings → Roles, or the channel's permissions)", needed.name),
            });
        }
    }
    let staff_role = role_perms.iter().any(|(r, _)| *r == settings.staff_role);
    if staff_role && perms & MENTION_EVERYONE == 0 {
        found.push(Finding::Ok("staff notices ping the staff role if it is mentionable (Server Settings → Roles → Allow anyone to @mention this role)".into()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_invite_asks_for_exactly_what_casebot_uses() {
        let url = invite_url("123");
        assert!(
            url.contains("client_id=123") && url.contains("scope=bot%20applications.commands"),
            "{url}"
        );
        let perms = invite_permissions();
        assert_eq!(perms & ADMINISTRATOR, 0, "never administrator");
        assert_ne!(perms & MANAGE_THREADS, 0);
        assert!(url.ends_with(&format!("permissions={perms}")));
    }

    #[test]
    fn a_token_names_its_application() {
        assert_eq!(
            client_id_of("OTAwMDAwMDAwMDAwMDAwMDAx.x.y").as_deref(),
            Some("900000000000000001")
        );
        assert_eq!(client_id_of("not a token"), None);
    }

    #[test]
    fn channel_overwrites_apply_in_discords_order() {
        let guild = 1;
        let roles = [(guild, VIEW_CHANNEL | SEND_MESSAGES), (5, EMBED_LINKS)];
        let overwrites = [
            Overwrite {
                id: guild,
                allow: 0,
                deny: SEND_MESSAGES,
            },
            Overwrite {
                id: 5,
                allow: SEND_MESSAGES,
                deny: 0,
            },
        ];
        let with_role = permissions_in(guild, false, (9, &[5]), &roles, &overwrites);
        assert_eq!(
            with_role & SEND_MESSAGES,
            SEND_MESSAGES,
            "a role's allow beats @everyone's deny"
        );
        let without = permissions_in(guild, false, (9, &[]), &roles, &overwrites);
        assert_eq!(without & SEND_MESSAGES, 0);
        let mine = [Overwrite {
            id: 9,
            allow: 0,
            deny: VIEW_CHANNEL,
        }];
        assert_eq!(
            permissions_in(guild, false, (9, &[5]), &roles, &mine) & VIEW_CHANNEL,
            0,
            "the member's own deny comes last"
        );
    }
}
