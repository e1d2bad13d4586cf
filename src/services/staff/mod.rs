//! What the support team does: claim (a case, or the next one), release, transfer, resolve and
//! reopen cases; write internal notes and replies; correct what routing read; block customers;
//! keep the team directory in line with the chat platform's roles. The pure state machine and the
//! authorisation rules decide; every change is a compare-and-set on the case version, so of two
//! people acting at once exactly one succeeds, and every refusal is audited too.

use std::sync::Arc;

use serde_json::json;

use super::errors::{ActionError, Contended};
use super::{until_applied, Clock, Step, SystemClock};
use crate::domain::audit::{Action, Actor, NewAuditEvent};
use crate::domain::change::{
    CallbackWrite, CustomerWrite, MessageAuthor, NewMessage, NewNote, StaffWrite,
};
use crate::domain::ids::{CaseId, StaffId};
use crate::domain::message::sha256_hex;
use crate::domain::staff::{authorize, authorize_work, AuthError, StaffMember, Work};
use crate::domain::views::CaseView;
use crate::domain::{Case, CaseAction, CaseState, Change, ChannelKind, OutboxKind, Outgoing};
use crate::render;
use crate::store::Store;

mod claim_next;
mod corrections;

/// Who sees a case's thread: the claimer is added on claim; on release or transfer the previous
/// holder is taken out unless `keep_after_release`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ThreadPolicy {
    pub keep_after_release: bool,
}

#[derive(Clone)]
pub struct StaffService {
    store: Store,
    clock: Arc<dyn Clock>,
    threads: ThreadPolicy,
}

impl StaffService {
    pub fn new(store: Store) -> StaffService {
        StaffService {
            store,
            clock: Arc::new(SystemClock),
            threads: ThreadPolicy::default(),
        }
    }

    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> StaffService {
        self.clock = clock;
        self
    }

    pub fn with_thread_policy(mut self, threads: ThreadPolicy) -> StaffService {
        self.threads = threads;
        self
    }

    /// Applies `action` for `staff`, who must be on the team and, for release, transfer and
    /// resolve of a claimed case, its holder or a lead. Returns the case's new state.
    #[tracing::instrument(name = "case.act", skip_all, fields(case.id = %case_id))]
    pub async fn act(
        &self,
        case_id: CaseId,
        staff: &StaffId,
        action: CaseAction,
    ) -> Result<CaseState, ActionError> {
        until_applied(&self.store, move || {
            let action = action.clone();
            async move {
                let view = self.view(case_id).await?;
                let member = self.store.staff_member(staff).await?;
                if let Err(refused) =
                    authorize(staff, member.as_ref(), &action, view.case.assignee.as_ref())
                {
                    return self
                        .refuse(Some(case_id), staff, action.audit_action(), refused)
                        .await;
                }
                let (change, next) = self.transition(&view.case, &Actor::staff(staff), &action)?;
                let change = with_rating_prompt(change, &view, &action);
                Ok(Step::write(change, next.state))
            }
        })
        .await
    }

    /// Applies `action` on behalf of casebot itself or the case's customer (already checked by
    /// the caller), recording `actor` as who did it.
    pub async fn act_as(
        &self,
        case_id: CaseId,
        actor: &Actor,
        action: CaseAction,
    ) -> Result<CaseState, ActionError> {
        self.act_on_behalf(case_id, actor, action, None).await
    }

    /// As [`StaffService::act_as`], recording `also` (an audit action and its details) on the case
    /// in the same transaction: what the actor said that led to the change.
    pub async fn act_as_recording(
        &self,
        case_id: CaseId,
        actor: &Actor,
        action: CaseAction,
        also: (Action, serde_json::Value),
    ) -> Result<CaseState, ActionError> {
        self.act_on_behalf(case_id, actor, action, Some(also)).await
    }

    async fn act_on_behalf(
        &self,
        case_id: CaseId,
        actor: &Actor,
        action: CaseAction,
        also: Option<(Action, serde_json::Value)>,
    ) -> Result<CaseState, ActionError> {
        until_applied(&self.store, move || {
            let action = action.clone();
            let also = also.clone();
            async move {
                let view = self.view(case_id).await?;
                let (change, next) = self.transition(&view.case, actor, &action)?;
                let mut change = with_rating_prompt(change, &view, &action);
                if let Some((recorded, details)) = also {
                    let event = NewAuditEvent::new(change.at, actor.clone(), recorded)
                        .on(case_id)
                        .with(details);
                    change = change.event(event);
                }
                Ok(Step::write(change, next.state))
            }
        })
        .await
    }

    /// The change for a permitted transition: the case over its version, the audit event, the
    /// card refresh and the thread membership.
    fn transition(
        &self,
        case: &Case,
        actor: &Actor,
        action: &CaseAction,
    ) -> Result<(Change, Case), ActionError> {
        let now = self.clock.now();
        let (next, audit) = case.apply(action, now)?;
        let details = match action {
            CaseAction::Escalate { priority, reason } => {
                json!({ "priority": priority.as_str(), "reason": reason })
            }
            CaseAction::Resolve { summary } => {
                json!({ "summary_sha256": sha256_hex(summary.as_bytes()) })
            }
            CaseAction::Claim { staff } => json!({ "assignee": staff }),
            CaseAction::Transfer { to } => json!({ "from": case.assignee, "to": to }),
            CaseAction::Release => json!({ "from": case.assignee }),
            CaseAction::Reopen | CaseAction::Close => json!({}),
        };
        let mut change = Change::at(now).update(case, next.clone()).event(
            NewAuditEvent::new(now, actor.clone(), audit)
                .on(case.id)
                .with(details),
        );
        change = match action {
            CaseAction::Escalate { .. } => change.send(Outgoing::to_staff(
                case.id,
                OutboxKind::CaseCard,
                render::case_card(case.id, next.priority, &next.reasons_line()),
            )),
            CaseAction::Close => change,
            _ => change.send(card_refresh(&next)),
        };
        change = change.send_all(self.thread_moves(case, &next));
        if let CaseAction::Resolve { .. } = action {
            change = change.callback(CallbackWrite::FinishAll { case_id: case.id });
        }
        Ok((change, next))
    }

    /// Who joins or leaves the case's thread when its holder changes.
    fn thread_moves(&self, before: &Case, after: &Case) -> Vec<Outgoing> {
        let mut moves = Vec::new();
        if before.assignee == after.assignee {
            return moves;
        }
        if let (Some(gone), false) = (&before.assignee, self.threads.keep_after_release) {
            moves.push(Outgoing::to_thread(
                before.id,
                OutboxKind::ThreadLeave,
                gone.to_string(),
            ));
        }
        if let Some(holder) = &after.assignee {
            moves.push(Outgoing::to_thread(
                after.id,
                OutboxKind::ThreadJoin,
                holder.to_string(),
            ));
        }
        moves
    }

    /// Adds `staff` to the case's thread, on request (leads, or anyone who looks a case up).
    pub async fn join_thread(&self, case_id: CaseId, staff: &StaffId) -> Result<(), ActionError> {
        let case = self.case(case_id).await?;
        self.work(&case, staff, Work::Join).await?;
        let now = self.clock.now();
        let event = NewAuditEvent::new(now, Actor::staff(staff), Action::ThreadJoined)
            .on(case_id)
            .with(json!({ "staff": staff, "requested": true }));
        let change = Change::at(now).event(event).send(Outgoing::to_thread(
            case_id,
            OutboxKind::ThreadJoin,
            staff.to_string(),
        ));
        self.store.apply(change).await?;
        Ok(())
    }

    /// An internal note by `staff`: kept on the case and posted to its thread, never sent to the
    /// customer, whatever it says.
    pub async fn note(
        &self,
        case_id: CaseId,
        staff: &StaffId,
        text: &str,
    ) -> Result<(), ActionError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(ActionError::EmptyText);
        }
        let case = self.case(case_id).await?;
        self.work(&case, staff, Work::Note).await?;
        let now = self.clock.now();
        let change = Change::at(now)
            .note(NewNote {
                case_id,
                author: staff.clone(),
                body: text.to_owned(),
            })
            .send(Outgoing::to_thread(
                case_id,
                OutboxKind::Note,
                render::note(staff, text),
            ))
            .event(work_event(staff, Work::Note, case_id, text, now));
        self.store.apply(change).await?;
        Ok(())
    }

    /// A reply by `staff`, who must hold the case (or be a lead): stored on the case and queued
    /// for the customer's DMs. `source_id` is the platform id of the staff message relayed, when
    /// there is one; relaying the same one twice sends it once.
    pub async fn reply(
        &self,
        case_id: CaseId,
        staff: &StaffId,
        text: &str,
        source_id: Option<&str>,
    ) -> Result<(), ActionError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(ActionError::EmptyText);
        }
        until_applied(&self.store, move || async move {
            let view = self.view(case_id).await?;
            self.work(&view.case, staff, Work::Reply).await?;
            let now = self.clock.now();
            let generated = format!("staff-reply:{case_id}:{}", now.timestamp_micros());
            let mut answered = view.case.clone();
            answered.staff_answered_at = Some(now);
            answered.first_response_at = answered.first_response_at.or(Some(now));
            let user = &view.customer.user_id;
            let change = Change::at(now)
                .update(&view.case, answered)
                .message(NewMessage {
                    case_id,
                    customer_id: view.case.customer_id,
                    platform: view.customer.platform.clone(),
                    platform_message_id: source_id.map_or(generated, str::to_owned),
                    channel_kind: ChannelKind::Dm,
                    channel_id: user.to_string(),
                    author: MessageAuthor::Staff(staff.clone()),
                    body: text.to_owned(),
                    body_sha256: sha256_hex(text.as_bytes()),
                    sent_at: now,
                })
                .send(Outgoing::to_customer(
                    case_id,
                    user,
                    OutboxKind::StaffReply,
                    render::staff_reply(text),
                ))
                .event(work_event(staff, Work::Reply, case_id, text, now));
            Ok(Step::write(change, ()))
        })
        .await
    }

    /// Blocks (or unblocks) the customer of a case. A blocked customer's messages are still
    /// stored, but get no reply.
    pub async fn set_blocked(
        &self,
        case_id: CaseId,
        staff: &StaffId,
        blocked: bool,
    ) -> Result<(), ActionError> {
        let case = self.case(case_id).await?;
        let action = if blocked {
            Action::CustomerBlocked
        } else {
            Action::CustomerUnblocked
        };
        if self.store.staff_member(staff).await?.is_none() {
            let refused = AuthError::NotStaff { who: staff.clone() };
            return self
                .refuse(Some(case_id), staff, action, refused)
                .await
                .map(|_: Step<()>| ());
        }
        let now = self.clock.now();
        let change = Change::at(now)
            .customer(CustomerWrite::Blocked {
                customer_id: case.customer_id,
                blocked,
            })
            .event(NewAuditEvent::new(now, Actor::staff(staff), action).on(case_id));
        self.store.apply(change).await?;
        Ok(())
    }

    /// Makes the team directory say what the chat platform's roles say about `user`: `member`
    /// is their role there, or `None` when they hold no staff role. Audited when it changes.
    pub async fn sync_staff(
        &self,
        user: &StaffId,
        member: Option<&StaffMember>,
    ) -> Result<(), ActionError> {
        let known = self.store.staff_member(user).await?;
        let now = self.clock.now();
        let (write, action, details) = match (known.as_ref(), member) {
            (known, Some(member)) if known != Some(member) => (
                StaffWrite::Set(member.clone()),
                Action::StaffAdded,
                json!({ "staff": member.id, "role": member.role.as_str() }),
            ),
            (Some(_), None) => (
                StaffWrite::Remove(user.clone()),
                Action::StaffRemoved,
                json!({ "staff": user }),
            ),
            _ => return Ok(()),
        };
        let event = NewAuditEvent::new(now, Actor::system("roles"), action).with(details);
        self.store
            .apply(Change::at(now).staff(write).event(event))
            .await?;
        Ok(())
    }

    /// Adds a member to the team (or changes their role), recording who did it.
    pub async fn add_staff(&self, member: &StaffMember, by: &Actor) -> Result<(), ActionError> {
        let now = self.clock.now();
        let event = NewAuditEvent::new(now, by.clone(), Action::StaffAdded)
            .with(json!({ "staff": member.id, "role": member.role.as_str() }));
        let change = Change::at(now)
            .staff(StaffWrite::Set(member.clone()))
            .event(event);
        self.store.apply(change).await?;
        Ok(())
    }

    /// Records an attempt an adapter refused before it reached a case action (a staff button
    /// pressed outside the staff server, say), so that every refusal is in the audit log.
    pub async fn record_refusal(
        &self,
        case_id: Option<CaseId>,
        who: &StaffId,
        attempted: &str,
        reason: &str,
    ) -> Result<(), ActionError> {
        let now = self.clock.now();
        let mut event = NewAuditEvent::new(now, Actor::staff(who), Action::AuthRefused)
            .with(json!({ "attempted": attempted, "reason": reason }));
        event.case_id = case_id;
        self.store.apply(Change::at(now).event(event)).await?;
        Ok(())
    }

    /// Checks that `staff` may do `work` on `case`, recording a refusal.
    pub(crate) async fn work(
        &self,
        case: &Case,
        staff: &StaffId,
        work: Work,
    ) -> Result<(), ActionError> {
        let member = self.store.staff_member(staff).await?;
        match authorize_work(staff, member.as_ref(), work, case.assignee.as_ref()) {
            Ok(()) => Ok(()),
            Err(refused) => self
                .refuse(Some(case.id), staff, work.audit_action(), refused)
                .await
                .map(|_: Step<()>| ()),
        }
    }

    /// Records a refused attempt (who tried what, and why) and returns the refusal.
    async fn refuse<T>(
        &self,
        case_id: Option<CaseId>,
        staff: &StaffId,
        attempted: Action,
        refused: AuthError,
    ) -> Result<Step<T>, ActionError> {
        let now = self.clock.now();
        let mut event = NewAuditEvent::new(now, Actor::staff(staff), Action::AuthRefused)
            .with(json!({ "attempted": attempted.as_str(), "reason": refused.to_string() }));
        event.case_id = case_id;
        self.store.apply(Change::at(now).event(event)).await?;
        Err(refused.into())
    }

    async fn case(&self, id: CaseId) -> Result<Case, ActionError> {
        self.store.case(id).await?.ok_or(ActionError::NotFound(id))
    }

    async fn view(&self, id: CaseId) -> Result<CaseView, ActionError> {
        self.store
            .case_view(id)
            .await?
            .ok_or(ActionError::NotFound(id))
    }
}

/// On resolution the customer is asked how it went, unless they are blocked: a blocked customer
/// hears nothing from the bot.
fn with_rating_prompt(change: Change, view: &CaseView, action: &CaseAction) -> Change {
    match action {
        CaseAction::Resolve { .. } if !view.customer.blocked => change.send(Outgoing::to_customer(
            view.case.id,
            &view.customer.user_id,
            OutboxKind::RatingPrompt,
            render::rating_prompt(view.case.id),
        )),
        _ => change,
    }
}

/// The card's refresh after a change, showing the case as it now stands.
pub(crate) fn card_refresh(case: &Case) -> Outgoing {
    let update = render::card_update(case.id, case.state, case.assignee.as_ref());
    Outgoing::to_staff(case.id, OutboxKind::CaseCard, update)
}

/// Replaces the details of the change's last event.
fn tag_last_event(mut change: Change, details: serde_json::Value) -> Change {
    if let Some(event) = change.events.last_mut() {
        event.details = details;
    }
    change
}

/// The audit event for a note or reply: its size and fingerprint, never its text.
fn work_event(
    staff: &StaffId,
    work: Work,
    case_id: CaseId,
    text: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> NewAuditEvent {
    NewAuditEvent::new(at, Actor::staff(staff), work.audit_action())
        .on(case_id)
        .with(json!({ "sha256": sha256_hex(text.as_bytes()), "bytes": text.len() }))
}

impl From<Contended> for crate::services::intake::IntakeError {
    fn from(_: Contended) -> Self {
        crate::services::intake::IntakeError::Contended
    }
}
