//! Routing rules as data: ordered rules of conditions and actions, read from `config/routing.toml`,
//! checked once at start-up, and evaluated purely against what is known about a message and its
//! case.

use std::collections::BTreeSet;
use std::str::FromStr;

use serde::Deserialize;

use super::escalation::Signal;
use super::flows::Flow;
use super::intent::Intent;
use crate::domain::case::Priority;

/// The rules shipped with casebot.
pub const DEFAULT_RULES: &str = include_str!("../../../config/routing.toml");

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RuleError {
    #[error("routing rules are not valid TOML: {0}")]
    Syntax(String),
    #[error("routing rule #{index} ({name:?}), field `{field}`: {problem}")]
    Invalid {
        index: usize,
        name: String,
        field: &'static str,
        problem: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    rule: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: String,
    #[serde(default)]
    intents: Vec<String>,
    #[serde(default)]
    mood: Vec<String>,
    #[serde(default)]
    signals: Vec<String>,
    order_value_above: Option<f64>,
    human_requests_at_least: Option<i64>,
    contacts_about_order_at_least: Option<i64>,
    flow: Option<String>,
    #[serde(default)]
    offer_human: bool,
    escalate: Option<RawEscalate>,
    raise_priority: Option<String>,
    safety_notice: Option<String>,
    #[serde(default, rename = "final")]
    stop: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEscalate {
    priority: String,
    reason: String,
}

/// One checked rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub name: String,
    pub intents: BTreeSet<Intent>,
    pub on_frustration: bool,
    pub on_urgency: bool,
    /// The rule holds when the message shows any of these (none: always).
    pub signals: BTreeSet<Signal>,
    pub order_value_above_cents: Option<i64>,
    pub human_requests_at_least: Option<u32>,
    pub contacts_about_order_at_least: Option<u32>,
    pub flow: Option<Flow>,
    pub offer_human: bool,
    pub escalate: Option<(Priority, String)>,
    pub raise_priority: Option<Priority>,
    pub safety_notice: Option<String>,
    pub stop: bool,
}

/// What is known when routing a message.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    pub intent: Option<Intent>,
    pub frustration: bool,
    pub urgency: bool,
    /// The escalation signals read from the message.
    pub signals: Vec<Signal>,
    pub order_value_cents: Option<i64>,
    pub human_requests: u32,
    pub contacts_about_order: u32,
    /// The tags staff put on the case.
    pub tags: Vec<String>,
}

/// What the rules decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routing {
    pub flow: Option<Flow>,
    pub offer_human: bool,
    pub escalate: bool,
    pub priority: Priority,
    pub reasons: Vec<String>,
    pub safety_notice: Option<String>,
    /// The names of the rules that applied, in order, for the audit trail.
    pub matched: Vec<String>,
}

/// Parses and checks rules, naming the rule and field of the first problem.
pub fn parse_rules(text: &str) -> Result<Vec<Rule>, RuleError> {
    let raw: RawRules = toml::from_str(text).map_err(|e| RuleError::Syntax(e.to_string()))?;
    raw.rule
        .into_iter()
        .enumerate()
        .map(|(i, r)| check(i + 1, r))
        .collect()
}

fn check(index: usize, raw: RawRule) -> Result<Rule, RuleError> {
    let fail = |field: &'static str, problem: String| RuleError::Invalid {
        index,
        name: raw.name.clone(),
        field,
        problem,
    };
    let intents = parse_each(&raw.intents, |i| format!("unknown intent {i:?}"))
        .map_err(|p| fail("intents", p))?;
    if let Some(m) = raw
        .mood
        .iter()
        .find(|m| !matches!(m.as_str(), "frustration" | "urgency"))
    {
        let problem = format!("unknown mood {m:?}: expected \"frustration\" or \"urgency\"");
        return Err(fail("mood", problem));
    }
    let signals = parse_each(&raw.signals, |s| {
        let known: Vec<&str> = Signal::ALL.iter().map(|s| s.as_str()).collect();
        format!("unknown signal {s:?}: expected one of {known:?}")
    })
    .map_err(|p| fail("signals", p))?;
    let order_value_above_cents = match raw.order_value_above {
        Some(v) if !(v.is_finite() && v >= 0.0) => {
            return Err(fail(
                "order_value_above",
                format!("{v} is not an amount of dollars"),
            ))
        }
        v => v.map(|v| (v * 100.0).round() as i64),
    };
    let count = |field: &'static str, v: Option<i64>| match v {
        Some(n) if !(1..=1000).contains(&n) => {
            Err(fail(field, format!("{n} is not a count from 1 to 1000")))
        }
        v => Ok(v.map(|n| n as u32)),
    };
    let flow = parse_opt(raw.flow.as_deref(), "flow").map_err(|p| fail("flow", p))?;
    let escalate = match &raw.escalate {
        Some(e) => {
            let priority = parse_opt(Some(e.priority.as_str()), "priority")
                .map_err(|p| fail("escalate.priority", p))?;
            priority.map(|p| (p, e.reason.clone()))
        }
        None => None,
    };
    let raise_priority = parse_opt(raw.raise_priority.as_deref(), "priority")
        .map_err(|p| fail("raise_priority", p))?;
    Ok(Rule {
        intents,
        on_frustration: raw.mood.iter().any(|m| m == "frustration"),
        on_urgency: raw.mood.iter().any(|m| m == "urgency"),
        signals,
        order_value_above_cents,
        human_requests_at_least: count("human_requests_at_least", raw.human_requests_at_least)?,
        contacts_about_order_at_least: count(
            "contacts_about_order_at_least",
            raw.contacts_about_order_at_least,
        )?,
        flow,
        offer_human: raw.offer_human,
        escalate,
        raise_priority,
        safety_notice: raw.safety_notice.clone(),
        stop: raw.stop,
        name: raw.name,
    })
}

/// Every name of a list parsed, or the problem with the first unknown one.
fn parse_each<T: FromStr + Ord>(
    names: &[String],
    unknown: impl Fn(&str) -> String,
) -> Result<BTreeSet<T>, String> {
    names
        .iter()
        .map(|n| n.parse().map_err(|_| unknown(n)))
        .collect()
}

/// An optional name parsed, or "unknown `what`".
fn parse_opt<T: FromStr>(name: Option<&str>, what: &str) -> Result<Option<T>, String> {
    name.map(|n| n.parse().map_err(|_| format!("unknown {what} {n:?}")))
        .transpose()
}

impl Rule {
    fn holds(&self, facts: &Facts) -> bool {
        let intent_ok =
            self.intents.is_empty() || facts.intent.is_some_and(|i| self.intents.contains(&i));
        let mood_ok = !(self.on_frustration || self.on_urgency)
            || (self.on_frustration && facts.frustration)
            || (self.on_urgency && facts.urgency);
        let value_ok = self
            .order_value_above_cents
            .is_none_or(|limit| facts.order_value_cents.is_some_and(|v| v > limit));
        let humans_ok = self
            .human_requests_at_least
            .is_none_or(|n| facts.human_requests >= n);
        let contacts_ok = self
            .contacts_about_order_at_least
            .is_none_or(|n| facts.contacts_about_order >= n);
        let signals_ok =
            self.signals.is_empty() || self.signals.iter().any(|s| facts.signals.contains(s));
        intent_ok && mood_ok && signals_ok && value_ok && humans_ok && contacts_ok
    }
}

/// Applies the rules in order to what is known about a message.
pub fn route(rules: &[Rule], facts: &Facts) -> Routing {
    let mut routing = Routing {
        flow: None,
        offer_human: false,
        escalate: false,
        priority: Priority::Normal,
        reasons: Vec::new(),
        safety_notice: None,
        matched: Vec::new(),
    };
    for rule in rules.iter().filter(|r| r.holds(facts)) {
        routing.matched.push(rule.name.clone());
        if routing.flow.is_none() {
            routing.flow = rule.flow;
        }
        if rule.offer_human && !routing.offer_human {
            routing.offer_human = true;
            routing
                .reasons
                .push(format!("offer a person: {}", rule.name));
        }
        if let Some((priority, reason)) = &rule.escalate {
            routing.escalate = true;
            routing.priority = routing.priority.max(*priority);
            routing.reasons.push(reason.clone());
        }
        if let Some(priority) = rule.raise_priority {
            routing.priority = routing.priority.max(priority);
        }
        if routing.safety_notice.is_none() {
            routing.safety_notice = rule.safety_notice.clone();
        }
        if rule.stop {
            break;
        }
    }
    routing
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
