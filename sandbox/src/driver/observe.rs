//! Observing the sandbox: messages, threads, who sees what, interaction answers, registered
//! commands, gateway sessions, the request log; and waiting for a change.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::Sandbox;
use crate::ids::BOT_USER;
use crate::permissions;
use crate::world::model::Message;
use crate::world::records::{Answer, RequestRecord, SessionInfo};

/// A thread as tests look at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadInfo {
    pub id: u64,
    pub parent: u64,
    pub guild: u64,
    pub name: String,
    /// 11 public, 12 private.
    pub kind: u8,
    pub owner: u64,
    pub members: Vec<u64>,
    pub archived: bool,
    pub locked: bool,
    pub invitable: bool,
}

impl Sandbox {
    /// The live messages of a channel that everyone there sees (no ephemeral ones), oldest
    /// first.
    pub fn messages_in(&self, channel: u64) -> Vec<Message> {
        self.read(|w| {
            w.messages
                .values()
                .filter(|m| m.channel_id == channel && !m.deleted && !m.ephemeral())
                .cloned()
                .collect()
        })
    }

    /// A message, deleted or not.
    pub fn message(&self, id: u64) -> Option<Message> {
        self.read(|w| w.messages.get(&id).cloned())
    }

    /// What the bot sent `user` by DM.
    pub fn bot_dms(&self, user: u64) -> Vec<Message> {
        let channel = self.read(|w| w.dm_of.get(&user).copied());
        channel.map_or_else(Vec::new, |c| {
            self.messages_in(c)
                .into_iter()
                .filter(|m| m.author_id == BOT_USER)
                .collect()
        })
    }

    /// Every thread, oldest first.
    pub fn threads(&self) -> Vec<ThreadInfo> {
        self.read(|w| {
            w.channels
                .values()
                .filter_map(|c| {
                    let t = c.thread.as_ref()?;
                    Some(ThreadInfo {
                        id: c.id,
                        parent: c.parent.unwrap_or_default(),
                        guild: c.guild.unwrap_or_default(),
                        name: c.name.clone(),
                        kind: c.kind as u8,
                        owner: t.owner,
                        members: t.members.keys().copied().collect(),
                        archived: t.archived,
                        locked: t.locked,
                        invitable: t.invitable,
                    })
                })
                .collect()
        })
    }

    /// A thread's members.
    pub fn thread_members(&self, thread: u64) -> Vec<u64> {
        self.read(|w| {
            w.channels
                .get(&thread)
                .and_then(|c| c.thread.as_ref())
                .map(|t| t.members.keys().copied().collect())
                .unwrap_or_default()
        })
    }

    /// Whether `user` can see `channel` (a private thread: only members and MANAGE_THREADS).
    pub fn can_see(&self, user: u64, channel: u64) -> bool {
        self.read(|w| permissions::can_view(w, user, channel))
    }

    /// What `user` may do in `channel`, implicit rules applied.
    pub fn permissions_in(&self, user: u64, channel: u64) -> u64 {
        self.read(|w| permissions::effective(w, user, channel))
    }

    /// The accepted answers to an interaction, in order.
    pub fn interaction_answers(&self, interaction: u64) -> Vec<Answer> {
        self.read(|w| {
            w.interactions
                .get(&interaction)
                .map(|i| i.answers.clone())
                .unwrap_or_default()
        })
    }

    /// The original response message of an interaction.
    pub fn interaction_response(&self, interaction: u64) -> Option<Message> {
        self.read(|w| {
            let id = w.interactions.get(&interaction)?.original?;
            w.messages.get(&id).cloned()
        })
    }

    /// The commands registered globally (`None`) or for a guild.
    pub fn registered_commands(&self, scope: Option<u64>) -> Vec<Value> {
        self.read(|w| w.commands.get(&scope).cloned().unwrap_or_default())
    }

    /// Every REST request so far.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.read(|w| w.log.clone())
    }

    /// Requests for routes the sandbox does not serve.
    pub fn unknown_requests(&self) -> Vec<RequestRecord> {
        self.read(|w| {
            w.log
                .iter()
                .filter(|r| r.route == "unknown")
                .cloned()
                .collect()
        })
    }

    /// Invalid requests (401, 403, 429) in the last 10 minutes, as Discord counts them.
    pub fn invalid_requests(&self) -> usize {
        self.read(|w| w.limits.invalid_count(Instant::now()))
    }

    /// Every message the bot made, deleted and ephemeral ones too.
    pub fn everything_the_bot_said(&self) -> Vec<Message> {
        self.read(|w| {
            w.messages
                .values()
                .filter(|m| m.author_id == BOT_USER)
                .cloned()
                .collect()
        })
    }

    /// Every gateway connection so far.
    pub fn sessions(&self) -> Vec<SessionInfo> {
        self.read(|w| w.connections.clone())
    }

    /// Waits until `check` holds, up to `limit`; returns whether it did.
    pub async fn wait_for(&self, limit: Duration, mut check: impl FnMut(&Sandbox) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let changed = self.shared.changed.notified();
            if check(self) {
                return true;
            }
            tokio::select! {
                _ = changed => {}
                _ = tokio::time::sleep(Duration::from_millis(25)) => {}
                _ = tokio::time::sleep_until(deadline) => return check(self),
            }
        }
    }
}
