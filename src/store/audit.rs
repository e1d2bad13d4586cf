//! The audit log's reads: events for export, verification of every chain and checkpoint in one
//! snapshot, and sealing checkpoints. Events are appended by [`Store::apply`] (see
//! [`super::batch`]).

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sqlx::{Postgres, Sqlite, Transaction};

use super::rows::{AuditRow, HeadRow};
use super::{Db, Page, Store, StoreError};
use crate::domain::audit::{AuditEvent, ChainHead, ChainId, Checkpoint, LogReport, LogVerifier};
use crate::domain::ids::CaseId;

const EVENT_COLUMNS: &str =
    "id, chain, seq, at_ms, actor_kind, actor_id, action, case_id, details, prev_hash, hash";

/// Chains are walked a page of heads at a time, with all their events.
const CHAINS_PER_PAGE: i64 = 2_000;

const HEADS_AFTER: &str =
    "SELECT chain, seq, hash FROM audit_chains WHERE chain > $1 ORDER BY chain LIMIT $2";
const EVENTS_BETWEEN: &str = "\
    SELECT chain, seq, at_ms, actor_kind, actor_id, action, case_id, details, prev_hash, hash \
    FROM audit_events WHERE chain > $1 AND chain <= $2 ORDER BY chain, seq";
const EVENTS_AFTER: &str = "\
    SELECT chain, seq, at_ms, actor_kind, actor_id, action, case_id, details, prev_hash, hash \
    FROM audit_events WHERE chain > $1 ORDER BY chain, seq";
/// Cases that should have a chain (every case's first event opens one) and have none.
const CASES_WITHOUT_TRAIL: &str = "\
    SELECT c.id FROM cases c WHERE NOT EXISTS \
        (SELECT 1 FROM audit_chains a WHERE a.chain = 'case:' || c.id) ORDER BY c.id";
const CHECKPOINTS: &str =
    "SELECT number, at_ms, prev_hash, hash FROM audit_checkpoints ORDER BY number";
const CHECKPOINT_HEADS: &str =
    "SELECT number, chain, seq, hash FROM audit_checkpoint_heads ORDER BY number";
/// What each checkpoint sealed that the log no longer has as it was.
const SEALED_MISMATCHES: &str = "\
    SELECT h.number, h.chain, h.seq, e.hash FROM audit_checkpoint_heads h \
    LEFT JOIN audit_events e ON e.chain = h.chain AND e.seq = h.seq \
    WHERE e.hash IS NULL OR e.hash <> h.hash ORDER BY h.number, h.chain";
const SEAL_EXISTS: &str = "SELECT COUNT(*) FROM audit_checkpoints WHERE hash = $1";
const LATEST: &str =
    "SELECT number, at_ms, prev_hash, hash FROM audit_checkpoints ORDER BY number DESC LIMIT 1";
const HEADS_OF: &str =
    "SELECT chain, seq, hash FROM audit_checkpoint_heads WHERE number = $1 ORDER BY chain";
const UNSEALED: &str = "SELECT COALESCE(SUM(seq - sealed_seq), 0) FROM audit_chains \
    WHERE seq > sealed_seq";
const CHANGED_CHAINS: &str =
    "SELECT chain, seq, hash FROM audit_chains WHERE seq > sealed_seq ORDER BY chain";
const INSERT_CHECKPOINT: &str =
    "INSERT INTO audit_checkpoints (number, at_ms, prev_hash, hash) VALUES ($1, $2, $3, $4)";

const SEAL_HEADS_SQLITE: &str = "\
    INSERT INTO audit_checkpoint_heads (number, chain, seq, hash) \
    SELECT $1, j.value->>'chain', j.value->>'seq', j.value->>'hash' FROM json_each($2) AS j";
const MARK_SEALED_SQLITE: &str = "\
    UPDATE audit_chains SET sealed_seq = j.value->>'seq' FROM json_each($1) AS j \
    WHERE audit_chains.chain = j.value->>'chain'";
const SEAL_HEADS_POSTGRES: &str = "\
    INSERT INTO audit_checkpoint_heads (number, chain, seq, hash) \
    SELECT $1, r.chain, r.seq, r.hash FROM jsonb_to_recordset($2) AS r(chain text, seq bigint, hash text)";
const MARK_SEALED_POSTGRES: &str = "\
    UPDATE audit_chains a SET sealed_seq = r.seq \
    FROM jsonb_to_recordset($1) AS r(chain text, seq bigint) WHERE a.chain = r.chain";

/// The reads and writes of the log inside one transaction, the same on both backends.
#[async_trait]
trait LogTx: Send {
    async fn heads_after(&mut self, after: &str) -> Result<Vec<HeadRow>, sqlx::Error>;
    async fn events(
        &mut self,
        after: &str,
        upto: Option<&str>,
    ) -> Result<Vec<AuditRow>, sqlx::Error>;
    async fn cases_without_trail(&mut self) -> Result<Vec<i64>, sqlx::Error>;
    async fn checkpoints(&mut self) -> Result<Vec<(i64, i64, String, String)>, sqlx::Error>;
    async fn checkpoint_heads(&mut self) -> Result<Vec<(i64, String, i64, String)>, sqlx::Error>;
    async fn sealed_mismatches(
        &mut self,
    ) -> Result<Vec<(i64, String, i64, Option<String>)>, sqlx::Error>;
    async fn seal_exists(&mut self, hash: &str) -> Result<bool, sqlx::Error>;
    async fn changed_chains(&mut self) -> Result<Vec<HeadRow>, sqlx::Error>;
    async fn latest(&mut self) -> Result<Option<(i64, i64, String, String)>, sqlx::Error>;
    async fn heads_of(&mut self, number: i64) -> Result<Vec<HeadRow>, sqlx::Error>;
    async fn insert_checkpoint(&mut self, checkpoint: &Checkpoint) -> Result<(), sqlx::Error>;
}

/// Implements [`LogTx`] for one backend's transaction; `$json` turns a JSON value into what that
/// driver binds for a JSON parameter.
macro_rules! log_tx {
    ($db:ty, $seal_heads:expr, $mark_sealed:expr, $json:expr) => {
        #[async_trait]
        impl LogTx for Transaction<'_, $db> {
            async fn heads_after(&mut self, after: &str) -> Result<Vec<HeadRow>, sqlx::Error> {
                sqlx::query_as(HEADS_AFTER).bind(after).bind(CHAINS_PER_PAGE).fetch_all(&mut **self).await
            }
            async fn events(&mut self, after: &str, upto: Option<&str>) -> Result<Vec<AuditRow>, sqlx::Error> {
                match upto {
                    Some(upto) => sqlx::query_as(EVENTS_BETWEEN).bind(after).bind(upto).fetch_all(&mut **self).await,
                    None => sqlx::query_as(EVENTS_AFTER).bind(after).fetch_all(&mut **self).await,
                }
            }
            async fn cases_without_trail(&mut self) -> Result<Vec<i64>, sqlx::Error> {
                sqlx::query_scalar(CASES_WITHOUT_TRAIL).fetch_all(&mut **self).await
            }
            async fn checkpoints(&mut self) -> Result<Vec<(i64, i64, String, String)>, sqlx::Error> {
                sqlx::query_as(CHECKPOINTS).fetch_all(&mut **self).await
            }
            async fn checkpoint_heads(&mut self) -> Result<Vec<(i64, String, i64, String)>, sqlx::Error> {
                sqlx::query_as(CHECKPOINT_HEADS).fetch_all(&mut **self).await
            }
            async fn sealed_mismatches(&mut self) -> Result<Vec<(i64, String, i64, Option<String>)>, sqlx::Error> {
                sqlx::query_as(SEALED_MISMATCHES).fetch_all(&mut **self).await
            }
            async fn seal_exists(&mut self, hash: &str) -> Result<bool, sqlx::Error> {
                let n: i64 = sqlx::query_scalar(SEAL_EXISTS).bind(hash).fetch_one(&mut **self).await?;
                Ok(n > 0)
            }
            async fn changed_chains(&mut self) -> Result<Vec<HeadRow>, sqlx::Error> {
                sqlx::query_as(CHANGED_CHAINS).fetch_all(&mut **self).await
            }
            async fn latest(&mut self) -> Result<Option<(i64, i64, String, String)>, sqlx::Error> {
                sqlx::query_as(LATEST).fetch_optional(&mut **self).await
            }
            async fn heads_of(&mut self, number: i64) -> Result<Vec<HeadRow>, sqlx::Error> {
                sqlx::query_as(HEADS_OF).bind(number).fetch_all(&mut **self).await
            }
            async fn insert_checkpoint(&mut self, cp: &Checkpoint) -> Result<(), sqlx::Error> {
                sqlx::query(INSERT_CHECKPOINT)
                    .bind(cp.number)
                    .bind(cp.at_ms)
                    .bind(&cp.prev_hash)
                    .bind(&cp.hash)
                    .execute(&mut **self)
                    .await?;
                let heads: Vec<Value> = cp.heads.iter().map(|h| json!({ "chain": h.chain, "seq": h.seq, "hash": h.hash })).collect();
                sqlx::query($seal_heads).bind(cp.number).bind(($json)(Value::Array(heads.clone()))).execute(&mut **self).await?;
                sqlx::query($mark_sealed).bind(($json)(Value::Array(heads))).execute(&mut **self).await?;
                Ok(())
            }
        }
    };
}

log_tx!(Sqlite, SEAL_HEADS_SQLITE, MARK_SEALED_SQLITE, |v: Value| v
    .to_string());
log_tx!(
    Postgres,
    SEAL_HEADS_POSTGRES,
    MARK_SEALED_POSTGRES,
    |v: Value| v
);

impl Store {
    /// Events in log order (as appended), optionally of one case, a page at a time by their
    /// place in the log. Returns each event with that place, for the next page.
    pub async fn audit_events(
        &self,
        case: Option<CaseId>,
        page: Page,
    ) -> Result<Vec<(i64, AuditEvent)>, StoreError> {
        let chain = case.map(|c| ChainId::Case(c).to_string());
        let sql = match &chain {
            Some(_) => format!(
                "SELECT {EVENT_COLUMNS} FROM audit_events WHERE id > $1 AND chain = $3 ORDER BY id LIMIT $2"
            ),
            None => format!("SELECT {EVENT_COLUMNS} FROM audit_events WHERE id > $1 ORDER BY id LIMIT $2"),
        };
        let rows: Vec<IdAuditRow> = super::on_db!(self, pool => {
            let query = sqlx::query_as(&sql).bind(page.after).bind(page.limit);
            match &chain {
                Some(chain) => query.bind(chain).fetch_all(pool).await,
                None => query.fetch_all(pool).await,
            }
        })?;
        Ok(rows.into_iter().map(|r| (r.id, r.event.into())).collect())
    }

    /// Checks every chain and checkpoint in one snapshot of the database; with `seal`, also that
    /// the log still holds that checkpoint.
    pub async fn verify_audit(&self, seal: Option<&str>) -> Result<LogReport, StoreError> {
        match &self.db {
            Db::Sqlite(db) => {
                // A read transaction in WAL mode sees one snapshot throughout.
                let mut tx = db.pool.begin().await?;
                verify(&mut tx, seal).await
            }
            Db::Postgres(db) => {
                let mut tx = db.pool.begin().await?;
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .execute(&mut *tx)
                    .await?;
                verify(&mut tx, seal).await
            }
        }
    }

    /// Seals the heads of every chain changed since the last checkpoint; `None` when nothing
    /// changed. Callers keep sealers to one at a time ([`Store::try_exclusive`]).
    pub async fn seal_checkpoint(
        &self,
        at: DateTime<Utc>,
    ) -> Result<Option<Checkpoint>, StoreError> {
        match &self.db {
            Db::Sqlite(db) => {
                let mut conn = db.write.lock().await;
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                let sealed = seal(&mut tx, at).await?;
                tx.commit().await?;
                Ok(sealed)
            }
            Db::Postgres(db) => {
                let mut tx = db.pool.begin().await?;
                let sealed = seal(&mut tx, at).await?;
                tx.commit().await?;
                Ok(sealed)
            }
        }
    }

    /// The latest checkpoint with the heads it sealed: what to keep outside the database.
    pub async fn latest_checkpoint(&self) -> Result<Option<Checkpoint>, StoreError> {
        match &self.db {
            Db::Sqlite(db) => latest(&mut db.pool.begin().await?).await,
            Db::Postgres(db) => latest(&mut db.pool.begin().await?).await,
        }
    }

    /// Events appended since the last checkpoint.
    pub async fn unsealed_events(&self) -> Result<i64, StoreError> {
        Ok(super::on_db!(self, pool => sqlx::query_scalar(UNSEALED).fetch_one(pool).await)?)
    }
}

#[derive(sqlx::FromRow)]
struct IdAuditRow {
    id: i64,
    #[sqlx(flatten)]
    event: AuditRow,
}

async fn verify(tx: &mut dyn LogTx, seal: Option<&str>) -> Result<LogReport, StoreError> {
    let mut verifier = LogVerifier::default();
    walk_chains(tx, &mut verifier).await?;
    for case in tx.cases_without_trail().await? {
        verifier.case_without_trail(case);
    }
    for checkpoint in all_checkpoints(tx).await? {
        verifier.checkpoint(&checkpoint);
    }
    for (number, chain, seq, now) in tx.sealed_mismatches().await? {
        verifier.sealed_event_changed(number, &chain, seq, now);
    }
    if let Some(hash) = seal {
        let found = tx.seal_exists(hash).await?;
        verifier.seal(hash, found);
    }
    Ok(verifier.finish())
}

/// Every chain with its head, a page of heads at a time, then any events whose chain has no head.
async fn walk_chains(tx: &mut dyn LogTx, verifier: &mut LogVerifier) -> Result<(), StoreError> {
    let mut after = String::new();
    loop {
        let heads: Vec<ChainHead> = tx
            .heads_after(&after)
            .await?
            .into_iter()
            .map(Into::into)
            .collect();
        let upto = heads.last().map(|h| h.chain.clone());
        let events = tx.events(&after, upto.as_deref()).await?;
        let mut by_chain: HashMap<String, Vec<AuditEvent>> = HashMap::new();
        for row in events {
            let event: AuditEvent = row.into();
            by_chain.entry(event.chain.clone()).or_default().push(event);
        }
        for head in &heads {
            let events = by_chain.remove(&head.chain).unwrap_or_default();
            verifier.chain(&head.chain, Some((head.seq, &head.hash)), &events);
        }
        for (chain, events) in by_chain {
            verifier.chain(&chain, None, &events);
        }
        match upto {
            Some(last) if heads.len() as i64 == CHAINS_PER_PAGE => after = last,
            Some(last) => {
                // Past the last head: only events whose chain lost its head remain.
                let orphans = tx.events(&last, None).await?;
                let mut by_chain: HashMap<String, Vec<AuditEvent>> = HashMap::new();
                for row in orphans {
                    let event: AuditEvent = row.into();
                    by_chain.entry(event.chain.clone()).or_default().push(event);
                }
                for (chain, events) in by_chain {
                    verifier.chain(&chain, None, &events);
                }
                return Ok(());
            }
            None => return Ok(()),
        }
    }
}

async fn all_checkpoints(tx: &mut dyn LogTx) -> Result<Vec<Checkpoint>, StoreError> {
    let mut heads: HashMap<i64, Vec<ChainHead>> = HashMap::new();
    for (number, chain, seq, hash) in tx.checkpoint_heads().await? {
        heads
            .entry(number)
            .or_default()
            .push(ChainHead { chain, seq, hash });
    }
    Ok(tx
        .checkpoints()
        .await?
        .into_iter()
        .map(|(number, at_ms, prev_hash, hash)| {
            checkpoint(
                number,
                at_ms,
                prev_hash,
                hash,
                heads.remove(&number).unwrap_or_default(),
            )
        })
        .collect())
}

/// A stored checkpoint, its heads in the order they were hashed.
fn checkpoint(
    number: i64,
    at_ms: i64,
    prev_hash: String,
    hash: String,
    mut heads: Vec<ChainHead>,
) -> Checkpoint {
    heads.sort_by(|a, b| a.chain.cmp(&b.chain));
    Checkpoint {
        number,
        at_ms,
        prev_hash,
        heads,
        hash,
    }
}

async fn latest(tx: &mut dyn LogTx) -> Result<Option<Checkpoint>, StoreError> {
    let Some((number, at_ms, prev_hash, hash)) = tx.latest().await? else {
        return Ok(None);
    };
    let heads = tx
        .heads_of(number)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(Some(checkpoint(number, at_ms, prev_hash, hash, heads)))
}

async fn seal(tx: &mut dyn LogTx, at: DateTime<Utc>) -> Result<Option<Checkpoint>, StoreError> {
    let changed: Vec<ChainHead> = tx
        .changed_chains()
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    if changed.is_empty() {
        return Ok(None);
    }
    let previous = tx.latest().await?;
    let checkpoint = Checkpoint::seal(
        previous
            .as_ref()
            .map(|(number, _, _, hash)| (*number, hash.as_str())),
        at,
        changed,
    );
    tx.insert_checkpoint(&checkpoint).await?;
    Ok(Some(checkpoint))
}
