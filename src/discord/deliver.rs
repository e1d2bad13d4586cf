//! Delivers outbox entries to Discord: DMs, public acknowledgements, case cards with their
//! private threads, staff notices and thread posts. Cards and threads are projections of the
//! case in the database: a missing one is posted again. Every message mentions nobody unless it
//! is a staff notice, which pings the staff role and nothing else.

// serenity's calls all return its own (large) error type; these helpers pass it through as is.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::json;
use serenity::all::{
    ButtonStyle, ChannelId, ChannelType, CreateActionRow, CreateAllowedMentions, CreateButton,
    CreateEmbed, CreateMessage, CreateThread, EditMessage, Http, HttpError, MessageId, Nonce,
    RoleId, UserId,
};

use super::custom_id::Control;
use super::DiscordSettings;
use crate::domain::sla::SlaPolicy;
use crate::domain::{ActorKind, CaseState, Destination, NewAuditEvent, OutboxKind};
use crate::render;
use crate::services::outbox::{Deliver, DeliveryError};
use crate::store::{CaseRecord, OutboxEntry, Store};

/// Discord's limit for one message's content.
pub const MAX_CONTENT: usize = 2_000;

/// Discord's error code for "Cannot send messages to this user" (DMs closed).
const DMS_CLOSED: isize = 50_007;
const UNKNOWN_CHANNEL: isize = 10_003;
const UNKNOWN_MESSAGE: isize = 10_008;

pub struct DiscordDelivery {
    http: Arc<Http>,
    store: Store,
    settings: DiscordSettings,
    sla: SlaPolicy,
    dm_channels: Mutex<HashMap<String, ChannelId>>,
}

impl DiscordDelivery {
    pub fn new(
        http: Arc<Http>,
        store: Store,
        settings: DiscordSettings,
        sla: SlaPolicy,
    ) -> DiscordDelivery {
        DiscordDelivery {
            http,
            store,
            settings,
            sla,
            dm_channels: Mutex::new(HashMap::new()),
        }
    }

    async fn dm_channel(&self, user_id: &str) -> Result<ChannelId, serenity::Error> {
        if let Some(channel) = self.cached_dm(user_id) {
            return Ok(channel);
        }
        let user = UserId::new(parse_id(user_id)?);
        let channel = user.create_dm_channel(&self.http).await?.id;
        self.dm_channels
            .lock()
            .expect("dm cache lock")
            .insert(user_id.to_owned(), channel);
        Ok(channel)
    }

    fn cached_dm(&self, user_id: &str) -> Option<ChannelId> {
        let cache = self.dm_channels.lock().expect("dm cache lock");
        cache.get(user_id).copied()
    }

    /// Sends `body` to `channel`, split under Discord's limit, each part with its own nonce
    /// derived from the entry's. Buttons go on the last part. Returns the first part's id.
    async fn send(
        &self,
        channel: ChannelId,
        body: &str,
        nonce: &str,
        extras: Extras,
    ) -> Result<MessageId, serenity::Error> {
        let parts = render::split_message(body, MAX_CONTENT);
        let mut first = None;
        let last = parts.len() - 1;
        for (i, part) in parts.iter().enumerate() {
            let nonce = if i == 0 {
                nonce.to_owned()
            } else {
                format!("{nonce}.{i}")
            };
            let mut message = CreateMessage::new()
                .content(part.as_str())
                .nonce(Nonce::String(nonce))
                .enforce_nonce(true)
                .allowed_mentions(extras.mentions.clone());
            if i == 0 {
                if let Some(reply_to) = extras.reply_to {
                    message = message.reference_message((channel, reply_to));
                }
            }
            if i == last && !extras.buttons.is_empty() {
                message = message.components(extras.buttons.clone());
            }
            let sent = channel.send_message(&self.http, message).await?;
            first.get_or_insert(sent.id);
        }
        Ok(first.expect("a message has at least one part"))
    }

    async fn to_customer(&self, entry: &OutboxEntry, user_id: &str, nonce: &str) -> Delivered {
        let channel = self.dm_channel(user_id).await.map_err(classify)?;
        let case = entry.case_id.unwrap_or_default();
        let buttons = match entry.kind {
            OutboxKind::Offer => vec![customer_buttons(case)],
            OutboxKind::RatingPrompt => vec![rating_buttons(case)],
            _ => Vec::new(),
        };
        let extras = Extras {
            buttons,
            ..Extras::default()
        };
        match self.send(channel, &entry.body, nonce, extras).await {
            Ok(id) => {
                if case > 0 {
                    self.record_dms(case, false).await;
                }
                Ok(id.to_string())
            }
            Err(e) if discord_code(&e) == Some(DMS_CLOSED) => {
                if case > 0 {
                    self.record_dms(case, true).await;
                }
                Err(DeliveryError::Permanent(
                    "the customer's DMs are closed (Discord 50007)".into(),
                ))
            }
            Err(e) => Err(classify(e)),
        }
    }

    /// Records on the case whether the customer's DMs are closed, and shows it on the card.
    async fn record_dms(&self, case_id: i64, closed: bool) {
        // Almost every delivery finds the DMs open as recorded: a read settles that without
        // taking the write lock.
        if !closed && !matches!(self.store.case(case_id).await, Ok(Some(c)) if c.dm_closed) {
            return;
        }
        let event = NewAuditEvent {
            at: chrono::Utc::now(),
            actor_kind: ActorKind::System,
            actor_id: "discord".into(),
            action: if closed {
                "customer.dms_closed"
            } else {
                "customer.dms_open"
            },
            case_id: Some(case_id),
            details: json!({}),
        };
        match self.store.set_dm_closed(case_id, closed, event).await {
            Ok(true) => {
                if let Err(e) = self.refresh_card(case_id).await {
                    tracing::warn!(case.id = case_id, error = %e, "card not refreshed");
                }
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(case.id = case_id, error = %e, "DM state not recorded"),
        }
    }

    /// Edits the case's card to show its current state, if it has one.
    pub async fn refresh_card(&self, case_id: i64) -> Result<(), serenity::Error> {
        let Ok(Some(case)) = self.store.case(case_id).await else {
            return Ok(());
        };
        let Some(card) = case.card_message_id.as_deref() else {
            return Ok(());
        };
        let edit = EditMessage::new()
            .embed(card_embed(&case, None, &self.sla))
            .components(vec![card_buttons(case_id)]);
        let queue = ChannelId::new(self.settings.queue_channel);
        queue
            .edit_message(&self.http, MessageId::new(parse_id(card)?), edit)
            .await?;
        Ok(())
    }

    /// Posts the case card (or refreshes the one there) and makes sure the case has its thread.
    async fn post_card(&self, entry: &OutboxEntry, nonce: &str) -> Delivered {
        let case_id = entry.case_id.unwrap_or_default();
        let case = self
            .store
            .case(case_id)
            .await
            .map_err(|e| DeliveryError::Transient(e.to_string()))?
            .ok_or_else(|| DeliveryError::Permanent(format!("case {case_id} is gone")))?;
        let queue = ChannelId::new(self.settings.queue_channel);
        let embed = card_embed(&case, Some(&entry.body), &self.sla);
        let staff_have_it = matches!(case.state, CaseState::Escalated | CaseState::Claimed);
        if case.card_message_id.is_none() && !staff_have_it {
            // A case that never reached the queue has no card to update.
            return Ok("no card".into());
        }
        if let Some(card) = case.card_message_id.as_deref() {
            let edit = EditMessage::new()
                .embed(embed.clone())
                .components(vec![card_buttons(case_id)]);
            let card_id = MessageId::new(parse_id(card).map_err(classify)?);
            match queue.edit_message(&self.http, card_id, edit).await {
                Ok(_) => {
                    self.ensure_thread(&case).await.map_err(classify)?;
                    return Ok(card.to_owned());
                }
                // The card was deleted: post it again below.
                Err(e) if discord_code(&e) == Some(UNKNOWN_MESSAGE) => {}
                Err(e) => return Err(classify(e)),
            }
        }
        let message = CreateMessage::new()
            .embed(embed)
            .components(vec![card_buttons(case_id)])
            .nonce(Nonce::String(nonce.to_owned()))
            .enforce_nonce(true)
            .allowed_mentions(CreateAllowedMentions::new());
        let card = queue
            .send_message(&self.http, message)
            .await
            .map_err(classify)?;
        let card_id = card.id.to_string();
        self.store
            .set_case_card(case_id, Some(&card_id), case.thread_id.as_deref())
            .await
            .map_err(|e| DeliveryError::Transient(e.to_string()))?;
        let mut case = case;
        case.card_message_id = Some(card_id.clone());
        self.ensure_thread(&case).await.map_err(classify)?;
        Ok(card_id)
    }

    /// The case's private staff thread, opened (again) when it does not exist.
    async fn ensure_thread(&self, case: &CaseRecord) -> Result<ChannelId, serenity::Error> {
        if let Some(thread) = case.thread_id.as_deref() {
            let thread = ChannelId::new(parse_id(thread)?);
            match thread.to_channel(&self.http).await {
                Ok(_) => return Ok(thread),
                Err(e) if discord_code(&e) == Some(UNKNOWN_CHANNEL) => {}
                Err(e) => return Err(e),
            }
        }
        let queue = ChannelId::new(self.settings.queue_channel);
        let builder = CreateThread::new(format!("case-{}", case.id))
            .kind(ChannelType::PrivateThread)
            .invitable(true);
        let thread = queue.create_thread(&self.http, builder).await?;
        let stored = self
            .store
            .set_case_card(
                case.id,
                case.card_message_id.as_deref(),
                Some(&thread.id.to_string()),
            )
            .await;
        if let Err(e) = stored {
            tracing::warn!(case.id = case.id, error = %e, "thread id not stored");
        }
        Ok(thread.id)
    }

    async fn to_thread(&self, entry: &OutboxEntry, nonce: &str) -> Delivered {
        let case_id = entry.case_id.unwrap_or_default();
        let case = self
            .store
            .case(case_id)
            .await
            .map_err(|e| DeliveryError::Transient(e.to_string()))?
            .ok_or_else(|| DeliveryError::Permanent(format!("case {case_id} is gone")))?;
        let thread = self.ensure_thread(&case).await.map_err(classify)?;
        let id = self
            .send(thread, &entry.body, nonce, Extras::default())
            .await
            .map_err(classify)?;
        Ok(id.to_string())
    }

    async fn notify_staff(&self, entry: &OutboxEntry, nonce: &str) -> Delivered {
        let role = self.settings.staff_role;
        let body = format!("<@&{role}> {}", entry.body);
        let extras = Extras {
            mentions: CreateAllowedMentions::new().roles([RoleId::new(role)]),
            ..Extras::default()
        };
        let queue = ChannelId::new(self.settings.queue_channel);
        let id = self
            .send(queue, &body, nonce, extras)
            .await
            .map_err(classify)?;
        Ok(id.to_string())
    }
}

type Delivered = Result<String, DeliveryError>;

#[async_trait]
impl Deliver for DiscordDelivery {
    async fn deliver(&self, entry: &OutboxEntry, nonce: &str) -> Delivered {
        match &entry.destination {
            Destination::CustomerDm { user_id } => self.to_customer(entry, user_id, nonce).await,
            Destination::Channel {
                channel_id,
                reply_to,
            } => {
                let channel = ChannelId::new(parse_id(channel_id).map_err(classify)?);
                let reply_to = match reply_to {
                    Some(id) => Some(MessageId::new(parse_id(id).map_err(classify)?)),
                    None => None,
                };
                let extras = Extras {
                    reply_to,
                    ..Extras::default()
                };
                let id = self
                    .send(channel, &entry.body, nonce, extras)
                    .await
                    .map_err(classify)?;
                Ok(id.to_string())
            }
            Destination::StaffQueue if entry.kind == OutboxKind::CaseCard => {
                self.post_card(entry, nonce).await
            }
            Destination::StaffQueue => self.notify_staff(entry, nonce).await,
            Destination::CaseThread => self.to_thread(entry, nonce).await,
        }
    }
}

/// What goes with a message besides its text.
#[derive(Clone)]
struct Extras {
    buttons: Vec<CreateActionRow>,
    reply_to: Option<MessageId>,
    mentions: CreateAllowedMentions,
}

impl Default for Extras {
    fn default() -> Self {
        Extras {
            buttons: Vec::new(),
            reply_to: None,
            // Nobody: relayed text can never ping @everyone, a role or a user.
            mentions: CreateAllowedMentions::new(),
        }
    }
}

/// The case card: who, what, how urgent, and who holds it.
pub fn card_embed(case: &CaseRecord, summary: Option<&str>, sla: &SlaPolicy) -> CreateEmbed {
    let mut embed = CreateEmbed::new().title(format!("Case #{}", case.id));
    if let Some(summary) = summary {
        embed = embed.description(summary);
    }
    for (name, value) in render::card_fields(case, sla) {
        embed = embed.field(name, value, true);
    }
    embed
}

pub fn card_buttons(case_id: i64) -> CreateActionRow {
    buttons(&[
        (Control::Claim(case_id), "Claim", ButtonStyle::Primary),
        (Control::Release(case_id), "Release", ButtonStyle::Secondary),
        (Control::Resolve(case_id), "Resolve", ButtonStyle::Success),
    ])
}

fn customer_buttons(case_id: i64) -> CreateActionRow {
    buttons(&[
        (
            Control::TalkToPerson(case_id),
            "Talk to a person",
            ButtonStyle::Primary,
        ),
        (
            Control::RequestCall(case_id),
            "Request a call",
            ButtonStyle::Secondary,
        ),
        (
            Control::Solved(case_id),
            "That solved it",
            ButtonStyle::Success,
        ),
    ])
}

/// One row of buttons, each carrying its control's id.
fn buttons(row: &[(Control, &str, ButtonStyle)]) -> CreateActionRow {
    CreateActionRow::Buttons(
        row.iter()
            .map(|(control, label, style)| {
                CreateButton::new(control.to_custom_id())
                    .label(*label)
                    .style(*style)
            })
            .collect(),
    )
}

fn rating_buttons(case_id: i64) -> CreateActionRow {
    CreateActionRow::Buttons(
        (1..=5)
            .map(|stars| {
                CreateButton::new(Control::Rate(case_id, stars).to_custom_id())
                    .label(stars.to_string())
                    .style(ButtonStyle::Secondary)
            })
            .collect(),
    )
}

fn parse_id(raw: &str) -> Result<u64, serenity::Error> {
    raw.parse::<u64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| serenity::Error::Other("a stored Discord id is not a snowflake"))
}

/// Discord's JSON error code, when the request reached Discord and was refused.
pub fn discord_code(e: &serenity::Error) -> Option<isize> {
    match e {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(r)) => Some(r.error.code),
        _ => None,
    }
}

/// What a failed call means for the outbox: retry later, or give up.
pub fn classify(e: serenity::Error) -> DeliveryError {
    match &e {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(r)) => {
            let status = r.status_code.as_u16();
            let what = format!("Discord {status} ({}): {}", r.error.code, r.error.message);
            match status {
                429 => DeliveryError::RateLimited(std::time::Duration::from_secs(1)),
                500.. => DeliveryError::Transient(what),
                _ => DeliveryError::Permanent(what),
            }
        }
        _ => DeliveryError::Transient(e.to_string()),
    }
}
