//! The built-in order system's tables: orders, subscriptions and charges, and its idempotent
//! writes (refunds, address changes).

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{from_millis, Store, StoreError};
use crate::domain::orders::{Billing, Charge, Order, OrderStatus, Subscription};

/// The outcome of a write to the order system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderWrite {
    /// Applied now.
    Applied,
    /// This idempotency key was applied before; nothing changed.
    Repeated,
    /// The target is not in a state that allows it (already refunded, already shipped).
    Refused,
    /// No such order or charge.
    NotFound,
}

const UPSERT_ORDER: &str = "\
    INSERT INTO orders (number, customer_ref, status, total_cents, carrier, last_scan, \
        last_scan_at, promised_by, estimated_by, delivered_at, delivery_photo, \
        return_window_days, refunded_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
    ON CONFLICT (number) DO UPDATE SET customer_ref = excluded.customer_ref, \
        status = excluded.status, total_cents = excluded.total_cents, \
        carrier = excluded.carrier, last_scan = excluded.last_scan, \
        last_scan_at = excluded.last_scan_at, promised_by = excluded.promised_by, \
        estimated_by = excluded.estimated_by, delivered_at = excluded.delivered_at, \
        delivery_photo = excluded.delivery_photo, \
        return_window_days = excluded.return_window_days, refunded_at = excluded.refunded_at";

const UPSERT_SUBSCRIPTION: &str = "\
    INSERT INTO subscriptions (id, customer_ref, name, cancelled_at) VALUES ($1, $2, $3, $4) \
    ON CONFLICT (id) DO UPDATE SET customer_ref = excluded.customer_ref, name = excluded.name, \
        cancelled_at = excluded.cancelled_at";

const UPSERT_CHARGE: &str = "\
    INSERT INTO charges (id, subscription_id, amount_cents, charged_at, refunded_at) \
    VALUES ($1, $2, $3, $4, $5) \
    ON CONFLICT (id) DO UPDATE SET subscription_id = excluded.subscription_id, \
        amount_cents = excluded.amount_cents, charged_at = excluded.charged_at, \
        refunded_at = excluded.refunded_at";

const SELECT_ORDER: &str = "\
    SELECT number, customer_ref, status, total_cents, carrier, last_scan, last_scan_at, \
        promised_by, estimated_by, delivered_at, delivery_photo, return_window_days, refunded_at \
    FROM orders WHERE number = $1";

const SELECT_SUBSCRIPTIONS: &str =
    "SELECT id, customer_ref, name, cancelled_at FROM subscriptions WHERE customer_ref = $1 ORDER BY id";

const SELECT_CHARGES: &str = "\
    SELECT c.id, c.subscription_id, c.amount_cents, c.charged_at, c.refunded_at \
    FROM charges c JOIN subscriptions s ON s.id = c.subscription_id \
    WHERE s.customer_ref = $1 ORDER BY c.charged_at, c.id";

const CLAIM_KEY: &str = "\
    INSERT INTO order_actions (idempotency_key, kind, target, at) VALUES ($1, $2, $3, $4) \
    ON CONFLICT (idempotency_key) DO NOTHING RETURNING idempotency_key";

const REFUND_ORDER: &str =
    "UPDATE orders SET refunded_at = $2 WHERE number = $1 AND refunded_at IS NULL";
const REFUND_CHARGE: &str =
    "UPDATE charges SET refunded_at = $2 WHERE id = $1 AND refunded_at IS NULL";
const CHANGE_ADDRESS: &str =
    "UPDATE orders SET shipping_address = $2 WHERE number = $1 AND status = 'placed'";
const ORDER_EXISTS: &str = "SELECT COUNT(*) FROM orders WHERE number = $1";
const CHARGE_EXISTS: &str = "SELECT COUNT(*) FROM charges WHERE id = $1";

fn millis(at: Option<DateTime<Utc>>) -> Option<i64> {
    at.map(|t| t.timestamp_millis())
}

fn time(row: &AnyRow, column: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    Ok(row.try_get::<Option<i64>, _>(column)?.map(from_millis))
}

fn order_from_row(row: &AnyRow) -> Result<Order, StoreError> {
    let status: String = row.try_get("status")?;
    Ok(Order {
        number: row.try_get("number")?,
        customer_ref: row.try_get("customer_ref")?,
        status: OrderStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("order status {status:?}")))?,
        total_cents: row.try_get("total_cents")?,
        carrier: row.try_get("carrier")?,
        last_scan: row.try_get("last_scan")?,
        last_scan_at: time(row, "last_scan_at")?,
        promised_by: time(row, "promised_by")?,
        estimated_by: time(row, "estimated_by")?,
        delivered_at: time(row, "delivered_at")?,
        delivery_photo: row.try_get("delivery_photo")?,
        return_window_days: u32::try_from(row.try_get::<i64, _>("return_window_days")?)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        refunded_at: time(row, "refunded_at")?,
    })
}

impl Store {
    pub async fn upsert_order(&self, o: &Order) -> Result<(), StoreError> {
        sqlx::query(UPSERT_ORDER)
            .bind(&o.number)
            .bind(&o.customer_ref)
            .bind(o.status.as_str())
            .bind(o.total_cents)
            .bind(&o.carrier)
            .bind(&o.last_scan)
            .bind(millis(o.last_scan_at))
            .bind(millis(o.promised_by))
            .bind(millis(o.estimated_by))
            .bind(millis(o.delivered_at))
            .bind(&o.delivery_photo)
            .bind(i64::from(o.return_window_days))
            .bind(millis(o.refunded_at))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn upsert_subscription(&self, s: &Subscription) -> Result<(), StoreError> {
        sqlx::query(UPSERT_SUBSCRIPTION)
            .bind(&s.id)
            .bind(&s.customer_ref)
            .bind(&s.name)
            .bind(millis(s.cancelled_at))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn upsert_charge(&self, c: &Charge) -> Result<(), StoreError> {
        sqlx::query(UPSERT_CHARGE)
            .bind(&c.id)
            .bind(&c.subscription_id)
            .bind(c.amount_cents)
            .bind(c.charged_at.timestamp_millis())
            .bind(millis(c.refunded_at))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn order(&self, number: &str) -> Result<Option<Order>, StoreError> {
        let row = sqlx::query(SELECT_ORDER)
            .bind(number)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(order_from_row).transpose()
    }

    pub async fn billing(&self, customer_ref: &str) -> Result<Billing, StoreError> {
        let subscriptions = sqlx::query(SELECT_SUBSCRIPTIONS)
            .bind(customer_ref)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(Subscription {
                    id: r.try_get("id")?,
                    customer_ref: r.try_get("customer_ref")?,
                    name: r.try_get("name")?,
                    cancelled_at: time(r, "cancelled_at")?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        let charges = sqlx::query(SELECT_CHARGES)
            .bind(customer_ref)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(Charge {
                    id: r.try_get("id")?,
                    subscription_id: r.try_get("subscription_id")?,
                    amount_cents: r.try_get("amount_cents")?,
                    charged_at: from_millis(r.try_get("charged_at")?),
                    refunded_at: time(r, "refunded_at")?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Billing {
            subscriptions,
            charges,
        })
    }

    pub async fn refund_order(
        &self,
        number: &str,
        key: &str,
        at: DateTime<Utc>,
    ) -> Result<OrderWrite, StoreError> {
        let update = sqlx::query(REFUND_ORDER)
            .bind(number)
            .bind(at.timestamp_millis());
        let target = ("refund_order", number, ORDER_EXISTS);
        self.keyed_write(key, target, update, at).await
    }

    pub async fn refund_charge(
        &self,
        charge_id: &str,
        key: &str,
        at: DateTime<Utc>,
    ) -> Result<OrderWrite, StoreError> {
        let update = sqlx::query(REFUND_CHARGE)
            .bind(charge_id)
            .bind(at.timestamp_millis());
        let target = ("refund_charge", charge_id, CHARGE_EXISTS);
        self.keyed_write(key, target, update, at).await
    }

    pub async fn change_address(
        &self,
        number: &str,
        address: &str,
        key: &str,
        at: DateTime<Utc>,
    ) -> Result<OrderWrite, StoreError> {
        let update = sqlx::query(CHANGE_ADDRESS).bind(number).bind(address);
        let target = ("change_address", number, ORDER_EXISTS);
        self.keyed_write(key, target, update, at).await
    }

    /// Applies `update` once per idempotency key: the key and the change commit together, and a
    /// change that does not apply releases its key for a later, valid attempt.
    async fn keyed_write<'q>(
        &self,
        key: &str,
        (kind, target, exists): (&str, &str, &str),
        update: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
        at: DateTime<Utc>,
    ) -> Result<OrderWrite, StoreError> {
        let mut tx = self.pool.begin().await?;
        let claimed: Option<String> = sqlx::query_scalar(CLAIM_KEY)
            .bind(key)
            .bind(kind)
            .bind(target)
            .bind(at.timestamp_millis())
            .fetch_optional(&mut *tx)
            .await?;
        if claimed.is_none() {
            return Ok(OrderWrite::Repeated);
        }
        let changed = update.execute(&mut *tx).await?.rows_affected();
        self.finish_write(tx, changed, exists, target).await
    }

    async fn finish_write(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Any>,
        changed: u64,
        exists: &str,
        target: &str,
    ) -> Result<OrderWrite, StoreError> {
        if changed == 1 {
            tx.commit().await?;
            return Ok(OrderWrite::Applied);
        }
        let found: i64 = sqlx::query_scalar(exists)
            .bind(target)
            .fetch_one(&mut *tx)
            .await?;
        // Nothing changed, so the key is released (rolled back) for a later, valid attempt.
        drop(tx);
        Ok(if found == 0 {
            OrderWrite::NotFound
        } else {
            OrderWrite::Refused
        })
    }
}
