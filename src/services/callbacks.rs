//! Callback requests: a customer asks to be called, the number is validated (E.164) and kept with
//! its own deadline, the case goes to the queue at high priority if the bot had it, staff are told
//! with the number masked, and only the claimer is ever shown the number (each look audited).

use std::sync::Arc;

use chrono::Duration;
use serde_json::json;

use super::errors::ActionError;
use super::staff::StaffService;
use super::{until_applied, Clock, Step, SystemClock};
use crate::domain::audit::{Action, Actor, NewAuditEvent};
use crate::domain::change::CallbackWrite;
use crate::domain::ids::{CaseId, StaffId};
use crate::domain::staff::Work;
use crate::domain::views::Callback;
use crate::domain::{CaseAction, CaseState, Change, OutboxKind, Outgoing, Phone, Priority};
use crate::render;
use crate::store::Store;

/// The reason recorded when a callback request sends a case to the queue.
pub const CALLBACK_REQUESTED: &str = "callback_requested";

#[derive(Clone)]
pub struct CallbackService {
    store: Store,
    staff: StaffService,
    clock: Arc<dyn Clock>,
    deadline: Duration,
}

impl CallbackService {
    pub fn new(store: Store, staff: StaffService, deadline: Duration) -> CallbackService {
        CallbackService {
            store,
            staff,
            clock: Arc::new(SystemClock),
            deadline,
        }
    }

    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> CallbackService {
        self.clock = clock;
        self
    }

    /// Records a callback request for `phone` on a case (the caller has checked it is the
    /// customer's own). Returns the validated number.
    pub async fn request(&self, case_id: CaseId, phone: &str) -> Result<Phone, ActionError> {
        let phone = Phone::parse(phone)?;
        let phone = &phone;
        until_applied(&self.store, move || async move {
            let view = self
                .store
                .case_view(case_id)
                .await?
                .ok_or(ActionError::NotFound(case_id))?;
            let now = self.clock.now();
            let due = now + self.deadline;
            let customer = Actor::customer(view.case.customer_id);
            let mut change = Change::at(now)
                .callback(CallbackWrite::Request {
                    case_id,
                    phone: phone.clone(),
                    due_at: due,
                })
                .event(
                    NewAuditEvent::new(now, customer.clone(), Action::CallbackRequested)
                        .on(case_id)
                        .with(json!({ "phone": phone.masked(), "due": due.to_rfc3339() })),
                )
                .send(Outgoing::to_staff(
                    case_id,
                    OutboxKind::Callback,
                    render::callback_notice(case_id, &phone.masked(), due),
                ))
                .send(Outgoing::to_customer(
                    case_id,
                    &view.customer.user_id,
                    OutboxKind::Reply,
                    render::callback_confirmation(case_id),
                ));
            let mut case = view.case.clone();
            if case.state == CaseState::Open {
                let escalate = CaseAction::Escalate {
                    priority: Priority::High,
                    reason: CALLBACK_REQUESTED.into(),
                };
                let (next, action) = case.apply(&escalate, now)?;
                let details =
                    json!({ "priority": next.priority.as_str(), "reason": CALLBACK_REQUESTED });
                change = change
                    .event(
                        NewAuditEvent::new(now, customer, action)
                            .on(case_id)
                            .with(details),
                    )
                    .send(Outgoing::to_staff(
                        case_id,
                        OutboxKind::CaseCard,
                        render::case_card(case_id, next.priority, CALLBACK_REQUESTED),
                    ));
                case = next;
            }
            // The case's version moves even when its state does not, so two requests at once
            // are told apart.
            Ok(Step::write(change.update(&view.case, case), phone.clone()))
        })
        .await
    }

    /// The number to call, for the staff member who holds the case and nobody else. Each look is
    /// audited.
    pub async fn number_for(
        &self,
        case_id: CaseId,
        staff: &StaffId,
    ) -> Result<Callback, ActionError> {
        let case = self
            .store
            .case(case_id)
            .await?
            .ok_or(ActionError::NotFound(case_id))?;
        self.staff.work(&case, staff, Work::SeeCallback).await?;
        let callback = self
            .store
            .callbacks(case_id)
            .await?
            .into_iter()
            .rev()
            .find(|c| c.done_at.is_none() && !c.phone.is_erased())
            .ok_or(ActionError::NoCallback(case_id))?;
        let now = self.clock.now();
        let event = NewAuditEvent::new(now, Actor::staff(staff), Action::CallbackShown)
            .on(case_id)
            .with(json!({ "callback": callback.id }));
        self.store.apply(Change::at(now).event(event)).await?;
        Ok(callback)
    }
}
