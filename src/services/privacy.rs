//! A customer's rights over their data: everything casebot holds about them, exported as one
//! JSON document (and the export audited); and erasure, which removes their personal data and
//! message text, leaves tombstones (so counts, case history and the audit chains stay whole) and
//! is itself audited.

use std::sync::Arc;

use serde_json::{json, Value};

use super::{Clock, SystemClock};
use crate::domain::audit::{Action, Actor, NewAuditEvent};
use crate::domain::change::CustomerWrite;
use crate::domain::ids::CustomerId;
use crate::domain::views::Delivery;
use crate::domain::Change;
use crate::store::{Page, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    #[error("customer {0} does not exist")]
    NoSuchCustomer(CustomerId),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone)]
pub struct PrivacyService {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl PrivacyService {
    pub fn new(store: Store) -> PrivacyService {
        PrivacyService {
            store,
            clock: Arc::new(SystemClock),
        }
    }

    /// Everything stored about the customer: who they are, each case with its messages, notes,
    /// callback requests (with the number: it is theirs), what casebot sent them, and the audit
    /// trail of their cases. `by` names who asked; the export is audited.
    pub async fn export(&self, customer_id: CustomerId, by: &Actor) -> Result<Value, PrivacyError> {
        let customer = self
            .store
            .customer(customer_id)
            .await?
            .ok_or(PrivacyError::NoSuchCustomer(customer_id))?;
        let mut cases = Vec::new();
        for case_id in self.store.customer_cases(customer_id).await? {
            let Some(case) = self.store.case(case_id).await? else {
                continue;
            };
            let messages = self.store.messages(case_id).await?;
            let notes = self.store.notes(case_id).await?;
            let callbacks: Vec<Value> = self
                .store
                .callbacks(case_id)
                .await?
                .into_iter()
                .map(|c| {
                    json!({
                        "phone": c.phone.expose(),
                        "requested_at": c.requested_at.to_rfc3339(),
                        "due_at": c.due_at.to_rfc3339(),
                        "done_at": c.done_at.map(|t| t.to_rfc3339()),
                    })
                })
                .collect();
            let sent: Vec<Value> = self
                .store
                .outbox_of_case(case_id)
                .await?
                .into_iter()
                .filter(|e| e.kind.reaches_customer())
                .map(|e| json!({ "kind": e.kind.as_str(), "text": e.body, "state": delivery(e.state) }))
                .collect();
            let trail: Vec<Value> = self
                .store
                .audit_events(Some(case_id), Page::first(i64::MAX))
                .await?
                .into_iter()
                .map(|(_, e)| json!({ "seq": e.seq, "action": e.action, "by": e.actor_kind, "details": e.details }))
                .collect();
            cases.push(json!({
                "case": case_id,
                "state": case.state,
                "intent": case.intent.map(|i| i.as_str()),
                "priority": case.priority,
                "order_number": case.order_number,
                "opened_at": case.created_at.to_rfc3339(),
                "resolved_at": case.resolved_at.map(|t| t.to_rfc3339()),
                "resolution_summary": case.resolution_summary,
                "rating": case.rating,
                "messages": messages,
                "notes": notes,
                "callbacks": callbacks,
                "sent_to_customer": sent,
                "audit": trail,
            }));
        }
        let now = self.clock.now();
        let event = NewAuditEvent::new(now, by.clone(), Action::CustomerExported)
            .with(json!({ "customer": customer_id, "cases": cases.len() }));
        self.store.apply(Change::at(now).event(event)).await?;
        Ok(json!({ "customer": customer, "cases": cases }))
    }

    /// Erases the customer's personal data and message text. Returns how many messages held
    /// text that is now erased; erasing again erases nothing more.
    pub async fn erase(&self, customer_id: CustomerId, by: &Actor) -> Result<u64, PrivacyError> {
        if self.store.customer(customer_id).await?.is_none() {
            return Err(PrivacyError::NoSuchCustomer(customer_id));
        }
        let mut messages = 0;
        for case in self.store.customer_cases(customer_id).await? {
            messages += self
                .store
                .messages(case)
                .await?
                .iter()
                .filter(|m| m.body != ERASED)
                .count() as u64;
        }
        let now = self.clock.now();
        let event = NewAuditEvent::new(now, by.clone(), Action::CustomerErased)
            .with(json!({ "customer": customer_id, "messages": messages }));
        let change = Change::at(now)
            .customer(CustomerWrite::Erased { customer_id })
            .event(event);
        self.store.apply(change).await?;
        Ok(messages)
    }
}

/// What erased text reads as.
const ERASED: &str = "[erased]";

fn delivery(state: Delivery) -> &'static str {
    state.as_str()
}
