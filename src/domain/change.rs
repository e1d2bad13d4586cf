//! A unit of work: everything one state change writes, as plain data. Services decide what
//! changes and build a [`Change`]; the store applies it in one transaction (sharing the
//! transaction with other changes under load) or not at all. Audit events and outbox messages
//! are part of the change, so the log and what casebot says can never disagree with the data.
//!
//! Every case a change updates carries the version it was read at: if someone changed the case
//! in between, the whole change is refused as a conflict and the service decides again from what
//! is there now. That compare-and-set is what makes a claim exclusive.

use chrono::{DateTime, Utc};

use super::audit::NewAuditEvent;
use super::case::Case;
use super::correction::NewCorrection;
use super::ids::{CaseId, CustomerId, OutboxId, StaffId, UserId};
use super::message::ChannelKind;
use super::outbox::Outgoing;
use super::phone::Phone;
use super::staff::StaffMember;

/// Who wrote a stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageAuthor {
    Customer,
    Staff(StaffId),
}

impl MessageAuthor {
    pub fn kind(&self) -> &'static str {
        match self {
            MessageAuthor::Customer => "customer",
            MessageAuthor::Staff(_) => "staff",
        }
    }

    pub fn staff_id(&self) -> Option<&StaffId> {
        match self {
            MessageAuthor::Customer => None,
            MessageAuthor::Staff(id) => Some(id),
        }
    }
}

/// A message to store, text already prepared (see [`super::message::prepare_text`]).
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    /// [`CaseId::NEW`] for the case the same change opens.
    pub case_id: CaseId,
    /// [`CustomerId::NEW`] for the customer the same change creates.
    pub customer_id: CustomerId,
    pub platform: String,
    /// The platform's id for the message; a second message with the same id is a duplicate.
    pub platform_message_id: String,
    pub channel_kind: ChannelKind,
    pub channel_id: String,
    pub author: MessageAuthor,
    pub body: String,
    pub body_sha256: String,
    pub sent_at: DateTime<Utc>,
}

/// A customer to create, or whose display name to refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerUpsert {
    pub platform: String,
    pub user_id: UserId,
    pub display_name: String,
}

/// A case update, valid only over the version it was read at.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseUpdate {
    pub expected_version: i64,
    pub case: Case,
}

/// An internal note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNote {
    pub case_id: CaseId,
    pub author: StaffId,
    pub body: String,
}

/// Changes to callback requests.
#[derive(Debug, Clone, PartialEq)]
pub enum CallbackWrite {
    Request {
        case_id: CaseId,
        phone: Phone,
        due_at: DateTime<Utc>,
    },
    /// The case was resolved: its callbacks are done.
    FinishAll { case_id: CaseId },
    /// The callback missed its deadline (reported once).
    Overdue { callback_id: i64 },
}

/// Changes to the support-team directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffWrite {
    Set(StaffMember),
    Remove(StaffId),
}

/// Changes to a customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerWrite {
    Blocked {
        customer_id: CustomerId,
        blocked: bool,
    },
    /// Their id in the shop's order system.
    Linked {
        customer_id: CustomerId,
        external_id: String,
    },
    /// Their personal data and message text removed, leaving tombstones (see the privacy
    /// service): their row, their messages, their cases' order numbers and summaries, notes,
    /// callback numbers, and what was sent to them.
    Erased { customer_id: CustomerId },
}

/// What became of an outbox entry after a delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxUpdate {
    /// Delivered; the platform's id for the message.
    Sent {
        id: OutboxId,
        platform_message_id: String,
    },
    /// Try again at `at`, noting why this attempt failed.
    Retry {
        id: OutboxId,
        at: DateTime<Utc>,
        error: String,
    },
    /// Given up for good, with the reason.
    Failed { id: OutboxId, error: String },
}

/// Where a case shows on the chat platform (see [`super::views::Projection`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectionWrite {
    /// The case's card and thread, as posted (or `None` once known to be gone).
    Card {
        case_id: CaseId,
        card_message_id: Option<String>,
        thread_id: Option<String>,
    },
    DmClosed {
        case_id: CaseId,
        closed: bool,
    },
    ThreadMembers {
        case_id: CaseId,
        members: Vec<StaffId>,
    },
}

/// Everything one state change writes.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub at: DateTime<Utc>,
    pub customer: Option<CustomerUpsert>,
    /// A case to open; events, messages and outbox rows name it [`CaseId::NEW`].
    pub new_case: Option<Case>,
    pub case_updates: Vec<CaseUpdate>,
    pub messages: Vec<NewMessage>,
    pub notes: Vec<NewNote>,
    pub callbacks: Vec<CallbackWrite>,
    pub staff: Vec<StaffWrite>,
    pub customers: Vec<CustomerWrite>,
    pub projections: Vec<ProjectionWrite>,
    /// Staff corrections of routing.
    pub corrections: Vec<NewCorrection>,
    pub outbox: Vec<Outgoing>,
    pub outbox_updates: Vec<OutboxUpdate>,
    pub events: Vec<NewAuditEvent>,
}

impl Change {
    pub fn at(at: DateTime<Utc>) -> Change {
        Change {
            at,
            customer: None,
            new_case: None,
            case_updates: Vec::new(),
            messages: Vec::new(),
            notes: Vec::new(),
            callbacks: Vec::new(),
            staff: Vec::new(),
            customers: Vec::new(),
            projections: Vec::new(),
            corrections: Vec::new(),
            outbox: Vec::new(),
            outbox_updates: Vec::new(),
            events: Vec::new(),
        }
    }

    /// Writes `case` over the version `before` was read at.
    pub fn update(mut self, before: &Case, mut case: Case) -> Change {
        case.updated_at = self.at;
        self.case_updates.push(CaseUpdate {
            expected_version: before.version,
            case,
        });
        self
    }

    pub fn event(mut self, event: NewAuditEvent) -> Change {
        self.events.push(event);
        self
    }

    pub fn send(mut self, message: Outgoing) -> Change {
        self.outbox.push(message);
        self
    }

    pub fn send_all(mut self, messages: impl IntoIterator<Item = Outgoing>) -> Change {
        self.outbox.extend(messages);
        self
    }

    pub fn note(mut self, note: NewNote) -> Change {
        self.notes.push(note);
        self
    }

    pub fn message(mut self, message: NewMessage) -> Change {
        self.messages.push(message);
        self
    }

    pub fn callback(mut self, write: CallbackWrite) -> Change {
        self.callbacks.push(write);
        self
    }

    pub fn staff(mut self, write: StaffWrite) -> Change {
        self.staff.push(write);
        self
    }

    pub fn customer(mut self, write: CustomerWrite) -> Change {
        self.customers.push(write);
        self
    }

    pub fn project(mut self, write: ProjectionWrite) -> Change {
        self.projections.push(write);
        self
    }

    pub fn correct(mut self, correction: NewCorrection) -> Change {
        self.corrections.push(correction);
        self
    }

    pub fn delivered(mut self, update: OutboxUpdate) -> Change {
        self.outbox_updates.push(update);
        self
    }

    /// Whether the change writes nothing at all.
    pub fn is_empty(&self) -> bool {
        self.customer.is_none()
            && self.new_case.is_none()
            && self.case_updates.is_empty()
            && self.messages.is_empty()
            && self.notes.is_empty()
            && self.callbacks.is_empty()
            && self.staff.is_empty()
            && self.customers.is_empty()
            && self.projections.is_empty()
            && self.corrections.is_empty()
            && self.outbox.is_empty()
            && self.outbox_updates.is_empty()
            && self.events.is_empty()
    }
}

/// What came of applying a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Written. `case_id` and `customer_id` are the ones the change created, if it created any.
    Done {
        case_id: Option<CaseId>,
        customer_id: Option<CustomerId>,
    },
    /// Not written: a case changed since it was read, or the customer got another active case.
    /// Read again and decide again.
    Conflict,
    /// Not written: one of its messages is already stored (a replay).
    Duplicate,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::case::Origin;

    #[test]
    fn an_update_carries_the_version_it_was_read_at() {
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let mut before = Case::open(CustomerId(1), Origin::Dm, at);
        before.version = 4;
        let mut after = before.clone();
        after.human_requests = 1;
        let change = Change::at(at).update(&before, after);
        assert_eq!(change.case_updates[0].expected_version, 4);
        assert!(!change.is_empty());
        assert!(Change::at(at).is_empty());
    }
}
