//! Carrying a database from an earlier release over to per-case chains. The schema migration
//! (0011) sets the old single-chain log aside as `legacy_audit_events`; here, on the first start
//! of this release, the old chain is verified under its own rules, every event is re-sealed in
//! order onto the chain it now belongs to (keeping its time, actor, action and details), and a
//! final `audit.migrated` event records how many events came over and the old head, so that the
//! old seal can still be matched against it. All in one transaction: a failure leaves the old log
//! as it was. A damaged old log is refused, naming where it breaks.

use std::collections::HashMap;

use async_trait::async_trait;
use serde_json::{json, Value};
use sqlx::FromRow;

use super::batch::{event_row, head_row, BatchTx, Rows};
use super::StoreError;
use crate::domain::audit::legacy::{LegacyEvent, LegacyWalk};
use crate::domain::audit::{
    Action, Actor, AuditEvent, ChainHead, ChainId, NewAuditEvent, GENESIS_HASH,
};
use crate::domain::ids::CaseId;

/// Old events are read and re-sealed this many at a time.
const PAGE: i64 = 10_000;

/// What the upgrade needs besides the batch statements; each adapter says how its database
/// answers these.
#[async_trait]
pub(crate) trait LegacyLog: BatchTx {
    async fn has_legacy_log(&mut self) -> Result<bool, sqlx::Error>;
    async fn legacy_head(&mut self) -> Result<(i64, String), sqlx::Error>;
    async fn legacy_events(
        &mut self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<LegacyRow>, sqlx::Error>;
    async fn drop_legacy_log(&mut self) -> Result<(), sqlx::Error>;
}

pub(crate) const LEGACY_HEAD: &str = "SELECT seq, hash FROM legacy_audit_head WHERE id = 1";
pub(crate) const LEGACY_EVENTS: &str = "\
    SELECT seq, at, actor_kind, actor_id, action, case_id, details, prev_hash, hash \
    FROM legacy_audit_events WHERE seq > $1 ORDER BY seq LIMIT $2";
pub(crate) const DROP_LEGACY_EVENTS: &str = "DROP TABLE legacy_audit_events";
pub(crate) const DROP_LEGACY_HEAD: &str = "DROP TABLE legacy_audit_head";

#[derive(Debug, FromRow)]
pub(crate) struct LegacyRow {
    seq: i64,
    at: i64,
    actor_kind: String,
    actor_id: String,
    action: String,
    case_id: Option<i64>,
    details: String,
    prev_hash: String,
    hash: String,
}

impl From<LegacyRow> for LegacyEvent {
    fn from(r: LegacyRow) -> LegacyEvent {
        LegacyEvent {
            seq: r.seq,
            at_ms: r.at,
            actor_kind: r.actor_kind,
            actor_id: r.actor_id,
            action: r.action,
            case_id: r.case_id,
            details: r.details,
            prev_hash: r.prev_hash,
            hash: r.hash,
        }
    }
}

/// Carries the old log over, if there is one.
pub(crate) async fn carry_over(tx: &mut dyn LegacyLog) -> Result<(), StoreError> {
    tx.begin().await?;
    match carry_over_in(tx).await {
        Ok(()) => Ok(tx.commit().await?),
        Err(e) => {
            let _ = tx.rollback().await;
            Err(e)
        }
    }
}

async fn carry_over_in(tx: &mut dyn LegacyLog) -> Result<(), StoreError> {
    if !tx.has_legacy_log().await? {
        return Ok(());
    }
    let (head_seq, head_hash) = tx.legacy_head().await?;
    let mut walk = LegacyWalk::default();
    let mut heads: HashMap<String, (i64, String)> = HashMap::new();
    let mut after = 0;
    loop {
        let page: Vec<LegacyEvent> = tx
            .legacy_events(after, PAGE)
            .await?
            .into_iter()
            .map(LegacyEvent::from)
            .collect();
        let Some(last) = page.last() else { break };
        after = last.seq;
        let mut sealed = Vec::with_capacity(page.len());
        for old in &page {
            walk.check(old).map_err(StoreError::Upgrade)?;
            sealed.push(reseal(old, &mut heads));
        }
        tx.write(
            Rows::AuditEvents,
            Value::Array(sealed.iter().map(event_row).collect()),
        )
        .await?;
    }
    let carried = walk
        .finish((head_seq, &head_hash))
        .map_err(StoreError::Upgrade)?;
    if carried == 0 {
        // A new database: nothing was logged before this release.
        tx.drop_legacy_log().await?;
        return Ok(());
    }
    let note = NewAuditEvent::new(
        chrono::Utc::now(),
        Actor::system("upgrade"),
        Action::LogMigrated,
    )
    .with(json!({
        "legacy_events": carried,
        "legacy_head_seq": head_seq,
        "legacy_head_hash": head_hash,
    }));
    let (mut note, _) = crate::domain::audit::seal_all(&[note], &heads);
    let note = note.remove(0);
    heads.insert(note.chain.clone(), (note.seq, note.hash.clone()));
    tx.write(Rows::AuditEvents, Value::Array(vec![event_row(&note)]))
        .await?;
    let heads: Vec<ChainHead> = heads
        .into_iter()
        .map(|(chain, (seq, hash))| ChainHead { chain, seq, hash })
        .collect();
    tx.write(
        Rows::AuditHeads,
        Value::Array(heads.iter().map(head_row).collect()),
    )
    .await?;
    tx.drop_legacy_log().await?;
    tracing::info!(
        events = carried,
        "audit log carried over onto per-case chains"
    );
    Ok(())
}

/// An old event as the next event of the chain it now belongs to.
fn reseal(old: &LegacyEvent, heads: &mut HashMap<String, (i64, String)>) -> AuditEvent {
    let actor = Actor {
        kind: match old.actor_kind.as_str() {
            "customer" => crate::domain::ActorKind::Customer,
            "staff" => crate::domain::ActorKind::Staff,
            "bot" => crate::domain::ActorKind::Bot,
            _ => crate::domain::ActorKind::System,
        },
        id: old.actor_id.clone(),
    };
    let chain = ChainId::of(old.case_id.map(CaseId), &actor).to_string();
    let (seq, prev) = heads
        .get(&chain)
        .cloned()
        .unwrap_or_else(|| (0, GENESIS_HASH.to_owned()));
    let mut event = AuditEvent {
        chain: chain.clone(),
        seq: seq + 1,
        at_ms: old.at_ms,
        actor_kind: old.actor_kind.clone(),
        actor_id: old.actor_id.clone(),
        action: old.action.clone(),
        case_id: old.case_id,
        details: old.details.clone(),
        prev_hash: prev,
        hash: String::new(),
    };
    event.hash = event.compute_hash();
    heads.insert(chain, (event.seq, event.hash.clone()));
    event
}
