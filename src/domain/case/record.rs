//! The case aggregate: everything casebot keeps about one case, and the pure changes to it. A
//! service reads a case, changes a copy here, and hands the store both the copy and the version it
//! read; the store writes the copy only if nobody changed the case in between.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::state::{CaseState, Origin, Priority};
use super::transition::{transition, CaseAction, TransitionError};
use crate::domain::audit::Action;
use crate::domain::flows::Flow;
use crate::domain::ids::{CaseId, CustomerId, StaffId};
use crate::domain::intent::Intent;

/// One case, as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Case {
    pub id: CaseId,
    pub customer_id: CustomerId,
    /// Bumped by every change; the store writes a change only over the version it was based on.
    pub version: i64,
    pub state: CaseState,
    pub assignee: Option<StaffId>,
    pub priority: Priority,
    pub origin: Origin,
    /// What routing (or a staff correction) says the customer needs.
    pub intent: Option<Intent>,
    /// Staff corrected the intent: routing leaves it as they set it from then on.
    pub intent_corrected: bool,
    pub order_number: Option<String>,
    pub order_value_cents: Option<i64>,
    /// Why the case went to people, in the order the reasons arose.
    pub escalation_reasons: Vec<String>,
    pub resolution_summary: Option<String>,
    /// The self-service flow that answered last, while it expects a follow-up.
    pub flow: Option<Flow>,
    /// How often the customer asked for a person on this case.
    pub human_requests: u32,
    /// Messages the customer wrote on this case.
    pub customer_messages: u32,
    /// A self-service waiting window (a parcel that may still turn up) ends then.
    pub waiting_until: Option<DateTime<Utc>>,
    pub stuck_reason: Option<String>,
    /// How the latest customer message read: sentiment from -1 to 1, and whether it was frustrated.
    pub sentiment: Option<f64>,
    pub frustrated: bool,
    pub rating: Option<u8>,
    /// Labels staff put on the case; routing rules may test them.
    pub tags: Vec<String>,
    /// Staff are waiting for the customer's answer since then.
    pub waiting_on_customer_since: Option<DateTime<Utc>>,
    /// When the customer (while waiting) or the assignee (while unanswered) was last reminded.
    pub reminded_at: Option<DateTime<Utc>>,
    /// When staff last answered the customer.
    pub staff_answered_at: Option<DateTime<Utc>>,
    /// This case was merged into that one and closed.
    pub merged_into: Option<CaseId>,
    /// When the customer last mentioned the bot in public on this case.
    pub last_mention_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the case last joined the queue; a released case keeps it, and so its place.
    pub escalated_at: Option<DateTime<Utc>>,
    pub claimed_at: Option<DateTime<Utc>>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub first_response_breached_at: Option<DateTime<Utc>>,
    pub resolution_breached_at: Option<DateTime<Utc>>,
}

impl Case {
    /// A new case for `customer`, opened at `at` by a message from `origin`. The store gives it
    /// its number ([`CaseId::NEW`] until then).
    pub fn open(customer_id: CustomerId, origin: Origin, at: DateTime<Utc>) -> Case {
        Case {
            id: CaseId::NEW,
            customer_id,
            version: 0,
            state: CaseState::Open,
            assignee: None,
            priority: Priority::Normal,
            origin,
            intent: None,
            intent_corrected: false,
            order_number: None,
            order_value_cents: None,
            escalation_reasons: Vec::new(),
            resolution_summary: None,
            flow: None,
            human_requests: 0,
            customer_messages: 0,
            waiting_until: None,
            stuck_reason: None,
            sentiment: None,
            frustrated: false,
            rating: None,
            tags: Vec::new(),
            waiting_on_customer_since: None,
            reminded_at: None,
            staff_answered_at: None,
            merged_into: None,
            last_mention_at: None,
            created_at: at,
            updated_at: at,
            escalated_at: None,
            claimed_at: None,
            first_response_at: None,
            resolved_at: None,
            closed_at: None,
            first_response_breached_at: None,
            resolution_breached_at: None,
        }
    }

    /// The case after `action` at `at`, with the audit action that records it, or why the action
    /// cannot happen in the case's current state.
    pub fn apply(
        &self,
        action: &CaseAction,
        at: DateTime<Utc>,
    ) -> Result<(Case, Action), TransitionError> {
        let next = transition(self.state, self.assignee.as_ref(), action)?;
        let mut case = self.clone();
        case.state = next.state;
        case.assignee = next.assignee;
        case.updated_at = at;
        match action {
            CaseAction::Escalate { priority, reason } => {
                // A case already with people (waiting or claimed) keeps its queue place, so a
                // second reason never sends a customer to the back; otherwise it joins now.
                if self.state == CaseState::Open {
                    case.escalated_at = Some(at);
                }
                // The first hand-over sets the priority asked for (routing has already folded
                // in what earlier messages raised); a case already with people only goes up.
                case.priority = if self.state == CaseState::Open {
                    *priority
                } else {
                    case.priority.max(*priority)
                };
                case.add_reason(reason);
            }
            CaseAction::Claim { .. } => {
                case.claimed_at = Some(at);
                case.first_response_at = case.first_response_at.or(Some(at));
            }
            CaseAction::Transfer { .. } => case.claimed_at = Some(at),
            CaseAction::Release => {}
            CaseAction::Resolve { summary } => {
                case.resolved_at = Some(at);
                case.resolution_summary = Some(summary.clone());
                case.waiting_on_customer_since = None;
            }
            CaseAction::Reopen => case.waiting_on_customer_since = None,
            CaseAction::Close => case.closed_at = Some(at),
        }
        Ok((case, next.audit_action))
    }

    /// Records a reason for handing the case to people, once.
    pub fn add_reason(&mut self, reason: &str) {
        if !reason.is_empty() && !self.escalation_reasons.iter().any(|r| r == reason) {
            self.escalation_reasons.push(reason.to_owned());
        }
    }

    /// The reasons as one line, the way cards and the queue show them.
    pub fn reasons_line(&self) -> String {
        self.escalation_reasons.join("; ")
    }

    /// Whether this staff member holds the case.
    pub fn is_held_by(&self, staff: &StaffId) -> bool {
        self.assignee.as_ref() == Some(staff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap() + chrono::Duration::minutes(minutes)
    }

    fn escalate(priority: Priority, reason: &str) -> CaseAction {
        CaseAction::Escalate {
            priority,
            reason: reason.into(),
        }
    }

    #[test]
    fn a_first_escalation_sets_the_queue_time_the_reason_and_the_priority_asked_for() {
        let case = Case::open(CustomerId(1), Origin::Dm, at(0));
        let (case, action) = case
            .apply(&escalate(Priority::Low, "frustration"), at(5))
            .unwrap();
        assert_eq!(action, Action::CaseEscalated);
        assert_eq!(case.state, CaseState::Escalated);
        assert_eq!(case.escalated_at, Some(at(5)));
        assert_eq!(case.priority, Priority::Low);
        assert_eq!(case.reasons_line(), "frustration");
    }

    #[test]
    fn a_later_escalation_never_lowers_the_priority() {
        let case = Case::open(CustomerId(1), Origin::Dm, at(0));
        let (case, _) = case
            .apply(&escalate(Priority::High, "stuck"), at(1))
            .unwrap();
        let (case, _) = case
            .apply(&escalate(Priority::Normal, "frustration"), at(2))
            .unwrap();
        assert_eq!(case.priority, Priority::High);
        assert_eq!(case.escalated_at, Some(at(1)), "it keeps its place");
    }

    #[test]
    fn a_released_case_keeps_its_place_in_the_queue() {
        let case = Case::open(CustomerId(1), Origin::Dm, at(0));
        let (case, _) = case.apply(&escalate(Priority::Normal, "r"), at(1)).unwrap();
        let claim = CaseAction::Claim {
            staff: "ana".into(),
        };
        let (case, _) = case.apply(&claim, at(2)).unwrap();
        assert_eq!(case.first_response_at, Some(at(2)));
        let (case, _) = case.apply(&CaseAction::Release, at(3)).unwrap();
        assert_eq!(
            (case.state, case.escalated_at),
            (CaseState::Escalated, Some(at(1)))
        );
        let (case, _) = case
            .apply(
                &CaseAction::Claim {
                    staff: "ben".into(),
                },
                at(4),
            )
            .unwrap();
        assert_eq!(
            case.first_response_at,
            Some(at(2)),
            "the first response stays the first"
        );
    }

    #[test]
    fn resolving_records_the_summary_and_frees_the_case() {
        let case = Case::open(CustomerId(1), Origin::Dm, at(0));
        let resolve = CaseAction::Resolve {
            summary: "refunded".into(),
        };
        let (case, _) = case.apply(&resolve, at(9)).unwrap();
        assert_eq!(case.state, CaseState::Resolved);
        assert_eq!(case.resolved_at, Some(at(9)));
        assert_eq!(case.resolution_summary.as_deref(), Some("refunded"));
        assert_eq!(case.assignee, None);
    }

    #[test]
    fn a_reason_is_recorded_once() {
        let mut case = Case::open(CustomerId(1), Origin::Dm, at(0));
        case.add_reason("stuck");
        case.add_reason("stuck");
        case.add_reason("high value");
        assert_eq!(case.reasons_line(), "stuck; high value");
    }
}
