//! What a customer needs: the intent names casebot routes on, spelled exactly as they appear in
//! output, configuration and the audit log.

use std::fmt;
use std::str::FromStr;

use crate::domain::case::UnknownName;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Intent {
    AccountSecurity,
    PhishingReport,
    MissingDelivery,
    LateDelivery,
    OrderTracking,
    ReturnOrExchange,
    Refund,
    BillingSubscription,
    AddressChange,
    HumanRequest,
    TechnicalIssue,
    ProductQuestion,
    Other,
}

impl Intent {
    /// Every intent, in the order they are resolved when several apply: security first, then the
    /// problems that get worse with waiting, then the specific requests, then general tracking
    /// (a "where is my refund" is about the refund), then questions.
    pub const BY_PRECEDENCE: [Intent; 13] = [
        Intent::AccountSecurity,
        Intent::PhishingReport,
        Intent::MissingDelivery,
        Intent::LateDelivery,
        Intent::ReturnOrExchange,
        Intent::Refund,
        Intent::BillingSubscription,
        Intent::AddressChange,
        Intent::OrderTracking,
        Intent::HumanRequest,
        Intent::TechnicalIssue,
        Intent::ProductQuestion,
        Intent::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Intent::AccountSecurity => "account_security",
            Intent::PhishingReport => "phishing_report",
            Intent::MissingDelivery => "missing_delivery",
            Intent::LateDelivery => "late_delivery",
            Intent::OrderTracking => "order_tracking",
            Intent::ReturnOrExchange => "return_or_exchange",
            Intent::Refund => "refund",
            Intent::BillingSubscription => "billing_subscription",
            Intent::AddressChange => "address_change",
            Intent::HumanRequest => "human_request",
            Intent::TechnicalIssue => "technical_issue",
            Intent::ProductQuestion => "product_question",
            Intent::Other => "other",
        }
    }
}

impl FromStr for Intent {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Intent, UnknownName> {
        Intent::BY_PRECEDENCE
            .into_iter()
            .find(|i| i.as_str() == s)
            .ok_or_else(|| UnknownName {
                kind: "intent",
                value: s.to_owned(),
            })
    }
}

impl serde::Serialize for Intent {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl fmt::Display for Intent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_intent_name_round_trips() {
        for intent in Intent::BY_PRECEDENCE {
            assert_eq!(intent.as_str().parse::<Intent>().unwrap(), intent);
        }
        assert!("shipping".parse::<Intent>().is_err());
    }

    #[test]
    fn security_is_resolved_before_everything_else() {
        assert_eq!(Intent::BY_PRECEDENCE[0], Intent::AccountSecurity);
    }
}
