//! Which case an incoming customer message belongs to: the customer's active case, their
//! recently resolved case reopened, or a new one.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::json;

use super::record::Case;
use super::state::{CaseState, Origin};
use super::transition::CaseAction;
use crate::domain::audit::{Action, Actor, NewAuditEvent};
use crate::domain::ids::{CaseId, CustomerId};
use crate::domain::views::IntakeSnapshot;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseLink {
    /// The customer has an active case: the message joins it.
    Existing(CaseId),
    /// The customer's last case was resolved within the window: it is reopened.
    Reopen(CaseId),
    /// Nothing to join: a new case is opened.
    New,
}

/// Decides where a customer message goes, given the customer's active case (if any) and their most
/// recently resolved case with its resolution time.
pub fn link_case(
    active: Option<CaseId>,
    last_resolved: Option<(CaseId, DateTime<Utc>)>,
    now: DateTime<Utc>,
    reopen_window: Duration,
) -> CaseLink {
    if let Some(id) = active {
        return CaseLink::Existing(id);
    }
    match last_resolved {
        Some((id, resolved_at)) if now - resolved_at <= reopen_window => CaseLink::Reopen(id),
        _ => CaseLink::New,
    }
}

/// How a message was linked to its case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// The customer had no active case; this message opened one.
    New,
    /// The customer's recently resolved case was reopened.
    Reopened,
    /// The message joined the customer's active case.
    Existing,
    /// This platform message was already taken in; nothing changed.
    Duplicate,
}

/// The case a message goes to, as it will be written, with what linking itself records.
#[derive(Debug, Clone, PartialEq)]
pub struct Linked {
    pub disposition: Disposition,
    /// The case as read, for the compare-and-set; `None` for a case this message opens.
    pub before: Option<Case>,
    /// The case to build on: reopened, or new ([`CaseId::NEW`]), or as it was.
    pub case: Case,
    /// A resolved case past the reopen window, closed for good now: `(as read, closed)`.
    pub closed: Option<(Case, Case)>,
    pub events: Vec<NewAuditEvent>,
}

/// Links a message from `origin` at `now` to its case, given what the store holds about its
/// author. A new customer's id is [`CustomerId::NEW`] until the store has created them.
pub fn link(
    snapshot: &IntakeSnapshot,
    origin: Origin,
    now: DateTime<Utc>,
    window: Duration,
) -> Linked {
    let customer = snapshot.customer.as_ref().map_or(CustomerId::NEW, |c| c.id);
    let actor = Actor::customer(customer);
    let active = snapshot.active.as_ref().map(|c| c.id);
    let resolved = snapshot
        .last_resolved
        .as_ref()
        .and_then(|c| Some((c.id, c.resolved_at?)));
    let mut events = Vec::new();
    let mut closed = None;
    let (disposition, before, case) = match link_case(active, resolved, now, window) {
        CaseLink::Existing(_) => {
            let case = snapshot.active.clone().expect("the active case was read");
            (Disposition::Existing, Some(case.clone()), case)
        }
        CaseLink::Reopen(id) => {
            let before = snapshot
                .last_resolved
                .clone()
                .expect("the resolved case was read");
            let (case, action) = before
                .apply(&CaseAction::Reopen, now)
                .expect("a resolved case can be reopened");
            let by = json!({ "by": "customer message" });
            events.push(
                NewAuditEvent::new(now, actor.clone(), action)
                    .on(id)
                    .with(by),
            );
            (Disposition::Reopened, Some(before), case)
        }
        CaseLink::New => {
            if let Some(stale) = snapshot
                .last_resolved
                .as_ref()
                .filter(|c| c.state == CaseState::Resolved)
            {
                // Past the reopen window: the old case is finished for good.
                if let Ok((done, action)) = stale.apply(&CaseAction::Close, now) {
                    let why = json!({ "reason": "reopen window ended" });
                    events.push(
                        NewAuditEvent::new(now, Actor::system("casebot"), action)
                            .on(stale.id)
                            .with(why),
                    );
                    closed = Some((stale.clone(), done));
                }
            }
            let case = Case::open(customer, origin, now);
            let opened = json!({ "origin": origin.as_str() });
            events.push(
                NewAuditEvent::new(now, actor, Action::CaseOpened)
                    .on(CaseId::NEW)
                    .with(opened),
            );
            (Disposition::New, None, case)
        }
    };
    Linked {
        disposition,
        before,
        case,
        closed,
        events,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hours: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap() + Duration::hours(hours)
    }

    #[test]
    fn a_message_joins_the_active_case_whatever_was_resolved_before() {
        let link = link_case(
            Some(CaseId(7)),
            Some((CaseId(3), at(0))),
            at(1),
            Duration::hours(72),
        );
        assert_eq!(link, CaseLink::Existing(CaseId(7)));
    }

    #[test]
    fn a_message_within_the_window_reopens_the_resolved_case() {
        let link = link_case(None, Some((CaseId(3), at(0))), at(72), Duration::hours(72));
        assert_eq!(link, CaseLink::Reopen(CaseId(3)));
    }

    #[test]
    fn a_message_after_the_window_opens_a_new_case() {
        let link = link_case(None, Some((CaseId(3), at(0))), at(73), Duration::hours(72));
        assert_eq!(link, CaseLink::New);
    }

    #[test]
    fn a_first_message_opens_a_new_case() {
        assert_eq!(
            link_case(None, None, at(0), Duration::hours(72)),
            CaseLink::New
        );
    }
}
