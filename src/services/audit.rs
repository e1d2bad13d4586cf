//! The audit log as people use it: verifying every chain and checkpoint (optionally against a
//! seal kept outside the database), sealing checkpoints, and exporting events as JSON lines.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::{Clock, SystemClock};
pub use crate::domain::audit::SealPolicy;
use crate::domain::audit::{AuditEvent, Checkpoint, LogReport};
use crate::domain::ids::CaseId;
use crate::store::{Page, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write the export: {0}")]
    Write(#[from] std::io::Error),
}

#[derive(Clone)]
pub struct AuditService {
    store: Store,
    clock: Arc<dyn Clock>,
    policy: SealPolicy,
}

impl AuditService {
    pub fn new(store: Store, policy: SealPolicy) -> AuditService {
        AuditService {
            store,
            clock: Arc::new(SystemClock),
            policy,
        }
    }

    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> AuditService {
        self.clock = clock;
        self
    }

    /// Checks every chain and checkpoint; with `seal`, also that the log still holds it.
    pub async fn verify(&self, seal: Option<&str>) -> Result<LogReport, StoreError> {
        self.store.verify_audit(seal).await
    }

    /// Seals what changed since the last checkpoint (one sealer at a time across processes);
    /// `None` when nothing changed or another process is sealing.
    pub async fn seal(&self) -> Result<Option<Checkpoint>, StoreError> {
        let Some(job) = self.store.try_exclusive("audit-sealer").await? else {
            return Ok(None);
        };
        let sealed = self.store.seal_checkpoint(self.clock.now()).await;
        job.release().await;
        sealed
    }

    /// Seals any unsealed events, then returns the latest checkpoint: the seal to keep outside
    /// the database.
    pub async fn checkpoint(&self) -> Result<Option<Checkpoint>, StoreError> {
        self.seal().await?;
        self.store.latest_checkpoint().await
    }

    /// Seals every `policy.every`, or sooner when many events wait, until `stop` turns true;
    /// seals once more on the way out.
    pub async fn run_sealer(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let tick = Duration::from_secs(1);
        let mut since = std::time::Instant::now();
        while !*stop.borrow() {
            let due = since.elapsed() >= self.policy.every
                || self.store.unsealed_events().await.unwrap_or(0) >= self.policy.events;
            if due {
                if let Err(e) = self.seal().await {
                    tracing::warn!(error = %e, "an audit checkpoint could not be sealed; retrying");
                }
                since = std::time::Instant::now();
            }
            tokio::select! {
                _ = tokio::time::sleep(tick) => {}
                _ = stop.changed() => {}
            }
        }
        if let Err(e) = self.seal().await {
            tracing::warn!(error = %e, "the last audit checkpoint could not be sealed");
        }
    }

    /// Writes the audit events (all, or one case's) as JSON lines in log order; returns the count.
    pub async fn export(
        &self,
        case_id: Option<CaseId>,
        out: &mut impl Write,
    ) -> Result<u64, ExportError> {
        const PAGE: i64 = 1_000;
        let mut page = Page::first(PAGE);
        let mut written = 0;
        loop {
            let events = self.store.audit_events(case_id, page).await?;
            for (_, event) in &events {
                serde_json::to_writer(&mut *out, &export_line(event))
                    .map_err(std::io::Error::from)?;
                out.write_all(b"\n")?;
                written += 1;
            }
            match events.last() {
                Some((id, _)) if events.len() as i64 == PAGE => page.after = *id,
                _ => break,
            }
        }
        out.flush()?;
        Ok(written)
    }

    /// Every event of one case, in order.
    pub async fn trail(&self, case_id: CaseId) -> Result<Vec<AuditEvent>, StoreError> {
        let events = self
            .store
            .audit_events(Some(case_id), Page::first(i64::MAX))
            .await?;
        Ok(events.into_iter().map(|(_, e)| e).collect())
    }
}

/// One exported event. Details are emitted as the JSON object they are, not as a string.
fn export_line(event: &AuditEvent) -> serde_json::Value {
    let details: serde_json::Value =
        serde_json::from_str(&event.details).unwrap_or_else(|_| json!(event.details));
    json!({
        "chain": event.chain,
        "seq": event.seq,
        "at": event.at().to_rfc3339(),
        "actor_kind": event.actor_kind,
        "actor_id": event.actor_id,
        "action": event.action,
        "case_id": event.case_id,
        "details": details,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    })
}
