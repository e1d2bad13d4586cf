//! The floor `casebot bench intake` measures against: one message's intake written as the fewest
//! statements a hand-written program needs (upsert the customer, find or open the case, insert the
//! message, its audit row and its reply, update the case), one transaction per message, through
//! the store's own driver and connections. None of casebot's logic runs: a fixed text stands in
//! for the reply and a fixed hash for the audit chain's, so it only ever runs on a benchmark's
//! own database. [`Store::minimal_claim_next`] is the same floor for claiming the head of the
//! queue: one statement.

use chrono::{DateTime, Utc};

use super::rows::Time;
use super::{in_transaction, Store, StoreError};

const FIXED_HASH: &str = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

/// One message for the minimal path.
pub struct MinimalMessage<'a> {
    pub user_id: &'a str,
    pub message_id: &'a str,
    pub text: &'a str,
    pub at: DateTime<Utc>,
}

impl Store {
    /// Stores one message, its audit row and a reply, as a minimal program would.
    pub async fn minimal_intake(&self, m: &MinimalMessage<'_>) -> Result<(), StoreError> {
        in_transaction!(self, tx => {
            let (customer,): (i64,) = sqlx::query_as(
                "INSERT INTO customers (platform, platform_user_id, display_name, created_at) \
                 VALUES ('bench', $1, $1, $2) ON CONFLICT (platform, platform_user_id) \
                 DO UPDATE SET display_name = excluded.display_name RETURNING id",
            )
            .bind(m.user_id)
            .bind(Time(m.at))
            .fetch_one(&mut *tx)
            .await?;
            let open: Option<(i64, i64)> = sqlx::query_as(
                "SELECT id, version FROM cases WHERE customer_id = $1 \
                 AND state IN ('open', 'escalated', 'claimed')",
            )
            .bind(customer)
            .fetch_optional(&mut *tx)
            .await?;
            let (case, version) = match open {
                Some(case) => case,
                None => sqlx::query_as(
                    "INSERT INTO cases (customer_id, state, origin, created_at, updated_at) \
                     VALUES ($1, 'open', 'dm', $2, $2) RETURNING id, version",
                )
                .bind(customer)
                .bind(Time(m.at))
                .fetch_one(&mut *tx)
                .await?,
            };
            sqlx::query(
                "INSERT INTO messages (case_id, customer_id, platform, platform_message_id, \
                 channel_kind, channel_id, author_kind, body, body_sha256, sent_at, received_at) \
                 VALUES ($1, $2, 'bench', $3, 'dm', $4, 'customer', $5, $6, $7, $7)",
            )
            .bind(case)
            .bind(customer)
            .bind(m.message_id)
            .bind(m.user_id)
            .bind(m.text)
            .bind(FIXED_HASH)
            .bind(Time(m.at))
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO audit_events (chain, seq, at_ms, actor_kind, actor_id, action, case_id, \
                 details, prev_hash, hash) \
                 VALUES ($1, $2, $3, 'customer', $4, 'message.received', $5, '{}', $6, $6)",
            )
            .bind(format!("case:{case}"))
            .bind(version + 1)
            .bind(m.at.timestamp_millis())
            .bind(customer.to_string())
            .bind(case)
            .bind(FIXED_HASH)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO outbox (case_id, kind, destination, target, body, next_attempt_at, created_at) \
                 VALUES ($1, 'reply', 'customer_dm', $2, 'Thanks, we are on it.', $3, $3)",
            )
            .bind(case)
            .bind(m.user_id)
            .bind(Time(m.at))
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE cases SET version = version + 1, customer_messages = customer_messages + 1, \
                 updated_at = $2 WHERE id = $1",
            )
            .bind(case)
            .bind(Time(m.at))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Claims the head of the queue for `staff` in one statement; the case's number, or `None`
    /// when the queue is empty. On PostgreSQL concurrent claimers skip each other's rows.
    pub async fn minimal_claim_next(&self, staff: &str) -> Result<Option<i64>, StoreError> {
        let lock = match &self.db {
            super::Db::Postgres(_) => " FOR UPDATE SKIP LOCKED",
            super::Db::Sqlite(_) => "",
        };
        let sql = format!(
            "UPDATE cases SET state = 'claimed', assignee = $1, version = version + 1 \
             WHERE id = (SELECT id FROM cases WHERE state = 'escalated' \
                 ORDER BY priority_rank DESC, escalated_at, id LIMIT 1{lock}) RETURNING id"
        );
        in_transaction!(self, tx => {
            let claimed: Option<(i64,)> = sqlx::query_as(&sql).bind(staff).fetch_optional(&mut *tx).await?;
            tx.commit().await?;
            Ok(claimed.map(|(id,)| id))
        })
    }
}
