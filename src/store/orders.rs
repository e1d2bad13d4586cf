//! The built-in order system's tables: orders, subscriptions and charges, for shops without an
//! order API of their own (and for the demo and tests), with idempotent writes: each write
//! carries a key, and a key seen before changes nothing.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::rows::Time;
use super::{in_transaction, on_db, Store, StoreError};
use crate::domain::orders::{
    Billing, Charge, Order, OrderStatus, OrderWrite, OrderWriteOutcome, Subscription,
};

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

const SELECT_SUBSCRIPTIONS: &str = "\
    SELECT id, customer_ref, name, cancelled_at FROM subscriptions \
    WHERE customer_ref = $1 ORDER BY id";

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
/// An address can change only before the order ships.
const CHANGE_ADDRESS: &str =
    "UPDATE orders SET shipping_address = $2 WHERE number = $1 AND status = 'placed'";
const ORDER_EXISTS: &str = "SELECT COUNT(*) FROM orders WHERE number = $1";
const CHARGE_EXISTS: &str = "SELECT COUNT(*) FROM charges WHERE id = $1";

#[derive(FromRow)]
struct OrderRow {
    number: String,
    customer_ref: String,
    status: String,
    total_cents: i64,
    carrier: Option<String>,
    last_scan: Option<String>,
    last_scan_at: Option<Time>,
    promised_by: Option<Time>,
    estimated_by: Option<Time>,
    delivered_at: Option<Time>,
    delivery_photo: Option<String>,
    return_window_days: i64,
    refunded_at: Option<Time>,
}

impl TryFrom<OrderRow> for Order {
    type Error = StoreError;

    fn try_from(r: OrderRow) -> Result<Order, StoreError> {
        Ok(Order {
            status: OrderStatus::parse(&r.status)
                .ok_or_else(|| StoreError::Corrupt(format!("order status {:?}", r.status)))?,
            number: r.number,
            customer_ref: r.customer_ref,
            total_cents: r.total_cents,
            carrier: r.carrier,
            last_scan: r.last_scan,
            last_scan_at: r.last_scan_at.map(|t| t.0),
            promised_by: r.promised_by.map(|t| t.0),
            estimated_by: r.estimated_by.map(|t| t.0),
            delivered_at: r.delivered_at.map(|t| t.0),
            delivery_photo: r.delivery_photo,
            return_window_days: u32::try_from(r.return_window_days)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            refunded_at: r.refunded_at.map(|t| t.0),
        })
    }
}

fn time(t: Option<DateTime<Utc>>) -> Option<Time> {
    t.map(Time)
}

impl Store {
    pub async fn order(&self, number: &str) -> Result<Option<Order>, StoreError> {
        let row: Option<OrderRow> = on_db!(self, pool => sqlx::query_as(SELECT_ORDER).bind(number).fetch_optional(pool).await)?;
        row.map(Order::try_from).transpose()
    }

    pub async fn billing(&self, customer_ref: &str) -> Result<Billing, StoreError> {
        let subscriptions: Vec<(String, String, String, Option<Time>)> = on_db!(self, pool =>
            sqlx::query_as(SELECT_SUBSCRIPTIONS).bind(customer_ref).fetch_all(pool).await)?;
        let charges: Vec<(String, String, i64, Time, Option<Time>)> = on_db!(self, pool =>
            sqlx::query_as(SELECT_CHARGES).bind(customer_ref).fetch_all(pool).await)?;
        Ok(Billing {
            subscriptions: subscriptions
                .into_iter()
                .map(|(id, customer_ref, name, cancelled_at)| Subscription {
                    id,
                    customer_ref,
                    name,
                    cancelled_at: cancelled_at.map(|t| t.0),
                })
                .collect(),
            charges: charges
                .into_iter()
                .map(
                    |(id, subscription_id, amount_cents, charged_at, refunded_at)| Charge {
                        id,
                        subscription_id,
                        amount_cents,
                        charged_at: charged_at.0,
                        refunded_at: refunded_at.map(|t| t.0),
                    },
                )
                .collect(),
        })
    }

    /// Adds or replaces an order, as `casebot orders import` does.
    pub async fn import_order(&self, o: &Order) -> Result<(), StoreError> {
        in_transaction!(self, tx => {
            sqlx::query(UPSERT_ORDER)
                .bind(&o.number)
                .bind(&o.customer_ref)
                .bind(o.status.as_str())
                .bind(o.total_cents)
                .bind(&o.carrier)
                .bind(&o.last_scan)
                .bind(time(o.last_scan_at))
                .bind(time(o.promised_by))
                .bind(time(o.estimated_by))
                .bind(time(o.delivered_at))
                .bind(&o.delivery_photo)
                .bind(i64::from(o.return_window_days))
                .bind(time(o.refunded_at))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Adds or replaces subscriptions and their charges.
    pub async fn import_billing(&self, billing: &Billing) -> Result<(), StoreError> {
        in_transaction!(self, tx => {
            for s in &billing.subscriptions {
                sqlx::query(UPSERT_SUBSCRIPTION)
                    .bind(&s.id)
                    .bind(&s.customer_ref)
                    .bind(&s.name)
                    .bind(time(s.cancelled_at))
                    .execute(&mut *tx)
                    .await?;
            }
            for c in &billing.charges {
                sqlx::query(UPSERT_CHARGE)
                    .bind(&c.id)
                    .bind(&c.subscription_id)
                    .bind(c.amount_cents)
                    .bind(Time(c.charged_at))
                    .bind(time(c.refunded_at))
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Applies `write` once per idempotency key: the key and the change commit together, and a
    /// write that does not apply releases its key for a later, valid attempt.
    pub async fn write_order(
        &self,
        write: &OrderWrite,
        key: &str,
        at: DateTime<Utc>,
    ) -> Result<OrderWriteOutcome, StoreError> {
        let (kind, target, update, exists) = match write {
            OrderWrite::RefundCharge { charge_id } => {
                ("refund_charge", charge_id, REFUND_CHARGE, CHARGE_EXISTS)
            }
            OrderWrite::RefundOrder { number } => {
                ("refund_order", number, REFUND_ORDER, ORDER_EXISTS)
            }
            OrderWrite::ChangeAddress { number, .. } => {
                ("change_address", number, CHANGE_ADDRESS, ORDER_EXISTS)
            }
        };
        in_transaction!(self, tx => {
            let claimed: Option<String> = sqlx::query_scalar(CLAIM_KEY)
                .bind(key)
                .bind(kind)
                .bind(target)
                .bind(Time(at))
                .fetch_optional(&mut *tx)
                .await?;
            if claimed.is_none() {
                return Ok(OrderWriteOutcome::Repeated);
            }
            let query = sqlx::query(update).bind(target);
            let query = match write {
                OrderWrite::ChangeAddress { address, .. } => query.bind(address.clone()),
                _ => query.bind(Time(at)),
            };
            if query.execute(&mut *tx).await?.rows_affected() == 1 {
                tx.commit().await?;
                return Ok(OrderWriteOutcome::Applied);
            }
            let found: i64 = sqlx::query_scalar(exists).bind(target).fetch_one(&mut *tx).await?;
            // Nothing changed: dropping the transaction releases the key.
            Ok(if found == 0 {
                OrderWriteOutcome::NotFound
            } else {
                OrderWriteOutcome::Refused
            })
        })
    }
}
