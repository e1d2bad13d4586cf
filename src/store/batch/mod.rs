//! Applying a batch of changes in one transaction, the same way on both backends. The writer
//! (see [`super::writer`]) hands over the changes that are ready; this module turns them into one
//! multi-row statement per table and runs them through the adapter's [`BatchTx`], in an order
//! that lets each change keep its own outcome:
//!
//! 1. lock the heads of the audit chains the batch appends to (so concurrent writers on the same
//!    case queue here, and writers on different cases never meet);
//! 2. create or refresh customers, update cases over the versions they were read at, open new
//!    cases; a change whose case moved on, or whose customer got another active case, is a
//!    conflict;
//! 3. store messages; a change whose message is already stored is a duplicate;
//! 4. if anything conflicted, roll back and run the batch again without it;
//! 5. write the rest (notes, callbacks, staff, projections, corrections, outbox) and seal the
//!    audit events onto their chains, then commit once.
//!
//! Rows travel as one JSON array per statement. PostgreSQL reads it natively (one prepared
//! statement for a batch of any size); SQLite binds its values one by one (see the adapter).

use std::collections::{BTreeSet, HashMap};

use async_trait::async_trait;
use serde_json::{json, Value};

mod json_rows;
mod seal;

use json_rows::{
    callback_row, case_row, correction_row, customer_rows, outbox_row, outbox_update_row,
    projection_row, staff_row,
};
pub(crate) use json_rows::{event_row, head_row, TimeFormat};
use seal::{existing_chains, seal_events};

use super::StoreError;
use crate::domain::ids::{CaseId, CustomerId};
use crate::domain::{Applied, Case, Change};

/// The statements that write rows without reading anything back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rows {
    Notes,
    CallbackRequests,
    CallbacksFinished,
    CallbacksOverdue,
    StaffSet,
    StaffRemoved,
    CustomersBlocked,
    CustomersLinked,
    /// Erasure, one statement per table it reaches.
    EraseCustomers,
    EraseMessages,
    EraseCases,
    EraseNotes,
    EraseCallbacks,
    EraseOutbox,
    Cards,
    DmsClosed,
    ThreadMembers,
    Corrections,
    Outbox,
    OutboxSent,
    OutboxRetry,
    OutboxFailed,
    AuditEvents,
    AuditHeads,
}

/// The statements an erasure runs, in order.
const ERASURE: [Rows; 6] = [
    Rows::EraseCustomers,
    Rows::EraseMessages,
    Rows::EraseCases,
    Rows::EraseNotes,
    Rows::EraseCallbacks,
    Rows::EraseOutbox,
];

/// One write transaction of an adapter, as the batch needs it. Each method is one statement.
#[async_trait]
pub(crate) trait BatchTx: Send {
    async fn begin(&mut self) -> Result<(), sqlx::Error>;
    async fn commit(&mut self) -> Result<(), sqlx::Error>;
    async fn rollback(&mut self) -> Result<(), sqlx::Error>;
    /// Locks these chains' heads until the transaction ends; returns `(seq, hash)` by chain.
    async fn lock_chains(
        &mut self,
        chains: &[String],
    ) -> Result<HashMap<String, (i64, String)>, sqlx::Error>;
    /// Creates or refreshes customers; returns `(platform, user id, customer id)`.
    async fn upsert_customers(
        &mut self,
        rows: Value,
    ) -> Result<Vec<(String, String, i64)>, sqlx::Error>;
    /// Writes cases whose version is still the expected one; returns the ids written.
    async fn update_cases(&mut self, rows: Value) -> Result<Vec<i64>, sqlx::Error>;
    /// Opens cases unless the customer has an active one; returns `(customer id, case id)`.
    async fn insert_cases(&mut self, rows: Value) -> Result<Vec<(i64, i64)>, sqlx::Error>;
    /// Stores messages not stored before; returns the platform ids stored.
    async fn insert_messages(&mut self, rows: Value) -> Result<Vec<String>, sqlx::Error>;
    async fn write(&mut self, what: Rows, rows: Value) -> Result<(), sqlx::Error>;
}

/// The keys the writer uses to keep changes that touch the same case or customer out of one
/// batch: a multi-row update cannot apply two versions of one row.
pub(crate) fn keys(change: &Change) -> Vec<String> {
    let mut keys: Vec<String> = change
        .case_updates
        .iter()
        .map(|u| format!("case:{}", u.case.id))
        .collect();
    if let Some(customer) = &change.customer {
        keys.push(format!("user:{}:{}", customer.platform, customer.user_id));
    }
    // A new customer's case is keyed by the customer's user id above; every new customer has
    // the same placeholder id until stored.
    if let Some(case) = change
        .new_case
        .as_ref()
        .filter(|c| c.customer_id != CustomerId::NEW)
    {
        keys.push(format!("customer:{}", case.customer_id));
    }
    keys
}

/// Applies `changes` through `tx`, each with its own outcome, committing the ones that apply.
pub(crate) async fn apply(
    tx: &mut dyn BatchTx,
    changes: &[&Change],
    time: TimeFormat,
) -> Result<Vec<Applied>, StoreError> {
    let mut outcome: Vec<Option<Applied>> = vec![None; changes.len()];
    loop {
        let live: Vec<usize> = (0..changes.len())
            .filter(|i| outcome[*i].is_none())
            .collect();
        if live.is_empty() {
            return Ok(outcome
                .into_iter()
                .map(|o| o.unwrap_or(Applied::Conflict))
                .collect());
        }
        tx.begin().await?;
        match attempt(tx, changes, &live, time).await {
            Ok(Attempt::Written(done)) => {
                tx.commit().await?;
                for (i, applied) in done {
                    outcome[i] = Some(applied);
                }
            }
            Ok(Attempt::Refused(refused)) => {
                tx.rollback().await?;
                for (i, applied) in refused {
                    outcome[i] = Some(applied);
                }
            }
            Err(e) => {
                let _ = tx.rollback().await;
                return Err(e);
            }
        }
    }
}

enum Attempt {
    /// Everything written: each change's outcome.
    Written(Vec<(usize, Applied)>),
    /// Some changes cannot be written as they are; the transaction must be rolled back and the
    /// rest run again.
    Refused(Vec<(usize, Applied)>),
}

/// The real ids of what each change creates.
#[derive(Default)]
pub(super) struct Created {
    customers: HashMap<usize, CustomerId>,
    cases: HashMap<usize, CaseId>,
}

impl Created {
    pub(super) fn case(&self, i: usize, id: CaseId) -> i64 {
        match id {
            CaseId::NEW => self.cases.get(&i).copied().unwrap_or(CaseId::NEW).get(),
            id => id.get(),
        }
    }

    pub(super) fn customer(&self, i: usize, id: CustomerId) -> i64 {
        match id {
            CustomerId::NEW => self
                .customers
                .get(&i)
                .copied()
                .unwrap_or(CustomerId::NEW)
                .get(),
            id => id.get(),
        }
    }
}

async fn attempt(
    tx: &mut dyn BatchTx,
    changes: &[&Change],
    live: &[usize],
    time: TimeFormat,
) -> Result<Attempt, StoreError> {
    let chains = existing_chains(changes, live);
    let heads = if chains.is_empty() {
        HashMap::new()
    } else {
        tx.lock_chains(&chains).await?
    };
    let mut created = Created::default();
    upsert_customers(tx, changes, live, time, &mut created).await?;
    let mut refused = update_cases(tx, changes, live, time).await?;
    refused.extend(insert_cases(tx, changes, live, time, &mut created).await?);
    if refused.is_empty() {
        refused = insert_messages(tx, changes, live, time, &created).await?;
    }
    if !refused.is_empty() {
        return Ok(Attempt::Refused(refused));
    }
    write_rest(tx, changes, live, time, &created).await?;
    seal_events(tx, changes, live, &created, &heads).await?;
    let done = live
        .iter()
        .map(|&i| {
            let applied = Applied::Done {
                case_id: created.cases.get(&i).copied(),
                customer_id: created.customers.get(&i).copied(),
            };
            (i, applied)
        })
        .collect();
    Ok(Attempt::Written(done))
}

async fn upsert_customers(
    tx: &mut dyn BatchTx,
    changes: &[&Change],
    live: &[usize],
    time: TimeFormat,
    created: &mut Created,
) -> Result<(), StoreError> {
    let wanted: Vec<(usize, &crate::domain::change::CustomerUpsert)> = live
        .iter()
        .filter_map(|&i| changes[i].customer.as_ref().map(|c| (i, c)))
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let rows = wanted
        .iter()
        .map(|(i, c)| {
            json!({
                "platform": c.platform,
                "user_id": c.user_id.as_str(),
                "display_name": c.display_name,
                "created_at": time.at(changes[*i].at),
            })
        })
        .collect();
    let ids = tx.upsert_customers(Value::Array(rows)).await?;
    for (i, c) in wanted {
        let id = ids
            .iter()
            .find(|(platform, user, _)| *platform == c.platform && user == c.user_id.as_str())
            .map(|(_, _, id)| CustomerId(*id))
            .ok_or_else(|| StoreError::Corrupt("a customer upsert returned no row".into()))?;
        created.customers.insert(i, id);
    }
    Ok(())
}

async fn update_cases(
    tx: &mut dyn BatchTx,
    changes: &[&Change],
    live: &[usize],
    time: TimeFormat,
) -> Result<Vec<(usize, Applied)>, StoreError> {
    let updates: Vec<(usize, &crate::domain::change::CaseUpdate)> = live
        .iter()
        .flat_map(|&i| changes[i].case_updates.iter().map(move |u| (i, u)))
        .collect();
    if updates.is_empty() {
        return Ok(Vec::new());
    }
    let rows = updates
        .iter()
        .map(|(_, u)| {
            let mut row = case_row(&u.case, time);
            row["id"] = json!(u.case.id.get());
            row["customer_id"] = json!(u.case.customer_id.get());
            row["expected"] = json!(u.expected_version);
            row["version"] = json!(u.expected_version + 1);
            row
        })
        .collect();
    let written: BTreeSet<i64> = tx
        .update_cases(Value::Array(rows))
        .await?
        .into_iter()
        .collect();
    let mut refused: Vec<(usize, Applied)> = updates
        .iter()
        .filter(|(_, u)| !written.contains(&u.case.id.get()))
        .map(|(i, _)| (*i, Applied::Conflict))
        .collect();
    refused.dedup();
    Ok(refused)
}

async fn insert_cases(
    tx: &mut dyn BatchTx,
    changes: &[&Change],
    live: &[usize],
    time: TimeFormat,
    created: &mut Created,
) -> Result<Vec<(usize, Applied)>, StoreError> {
    let new: Vec<(usize, &Case, i64)> = live
        .iter()
        .filter_map(|&i| {
            let case = changes[i].new_case.as_ref()?;
            Some((i, case, created.customer(i, case.customer_id)))
        })
        .collect();
    if new.is_empty() {
        return Ok(Vec::new());
    }
    let rows = new
        .iter()
        .map(|(_, case, customer)| {
            let mut row = case_row(case, time);
            row["customer_id"] = json!(customer);
            row["version"] = json!(0);
            row
        })
        .collect();
    let opened = tx.insert_cases(Value::Array(rows)).await?;
    let mut refused = Vec::new();
    for (i, _, customer) in new {
        match opened.iter().find(|(c, _)| *c == customer) {
            Some((_, id)) => {
                created.cases.insert(i, CaseId(*id));
            }
            // The customer has another active case now: decide again with it.
            None => refused.push((i, Applied::Conflict)),
        }
    }
    Ok(refused)
}

async fn insert_messages(
    tx: &mut dyn BatchTx,
    changes: &[&Change],
    live: &[usize],
    time: TimeFormat,
    created: &Created,
) -> Result<Vec<(usize, Applied)>, StoreError> {
    let messages: Vec<(usize, &crate::domain::change::NewMessage)> = live
        .iter()
        .flat_map(|&i| changes[i].messages.iter().map(move |m| (i, m)))
        .collect();
    if messages.is_empty() {
        return Ok(Vec::new());
    }
    let rows = messages
        .iter()
        .map(|(i, m)| {
            json!({
                "case_id": created.case(*i, m.case_id),
                "customer_id": created.customer(*i, m.customer_id),
                "platform": m.platform,
                "platform_message_id": m.platform_message_id,
                "channel_kind": m.channel_kind.as_str(),
                "channel_id": m.channel_id,
                "author_kind": m.author.kind(),
                "author_id": m.author.staff_id().map(|s| s.as_str()),
                "body": m.body,
                "body_sha256": m.body_sha256,
                "sent_at": time.at(m.sent_at),
                "received_at": time.at(changes[*i].at),
            })
        })
        .collect();
    let stored: BTreeSet<String> = tx
        .insert_messages(Value::Array(rows))
        .await?
        .into_iter()
        .collect();
    let mut refused: Vec<(usize, Applied)> = messages
        .iter()
        .filter(|(_, m)| !stored.contains(&m.platform_message_id))
        .map(|(i, _)| (*i, Applied::Duplicate))
        .collect();
    refused.dedup();
    Ok(refused)
}

/// Rows for every statement after the cases and messages, grouped by statement.
#[derive(Default)]
struct Grouped(Vec<(Rows, Vec<Value>)>);

impl Grouped {
    fn push(&mut self, what: Rows, row: Value) {
        match self.0.iter_mut().find(|(w, _)| *w == what) {
            Some((_, rows)) => rows.push(row),
            None => self.0.push((what, vec![row])),
        }
    }
}

async fn write_rest(
    tx: &mut dyn BatchTx,
    changes: &[&Change],
    live: &[usize],
    time: TimeFormat,
    created: &Created,
) -> Result<(), StoreError> {
    let mut rows = Grouped::default();
    for &i in live {
        let change = changes[i];
        let case = |id: CaseId| created.case(i, id);
        let at = time.at(change.at);
        for note in &change.notes {
            let row = json!({ "case_id": case(note.case_id), "author": note.author.as_str(),
                "body": note.body, "created_at": at });
            rows.push(Rows::Notes, row);
        }
        for write in &change.callbacks {
            let (what, row) = callback_row(write, &case, &at, time);
            rows.push(what, row);
        }
        for write in &change.staff {
            let (what, row) = staff_row(write, &at);
            rows.push(what, row);
        }
        for write in &change.customers {
            let id = |customer| created.customer(i, customer);
            for (what, row) in customer_rows(write, id, &at) {
                rows.push(what, row);
            }
        }
        for write in &change.projections {
            let (what, row) = projection_row(write, &case);
            rows.push(what, row);
        }
        for c in &change.corrections {
            rows.push(Rows::Corrections, correction_row(c, &case, &at));
        }
        for m in &change.outbox {
            let new_case = created.cases.get(&i).copied();
            rows.push(Rows::Outbox, outbox_row(m, &case, new_case, &at));
        }
        for update in &change.outbox_updates {
            let (what, row) = outbox_update_row(update, &at, time);
            rows.push(what, row);
        }
    }
    for (what, batch) in rows.0 {
        tx.write(what, Value::Array(batch)).await?;
    }
    Ok(())
}
