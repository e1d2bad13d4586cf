//! Read models: what the store hands back when services, adapters and tools read. They are plain
//! data shaped for their readers (a card, the queue, a transcript), built by each storage adapter
//! from its own rows.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::case::{Case, CaseState, Priority};
use super::change::MessageAuthor;
use super::correction::StoredCorrection;
use super::ids::{CaseId, CustomerId, OutboxId, StaffId, UserId};
use super::message::ChannelKind;
use super::outbox::{Destination, OutboxKind};
use super::phone::Phone;

/// A customer as cases and cards show them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Customer {
    pub id: CustomerId,
    pub platform: String,
    pub user_id: UserId,
    pub display_name: String,
    /// Their id in the shop's order system, once linked.
    pub external_id: Option<String>,
    pub blocked: bool,
    pub created_at: DateTime<Utc>,
}

/// Where a case shows on the chat platform. These are projections of the case: when one is
/// deleted there, casebot posts it again from the case.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Projection {
    pub card_message_id: Option<String>,
    pub thread_id: Option<String>,
    /// The customer's DMs were closed at the last attempt to write to them.
    pub dm_closed: bool,
    /// Who casebot has added to the case's thread.
    pub thread_members: Vec<StaffId>,
    /// When an answer (in public or by DM) last reached the customer.
    pub last_answer_at: Option<DateTime<Utc>>,
}

/// A case with its customer and its projection: what a card or `case show` needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseView {
    pub case: Case,
    pub customer: Customer,
    pub projection: Projection,
    /// What staff corrected about routing on this case, oldest first.
    pub corrections: Vec<StoredCorrection>,
}

/// One case in the staff queue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueEntry {
    pub case_id: CaseId,
    pub priority: Priority,
    pub state: CaseState,
    pub waiting_since: Option<DateTime<Utc>>,
    pub claimed_by: Option<StaffId>,
    pub reasons: Vec<String>,
    pub intent: Option<String>,
    pub tags: Vec<String>,
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredMessage {
    pub id: i64,
    pub case_id: CaseId,
    pub platform_message_id: String,
    pub channel_kind: ChannelKind,
    pub channel_id: String,
    #[serde(serialize_with = "author_kind")]
    pub author: MessageAuthor,
    pub body: String,
    pub sent_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
}

fn author_kind<S: serde::Serializer>(author: &MessageAuthor, s: S) -> Result<S::Ok, S::Error> {
    match author {
        MessageAuthor::Customer => s.serialize_str("customer"),
        MessageAuthor::Staff(id) => s.serialize_str(&format!("staff:{id}")),
    }
}

/// An internal note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    pub author: StaffId,
    pub body: String,
    pub at: DateTime<Utc>,
}

/// A callback request, with the number in full: show it only to the case's claimer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    pub id: i64,
    pub case_id: CaseId,
    pub phone: Phone,
    pub requested_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
    pub overdue_at: Option<DateTime<Utc>>,
}

/// Where an outbox entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Pending,
    Sent,
    Failed,
}

impl Delivery {
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Pending => "pending",
            Delivery::Sent => "sent",
            Delivery::Failed => "failed",
        }
    }
}

super::case::parse_by_name!(
    Delivery,
    "delivery state",
    [Delivery::Pending, Delivery::Sent, Delivery::Failed]
);

/// A queued message as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEntry {
    pub id: OutboxId,
    pub case_id: Option<CaseId>,
    pub kind: OutboxKind,
    pub destination: Destination,
    pub body: String,
    /// Delivery attempts so far, this one included.
    pub attempts: i64,
    pub state: Delivery,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// What intake needs to know about a message's author before deciding where the message goes,
/// read in one go outside any write.
#[derive(Debug, Clone, PartialEq)]
pub struct IntakeSnapshot {
    /// `None` for someone casebot has never heard from.
    pub customer: Option<Customer>,
    /// The customer's active case.
    pub active: Option<Case>,
    /// Their most recently resolved case, when there is no active one.
    pub last_resolved: Option<Case>,
    /// The case the message is stored on already, when this is a replay.
    pub stored_in: Option<CaseId>,
}

/// The figures `/metrics` reports from the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMetrics {
    pub customer_messages: i64,
    pub waiting_by_priority: Vec<(Priority, i64)>,
    pub sla_breaches: i64,
    pub outbox_backlog: i64,
    /// Staff corrections of routing's intent, and of hand-overs that needed no person.
    pub intent_corrections: i64,
    pub no_person_corrections: i64,
}

/// How many rows of each kind there are, for tests, the demo and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub customers: i64,
    pub cases: i64,
    pub messages: i64,
    pub audit_events: i64,
}

/// For one customer whose DMs casebot reads: where to resume reading after a restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmCursor {
    pub case_id: CaseId,
    pub user_id: UserId,
    pub channel_id: String,
    /// The platform id of the latest DM casebot stored from them.
    pub last_message_id: String,
}
