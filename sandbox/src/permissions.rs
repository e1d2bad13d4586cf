//! Permission bits and their computation as topics/permissions.mdx describes: base permissions
//! from `@everyone` and roles, ADMINISTRATOR and the owner, channel overwrites (`@everyone`, roles,
//! member), threads inheriting their parent's (topics/threads.mdx), private threads hidden from
//! non-members without MANAGE_THREADS, and the implicit denials of VIEW_CHANNEL and SEND_MESSAGES.

use crate::world::model::{Channel, ChannelType};
use crate::world::World;

pub const CREATE_INSTANT_INVITE: u64 = 1 << 0;
pub const KICK_MEMBERS: u64 = 1 << 1;
pub const BAN_MEMBERS: u64 = 1 << 2;
pub const ADMINISTRATOR: u64 = 1 << 3;
pub const MANAGE_CHANNELS: u64 = 1 << 4;
pub const MANAGE_GUILD: u64 = 1 << 5;
pub const ADD_REACTIONS: u64 = 1 << 6;
pub const VIEW_AUDIT_LOG: u64 = 1 << 7;
pub const VIEW_CHANNEL: u64 = 1 << 10;
pub const SEND_MESSAGES: u64 = 1 << 11;
pub const SEND_TTS_MESSAGES: u64 = 1 << 12;
pub const MANAGE_MESSAGES: u64 = 1 << 13;
pub const EMBED_LINKS: u64 = 1 << 14;
pub const ATTACH_FILES: u64 = 1 << 15;
pub const READ_MESSAGE_HISTORY: u64 = 1 << 16;
pub const MENTION_EVERYONE: u64 = 1 << 17;
pub const USE_EXTERNAL_EMOJIS: u64 = 1 << 18;
pub const CHANGE_NICKNAME: u64 = 1 << 26;
pub const MANAGE_ROLES: u64 = 1 << 28;
pub const MANAGE_WEBHOOKS: u64 = 1 << 29;
pub const USE_APPLICATION_COMMANDS: u64 = 1 << 31;
pub const MANAGE_THREADS: u64 = 1 << 34;
pub const CREATE_PUBLIC_THREADS: u64 = 1 << 35;
pub const CREATE_PRIVATE_THREADS: u64 = 1 << 36;
pub const SEND_MESSAGES_IN_THREADS: u64 = 1 << 38;
pub const MODERATE_MEMBERS: u64 = 1 << 40;
pub const SEND_POLLS: u64 = 1 << 49;
pub const PIN_MESSAGES: u64 = 1 << 51;

/// Every permission bit the table in topics/permissions.mdx defines (bits 0-46 and 48-52).
pub const ALL: u64 = ((1 << 53) - 1) & !(1 << 47);

/// What `@everyone` may do in both sandbox servers: Discord's defaults for a new server.
pub const EVERYONE_DEFAULT: u64 = VIEW_CHANNEL
    | SEND_MESSAGES
    | READ_MESSAGE_HISTORY
    | ADD_REACTIONS
    | EMBED_LINKS
    | ATTACH_FILES
    | USE_EXTERNAL_EMOJIS
    | USE_APPLICATION_COMMANDS
    | CREATE_PUBLIC_THREADS
    | CREATE_PRIVATE_THREADS
    | SEND_MESSAGES_IN_THREADS
    | CHANGE_NICKNAME
    | CREATE_INSTANT_INVITE;

/// What casebot's invite URL grants its bot role in the staff server: reading and writing the
/// queue channel, making private case threads and managing them (adding staff, archiving).
pub const BOT_STAFF_DEFAULT: u64 = VIEW_CHANNEL
    | SEND_MESSAGES
    | SEND_MESSAGES_IN_THREADS
    | CREATE_PUBLIC_THREADS
    | CREATE_PRIVATE_THREADS
    | MANAGE_THREADS
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_APPLICATION_COMMANDS;

/// ... and in the public server: the same, plus MANAGE_MESSAGES to take down a customer's post
/// that shows personal data.
pub const BOT_PUBLIC_DEFAULT: u64 = BOT_STAFF_DEFAULT | MANAGE_MESSAGES;

/// A member's guild-wide permissions: `compute_base_permissions` of the docs.
pub fn base(w: &World, guild: u64, user: u64) -> u64 {
    let Some(g) = w.guilds.get(&guild) else {
        return 0;
    };
    if g.owner == user {
        return ALL;
    }
    let Some(member) = g.members.get(&user) else {
        return 0;
    };
    let mut perms = g.roles.get(&guild).map_or(0, |r| r.permissions);
    for role in &member.roles {
        perms |= g.roles.get(role).map_or(0, |r| r.permissions);
    }
    if perms & ADMINISTRATOR != 0 {
        return ALL;
    }
    perms
}

/// A member's permissions in a channel with overwrites applied, without implicit denials: what
/// interactions report as `member.permissions` and `app_permissions`.
pub fn explicit(w: &World, user: u64, channel: u64) -> u64 {
    let Some(ch) = w.channels.get(&channel) else {
        return 0;
    };
    let Some(guild) = ch.guild else {
        return 0;
    };
    // Threads take their parent's permissions (topics/threads.mdx "Permissions").
    let source = match (
        ch.kind.is_thread(),
        ch.parent.and_then(|p| w.channels.get(&p)),
    ) {
        (true, Some(parent)) => parent,
        _ => ch,
    };
    let base = base(w, guild, user);
    if base & ADMINISTRATOR != 0 || base == ALL {
        return ALL;
    }
    overwrites(w, base, guild, user, source)
}

fn overwrites(w: &World, base: u64, guild: u64, user: u64, ch: &Channel) -> u64 {
    let mut perms = base;
    if let Some(o) = ch.overwrites.iter().find(|o| o.kind == 0 && o.id == guild) {
        perms = (perms & !o.deny) | o.allow;
    }
    let roles = w
        .guilds
        .get(&guild)
        .and_then(|g| g.members.get(&user))
        .map(|m| m.roles.clone())
        .unwrap_or_default();
    let (mut allow, mut deny) = (0, 0);
    for o in ch
        .overwrites
        .iter()
        .filter(|o| o.kind == 0 && roles.contains(&o.id))
    {
        allow |= o.allow;
        deny |= o.deny;
    }
    perms = (perms & !deny) | allow;
    if let Some(o) = ch.overwrites.iter().find(|o| o.kind == 1 && o.id == user) {
        perms = (perms & !o.deny) | o.allow;
    }
    perms
}

/// What a member can actually do in a channel: [`explicit`] with the implicit rules on top
/// (no VIEW_CHANNEL means nothing; no right to send means no embeds, files, TTS or @everyone; a
/// private thread is invisible to a non-member without MANAGE_THREADS).
pub fn effective(w: &World, user: u64, channel: u64) -> u64 {
    let Some(ch) = w.channels.get(&channel) else {
        return 0;
    };
    if ch.kind == ChannelType::Dm {
        return dm_permissions(ch.recipient == Some(user) || user == crate::ids::BOT_USER);
    }
    let mut perms = explicit(w, user, channel);
    if perms & VIEW_CHANNEL == 0 {
        return 0;
    }
    if ch.kind == ChannelType::PrivateThread {
        let member = ch
            .thread
            .as_ref()
            .is_some_and(|t| t.members.contains_key(&user));
        if !member && perms & MANAGE_THREADS == 0 {
            return 0;
        }
    }
    let send = if ch.kind.is_thread() {
        SEND_MESSAGES_IN_THREADS
    } else {
        SEND_MESSAGES
    };
    if perms & send == 0 {
        perms &= !(MENTION_EVERYONE | SEND_TTS_MESSAGES | ATTACH_FILES | EMBED_LINKS);
    }
    perms
}

/// Permissions in a DM: the two ends may talk; `app_permissions` in a DM with the bot adds
/// ATTACH_FILES, EMBED_LINKS, MENTION_EVERYONE and USE_EXTERNAL_EMOJIS
/// (interactions/receiving-and-responding.mdx "Interaction Structure").
pub fn dm_permissions(party: bool) -> u64 {
    if !party {
        return 0;
    }
    VIEW_CHANNEL
        | SEND_MESSAGES
        | READ_MESSAGE_HISTORY
        | ADD_REACTIONS
        | ATTACH_FILES
        | EMBED_LINKS
        | MENTION_EVERYONE
        | USE_EXTERNAL_EMOJIS
}

/// Whether `user` can see `channel` at all.
pub fn can_view(w: &World, user: u64, channel: u64) -> bool {
    effective(w, user, channel) & VIEW_CHANNEL != 0
}

/// The permission a message needs to be sent in this channel.
pub fn send_permission(kind: ChannelType) -> u64 {
    if kind.is_thread() {
        SEND_MESSAGES_IN_THREADS
    } else {
        SEND_MESSAGES
    }
}
