//! Delivers outbox entries to Discord: DMs, public acknowledgements, case cards with their
//! private threads, who is in a thread, staff notices and thread posts. Cards and threads are
//! projections of the case: a missing one is posted again, and what was posted is recorded
//! through the card service. Every message mentions nobody unless it is a staff notice, which
//! pings the staff role and nothing else; each carries its entry's nonce with `enforce_nonce`.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use serde_json::{json, Value};

use super::components::{self, mention_nobody, mention_role, MAX_CONTENT};
use super::rest::{codes, Rest, RestError};
use super::DiscordSettings;
use crate::domain::sla::SlaPolicy;
use crate::domain::views::{CaseView, OutboxEntry};
use crate::domain::{CaseId, Destination, OutboxKind, StaffId, UserId};
use crate::render;
use crate::services::cards::CardService;
use crate::services::outbox::{Deliver, DeliveryError};

pub struct DiscordDelivery {
    rest: Rest,
    cards: CardService,
    settings: DiscordSettings,
    sla: SlaPolicy,
    dm_channels: Mutex<HashMap<UserId, u64>>,
}

type Delivered = Result<String, DeliveryError>;

impl DiscordDelivery {
    pub fn new(
        rest: Rest,
        cards: CardService,
        settings: DiscordSettings,
        sla: SlaPolicy,
    ) -> DiscordDelivery {
        DiscordDelivery {
            rest,
            cards,
            settings,
            sla,
            dm_channels: Mutex::new(HashMap::new()),
        }
    }

    async fn dm_channel(&self, user: &UserId) -> Result<u64, RestError> {
        if let Some(channel) = self
            .dm_channels
            .lock()
            .expect("dm cache")
            .get(user)
            .copied()
        {
            return Ok(channel);
        }
        let channel = self
            .rest
            .post(
                "/users/@me/channels",
                &json!({ "recipient_id": user.as_str() }),
            )
            .await?;
        let id = snowflake(&channel["id"])
            .ok_or_else(|| RestError::Transport("a DM channel without an id".into()))?;
        self.dm_channels
            .lock()
            .expect("dm cache")
            .insert(user.clone(), id);
        Ok(id)
    }

    /// Sends `body` to `channel`, split under Discord's limit, each part with its own nonce
    /// derived from the entry's. `extra` (buttons, a reply reference) goes with the last part,
    /// and the reference with the first. Returns the first part's id.
    async fn send(
        &self,
        channel: u64,
        body: &str,
        nonce: &str,
        extra: Extra,
    ) -> Result<String, RestError> {
        let parts = render::split_message(body, MAX_CONTENT);
        let last = parts.len() - 1;
        let mut first = None;
        for (i, part) in parts.iter().enumerate() {
            let nonce = if i == 0 {
                nonce.to_owned()
            } else {
                format!("{nonce}.{i}")
            };
            let mut message = json!({
                "content": part, "nonce": nonce, "enforce_nonce": true,
                "allowed_mentions": extra.mentions.clone().unwrap_or_else(mention_nobody),
            });
            if let (0, Some(reply_to)) = (i, &extra.reply_to) {
                message["message_reference"] =
                    json!({ "message_id": reply_to, "fail_if_not_exists": false });
            }
            if i == last && !extra.components.is_empty() {
                message["components"] = Value::Array(extra.components.clone());
            }
            let sent = self
                .rest
                .post(&format!("/channels/{channel}/messages"), &message)
                .await?;
            first.get_or_insert(sent["id"].as_str().unwrap_or_default().to_owned());
        }
        Ok(first.expect("a message has at least one part"))
    }

    async fn to_customer(&self, entry: &OutboxEntry, user: &UserId, nonce: &str) -> Delivered {
        let case = entry.case_id.unwrap_or(CaseId::NEW);
        let channel = self.dm_channel(user).await.map_err(classify)?;
        let components = match entry.kind {
            OutboxKind::Offer => vec![components::customer_buttons(case)],
            OutboxKind::HelpArticle => vec![components::help_buttons(case)],
            OutboxKind::RatingPrompt => vec![components::rating_buttons(case)],
            _ => Vec::new(),
        };
        let extra = Extra {
            components,
            ..Extra::default()
        };
        match self.send(channel, &entry.body, nonce, extra).await {
            Ok(id) => {
                self.record_dms(entry.case_id, false).await;
                Ok(id)
            }
            Err(e) if e.code() == Some(codes::CANNOT_SEND_TO_USER) => {
                self.record_dms(entry.case_id, true).await;
                Err(DeliveryError::Permanent(
                    "the customer's DMs are closed (Discord 50007)".into(),
                ))
            }
            Err(e) => Err(classify(e)),
        }
    }

    /// Records on the case whether the customer's DMs are closed; the card shows it.
    async fn record_dms(&self, case: Option<CaseId>, closed: bool) {
        let Some(case) = case.filter(|c| *c != CaseId::NEW) else {
            return;
        };
        if let Err(e) = self.cards.dms(case, closed).await {
            tracing::warn!(case.id = %case, error = %e, "DM state not recorded");
        }
    }

    /// A public post: the acknowledgement ends by saying whether the DM reached them, which is
    /// known by now (the DM was queued first).
    async fn to_channel(
        &self,
        entry: &OutboxEntry,
        channel: &str,
        reply_to: Option<&String>,
        nonce: &str,
    ) -> Delivered {
        let channel = parse_id(channel)?;
        let mut body = entry.body.clone();
        if entry.kind == OutboxKind::PublicAck {
            let closed = match entry.case_id {
                Some(case) => self.view(case).await?.projection.dm_closed,
                None => false,
            };
            body = format!("{body} {}", render::public_ack_dm(closed));
        }
        let extra = Extra {
            reply_to: reply_to.cloned(),
            ..Extra::default()
        };
        self.send(channel, &body, nonce, extra)
            .await
            .map_err(classify)
    }

    async fn view(&self, case: CaseId) -> Result<CaseView, DeliveryError> {
        match self.cards.view(case).await {
            Ok(Some(view)) => Ok(view),
            Ok(None) => Err(DeliveryError::Permanent(format!("case {case} is gone"))),
            Err(e) => Err(DeliveryError::Transient(e.to_string())),
        }
    }

    /// Posts the case card (or refreshes the one there) and makes sure the case has its thread.
    async fn post_card(&self, entry: &OutboxEntry, nonce: &str) -> Delivered {
        let case = entry.case_id.unwrap_or(CaseId::NEW);
        let view = self.view(case).await?;
        if view.projection.card_message_id.is_none() && !view.case.state.with_staff() {
            // A case that never reached the queue has no card to update.
            return Ok("no card".into());
        }
        let queue = self.settings.queue_channel;
        let card = json!({
            "embeds": [components::card_embed(&view, Some(&entry.body), &self.sla)],
            "components": components::card_components(&view),
            "allowed_mentions": mention_nobody(),
        });
        if let Some(existing) = &view.projection.card_message_id {
            match self
                .rest
                .patch(&format!("/channels/{queue}/messages/{existing}"), &card)
                .await
            {
                Ok(_) => {
                    self.ensure_thread(&view, Some(existing))
                        .await
                        .map_err(classify)?;
                    return Ok(existing.clone());
                }
                // The card was deleted: post it again below.
                Err(e) if e.code() == Some(codes::UNKNOWN_MESSAGE) => {}
                Err(e) => return Err(classify(e)),
            }
        }
        let mut message = card;
        message["nonce"] = json!(nonce);
        message["enforce_nonce"] = json!(true);
        let posted = self
            .rest
            .post(&format!("/channels/{queue}/messages"), &message)
            .await
            .map_err(classify)?;
        let card_id = posted["id"].as_str().unwrap_or_default().to_owned();
        self.ensure_thread(&view, Some(&card_id))
            .await
            .map_err(classify)?;
        Ok(card_id)
    }

    /// The case's private staff thread, opened (again) when it does not exist, with the case's
    /// holder in it; records the card and thread as they now are.
    async fn ensure_thread(
        &self,
        view: &CaseView,
        card: Option<&String>,
    ) -> Result<u64, RestError> {
        let case = view.case.id;
        if let Some(thread) = view
            .projection
            .thread_id
            .as_deref()
            .and_then(|t| t.parse::<u64>().ok())
        {
            match self.rest.get(&format!("/channels/{thread}")).await {
                Ok(_) => {
                    self.record_card(case, card, Some(thread)).await;
                    return Ok(thread);
                }
                Err(e) if e.code() == Some(codes::UNKNOWN_CHANNEL) => {}
                Err(e) => return Err(e),
            }
        }
        let queue = self.settings.queue_channel;
        let thread = self
            .rest
            .post(
                &format!("/channels/{queue}/threads"),
                &json!({ "name": format!("case-{case}"), "type": 12, "invitable": false }),
            )
            .await?;
        let thread = snowflake(&thread["id"])
            .ok_or_else(|| RestError::Transport("a thread without an id".into()))?;
        self.record_card(case, card, Some(thread)).await;
        let mut intro = components::thread_intro(
            case,
            &self.settings.note_prefix,
            self.settings.message_content,
        );
        // Derived from the thread, so a retried post is recognised by Discord, not posted twice.
        intro["nonce"] = json!(format!("t{thread}"));
        intro["enforce_nonce"] = json!(true);
        self.rest
            .post(&format!("/channels/{thread}/messages"), &intro)
            .await?;
        let members: Vec<StaffId> = view.case.assignee.iter().cloned().collect();
        for member in &members {
            self.rest
                .put(&format!("/channels/{thread}/thread-members/{member}"))
                .await?;
        }
        self.record_members(case, members).await;
        Ok(thread)
    }

    async fn record_card(&self, case: CaseId, card: Option<&String>, thread: Option<u64>) {
        let thread = thread.map(|t| t.to_string());
        if let Err(e) = self
            .cards
            .posted(case, card.map(String::as_str), thread.as_deref())
            .await
        {
            tracing::warn!(case.id = %case, error = %e, "card and thread not recorded");
        }
    }

    async fn record_members(&self, case: CaseId, members: Vec<StaffId>) {
        if let Err(e) = self.cards.thread_members(case, members).await {
            tracing::warn!(case.id = %case, error = %e, "thread members not recorded");
        }
    }

    async fn to_thread(&self, entry: &OutboxEntry, nonce: &str) -> Delivered {
        let view = self.view(entry.case_id.unwrap_or(CaseId::NEW)).await?;
        let card = view.projection.card_message_id.clone();
        let thread = self
            .ensure_thread(&view, card.as_ref())
            .await
            .map_err(classify)?;
        match entry.kind {
            OutboxKind::ThreadJoin | OutboxKind::ThreadLeave => {
                self.move_member(&view, thread, entry).await
            }
            _ => self
                .send(thread, &entry.body, nonce, Extra::default())
                .await
                .map_err(classify),
        }
    }

    /// Adds someone to the case's thread, or takes them out.
    async fn move_member(&self, view: &CaseView, thread: u64, entry: &OutboxEntry) -> Delivered {
        let who = StaffId::new(entry.body.trim());
        let user = parse_id(who.as_str())?;
        let path = format!("/channels/{thread}/thread-members/{user}");
        let mut members = view.projection.thread_members.clone();
        if entry.kind == OutboxKind::ThreadJoin {
            self.rest.put(&path).await.map_err(classify)?;
            if !members.contains(&who) {
                members.push(who);
            }
        } else {
            match self.rest.delete(&path).await {
                Ok(_) => {}
                // Already gone from the thread (or the thread's members list changed).
                Err(e) if e.status() == Some(404) => {}
                Err(e) => return Err(classify(e)),
            }
            members.retain(|m| *m != who);
        }
        self.record_members(view.case.id, members).await;
        Ok(format!("thread-member:{user}"))
    }

    async fn notify_staff(&self, entry: &OutboxEntry, nonce: &str) -> Delivered {
        let role = self.settings.staff_role;
        let body = format!("<@&{role}> {}", entry.body);
        let extra = Extra {
            mentions: Some(mention_role(role)),
            ..Extra::default()
        };
        self.send(self.settings.queue_channel, &body, nonce, extra)
            .await
            .map_err(classify)
    }
}

#[async_trait]
impl Deliver for DiscordDelivery {
    async fn deliver(&self, entry: &OutboxEntry, nonce: &str) -> Delivered {
        match &entry.destination {
            Destination::CustomerDm { user_id } => self.to_customer(entry, user_id, nonce).await,
            Destination::Channel {
                channel_id,
                reply_to,
            } => {
                self.to_channel(entry, channel_id, reply_to.as_ref(), nonce)
                    .await
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
#[derive(Default)]
struct Extra {
    components: Vec<Value>,
    reply_to: Option<String>,
    /// `None`: nobody.
    mentions: Option<Value>,
}

fn snowflake(value: &Value) -> Option<u64> {
    value.as_str()?.parse().ok()
}

fn parse_id(raw: &str) -> Result<u64, DeliveryError> {
    raw.parse::<u64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| DeliveryError::Permanent(format!("{raw:?} is not a Discord id")))
}

/// What a failed call means for the outbox: retry later, or give up.
pub fn classify(e: RestError) -> DeliveryError {
    match e {
        RestError::RateLimited(wait) => DeliveryError::RateLimited(wait),
        RestError::Transport(what) => DeliveryError::Transient(what),
        RestError::Discord { status, .. } if status >= 500 => {
            DeliveryError::Transient(e.to_string())
        }
        other => DeliveryError::Permanent(other.to_string()),
    }
}
