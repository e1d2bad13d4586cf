//! The audit side of a batch: which existing chains it appends to (their heads are locked first),
//! and sealing the live changes' events onto their chains, in order, with the heads moved on.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use super::json_rows::{event_row, head_row};
use super::{BatchTx, Created, Rows};
use crate::domain::audit::{seal_all, NewAuditEvent};
use crate::domain::ids::CaseId;
use crate::domain::Change;
use crate::store::StoreError;

/// The chains (already existing) that the live changes append to.
pub(super) fn existing_chains(changes: &[&Change], live: &[usize]) -> Vec<String> {
    let chains: BTreeSet<String> = live
        .iter()
        .flat_map(|&i| changes[i].events.iter())
        .filter(|e| e.case_id != Some(CaseId::NEW))
        .map(|e| e.chain().to_string())
        .collect();
    chains.into_iter().collect()
}

/// Seals the live changes' events onto their chains, in order, and moves the chains' heads.
pub(super) async fn seal_events(
    tx: &mut dyn BatchTx,
    changes: &[&Change],
    live: &[usize],
    created: &Created,
    heads: &HashMap<String, (i64, String)>,
) -> Result<(), StoreError> {
    let events: Vec<NewAuditEvent> = live
        .iter()
        .flat_map(|&i| {
            changes[i].events.iter().map(move |e| {
                let mut e = e.clone();
                e.case_id = e.case_id.map(|c| CaseId(created.case(i, c)));
                e
            })
        })
        .collect();
    if events.is_empty() {
        return Ok(());
    }
    let (sealed, new_heads) = seal_all(&events, heads);
    tx.write(
        Rows::AuditEvents,
        Value::Array(sealed.iter().map(event_row).collect()),
    )
    .await?;
    tx.write(
        Rows::AuditHeads,
        Value::Array(new_heads.iter().map(head_row).collect()),
    )
    .await?;
    Ok(())
}
