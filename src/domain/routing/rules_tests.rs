//! Tests of the routing rules: parsing and checking, and every default rule.

use super::*;
use crate::domain::routing::escalation::Signal;

fn defaults() -> Vec<Rule> {
    parse_rules(DEFAULT_RULES).expect("the shipped rules are valid")
}

fn with(intent: Intent, signal: Signal) -> Facts {
    Facts {
        signals: vec![signal],
        ..facts(intent)
    }
}

fn facts(intent: Intent) -> Facts {
    Facts {
        intent: Some(intent),
        ..Facts::default()
    }
}

#[test]
fn default_rules_route_each_case_as_documented() {
    struct Case {
        facts: Facts,
        flow: Option<Flow>,
        offer_human: bool,
        escalate: bool,
        priority: Priority,
    }
    let upset = Facts {
        frustration: true,
        ..facts(Intent::OrderTracking)
    };
    let pricey_missing = Facts {
        order_value_cents: Some(90_000),
        ..facts(Intent::MissingDelivery)
    };
    let cheap_missing = Facts {
        order_value_cents: Some(2_000),
        ..facts(Intent::MissingDelivery)
    };
    let third_contact = Facts {
        contacts_about_order: 3,
        ..facts(Intent::OrderTracking)
    };
    let asked_twice = Facts {
        human_requests: 2,
        ..facts(Intent::HumanRequest)
    };
    let table = [
        (
            "security",
            facts(Intent::AccountSecurity),
            None,
            false,
            true,
            Priority::Urgent,
        ),
        (
            "phishing report",
            facts(Intent::PhishingReport),
            Some(Flow::GeneralHelp),
            false,
            false,
            Priority::Normal,
        ),
        (
            "phishing with details given away",
            with(Intent::PhishingReport, Signal::GaveDetails),
            None,
            false,
            true,
            Priority::Urgent,
        ),
        (
            "asked for a person",
            with(Intent::Refund, Signal::AsksForPerson),
            Some(Flow::Refund),
            true,
            false,
            Priority::Normal,
        ),
        (
            "strong anger",
            with(Intent::LateDelivery, Signal::Anger),
            Some(Flow::Tracking),
            false,
            true,
            Priority::High,
        ),
        (
            "stuck",
            with(Intent::Refund, Signal::Stuck),
            Some(Flow::Refund),
            false,
            true,
            Priority::High,
        ),
        (
            "high value item",
            with(Intent::MissingDelivery, Signal::HighValueItem),
            Some(Flow::MissingDelivery),
            false,
            true,
            Priority::High,
        ),
        (
            "high value item on a question is no hand-over",
            with(Intent::ProductQuestion, Signal::HighValueItem),
            Some(Flow::GeneralHelp),
            false,
            false,
            Priority::Normal,
        ),
        (
            "exception or dispute",
            with(Intent::Refund, Signal::Exception),
            Some(Flow::Refund),
            false,
            true,
            Priority::Normal,
        ),
        (
            "urgent",
            Facts {
                urgency: true,
                ..facts(Intent::OrderTracking)
            },
            Some(Flow::Tracking),
            false,
            true,
            Priority::High,
        ),
        (
            "first human request",
            facts(Intent::HumanRequest),
            Some(Flow::GeneralHelp),
            true,
            false,
            Priority::Normal,
        ),
        (
            "second human request",
            asked_twice,
            None,
            false,
            true,
            Priority::Normal,
        ),
        (
            "repeat contact",
            third_contact,
            Some(Flow::Tracking),
            true,
            false,
            Priority::High,
        ),
        (
            "frustration",
            upset,
            Some(Flow::Tracking),
            true,
            false,
            Priority::High,
        ),
        (
            "high value",
            pricey_missing,
            Some(Flow::MissingDelivery),
            true,
            false,
            Priority::High,
        ),
        (
            "low value",
            cheap_missing,
            Some(Flow::MissingDelivery),
            false,
            false,
            Priority::Normal,
        ),
        (
            "billing",
            facts(Intent::BillingSubscription),
            Some(Flow::BillingRefund),
            false,
            false,
            Priority::Normal,
        ),
        (
            "address",
            facts(Intent::AddressChange),
            Some(Flow::AddressChange),
            false,
            false,
            Priority::Normal,
        ),
        (
            "other",
            facts(Intent::Other),
            Some(Flow::GeneralHelp),
            false,
            false,
            Priority::Normal,
        ),
        (
            "tracking",
            facts(Intent::OrderTracking),
            Some(Flow::Tracking),
            false,
            false,
            Priority::Normal,
        ),
        (
            "late delivery is tracked",
            facts(Intent::LateDelivery),
            Some(Flow::Tracking),
            false,
            false,
            Priority::Normal,
        ),
        (
            "refund",
            facts(Intent::Refund),
            Some(Flow::Refund),
            false,
            false,
            Priority::Normal,
        ),
        (
            "a return goes to the refund flow",
            facts(Intent::ReturnOrExchange),
            Some(Flow::Refund),
            false,
            false,
            Priority::Normal,
        ),
        (
            "technical issues get general help",
            facts(Intent::TechnicalIssue),
            Some(Flow::GeneralHelp),
            false,
            false,
            Priority::Normal,
        ),
        (
            "product questions get general help",
            facts(Intent::ProductQuestion),
            Some(Flow::GeneralHelp),
            false,
            false,
            Priority::Normal,
        ),
    ]
    .map(|(name, facts, flow, offer_human, escalate, priority)| {
        (
            name,
            Case {
                facts,
                flow,
                offer_human,
                escalate,
                priority,
            },
        )
    });
    let rules = defaults();
    let mut exercised = BTreeSet::new();
    for (name, case) in table {
        let r = route(&rules, &case.facts);
        assert_eq!(r.flow, case.flow, "{name}: {r:?}");
        assert_eq!(r.offer_human, case.offer_human, "{name}: {r:?}");
        assert_eq!(r.escalate, case.escalate, "{name}: {r:?}");
        assert_eq!(r.priority, case.priority, "{name}: {r:?}");
        exercised.extend(r.matched);
    }
    // The table is the documentation of the defaults: a rule added without a row fails here.
    let untested: Vec<&str> = rules
        .iter()
        .map(|r| r.name.as_str())
        .filter(|name| !exercised.contains(*name))
        .collect();
    assert!(
        untested.is_empty(),
        "default rules without a row: {untested:?}"
    );
}

#[test]
fn security_routing_carries_the_safety_notice() {
    let rules = defaults();
    for facts in [
        facts(Intent::AccountSecurity),
        with(Intent::PhishingReport, Signal::GaveDetails),
    ] {
        let r = route(&rules, &facts);
        let notice = r.safety_notice.unwrap_or_default();
        assert!(notice.contains("never ask for your password"), "{facts:?}");
    }
}

#[test]
fn a_phishing_report_is_answered_by_general_help_alone() {
    // General help says what the shop never asks for and how to report it; a notice on top
    // would say half of it twice.
    let r = route(&defaults(), &facts(Intent::PhishingReport));
    assert_eq!(r.matched, ["phishing report"]);
    assert_eq!(r.flow, Some(Flow::GeneralHelp));
    assert_eq!(r.safety_notice, None);
}

#[test]
fn an_unknown_intent_is_refused_naming_rule_and_field() {
    let err = parse_rules("[[rule]]\nname = \"x\"\nintents = [\"shipping\"]\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "routing rule #1 (\"x\"), field `intents`: unknown intent \"shipping\""
    );
}

#[test]
fn an_unknown_action_is_refused() {
    let err = parse_rules("[[rule]]\nname = \"x\"\nteleport = true\n").unwrap_err();
    assert!(err.to_string().contains("teleport"), "{err}");
}

#[test]
fn a_bad_number_is_refused_naming_the_field() {
    let err = parse_rules("[[rule]]\nname = \"x\"\norder_value_above = -5.0\n").unwrap_err();
    assert!(err.to_string().contains("`order_value_above`"), "{err}");
    let err = parse_rules("[[rule]]\nname = \"y\"\nhuman_requests_at_least = 0\n").unwrap_err();
    assert!(err.to_string().contains("#1 (\"y\")"), "{err}");
}

#[test]
fn unknown_flows_and_priorities_are_refused() {
    let err = parse_rules("[[rule]]\nname = \"x\"\nflow = \"magic\"\n").unwrap_err();
    assert!(err.to_string().contains("unknown flow \"magic\""), "{err}");
    let text = "[[rule]]\nname = \"x\"\nescalate = { priority = \"asap\", reason = \"r\" }\n";
    let err = parse_rules(text).unwrap_err();
    assert!(err.to_string().contains("`escalate.priority`"), "{err}");
}
