//! What can happen to a case and whether it may happen now: the pure state machine. Who may do
//! it is decided by [`crate::domain::staff`]; the store applies the result as a compare-and-set,
//! so that of two people acting at once exactly one succeeds.

use super::state::{CaseState, Priority};
use crate::domain::ids::StaffId;
use crate::domain::Action;

/// Something that can happen to a case. Who may do it is decided by the services; whether it can
/// happen in the current state is decided here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseAction {
    /// Hand the case to the human queue.
    Escalate { priority: Priority, reason: String },
    /// A staff member takes the case. Only one can hold it.
    Claim { staff: StaffId },
    /// The assignee puts the case back in the queue.
    Release,
    /// The case moves to another staff member.
    Transfer { to: StaffId },
    /// The problem is solved.
    Resolve { summary: String },
    /// The customer wrote again within the reopen window, or staff reopened it.
    Reopen,
    /// The reopen window has passed.
    Close,
}

impl CaseAction {
    /// The audit action that records this change.
    pub fn audit_action(&self) -> Action {
        match self {
            CaseAction::Escalate { .. } => Action::CaseEscalated,
            CaseAction::Claim { .. } => Action::CaseClaimed,
            CaseAction::Release => Action::CaseReleased,
            CaseAction::Transfer { .. } => Action::CaseTransferred,
            CaseAction::Resolve { .. } => Action::CaseResolved,
            CaseAction::Reopen => Action::CaseReopened,
            CaseAction::Close => Action::CaseClosed,
        }
    }
}

/// The result of a permitted action: the state and assignee to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub state: CaseState,
    pub assignee: Option<StaffId>,
    pub audit_action: Action,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("case is already claimed by {by}")]
    AlreadyClaimed { by: StaffId },
    #[error("a {state} case cannot be {action}")]
    NotAllowed {
        state: CaseState,
        action: &'static str,
    },
}

/// Applies `action` to a case in `state` held by `assignee`.
///
/// Claiming is the one place where two people race; refusing a claim on a claimed case here is
/// what lets the store turn the claim into a compare-and-set on the old state.
pub fn transition(
    state: CaseState,
    assignee: Option<&StaffId>,
    action: &CaseAction,
) -> Result<Transition, TransitionError> {
    use CaseState::*;
    let to = |state: CaseState, assignee: Option<StaffId>| Transition {
        state,
        assignee,
        audit_action: action.audit_action(),
    };
    let refuse = || TransitionError::NotAllowed {
        state,
        action: past_tense(action),
    };
    match (state, action) {
        (Open | Escalated, CaseAction::Escalate { .. }) => Ok(to(Escalated, None)),
        (Claimed, CaseAction::Claim { .. }) => Err(TransitionError::AlreadyClaimed {
            by: assignee.cloned().unwrap_or_else(|| StaffId::new("someone")),
        }),
        (Open | Escalated, CaseAction::Claim { staff }) => Ok(to(Claimed, Some(staff.clone()))),
        (Claimed, CaseAction::Release) => Ok(to(Escalated, None)),
        (Claimed, CaseAction::Transfer { to: staff }) => Ok(to(Claimed, Some(staff.clone()))),
        (Open | Escalated | Claimed, CaseAction::Resolve { .. }) => Ok(to(Resolved, None)),
        (Resolved, CaseAction::Reopen) => Ok(to(Open, None)),
        (Resolved, CaseAction::Close) => Ok(to(Closed, None)),
        _ => Err(refuse()),
    }
}

fn past_tense(action: &CaseAction) -> &'static str {
    match action {
        CaseAction::Escalate { .. } => "escalated",
        CaseAction::Claim { .. } => "claimed",
        CaseAction::Release => "released",
        CaseAction::Transfer { .. } => "transferred",
        CaseAction::Resolve { .. } => "resolved",
        CaseAction::Reopen => "reopened",
        CaseAction::Close => "closed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(staff: &str) -> CaseAction {
        CaseAction::Claim {
            staff: StaffId::new(staff),
        }
    }

    #[test]
    fn an_open_case_can_be_escalated_then_claimed_then_resolved() {
        let escalate = CaseAction::Escalate {
            priority: Priority::High,
            reason: "frustration".into(),
        };
        let t = transition(CaseState::Open, None, &escalate).unwrap();
        assert_eq!(t.state, CaseState::Escalated);
        let t = transition(t.state, None, &claim("ana")).unwrap();
        assert_eq!(
            (t.state, t.assignee.as_ref().map(StaffId::as_str)),
            (CaseState::Claimed, Some("ana"))
        );
        let resolve = CaseAction::Resolve {
            summary: "refunded".into(),
        };
        let t = transition(t.state, Some(&"ana".into()), &resolve).unwrap();
        assert_eq!((t.state, t.assignee), (CaseState::Resolved, None));
        assert_eq!(t.audit_action, Action::CaseResolved);
    }

    #[test]
    fn a_claimed_case_cannot_be_claimed_by_another_staff_member() {
        let err = transition(CaseState::Claimed, Some(&"ana".into()), &claim("ben")).unwrap_err();
        assert_eq!(err, TransitionError::AlreadyClaimed { by: "ana".into() });
        assert_eq!(err.to_string(), "case is already claimed by ana");
    }

    #[test]
    fn releasing_puts_a_claimed_case_back_in_the_queue_without_an_assignee() {
        let t = transition(
            CaseState::Claimed,
            Some(&"ana".into()),
            &CaseAction::Release,
        )
        .unwrap();
        assert_eq!((t.state, t.assignee), (CaseState::Escalated, None));
    }

    #[test]
    fn a_transfer_keeps_the_case_claimed_under_the_new_assignee() {
        let to = CaseAction::Transfer {
            to: StaffId::new("ben"),
        };
        let t = transition(CaseState::Claimed, Some(&"ana".into()), &to).unwrap();
        assert_eq!(
            (t.state, t.assignee.as_ref().map(StaffId::as_str)),
            (CaseState::Claimed, Some("ben"))
        );
    }

    #[test]
    fn only_a_resolved_case_can_be_reopened_or_closed() {
        for state in CaseState::ALL {
            let reopen = transition(state, None, &CaseAction::Reopen);
            let close = transition(state, None, &CaseAction::Close);
            assert_eq!(reopen.is_ok(), state == CaseState::Resolved, "{state}");
            assert_eq!(close.is_ok(), state == CaseState::Resolved, "{state}");
        }
    }

    #[test]
    fn a_closed_case_accepts_no_action_at_all() {
        let actions = [
            CaseAction::Escalate {
                priority: Priority::Low,
                reason: "x".into(),
            },
            claim("ana"),
            CaseAction::Release,
            CaseAction::Transfer {
                to: StaffId::new("ben"),
            },
            CaseAction::Resolve {
                summary: "x".into(),
            },
            CaseAction::Reopen,
            CaseAction::Close,
        ];
        for action in &actions {
            let err = transition(CaseState::Closed, None, action).unwrap_err();
            assert!(matches!(
                err,
                TransitionError::NotAllowed {
                    state: CaseState::Closed,
                    ..
                }
            ));
        }
    }

    #[test]
    fn release_and_transfer_need_a_claimed_case() {
        for state in [CaseState::Open, CaseState::Escalated, CaseState::Resolved] {
            assert!(transition(state, None, &CaseAction::Release).is_err());
            let to = CaseAction::Transfer {
                to: StaffId::new("ben"),
            };
            assert!(transition(state, None, &to).is_err());
        }
    }

    #[test]
    fn only_a_claimed_case_keeps_an_assignee() {
        let t = transition(CaseState::Escalated, None, &claim("ana")).unwrap();
        assert!(t.assignee.is_some());
        for state in CaseState::ALL {
            let resolve = CaseAction::Resolve {
                summary: "done".into(),
            };
            if let Ok(t) = transition(state, Some(&"ana".into()), &resolve) {
                assert_eq!(t.assignee, None);
            }
        }
    }

    /// No sequence of actions, however odd, leaves a case in an inconsistent state: a claimed
    /// case always has its assignee, no other state has one, and a closed case never moves.
    #[test]
    fn no_sequence_of_actions_reaches_an_invalid_state() {
        let actions = |i: u64| match i % 8 {
            0 => CaseAction::Escalate {
                priority: Priority::High,
                reason: "r".into(),
            },
            1 => claim("ana"),
            2 => claim("ben"),
            3 => CaseAction::Release,
            4 => CaseAction::Transfer {
                to: StaffId::new("cy"),
            },
            5 => CaseAction::Resolve {
                summary: "s".into(),
            },
            6 => CaseAction::Reopen,
            _ => CaseAction::Close,
        };
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut applied = 0;
        for _ in 0..20_000 {
            let (mut state, mut assignee) = (CaseState::Open, None::<StaffId>);
            for _ in 0..24 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let action = actions(seed);
                let Ok(next) = transition(state, assignee.as_ref(), &action) else {
                    continue;
                };
                applied += 1;
                assert_ne!(state, CaseState::Closed, "a closed case moved: {action:?}");
                (state, assignee) = (next.state, next.assignee);
                assert_eq!(
                    state == CaseState::Claimed,
                    assignee.is_some(),
                    "{state:?} with assignee {assignee:?} after {action:?}"
                );
            }
        }
        assert!(
            applied > 100_000,
            "the sequences exercised the machine: {applied}"
        );
    }
}
