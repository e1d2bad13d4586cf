//! Discord events in, service calls out: customer DMs and mentions go to the conversation,
//! staff messages in a case thread become replies or notes, and buttons and forms become case
//! actions. Nothing here decides anything the services decide, and nothing here is sent to
//! Discord except interaction answers, which Discord requires within three seconds.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use serenity::all::{
    ActionRowComponent, ChannelId, CommandInteraction, ComponentInteraction, Context,
    CreateActionRow, CreateAllowedMentions, CreateInputText, CreateInteractionResponse,
    CreateInteractionResponseMessage, CreateMessage, CreateModal, EventHandler, GetMessages,
    GuildChannel, GuildId, InputTextStyle, Interaction, Message, MessageId, ModalInteraction,
    PartialGuildChannel, Ready, RoleId, UserId,
};

use super::commands;
use super::custom_id::Control;
use super::deliver::{card_buttons, card_embed};
use super::{DiscordSettings, Services};
use crate::domain::staff::{Role, StaffMember};
use crate::domain::{CaseAction, ChannelKind, InboundMessage};
use crate::services::{CaseError, CustomerAction};

pub struct Handler {
    services: Services,
    settings: DiscordSettings,
    ready: Arc<AtomicBool>,
    bot: OnceLock<UserId>,
}

impl Handler {
    pub fn new(services: Services, settings: DiscordSettings, ready: Arc<AtomicBool>) -> Handler {
        Handler {
            services,
            settings,
            ready,
            bot: OnceLock::new(),
        }
    }

    /// Takes in a customer message. Errors are logged without the message's text.
    async fn take_in(&self, msg: &Message, kind: ChannelKind, text: String) -> Option<bool> {
        let inbound = InboundMessage {
            platform: "discord".into(),
            author_id: msg.author.id.to_string(),
            author_name: msg.author.name.clone(),
            channel_kind: kind,
            channel_id: msg.channel_id.to_string(),
            message_id: msg.id.to_string(),
            text,
            sent_at: chrono::DateTime::from_timestamp(msg.timestamp.unix_timestamp(), 0)
                .unwrap_or_else(chrono::Utc::now),
        };
        let started = std::time::Instant::now();
        // Intake is idempotent on the message id, so a message that failed for a passing
        // database outage is simply tried again, with growing pauses (about half a minute).
        let mut pause = std::time::Duration::from_millis(250);
        let mut handled = self.services.conversation.handle(&inbound).await;
        for _ in 0..7 {
            if !handled.as_ref().is_err_and(|e| e.is_transient()) {
                break;
            }
            tokio::time::sleep(pause).await;
            pause *= 2;
            handled = self.services.conversation.handle(&inbound).await;
        }
        self.services.latency.observe(started.elapsed());
        match handled {
            Ok(handled) => Some(!handled.intake.personal_data.is_empty()),
            Err(e) => {
                tracing::error!(message.id = %msg.id, error = %e, "a customer message failed");
                None
            }
        }
    }

    /// A public post that mentions the bot: taken in (redacted), and taken down when it held
    /// personal data and the bot may delete it.
    async fn public_mention(&self, ctx: &Context, msg: &Message, bot: UserId) {
        let mention = format!("<@{bot}>");
        let text = msg
            .content
            .replace(&mention, "")
            .replace(&format!("<@!{bot}>"), "");
        if self
            .take_in(msg, ChannelKind::Public, text.trim().to_owned())
            .await
            == Some(true)
        {
            if let Err(e) = msg.delete(&ctx.http).await {
                tracing::warn!(message.id = %msg.id, error = %e, "could not take the post down");
            }
        }
    }

    /// A message in the staff server: in a case thread it is a reply to the customer, or an
    /// internal note when it starts with the note prefix.
    async fn staff_message(&self, ctx: &Context, msg: &Message) {
        let Ok(Some(case_id)) = self
            .services
            .store
            .case_by_thread(&msg.channel_id.to_string())
            .await
        else {
            return;
        };
        let roles = msg.member.as_ref().map(|m| m.roles.as_slice());
        let staff = msg.author.id.to_string();
        if let Err(e) = self.sync_staff(&staff, roles.unwrap_or_default()).await {
            tracing::error!(error = %e, "staff roles not synced");
            return;
        }
        let result = match msg.content.strip_prefix(&self.settings.note_prefix) {
            Some(note) => self.services.cases.note(case_id, &staff, note).await,
            None => {
                let source = msg.id.to_string();
                let cases = &self.services.cases;
                cases
                    .reply(case_id, &staff, &msg.content, Some(&source))
                    .await
            }
        };
        if let Err(e) = result {
            let text = format!("Not sent: {}", refusal(&e));
            let notice = CreateMessage::new()
                .content(text)
                .allowed_mentions(CreateAllowedMentions::new());
            let _ = msg.channel_id.send_message(&ctx.http, notice).await;
        }
    }

    /// Brings the support-team directory in line with the person's roles on the staff server.
    async fn sync_staff(&self, user: &str, roles: &[RoleId]) -> Result<(), CaseError> {
        let has = |role: u64| roles.iter().any(|r| r.get() == role);
        let role = if has(self.settings.lead_role) {
            Some(Role::Lead)
        } else if has(self.settings.staff_role) {
            Some(Role::Staff)
        } else {
            None
        };
        let member = role.map(|role| StaffMember {
            id: user.to_owned(),
            role,
        });
        self.services.cases.sync_staff(user, member.as_ref()).await
    }

    async fn component(&self, ctx: &Context, c: ComponentInteraction) {
        let user = c.user.id.to_string();
        let answer = match Control::parse(&c.data.custom_id) {
            None => Answer::Private("That button is no longer in use.".into()),
            Some(Control::Claim(case) | Control::Release(case) | Control::Resolve(case))
                if c.guild_id.map(|g| g.get()) != Some(self.settings.staff_guild) =>
            {
                // Roles elsewhere say nothing about the support team: refuse, and record it.
                let reason = "staff actions work only in the staff server";
                let cases = &self.services.cases;
                if let Err(e) = cases
                    .record_refusal(Some(case), &user, &c.data.custom_id, reason)
                    .await
                {
                    tracing::error!(error = %e, "a refusal was not recorded");
                }
                Answer::Private("Staff actions work only in the staff server.".into())
            }
            Some(Control::Claim(case) | Control::Release(case) | Control::Resolve(case)) => {
                let roles = c.member.as_ref().map_or(&[][..], |m| m.roles.as_slice());
                match self.sync_staff(&user, roles).await {
                    Ok(()) => {
                        let action = match Control::parse(&c.data.custom_id) {
                            Some(Control::Claim(_)) => CaseAction::Claim {
                                staff: user.clone(),
                            },
                            Some(Control::Release(_)) => CaseAction::Release,
                            _ => CaseAction::Resolve {
                                summary: "resolved from the case card".into(),
                            },
                        };
                        match self
                            .services
                            .cases
                            .apply_as_staff(case, &user, action)
                            .await
                        {
                            Ok(_) => self.updated_card(case).await,
                            Err(e) => Answer::Private(refusal(&e)),
                        }
                    }
                    Err(e) => Answer::Private(refusal(&e)),
                }
            }
            Some(Control::RequestCall(case)) => Answer::Modal(callback_form(case)),
            Some(Control::TalkToPerson(case)) => {
                self.customer(case, &user, CustomerAction::TalkToPerson, |_| {
                    "Thanks, a member of our team will reply here.".into()
                })
                .await
            }
            Some(Control::Solved(case)) => {
                self.customer(case, &user, CustomerAction::Solved, |_| {
                    "Glad that sorted it!".into()
                })
                .await
            }
            Some(Control::Rate(case, stars)) => {
                self.customer(case, &user, CustomerAction::Rate(stars), move |_| {
                    format!("Thanks for rating us {stars}/5.")
                })
                .await
            }
            Some(Control::CallbackForm(_)) => Answer::Private("Please use the form.".into()),
        };
        self.answer(ctx, Reply::Component(&c), answer).await;
    }

    /// A staff slash command: only in the staff server, only for the support team.
    async fn command(&self, ctx: &Context, cmd: CommandInteraction) {
        let user = cmd.user.id.to_string();
        let in_staff_server = cmd.guild_id.map(|g| g.get()) == Some(self.settings.staff_guild);
        let roles = cmd.member.as_ref().map_or(&[][..], |m| m.roles.as_slice());
        let on_team = roles
            .iter()
            .any(|r| [self.settings.staff_role, self.settings.lead_role].contains(&r.get()));
        let text = match commands::parse(&cmd) {
            None => "That command is not casebot's, or its options are incomplete.".to_owned(),
            Some(command) if !in_staff_server || !on_team => {
                let reason = if in_staff_server {
                    "not on the support team"
                } else {
                    "staff commands work only in the staff server"
                };
                let cases = &self.services.cases;
                if let Err(e) = cases
                    .record_refusal(command.case(), &user, command.name(), reason)
                    .await
                {
                    tracing::error!(error = %e, "a refusal was not recorded");
                }
                if in_staff_server {
                    "Only the support team can do that.".to_owned()
                } else {
                    "casebot's staff commands work only in the staff server.".to_owned()
                }
            }
            Some(command) => match self.sync_staff(&user, roles).await {
                Err(e) => refusal(&e),
                Ok(()) => match commands::execute(&self.services, &user, command).await {
                    Ok(text) => text,
                    Err(e) => refusal(&e),
                },
            },
        };
        self.answer(ctx, Reply::Command(&cmd), Answer::Private(text))
            .await;
    }

    async fn customer(
        &self,
        case: i64,
        user: &str,
        action: CustomerAction,
        ok: impl FnOnce(()) -> String,
    ) -> Answer {
        match self
            .services
            .cases
            .customer_action(case, user, action)
            .await
        {
            Ok(_) => Answer::Public(ok(())),
            Err(e) => Answer::Private(refusal(&e)),
        }
    }

    async fn updated_card(&self, case: i64) -> Answer {
        match self.services.store.case(case).await {
            Ok(Some(record)) => Answer::Card(Box::new(record)),
            _ => Answer::Private("Done.".into()),
        }
    }

    async fn modal(&self, ctx: &Context, m: ModalInteraction) {
        let answer = match Control::parse(&m.data.custom_id) {
            Some(Control::CallbackForm(case)) => {
                let phone = m
                    .data
                    .components
                    .iter()
                    .flat_map(|row| row.components.iter())
                    .find_map(|c| match c {
                        ActionRowComponent::InputText(t) if t.custom_id == "phone" => {
                            t.value.clone()
                        }
                        _ => None,
                    })
                    .unwrap_or_default();
                self.request_callback(case, &m.user.id.to_string(), &phone)
                    .await
            }
            _ => Answer::Private("That form is no longer in use.".into()),
        };
        self.answer(ctx, Reply::Modal(&m), answer).await;
    }

    async fn request_callback(&self, case: i64, user: &str, phone: &str) -> Answer {
        let owner = self.services.store.case(case).await;
        if !matches!(&owner, Ok(Some(c)) if c.customer_user == user) {
            return Answer::Private(refusal(&CaseError::NotYourCase(case)));
        }
        match self.services.cases.request_callback(case, phone).await {
            Ok(_) => Answer::Private(
                "Thanks, we'll call you shortly. The number stays with the person who calls."
                    .into(),
            ),
            Err(e) => Answer::Private(refusal(&e)),
        }
    }

    async fn answer(&self, ctx: &Context, to: Reply<'_>, answer: Answer) {
        let response = match answer {
            Answer::Private(text) => CreateInteractionResponse::Message(
                CreateInteractionResponseMessage::new()
                    .content(text)
                    .ephemeral(true)
                    .allowed_mentions(CreateAllowedMentions::new()),
            ),
            Answer::Public(text) => CreateInteractionResponse::Message(
                CreateInteractionResponseMessage::new()
                    .content(text)
                    .allowed_mentions(CreateAllowedMentions::new()),
            ),
            Answer::Card(case) => CreateInteractionResponse::UpdateMessage(
                CreateInteractionResponseMessage::new()
                    .embed(card_embed(&case, None, &self.services.sla))
                    .components(vec![card_buttons(case.id)]),
            ),
            Answer::Modal(modal) => CreateInteractionResponse::Modal(modal),
        };
        let sent = match to {
            Reply::Command(c) => c.create_response(&ctx.http, response).await,
            Reply::Component(c) => c.create_response(&ctx.http, response).await,
            Reply::Modal(m) => m.create_response(&ctx.http, response).await,
        };
        if let Err(e) = sent {
            tracing::warn!(error = %e, "an interaction could not be answered");
        }
    }

    /// Takes in the DMs customers with active cases sent while casebot was not connected: each
    /// case's DM channel is read from just after the latest message casebot stored.
    async fn recover_missed_dms(&self, ctx: &Context) {
        let Ok(cases) = self
            .services
            .store
            .last_dms_of_active_cases("discord")
            .await
        else {
            return;
        };
        for (case_id, user, channel, last) in cases {
            let (Ok(channel), Ok(last)) = (channel.parse::<u64>(), last.parse::<u64>()) else {
                continue;
            };
            let query = GetMessages::new().after(MessageId::new(last)).limit(100);
            let missed = match ChannelId::new(channel).messages(&ctx.http, query).await {
                Ok(missed) => missed,
                Err(e) => {
                    tracing::warn!(case.id = case_id, error = %e, "missed DMs not fetched");
                    continue;
                }
            };
            // Discord lists newest first; take them in as they were written.
            for msg in missed.iter().rev() {
                if msg.author.bot || msg.author.id.to_string() != user {
                    continue;
                }
                self.take_in(msg, ChannelKind::Dm, msg.content.clone())
                    .await;
            }
        }
    }
}

/// What to answer an interaction with.
enum Answer {
    /// Only the person who clicked sees it.
    Private(String),
    Public(String),
    /// The case card, updated in place.
    Card(Box<crate::store::CaseRecord>),
    Modal(CreateModal),
}

enum Reply<'a> {
    Command(&'a CommandInteraction),
    Component(&'a ComponentInteraction),
    Modal(&'a ModalInteraction),
}

fn callback_form(case: i64) -> CreateModal {
    let phone = CreateInputText::new(InputTextStyle::Short, "Phone number", "phone")
        .placeholder("+44 20 7946 0958")
        .min_length(8)
        .max_length(24);
    CreateModal::new(Control::CallbackForm(case).to_custom_id(), "Request a call")
        .components(vec![CreateActionRow::InputText(phone)])
}

/// The one place a refused action becomes text for the person on Discord.
fn refusal(e: &CaseError) -> String {
    match e {
        CaseError::Refused(crate::domain::TransitionError::AlreadyClaimed { by }) => {
            format!("Already claimed by <@{by}>.")
        }
        CaseError::Store(_) => "Something went wrong on our side; please try again.".into(),
        other => {
            let mut text = other.to_string();
            if let Some(first) = text.get_mut(..1) {
                first.make_ascii_uppercase();
            }
            format!("{text}.")
        }
    }
}

#[async_trait]
impl EventHandler for Handler {
    async fn ready(&self, ctx: Context, ready: Ready) {
        let _ = self.bot.set(ready.user.id);
        self.ready.store(true, Ordering::Relaxed);
        tracing::info!(shard = ?ready.shard, "connected to the Discord gateway");
        let staff_server = GuildId::new(self.settings.staff_guild);
        if let Err(e) = staff_server
            .set_commands(&ctx.http, commands::definitions())
            .await
        {
            tracing::error!(error = %e, "the staff commands could not be registered");
        }
        self.recover_missed_dms(&ctx).await;
    }

    async fn message(&self, ctx: Context, msg: Message) {
        // Never bots (the bot itself included) and never webhooks.
        if msg.author.bot || msg.webhook_id.is_some() {
            return;
        }
        let Some(bot) = self.bot.get().copied() else {
            return;
        };
        if msg.author.id == bot {
            return;
        }
        match msg.guild_id {
            None => {
                self.take_in(&msg, ChannelKind::Dm, msg.content.clone())
                    .await;
            }
            Some(guild) if guild.get() == self.settings.staff_guild => {
                self.staff_message(&ctx, &msg).await;
            }
            Some(_) if msg.mentions.iter().any(|u| u.id == bot) => {
                self.public_mention(&ctx, &msg, bot).await;
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
        if let Ok(Some(case)) = self.services.store.case_by_card(&deleted.to_string()).await {
            if let Err(e) = self.services.cases.repost_card(case, true, false).await {
                tracing::error!(case.id = case, error = %e, "a deleted card was not put back");
            }
        }
    }

    async fn thread_delete(
        &self,
        _ctx: Context,
        thread: PartialGuildChannel,
        _full: Option<GuildChannel>,
    ) {
        if let Ok(Some(case)) = self
            .services
            .store
            .case_by_thread(&thread.id.to_string())
            .await
        {
            if let Err(e) = self.services.cases.repost_card(case, false, true).await {
                tracing::error!(case.id = case, error = %e, "a deleted thread was not put back");
            }
        }
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        match interaction {
            Interaction::Command(c) => self.command(&ctx, c).await,
            Interaction::Component(c) => self.component(&ctx, c).await,
            Interaction::Modal(m) => self.modal(&ctx, m).await,
            _ => {}
        }
    }
}
