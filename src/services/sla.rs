//! The SLA sweeper: finds queue cases past a deadline, raises their priority one step and records
//! the breach once, with an audit event that is also the staff re-notification.

use std::sync::Arc;

use serde_json::json;

use super::{Clock, SystemClock};
use chrono::{DateTime, Utc};

use crate::domain::sla::{breach, bump, BreachKind, SlaClock, SlaPolicy};
use crate::domain::{ActorKind, NewAuditEvent, OutboxKind, Outgoing, Priority};
use crate::render;
use crate::store::{Store, StoreError};

/// One breach found by a sweep: staff are to be told about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breach {
    pub case_id: i64,
    pub kind: BreachKind,
    pub from: Priority,
    pub to: Priority,
}

#[derive(Clone)]
pub struct SlaSweeper {
    store: Store,
    policy: SlaPolicy,
    clock: Arc<dyn Clock>,
}

impl SlaSweeper {
    pub fn new(store: Store, policy: SlaPolicy) -> SlaSweeper {
        SlaSweeper {
            store,
            policy,
            clock: Arc::new(SystemClock),
        }
    }

    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> SlaSweeper {
        self.clock = clock;
        self
    }

    /// One sweep over the queue. Each breach is recorded in its own transaction with its audit
    /// event; a breach another sweeper recorded first is not reported again.
    pub async fn sweep(&self) -> Result<Vec<Breach>, StoreError> {
        const BATCH: i64 = 1_000;
        let now = self.clock.now();
        let mut found = Vec::new();
        let mut after = 0;
        loop {
            let page = self.store.sla_clocks(after, BATCH).await?;
            for (case_id, clock) in &page {
                if let Some(breach) = self.record(*case_id, clock, now).await? {
                    found.push(breach);
                }
            }
            match page.last() {
                Some((last, _)) if page.len() as i64 == BATCH => after = *last,
                _ => break,
            }
        }
        Ok(found)
    }

    /// Reports callbacks past their deadline to staff, once each, audited. Returns their cases.
    pub async fn sweep_callbacks(&self) -> Result<Vec<i64>, StoreError> {
        let now = self.clock.now();
        let mut overdue = Vec::new();
        for (callback_id, case_id) in self.store.overdue_callbacks(now).await? {
            let mut tx = self.store.begin().await?;
            if !tx.mark_callback_breach(callback_id, now).await? {
                continue;
            }
            let notice = (
                OutboxKind::Callback,
                render::callback_overdue_notice(case_id),
            );
            let details = json!({ "callback": callback_id, "notify": "staff" });
            notify_staff(tx, case_id, notice, ("callback.overdue", details), now).await?;
            overdue.push(case_id);
        }
        Ok(overdue)
    }

    /// Records the breach this clock shows, if any and if no other sweeper recorded it first.
    async fn record(
        &self,
        case_id: i64,
        clock: &SlaClock,
        now: DateTime<Utc>,
    ) -> Result<Option<Breach>, StoreError> {
        let Some(kind) = breach(clock, now, &self.policy) else {
            return Ok(None);
        };
        let to = bump(clock.priority);
        let mut tx = self.store.begin().await?;
        if !tx.mark_breach(case_id, kind, to, now).await? {
            return Ok(None);
        }
        let notice = (
            OutboxKind::SlaBreach,
            render::sla_breach_notice(case_id, kind, to),
        );
        let details = json!({
            "deadline": kind.as_str(),
            "priority_from": clock.priority.as_str(),
            "priority_to": to.as_str(),
            "notify": "staff",
        });
        notify_staff(tx, case_id, notice, ("sla.breached", details), now).await?;
        tracing::info!(case.id = case_id, deadline = kind.as_str(), "SLA breached");
        Ok(Some(Breach {
            case_id,
            kind,
            from: clock.priority,
            to,
        }))
    }
}

/// Queues a staff notice and its audit event, and commits them with the change already in `tx`.
async fn notify_staff(
    mut tx: crate::store::Tx,
    case_id: i64,
    (kind, notice): (OutboxKind, String),
    (action, details): (&'static str, serde_json::Value),
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.enqueue(&[Outgoing::to_staff(case_id, kind, notice)], now)
        .await?;
    tx.append_audit(&[NewAuditEvent {
        at: now,
        actor_kind: ActorKind::System,
        actor_id: "sla".into(),
        action,
        case_id: Some(case_id),
        details,
    }])
    .await?;
    tx.commit().await
}
