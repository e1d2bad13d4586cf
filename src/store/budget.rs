//! The outbound budget shared by processes: a token bucket per bot, kept in one row so that every
//! process sending with the same token draws from the same tokens. The row is read and written
//! under its lock in one transaction; on PostgreSQL the database's clock is used, so processes on
//! different machines agree on how much has refilled.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::rows::Time;
use super::{in_transaction, Store, StoreError};
use crate::domain::policy::Bucket;

const READ: &str = "SELECT tokens, updated_at FROM outbound_budget WHERE name = $1";
const READ_LOCKED: &str =
    "SELECT tokens, updated_at FROM outbound_budget WHERE name = $1 FOR UPDATE";

impl Store {
    /// Takes one request from the budget `name` (refilled at `per_second`, holding at most
    /// `capacity`); `Some(wait)` when none is there, with how long until one will be.
    pub async fn take_outbound(
        &self,
        name: &str,
        per_second: f64,
        capacity: f64,
    ) -> Result<Option<Duration>, StoreError> {
        in_transaction!(self, tx => {
            let now: DateTime<Utc> = match &self.db {
                super::Db::Postgres(_) => {
                    let (now,): (Time,) = sqlx::query_as("SELECT clock_timestamp()").fetch_one(&mut *tx).await?;
                    now.0
                }
                super::Db::Sqlite(_) => Utc::now(),
            };
            sqlx::query(
                "INSERT INTO outbound_budget (name, tokens, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO NOTHING",
            )
            .bind(name)
            .bind(capacity)
            .bind(Time(now))
            .execute(&mut *tx)
            .await?;
            // SQLite's write transaction already holds the whole database; PostgreSQL locks the row.
            let sql = match &self.db {
                super::Db::Postgres(_) => READ_LOCKED,
                super::Db::Sqlite(_) => READ,
            };
            let (tokens, at): (f64, Time) = sqlx::query_as(sql).bind(name).fetch_one(&mut *tx).await?;
            match (Bucket { tokens, at: at.0 }).take(now, per_second, capacity) {
                Ok(after) => {
                    sqlx::query("UPDATE outbound_budget SET tokens = $2, updated_at = $3 WHERE name = $1")
                        .bind(name)
                        .bind(after.tokens)
                        .bind(Time(after.at))
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(None)
                }
                Err(wait) => Ok(Some(wait)),
            }
        })
    }
}
