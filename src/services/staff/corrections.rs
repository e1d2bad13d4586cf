//! Staff corrections of what routing read: the wrong intent, or a hand-over that did not need a
//! person. Each is kept (who, from what, to what) for the card, `/metrics` and the training
//! export, written over the case's version with its audit event and one card refresh.

use serde_json::json;

use super::{card_refresh, StaffService};
use crate::domain::audit::{Actor, NewAuditEvent};
use crate::domain::correction::{Correction, NewCorrection};
use crate::domain::ids::{CaseId, StaffId};
use crate::domain::staff::Work;
use crate::domain::views::CaseView;
use crate::domain::{Change, Intent};
use crate::services::errors::ActionError;
use crate::services::{until_applied, Step};

impl StaffService {
    /// Records that routing read the wrong intent on a case: the case takes `to`, the correction
    /// is kept (who, from what, to what) for the card, `/metrics` and the training export, and
    /// the card is refreshed once. Anyone on the team may correct; nobody else.
    pub async fn correct_intent(
        &self,
        case_id: CaseId,
        staff: &StaffId,
        to: Intent,
    ) -> Result<Correction, ActionError> {
        self.correct(
            case_id,
            staff,
            Work::CorrectIntent,
            move |view| match view.case.intent {
                Some(now) if now == to => Err(ActionError::Invalid(format!(
                    "case #{case_id} is already {to}"
                ))),
                from => Ok(Correction::Intent { from, to }),
            },
        )
        .await
    }

    /// Records that a case handed to a person did not need one. The case stays where it is (staff
    /// still finish it); the correction labels its first message for retraining.
    pub async fn correct_no_person(
        &self,
        case_id: CaseId,
        staff: &StaffId,
    ) -> Result<Correction, ActionError> {
        self.correct(case_id, staff, Work::CorrectHandover, move |view| {
            if view.case.escalated_at.is_none() {
                return Err(ActionError::Invalid(format!(
                    "case #{case_id} was never handed to a person"
                )));
            }
            if view
                .corrections
                .iter()
                .any(|c| c.correction == Correction::NoPerson)
            {
                return Err(ActionError::Invalid(format!(
                    "case #{case_id} is already marked as not needing a person"
                )));
            }
            Ok(Correction::NoPerson)
        })
        .await
    }

    /// A correction decided by `decide` from the case as it stands, written over the case's
    /// version (so two people correcting at once are decided one after the other) with its audit
    /// event and one card refresh.
    async fn correct(
        &self,
        case_id: CaseId,
        staff: &StaffId,
        work: Work,
        decide: impl Fn(&CaseView) -> Result<Correction, ActionError>,
    ) -> Result<Correction, ActionError> {
        let decide = &decide;
        until_applied(&self.store, move || async move {
            let view = self.view(case_id).await?;
            self.work(&view.case, staff, work).await?;
            let correction = decide(&view)?;
            let mut next = view.case.clone();
            let details = match correction {
                Correction::Intent { from, to } => {
                    next.intent = Some(to);
                    next.intent_corrected = true;
                    json!({ "from": from, "to": to })
                }
                Correction::NoPerson => json!({ "intent": view.case.intent }),
            };
            let now = self.clock.now();
            let event = NewAuditEvent::new(now, Actor::staff(staff), correction.audit_action())
                .on(case_id)
                .with(details);
            let change = Change::at(now)
                .update(&view.case, next.clone())
                .correct(NewCorrection {
                    case_id,
                    staff: staff.clone(),
                    correction,
                })
                .event(event)
                .send(card_refresh(&next));
            Ok(Step::write(change, correction))
        })
        .await
    }
}
