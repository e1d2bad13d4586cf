//! Who may do what to a case: staff may claim and work cases; only the assignee or a lead may
//! release, transfer or resolve a claimed one.

use std::fmt;
use std::str::FromStr;

use super::audit::Action;
use super::case::{CaseAction, UnknownName};
use super::ids::StaffId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Staff,
    Lead,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Staff => "staff",
            Role::Lead => "lead",
        }
    }
}

impl FromStr for Role {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Role, UnknownName> {
        match s {
            "staff" => Ok(Role::Staff),
            "lead" => Ok(Role::Lead),
            _ => Err(UnknownName {
                kind: "role",
                value: s.to_owned(),
            }),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A member of the support team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffMember {
    pub id: StaffId,
    pub role: Role,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("{who} is not on the support team")]
    NotStaff { who: StaffId },
    #[error("case is claimed by {assignee}; only they or a lead can do that")]
    NotAssignee { assignee: StaffId },
    #[error("case is not claimed; claim it first")]
    NotClaimed,
    #[error("only the staff member who claimed the case can see that")]
    AssigneeOnly,
}

/// Work on a case that leaves its state as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    /// An internal note: any member of the team may add one.
    Note,
    /// A reply to the customer: the assignee's job (or a lead's).
    Reply,
    /// The customer's callback number: shown to the assignee and nobody else.
    SeeCallback,
    /// Tags, priority, waiting on the customer, merging: anyone on the team.
    Triage,
    /// Saying routing read the wrong intent: anyone on the team, whoever holds the case.
    CorrectIntent,
    /// Saying the case did not need a person: likewise anyone on the team.
    CorrectHandover,
    /// Joining the case's thread to read along: anyone on the team.
    Join,
}

impl Work {
    pub fn audit_action(self) -> Action {
        match self {
            Work::Note => Action::CaseNoted,
            Work::Reply => Action::CaseReplied,
            Work::SeeCallback => Action::CallbackShown,
            Work::Triage => Action::CaseTagged,
            Work::CorrectIntent => Action::IntentCorrected,
            Work::CorrectHandover => Action::HandoverCorrected,
            Work::Join => Action::ThreadJoined,
        }
    }
}

/// Checks that `who` (looked up as `member`) may do `work` on a case held by `assignee`.
pub fn authorize_work(
    who: &StaffId,
    member: Option<&StaffMember>,
    work: Work,
    assignee: Option<&StaffId>,
) -> Result<(), AuthError> {
    let Some(member) = member else {
        return Err(AuthError::NotStaff { who: who.clone() });
    };
    let holds_it = assignee == Some(&member.id);
    match (work, assignee) {
        (
            Work::Note | Work::Triage | Work::Join | Work::CorrectIntent | Work::CorrectHandover,
            _,
        ) => Ok(()),
        (Work::Reply | Work::SeeCallback, None) => Err(AuthError::NotClaimed),
        (Work::Reply, Some(_)) if holds_it || member.role == Role::Lead => Ok(()),
        (Work::Reply, Some(holder)) => Err(AuthError::NotAssignee {
            assignee: holder.clone(),
        }),
        (Work::SeeCallback, Some(_)) if holds_it => Ok(()),
        (Work::SeeCallback, Some(_)) => Err(AuthError::AssigneeOnly),
    }
}

/// Checks that `who` (looked up as `member`) may apply `action` to a case held by `assignee`.
pub fn authorize(
    who: &StaffId,
    member: Option<&StaffMember>,
    action: &CaseAction,
    assignee: Option<&StaffId>,
) -> Result<(), AuthError> {
    let Some(member) = member else {
        return Err(AuthError::NotStaff { who: who.clone() });
    };
    let owner_only = matches!(
        action,
        CaseAction::Release | CaseAction::Transfer { .. } | CaseAction::Resolve { .. }
    );
    match assignee {
        Some(holder) if owner_only && *holder != member.id && member.role != Role::Lead => {
            Err(AuthError::NotAssignee {
                assignee: holder.clone(),
            })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, role: Role) -> StaffMember {
        StaffMember {
            id: StaffId::new(id),
            role,
        }
    }

    #[test]
    fn someone_off_the_team_may_do_nothing() {
        let err = authorize(
            &"eve".into(),
            None,
            &CaseAction::Claim {
                staff: "eve".into(),
            },
            None,
        );
        assert_eq!(err, Err(AuthError::NotStaff { who: "eve".into() }));
    }

    #[test]
    fn staff_may_claim_but_not_release_someone_elses_case() {
        let ben = member("ben", Role::Staff);
        let claim = CaseAction::Claim {
            staff: "ben".into(),
        };
        assert!(authorize(&"ben".into(), Some(&ben), &claim, None).is_ok());
        let err = authorize(
            &"ben".into(),
            Some(&ben),
            &CaseAction::Release,
            Some(&"ana".into()),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "case is claimed by ana; only they or a lead can do that"
        );
    }

    #[test]
    fn any_team_member_may_note_but_only_the_holder_or_a_lead_may_reply() {
        let ana = member("ana", Role::Staff);
        let ben = member("ben", Role::Staff);
        let lee = member("lee", Role::Lead);
        assert!(authorize_work(&"ben".into(), Some(&ben), Work::Note, Some(&"ana".into())).is_ok());
        assert!(
            authorize_work(&"ana".into(), Some(&ana), Work::Reply, Some(&"ana".into())).is_ok()
        );
        assert!(
            authorize_work(&"lee".into(), Some(&lee), Work::Reply, Some(&"ana".into())).is_ok()
        );
        assert_eq!(
            authorize_work(&"ben".into(), Some(&ben), Work::Reply, Some(&"ana".into())),
            Err(AuthError::NotAssignee {
                assignee: "ana".into()
            })
        );
        assert_eq!(
            authorize_work(&"ana".into(), Some(&ana), Work::Reply, None),
            Err(AuthError::NotClaimed)
        );
        assert_eq!(
            authorize_work(&"eve".into(), None, Work::Note, None),
            Err(AuthError::NotStaff { who: "eve".into() })
        );
    }

    #[test]
    fn any_team_member_may_correct_routing_on_any_case_and_nobody_else_may() {
        let ben = member("ben", Role::Staff);
        for work in [Work::CorrectIntent, Work::CorrectHandover] {
            assert!(authorize_work(&"ben".into(), Some(&ben), work, Some(&"ana".into())).is_ok());
            assert!(authorize_work(&"ben".into(), Some(&ben), work, None).is_ok());
            assert_eq!(
                authorize_work(&"eve".into(), None, work, None),
                Err(AuthError::NotStaff { who: "eve".into() })
            );
        }
        assert_eq!(Work::CorrectIntent.audit_action(), Action::IntentCorrected);
    }

    #[test]
    fn a_callback_number_is_shown_to_the_holder_and_not_even_to_a_lead() {
        let ana = member("ana", Role::Staff);
        let lee = member("lee", Role::Lead);
        assert!(authorize_work(
            &"ana".into(),
            Some(&ana),
            Work::SeeCallback,
            Some(&"ana".into())
        )
        .is_ok());
        assert_eq!(
            authorize_work(
                &"lee".into(),
                Some(&lee),
                Work::SeeCallback,
                Some(&"ana".into())
            ),
            Err(AuthError::AssigneeOnly)
        );
    }

    #[test]
    fn the_assignee_and_a_lead_may_release_transfer_and_resolve() {
        let ana = member("ana", Role::Staff);
        let lee = member("lee", Role::Lead);
        let actions = [
            CaseAction::Release,
            CaseAction::Transfer { to: "ben".into() },
            CaseAction::Resolve {
                summary: "done".into(),
            },
        ];
        for action in &actions {
            assert!(authorize(&"ana".into(), Some(&ana), action, Some(&"ana".into())).is_ok());
            assert!(authorize(&"lee".into(), Some(&lee), action, Some(&"ana".into())).is_ok());
        }
    }
}
