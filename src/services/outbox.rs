//! Delivering the outbox: leases due entries, sends each through the platform (behind the
//! [`Deliver`] port) within the outbound rate limit, and records the outcome. A failure is
//! retried with backoff; an entry the platform refuses for good is marked failed and audited.
//!
//! Delivery is at least once from casebot's side and exactly once on the platform's: each entry
//! carries a nonce derived from its id, so a retry after a crash or a timeout is recognised
//! instead of posted again.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;

use super::limits::RateLimits;
use super::{Clock, SystemClock};
use crate::domain::outbox::{backoff, nonce};
use crate::domain::{ActorKind, NewAuditEvent};
use crate::store::{OutboxEntry, Store, StoreError};

/// Where queued messages go out: the Discord adapter in production, fakes in tests.
#[async_trait]
pub trait Deliver: Send + Sync {
    /// Sends one entry with its nonce; returns the platform's id for the message.
    async fn deliver(&self, entry: &OutboxEntry, nonce: &str) -> Result<String, DeliveryError>;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// The platform asked us to slow down.
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
    limits: Arc<RateLimits>,
    clock: Arc<dyn Clock>,
    /// How long a leased entry is this dispatcher's before another may take it.
    lease: chrono::Duration,
    /// Attempts before an entry that keeps failing temporarily is given up.
    max_attempts: i64,
    batch: i64,
}

impl Dispatcher {
    pub fn new(store: Store, deliver: Arc<dyn Deliver>, limits: Arc<RateLimits>) -> Dispatcher {
        Dispatcher {
            store,
            deliver,
            limits,
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

    /// Delivers what is due now, one batch. Run it in a loop (see [`Dispatcher::run`]).
    pub async fn run_once(&self) -> Result<DispatchReport, StoreError> {
        let now = self.clock.now();
        let entries = self
            .store
            .lease_due_outbox(now, now + self.lease, self.batch)
            .await?;
        let mut report = DispatchReport::default();
        for entry in &entries {
            self.wait_for_outbound_budget().await;
            let outcome = self.deliver.deliver(entry, &nonce(entry.id)).await;
            let now = self.clock.now();
            match outcome {
                Ok(platform_id) => {
                    self.store
                        .mark_outbox_sent(entry.id, &platform_id, now)
                        .await?;
                    report.sent += 1;
                }
                Err(DeliveryError::Permanent(reason)) => {
                    self.give_up(entry, &reason).await?;
                    report.failed += 1;
                }
                Err(e) if entry.attempts >= self.max_attempts => {
                    self.give_up(entry, &e.to_string()).await?;
                    report.failed += 1;
                }
                Err(e) => {
                    let wait = match &e {
                        DeliveryError::RateLimited(wait) => *wait,
                        _ => backoff(u32::try_from(entry.attempts).unwrap_or(u32::MAX)),
                    };
                    let at = now + chrono::Duration::from_std(wait).unwrap_or_default();
                    self.store
                        .reschedule_outbox(entry.id, at, &e.to_string())
                        .await?;
                    tracing::warn!(outbox.id = entry.id, error = %e, "delivery will be retried");
                    report.retrying += 1;
                }
            }
        }
        Ok(report)
    }

    /// Delivers until `stop` turns true, pausing briefly whenever nothing is due. A store error
    /// is logged and retried after a pause: the entries stay in the outbox meanwhile.
    pub async fn run(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let idle = Duration::from_millis(200);
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

    async fn wait_for_outbound_budget(&self) {
        while let Err(wait) = self.limits.take_outbound() {
            tokio::time::sleep(wait).await;
        }
    }

    async fn give_up(&self, entry: &OutboxEntry, reason: &str) -> Result<(), StoreError> {
        tracing::warn!(
            outbox.id = entry.id,
            kind = entry.kind.as_str(),
            "delivery given up"
        );
        let event = NewAuditEvent {
            at: self.clock.now(),
            actor_kind: ActorKind::System,
            actor_id: "outbox".into(),
            action: "delivery.failed",
            case_id: entry.case_id,
            details: json!({
                "outbox": entry.id,
                "kind": entry.kind.as_str(),
                "attempts": entry.attempts,
                "reason": reason,
            }),
        };
        self.store.fail_outbox(entry, reason, event).await
    }
}
