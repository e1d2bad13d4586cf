//! How each part of a change becomes a JSON row for the batch statements: every column of a case,
//! callbacks, projections, outbox updates and sealed audit events, with times in the form the
//! backend reads.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use super::{Rows, ERASURE};
use crate::domain::audit::{AuditEvent, ChainHead};
use crate::domain::change::{
    CallbackWrite, CustomerWrite, OutboxUpdate, ProjectionWrite, StaffWrite,
};
use crate::domain::correction::{Correction, NewCorrection};
use crate::domain::ids::CaseId;
use crate::domain::ids::{CustomerId, NEW_CASE_MARK};
use crate::domain::Case;
use crate::domain::{Intent, Outgoing};

/// How a backend wants times inside JSON rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeFormat {
    /// Epoch milliseconds (SQLite stores them as they are).
    Millis,
    /// RFC 3339 text (PostgreSQL reads it into `timestamptz`).
    Rfc3339,
}

impl TimeFormat {
    pub(crate) fn at(self, t: DateTime<Utc>) -> Value {
        match self {
            TimeFormat::Millis => json!(t.timestamp_millis()),
            TimeFormat::Rfc3339 => json!(t.to_rfc3339_opts(SecondsFormat::Millis, true)),
        }
    }

    pub(crate) fn opt(self, t: Option<DateTime<Utc>>) -> Value {
        t.map_or(Value::Null, |t| self.at(t))
    }
}

/// Every column of a case, as the batch statements read them.
pub(super) fn case_row(case: &Case, time: TimeFormat) -> Value {
    json!({
        "state": case.state.as_str(),
        "assignee": case.assignee.as_ref().map(|s| s.as_str()),
        "priority": case.priority.as_str(),
        "priority_rank": case.priority.rank(),
        "origin": case.origin.as_str(),
        "intent": case.intent.map(|i| i.as_str()),
        "intent_corrected": case.intent_corrected,
        "order_number": case.order_number,
        "order_value_cents": case.order_value_cents,
        "escalation_reason": (!case.escalation_reasons.is_empty()).then(|| case.reasons_line()),
        "resolution_summary": case.resolution_summary,
        "flow": case.flow.map(|f| f.as_str()),
        "human_requests": case.human_requests,
        "customer_messages": case.customer_messages,
        "waiting_until": time.opt(case.waiting_until),
        "stuck_reason": case.stuck_reason,
        "sentiment": case.sentiment,
        "frustrated": case.frustrated,
        "rating": case.rating,
        "tags": case.tags,
        "waiting_on_customer_since": time.opt(case.waiting_on_customer_since),
        "reminded_at": time.opt(case.reminded_at),
        "staff_answered_at": time.opt(case.staff_answered_at),
        "merged_into": case.merged_into.map(CaseId::get),
        "last_mention_at": time.opt(case.last_mention_at),
        "created_at": time.at(case.created_at),
        "updated_at": time.at(case.updated_at),
        "escalated_at": time.opt(case.escalated_at),
        "claimed_at": time.opt(case.claimed_at),
        "first_response_at": time.opt(case.first_response_at),
        "resolved_at": time.opt(case.resolved_at),
        "closed_at": time.opt(case.closed_at),
        "first_response_breached_at": time.opt(case.first_response_breached_at),
        "resolution_breached_at": time.opt(case.resolution_breached_at),
    })
}

pub(super) fn staff_row(write: &StaffWrite, at: &Value) -> (Rows, Value) {
    match write {
        StaffWrite::Set(m) => (
            Rows::StaffSet,
            json!({ "id": m.id.as_str(), "role": m.role.as_str(), "added_at": at }),
        ),
        StaffWrite::Remove(id) => (Rows::StaffRemoved, json!({ "id": id.as_str() })),
    }
}

/// A customer write's rows; an erasure touches every table that holds the customer's data.
pub(super) fn customer_rows(
    write: &CustomerWrite,
    id: impl Fn(CustomerId) -> i64,
    at: &Value,
) -> Vec<(Rows, Value)> {
    match write {
        CustomerWrite::Blocked {
            customer_id,
            blocked,
        } => vec![(
            Rows::CustomersBlocked,
            json!({ "id": id(*customer_id), "blocked": blocked }),
        )],
        CustomerWrite::Linked {
            customer_id,
            external_id,
        } => vec![(
            Rows::CustomersLinked,
            json!({ "id": id(*customer_id), "external_id": external_id }),
        )],
        CustomerWrite::Erased { customer_id } => {
            let row = json!({ "id": id(*customer_id), "at": at });
            ERASURE.iter().map(|&what| (what, row.clone())).collect()
        }
    }
}

pub(super) fn correction_row(
    c: &NewCorrection,
    case: &impl Fn(CaseId) -> i64,
    at: &Value,
) -> Value {
    let (from, to) = match c.correction {
        Correction::Intent { from, to } => (from.map(Intent::as_str), Some(to.as_str())),
        Correction::NoPerson => (None, None),
    };
    json!({ "case_id": case(c.case_id), "kind": c.correction.kind(),
        "from_intent": from, "to_intent": to, "staff_id": c.staff.as_str(),
        "created_at": at })
}

/// An outbox row; a body written before its case had a number gets the number now.
pub(super) fn outbox_row(
    m: &Outgoing,
    case: &impl Fn(CaseId) -> i64,
    new_case: Option<CaseId>,
    at: &Value,
) -> Value {
    let (destination, target, reply_to) = m.destination.to_columns();
    let body = match new_case {
        Some(id) => m.body.replace(NEW_CASE_MARK, &id.to_string()),
        None => m.body.clone(),
    };
    json!({
        "case_id": m.case_id.map(case), "kind": m.kind.as_str(),
        "destination": destination, "target": target, "reply_to": reply_to,
        "body": body, "created_at": at,
    })
}

pub(super) fn callback_row(
    write: &CallbackWrite,
    case: &dyn Fn(CaseId) -> i64,
    at: &Value,
    time: TimeFormat,
) -> (Rows, Value) {
    match write {
        CallbackWrite::Request {
            case_id,
            phone,
            due_at,
        } => (
            Rows::CallbackRequests,
            json!({ "case_id": case(*case_id), "phone": phone.expose(),
                "requested_at": at, "due_at": time.at(*due_at) }),
        ),
        CallbackWrite::FinishAll { case_id } => (
            Rows::CallbacksFinished,
            json!({ "case_id": case(*case_id), "at": at }),
        ),
        CallbackWrite::Overdue { callback_id } => (
            Rows::CallbacksOverdue,
            json!({ "id": callback_id, "at": at }),
        ),
    }
}

pub(super) fn projection_row(
    write: &ProjectionWrite,
    case: &dyn Fn(CaseId) -> i64,
) -> (Rows, Value) {
    match write {
        ProjectionWrite::Card {
            case_id,
            card_message_id,
            thread_id,
        } => (
            Rows::Cards,
            json!({ "case_id": case(*case_id), "card_message_id": card_message_id,
                "thread_id": thread_id }),
        ),
        ProjectionWrite::DmClosed { case_id, closed } => (
            Rows::DmsClosed,
            json!({ "case_id": case(*case_id), "closed": closed }),
        ),
        ProjectionWrite::ThreadMembers { case_id, members } => (
            Rows::ThreadMembers,
            json!({ "case_id": case(*case_id), "members": members }),
        ),
    }
}

pub(super) fn outbox_update_row(
    update: &OutboxUpdate,
    at: &Value,
    time: TimeFormat,
) -> (Rows, Value) {
    match update {
        OutboxUpdate::Sent {
            id,
            platform_message_id,
        } => (
            Rows::OutboxSent,
            json!({ "id": id.get(), "platform_message_id": platform_message_id, "at": at }),
        ),
        OutboxUpdate::Retry {
            id,
            at: next,
            error,
        } => (
            Rows::OutboxRetry,
            json!({ "id": id.get(), "at": time.at(*next), "error": error }),
        ),
        OutboxUpdate::Failed { id, error } => (
            Rows::OutboxFailed,
            json!({ "id": id.get(), "error": error }),
        ),
    }
}

pub(crate) fn event_row(e: &AuditEvent) -> Value {
    json!({
        "chain": e.chain, "seq": e.seq, "at_ms": e.at_ms, "actor_kind": e.actor_kind,
        "actor_id": e.actor_id, "action": e.action, "case_id": e.case_id,
        "details": e.details, "prev_hash": e.prev_hash, "hash": e.hash,
    })
}

pub(crate) fn head_row(h: &ChainHead) -> Value {
    json!({ "chain": h.chain, "seq": h.seq, "hash": h.hash })
}
