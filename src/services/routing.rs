//! Routing a customer message: understand it once (the local classifier and the mood, and the
//! language model where one is set up and the gate lets it overrule), then for the case as it stands gather what the rules need (the order and how often the
//! customer asked about it), let [`crate::domain::routing::decide`] choose and plan, carry out the
//! order-system writes the plan needs, and hand back the decision. Recording it is intake's job,
//! in the same transaction as the message.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::routing::classify::{classify_with, cue_scores, normalise, IntentGuess};
use crate::domain::routing::decide::{
    self, BillingLookup, Decision, OrderLookup, Situation, WriteOutcome,
};
use crate::domain::routing::flows::{Flow, FlowPolicy};
use crate::domain::routing::model::IntentModel;
use crate::domain::routing::opinion::DecidedBy;
use crate::domain::routing::replies::{second_need, HelpDesk};
use crate::domain::routing::rules::Rule;
use crate::domain::routing::signals::{read_mood_normalised, Mood};
use crate::domain::routing::Intent;
use crate::domain::views::Customer;
use crate::domain::Case;
use crate::orders::OrderSource;
use crate::services::llm_path::{LlmPath, LlmReport};
use crate::store::{Store, StoreError};

/// A message as routing understood it: read once, whatever happens to its case.
#[derive(Debug, Clone, Serialize)]
pub struct Reading {
    #[serde(skip)]
    pub norm: String,
    pub local: IntentGuess,
    pub intent: Intent,
    /// The mood, with the language model's signals when it decided.
    pub mood: Mood,
    pub decided_by: DecidedBy,
    /// What the language model did; `None` when none is set up.
    pub llm: Option<LlmReport>,
}

/// The rules, the flows' thresholds and the outside systems routing consults.
#[derive(Clone)]
pub struct Router {
    orders: Arc<dyn OrderSource>,
    llm: Option<LlmPath>,
    rules: Arc<Vec<Rule>>,
    policy: FlowPolicy,
    /// The shop's order-number format; by default the classifier's own.
    order_pattern: Option<regex::Regex>,
    model: Arc<IntentModel>,
    /// The help articles and what else general help answers from.
    desk: Arc<HelpDesk>,
}

/// What order writes already did for this message, so that deciding again after a conflict
/// never repeats or re-reports one.
pub type WriteMemo = HashMap<String, WriteOutcome>;

impl Router {
    pub fn new(orders: Arc<dyn OrderSource>, rules: Vec<Rule>, policy: FlowPolicy) -> Router {
        Router {
            orders,
            llm: None,
            rules: Arc::new(rules),
            policy,
            order_pattern: None,
            model: IntentModel::builtin(),
            desk: Arc::new(HelpDesk::default()),
        }
    }

    /// Answers general questions from `desk` instead of the built-in help articles.
    pub fn with_help_desk(mut self, desk: Arc<HelpDesk>) -> Router {
        self.desk = desk;
        self
    }

    /// Classifies with `model` instead of the built-in intent model.
    pub fn with_model(mut self, model: Arc<IntentModel>) -> Router {
        self.model = model;
        self
    }

    /// Recognises order numbers with `pattern` instead of the default retailer format.
    pub fn with_order_pattern(mut self, pattern: regex::Regex) -> Router {
        self.order_pattern = Some(pattern);
        self
    }

    /// Lets the language model decide where its gate allows.
    pub fn with_llm(mut self, llm: LlmPath) -> Router {
        self.llm = Some(llm);
        self
    }

    pub fn llm(&self) -> Option<&LlmPath> {
        self.llm.as_ref()
    }

    pub fn orders(&self) -> &Arc<dyn OrderSource> {
        &self.orders
    }

    pub fn policy(&self) -> &FlowPolicy {
        &self.policy
    }

    /// Understands `text`, whose platform message id is `key` (the language model's answers are
    /// cached by it): the intent and the mood, the language model's where it decides.
    pub async fn read(&self, key: Option<&str>, text: &str) -> Reading {
        // Lower-case once; the classifier, the mood and the order-number pattern all read it.
        let norm = normalise(text);
        let local = classify_with(&self.model, &norm);
        let mut mood = read_mood_normalised(text, &norm);
        let mut intent = local.intent;
        let mut decided_by = DecidedBy::Local;
        let mut llm = None;
        if let Some(path) = &self.llm {
            let consulted = path.consult(key, &local, text).await;
            if let Some(opinion) = consulted.opinion {
                intent = opinion.intent;
                opinion.apply(&mut mood);
            }
            decided_by = consulted.decided_by;
            llm = Some(consulted.report);
        }
        Reading {
            norm,
            local,
            intent,
            mood,
            decided_by,
            llm,
        }
    }

    /// Decides what to do with `text` on `case` (as it stands before the message), carrying out
    /// the order writes the decision needs.
    pub async fn decide(
        &self,
        store: &Store,
        (case, customer): (&Case, Option<&Customer>),
        text: &str,
        reading: &Reading,
        now: DateTime<Utc>,
        memo: &mut WriteMemo,
    ) -> Result<Decision, StoreError> {
        let order_number = self
            .order_number(reading)
            .or_else(|| case.order_number.clone());
        let order = self.lookup(order_number.as_deref()).await;
        // Earlier messages about this order, and this one.
        let contacts = match (&order_number, customer) {
            (Some(number), Some(customer)) => {
                store.contacts_about_order(customer.id, number).await? + 1
            }
            (Some(_), None) => 1,
            (None, _) => 0,
        };
        let situation = Situation {
            case,
            text,
            intent: reading.intent,
            mood: &reading.mood,
            order_number,
            order,
            contacts_about_order: contacts,
            now,
            desk: &self.desk,
            second_need: second_need(reading.intent, &cue_scores(&reading.norm)),
        };
        let routing = decide::choose(&self.rules, &situation);
        let billing = self.billing(routing.flow, &situation, customer).await;
        let plan = decide::plan(routing, &situation, &billing, &self.policy);
        let mut outcomes = Vec::with_capacity(plan.actions.len());
        for action in &plan.actions {
            let key = action.key(case);
            let outcome = match memo.get(&key) {
                Some(done) => *done,
                None => {
                    let done = self.carry_out(action, &key, now).await;
                    memo.insert(key, done);
                    done
                }
            };
            outcomes.push(outcome);
        }
        Ok(decide::finish(plan, &situation, &outcomes))
    }

    /// The first order number in the (normalised) text, in the shop's format.
    fn order_number(&self, reading: &Reading) -> Option<String> {
        match &self.order_pattern {
            Some(pattern) => pattern.find(&reading.norm).map(|m| m.as_str().to_owned()),
            None => reading.local.order_numbers.first().cloned(),
        }
    }

    async fn lookup(&self, number: Option<&str>) -> OrderLookup {
        let Some(number) = number else {
            return OrderLookup::NoNumber;
        };
        match self.orders.order(number).await {
            Ok(Some(order)) => OrderLookup::Found(order),
            Ok(None) => OrderLookup::NotFound,
            Err(e) => {
                tracing::warn!(error = %e, "order lookup failed; a person will follow up");
                OrderLookup::Failed
            }
        }
    }

    /// The billing data, when the rules chose the billing flow.
    async fn billing(
        &self,
        flow: Option<Flow>,
        s: &Situation<'_>,
        customer: Option<&Customer>,
    ) -> BillingLookup {
        if flow != Some(Flow::BillingRefund) || decide::is_address_follow_up(s) {
            return BillingLookup::NotNeeded;
        }
        let account = customer
            .and_then(|c| c.external_id.clone())
            .or_else(|| s.order.order().map(|o| o.customer_ref.clone()));
        let Some(account) = account else {
            return BillingLookup::NoAccount;
        };
        match self.orders.billing(&account).await {
            Ok(billing) => BillingLookup::Found(billing),
            Err(e) => {
                tracing::warn!(error = %e, "billing lookup failed; a person will follow up");
                BillingLookup::Failed
            }
        }
    }

    async fn carry_out(
        &self,
        action: &decide::OrderAction,
        key: &str,
        now: DateTime<Utc>,
    ) -> WriteOutcome {
        match self.orders.write(&action.write(), key, now).await {
            Ok(outcome) => outcome.into(),
            Err(e) => {
                tracing::warn!(error = %e, "an order-system write failed; a person will follow up");
                WriteOutcome::Failed
            }
        }
    }
}
