//! Reading the audit log back: verifying the chain and exporting events as JSON lines.

use std::io::Write;

use serde_json::json;

use crate::domain::audit::{AuditEvent, ChainReport};
use crate::store::{from_millis, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write the export: {0}")]
    Write(#[from] std::io::Error),
}

/// Checks every event of the chain. The report names each problem with its position.
pub async fn verify(store: &Store) -> Result<ChainReport, StoreError> {
    store.verify_audit_chain().await
}

/// Writes the audit events (all, or one case's) as JSON lines in chain order; returns the count.
pub async fn export(
    store: &Store,
    case_id: Option<i64>,
    out: &mut impl Write,
) -> Result<u64, ExportError> {
    const PAGE: i64 = 1_000;
    let mut after = 0;
    let mut written = 0;
    loop {
        let page = store.audit_page(case_id, after, PAGE).await?;
        for event in &page {
            serde_json::to_writer(&mut *out, &export_line(event)).map_err(std::io::Error::from)?;
            out.write_all(b"\n")?;
            written += 1;
        }
        match page.last() {
            Some(last) if page.len() as i64 == PAGE => after = last.seq,
            _ => break,
        }
    }
    out.flush()?;
    Ok(written)
}

/// One exported event. Details are emitted as the JSON object they are, not as a string.
fn export_line(event: &AuditEvent) -> serde_json::Value {
    let details: serde_json::Value =
        serde_json::from_str(&event.details).unwrap_or_else(|_| json!(event.details));
    json!({
        "seq": event.seq,
        "at": from_millis(event.at_ms).to_rfc3339(),
        "actor_kind": event.actor_kind,
        "actor_id": event.actor_id,
        "action": event.action,
        "case_id": event.case_id,
        "details": details,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    })
}
