//! The raw ceiling for benchmarks, and bulk seeding. `raw_message` writes the rows intake and
//! routing write for one message with the same statements and transactions as the engine, but
//! with none of casebot's logic: fixed values stand in for classification, rules and the audit
//! hashes. It is only ever run on a benchmark's own database, since its audit rows do not chain.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{
    postgres, queries, sqlite, Backend, NewCase, NewMessage, RoutingUpdate, Store, StoreError, Tx,
};
use crate::domain::audit::AuditEvent;
use crate::domain::{NewAuditEvent, Origin, OutboxKind, Outgoing, Priority};

const FIXED_HASH: &str = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

/// One message for the raw path.
pub struct RawMessage<'a> {
    pub user_id: &'a str,
    pub message_id: &'a str,
    pub text: &'a str,
    pub at: DateTime<Utc>,
}

/// Stores one message and its routing outcome as the engine would, without the engine.
pub async fn raw_message(store: &Store, m: &RawMessage<'_>) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    tx.case_of_message("bench", m.message_id).await?;
    let (customer_id, _) = tx
        .upsert_customer("bench", m.user_id, m.user_id, m.at)
        .await?;
    let (case_id, opened) = match tx.active_case(customer_id).await? {
        Some(case_id) => (case_id, false),
        None => {
            tx.last_resolved_case(customer_id).await?;
            let case = NewCase {
                customer_id,
                priority: Priority::Normal,
                origin: Origin::Dm,
                at: m.at,
            };
            let case_id = tx.insert_case(&case).await?.unwrap_or_default();
            (case_id, true)
        }
    };
    tx.insert_message(&NewMessage {
        case_id,
        customer_id,
        platform: "bench",
        platform_message_id: m.message_id,
        channel_kind: "dm",
        channel_id: m.user_id,
        author_kind: "customer",
        body: m.text,
        body_sha256: FIXED_HASH,
        sent_at: m.at,
        received_at: m.at,
    })
    .await?;
    append_unsealed(&mut tx, case_id, 1 + usize::from(opened), m.at).await?;
    tx.commit().await?;

    store.case_routing(case_id).await?;
    let mut tx = store.begin().await?;
    let update = RoutingUpdate {
        intent: "other",
        priority: Priority::Normal,
        order_number: None,
        human_requests: 0,
        flow: None,
        waiting_until: None,
        stuck_reason: None,
        escalation_reason: None,
        at: m.at,
        order_value_cents: None,
        sentiment: 0.0,
        frustrated: false,
    };
    tx.update_case_routing(case_id, &update).await?;
    let reply = Outgoing::to_customer(case_id, m.user_id, OutboxKind::Reply, "ok".into());
    tx.enqueue(&[reply], m.at).await?;
    append_unsealed(&mut tx, case_id, 1, m.at).await?;
    tx.commit().await
}

/// The audit append's statements (lock the head, insert, move the head) with fixed hashes.
async fn append_unsealed(
    tx: &mut Tx,
    case_id: i64,
    events: usize,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let lock_head = match tx.backend {
        Backend::Sqlite => sqlite::LOCK_AUDIT_HEAD,
        Backend::Postgres => postgres::LOCK_AUDIT_HEAD,
    };
    let head = sqlx::query(lock_head).fetch_one(&mut *tx.inner).await?;
    let mut seq: i64 = head.try_get(0)?;
    for _ in 0..events {
        seq += 1;
        sqlx::query(queries::INSERT_AUDIT_EVENT)
            .bind(seq)
            .bind(at.timestamp_millis())
            .bind("customer")
            .bind("bench")
            .bind("message.received")
            .bind(case_id)
            .bind("{}")
            .bind(FIXED_HASH)
            .bind(FIXED_HASH)
            .execute(&mut *tx.inner)
            .await?;
    }
    sqlx::query(queries::UPDATE_AUDIT_HEAD)
        .bind(seq)
        .bind(FIXED_HASH)
        .execute(&mut *tx.inner)
        .await?;
    Ok(())
}

/// Fills the database with `messages` messages from `customers` customers on closed cases, each
/// with its audit event, chained properly: a store as it looks after months of traffic. Rows go
/// in many to a statement, a batch to a transaction.
pub async fn seed(
    store: &Store,
    messages: usize,
    customers: usize,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    const BATCH: usize = 500;
    let customers = customers.clamp(1, messages.max(1));
    let per_customer = messages.div_ceil(customers);
    let run = at.timestamp_micros();
    let mut written = 0;
    let mut customer = 0;
    while written < messages {
        let count = BATCH.min(customers - customer.min(customers)).max(1);
        let mut tx = store.begin().await?;
        let ids = insert_rows(
            &mut tx,
            "customers (platform, platform_user_id, display_name, created_at)",
            count,
            4,
            |sql, i| {
                let user = format!("seed-{run}-{}", customer + i);
                sql.push_text("seed")
                    .push_text(&user)
                    .push_text(&user)
                    .push_int(at.timestamp_millis());
            },
        )
        .await?;
        let cases = insert_rows(
            &mut tx,
            "cases (customer_id, state, priority, priority_rank, origin, created_at, updated_at, closed_at)",
            ids.len(),
            8,
            |sql, i| {
                let ms = at.timestamp_millis();
                sql.push_int(ids[i]).push_text("closed").push_text("normal").push_int(1)
                    .push_text("dm").push_int(ms).push_int(ms).push_int(ms);
            },
        )
        .await?;
        let mut rows = Vec::new();
        for (i, case_id) in cases.iter().enumerate() {
            for _ in 0..per_customer {
                if written + rows.len() >= messages {
                    break;
                }
                rows.push((*case_id, ids[i]));
            }
        }
        for chunk in rows.chunks(BATCH) {
            let first = written;
            insert_rows(
                &mut tx,
                "messages (case_id, customer_id, platform, platform_message_id, channel_kind, \
                 channel_id, author_kind, body, body_sha256, sent_at, received_at)",
                chunk.len(),
                11,
                |sql, i| {
                    let (case_id, customer_id) = chunk[i];
                    let ms = at.timestamp_millis();
                    sql.push_int(case_id)
                        .push_int(customer_id)
                        .push_text("seed")
                        .push_text(&format!("seed-{run}-m{}", first + i))
                        .push_text("dm")
                        .push_text("seed")
                        .push_text("customer")
                        .push_text("where is my order, it is late again")
                        .push_text(FIXED_HASH)
                        .push_int(ms)
                        .push_int(ms);
                },
            )
            .await?;
            let events: Vec<NewAuditEvent> = chunk
                .iter()
                .map(|(case_id, customer_id)| NewAuditEvent {
                    at,
                    actor_kind: crate::domain::ActorKind::Customer,
                    actor_id: customer_id.to_string(),
                    action: "message.received",
                    case_id: Some(*case_id),
                    details: serde_json::json!({ "seeded": true }),
                })
                .collect();
            append_sealed_batch(&mut tx, &events).await?;
            written += chunk.len();
        }
        tx.commit().await?;
        customer += count;
    }
    Ok(())
}

/// Appends properly sealed events many to a statement.
async fn append_sealed_batch(tx: &mut Tx, events: &[NewAuditEvent]) -> Result<(), StoreError> {
    let lock_head = match tx.backend {
        Backend::Sqlite => sqlite::LOCK_AUDIT_HEAD,
        Backend::Postgres => postgres::LOCK_AUDIT_HEAD,
    };
    let head = sqlx::query(lock_head).fetch_one(&mut *tx.inner).await?;
    let (mut seq, mut hash): (i64, String) = (head.try_get(0)?, head.try_get(1)?);
    let mut sealed = Vec::with_capacity(events.len());
    for event in events {
        seq += 1;
        let s = AuditEvent::seal(event, seq, &hash);
        hash = s.hash.clone();
        sealed.push(s);
    }
    insert_rows(
        tx,
        "audit_events (seq, at, actor_kind, actor_id, action, case_id, details, prev_hash, hash)",
        sealed.len(),
        9,
        |sql, i| {
            let e = &sealed[i];
            sql.push_int(e.seq)
                .push_int(e.at_ms)
                .push_text(&e.actor_kind)
                .push_text(&e.actor_id)
                .push_text(&e.action)
                .push_int(e.case_id.unwrap_or_default())
                .push_text(&e.details)
                .push_text(&e.prev_hash)
                .push_text(&e.hash);
        },
    )
    .await?;
    sqlx::query(queries::UPDATE_AUDIT_HEAD)
        .bind(seq)
        .bind(&hash)
        .execute(&mut *tx.inner)
        .await?;
    Ok(())
}

/// Values for one multi-row insert, bound in order.
#[derive(Default)]
struct Values {
    values: Vec<Value>,
}

enum Value {
    Int(i64),
    Text(String),
}

impl Values {
    fn push_int(&mut self, v: i64) -> &mut Values {
        self.values.push(Value::Int(v));
        self
    }

    fn push_text(&mut self, v: &str) -> &mut Values {
        self.values.push(Value::Text(v.to_owned()));
        self
    }
}

/// Inserts `rows` rows of `columns` values each into `table (columns...)`, returning the new ids
/// when the table has an `id` column.
async fn insert_rows(
    tx: &mut Tx,
    table: &str,
    rows: usize,
    columns: usize,
    mut row: impl FnMut(&mut Values, usize),
) -> Result<Vec<i64>, StoreError> {
    if rows == 0 {
        return Ok(Vec::new());
    }
    let mut values = Values::default();
    let mut sql = format!("INSERT INTO {table} VALUES ");
    for r in 0..rows {
        row(&mut values, r);
        let placeholders: Vec<String> = (1..=columns)
            .map(|c| format!("${}", r * columns + c))
            .collect();
        if r > 0 {
            sql.push(',');
        }
        sql.push('(');
        sql.push_str(&placeholders.join(","));
        sql.push(')');
    }
    let returns_ids = !table.starts_with("audit_events");
    if returns_ids {
        sql.push_str(" RETURNING id");
    }
    let mut query = sqlx::query(&sql);
    for v in values.values {
        query = match v {
            Value::Int(i) => query.bind(i),
            Value::Text(t) => query.bind(t),
        };
    }
    let fetched = query.fetch_all(&mut *tx.inner).await?;
    let mut ids = fetched
        .iter()
        .map(|r| r.try_get::<i64, _>(0))
        .collect::<Result<Vec<_>, _>>()?;
    ids.sort_unstable();
    Ok(ids)
}

/// Claims the head of the queue as "claim next" does (the same statements and transaction),
/// with fixed audit values. Returns the case claimed, if any.
pub async fn raw_claim_next(store: &Store, staff: &str) -> Result<Option<i64>, StoreError> {
    let at = Utc::now();
    let mut tx = store.begin().await?;
    tx.staff_member(staff).await?;
    let Some(case_id) = tx.next_in_queue().await? else {
        return Ok(None);
    };
    let claimed = tx
        .set_case_state(
            case_id,
            (crate::domain::CaseState::Escalated, None),
            (crate::domain::CaseState::Claimed, Some(staff)),
            at,
        )
        .await?;
    if !claimed {
        return Ok(None);
    }
    append_unsealed(&mut tx, case_id, 1, at).await?;
    tx.commit().await?;
    Ok(Some(case_id))
}

/// A database of a benchmark's own: a new SQLite file in a temporary folder, or a new schema in
/// the given PostgreSQL database (dropped by [`Scratch::drop`]).
pub struct Scratch {
    pub url: String,
    schema: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl Scratch {
    pub async fn new(base: Option<&str>) -> Result<Scratch, StoreError> {
        let base = match base {
            Some(url) if Backend::from_url(url)? == Backend::Postgres => url,
            Some(url) => {
                return Ok(Scratch {
                    url: url.to_owned(),
                    schema: None,
                    _dir: None,
                })
            }
            None => {
                let dir = tempfile::tempdir().map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let url = format!("sqlite://{}", dir.path().join("bench.db").display());
                return Ok(Scratch {
                    url,
                    schema: None,
                    _dir: Some(dir),
                });
            }
        };
        let schema = format!("casebot_bench_{}", Utc::now().timestamp_micros());
        let admin = Store::connect(base, &super::StoreOptions::default()).await?;
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&admin.pool)
            .await?;
        admin.close().await;
        let sep = if base.contains('?') { '&' } else { '?' };
        Ok(Scratch {
            url: format!("{base}{sep}options=-c%20search_path%3D{schema}"),
            schema: Some((base.to_owned(), schema)),
            _dir: None,
        })
    }

    pub async fn drop(self) -> Result<(), StoreError> {
        if let Some((base, schema)) = &self.schema {
            let admin = Store::connect(base, &super::StoreOptions::default()).await?;
            sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                .execute(&admin.pool)
                .await?;
            admin.close().await;
        }
        Ok(())
    }
}
