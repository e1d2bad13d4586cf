//! The SQLite batch statements. Each reads the batch's rows from `rows`, a table of the named
//! columns that [`super::script`] puts in front of it as `WITH rows(...) AS (VALUES ...)` with one
//! bound parameter per value: SQLite then reads plain values instead of parsing a JSON document
//! for every column of every row, which cost more than the writes themselves.

use std::sync::OnceLock;

use crate::store::batch::Rows;
use crate::store::rows::CASE_TARGETS;

/// A statement over `rows`, and the columns of `rows` in order. (`WHERE true` lets SQLite tell
/// an upsert's `ON CONFLICT` from a join.)
pub(super) struct Batched {
    pub columns: Vec<&'static str>,
    pub sql: String,
}

fn batched(columns: &[&'static str], sql: &str) -> Batched {
    Batched {
        columns: columns.to_vec(),
        sql: sql.to_owned(),
    }
}

/// The heads of the chains named in `rows`, locked for the transaction by SQLite's one writer.
pub(super) fn lock_chains() -> &'static Batched {
    static S: OnceLock<Batched> = OnceLock::new();
    S.get_or_init(|| {
        batched(
            &["chain"],
            "SELECT chain, seq, hash FROM audit_chains WHERE chain IN (SELECT chain FROM rows)",
        )
    })
}

pub(super) fn upsert_customers() -> &'static Batched {
    static S: OnceLock<Batched> = OnceLock::new();
    S.get_or_init(|| {
        batched(
            &["platform", "user_id", "display_name", "created_at"],
            "INSERT INTO customers (platform, platform_user_id, display_name, created_at) \
             SELECT platform, user_id, display_name, created_at FROM rows WHERE true \
             ON CONFLICT (platform, platform_user_id) DO UPDATE SET display_name = excluded.display_name \
             RETURNING platform, platform_user_id, id",
        )
    })
}

pub(super) fn insert_messages() -> &'static Batched {
    static S: OnceLock<Batched> = OnceLock::new();
    S.get_or_init(|| {
        let columns = [
            "case_id", "customer_id", "platform", "platform_message_id", "channel_kind", "channel_id",
            "author_kind", "author_id", "body", "body_sha256", "sent_at", "received_at",
        ];
        let list = columns.join(", ");
        batched(
            &columns,
            &format!(
                "INSERT INTO messages ({list}) SELECT {list} FROM rows WHERE true \
                 ON CONFLICT (platform, platform_message_id) DO NOTHING RETURNING platform_message_id"
            ),
        )
    })
}

fn case_columns() -> Vec<&'static str> {
    CASE_TARGETS.split(',').map(str::trim).collect()
}

/// Cases whose version is still the one expected, written whole; returns the ids written.
pub(super) fn update_cases() -> &'static Batched {
    static S: OnceLock<Batched> = OnceLock::new();
    S.get_or_init(|| {
        let targets = case_columns();
        let assignments: Vec<String> = targets
            .iter()
            .filter(|c| !matches!(**c, "customer_id" | "created_at"))
            .map(|c| format!("{c} = r.{c}"))
            .collect();
        let mut columns = vec!["id", "expected"];
        columns.extend(targets);
        Batched {
            columns,
            sql: format!(
                "UPDATE cases SET {} FROM rows AS r WHERE cases.id = r.id AND cases.version = r.expected \
                 RETURNING cases.id",
                assignments.join(", ")
            ),
        }
    })
}

/// New cases, unless the customer has an active one already; returns `(customer, case)`.
pub(super) fn insert_cases() -> &'static Batched {
    static S: OnceLock<Batched> = OnceLock::new();
    S.get_or_init(|| Batched {
        columns: case_columns(),
        sql: format!(
            "INSERT INTO cases ({CASE_TARGETS}) SELECT {CASE_TARGETS} FROM rows WHERE true \
             ON CONFLICT (customer_id) WHERE state IN ('open', 'escalated', 'claimed') DO NOTHING \
             RETURNING customer_id, id"
        ),
    })
}

/// The statement for rows the batch writes without reading anything back.
pub(super) fn write(what: Rows) -> &'static Batched {
    static S: OnceLock<Vec<(Rows, Batched)>> = OnceLock::new();
    let all = S.get_or_init(|| {
        WRITES
            .iter()
            .map(|(what, columns, sql)| (*what, batched(columns, sql)))
            .collect()
    });
    all.iter()
        .find(|(w, _)| *w == what)
        .map(|(_, b)| b)
        .expect("every kind of row has a statement")
}

type Write = (Rows, &'static [&'static str], &'static str);

const WRITES: &[Write] = &[
    (
        Rows::Notes,
        &["case_id", "author", "body", "created_at"],
        "INSERT INTO case_notes (case_id, author, body, created_at) \
         SELECT case_id, author, body, created_at FROM rows WHERE true",
    ),
    (
        Rows::CallbackRequests,
        &["case_id", "phone", "requested_at", "due_at"],
        "INSERT INTO callbacks (case_id, phone, requested_at, due_at) \
         SELECT case_id, phone, requested_at, due_at FROM rows WHERE true",
    ),
    (
        Rows::CallbacksFinished,
        &["case_id", "at"],
        "UPDATE callbacks SET done_at = r.at FROM rows AS r \
         WHERE callbacks.case_id = r.case_id AND callbacks.done_at IS NULL",
    ),
    (
        Rows::CallbacksOverdue,
        &["id", "at"],
        "UPDATE callbacks SET breached_at = r.at FROM rows AS r \
         WHERE callbacks.id = r.id AND callbacks.breached_at IS NULL",
    ),
    (
        Rows::StaffSet,
        &["id", "role", "added_at"],
        "INSERT INTO staff_members (id, role, added_at) SELECT id, role, added_at FROM rows WHERE true \
         ON CONFLICT (id) DO UPDATE SET role = excluded.role",
    ),
    (Rows::StaffRemoved, &["id"], "DELETE FROM staff_members WHERE id IN (SELECT id FROM rows)"),
    (
        Rows::CustomersBlocked,
        &["id", "blocked"],
        "UPDATE customers SET blocked = r.blocked FROM rows AS r WHERE customers.id = r.id",
    ),
    (
        Rows::CustomersLinked,
        &["id", "external_id"],
        "UPDATE customers SET external_customer_id = r.external_id FROM rows AS r WHERE customers.id = r.id",
    ),
    (
        Rows::EraseCustomers,
        &["id", "at"],
        "UPDATE customers SET display_name = '[erased]', \
            platform_user_id = 'erased-' || customers.id, external_customer_id = NULL \
         FROM rows AS r WHERE customers.id = r.id",
    ),
    (
        Rows::EraseMessages,
        &["id", "at"],
        "UPDATE messages SET body = '[erased]', channel_id = 'erased' \
         FROM rows AS r WHERE messages.customer_id = r.id AND messages.body <> '[erased]'",
    ),
    (
        Rows::EraseCases,
        &["id", "at"],
        "UPDATE cases SET order_number = NULL, version = cases.version + 1, \
            resolution_summary = CASE WHEN resolution_summary IS NULL THEN NULL ELSE '[erased]' END \
         FROM rows AS r WHERE cases.customer_id = r.id",
    ),
    (
        Rows::EraseNotes,
        &["id", "at"],
        "UPDATE case_notes SET body = '[erased]' FROM rows AS r \
         WHERE case_notes.case_id IN (SELECT id FROM cases WHERE customer_id = r.id) \
           AND case_notes.body <> '[erased]'",
    ),
    (
        Rows::EraseCallbacks,
        &["id", "at"],
        "UPDATE callbacks SET phone = '[erased]', done_at = COALESCE(done_at, r.at) FROM rows AS r \
         WHERE callbacks.case_id IN (SELECT id FROM cases WHERE customer_id = r.id) \
           AND callbacks.phone <> '[erased]'",
    ),
    (
        Rows::EraseOutbox,
        &["id", "at"],
        "UPDATE outbox SET body = '[erased]', \
            target = CASE WHEN destination = 'customer_dm' THEN 'erased' ELSE target END, \
            state = CASE WHEN state = 'pending' THEN 'failed' ELSE state END, \
            last_error = CASE WHEN state = 'pending' THEN 'the customer was erased' ELSE last_error END \
         FROM rows AS r \
         WHERE outbox.case_id IN (SELECT id FROM cases WHERE customer_id = r.id) \
           AND outbox.body <> '[erased]'",
    ),
    (
        Rows::Cards,
        &["case_id", "card_message_id", "thread_id"],
        "INSERT INTO case_projections (case_id, card_message_id, thread_id) \
         SELECT case_id, card_message_id, thread_id FROM rows WHERE true \
         ON CONFLICT (case_id) DO UPDATE SET card_message_id = excluded.card_message_id, \
           thread_id = excluded.thread_id",
    ),
    (
        Rows::DmsClosed,
        &["case_id", "closed"],
        "INSERT INTO case_projections (case_id, dm_closed) SELECT case_id, closed FROM rows WHERE true \
         ON CONFLICT (case_id) DO UPDATE SET dm_closed = excluded.dm_closed",
    ),
    (
        Rows::ThreadMembers,
        &["case_id", "members"],
        "INSERT INTO case_projections (case_id, thread_members) SELECT case_id, members FROM rows WHERE true \
         ON CONFLICT (case_id) DO UPDATE SET thread_members = excluded.thread_members",
    ),
    (
        Rows::Corrections,
        &["case_id", "kind", "from_intent", "to_intent", "staff_id", "created_at"],
        "INSERT INTO case_corrections (case_id, kind, from_intent, to_intent, staff_id, created_at) \
         SELECT case_id, kind, from_intent, to_intent, staff_id, created_at FROM rows WHERE true",
    ),
    (
        Rows::Outbox,
        &["case_id", "kind", "destination", "target", "reply_to", "body", "created_at"],
        "INSERT INTO outbox (case_id, kind, destination, target, reply_to, body, next_attempt_at, created_at) \
         SELECT case_id, kind, destination, target, reply_to, body, created_at, created_at FROM rows WHERE true",
    ),
    (
        Rows::OutboxSent,
        &["id", "at", "platform_message_id"],
        "UPDATE outbox SET state = 'sent', sent_at = r.at, platform_message_id = r.platform_message_id, \
            last_error = NULL \
         FROM rows AS r WHERE outbox.id = r.id AND outbox.state = 'pending'",
    ),
    (
        Rows::OutboxRetry,
        &["id", "at", "error"],
        "UPDATE outbox SET next_attempt_at = r.at, last_error = r.error \
         FROM rows AS r WHERE outbox.id = r.id AND outbox.state = 'pending'",
    ),
    (
        Rows::OutboxFailed,
        &["id", "error"],
        "UPDATE outbox SET state = 'failed', last_error = r.error \
         FROM rows AS r WHERE outbox.id = r.id AND outbox.state = 'pending'",
    ),
    (
        Rows::AuditEvents,
        &["chain", "seq", "at_ms", "actor_kind", "actor_id", "action", "case_id", "details", "prev_hash", "hash"],
        "INSERT INTO audit_events (chain, seq, at_ms, actor_kind, actor_id, action, case_id, details, \
            prev_hash, hash) \
         SELECT chain, seq, at_ms, actor_kind, actor_id, action, case_id, details, prev_hash, hash \
         FROM rows WHERE true",
    ),
    (
        Rows::AuditHeads,
        &["chain", "seq", "hash"],
        "INSERT INTO audit_chains (chain, seq, hash) SELECT chain, seq, hash FROM rows WHERE true \
         ON CONFLICT (chain) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_row_has_a_statement_and_the_case_statements_cover_every_column() {
        for (what, columns, sql) in WRITES {
            assert!(sql.contains("rows"), "{what:?} reads its rows");
            assert_eq!(write(*what).columns, columns.to_vec());
        }
        let update = update_cases();
        assert!(update.sql.contains("state = r.state"), "{}", update.sql);
        assert!(!update.sql.contains("customer_id ="), "{}", update.sql);
        assert_eq!(update.columns.len(), case_columns().len() + 2);
    }
}
