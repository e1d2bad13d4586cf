//! Changing a case's state: escalate, claim, release, transfer, resolve, reopen, close. The pure
//! state machine decides whether a change is allowed; the store applies it as a compare-and-set so
//! that of two people acting at once, exactly one succeeds.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::{Clock, SystemClock};
use crate::domain::case::transition;
use crate::domain::message::sha256_hex;
use crate::domain::phone::PhoneError;
use crate::domain::staff::{authorize, authorize_work, AuthError, StaffMember, Work};
use crate::domain::{
    ActorKind, CaseAction, CaseState, Destination, NewAuditEvent, OutboxKind, Outgoing, Phone,
    Priority, TransitionError,
};
use crate::render;
use crate::store::{Callback, NewMessage, Store, StoreError, Tx};

/// Who is acting on a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: String,
}

impl Actor {
    pub fn staff(id: impl Into<String>) -> Actor {
        Actor {
            kind: ActorKind::Staff,
            id: id.into(),
        }
    }

    pub fn customer(user_id: impl Into<String>) -> Actor {
        Actor {
            kind: ActorKind::Customer,
            id: user_id.into(),
        }
    }

    pub fn system() -> Actor {
        Actor {
            kind: ActorKind::System,
            id: "casebot".into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error("case {0} does not exist")]
    NotFound(i64),
    #[error(transparent)]
    Refused(#[from] TransitionError),
    #[error(transparent)]
    Unauthorized(#[from] AuthError),
    /// The case changed between reading and writing in a way that leaves the action undecided.
    #[error("case {0} changed while the action was applied; try again")]
    Contended(i64),
    #[error(transparent)]
    InvalidPhone(#[from] PhoneError),
    #[error("case {0} has no callback to make")]
    NoCallback(i64),
    #[error("a reply or note needs some text")]
    EmptyText,
    #[error("case {0} is not yours")]
    NotYourCase(i64),
    #[error("a rating is a whole number from 1 to 5")]
    BadRating,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a customer can do to their own case from the bot's buttons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerAction {
    TalkToPerson,
    Solved,
    Rate(u8),
}

#[derive(Clone)]
pub struct CaseService {
    store: Store,
    clock: Arc<dyn Clock>,
    callback_deadline: Duration,
}

impl CaseService {
    pub fn new(store: Store) -> CaseService {
        CaseService::with_clock(store, Arc::new(SystemClock))
    }

    pub fn with_clock(store: Store, clock: Arc<dyn Clock>) -> CaseService {
        CaseService {
            store,
            clock,
            callback_deadline: Duration::minutes(3),
        }
    }

    /// How soon a requested callback is due (default three minutes).
    pub fn with_callback_deadline(mut self, deadline: Duration) -> CaseService {
        self.callback_deadline = deadline;
        self
    }

    /// Applies `action` to a case on behalf of casebot itself or a trusted adapter, and records
    /// it, returning the new state.
    pub async fn apply(
        &self,
        case_id: i64,
        actor: &Actor,
        action: CaseAction,
    ) -> Result<CaseState, CaseError> {
        self.apply_inner(case_id, actor, action, false).await
    }

    /// Applies `action` for the staff member `staff_id`, who must be on the support team and, for
    /// release, transfer and resolve of a claimed case, its assignee or a lead. A refusal is
    /// audited too.
    pub async fn apply_as_staff(
        &self,
        case_id: i64,
        staff_id: &str,
        action: CaseAction,
    ) -> Result<CaseState, CaseError> {
        self.apply_inner(case_id, &Actor::staff(staff_id), action, true)
            .await
    }

    /// Blocks (or unblocks) the customer of a case for the staff member `staff_id`. A blocked
    /// customer's messages are still stored, but get no bot reply.
    pub async fn set_blocked(
        &self,
        case_id: i64,
        staff_id: &str,
        blocked: bool,
    ) -> Result<(), CaseError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let action = if blocked {
            "customer.blocked"
        } else {
            "customer.unblocked"
        };
        let staff = Actor::staff(staff_id);
        if tx.staff_member(staff_id).await?.is_none() {
            let refused = AuthError::NotStaff {
                who: staff_id.to_owned(),
            };
            return Err(refuse(tx, &staff, Some(case_id), action, refused, now).await?);
        }
        if !tx.set_customer_blocked(case_id, blocked).await? {
            return Err(CaseError::NotFound(case_id));
        }
        tx.append_audit(&[NewAuditEvent {
            at: now,
            actor_kind: staff.kind,
            actor_id: staff.id,
            action,
            case_id: Some(case_id),
            details: json!({}),
        }])
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Makes the support-team directory say what the chat platform's roles say about `user`:
    /// `member` is their role there, or `None` when they have no staff role. Audited only when
    /// something changes.
    pub async fn sync_staff(
        &self,
        user: &str,
        member: Option<&StaffMember>,
    ) -> Result<(), CaseError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let known = tx.staff_member(user).await?;
        let (action, details) = match (known.as_ref(), member) {
            (known, Some(member)) if known != Some(member) => {
                tx.upsert_staff_member(member, now).await?;
                let details = json!({ "staff": member.id, "role": member.role.as_str() });
                ("staff.added", details)
            }
            (Some(_), None) => {
                tx.remove_staff_member(user).await?;
                ("staff.removed", json!({ "staff": user }))
            }
            _ => return Ok(()),
        };
        tx.append_audit(&[NewAuditEvent {
            at: now,
            actor_kind: ActorKind::System,
            actor_id: "roles".into(),
            action,
            case_id: None,
            details,
        }])
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds a member to the support team (or changes their role), audited.
    pub async fn add_staff(&self, member: &StaffMember, by: &Actor) -> Result<(), CaseError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        tx.upsert_staff_member(member, now).await?;
        tx.append_audit(&[NewAuditEvent {
            at: now,
            actor_kind: by.kind,
            actor_id: by.id.clone(),
            action: "staff.added",
            case_id: None,
            details: json!({ "staff": member.id, "role": member.role.as_str() }),
        }])
        .await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(name = "case.apply", skip_all, fields(case.id = case_id, action = action.audit_name()))]
    async fn apply_inner(
        &self,
        case_id: i64,
        actor: &Actor,
        action: CaseAction,
        check_staff: bool,
    ) -> Result<CaseState, CaseError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let (state, assignee) = tx
            .case_state(case_id)
            .await?
            .ok_or(CaseError::NotFound(case_id))?;
        if check_staff {
            let member = tx.staff_member(&actor.id).await?;
            if let Err(refused) =
                authorize(&actor.id, member.as_ref(), &action, assignee.as_deref())
            {
                let attempted = action.audit_name();
                return Err(refuse(tx, actor, Some(case_id), attempted, refused, now).await?);
            }
        }
        let next = transition(state, assignee.as_deref(), &action)?;
        let applied = tx
            .set_case_state(
                case_id,
                (state, assignee.as_deref()),
                (next.state, next.assignee.as_deref()),
                now,
            )
            .await?;
        if !applied {
            // Someone else changed the case first. Judging the action again against what they
            // left gives the precise refusal, such as "already claimed by ana".
            drop(tx);
            return Err(self.refusal_after_race(case_id, &action).await);
        }
        let details = match &action {
            CaseAction::Escalate { priority, reason } => {
                tx.update_case_details(case_id, Some(*priority), Some(reason), None)
                    .await?;
                let card = render::case_card(case_id, *priority, reason);
                tx.enqueue(
                    &[Outgoing::to_staff(case_id, OutboxKind::CaseCard, card)],
                    now,
                )
                .await?;
                json!({ "priority": priority.as_str(), "reason": reason })
            }
            CaseAction::Resolve { summary } => {
                tx.update_case_details(case_id, None, None, Some(summary))
                    .await?;
                tx.finish_callbacks(case_id, now).await?;
                if let Some((_, _, user)) = tx.case_customer(case_id).await? {
                    let prompt = render::rating_prompt(case_id);
                    let ask =
                        Outgoing::to_customer(case_id, &user, OutboxKind::RatingPrompt, prompt);
                    tx.enqueue(&[ask], now).await?;
                }
                json!({ "summary_sha256": sha256_hex(summary.as_bytes()) })
            }
            CaseAction::Claim { staff } => json!({ "assignee": staff }),
            CaseAction::Transfer { to } => json!({ "from": assignee, "to": to }),
            CaseAction::Release => json!({ "from": assignee }),
            CaseAction::Reopen | CaseAction::Close => json!({}),
        };
        if !matches!(action, CaseAction::Escalate { .. } | CaseAction::Close) {
            queue_card_update(&mut tx, case_id, next.state, next.assignee.as_deref(), now).await?;
        }
        tx.append_audit(&[NewAuditEvent {
            at: now,
            actor_kind: actor.kind,
            actor_id: actor.id.clone(),
            action: next.audit_action,
            case_id: Some(case_id),
            details,
        }])
        .await?;
        tx.commit().await?;
        Ok(next.state)
    }

    /// Claims the case at the head of the queue for `staff`: the highest priority, then the one
    /// waiting longest. Each waiting case goes to exactly one claimer, however many claim at once.
    #[tracing::instrument(name = "case.claim_next", skip_all)]
    pub async fn claim_next(&self, staff: &Actor) -> Result<Option<i64>, CaseError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        if tx.staff_member(&staff.id).await?.is_none() {
            let refused = AuthError::NotStaff {
                who: staff.id.clone(),
            };
            return Err(refuse(tx, staff, None, "case.claimed", refused, now).await?);
        }
        let Some(case_id) = tx.next_in_queue().await? else {
            return Ok(None);
        };
        let claim = CaseAction::Claim {
            staff: staff.id.clone(),
        };
        let next = transition(CaseState::Escalated, None, &claim)?;
        let claimed = tx
            .set_case_state(
                case_id,
                (CaseState::Escalated, None),
                (next.state, next.assignee.as_deref()),
                now,
            )
            .await?;
        if !claimed {
            return Err(CaseError::Contended(case_id));
        }
        queue_card_update(&mut tx, case_id, next.state, Some(&staff.id), now).await?;
        tx.append_audit(&[NewAuditEvent {
            at: now,
            actor_kind: staff.kind,
            actor_id: staff.id.clone(),
            action: next.audit_action,
            case_id: Some(case_id),
            details: json!({ "assignee": staff.id, "via": "next" }),
        }])
        .await?;
        tx.commit().await?;
        Ok(Some(case_id))
    }

    /// Adds an internal note for the staff member `staff_id`. Notes go to the case's staff
    /// thread and never to the customer.
    pub async fn note(&self, case_id: i64, staff_id: &str, text: &str) -> Result<(), CaseError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(CaseError::EmptyText);
        }
        let now = self.clock.now();
        let (mut tx, _) = self.begin_work(case_id, staff_id, Work::Note, now).await?;
        tx.insert_note(case_id, staff_id, text, now).await?;
        let note = Outgoing {
            case_id: Some(case_id),
            kind: OutboxKind::Note,
            destination: Destination::CaseThread,
            body: format!("Note from {staff_id}: {text}"),
        };
        tx.enqueue(&[note], now).await?;
        tx.append_audit(&[staff_event(staff_id, Work::Note, case_id, text, now)])
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replies to the customer for the staff member `staff_id`, who must hold the case (or be a
    /// lead). The reply is stored on the case and queued for delivery to the customer's DMs.
    /// `source_id` is the platform id of the staff message relayed, when there is one; relaying
    /// the same one twice sends it once.
    pub async fn reply(
        &self,
        case_id: i64,
        staff_id: &str,
        text: &str,
        source_id: Option<&str>,
    ) -> Result<(), CaseError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(CaseError::EmptyText);
        }
        let now = self.clock.now();
        let (mut tx, _) = self.begin_work(case_id, staff_id, Work::Reply, now).await?;
        let (customer_id, platform, user) = tx
            .case_customer(case_id)
            .await?
            .ok_or(CaseError::NotFound(case_id))?;
        let generated = format!("staff-reply:{case_id}:{}", now.timestamp_micros());
        let message_id = source_id.unwrap_or(&generated);
        let stored = tx
            .insert_message(&NewMessage {
                case_id,
                customer_id,
                platform: &platform,
                platform_message_id: message_id,
                channel_kind: "dm",
                channel_id: &user,
                author_kind: "staff",
                body: text,
                body_sha256: &sha256_hex(text.as_bytes()),
                sent_at: now,
                received_at: now,
            })
            .await?;
        if stored.is_none() {
            // Already relayed: the first relay queued it.
            return Ok(());
        }
        let reply = Outgoing::to_customer(
            case_id,
            &user,
            OutboxKind::StaffReply,
            render::staff_reply(text),
        );
        tx.enqueue(&[reply], now).await?;
        tx.append_audit(&[staff_event(staff_id, Work::Reply, case_id, text, now)])
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a customer's request to be called back on `phone` (E.164). The case goes to the
    /// queue at high priority if the bot had it, and staff are told with the number masked.
    pub async fn request_callback(&self, case_id: i64, phone: &str) -> Result<Phone, CaseError> {
        let phone = Phone::parse(phone)?;
        let now = self.clock.now();
        let due = now + self.callback_deadline;
        let mut tx = self.store.begin().await?;
        let (state, _) = tx
            .case_state(case_id)
            .await?
            .ok_or(CaseError::NotFound(case_id))?;
        let (customer_id, _, user) = tx
            .case_customer(case_id)
            .await?
            .ok_or(CaseError::NotFound(case_id))?;
        tx.insert_callback(case_id, &phone, now, due).await?;
        let customer = |action: &'static str, details| NewAuditEvent {
            at: now,
            actor_kind: ActorKind::Customer,
            actor_id: customer_id.to_string(),
            action,
            case_id: Some(case_id),
            details,
        };
        let mut events = vec![customer(
            "callback.requested",
            json!({ "phone": phone.masked(), "due": due.to_rfc3339() }),
        )];
        let mut outgoing = vec![
            Outgoing::to_staff(
                case_id,
                OutboxKind::Callback,
                render::callback_notice(case_id, &phone.masked(), due),
            ),
            Outgoing::to_customer(
                case_id,
                &user,
                OutboxKind::Reply,
                render::callback_confirmation(case_id),
            ),
        ];
        if state == CaseState::Open {
            let reason = "callback_requested";
            let escalate = CaseAction::Escalate {
                priority: Priority::High,
                reason: reason.into(),
            };
            let next = transition(state, None, &escalate)?;
            if !tx
                .set_case_state(case_id, (state, None), (next.state, None), now)
                .await?
            {
                return Err(CaseError::Contended(case_id));
            }
            let priority = tx.case_priority(case_id).await?.max(Priority::High);
            tx.update_case_details(case_id, Some(priority), Some(reason), None)
                .await?;
            events.push(customer(
                next.audit_action,
                json!({ "priority": priority.as_str(), "reason": reason }),
            ));
            outgoing.push(Outgoing::to_staff(
                case_id,
                OutboxKind::CaseCard,
                render::case_card(case_id, priority, reason),
            ));
        }
        tx.enqueue(&outgoing, now).await?;
        tx.append_audit(&events).await?;
        tx.commit().await?;
        tracing::info!(case.id = case_id, phone = %phone, "callback requested");
        Ok(phone)
    }

    /// The callback number, for the staff member who holds the case and nobody else. Each look
    /// is audited.
    pub async fn callback_for(&self, case_id: i64, staff_id: &str) -> Result<Callback, CaseError> {
        let now = self.clock.now();
        let (mut tx, _) = self
            .begin_work(case_id, staff_id, Work::SeeCallback, now)
            .await?;
        let callback = tx
            .open_callback(case_id)
            .await?
            .ok_or(CaseError::NoCallback(case_id))?;
        tx.append_audit(&[NewAuditEvent {
            at: now,
            actor_kind: ActorKind::Staff,
            actor_id: staff_id.to_owned(),
            action: Work::SeeCallback.audit_name(),
            case_id: Some(case_id),
            details: json!({ "callback": callback.id }),
        }])
        .await?;
        tx.commit().await?;
        Ok(callback)
    }

    /// What a customer asks of their own case from the bot's buttons. `user_id` is their platform
    /// id; nobody can act on a case that is not theirs.
    pub async fn customer_action(
        &self,
        case_id: i64,
        user_id: &str,
        action: CustomerAction,
    ) -> Result<CaseState, CaseError> {
        let owner = self
            .store
            .case(case_id)
            .await?
            .ok_or(CaseError::NotFound(case_id))?;
        if owner.customer_user != user_id {
            return Err(CaseError::NotYourCase(case_id));
        }
        let customer = Actor::customer(owner.customer_id.to_string());
        match action {
            CustomerAction::TalkToPerson => {
                if owner.state != CaseState::Open {
                    return Ok(owner.state);
                }
                let escalate = CaseAction::Escalate {
                    priority: owner.priority,
                    reason: "customer_asked_for_a_person".into(),
                };
                self.apply(case_id, &customer, escalate).await
            }
            CustomerAction::Solved => {
                let resolve = CaseAction::Resolve {
                    summary: "the customer said it was solved".into(),
                };
                self.apply(case_id, &customer, resolve).await
            }
            CustomerAction::Rate(stars) => {
                if !(1..=5).contains(&stars) {
                    return Err(CaseError::BadRating);
                }
                let now = self.clock.now();
                let mut tx = self.store.begin().await?;
                tx.set_rating(case_id, i64::from(stars)).await?;
                tx.append_audit(&[NewAuditEvent {
                    at: now,
                    actor_kind: ActorKind::Customer,
                    actor_id: customer.id,
                    action: "case.rated",
                    case_id: Some(case_id),
                    details: json!({ "rating": stars }),
                }])
                .await?;
                tx.commit().await?;
                Ok(owner.state)
            }
        }
    }

    /// Puts the case's card (and with it its thread) back after someone deleted it on the
    /// platform: the card is a projection of the case, so an active case always has one.
    /// `card_gone`/`thread_gone` say which was deleted. Does nothing for a finished case.
    pub async fn repost_card(
        &self,
        case_id: i64,
        card_gone: bool,
        thread_gone: bool,
    ) -> Result<bool, CaseError> {
        let Some(case) = self.store.case(case_id).await? else {
            return Ok(false);
        };
        if !matches!(case.state, CaseState::Escalated | CaseState::Claimed) {
            return Ok(false);
        }
        let card = if card_gone {
            None
        } else {
            case.card_message_id.as_deref()
        };
        let thread = if thread_gone {
            None
        } else {
            case.thread_id.as_deref()
        };
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        tx.set_case_card(case_id, card, thread).await?;
        queue_card_update(&mut tx, case_id, case.state, case.assignee.as_deref(), now).await?;
        tx.append_audit(&[NewAuditEvent {
            at: now,
            actor_kind: ActorKind::System,
            actor_id: "discord".into(),
            action: "card.reposted",
            case_id: Some(case_id),
            details: json!({ "card_deleted": card_gone, "thread_deleted": thread_gone }),
        }])
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Records an attempt an adapter refused before it reached a case action (a staff button
    /// pressed outside the staff server, say), so that every refusal is in the audit log.
    pub async fn record_refusal(
        &self,
        case_id: Option<i64>,
        who: &str,
        attempted: &str,
        reason: &str,
    ) -> Result<(), CaseError> {
        let mut tx = self.store.begin().await?;
        tx.append_audit(&[NewAuditEvent {
            at: self.clock.now(),
            actor_kind: ActorKind::Staff,
            actor_id: who.to_owned(),
            action: "auth.refused",
            case_id,
            details: json!({ "attempted": attempted, "reason": reason }),
        }])
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Opens the transaction for `work` on a case by `staff_id`, or records the refusal.
    async fn begin_work(
        &self,
        case_id: i64,
        staff_id: &str,
        work: Work,
        now: DateTime<Utc>,
    ) -> Result<(Tx, CaseState), CaseError> {
        let mut tx = self.store.begin().await?;
        let (state, assignee) = tx
            .case_state(case_id)
            .await?
            .ok_or(CaseError::NotFound(case_id))?;
        let member = tx.staff_member(staff_id).await?;
        if let Err(refused) = authorize_work(staff_id, member.as_ref(), work, assignee.as_deref()) {
            let staff = Actor::staff(staff_id);
            let attempted = work.audit_name();
            return Err(refuse(tx, &staff, Some(case_id), attempted, refused, now).await?);
        }
        Ok((tx, state))
    }

    async fn refusal_after_race(&self, case_id: i64, action: &CaseAction) -> CaseError {
        let current = match self.store.begin().await {
            Ok(mut tx) => tx.case_state(case_id).await,
            Err(e) => Err(e),
        };
        match current {
            Ok(Some((state, assignee))) => match transition(state, assignee.as_deref(), action) {
                Err(refused) => CaseError::Refused(refused),
                Ok(_) => CaseError::Contended(case_id),
            },
            Ok(None) => CaseError::NotFound(case_id),
            Err(e) => CaseError::Store(e),
        }
    }
}

/// Queues the case card's refresh, showing the case as it now stands.
async fn queue_card_update(
    tx: &mut Tx,
    case_id: i64,
    state: CaseState,
    assignee: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let update = render::card_update(case_id, state, assignee);
    tx.enqueue(
        &[Outgoing::to_staff(case_id, OutboxKind::CaseCard, update)],
        now,
    )
    .await
}

/// The audit event for a note or reply: its size and fingerprint, never its text.
fn staff_event(
    staff_id: &str,
    work: Work,
    case_id: i64,
    text: &str,
    at: DateTime<Utc>,
) -> NewAuditEvent {
    NewAuditEvent {
        at,
        actor_kind: ActorKind::Staff,
        actor_id: staff_id.to_owned(),
        action: work.audit_name(),
        case_id: Some(case_id),
        details: json!({ "sha256": sha256_hex(text.as_bytes()), "bytes": text.len() }),
    }
}

/// Records a refused attempt (who tried what, and why) and commits it, so the refusal is part of
/// the log even though nothing else changes. Returns the error to hand back.
async fn refuse(
    mut tx: Tx,
    actor: &Actor,
    case_id: Option<i64>,
    attempted: &str,
    refused: AuthError,
    at: DateTime<Utc>,
) -> Result<CaseError, StoreError> {
    tx.append_audit(&[NewAuditEvent {
        at,
        actor_kind: actor.kind,
        actor_id: actor.id.clone(),
        action: "auth.refused",
        case_id,
        details: json!({ "attempted": attempted, "reason": refused.to_string() }),
    }])
    .await?;
    tx.commit().await?;
    Ok(refused.into())
}
