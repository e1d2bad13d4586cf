//! Intake: the one entry point for customer messages. It links each message to the customer's
//! single active case (opening or reopening one as needed), stores the prepared text once, and
//! records all of it in the audit chain, in one transaction.

use std::sync::Arc;

use chrono::Duration;
use serde::Serialize;
use serde_json::json;

use super::{Clock, SystemClock};
use crate::domain::case::{link_case, transition};
use crate::domain::message::{prepare_text, sha256_hex};
use crate::domain::personal::{redact_personal, PersonalData};
use crate::domain::{
    ActorKind, CaseAction, CaseLink, CaseState, ChannelKind, InboundMessage, NewAuditEvent,
    Priority,
};
use crate::store::{NewCase, NewMessage, Store, StoreError, Tx};

/// The intake rules that come from configuration.
#[derive(Debug, Clone)]
pub struct IntakePolicy {
    pub reopen_window: Duration,
    pub max_message_bytes: usize,
}

impl Default for IntakePolicy {
    fn default() -> Self {
        IntakePolicy {
            reopen_window: Duration::hours(72),
            max_message_bytes: 16 * 1024,
        }
    }
}

/// How a message was linked to its case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// The customer had no active case; this message opened one.
    New,
    /// The customer's recently resolved case was reopened.
    Reopened,
    /// The message joined the customer's active case.
    Existing,
    /// This platform message was already taken in; nothing changed.
    Duplicate,
}

/// What intake did with a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IntakeOutcome {
    pub case_id: i64,
    pub disposition: Disposition,
    /// Blocked customers' messages are stored but get no reply.
    pub customer_blocked: bool,
    pub cards_removed: usize,
    /// Personal data removed from a public post (it should come down from the channel too).
    pub personal_data: Vec<PersonalData>,
    pub truncated: bool,
}

impl IntakeOutcome {
    pub fn is_duplicate(&self) -> bool {
        self.disposition == Disposition::Duplicate
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The customer's case kept changing under us; the caller may retry the message.
    #[error("the customer's case changed during intake; retry the message")]
    Contended,
}

#[derive(Clone)]
pub struct IntakeService {
    store: Store,
    policy: IntakePolicy,
    clock: Arc<dyn Clock>,
}

impl IntakeService {
    pub fn new(store: Store, policy: IntakePolicy) -> IntakeService {
        IntakeService::with_clock(store, policy, Arc::new(SystemClock))
    }

    pub fn with_clock(store: Store, policy: IntakePolicy, clock: Arc<dyn Clock>) -> IntakeService {
        IntakeService {
            store,
            policy,
            clock,
        }
    }

    /// Takes in one customer message. Calling it again with the same platform message id changes
    /// nothing and reports [`Disposition::Duplicate`].
    #[tracing::instrument(name = "intake", skip_all, fields(message.id = %msg.message_id))]
    pub async fn receive(&self, msg: &InboundMessage) -> Result<IntakeOutcome, IntakeError> {
        let mut prepared = prepare_text(&msg.text, self.policy.max_message_bytes);
        // What is posted in public is seen by everyone: e-mail addresses, phone numbers and
        // passwords are removed too before anything is stored.
        let mut personal_data = Vec::new();
        if msg.channel_kind == ChannelKind::Public {
            let (text, found) = redact_personal(&prepared.text);
            if !found.is_empty() {
                prepared.sha256 = sha256_hex(text.as_bytes());
                prepared.text = text;
            }
            personal_data = found;
            if prepared.cards_removed > 0 {
                personal_data.insert(0, PersonalData::CardNumber);
            }
        }
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        // The fast path for replays; the unique index below still settles any race.
        if let Some(case_id) = tx.case_of_message(&msg.platform, &msg.message_id).await? {
            return Ok(duplicate(case_id));
        }
        let (customer_id, blocked) = tx
            .upsert_customer(&msg.platform, &msg.author_id, &msg.author_name, now)
            .await?;
        let actor = customer_id.to_string();
        let mut events = Vec::with_capacity(3);
        let (case_id, disposition) = self
            .link(&mut tx, customer_id, msg, &actor, &mut events)
            .await?;

        let stored = tx
            .insert_message(&NewMessage {
                case_id,
                customer_id,
                platform: &msg.platform,
                platform_message_id: &msg.message_id,
                channel_kind: msg.channel_kind.as_str(),
                channel_id: &msg.channel_id,
                author_kind: "customer",
                body: &prepared.text,
                body_sha256: &prepared.sha256,
                sent_at: msg.sent_at,
                received_at: now,
            })
            .await?;
        if stored.is_none() {
            // Another writer stored this message id between our check and our insert. Dropping
            // the transaction undoes any case we opened for it.
            drop(tx);
            let case_id = self.case_of_stored_message(msg).await?;
            return Ok(duplicate(case_id));
        }
        events.push(NewAuditEvent {
            at: now,
            actor_kind: ActorKind::Customer,
            actor_id: actor,
            action: "message.received",
            case_id: Some(case_id),
            details: json!({
                "message_id": msg.message_id,
                "channel": msg.channel_kind.as_str(),
                "sha256": prepared.sha256,
                "bytes": prepared.text.len(),
                "cards_removed": prepared.cards_removed,
                "personal_data_removed": personal_data,
                "truncated": prepared.truncated,
            }),
        });
        tx.append_audit(&events).await?;
        tx.commit().await?;
        tracing::debug!(case.id = case_id, ?disposition, "message taken in");
        Ok(IntakeOutcome {
            case_id,
            disposition,
            customer_blocked: blocked,
            cards_removed: prepared.cards_removed,
            personal_data,
            truncated: prepared.truncated,
        })
    }

    /// Finds or makes the case this message belongs to, collecting the audit events for it.
    async fn link(
        &self,
        tx: &mut Tx,
        customer_id: i64,
        msg: &InboundMessage,
        actor: &str,
        events: &mut Vec<NewAuditEvent>,
    ) -> Result<(i64, Disposition), IntakeError> {
        let now = self.clock.now();
        let event =
            |action: &'static str, case_id: i64, details: serde_json::Value| NewAuditEvent {
                at: now,
                actor_kind: ActorKind::Customer,
                actor_id: actor.to_owned(),
                action,
                case_id: Some(case_id),
                details,
            };
        let active = tx.active_case(customer_id).await?;
        // Most messages join an active case; only without one does the last resolved case matter.
        let last_resolved = match active {
            Some(_) => None,
            None => tx.last_resolved_case(customer_id).await?,
        };
        match link_case(active, last_resolved, now, self.policy.reopen_window) {
            CaseLink::Existing(case_id) => Ok((case_id, Disposition::Existing)),
            CaseLink::Reopen(case_id) => {
                let to = transition(CaseState::Resolved, None, &CaseAction::Reopen)
                    .expect("a resolved case can be reopened");
                if !tx
                    .set_case_state(case_id, (CaseState::Resolved, None), (to.state, None), now)
                    .await?
                {
                    return Err(IntakeError::Contended);
                }
                events.push(event(
                    to.audit_action,
                    case_id,
                    json!({ "by": "customer message" }),
                ));
                Ok((case_id, Disposition::Reopened))
            }
            CaseLink::New => {
                if let Some((stale, _)) = last_resolved {
                    // Past the reopen window: the old case is finished for good.
                    if tx
                        .set_case_state(
                            stale,
                            (CaseState::Resolved, None),
                            (CaseState::Closed, None),
                            now,
                        )
                        .await?
                    {
                        events.push(NewAuditEvent {
                            actor_kind: ActorKind::System,
                            actor_id: "casebot".into(),
                            ..event(
                                "case.closed",
                                stale,
                                json!({ "reason": "reopen window ended" }),
                            )
                        });
                    }
                }
                let new_case = NewCase {
                    customer_id,
                    priority: Priority::Normal,
                    origin: msg.channel_kind.origin(),
                    at: now,
                };
                match tx.insert_case(&new_case).await? {
                    Some(case_id) => {
                        let details = json!({ "origin": new_case.origin.as_str() });
                        events.push(event("case.opened", case_id, details));
                        Ok((case_id, Disposition::New))
                    }
                    // A concurrent writer opened the customer's case first: join it.
                    None => match tx.active_case(customer_id).await? {
                        Some(case_id) => Ok((case_id, Disposition::Existing)),
                        None => Err(IntakeError::Contended),
                    },
                }
            }
        }
    }

    async fn case_of_stored_message(&self, msg: &InboundMessage) -> Result<i64, IntakeError> {
        let mut tx = self.store.begin().await?;
        let case_id = tx.case_of_message(&msg.platform, &msg.message_id).await?;
        Ok(case_id.unwrap_or_default())
    }
}

fn duplicate(case_id: i64) -> IntakeOutcome {
    IntakeOutcome {
        case_id,
        disposition: Disposition::Duplicate,
        customer_blocked: false,
        cards_removed: 0,
        personal_data: Vec::new(),
        truncated: false,
    }
}
