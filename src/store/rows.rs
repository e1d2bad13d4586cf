//! Rows as both adapters read them, and how they become domain values. The few column types the
//! backends store differently (times: epoch milliseconds on SQLite, `timestamptz` on PostgreSQL;
//! lists: JSON text on SQLite, `text[]` on PostgreSQL) decode through [`Time`] and [`List`], so
//! one row type serves both.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

pub use super::columns::{List, Time};

use super::StoreError;
use crate::domain::audit::{AuditEvent, ChainHead};
use crate::domain::change::MessageAuthor;
use crate::domain::ids::{CaseId, CustomerId, OutboxId, StaffId, UserId};
use crate::domain::staff::StaffMember;
use crate::domain::views::{
    Callback, Customer, Delivery, Note, OutboxEntry, Projection, QueueEntry, StoredMessage,
};
use crate::domain::{Case, Destination, Phone};

fn at(t: Option<Time>) -> Option<DateTime<Utc>> {
    t.map(|t| t.0)
}

/// A `cases` row.
#[derive(Debug, FromRow)]
pub(crate) struct CaseRow {
    id: i64,
    customer_id: i64,
    version: i64,
    state: String,
    assignee: Option<String>,
    priority: String,
    origin: String,
    intent: Option<String>,
    intent_corrected: bool,
    order_number: Option<String>,
    order_value_cents: Option<i64>,
    escalation_reason: Option<String>,
    resolution_summary: Option<String>,
    flow: Option<String>,
    human_requests: i64,
    customer_messages: i64,
    waiting_until: Option<Time>,
    stuck_reason: Option<String>,
    sentiment: Option<f64>,
    frustrated: bool,
    rating: Option<i64>,
    tags: List,
    waiting_on_customer_since: Option<Time>,
    reminded_at: Option<Time>,
    staff_answered_at: Option<Time>,
    merged_into: Option<i64>,
    last_mention_at: Option<Time>,
    created_at: Time,
    updated_at: Time,
    escalated_at: Option<Time>,
    claimed_at: Option<Time>,
    first_response_at: Option<Time>,
    resolved_at: Option<Time>,
    closed_at: Option<Time>,
    first_response_breached_at: Option<Time>,
    resolution_breached_at: Option<Time>,
}

impl TryFrom<CaseRow> for Case {
    type Error = StoreError;

    fn try_from(r: CaseRow) -> Result<Case, StoreError> {
        Ok(Case {
            id: CaseId(r.id),
            customer_id: CustomerId(r.customer_id),
            version: r.version,
            state: r.state.parse()?,
            assignee: r.assignee.map(StaffId),
            priority: r.priority.parse()?,
            origin: r.origin.parse()?,
            intent: r.intent.as_deref().map(str::parse).transpose()?,
            intent_corrected: r.intent_corrected,
            order_number: r.order_number,
            order_value_cents: r.order_value_cents,
            escalation_reasons: r
                .escalation_reason
                .map(|r| r.split("; ").map(str::to_owned).collect())
                .unwrap_or_default(),
            resolution_summary: r.resolution_summary,
            flow: r.flow.as_deref().map(str::parse).transpose()?,
            human_requests: u32::try_from(r.human_requests).unwrap_or(0),
            customer_messages: u32::try_from(r.customer_messages).unwrap_or(0),
            waiting_until: at(r.waiting_until),
            stuck_reason: r.stuck_reason,
            sentiment: r.sentiment,
            frustrated: r.frustrated,
            rating: r.rating.and_then(|r| u8::try_from(r).ok()),
            tags: r.tags.0,
            waiting_on_customer_since: at(r.waiting_on_customer_since),
            reminded_at: at(r.reminded_at),
            staff_answered_at: at(r.staff_answered_at),
            merged_into: r.merged_into.map(CaseId),
            last_mention_at: at(r.last_mention_at),
            created_at: r.created_at.0,
            updated_at: r.updated_at.0,
            escalated_at: at(r.escalated_at),
            claimed_at: at(r.claimed_at),
            first_response_at: at(r.first_response_at),
            resolved_at: at(r.resolved_at),
            closed_at: at(r.closed_at),
            first_response_breached_at: at(r.first_response_breached_at),
            resolution_breached_at: at(r.resolution_breached_at),
        })
    }
}

/// A `customers` row.
#[derive(Debug, FromRow)]
pub(crate) struct CustomerRow {
    #[sqlx(rename = "customer_row_id")]
    id: i64,
    platform: String,
    platform_user_id: String,
    display_name: String,
    external_customer_id: Option<String>,
    blocked: bool,
    #[sqlx(rename = "customer_created_at")]
    created_at: Time,
}

impl From<CustomerRow> for Customer {
    fn from(r: CustomerRow) -> Customer {
        Customer {
            id: CustomerId(r.id),
            platform: r.platform,
            user_id: UserId(r.platform_user_id),
            display_name: r.display_name,
            external_id: r.external_customer_id,
            blocked: r.blocked,
            created_at: r.created_at.0,
        }
    }
}

/// A `case_projections` row (every column may be missing: a case without a card yet).
#[derive(Debug, FromRow)]
pub(crate) struct ProjectionRow {
    card_message_id: Option<String>,
    thread_id: Option<String>,
    dm_closed: Option<bool>,
    thread_members: Option<List>,
    last_answer_at: Option<Time>,
}

impl From<ProjectionRow> for Projection {
    fn from(r: ProjectionRow) -> Projection {
        Projection {
            card_message_id: r.card_message_id,
            thread_id: r.thread_id,
            dm_closed: r.dm_closed.unwrap_or(false),
            thread_members: r
                .thread_members
                .map(|m| m.0.into_iter().map(StaffId).collect())
                .unwrap_or_default(),
            last_answer_at: at(r.last_answer_at),
        }
    }
}

/// A row of the queue.
#[derive(Debug, FromRow)]
pub(crate) struct QueueRow {
    id: i64,
    priority: String,
    state: String,
    escalated_at: Option<Time>,
    assignee: Option<String>,
    escalation_reason: Option<String>,
    intent: Option<String>,
    tags: List,
}

impl TryFrom<QueueRow> for QueueEntry {
    type Error = StoreError;

    fn try_from(r: QueueRow) -> Result<QueueEntry, StoreError> {
        Ok(QueueEntry {
            case_id: CaseId(r.id),
            priority: r.priority.parse()?,
            state: r.state.parse()?,
            waiting_since: at(r.escalated_at),
            claimed_by: r.assignee.map(StaffId),
            reasons: r
                .escalation_reason
                .map(|r| r.split("; ").map(str::to_owned).collect())
                .unwrap_or_default(),
            intent: r.intent,
            tags: r.tags.0,
        })
    }
}

/// A `messages` row.
#[derive(Debug, FromRow)]
pub(crate) struct MessageRow {
    id: i64,
    case_id: i64,
    platform_message_id: String,
    channel_kind: String,
    channel_id: String,
    author_kind: String,
    author_id: Option<String>,
    body: String,
    sent_at: Time,
    edited_at: Option<Time>,
    deleted_at: Option<Time>,
}

impl TryFrom<MessageRow> for StoredMessage {
    type Error = StoreError;

    fn try_from(r: MessageRow) -> Result<StoredMessage, StoreError> {
        let author = match (r.author_kind.as_str(), r.author_id) {
            ("customer", _) => MessageAuthor::Customer,
            ("staff", id) => MessageAuthor::Staff(StaffId(id.unwrap_or_default())),
            (other, _) => return Err(StoreError::Corrupt(format!("message author {other:?}"))),
        };
        Ok(StoredMessage {
            id: r.id,
            case_id: CaseId(r.case_id),
            platform_message_id: r.platform_message_id,
            channel_kind: r.channel_kind.parse()?,
            channel_id: r.channel_id,
            author,
            body: r.body,
            sent_at: r.sent_at.0,
            edited_at: at(r.edited_at),
            deleted_at: at(r.deleted_at),
        })
    }
}

/// A `case_notes` row.
#[derive(Debug, FromRow)]
pub(crate) struct NoteRow {
    author: String,
    body: String,
    created_at: Time,
}

impl From<NoteRow> for Note {
    fn from(r: NoteRow) -> Note {
        Note {
            author: StaffId(r.author),
            body: r.body,
            at: r.created_at.0,
        }
    }
}

/// A `callbacks` row.
#[derive(Debug, FromRow)]
pub(crate) struct CallbackRow {
    id: i64,
    case_id: i64,
    phone: String,
    requested_at: Time,
    due_at: Time,
    done_at: Option<Time>,
    breached_at: Option<Time>,
}

impl TryFrom<CallbackRow> for Callback {
    type Error = StoreError;

    fn try_from(r: CallbackRow) -> Result<Callback, StoreError> {
        // An erased number is stored as a tombstone that no longer parses; it stays erased.
        let phone = Phone::parse(&r.phone).unwrap_or_else(|_| Phone::erased());
        Ok(Callback {
            id: r.id,
            case_id: CaseId(r.case_id),
            phone,
            requested_at: r.requested_at.0,
            due_at: r.due_at.0,
            done_at: at(r.done_at),
            overdue_at: at(r.breached_at),
        })
    }
}

/// An `outbox` row.
#[derive(Debug, FromRow)]
pub(crate) struct OutboxRow {
    id: i64,
    case_id: Option<i64>,
    kind: String,
    destination: String,
    target: Option<String>,
    reply_to: Option<String>,
    body: String,
    attempts: i64,
    state: String,
    created_at: Time,
    sent_at: Option<Time>,
}

impl TryFrom<OutboxRow> for OutboxEntry {
    type Error = StoreError;

    fn try_from(r: OutboxRow) -> Result<OutboxEntry, StoreError> {
        let destination = Destination::from_columns(&r.destination, r.target, r.reply_to)
            .ok_or_else(|| {
                StoreError::Corrupt(format!("outbox destination {:?}", r.destination))
            })?;
        Ok(OutboxEntry {
            id: OutboxId(r.id),
            case_id: r.case_id.map(CaseId),
            kind: r.kind.parse()?,
            destination,
            body: r.body,
            attempts: r.attempts,
            state: r.state.parse::<Delivery>()?,
            created_at: r.created_at.0,
            sent_at: at(r.sent_at),
        })
    }
}

/// An `audit_events` row.
#[derive(Debug, FromRow)]
pub(crate) struct AuditRow {
    chain: String,
    seq: i64,
    at_ms: i64,
    actor_kind: String,
    actor_id: String,
    action: String,
    case_id: Option<i64>,
    details: String,
    prev_hash: String,
    hash: String,
}

impl From<AuditRow> for AuditEvent {
    fn from(r: AuditRow) -> AuditEvent {
        AuditEvent {
            chain: r.chain,
            seq: r.seq,
            at_ms: r.at_ms,
            actor_kind: r.actor_kind,
            actor_id: r.actor_id,
            action: r.action,
            case_id: r.case_id,
            details: r.details,
            prev_hash: r.prev_hash,
            hash: r.hash,
        }
    }
}

/// A chain head, as `audit_chains` and `audit_checkpoint_heads` hold them.
#[derive(Debug, FromRow)]
pub(crate) struct HeadRow {
    chain: String,
    seq: i64,
    hash: String,
}

impl From<HeadRow> for ChainHead {
    fn from(r: HeadRow) -> ChainHead {
        ChainHead {
            chain: r.chain,
            seq: r.seq,
            hash: r.hash,
        }
    }
}

/// A `staff_members` row.
#[derive(Debug, FromRow)]
pub(crate) struct StaffRow {
    id: String,
    role: String,
}

impl TryFrom<StaffRow> for StaffMember {
    type Error = StoreError;

    fn try_from(r: StaffRow) -> Result<StaffMember, StoreError> {
        Ok(StaffMember {
            id: StaffId(r.id),
            role: r.role.parse()?,
        })
    }
}

/// Builds a statement once (from the shared column lists) and keeps it for the process.
pub(crate) fn once(
    cell: &'static std::sync::OnceLock<String>,
    build: impl FnOnce() -> String,
) -> &'static str {
    cell.get_or_init(build)
}

/// Converts a list of rows, stopping at the first that does not convert.
pub(crate) fn convert<R, T>(rows: Vec<R>) -> Result<Vec<T>, StoreError>
where
    T: TryFrom<R, Error = StoreError>,
{
    rows.into_iter().map(T::try_from).collect()
}

/// The columns of [`CaseRow`], for a `cases` table aliased `c`.
pub(crate) const CASE_COLUMNS: &str = "c.id, c.customer_id, c.version, c.state, c.assignee, \
    c.priority, c.origin, c.intent, c.intent_corrected, c.order_number, c.order_value_cents, \
    c.escalation_reason, c.resolution_summary, c.flow, c.human_requests, c.customer_messages, c.waiting_until, \
    c.stuck_reason, c.sentiment, c.frustrated, c.rating, c.tags, c.waiting_on_customer_since, \
    c.reminded_at, c.staff_answered_at, c.merged_into, c.last_mention_at, c.created_at, \
    c.updated_at, c.escalated_at, c.claimed_at, c.first_response_at, c.resolved_at, c.closed_at, \
    c.first_response_breached_at, c.resolution_breached_at";

/// The columns of [`CustomerRow`], for a `customers` table aliased `cu`.
pub(crate) const CUSTOMER_COLUMNS: &str = "cu.id AS customer_row_id, cu.platform, \
    cu.platform_user_id, cu.display_name, cu.external_customer_id, cu.blocked, \
    cu.created_at AS customer_created_at";

/// The columns of [`ProjectionRow`], for `case_projections` aliased `p` beside cases `c`. The last
/// answer is read from the outbox: it is whatever reached the customer last.
pub(crate) const PROJECTION_COLUMNS: &str = "p.card_message_id, p.thread_id, p.dm_closed, \
    p.thread_members, (SELECT MAX(o.sent_at) FROM outbox o WHERE o.case_id = c.id \
    AND o.state = 'sent' AND o.destination IN ('customer_dm', 'channel')) AS last_answer_at";

/// A case joined with its customer and projection.
#[derive(Debug, FromRow)]
pub(crate) struct CaseViewRow {
    #[sqlx(flatten)]
    case: CaseRow,
    #[sqlx(flatten)]
    customer: CustomerRow,
    #[sqlx(flatten)]
    projection: ProjectionRow,
}

impl TryFrom<CaseViewRow> for crate::domain::views::CaseView {
    type Error = StoreError;

    fn try_from(r: CaseViewRow) -> Result<Self, StoreError> {
        Ok(crate::domain::views::CaseView {
            case: r.case.try_into()?,
            customer: r.customer.into(),
            projection: r.projection.into(),
            // Read by a statement of their own (see `Store::case_view`).
            corrections: Vec::new(),
        })
    }
}

/// A case beside its projection, for the stuck-case sweeper.
#[derive(Debug, FromRow)]
pub(crate) struct CaseProjectionRow {
    #[sqlx(flatten)]
    case: CaseRow,
    #[sqlx(flatten)]
    projection: ProjectionRow,
}

impl TryFrom<CaseProjectionRow> for (Case, Projection) {
    type Error = StoreError;

    fn try_from(r: CaseProjectionRow) -> Result<Self, StoreError> {
        Ok((r.case.try_into()?, r.projection.into()))
    }
}

/// What intake reads about an author: their customer row, with their active or latest resolved
/// case beside it (both optional).
#[derive(Debug, FromRow)]
pub(crate) struct IntakeRow {
    #[sqlx(flatten)]
    pub customer: CustomerRow,
    pub stored_in: Option<i64>,
}

/// An author's customer row beside one of their cases (active, or latest resolved).
#[derive(Debug, FromRow)]
pub(crate) struct AuthorCaseRow {
    #[sqlx(flatten)]
    pub customer: CustomerRow,
    pub stored_in: Option<i64>,
    #[sqlx(flatten)]
    pub case: CaseRow,
}

/// The columns every case write sets, in the order both adapters' batch statements list them.
pub(crate) const CASE_TARGETS: &str =
    "customer_id, version, state, assignee, priority, priority_rank, \
    origin, intent, intent_corrected, order_number, order_value_cents, escalation_reason, \
    resolution_summary, flow, human_requests, customer_messages, waiting_until, stuck_reason, sentiment, frustrated, \
    rating, tags, waiting_on_customer_since, reminded_at, staff_answered_at, merged_into, \
    last_mention_at, created_at, updated_at, escalated_at, claimed_at, first_response_at, \
    resolved_at, closed_at, first_response_breached_at, resolution_breached_at";
