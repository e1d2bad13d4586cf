//! A customer's rights over their data: everything casebot holds about them, exported as one
//! JSON document; and erasure, which removes their personal data and message text, leaves
//! tombstones (so counts, case history and the audit chain stay whole) and is itself audited.

use serde_json::{json, Value};

use crate::domain::{ActorKind, NewAuditEvent};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    #[error("customer {0} does not exist")]
    NoSuchCustomer(i64),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone)]
pub struct PrivacyService {
    store: Store,
}

impl PrivacyService {
    pub fn new(store: Store) -> PrivacyService {
        PrivacyService { store }
    }

    /// Everything stored about the customer: who they are, each case with its messages, notes
    /// about them, callback requests (with the number: it is theirs), what casebot sent them,
    /// and the audit trail of their cases.
    pub async fn export(&self, customer_id: i64) -> Result<Value, PrivacyError> {
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
            let messages: Vec<Value> = self
                .store
                .messages(case_id)
                .await?
                .into_iter()
                .map(|m| {
                    json!({
                        "id": m.platform_message_id, "channel": m.channel_kind,
                        "author": m.author_kind, "text": m.body,
                        "sent_at": crate::store::from_millis(m.sent_at).to_rfc3339(),
                    })
                })
                .collect();
            let notes: Vec<Value> = self
                .store
                .case_notes(case_id)
                .await?
                .into_iter()
                .map(|(author, text, at)| json!({ "by": author, "text": text, "at": at.to_rfc3339() }))
                .collect();
            let sent: Vec<Value> = self
                .store
                .case_outbox(case_id)
                .await?
                .into_iter()
                .filter(|(e, _)| e.kind.reaches_customer())
                .map(
                    |(e, state)| json!({ "kind": e.kind.as_str(), "text": e.body, "state": state }),
                )
                .collect();
            let trail: Vec<Value> = self
                .store
                .audit_page(Some(case_id), 0, i64::MAX)
                .await?
                .into_iter()
                .map(|e| json!({ "seq": e.seq, "action": e.action, "by": e.actor_kind, "details": e.details }))
                .collect();
            cases.push(json!({
                "case": case_id,
                "state": case.state.as_str(),
                "intent": case.intent,
                "priority": case.priority.as_str(),
                "order_number": case.order_number,
                "opened_at": case.created_at.to_rfc3339(),
                "resolved_at": case.resolved_at.map(|t| t.to_rfc3339()),
                "resolution_summary": case.resolution_summary,
                "rating": case.rating,
                "messages": messages,
                "notes": notes,
                "callbacks": self.store.case_callbacks(case_id).await?,
                "sent_to_customer": sent,
                "audit": trail,
            }));
        }
        Ok(json!({ "customer": customer, "cases": cases }))
    }

    /// Erases the customer's personal data and message text. Returns how many messages were
    /// erased; erasing again erases nothing more.
    pub async fn erase(&self, customer_id: i64, by: &str) -> Result<u64, PrivacyError> {
        if self.store.customer(customer_id).await?.is_none() {
            return Err(PrivacyError::NoSuchCustomer(customer_id));
        }
        let now = chrono::Utc::now();
        let by = by.to_owned();
        let erased = self
            .store
            .erase_customer(customer_id, now, |messages| NewAuditEvent {
                at: now,
                actor_kind: ActorKind::System,
                actor_id: by,
                action: "customer.erased",
                case_id: None,
                details: json!({ "customer": customer_id, "messages": messages }),
            })
            .await?;
        Ok(erased)
    }
}
