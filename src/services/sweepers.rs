//! The sweepers, run every `queue.sweep_interval_secs`: SLA deadlines missed (the priority goes up
//! one step, staff are told, once per deadline), callbacks overdue (reported once), and stuck
//! cases the bot is not resolving (handed to the queue with a reason). On PostgreSQL one process
//! sweeps stuck cases at a time.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::{until_applied, Clock, Step, SystemClock};
use crate::domain::audit::{Action, Actor, NewAuditEvent};
use crate::domain::change::CallbackWrite;
use crate::domain::ids::CaseId;
use crate::domain::policy::StuckPolicy;
use crate::domain::routing::flows::FlowPolicy;
use crate::domain::sla::{breach, BreachKind, SlaClock, SlaPolicy};
use crate::domain::stuck::{needs_order, stuck_reason};
use crate::domain::{Case, CaseAction, CaseState, Change, OutboxKind, Outgoing, Priority};
use crate::orders::OrderSource;
use crate::render;
use crate::services::errors::Contended;
use crate::store::{Page, Store, StoreError};

/// Rows a sweeper reads at a time.
const PAGE: i64 = 1_000;

/// One breach found by a sweep: staff were told about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breach {
    pub case_id: CaseId,
    pub kind: BreachKind,
    pub from: Priority,
    pub to: Priority,
}

/// What one sweep of everything found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Swept {
    pub breaches: Vec<Breach>,
    pub overdue_callbacks: Vec<CaseId>,
    /// `None` when another process was sweeping stuck cases.
    pub stuck: Option<Vec<(CaseId, &'static str)>>,
}

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Contended(#[from] Contended),
}

#[derive(Clone)]
pub struct Sweepers {
    store: Store,
    orders: Arc<dyn OrderSource>,
    sla: SlaPolicy,
    stuck: StuckPolicy,
    flows: FlowPolicy,
    clock: Arc<dyn Clock>,
}

impl Sweepers {
    pub fn new(
        store: Store,
        orders: Arc<dyn OrderSource>,
        sla: SlaPolicy,
        (stuck, flows): (StuckPolicy, FlowPolicy),
    ) -> Sweepers {
        Sweepers {
            store,
            orders,
            sla,
            stuck,
            flows,
            clock: Arc::new(SystemClock),
        }
    }

    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Sweepers {
        self.clock = clock;
        self
    }

    /// Every sweeper once.
    pub async fn sweep(&self) -> Result<Swept, SweepError> {
        Ok(Swept {
            stuck: self.stuck_cases().await?,
            breaches: self.sla_breaches().await?,
            overdue_callbacks: self.overdue_callbacks().await?,
        })
    }

    /// Raises the priority of cases past an SLA deadline, once per deadline, telling staff.
    pub async fn sla_breaches(&self) -> Result<Vec<Breach>, SweepError> {
        let mut found = Vec::new();
        let mut page = Page::first(PAGE);
        loop {
            let cases = self.store.cases_with_staff(page).await?;
            for case in &cases {
                if let Some(breach) = self.record_breach(case.id).await? {
                    found.push(breach);
                }
            }
            match cases.last() {
                Some(last) if cases.len() as i64 == PAGE => page.after = last.id.get(),
                _ => return Ok(found),
            }
        }
    }

    async fn record_breach(&self, case_id: CaseId) -> Result<Option<Breach>, SweepError> {
        until_applied(&self.store, move || async move {
            let now = self.clock.now();
            let Some(case) = self.store.case(case_id).await? else {
                return Ok(Step::Answer(None));
            };
            let Some(kind) = SlaClock::of(&case).and_then(|clock| breach(&clock, now, &self.sla))
            else {
                return Ok(Step::Answer(None));
            };
            let mut next = case.clone();
            next.priority = case.priority.raised();
            match kind {
                BreachKind::FirstResponse => next.first_response_breached_at = Some(now),
                BreachKind::Resolution => next.resolution_breached_at = Some(now),
            }
            let details = json!({
                "deadline": kind.as_str(),
                "priority_from": case.priority.as_str(),
                "priority_to": next.priority.as_str(),
                "notify": "staff",
            });
            let notice = render::sla_breach_notice(case_id, kind, next.priority);
            let change = Change::at(now)
                .update(&case, next.clone())
                .send(Outgoing::to_staff(case_id, OutboxKind::SlaBreach, notice))
                .event(
                    NewAuditEvent::new(now, Actor::system("sla"), Action::SlaBreached)
                        .on(case_id)
                        .with(details),
                );
            tracing::info!(case.id = %case_id, deadline = kind.as_str(), "SLA breached");
            Ok(Step::write(
                change,
                Some(Breach {
                    case_id,
                    kind,
                    from: case.priority,
                    to: next.priority,
                }),
            ))
        })
        .await
    }

    /// Tells staff about callbacks past their deadline, once each. Returns their cases.
    pub async fn overdue_callbacks(&self) -> Result<Vec<CaseId>, SweepError> {
        let now = self.clock.now();
        let mut overdue = Vec::new();
        for callback in self.store.overdue_callbacks(now).await? {
            let case_id = callback.case_id;
            let details = json!({ "callback": callback.id, "notify": "staff" });
            let change = Change::at(now)
                .callback(CallbackWrite::Overdue {
                    callback_id: callback.id,
                })
                .send(Outgoing::to_staff(
                    case_id,
                    OutboxKind::Callback,
                    render::callback_overdue_notice(case_id),
                ))
                .event(
                    NewAuditEvent::new(now, Actor::system("sla"), Action::CallbackOverdue)
                        .on(case_id)
                        .with(details),
                );
            self.store.apply(change).await?;
            overdue.push(case_id);
        }
        Ok(overdue)
    }

    /// Hands stuck cases to the queue with their reasons; `None` when another process is doing
    /// it right now.
    pub async fn stuck_cases(&self) -> Result<Option<Vec<(CaseId, &'static str)>>, SweepError> {
        let Some(job) = self.store.try_exclusive("stuck-sweeper").await? else {
            return Ok(None);
        };
        let escalated = self.hand_over_stuck().await;
        job.release().await;
        escalated.map(Some)
    }

    /// One pass over the open cases, handing each stuck one to the queue.
    async fn hand_over_stuck(&self) -> Result<Vec<(CaseId, &'static str)>, SweepError> {
        let now = self.clock.now();
        let mut escalated = Vec::new();
        let mut page = Page::first(PAGE);
        loop {
            let cases = self.store.open_cases(page).await?;
            for (case, projection) in &cases {
                let order = self.order_of(case).await;
                let policies = (&self.stuck, &self.flows);
                let Some(reason) = stuck_reason(case, projection, order.as_ref(), now, policies)
                else {
                    continue;
                };
                if self.hand_over(case.id, reason).await? {
                    escalated.push((case.id, reason));
                }
            }
            match cases.last() {
                Some((last, _)) if cases.len() as i64 == PAGE => page.after = last.id.get(),
                _ => return Ok(escalated),
            }
        }
    }

    async fn order_of(&self, case: &Case) -> Option<crate::domain::orders::Order> {
        if !needs_order(case) {
            return None;
        }
        let number = case.order_number.as_deref()?;
        self.orders.order(number).await.ok().flatten()
    }

    /// Moves a stuck case to the queue; false when it moved on meanwhile.
    async fn hand_over(&self, case_id: CaseId, reason: &'static str) -> Result<bool, SweepError> {
        until_applied(&self.store, move || async move {
            let now: DateTime<Utc> = self.clock.now();
            let Some(case) = self.store.case(case_id).await? else {
                return Ok(Step::Answer(false));
            };
            if case.state != CaseState::Open {
                return Ok(Step::Answer(false));
            }
            let escalate = CaseAction::Escalate {
                priority: case.priority,
                reason: reason.into(),
            };
            let Ok((mut next, action)) = case.apply(&escalate, now) else {
                return Ok(Step::Answer(false));
            };
            next.stuck_reason = Some(reason.to_owned());
            let sweeper = Actor::system("stuck-sweeper");
            let change = Change::at(now)
                .update(&case, next.clone())
                .send(Outgoing::to_staff(
                    case_id,
                    OutboxKind::CaseCard,
                    render::case_card(case_id, next.priority, reason),
                ))
                .send(Outgoing::to_staff(
                    case_id,
                    OutboxKind::StuckCase,
                    render::stuck_notice(case_id, reason),
                ))
                .event(
                    NewAuditEvent::new(now, sweeper.clone(), Action::CaseStuck)
                        .on(case_id)
                        .with(json!({ "reason": reason })),
                )
                .event(
                    NewAuditEvent::new(now, sweeper, action)
                        .on(case_id)
                        .with(json!({ "reason": reason })),
                );
            tracing::info!(case.id = %case_id, reason, "stuck case handed to the queue");
            Ok(Step::write(change, true))
        })
        .await
    }
}
