//! Raw reads of the database, as someone holding the database file (or a login to it) would make
//! them: for tests that check what is really stored, beneath the store's own API.

use casebot::store::Store;

/// One integer from `sql` (a count, say).
pub async fn number(store: &Store, sql: &str) -> i64 {
    match (store.sqlite_pool(), store.postgres_pool()) {
        (Some(pool), _) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
        (_, Some(pool)) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
        _ => unreachable!("a store is on one backend or the other"),
    }
}

/// Every row of a one-column text query.
pub async fn texts(store: &Store, sql: &str) -> Vec<String> {
    match (store.sqlite_pool(), store.postgres_pool()) {
        (Some(pool), _) => sqlx::query_scalar(sql).fetch_all(pool).await.unwrap(),
        (_, Some(pool)) => sqlx::query_scalar(sql).fetch_all(pool).await.unwrap(),
        _ => unreachable!("a store is on one backend or the other"),
    }
}
