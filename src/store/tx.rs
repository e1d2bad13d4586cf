//! One unit of work: the writes a service makes for one state change, committed together with
//! the audit events that record them.

use chrono::{DateTime, Utc};
use sqlx::{Any, Row, Transaction};

use super::{from_millis, postgres, queries, sqlite, Backend, StoreError};
use crate::domain::audit::AuditEvent;
use crate::domain::sla::BreachKind;
use crate::domain::staff::StaffMember;
use crate::domain::{CaseState, NewAuditEvent, Origin, Outgoing, Phone, Priority};

/// A write transaction. Dropping it without [`Tx::commit`] rolls everything back.
pub struct Tx {
    pub(super) inner: Transaction<'static, Any>,
    pub(super) backend: Backend,
    /// This process's writer turn on SQLite, held until commit or rollback. Declared after
    /// `inner` so the transaction ends first.
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

/// A case to open.
#[derive(Debug, Clone)]
pub struct NewCase {
    pub customer_id: i64,
    pub priority: Priority,
    pub origin: Origin,
    pub at: DateTime<Utc>,
}

/// A message to store, text already prepared.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub case_id: i64,
    pub customer_id: i64,
    pub platform: &'a str,
    pub platform_message_id: &'a str,
    pub channel_kind: &'a str,
    pub channel_id: &'a str,
    pub author_kind: &'a str,
    pub body: &'a str,
    pub body_sha256: &'a str,
    pub sent_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
}

/// A case as routing sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseRouting {
    pub state: CaseState,
    pub human_requests: u32,
    pub order_number: Option<String>,
    /// The order system's id for the customer, when linked.
    pub customer_ref: Option<String>,
    pub priority: Priority,
    /// The self-service flow that answered last, when it expects a follow-up.
    pub flow: Option<String>,
    pub customer_id: i64,
    /// The customer's platform user id, where their DMs go.
    pub customer_user: String,
}

/// What routing writes back to a case.
#[derive(Debug, Clone)]
pub struct RoutingUpdate<'a> {
    pub intent: &'a str,
    pub priority: Priority,
    pub order_number: Option<&'a str>,
    pub human_requests: u32,
    pub flow: Option<&'a str>,
    pub waiting_until: Option<DateTime<Utc>>,
    pub stuck_reason: Option<&'a str>,
    pub escalation_reason: Option<&'a str>,
    pub at: DateTime<Utc>,
    /// The linked order's value, when routing looked it up.
    pub order_value_cents: Option<i64>,
    /// How the latest message read: sentiment from -1 to 1, and whether it was frustrated.
    pub sentiment: f64,
    pub frustrated: bool,
}

impl Tx {
    pub(super) fn new(
        inner: Transaction<'static, Any>,
        backend: Backend,
        turn: Option<tokio::sync::OwnedMutexGuard<()>>,
    ) -> Tx {
        Tx {
            inner,
            backend,
            _turn: turn,
        }
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        Ok(self.inner.commit().await?)
    }

    /// The case a platform message was already stored under, if it was.
    pub async fn case_of_message(
        &mut self,
        platform: &str,
        message_id: &str,
    ) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(queries::SELECT_MESSAGE_CASE)
            .bind(platform)
            .bind(message_id)
            .fetch_optional(&mut *self.inner)
            .await?)
    }

    /// Creates the customer or refreshes their display name; returns `(id, blocked)`.
    ///
    /// On PostgreSQL the upsert also locks the customer's row until commit, which queues
    /// concurrent messages from one customer behind each other, across processes.
    pub async fn upsert_customer(
        &mut self,
        platform: &str,
        user_id: &str,
        display_name: &str,
        at: DateTime<Utc>,
    ) -> Result<(i64, bool), StoreError> {
        let row = sqlx::query(queries::UPSERT_CUSTOMER)
            .bind(platform)
            .bind(user_id)
            .bind(display_name)
            .bind(at.timestamp_millis())
            .fetch_one(&mut *self.inner)
            .await?;
        Ok((row.try_get(0)?, row.try_get::<i64, _>(1)? != 0))
    }

    pub async fn active_case(&mut self, customer_id: i64) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(queries::SELECT_ACTIVE_CASE)
            .bind(customer_id)
            .fetch_optional(&mut *self.inner)
            .await?)
    }

    /// The customer's most recently resolved case and when it was resolved.
    pub async fn last_resolved_case(
        &mut self,
        customer_id: i64,
    ) -> Result<Option<(i64, DateTime<Utc>)>, StoreError> {
        let row = sqlx::query(queries::SELECT_LAST_RESOLVED_CASE)
            .bind(customer_id)
            .fetch_optional(&mut *self.inner)
            .await?;
        row.map(|r| Ok((r.try_get(0)?, from_millis(r.try_get(1)?))))
            .transpose()
    }

    /// Opens a case, or returns `None` when the customer already has an active one (a concurrent
    /// writer got there first; the partial unique index decided).
    pub async fn insert_case(&mut self, case: &NewCase) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(queries::INSERT_CASE)
            .bind(case.customer_id)
            .bind(case.priority.as_str())
            .bind(case.origin.as_str())
            .bind(case.at.timestamp_millis())
            .fetch_optional(&mut *self.inner)
            .await?)
    }

    /// The case's current state and assignee.
    pub async fn case_state(
        &mut self,
        case_id: i64,
    ) -> Result<Option<(CaseState, Option<String>)>, StoreError> {
        let row = sqlx::query(queries::SELECT_CASE_STATE)
            .bind(case_id)
            .fetch_optional(&mut *self.inner)
            .await?;
        row.map(|r| {
            let state: String = r.try_get(0)?;
            let state = state
                .parse()
                .map_err(|e: crate::domain::case::UnknownName| {
                    StoreError::Corrupt(e.to_string())
                })?;
            Ok((state, r.try_get(1)?))
        })
        .transpose()
    }

    /// Moves a case from `from` (held by `from_assignee`) to `to`. Returns false, changing
    /// nothing, when the case is no longer as the caller saw it: the caller lost a race and must
    /// not record the change. This compare-and-set is what makes a claim exclusive.
    pub async fn set_case_state(
        &mut self,
        case_id: i64,
        (from, from_assignee): (CaseState, Option<&str>),
        (to, to_assignee): (CaseState, Option<&str>),
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(queries::UPDATE_CASE_STATE)
            .bind(to.as_str())
            .bind(to_assignee)
            .bind(at.timestamp_millis())
            .bind(case_id)
            .bind(from.as_str())
            .bind(from_assignee)
            .execute(&mut *self.inner)
            .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Sets whichever of priority, escalation reason and resolution summary are given.
    pub async fn update_case_details(
        &mut self,
        case_id: i64,
        priority: Option<Priority>,
        escalation_reason: Option<&str>,
        resolution_summary: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(queries::UPDATE_CASE_DETAILS)
            .bind(case_id)
            .bind(priority.map(Priority::as_str))
            .bind(escalation_reason)
            .bind(resolution_summary)
            .execute(&mut *self.inner)
            .await?;
        Ok(())
    }

    /// The support-team member with this id, if there is one.
    pub async fn staff_member(&mut self, id: &str) -> Result<Option<StaffMember>, StoreError> {
        let row = sqlx::query(queries::SELECT_STAFF_MEMBER)
            .bind(id)
            .fetch_optional(&mut *self.inner)
            .await?;
        row.map(|r| {
            Ok(StaffMember {
                id: r.try_get("id")?,
                role: super::parse_column(&r, "role")?,
            })
        })
        .transpose()
    }

    /// Adds a member to the support team, or changes their role.
    pub async fn upsert_staff_member(
        &mut self,
        member: &StaffMember,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(queries::UPSERT_STAFF_MEMBER)
            .bind(&member.id)
            .bind(member.role.as_str())
            .bind(at.timestamp_millis())
            .execute(&mut *self.inner)
            .await?;
        Ok(())
    }

    /// Takes someone off the support team.
    pub async fn remove_staff_member(&mut self, id: &str) -> Result<(), StoreError> {
        sqlx::query(queries::DELETE_STAFF_MEMBER)
            .bind(id)
            .execute(&mut *self.inner)
            .await?;
        Ok(())
    }

    /// Records an SLA breach and the raised priority. False when it was already recorded.
    pub async fn mark_breach(
        &mut self,
        case_id: i64,
        kind: BreachKind,
        priority: Priority,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let sql = match kind {
            BreachKind::FirstResponse => queries::MARK_FIRST_RESPONSE_BREACH,
            BreachKind::Resolution => queries::MARK_RESOLUTION_BREACH,
        };
        let result = sqlx::query(sql)
            .bind(case_id)
            .bind(at.timestamp_millis())
            .bind(priority.as_str())
            .execute(&mut *self.inner)
            .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Blocks or unblocks the customer of a case; false when there is no such case.
    pub async fn set_customer_blocked(
        &mut self,
        case_id: i64,
        blocked: bool,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(queries::SET_CUSTOMER_BLOCKED)
            .bind(case_id)
            .bind(i64::from(blocked))
            .execute(&mut *self.inner)
            .await?;
        Ok(result.rows_affected() == 1)
    }

    /// The case at the head of the queue, locked for this transaction.
    pub async fn next_in_queue(&mut self) -> Result<Option<i64>, StoreError> {
        let lock = match self.backend {
            Backend::Sqlite => sqlite::SKIP_LOCKED,
            Backend::Postgres => postgres::SKIP_LOCKED,
        };
        let sql = format!("{}{lock}", queries::SELECT_NEXT_IN_QUEUE);
        Ok(sqlx::query_scalar(&sql)
            .fetch_optional(&mut *self.inner)
            .await?)
    }

    /// Records what routing decided on a case.
    pub async fn update_case_routing(
        &mut self,
        case_id: i64,
        u: &RoutingUpdate<'_>,
    ) -> Result<(), StoreError> {
        sqlx::query(queries::UPDATE_CASE_ROUTING)
            .bind(case_id)
            .bind(u.intent)
            .bind(u.priority.as_str())
            .bind(u.order_number)
            .bind(i64::from(u.human_requests))
            .bind(u.flow)
            .bind(u.waiting_until.map(|t| t.timestamp_millis()))
            .bind(u.stuck_reason)
            .bind(u.escalation_reason)
            .bind(u.at.timestamp_millis())
            .bind(u.order_value_cents)
            .bind(u.sentiment)
            .bind(i64::from(u.frustrated))
            .execute(&mut *self.inner)
            .await?;
        Ok(())
    }

    /// Stores a message; returns `None` when its platform id is already stored.
    pub async fn insert_message(&mut self, m: &NewMessage<'_>) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(queries::INSERT_MESSAGE)
            .bind(m.case_id)
            .bind(m.customer_id)
            .bind(m.platform)
            .bind(m.platform_message_id)
            .bind(m.channel_kind)
            .bind(m.channel_id)
            .bind(m.author_kind)
            .bind(m.body)
            .bind(m.body_sha256)
            .bind(m.sent_at.timestamp_millis())
            .bind(m.received_at.timestamp_millis())
            .fetch_optional(&mut *self.inner)
            .await?)
    }

    /// Appends events to the audit chain. Call it last, just before commit: it locks the head of
    /// the chain, and every other writer waits for that lock until this transaction ends.
    pub async fn append_audit(&mut self, events: &[NewAuditEvent]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let lock_head = match self.backend {
            Backend::Sqlite => sqlite::LOCK_AUDIT_HEAD,
            Backend::Postgres => postgres::LOCK_AUDIT_HEAD,
        };
        let head = sqlx::query(lock_head).fetch_one(&mut *self.inner).await?;
        let (mut seq, mut hash): (i64, String) = (head.try_get(0)?, head.try_get(1)?);
        for event in events {
            seq += 1;
            let sealed = AuditEvent::seal(event, seq, &hash);
            sqlx::query(queries::INSERT_AUDIT_EVENT)
                .bind(sealed.seq)
                .bind(sealed.at_ms)
                .bind(&sealed.actor_kind)
                .bind(&sealed.actor_id)
                .bind(&sealed.action)
                .bind(sealed.case_id)
                .bind(&sealed.details)
                .bind(&sealed.prev_hash)
                .bind(&sealed.hash)
                .execute(&mut *self.inner)
                .await?;
            hash = sealed.hash;
        }
        sqlx::query(queries::UPDATE_AUDIT_HEAD)
            .bind(seq)
            .bind(&hash)
            .execute(&mut *self.inner)
            .await?;
        Ok(())
    }

    /// The case's customer: `(customer id, platform, platform user id)`; the last is where
    /// their DMs go.
    pub async fn case_customer(
        &mut self,
        case_id: i64,
    ) -> Result<Option<(i64, String, String)>, StoreError> {
        let row = sqlx::query(queries::SELECT_CASE_CUSTOMER)
            .bind(case_id)
            .fetch_optional(&mut *self.inner)
            .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .transpose()
    }

    pub async fn case_priority(&mut self, case_id: i64) -> Result<Priority, StoreError> {
        let priority: String = sqlx::query_scalar(queries::SELECT_CASE_PRIORITY)
            .bind(case_id)
            .fetch_one(&mut *self.inner)
            .await?;
        priority
            .parse()
            .map_err(|e: crate::domain::case::UnknownName| StoreError::Corrupt(e.to_string()))
    }

    /// Queues messages for delivery; they are sent only if this transaction commits.
    pub async fn enqueue(
        &mut self,
        messages: &[Outgoing],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        for m in messages {
            let (destination, target, reply_to) = m.destination.to_columns();
            sqlx::query(queries::INSERT_OUTBOX)
                .bind(m.case_id)
                .bind(m.kind.as_str())
                .bind(destination)
                .bind(target)
                .bind(reply_to)
                .bind(&m.body)
                .bind(at.timestamp_millis())
                .execute(&mut *self.inner)
                .await?;
        }
        Ok(())
    }

    pub async fn insert_note(
        &mut self,
        case_id: i64,
        author: &str,
        body: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(queries::INSERT_NOTE)
            .bind(case_id)
            .bind(author)
            .bind(body)
            .bind(at.timestamp_millis())
            .execute(&mut *self.inner)
            .await?;
        Ok(())
    }

    pub async fn insert_callback(
        &mut self,
        case_id: i64,
        phone: &Phone,
        at: DateTime<Utc>,
        due: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(queries::INSERT_CALLBACK)
            .bind(case_id)
            .bind(phone.expose())
            .bind(at.timestamp_millis())
            .bind(due.timestamp_millis())
            .execute(&mut *self.inner)
            .await?;
        Ok(())
    }

    /// The callback still to make on this case, if any.
    pub async fn open_callback(&mut self, case_id: i64) -> Result<Option<Callback>, StoreError> {
        let row = sqlx::query(queries::SELECT_OPEN_CALLBACK)
            .bind(case_id)
            .fetch_optional(&mut *self.inner)
            .await?;
        row.map(|r| {
            let phone: String = r.try_get("phone")?;
            Ok(Callback {
                id: r.try_get("id")?,
                phone: Phone::parse(&phone).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                requested_at: from_millis(r.try_get("requested_at")?),
                due_at: from_millis(r.try_get("due_at")?),
            })
        })
        .transpose()
    }

    /// Records a missed callback deadline; false when it was already recorded.
    pub async fn mark_callback_breach(
        &mut self,
        callback_id: i64,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(queries::MARK_CALLBACK_BREACH)
            .bind(callback_id)
            .bind(at.timestamp_millis())
            .execute(&mut *self.inner)
            .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Marks the case's callbacks as done (the case was resolved).
    pub async fn finish_callbacks(
        &mut self,
        case_id: i64,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(queries::FINISH_CALLBACKS)
            .bind(case_id)
            .bind(at.timestamp_millis())
            .execute(&mut *self.inner)
            .await?;
        Ok(())
    }

    /// Leases up to `limit` due outbox entries until `lease_until`.
    pub async fn lease_due_outbox(
        &mut self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let lock = match self.backend {
            Backend::Sqlite => sqlite::SKIP_LOCKED,
            Backend::Postgres => postgres::SKIP_LOCKED,
        };
        let sql = format!(
            "{}{lock}{}",
            queries::LEASE_DUE_OUTBOX_HEAD,
            queries::LEASE_DUE_OUTBOX_TAIL
        );
        let rows = sqlx::query(&sql)
            .bind(now.timestamp_millis())
            .bind(lease_until.timestamp_millis())
            .bind(limit)
            .fetch_all(&mut *self.inner)
            .await?;
        let mut entries = rows
            .iter()
            .map(OutboxEntry::from_row)
            .collect::<Result<Vec<_>, _>>()?;
        entries.sort_by_key(|e| e.id);
        Ok(entries)
    }

    /// Records where the case's card and staff thread are on the platform.
    pub async fn set_case_card(
        &mut self,
        case_id: i64,
        card_message_id: Option<&str>,
        thread_id: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(queries::SET_CASE_CARD)
            .bind(case_id)
            .bind(card_message_id)
            .bind(thread_id)
            .execute(&mut *self.inner)
            .await?;
        Ok(())
    }

    /// Records that routing has finished with a stored message.
    pub async fn mark_message_routed(
        &mut self,
        platform: &str,
        message_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(queries::MARK_MESSAGE_ROUTED)
            .bind(platform)
            .bind(message_id)
            .bind(at.timestamp_millis())
            .execute(&mut *self.inner)
            .await?;
        Ok(())
    }

    pub async fn set_rating(&mut self, case_id: i64, rating: i64) -> Result<(), StoreError> {
        sqlx::query(queries::SET_RATING)
            .bind(case_id)
            .bind(rating)
            .execute(&mut *self.inner)
            .await?;
        Ok(())
    }
}

/// A requested callback, with the number in full: show it only to the case's claimer.
#[derive(Debug, Clone, PartialEq)]
pub struct Callback {
    pub id: i64,
    pub phone: Phone,
    pub requested_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
}

/// A queued message as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEntry {
    pub id: i64,
    pub case_id: Option<i64>,
    pub kind: crate::domain::OutboxKind,
    pub destination: crate::domain::Destination,
    pub body: String,
    /// Delivery attempts so far, this one included.
    pub attempts: i64,
}

impl OutboxEntry {
    pub(super) fn from_row(row: &sqlx::any::AnyRow) -> Result<OutboxEntry, StoreError> {
        let destination: String = row.try_get("destination")?;
        let destination = crate::domain::Destination::from_columns(
            &destination,
            row.try_get("target")?,
            row.try_get("reply_to")?,
        )
        .ok_or_else(|| StoreError::Corrupt(format!("outbox destination {destination:?}")))?;
        Ok(OutboxEntry {
            id: row.try_get("id")?,
            case_id: row.try_get("case_id")?,
            kind: super::parse_column(row, "kind")?,
            destination,
            body: row.try_get("body")?,
            attempts: row.try_get("attempts")?,
        })
    }
}
