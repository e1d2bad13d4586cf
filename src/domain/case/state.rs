//! Where a case stands, how urgent it is and where it started, each with the one spelling stored
//! and shown everywhere.

use std::str::FromStr;

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

    /// The states in which a case is the customer's one active case.
    pub const ACTIVE: [CaseState; 3] = [CaseState::Open, CaseState::Escalated, CaseState::Claimed];

    /// The states in which a case is staff's: waiting in the queue or held by someone.
    pub const WITH_STAFF: [CaseState; 2] = [CaseState::Escalated, CaseState::Claimed];

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
        CaseState::ACTIVE.contains(&self)
    }

    /// Whether staff have the case: in the queue or claimed.
    pub fn with_staff(self) -> bool {
        CaseState::WITH_STAFF.contains(&self)
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
    pub const ALL: [Priority; 4] = [
        Priority::Urgent,
        Priority::High,
        Priority::Normal,
        Priority::Low,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    /// The queue's sort key (higher is served first), stored beside the name so that the queue is
    /// a plain index scan.
    pub fn rank(self) -> i64 {
        self as i64
    }

    /// One step more urgent (urgent stays urgent).
    pub fn raised(self) -> Priority {
        match self {
            Priority::Low => Priority::Normal,
            Priority::Normal => Priority::High,
            Priority::High | Priority::Urgent => Priority::Urgent,
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

/// `FromStr`, `Display` and `Serialize` for an enum with `as_str`, over the variants listed.
macro_rules! parse_by_name {
    ($ty:ty, $kind:literal, [$($variant:expr),+ $(,)?]) => {
        impl std::str::FromStr for $ty {
            type Err = $crate::domain::case::UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                [$($variant),+]
                    .into_iter()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| $crate::domain::case::UnknownName {
                        kind: $kind,
                        value: s.to_owned(),
                    })
            }
        }
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
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

/// Parses a stored name, for adapters reading rows.
pub fn parse_name<T: FromStr<Err = UnknownName>>(value: &str) -> Result<T, UnknownName> {
    value.parse()
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn priorities_sort_and_rank_by_urgency() {
        assert!(Priority::Urgent > Priority::High);
        assert!(Priority::High > Priority::Normal);
        assert!(Priority::Normal > Priority::Low);
        assert!(Priority::Urgent.rank() > Priority::Low.rank());
    }

    #[test]
    fn raising_a_priority_goes_one_step_and_stops_at_urgent() {
        assert_eq!(Priority::Low.raised(), Priority::Normal);
        assert_eq!(Priority::High.raised(), Priority::Urgent);
        assert_eq!(Priority::Urgent.raised(), Priority::Urgent);
    }
}
