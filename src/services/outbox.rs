//! Delivering the outbox: leases due entries, sends each through the platform (behind the
//! [`Deliver`] port) within the outbound budget, and records the outcome. A failure is retried
//! with backoff; an entry the platform refuses for good is marked failed and audited.
//!
//! Delivery is at least once from casebot's side and exactly once on the platform's: each entry
//! carries a nonce derived from its id, so a retry after a crash or a timeout is recognised
//! instead of posted again.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;

use super::{Clock, SystemClock};
use crate::domain::audit::{Action, Actor, NewAuditEvent};
use crate::domain::change::OutboxUpdate;
use crate::domain::outbox::{backoff, nonce};
use crate::domain::views::OutboxEntry;
use crate::domain::Change;
use crate::store::{Store, StoreError};

/// Where queued messages go out: the Discord adapter in production, fakes in tests.
#[async_trait]
pub trait Deliver: Send + Sync {
    /// Sends one entry with its nonce; returns the platform's id for the message.
    async fn deliver(&self, entry: &OutboxEntry, nonce: &str) -> Result<String, DeliveryError>;
}

/// How many sends casebot may make now, shared by everything that sends with one bot token.
#[async_trait]
pub trait OutboundBudget: Send + Sync {
    /// Waits until one more request may go out.
    async fn take(&self);
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// The platform asked us to slow down for this long.
    #[error("rate limited for {0:?}")]
    RateLimited(Duration),
    /// Worth another try later: a timeout, a 5xx, a dropped connection.
    #[error("temporary failure: {0}")]
    Transient(String),
    /// Never going to work: the channel is gone, the customer closed their DMs.
    #[error("refused: {0}")]
    Permanent(String),
}

/// What one pass delivered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DispatchReport {
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
}

impl DispatchReport {
    pub fn handled(&self) -> usize {
        self.sent + self.retrying + self.failed
    }
}

#[derive(Clone)]
pub struct Dispatcher {
    store: Store,
    deliver: Arc<dyn Deliver>,
    /// Taken once per entry; `None` when the deliverer keeps to the budget itself.
    budget: Option<Arc<dyn OutboundBudget>>,
    clock: Arc<dyn Clock>,
    /// How long a leased entry is this dispatcher's before another may take it.
    lease: chrono::Duration,
    /// Attempts before an entry that keeps failing temporarily is given up.
    max_attempts: i64,
    batch: i64,
}

impl Dispatcher {
    pub fn new(store: Store, deliver: Arc<dyn Deliver>) -> Dispatcher {
        Dispatcher {
            store,
            deliver,
            budget: None,
            clock: Arc::new(SystemClock),
            lease: chrono::Duration::seconds(30),
            max_attempts: 12,
            batch: 50,
        }
    }

    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Dispatcher {
        self.clock = clock;
        self
    }

    /// Takes one send from `budget` before each entry.
    pub fn with_budget(mut self, budget: Arc<dyn OutboundBudget>) -> Dispatcher {
        self.budget = Some(budget);
        self
    }

    /// Delivers what is due now, one batch. Run it in a loop (see [`Dispatcher::run`]).
    pub async fn run_once(&self) -> Result<DispatchReport, StoreError> {
        let now = self.clock.now();
        let entries = self
            .store
            .lease_outbox(now, now + self.lease, self.batch)
            .await?;
        let mut report = DispatchReport::default();
        for entry in &entries {
            if let Some(budget) = &self.budget {
                budget.take().await;
            }
            let outcome = self.deliver.deliver(entry, &nonce(entry.id)).await;
            let now = self.clock.now();
            let change = match outcome {
                Ok(platform_message_id) => {
                    report.sent += 1;
                    Change::at(now).delivered(OutboxUpdate::Sent {
                        id: entry.id,
                        platform_message_id,
                    })
                }
                Err(DeliveryError::Permanent(reason)) => {
                    report.failed += 1;
                    self.give_up(entry, &reason)
                }
                Err(e) if entry.attempts >= self.max_attempts => {
                    report.failed += 1;
                    self.give_up(entry, &e.to_string())
                }
                Err(e) => {
                    report.retrying += 1;
                    let wait = match &e {
                        DeliveryError::RateLimited(wait) => *wait,
                        _ => backoff(u32::try_from(entry.attempts).unwrap_or(u32::MAX)),
                    };
                    tracing::warn!(outbox.id = %entry.id, error = %e, "delivery will be retried");
                    let at = now + chrono::Duration::from_std(wait).unwrap_or_default();
                    let error = e.to_string();
                    Change::at(now).delivered(OutboxUpdate::Retry {
                        id: entry.id,
                        at,
                        error,
                    })
                }
            };
            self.store.apply(change).await?;
        }
        Ok(report)
    }

    /// Delivers until `stop` turns true, pausing briefly whenever nothing is due. A store error
    /// is logged and retried after a pause: the entries stay in the outbox meanwhile.
    pub async fn run(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let idle = Duration::from_millis(100);
        while !*stop.borrow() {
            let pause = match self.run_once().await {
                Ok(report) if report.handled() > 0 => continue,
                Ok(_) => idle,
                Err(e) => {
                    tracing::error!(error = %e, "outbox dispatch failed; retrying");
                    Duration::from_secs(1)
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stop.changed() => {}
            }
        }
    }

    fn give_up(&self, entry: &OutboxEntry, reason: &str) -> Change {
        tracing::warn!(outbox.id = %entry.id, kind = entry.kind.as_str(), "delivery given up");
        let now = self.clock.now();
        let mut event = NewAuditEvent::new(now, Actor::system("outbox"), Action::DeliveryFailed)
            .with(json!({
                "outbox": entry.id,
                "kind": entry.kind.as_str(),
                "attempts": entry.attempts,
                "reason": reason,
            }));
        event.case_id = entry.case_id;
        Change::at(now)
            .delivered(OutboxUpdate::Failed {
                id: entry.id,
                error: reason.to_owned(),
            })
            .event(event)
    }
}

/// The budget of one process, from its in-memory rate limiter.
pub struct LocalBudget(pub Arc<super::limits::RateLimits>);

#[async_trait]
impl OutboundBudget for LocalBudget {
    async fn take(&self) {
        while let Err(wait) = self.0.take_outbound() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// The budget of every process sending with one bot token, kept in the database so that
/// several processes on PostgreSQL together stay within what Discord allows the token. When the
/// database cannot be reached, a send waits a moment and asks again rather than going out
/// unbudgeted.
pub struct SharedBudget {
    store: Store,
    name: String,
    per_second: f64,
}

impl SharedBudget {
    /// `name` identifies the token without revealing it (see [`SharedBudget::name_for`]).
    pub fn new(store: Store, name: String, per_second: u32) -> SharedBudget {
        SharedBudget {
            store,
            name,
            per_second: f64::from(per_second.max(1)),
        }
    }

    /// A name for the budget of `token`: a digest, so the token itself is never stored.
    pub fn name_for(token: &str) -> String {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(token.as_bytes());
        format!("bot:{}", hex::encode(&digest[..8]))
    }
}

#[async_trait]
impl OutboundBudget for SharedBudget {
    async fn take(&self) {
        loop {
            // A bucket of one second's worth: bursts stay within the per-second figure.
            match self
                .store
                .take_outbound(&self.name, self.per_second, self.per_second)
                .await
            {
                Ok(None) => return,
                Ok(Some(wait)) => tokio::time::sleep(wait).await,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the shared outbound budget; waiting");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    }
}
