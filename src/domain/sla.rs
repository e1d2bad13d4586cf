//! SLA clocks: each priority has a first-response deadline (until a person takes the case) and a
//! resolution deadline, both counted from escalation. A breach raises the priority one step, once
//! per deadline.

use chrono::{DateTime, Duration, Utc};

use super::case::{Case, CaseState, Priority};

/// Deadlines per priority, indexed low, normal, high, urgent.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaPolicy {
    pub first_response: [Duration; 4],
    pub resolution: [Duration; 4],
}

impl Default for SlaPolicy {
    fn default() -> Self {
        SlaPolicy {
            first_response: [
                Duration::hours(4),
                Duration::minutes(60),
                Duration::minutes(15),
                Duration::minutes(5),
            ],
            resolution: [
                Duration::days(7),
                Duration::hours(72),
                Duration::hours(24),
                Duration::hours(4),
            ],
        }
    }
}

impl SlaPolicy {
    /// The first-response deadline of a case at `priority`.
    pub fn first_response_for(&self, priority: Priority) -> Duration {
        self.first_response[index(priority)]
    }
}

fn index(priority: Priority) -> usize {
    match priority {
        Priority::Low => 0,
        Priority::Normal => 1,
        Priority::High => 2,
        Priority::Urgent => 3,
    }
}

/// The SLA facts of one case in the queue.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaClock {
    pub state: CaseState,
    pub priority: Priority,
    pub escalated_at: DateTime<Utc>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub first_response_breached: bool,
    pub resolution_breached: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreachKind {
    FirstResponse,
    Resolution,
}

impl BreachKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BreachKind::FirstResponse => "first_response",
            BreachKind::Resolution => "resolution",
        }
    }
}

/// The deadline a queue case is working against now: the first response while it waits, the
/// resolution once someone has it. `None` outside the queue.
pub fn current_deadline(
    policy: &SlaPolicy,
    state: CaseState,
    priority: Priority,
    escalated_at: DateTime<Utc>,
) -> Option<(BreachKind, DateTime<Utc>)> {
    let i = index(priority);
    match state {
        CaseState::Escalated => Some((
            BreachKind::FirstResponse,
            escalated_at + policy.first_response[i],
        )),
        CaseState::Claimed => Some((BreachKind::Resolution, escalated_at + policy.resolution[i])),
        _ => None,
    }
}

impl SlaClock {
    /// The clock of a case staff have (in the queue or claimed); `None` for any other.
    pub fn of(case: &Case) -> Option<SlaClock> {
        Some(SlaClock {
            state: case.state,
            priority: case.priority,
            escalated_at: case.escalated_at.filter(|_| case.state.with_staff())?,
            first_response_at: case.first_response_at,
            first_response_breached: case.first_response_breached_at.is_some(),
            resolution_breached: case.resolution_breached_at.is_some(),
        })
    }
}

/// The deadline this clock has missed and not yet reported, if any. First response comes first:
/// one breach per sweep, so a case that missed both is raised one step at a time.
pub fn breach(clock: &SlaClock, now: DateTime<Utc>, policy: &SlaPolicy) -> Option<BreachKind> {
    if !matches!(clock.state, CaseState::Escalated | CaseState::Claimed) {
        return None;
    }
    let i = index(clock.priority);
    let waiting_for_a_person = clock.first_response_at.is_none();
    if waiting_for_a_person
        && !clock.first_response_breached
        && now > clock.escalated_at + policy.first_response[i]
    {
        return Some(BreachKind::FirstResponse);
    }
    if !clock.resolution_breached && now > clock.escalated_at + policy.resolution[i] {
        return Some(BreachKind::Resolution);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock(priority: Priority) -> SlaClock {
        SlaClock {
            state: CaseState::Escalated,
            priority,
            escalated_at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            first_response_at: None,
            first_response_breached: false,
            resolution_breached: false,
        }
    }

    fn after(c: &SlaClock, minutes: i64) -> DateTime<Utc> {
        c.escalated_at + Duration::minutes(minutes)
    }

    #[test]
    fn an_unclaimed_case_breaches_first_response_after_its_priority_deadline() {
        let policy = SlaPolicy::default();
        let c = clock(Priority::Normal);
        assert_eq!(breach(&c, after(&c, 60), &policy), None);
        assert_eq!(
            breach(&c, after(&c, 61), &policy),
            Some(BreachKind::FirstResponse)
        );
        let urgent = clock(Priority::Urgent);
        assert_eq!(
            breach(&urgent, after(&urgent, 6), &policy),
            Some(BreachKind::FirstResponse)
        );
    }

    #[test]
    fn a_claimed_case_has_had_its_first_response() {
        let c = SlaClock {
            state: CaseState::Claimed,
            first_response_at: Some(DateTime::from_timestamp(1_800_000_060, 0).unwrap()),
            ..clock(Priority::Normal)
        };
        assert_eq!(breach(&c, after(&c, 120), &SlaPolicy::default()), None);
    }

    #[test]
    fn each_deadline_is_reported_once() {
        let c = SlaClock {
            first_response_breached: true,
            ..clock(Priority::Normal)
        };
        assert_eq!(breach(&c, after(&c, 120), &SlaPolicy::default()), None);
        let both = SlaClock {
            resolution_breached: true,
            ..c
        };
        assert_eq!(
            breach(&both, after(&both, 10_000), &SlaPolicy::default()),
            None
        );
    }

    #[test]
    fn resolution_breaches_after_the_longer_deadline() {
        let c = SlaClock {
            first_response_breached: true,
            ..clock(Priority::High)
        };
        assert_eq!(
            breach(&c, after(&c, 24 * 60 + 1), &SlaPolicy::default()),
            Some(BreachKind::Resolution)
        );
    }

    #[test]
    fn resolved_cases_have_no_running_clock() {
        let c = SlaClock {
            state: CaseState::Resolved,
            ..clock(Priority::Urgent)
        };
        assert_eq!(breach(&c, after(&c, 10_000), &SlaPolicy::default()), None);
    }
}
