//! What a customer can do to their own case from the bot's buttons: ask for a person, say it is
//! solved, say whether a help article helped, rate the help. Nobody can act on a case that is not
//! theirs.

use std::sync::Arc;

use serde_json::json;

use super::errors::ActionError;
use super::staff::StaffService;
use super::{until_applied, Clock, Step, SystemClock};
use crate::domain::audit::{Action, Actor, NewAuditEvent};
use crate::domain::change::CustomerWrite;
use crate::domain::ids::{CaseId, CustomerId, UserId};
use crate::domain::views::CaseView;
use crate::domain::{CaseAction, CaseState, Change};
use crate::store::Store;

/// The reason recorded when a customer presses "Talk to a person".
pub const ASKED_FOR_A_PERSON: &str = "customer_asked_for_a_person";

/// The reason recorded when a customer presses "I still need help" under a help article.
pub const ARTICLE_DID_NOT_HELP: &str = "help_article_did_not_help";

/// What a customer asks of their own case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerAction {
    TalkToPerson,
    Solved,
    Rate(u8),
    /// "That helped", under a help article.
    ArticleHelped,
    /// "I still need help", under a help article.
    StillNeedHelp,
}

#[derive(Clone)]
pub struct CustomerService {
    store: Store,
    staff: StaffService,
    clock: Arc<dyn Clock>,
}

impl CustomerService {
    pub fn new(store: Store, staff: StaffService) -> CustomerService {
        CustomerService {
            store,
            staff,
            clock: Arc::new(SystemClock),
        }
    }

    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> CustomerService {
        self.clock = clock;
        self
    }

    /// The case, if `user` is its customer.
    pub async fn own_case(&self, case_id: CaseId, user: &UserId) -> Result<CaseView, ActionError> {
        let view = self
            .store
            .case_view(case_id)
            .await?
            .ok_or(ActionError::NotFound(case_id))?;
        if &view.customer.user_id != user {
            return Err(ActionError::NotYourCase(case_id));
        }
        Ok(view)
    }

    /// Carries out `action` for `user` on their case; returns the case's state after it.
    pub async fn act(
        &self,
        case_id: CaseId,
        user: &UserId,
        action: CustomerAction,
    ) -> Result<CaseState, ActionError> {
        let view = self.own_case(case_id, user).await?;
        let customer = Actor::customer(view.case.customer_id);
        match action {
            CustomerAction::TalkToPerson if view.case.state != CaseState::Open => {
                Ok(view.case.state)
            }
            CustomerAction::TalkToPerson => {
                let escalate = CaseAction::Escalate {
                    priority: view.case.priority,
                    reason: ASKED_FOR_A_PERSON.into(),
                };
                self.staff.act_as(case_id, &customer, escalate).await
            }
            CustomerAction::Solved => {
                let resolve = CaseAction::Resolve {
                    summary: "the customer said it was solved".into(),
                };
                self.staff.act_as(case_id, &customer, resolve).await
            }
            CustomerAction::Rate(stars) => self.rate(case_id, customer, stars).await,
            CustomerAction::ArticleHelped => self.article_helped(&view, customer).await,
            CustomerAction::StillNeedHelp => match view.case.state {
                CaseState::Open => {
                    let escalate = CaseAction::Escalate {
                        priority: view.case.priority,
                        reason: ARTICLE_DID_NOT_HELP.into(),
                    };
                    self.staff.act_as(case_id, &customer, escalate).await
                }
                CaseState::Resolved | CaseState::Closed => Err(ActionError::Invalid(format!(
                    "case #{case_id} is already resolved: just write here and it opens again"
                ))),
                // A person has the case already.
                state => Ok(state),
            },
        }
    }

    /// "That helped": recorded, and an open case the bot was handling is resolved, as "That
    /// solved it" does (the customer is asked to rate it). A case with staff stays with them.
    async fn article_helped(
        &self,
        view: &CaseView,
        customer: Actor,
    ) -> Result<CaseState, ActionError> {
        let case_id = view.case.id;
        let resolves = view.case.state == CaseState::Open;
        let details = json!({ "resolved": resolves });
        if resolves {
            let resolve = CaseAction::Resolve {
                summary: "a help article answered the customer's question".into(),
            };
            return self
                .staff
                .act_as_recording(case_id, &customer, resolve, (Action::HelpAnswered, details))
                .await;
        }
        let now = self.clock.now();
        let event = NewAuditEvent::new(now, customer, Action::HelpAnswered)
            .on(case_id)
            .with(details);
        self.store.apply(Change::at(now).event(event)).await?;
        Ok(view.case.state)
    }

    /// Links the customer to their account in the shop's order system (as an account page or a
    /// staff member would after checking who they are), so billing self-service can find it.
    pub async fn link_account(
        &self,
        customer: CustomerId,
        external_id: &str,
        by: &Actor,
    ) -> Result<(), ActionError> {
        let now = self.clock.now();
        let write = CustomerWrite::Linked {
            customer_id: customer,
            external_id: external_id.to_owned(),
        };
        let event = NewAuditEvent::new(now, by.clone(), Action::CustomerLinked)
            .with(json!({ "customer": customer }));
        self.store
            .apply(Change::at(now).customer(write).event(event))
            .await?;
        Ok(())
    }

    async fn rate(
        &self,
        case_id: CaseId,
        customer: Actor,
        stars: u8,
    ) -> Result<CaseState, ActionError> {
        if !(1..=5).contains(&stars) {
            return Err(ActionError::BadRating);
        }
        let customer = &customer;
        until_applied(&self.store, move || async move {
            let case = self
                .store
                .case(case_id)
                .await?
                .ok_or(ActionError::NotFound(case_id))?;
            let now = self.clock.now();
            let mut rated = case.clone();
            rated.rating = Some(stars);
            let event = NewAuditEvent::new(now, customer.clone(), Action::CaseRated)
                .on(case_id)
                .with(json!({ "rating": stars }));
            Ok(Step::write(
                Change::at(now).update(&case, rated).event(event),
                case.state,
            ))
        })
        .await
    }
}
