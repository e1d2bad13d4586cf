//! The case lifecycle: states, priorities, origins, the transitions between states, and the rule
//! that links an incoming customer message to an existing, reopened or new case.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};

/// Where a case stands. `Open`, `Escalated` and `Claimed` are *active*: the database allows at most
/// one active case per customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaseState {
    /// The bot is handling the case.
    Open,
    /// Waiting in the human queue.
    Escalated,
    /// A staff member owns the case.
    Claimed,
    /// Solved; a new message within the reopen window reopens it.
    Resolved,
    /// Finished for good; a new message starts a new case.
    Closed,
}

impl CaseState {
    pub const ALL: [CaseState; 5] = [
        CaseState::Open,
        CaseState::Escalated,
        CaseState::Claimed,
        CaseState::Resolved,
        CaseState::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CaseState::Open => "open",
            CaseState::Escalated => "escalated",
            CaseState::Claimed => "claimed",
            CaseState::Resolved => "resolved",
            CaseState::Closed => "closed",
        }
    }

    pub fn is_active(self) -> bool {
        matches!(
            self,
            CaseState::Open | CaseState::Escalated | CaseState::Claimed
        )
    }
}

/// How urgently a human must look at a case, lowest first so that `Ord` sorts by urgency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }
}

/// Whether the conversation started with a public mention or a direct message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    PublicMention,
    Dm,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::PublicMention => "public_mention",
            Origin::Dm => "dm",
        }
    }
}

/// A stored string that names no known variant. Seeing one means the database was written by
/// something other than casebot, so it is reported rather than guessed around.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?}")]
pub struct UnknownName {
    pub kind: &'static str,
    pub value: String,
}

macro_rules! parse_by_name {
    ($ty:ty, $kind:literal, [$($variant:expr),+ $(,)?]) => {
        impl FromStr for $ty {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                [$($variant),+]
                    .into_iter()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| UnknownName { kind: $kind, value: s.to_owned() })
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use parse_by_name;

parse_by_name!(
    CaseState,
    "case state",
    [
        CaseState::Open,
        CaseState::Escalated,
        CaseState::Claimed,
        CaseState::Resolved,
        CaseState::Closed
    ]
);
parse_by_name!(
    Priority,
    "priority",
    [
        Priority::Low,
        Priority::Normal,
        Priority::High,
        Priority::Urgent
    ]
);
parse_by_name!(Origin, "origin", [Origin::PublicMention, Origin::Dm]);

impl serde::Serialize for Priority {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl serde::Serialize for CaseState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Something that can happen to a case. Who may do it is decided by the services; whether it can
/// happen in the current state is decided here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseAction {
    /// Hand the case to the human queue.
    Escalate { priority: Priority, reason: String },
    /// A staff member takes the case. Only one can hold it.
    Claim { staff: String },
    /// The assignee puts the case back in the queue.
    Release,
    /// The case moves to another staff member.
    Transfer { to: String },
    /// The problem is solved.
    Resolve { summary: String },
    /// The customer wrote again within the reopen window, or staff reopened it.
    Reopen,
    /// The reopen window has passed.
    Close,
}

impl CaseAction {
    /// The audit action name for this change, spelled the same everywhere.
    pub fn audit_name(&self) -> &'static str {
        match self {
            CaseAction::Escalate { .. } => "case.escalated",
            CaseAction::Claim { .. } => "case.claimed",
            CaseAction::Release => "case.released",
            CaseAction::Transfer { .. } => "case.transferred",
            CaseAction::Resolve { .. } => "case.resolved",
            CaseAction::Reopen => "case.reopened",
            CaseAction::Close => "case.closed",
        }
    }
}

/// The result of a permitted action: the state and assignee to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub state: CaseState,
    pub assignee: Option<String>,
    pub audit_action: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("case is already claimed by {by}")]
    AlreadyClaimed { by: String },
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
    assignee: Option<&str>,
    action: &CaseAction,
) -> Result<Transition, TransitionError> {
    use CaseState::*;
    let to = |state: CaseState, assignee: Option<String>| Transition {
        state,
        assignee,
        audit_action: action.audit_name(),
    };
    let refuse = || TransitionError::NotAllowed {
        state,
        action: past_tense(action),
    };
    match (state, action) {
        (Open | Escalated, CaseAction::Escalate { .. }) => Ok(to(Escalated, None)),
        (Claimed, CaseAction::Claim { .. }) => Err(TransitionError::AlreadyClaimed {
            by: assignee.unwrap_or("someone").to_owned(),
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

/// Which case an incoming customer message belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseLink {
    /// The customer has an active case: the message joins it.
    Existing(i64),
    /// The customer's last case was resolved within the window: it is reopened.
    Reopen(i64),
    /// Nothing to join: a new case is opened.
    New,
}

/// Decides where a customer message goes, given the customer's active case (if any) and their most
/// recently resolved case with its resolution time.
pub fn link_case(
    active: Option<i64>,
    last_resolved: Option<(i64, DateTime<Utc>)>,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(staff: &str) -> CaseAction {
        CaseAction::Claim {
            staff: staff.into(),
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
            (t.state, t.assignee.as_deref()),
            (CaseState::Claimed, Some("ana"))
        );
        let resolve = CaseAction::Resolve {
            summary: "refunded".into(),
        };
        let t = transition(t.state, Some("ana"), &resolve).unwrap();
        assert_eq!((t.state, t.assignee), (CaseState::Resolved, None));
        assert_eq!(t.audit_action, "case.resolved");
    }

    #[test]
    fn a_claimed_case_cannot_be_claimed_by_another_staff_member() {
        let err = transition(CaseState::Claimed, Some("ana"), &claim("ben")).unwrap_err();
        assert_eq!(err, TransitionError::AlreadyClaimed { by: "ana".into() });
        assert_eq!(err.to_string(), "case is already claimed by ana");
    }

    #[test]
    fn releasing_puts_a_claimed_case_back_in_the_queue_without_an_assignee() {
        let t = transition(CaseState::Claimed, Some("ana"), &CaseAction::Release).unwrap();
        assert_eq!((t.state, t.assignee), (CaseState::Escalated, None));
    }

    #[test]
    fn a_transfer_keeps_the_case_claimed_under_the_new_assignee() {
        let to = CaseAction::Transfer { to: "ben".into() };
        let t = transition(CaseState::Claimed, Some("ana"), &to).unwrap();
        assert_eq!(
            (t.state, t.assignee.as_deref()),
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
            CaseAction::Transfer { to: "ben".into() },
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
            let to = CaseAction::Transfer { to: "ben".into() };
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
            if let Ok(t) = transition(state, Some("ana"), &resolve) {
                assert_eq!(t.assignee, None);
            }
        }
    }

    #[test]
    fn names_round_trip_through_their_strings() {
        for state in CaseState::ALL {
            assert_eq!(state.as_str().parse::<CaseState>().unwrap(), state);
        }
        assert_eq!("urgent".parse::<Priority>().unwrap(), Priority::Urgent);
        assert_eq!("dm".parse::<Origin>().unwrap(), Origin::Dm);
        assert!("shouting".parse::<Priority>().is_err());
    }

    #[test]
    fn priorities_sort_by_urgency() {
        assert!(Priority::Urgent > Priority::High);
        assert!(Priority::High > Priority::Normal);
        assert!(Priority::Normal > Priority::Low);
    }

    mod linking {
        use super::*;

        fn at(hours: i64) -> DateTime<Utc> {
            DateTime::from_timestamp(1_700_000_000, 0).unwrap() + Duration::hours(hours)
        }

        #[test]
        fn a_message_joins_the_active_case_whatever_was_resolved_before() {
            let link = link_case(Some(7), Some((3, at(0))), at(1), Duration::hours(72));
            assert_eq!(link, CaseLink::Existing(7));
        }

        #[test]
        fn a_message_within_the_window_reopens_the_resolved_case() {
            let link = link_case(None, Some((3, at(0))), at(72), Duration::hours(72));
            assert_eq!(link, CaseLink::Reopen(3));
        }

        #[test]
        fn a_message_after_the_window_opens_a_new_case() {
            let link = link_case(None, Some((3, at(0))), at(73), Duration::hours(72));
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
            4 => CaseAction::Transfer { to: "cy".into() },
            5 => CaseAction::Resolve {
                summary: "s".into(),
            },
            6 => CaseAction::Reopen,
            _ => CaseAction::Close,
        };
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut applied = 0;
        for _ in 0..20_000 {
            let (mut state, mut assignee) = (CaseState::Open, None::<String>);
            for _ in 0..24 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let action = actions(seed);
                let Ok(next) = transition(state, assignee.as_deref(), &action) else {
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
