//! Gateway events in, service calls out: customer DMs and mentions are taken in, staff messages
//! in a case thread become replies or notes, a deleted card or thread is put back, and on READY
//! the staff commands are registered and DMs sent while casebot was away are read.

use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serenity::all::{
    ChannelId, Context, EventHandler, GuildChannel, GuildId, Interaction, Message, MessageId,
    PartialGuildChannel, Ready,
};

use super::components;
use super::rest::Rest;
use super::{commands, DiscordSettings, GatewayState};
use crate::app::App;
use crate::domain::staff::{Role, StaffMember};
use crate::domain::views::DmCursor;
use crate::domain::{CaseId, ChannelKind, InboundMessage, StaffId, UserId};
use crate::services::errors::sentence;

pub(crate) struct Handler {
    pub(super) app: App,
    pub(super) settings: DiscordSettings,
    pub(super) rest: Rest,
    state: Arc<GatewayState>,
    bot: OnceLock<u64>,
}

/// The platform name casebot records Discord messages under.
pub const PLATFORM: &str = "discord";

impl Handler {
    pub(super) fn new(
        app: App,
        settings: DiscordSettings,
        rest: Rest,
        state: Arc<GatewayState>,
    ) -> Handler {
        Handler {
            app,
            settings,
            rest,
            state,
            bot: OnceLock::new(),
        }
    }

    /// Takes in a customer message, trying again through a passing outage (intake is
    /// idempotent on the message id). Returns whether personal data was removed from it.
    async fn take_in(&self, msg: InboundMessage) -> Option<bool> {
        let started = Instant::now();
        let mut pause = Duration::from_millis(250);
        let mut handled = self.app.intake.take_in(&msg).await;
        for _ in 0..7 {
            if !handled.as_ref().is_err_and(|e| e.is_transient()) {
                break;
            }
            tokio::time::sleep(pause).await;
            pause *= 2;
            handled = self.app.intake.take_in(&msg).await;
        }
        self.app.latency.observe(started.elapsed());
        match handled {
            Ok(handled) => Some(!handled.personal_data.is_empty()),
            Err(e) => {
                tracing::error!(message.id = %msg.message_id, error = %e, "a customer message failed");
                None
            }
        }
    }

    /// A public post that mentions the bot: taken in (redacted), and taken down when it held
    /// personal data and the bot may delete it.
    async fn public_mention(&self, msg: &Message, bot: u64) {
        let text = without_mention(&msg.content, bot);
        let inbound = inbound(msg, ChannelKind::Public, text);
        if self.take_in(inbound).await == Some(true) {
            let path = format!("/channels/{}/messages/{}", msg.channel_id, msg.id);
            if let Err(e) = self.rest.delete(&path).await {
                tracing::warn!(message.id = %msg.id, error = %e, "could not take the post down");
            }
        }
    }

    /// A message in the staff server. In a case thread, a message that reaches casebot with its
    /// text (it mentions the bot, or casebot reads message content) is a reply to the customer,
    /// or an internal note when it starts with the note prefix: the mention is removed first, so a
    /// note written `@casebot !note ...` stays a note.
    async fn staff_message(&self, msg: &Message, bot: u64) {
        let mentioned = msg.mentions.iter().any(|u| u.id.get() == bot);
        if !mentioned && !self.settings.message_content {
            // Discord sends it without its text: it was not for casebot.
            return;
        }
        let Ok(Some(case)) = self
            .app
            .cards
            .case_of_thread(&msg.channel_id.to_string())
            .await
        else {
            return;
        };
        let text = without_mention(&msg.content, bot);
        let staff = StaffId::new(msg.author.id.to_string());
        let roles: Vec<u64> = msg
            .member
            .as_ref()
            .map(|m| m.roles.iter().map(|r| r.get()).collect())
            .unwrap_or_default();
        if let Err(e) = self.sync_staff(&staff, &roles).await {
            tracing::error!(error = %e, "staff roles not synced");
            return;
        }
        let result = match text.strip_prefix(&self.settings.note_prefix) {
            Some(note) => self.app.staff.note(case, &staff, note).await,
            None => {
                self.app
                    .staff
                    .reply(case, &staff, &text, Some(&msg.id.to_string()))
                    .await
            }
        };
        if let Err(e) = result {
            let notice = format!("Not sent: {}", components::error_text(&e));
            if let Err(e) = self.app.cards.notice(case, &notice).await {
                tracing::warn!(case.id = %case, error = %e, "a refusal notice was not queued");
            }
        }
    }

    /// Brings the support-team directory in line with the person's roles on the staff server.
    pub(super) async fn sync_staff(
        &self,
        user: &StaffId,
        roles: &[u64],
    ) -> Result<(), crate::services::ActionError> {
        let member = staff_role(&self.settings, roles).map(|role| StaffMember {
            id: user.clone(),
            role,
        });
        self.app.staff.sync_staff(user, member.as_ref()).await
    }

    /// Reads the DMs customers sent while casebot was not connected, for every customer whose
    /// case a new DM could still join (active, or resolved within the reopen window): each DM
    /// channel from just after the latest message casebot stored.
    async fn recover_missed_dms(&self) {
        let window = chrono::Duration::hours(i64::from(self.app.config.cases.reopen_window_hours));
        let since = self.app.clock.now() - window;
        let cursors = match self.app.intake.dm_cursors(PLATFORM, since).await {
            Ok(cursors) => cursors,
            Err(e) => return tracing::warn!(error = %e, "missed DMs not looked up"),
        };
        for cursor in cursors {
            self.recover_channel(&cursor).await;
        }
    }

    /// Takes in what a customer wrote in their DM channel after the cursor, page by page
    /// (Discord gives at most 100 a page: those just after `after`, newest first).
    async fn recover_channel(&self, cursor: &DmCursor) {
        const PAGE: usize = 100;
        // A bound on one customer's backlog, so one flood cannot hold up everyone else's.
        const MAX_PAGES: usize = 10;
        let mut after = cursor.last_message_id.clone();
        for _ in 0..MAX_PAGES {
            let path = format!(
                "/channels/{}/messages?after={after}&limit={PAGE}",
                cursor.channel_id
            );
            let page = match self.rest.get(&path).await {
                Ok(page) => page.as_array().cloned().unwrap_or_default(),
                // The DM channel is gone or closed to the bot: there is nothing to read there.
                Err(e) if matches!(e.code(), Some(10003 | 50001)) => {
                    return tracing::debug!(case.id = %cursor.case_id, error = %e, "no DM channel to recover from");
                }
                Err(e) => {
                    return tracing::warn!(case.id = %cursor.case_id, error = %e, "missed DMs not fetched")
                }
            };
            let mut oldest_first: Vec<&serde_json::Value> = page.iter().collect();
            oldest_first.sort_by_key(|m| snowflake(m));
            for raw in &oldest_first {
                if let Some(msg) = missed_dm(raw, &cursor.user_id) {
                    self.take_in(msg).await;
                }
            }
            match oldest_first.last() {
                Some(newest) if page.len() == PAGE => after = snowflake(newest).to_string(),
                _ => return,
            }
        }
        tracing::warn!(case.id = %cursor.case_id, "more missed DMs than one start reads; the rest stay unread");
    }

    async fn register_commands(&self, application: u64) {
        let path = format!(
            "/applications/{application}/guilds/{}/commands",
            self.settings.staff_guild
        );
        if let Err(e) = self.rest.put_json(&path, &commands::definitions()).await {
            tracing::error!(error = %e, "the staff commands could not be registered");
        }
    }
}

/// A message's id as a number: ids are snowflakes, which sort by time.
fn snowflake(message: &serde_json::Value) -> u64 {
    message["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .unwrap_or_default()
}

/// The staff role someone's server roles give them, if any.
pub(super) fn staff_role(settings: &DiscordSettings, roles: &[u64]) -> Option<Role> {
    if roles.contains(&settings.lead_role) {
        Some(Role::Lead)
    } else if roles.contains(&settings.staff_role) {
        Some(Role::Staff)
    } else {
        None
    }
}

/// The text with every mention of the bot removed, trimmed.
fn without_mention(content: &str, bot: u64) -> String {
    content
        .replace(&format!("<@{bot}>"), "")
        .replace(&format!("<@!{bot}>"), "")
        .trim()
        .to_owned()
}

fn inbound(msg: &Message, kind: ChannelKind, text: String) -> InboundMessage {
    InboundMessage {
        platform: PLATFORM.into(),
        author_id: UserId::new(msg.author.id.to_string()),
        author_name: msg
            .author
            .global_name
            .clone()
            .unwrap_or_else(|| msg.author.name.clone()),
        channel_kind: kind,
        channel_id: msg.channel_id.to_string(),
        message_id: msg.id.to_string(),
        text,
        sent_at: chrono::DateTime::from_timestamp(msg.timestamp.unix_timestamp(), 0)
            .unwrap_or_else(chrono::Utc::now),
    }
}

/// A DM read back from the channel's history, if the customer wrote it.
fn missed_dm(raw: &serde_json::Value, customer: &UserId) -> Option<InboundMessage> {
    let author = &raw["author"];
    if author["bot"].as_bool() == Some(true) || author["id"].as_str() != Some(customer.as_str()) {
        return None;
    }
    let name = author["global_name"]
        .as_str()
        .or(author["username"].as_str())
        .unwrap_or("customer");
    Some(InboundMessage {
        platform: PLATFORM.into(),
        author_id: customer.clone(),
        author_name: name.to_owned(),
        channel_kind: ChannelKind::Dm,
        channel_id: raw["channel_id"].as_str()?.to_owned(),
        message_id: raw["id"].as_str()?.to_owned(),
        text: raw["content"].as_str().unwrap_or_default().to_owned(),
        sent_at: raw["timestamp"]
            .as_str()
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(chrono::Utc::now),
    })
}

#[async_trait]
impl EventHandler for Handler {
    async fn ready(&self, _ctx: Context, ready: Ready) {
        let _ = self.bot.set(ready.user.id.get());
        let shard = ready.shard.map_or(0, |s| s.id.0);
        *self
            .state
            .readies
            .lock()
            .expect("readies")
            .entry(shard)
            .or_default() += 1;
        self.state.ready.store(true, Ordering::Relaxed);
        tracing::info!(shard, "connected to the Discord gateway");
        self.register_commands(ready.application.id.get()).await;
        self.recover_missed_dms().await;
    }

    async fn message(&self, _ctx: Context, msg: Message) {
        // Never bots (casebot's own messages come back as events too) and never webhooks.
        if msg.author.bot || msg.webhook_id.is_some() {
            return;
        }
        let Some(bot) = self.bot.get().copied() else {
            return;
        };
        match msg.guild_id {
            None => {
                let text = msg.content.clone();
                self.take_in(inbound(&msg, ChannelKind::Dm, text)).await;
            }
            Some(guild) if guild.get() == self.settings.staff_guild => {
                self.staff_message(&msg, bot).await
            }
            Some(_) if msg.mentions.iter().any(|u| u.id.get() == bot) => {
                self.public_mention(&msg, bot).await
            }
            Some(_) => {}
        }
    }

    async fn message_delete(
        &self,
        _ctx: Context,
        channel: ChannelId,
        deleted: MessageId,
        _guild: Option<GuildId>,
    ) {
        if channel.get() != self.settings.queue_channel {
            return;
        }
        if let Ok(Some(case)) = self.app.cards.case_of_card(&deleted.to_string()).await {
            put_back(self, case, true, false).await;
        }
    }

    async fn thread_delete(
        &self,
        _ctx: Context,
        thread: PartialGuildChannel,
        _full: Option<GuildChannel>,
    ) {
        if let Ok(Some(case)) = self.app.cards.case_of_thread(&thread.id.to_string()).await {
            put_back(self, case, false, true).await;
        }
    }

    async fn interaction_create(&self, _ctx: Context, interaction: Interaction) {
        match interaction {
            Interaction::Command(c) => self.command(c).await,
            Interaction::Component(c) => self.component(c).await,
            Interaction::Modal(m) => self.modal(m).await,
            _ => {}
        }
    }
}

async fn put_back(handler: &Handler, case: CaseId, card: bool, thread: bool) {
    if let Err(e) = handler.app.cards.put_back(case, card, thread).await {
        tracing::error!(case.id = %case, error = %e, "a deleted card or thread was not put back");
    }
}

/// Text for someone whose action casebot refused before it reached a service.
pub(super) fn refused(reason: &str) -> String {
    sentence(reason)
}
