//! Making messages: storing them, the mentions their content makes as `allowed_mentions` lets
//! through (resources/message.mdx "Allowed Mentions Object"), attachments, and the channel and
//! thread bookkeeping a new message causes.

use std::sync::Arc;

use serde_json::Value;

use super::model::{Attachment, ChannelType, Message};
use super::World;
use crate::ids::{now_ms, snowflake};
use crate::permissions::{self, MENTION_EVERYONE};
use crate::rest::body::Upload;

/// Which mentions a message's content makes.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Mentions {
    pub users: Vec<u64>,
    pub roles: Vec<u64>,
    pub everyone: bool,
}

/// Resolves the mentions in `content`. Without `allowed`, regular messages parse everything and
/// interaction responses and webhooks parse users only.
pub fn mentions(
    w: &World,
    content: &str,
    allowed: Option<&Value>,
    interaction: bool,
    author: u64,
    channel: u64,
) -> Mentions {
    let default_parse: &[&str] = if interaction {
        &["users"]
    } else {
        &["users", "roles", "everyone"]
    };
    let parse: Vec<String> = match allowed {
        Some(a) => a["parse"]
            .as_array()
            .map(|p| {
                p.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        None => default_parse.iter().map(|s| s.to_string()).collect(),
    };
    let listed = |key: &str| -> Vec<u64> {
        allowed
            .and_then(|a| a[key].as_array())
            .map(|l| l.iter().filter_map(snowflake).collect())
            .unwrap_or_default()
    };
    let (users_in, roles_in) = scan(content);
    let users = if parse.iter().any(|p| p == "users") {
        users_in
    } else {
        let ok = listed("users");
        users_in.into_iter().filter(|u| ok.contains(u)).collect()
    };
    let guild = w.channels.get(&channel).and_then(|c| c.guild);
    let may_everyone = permissions::effective(w, author, channel) & MENTION_EVERYONE != 0;
    let roles = if parse.iter().any(|p| p == "roles") {
        roles_in
    } else {
        let ok = listed("roles");
        roles_in.into_iter().filter(|r| ok.contains(r)).collect()
    };
    let roles = roles
        .into_iter()
        .filter(|r| {
            let role = guild
                .and_then(|g| w.guilds.get(&g))
                .and_then(|g| g.roles.get(r));
            role.is_some_and(|role| role.mentionable || may_everyone)
        })
        .collect();
    let everyone = parse.iter().any(|p| p == "everyone")
        && may_everyone
        && (content.contains("@everyone") || content.contains("@here"));
    Mentions {
        users: users
            .into_iter()
            .filter(|u| w.users.contains_key(u))
            .collect(),
        roles,
        everyone,
    }
}

/// The user and role ids in `<@id>`, `<@!id>` and `<@&id>`, in order, without repeats.
fn scan(content: &str) -> (Vec<u64>, Vec<u64>) {
    let (mut users, mut roles) = (Vec::new(), Vec::new());
    let mut rest = content;
    while let Some(start) = rest.find("<@") {
        rest = &rest[start + 2..];
        let Some(end) = rest.find('>') else { break };
        let inner = &rest[..end];
        let (list, digits) = match inner.strip_prefix('&') {
            Some(d) => (&mut roles, d),
            None => (&mut users, inner.strip_prefix('!').unwrap_or(inner)),
        };
        if let Ok(id) = digits.parse::<u64>() {
            if !list.contains(&id) {
                list.push(id);
            }
        }
        rest = &rest[end..];
    }
    (users, roles)
}

/// A message with no content yet, to fill in.
pub fn blank(w: &World, channel: u64, author: u64) -> Message {
    Message {
        id: w.next_id(),
        channel_id: channel,
        guild_id: w.channels.get(&channel).and_then(|c| c.guild),
        author_id: author,
        content: String::new(),
        embeds: Vec::new(),
        components: Vec::new(),
        attachments: Vec::new(),
        mentions: Vec::new(),
        mention_roles: Vec::new(),
        mention_everyone: false,
        allowed_mentions: None,
        reply_to: None,
        kind: 0,
        flags: 0,
        nonce: None,
        tts: false,
        edited_ms: None,
        deleted: false,
        webhook_id: None,
        interaction: None,
        thread: None,
        poll: None,
    }
}

impl World {
    /// Stores a new message: the channel's last message, a thread's counts, membership and
    /// unarchiving ("sending a message will automatically unarchive the thread" and add the
    /// sender, topics/threads.mdx).
    pub fn store(&mut self, m: Message) -> u64 {
        let id = m.id;
        let (channel, author, ephemeral) = (m.channel_id, m.author_id, m.ephemeral());
        self.messages.insert(id, m);
        if ephemeral {
            return id;
        }
        if let Some(ch) = self.channels.get_mut(&channel) {
            ch.last_message_id = Some(id);
            if let Some(t) = ch.thread.as_mut() {
                t.message_count += 1;
                t.total_sent += 1;
                if t.archived && !t.locked {
                    t.archived = false;
                    t.archive_ms = now_ms();
                }
                t.members.entry(author).or_insert_with(now_ms);
            }
        }
        id
    }

    /// Keeps uploaded files and makes their attachment objects, taking `filename` and
    /// `description` from the `attachments` metadata whose `id` matches `files[n]`.
    pub fn store_files(
        &mut self,
        channel: u64,
        uploads: &[Upload],
        meta: &Value,
    ) -> Vec<Attachment> {
        let mut out = Vec::new();
        for u in uploads {
            let info = meta
                .as_array()
                .and_then(|l| l.iter().find(|a| snowflake(&a["id"]) == Some(u.index)));
            let id = self.next_id();
            let filename = info
                .and_then(|a| a["filename"].as_str())
                .unwrap_or(&u.filename)
                .to_owned();
            self.files.insert(id, (channel, Arc::new(u.bytes.clone())));
            out.push(Attachment {
                id,
                filename,
                size: u.bytes.len(),
                content_type: u.content_type.clone(),
                description: info
                    .and_then(|a| a["description"].as_str())
                    .map(str::to_owned),
            });
        }
        out
    }

    /// Whether the channel is a DM with a person whose DMs are closed to the bot (or a bot:
    /// bots cannot DM bots).
    pub fn dm_refused(&self, channel: u64) -> bool {
        let Some(ch) = self.channels.get(&channel) else {
            return false;
        };
        if ch.kind != ChannelType::Dm {
            return false;
        }
        let recipient = ch.recipient.and_then(|r| self.users.get(&r));
        recipient.is_none_or(|u| u.dms_closed || u.bot)
    }
}
