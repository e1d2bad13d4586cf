//! The world a sandbox starts with: the bot, the owner, the staff server with its queue channel
//! and roles, the public server with its channel.

use std::collections::{BTreeMap, HashMap, VecDeque};

use sha2::{Digest, Sha256};

use super::model::{Channel, ChannelType, Guild, Member, Role, User};
use super::World;
use crate::ids::*;
use crate::oauth2::OAuthState;
use crate::options::Options;
use crate::permissions::{BOT_PUBLIC_DEFAULT, BOT_STAFF_DEFAULT, EVERYONE_DEFAULT};
use crate::rate_limits::RateLimiter;

pub fn world(opts: Options, base_url: String) -> World {
    let secret = format!(
        "{:x}",
        Sha256::digest(format!("{base_url}{}", now_ms()).as_bytes())
    );
    let mut w = World {
        limits: RateLimiter::default(),
        opts,
        base_url,
        ids: Snowflakes::default(),
        users: BTreeMap::new(),
        guilds: BTreeMap::new(),
        channels: BTreeMap::new(),
        messages: BTreeMap::new(),
        files: HashMap::new(),
        dm_of: HashMap::new(),
        interactions: HashMap::new(),
        tokens: HashMap::new(),
        commands: BTreeMap::new(),
        nonces: HashMap::new(),
        sessions: Vec::new(),
        connections: Vec::new(),
        log: Vec::new(),
        faults: VecDeque::new(),
        oauth: OAuthState::default(),
        secret,
        auto_login: None,
    };
    add_user(&mut w, BOT_USER, "casebot", true);
    add_user(&mut w, GUILD_OWNER, "owner", false);
    let staff_bot = bot_permissions(&w, STAFF_GUILD, BOT_STAFF_DEFAULT);
    let public_bot = bot_permissions(&w, PUBLIC_GUILD, BOT_PUBLIC_DEFAULT);
    let mut staff = guild(STAFF_GUILD, "casebot staff", STAFF_BOT_ROLE, staff_bot);
    staff
        .roles
        .insert(STAFF_ROLE, role(STAFF_ROLE, "staff", 0, 1));
    staff.roles.insert(LEAD_ROLE, role(LEAD_ROLE, "lead", 0, 2));
    w.guilds.insert(STAFF_GUILD, staff);
    let public = guild(
        PUBLIC_GUILD,
        "casebot community",
        PUBLIC_BOT_ROLE,
        public_bot,
    );
    w.guilds.insert(PUBLIC_GUILD, public);
    w.channels.insert(
        QUEUE_CHANNEL,
        text(QUEUE_CHANNEL, STAFF_GUILD, "case-queue"),
    );
    w.channels.insert(
        PUBLIC_CHANNEL,
        text(PUBLIC_CHANNEL, PUBLIC_GUILD, "support"),
    );
    w
}

fn bot_permissions(w: &World, guild: u64, default: u64) -> u64 {
    w.opts
        .bot_permissions
        .iter()
        .find(|(g, _)| *g == guild)
        .map_or(default, |(_, p)| *p)
}

pub fn add_user(w: &mut World, id: u64, name: &str, bot: bool) {
    w.users.insert(
        id,
        User {
            id,
            name: name.to_owned(),
            bot,
            dms_closed: false,
            locale: "en-US".to_owned(),
        },
    );
}

pub fn role(id: u64, name: &str, permissions: u64, position: u32) -> Role {
    Role {
        id,
        name: name.to_owned(),
        permissions,
        position,
        mentionable: false,
        bot_id: None,
    }
}

fn guild(id: u64, name: &str, bot_role: u64, bot_perms: u64) -> Guild {
    let mut roles = BTreeMap::new();
    roles.insert(id, role(id, "@everyone", EVERYONE_DEFAULT, 0));
    let mut managed = role(bot_role, "casebot", bot_perms, 3);
    managed.bot_id = Some(BOT_USER);
    roles.insert(bot_role, managed);
    let mut members = BTreeMap::new();
    let joined_ms = now_ms();
    members.insert(
        GUILD_OWNER,
        Member {
            roles: vec![],
            joined_ms,
        },
    );
    members.insert(
        BOT_USER,
        Member {
            roles: vec![bot_role],
            joined_ms,
        },
    );
    Guild {
        id,
        name: name.to_owned(),
        owner: GUILD_OWNER,
        roles,
        members,
    }
}

pub fn text(id: u64, guild: u64, name: &str) -> Channel {
    Channel {
        id,
        kind: ChannelType::Text,
        name: name.to_owned(),
        guild: Some(guild),
        parent: None,
        position: 0,
        topic: None,
        overwrites: Vec::new(),
        last_message_id: None,
        recipient: None,
        thread: None,
        rate_limit_per_user: 0,
    }
}

pub fn dm(id: u64, user: u64) -> Channel {
    Channel {
        kind: ChannelType::Dm,
        guild: None,
        recipient: Some(user),
        name: String::new(),
        ..text(id, 0, "")
    }
}
