//! "Claim next": the case at the head of the queue for one staff member, and which case a
//! claimer who lost a race turns to, so that staff claiming at the same moment stop colliding.

use serde_json::json;

use super::{tag_last_event, StaffService};
use crate::domain::audit::{Action, Actor};
use crate::domain::ids::{CaseId, StaffId};
use crate::domain::staff::AuthError;
use crate::domain::{Case, CaseAction};
use crate::services::errors::ActionError;
use crate::services::{until_applied, Step};

impl StaffService {
    /// Claims the case at the head of the queue for `staff`: the highest priority, then the one
    /// waiting longest. Each waiting case goes to exactly one claimer, however many claim at once.
    pub async fn claim_next(&self, staff: &StaffId) -> Result<Option<CaseId>, ActionError> {
        let mut attempt = 0;
        until_applied(&self.store, move || {
            attempt += 1;
            let attempt = attempt;
            async move {
                if self.store.staff_member(staff).await?.is_none() {
                    let refused = AuthError::NotStaff { who: staff.clone() };
                    return self.refuse(None, staff, Action::CaseClaimed, refused).await;
                }
                let head = self.store.queue_head(CLAIM_CANDIDATES).await?;
                let Some(case) = candidate(&head, staff, attempt) else {
                    return Ok(Step::Answer(None));
                };
                let claim = CaseAction::Claim {
                    staff: staff.clone(),
                };
                let (change, next) = self.transition(case, &Actor::staff(staff), &claim)?;
                let change = tag_last_event(change, json!({ "assignee": staff, "via": "next" }));
                Ok(Step::write(change, Some(next.id)))
            }
        })
        .await
    }
}

/// How many cases at the head of the queue a claimer who lost a race may turn to.
const CLAIM_CANDIDATES: i64 = 8;

/// The case `staff` tries on its `attempt`-th try: the head of the queue first; after losing a
/// race for it, one of the next few, spread by who is claiming, so that staff claiming at the same
/// moment stop colliding on one case (each still gets exactly one, and the order bends only among
/// cases claimed within the same instant).
fn candidate<'a>(head: &'a [Case], staff: &StaffId, attempt: usize) -> Option<&'a Case> {
    if attempt <= 1 || head.len() <= 1 {
        return head.first();
    }
    let spread = staff
        .as_str()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
    head.get((spread as usize).wrapping_add(attempt) % head.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CustomerId, Origin};

    fn queue(n: i64) -> Vec<Case> {
        (1..=n)
            .map(|i| {
                let mut case = Case::open(CustomerId(i), Origin::Dm, chrono::Utc::now());
                case.id = CaseId(i);
                case
            })
            .collect()
    }

    #[test]
    fn a_first_try_always_takes_the_head_of_the_queue() {
        let head = queue(8);
        for who in ["ana", "ben", "cy"] {
            assert_eq!(
                candidate(&head, &StaffId::new(who), 1).unwrap().id,
                CaseId(1)
            );
        }
    }

    #[test]
    fn after_losing_a_race_staff_turn_to_different_cases() {
        let head = queue(8);
        let picks: std::collections::BTreeSet<CaseId> = ["ana", "ben", "cy", "dee", "eli"]
            .iter()
            .map(|who| candidate(&head, &StaffId::new(*who), 2).unwrap().id)
            .collect();
        assert!(picks.len() >= 3, "five claimers spread over only {picks:?}");
    }

    #[test]
    fn an_empty_queue_has_no_candidate() {
        assert!(candidate(&[], &StaffId::new("ana"), 3).is_none());
    }
}
