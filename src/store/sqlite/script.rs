//! One batch's transaction on SQLite's write connection, sent in as few calls as the batch
//! allows.
//!
//! Each call is a round trip to the connection's worker thread, and under load the trip costs
//! more than a statement. So what the batch needs no answer from (`BEGIN`, the writes of
//! [`BatchTx::write`]) waits and goes out in front of the next statement that returns rows, or in
//! front of `COMMIT`: one script, which SQLite runs in order. Each statement reads its rows from a
//! `VALUES` table bound value by value (see [`super::statements`]).

use std::collections::HashMap;

use async_trait::async_trait;
use serde_json::Value;
use sqlx::sqlite::{SqliteArguments, SqliteConnection, SqliteRow};
use sqlx::{Arguments, Executor};

use super::statements::{self, Batched};
use crate::store::batch::{BatchTx, Rows};
use crate::store::upgrade::{
    LegacyLog, LegacyRow, DROP_LEGACY_EVENTS, DROP_LEGACY_HEAD, LEGACY_EVENTS, LEGACY_HEAD,
};

/// SQLite numbers parameters up to 32,766; a script sends what it has before it would pass this.
const MAX_PARAMETERS: usize = 30_000;

/// The most rows one statement of a script takes; more go in further statements.
const MAX_CHUNK: usize = 64;

/// Statements and their bound values, waiting to be sent as one script.
#[derive(Default)]
struct Script {
    sql: String,
    args: SqliteArguments<'static>,
    count: usize,
}

impl Script {
    fn push_plain(&mut self, sql: &str) {
        self.sql.push_str(sql);
        self.sql.push_str(";\n");
    }

    /// `statement` on `rows`, binding every value. `rows` is given in chunks of a few fixed sizes,
    /// padded with empty rows that the statement never sees, so the script's text (and so its
    /// prepared statement in the connection's cache) repeats from batch to batch: preparing a
    /// statement of a thousand parameters costs more than running it.
    fn push(&mut self, statement: &Batched, rows: &[Value]) -> Result<(), sqlx::Error> {
        for chunk in rows.chunks(MAX_CHUNK) {
            self.push_chunk(statement, chunk)?;
        }
        Ok(())
    }

    /// `WITH given(present, columns) AS (VALUES (?, ...), ...), rows AS (the present ones)
    /// statement`. The parameters are anonymous: the driver hands them out in order across the
    /// statements of a script, where numbered ones would be looked up in the first statement's
    /// share.
    fn push_chunk(&mut self, statement: &Batched, rows: &[Value]) -> Result<(), sqlx::Error> {
        let columns = statement.columns.join(", ");
        let size = rows.len().next_power_of_two();
        let row = format!("(?{})", ", ?".repeat(statement.columns.len()));
        let values = vec![row; size].join(", ");
        self.sql.push_str(&format!(
            "WITH given(present, {columns}) AS (VALUES {values}), \
             rows AS (SELECT {columns} FROM given WHERE present) "
        ));
        let padding = std::iter::repeat_n(None, size - rows.len());
        for row in rows.iter().map(Some).chain(padding) {
            bind(&mut self.args, &Value::Bool(row.is_some()))?;
            for column in &statement.columns {
                let value = match row {
                    // A row of one column may be given as the bare value.
                    Some(Value::Object(fields)) => fields.get(*column).unwrap_or(&Value::Null),
                    Some(bare) => bare,
                    None => &Value::Null,
                };
                bind(&mut self.args, value)?;
            }
        }
        self.count += size * (statement.columns.len() + 1);
        self.push_plain(&statement.sql);
        Ok(())
    }

    fn is_empty(&self) -> bool {
        self.sql.is_empty()
    }
}

/// Binds a JSON value as the SQLite value it stands for: arrays and objects as their JSON text.
fn bind(args: &mut SqliteArguments<'static>, value: &Value) -> Result<(), sqlx::Error> {
    let added = match value {
        Value::Null => args.add(None::<i64>),
        Value::Bool(b) => args.add(i64::from(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => args.add(i),
            None => args.add(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => args.add(s.clone()),
        other => args.add(other.to_string()),
    };
    added.map_err(sqlx::Error::Encode)
}

fn rows_of(rows: &Value) -> &[Value] {
    rows.as_array().map_or(&[], Vec::as_slice)
}

pub(crate) struct SqliteBatch<'c> {
    conn: &'c mut SqliteConnection,
    waiting: Script,
}

impl<'c> SqliteBatch<'c> {
    pub(crate) fn on(conn: &'c mut SqliteConnection) -> SqliteBatch<'c> {
        SqliteBatch {
            conn,
            waiting: Script::default(),
        }
    }

    /// Sends what is waiting followed by `statement` on `rows`; returns the rows it returns.
    async fn fetch<T>(&mut self, statement: &Batched, rows: &Value) -> Result<Vec<T>, sqlx::Error>
    where
        T: for<'r> sqlx::FromRow<'r, SqliteRow> + Send + Unpin,
    {
        let rows = rows_of(rows);
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let mut script = std::mem::take(&mut self.waiting);
        script.push(statement, rows)?;
        sqlx::query_as_with(&script.sql, script.args)
            .fetch_all(&mut *self.conn)
            .await
    }

    /// Sends what is waiting, followed by `last` when given.
    async fn send(&mut self, last: Option<&str>) -> Result<(), sqlx::Error> {
        let mut script = std::mem::take(&mut self.waiting);
        if let Some(last) = last {
            script.push_plain(last);
        }
        if script.is_empty() {
            return Ok(());
        }
        sqlx::query_with(&script.sql, script.args)
            .execute(&mut *self.conn)
            .await
            .map(|_| ())
    }
}

#[async_trait]
impl BatchTx for SqliteBatch<'_> {
    async fn begin(&mut self) -> Result<(), sqlx::Error> {
        self.waiting = Script::default();
        self.waiting.push_plain("BEGIN IMMEDIATE");
        Ok(())
    }

    async fn commit(&mut self) -> Result<(), sqlx::Error> {
        self.send(Some("COMMIT")).await
    }

    async fn rollback(&mut self) -> Result<(), sqlx::Error> {
        let never_sent = self.waiting.sql.starts_with("BEGIN");
        self.waiting = Script::default();
        if never_sent {
            // Nothing reached SQLite: there is no transaction to roll back.
            return Ok(());
        }
        self.conn.execute("ROLLBACK").await.map(|_| ())
    }

    async fn lock_chains(
        &mut self,
        chains: &[String],
    ) -> Result<HashMap<String, (i64, String)>, sqlx::Error> {
        let rows = Value::Array(chains.iter().map(|c| Value::String(c.clone())).collect());
        let heads: Vec<(String, i64, String)> =
            self.fetch(statements::lock_chains(), &rows).await?;
        Ok(heads
            .into_iter()
            .map(|(chain, seq, hash)| (chain, (seq, hash)))
            .collect())
    }

    async fn upsert_customers(
        &mut self,
        rows: Value,
    ) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
        self.fetch(statements::upsert_customers(), &rows).await
    }

    async fn update_cases(&mut self, rows: Value) -> Result<Vec<i64>, sqlx::Error> {
        let ids: Vec<(i64,)> = self.fetch(statements::update_cases(), &rows).await?;
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }

    async fn insert_cases(&mut self, rows: Value) -> Result<Vec<(i64, i64)>, sqlx::Error> {
        self.fetch(statements::insert_cases(), &rows).await
    }

    async fn insert_messages(&mut self, rows: Value) -> Result<Vec<String>, sqlx::Error> {
        let ids: Vec<(String,)> = self.fetch(statements::insert_messages(), &rows).await?;
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }

    async fn write(&mut self, what: Rows, rows: Value) -> Result<(), sqlx::Error> {
        let rows = rows_of(&rows);
        if rows.is_empty() {
            return Ok(());
        }
        let statement = statements::write(what);
        let most = (rows.len() + MAX_CHUNK) * (statement.columns.len() + 1);
        if self.waiting.count + most > MAX_PARAMETERS {
            self.send(None).await?;
        }
        self.waiting.push(statement, rows)
    }
}

/// The upgrade reads the previous release's log between its writes: whatever is waiting goes
/// first, so it runs in the order written.
#[async_trait]
impl LegacyLog for SqliteBatch<'_> {
    async fn has_legacy_log(&mut self) -> Result<bool, sqlx::Error> {
        self.send(None).await?;
        sqlx::query_scalar("SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'legacy_audit_events'")
            .fetch_one(&mut *self.conn)
            .await
    }

    async fn legacy_head(&mut self) -> Result<(i64, String), sqlx::Error> {
        self.send(None).await?;
        sqlx::query_as(LEGACY_HEAD).fetch_one(&mut *self.conn).await
    }

    async fn legacy_events(
        &mut self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<LegacyRow>, sqlx::Error> {
        self.send(None).await?;
        sqlx::query_as(LEGACY_EVENTS)
            .bind(after)
            .bind(limit)
            .fetch_all(&mut *self.conn)
            .await
    }

    async fn drop_legacy_log(&mut self) -> Result<(), sqlx::Error> {
        self.send(None).await?;
        self.conn.execute(DROP_LEGACY_EVENTS).await?;
        self.conn.execute(DROP_LEGACY_HEAD).await?;
        Ok(())
    }
}
