//! The stuck-case sweeper: hands the human queue the cases the bot is not getting anywhere with,
//! each with a reason code. On PostgreSQL one process sweeps at a time (an advisory lock).

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::{Clock, SystemClock};
use crate::domain::flows::{self, FlowPolicy, Next};
use crate::domain::{ActorKind, CaseState, NewAuditEvent, OutboxKind, Outgoing};
use crate::orders::OrderSource;
use crate::render;
use crate::store::{OpenCase, Store, StoreError, JOB_STUCK_SWEEP};

/// How long a refund may stay pending, how many customer messages the bot gets, and how long a
/// public mention may go unanswered.
#[derive(Debug, Clone, PartialEq)]
pub struct StuckPolicy {
    pub refund_pending_days: i64,
    pub max_customer_messages: i64,
    pub mention_unanswered: Duration,
}

impl Default for StuckPolicy {
    fn default() -> Self {
        StuckPolicy {
            refund_pending_days: 5,
            max_customer_messages: 3,
            mention_unanswered: Duration::minutes(15),
        }
    }
}

#[derive(Clone)]
pub struct StuckSweeper {
    store: Store,
    orders: Arc<dyn OrderSource>,
    flows: FlowPolicy,
    policy: StuckPolicy,
    clock: Arc<dyn Clock>,
}

impl StuckSweeper {
    pub fn new(
        store: Store,
        orders: Arc<dyn OrderSource>,
        flows: FlowPolicy,
        policy: StuckPolicy,
    ) -> StuckSweeper {
        StuckSweeper {
            store,
            orders,
            flows,
            policy,
            clock: Arc::new(SystemClock),
        }
    }

    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> StuckSweeper {
        self.clock = clock;
        self
    }

    /// One sweep. Returns the escalated cases with their reasons, or `None` when another process
    /// is sweeping right now.
    pub async fn sweep(&self) -> Result<Option<Vec<(i64, &'static str)>>, StoreError> {
        self.store
            .exclusively(JOB_STUCK_SWEEP, || self.sweep_now())
            .await
    }

    async fn sweep_now(&self) -> Result<Vec<(i64, &'static str)>, StoreError> {
        const BATCH: i64 = 5_000;
        let now = self.clock.now();
        let mut escalated = Vec::new();
        let mut after = 0;
        loop {
            let page = self.store.open_cases(after, BATCH).await?;
            for case in &page {
                let Some(reason) = self.stuck_reason(case, now).await else {
                    continue;
                };
                if self.escalate(case.case_id, reason, now).await? {
                    escalated.push((case.case_id, reason));
                }
            }
            match page.last() {
                Some(last) if page.len() as i64 == BATCH => after = last.case_id,
                _ => return Ok(escalated),
            }
        }
    }

    /// Why this case should go to a person now, if it should.
    async fn stuck_reason(&self, case: &OpenCase, now: DateTime<Utc>) -> Option<&'static str> {
        if case.waiting_until.is_some_and(|until| until <= now) {
            return Some("missing_delivery_window_ended");
        }
        if let Some(mention) = case.last_mention_at {
            // Answered means delivered: a reply still in the outbox has not reached anyone.
            let answered = case.last_answer_at.is_some_and(|at| at >= mention);
            if !answered && now - mention >= self.policy.mention_unanswered {
                return Some("public_mention_unanswered");
            }
        }
        if case.customer_messages >= self.policy.max_customer_messages {
            return Some("bot_not_resolving");
        }
        let number = case.order_number.as_deref()?;
        match case.intent.as_deref() {
            Some("order_tracking" | "late_delivery") => {
                let order = self.orders.order(number).await.ok()??;
                let late = flows::tracking(&order, now, &self.flows).next;
                matches!(late, Next::Stuck { .. }).then_some("order_late")
            }
            Some("refund") => {
                let order = self.orders.order(number).await.ok()??;
                let waited =
                    now - case.updated_at > Duration::days(self.policy.refund_pending_days);
                (order.refunded_at.is_none() && waited).then_some("refund_pending")
            }
            _ => None,
        }
    }

    /// Moves an open case to the queue with its reason; false when it moved on meanwhile.
    async fn escalate(
        &self,
        case_id: i64,
        reason: &'static str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.store.begin().await?;
        let moved = tx
            .set_case_state(
                case_id,
                (CaseState::Open, None),
                (CaseState::Escalated, None),
                now,
            )
            .await?;
        if !moved {
            return Ok(false);
        }
        tx.update_case_details(case_id, None, Some(reason), None)
            .await?;
        let event = |action: &'static str, details| NewAuditEvent {
            at: now,
            actor_kind: ActorKind::System,
            actor_id: "stuck-sweeper".into(),
            action,
            case_id: Some(case_id),
            details,
        };
        let priority = tx.case_priority(case_id).await?;
        tx.enqueue(
            &[
                Outgoing::to_staff(
                    case_id,
                    OutboxKind::CaseCard,
                    render::case_card(case_id, priority, reason),
                ),
                Outgoing::to_staff(
                    case_id,
                    OutboxKind::StuckCase,
                    render::stuck_notice(case_id, reason),
                ),
            ],
            now,
        )
        .await?;
        tx.append_audit(&[
            event("case.stuck", json!({ "reason": reason })),
            event("case.escalated", json!({ "reason": reason })),
        ])
        .await?;
        tx.commit().await?;
        tracing::info!(case.id = case_id, reason, "stuck case handed to the queue");
        Ok(true)
    }
}
