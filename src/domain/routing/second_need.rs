//! A second need in one message: the classifier names one intent, but "change my address, and I
//! want a refund" asks for two. The first is answered; this finds a clear second one in the cue
//! scores, conservatively, and says in the customer's words that it is noted.

use super::intent::Intent;
use super::model::{slot, INTENTS};

/// How strong the cues for a second need must be: one precise phrase ("change my address",
/// "refund", "forgot my password"), not a passing word.
pub const SECOND_NEED_CUE: f32 = 2.5;

/// Intents that are parts of one need: a late parcel and where it is; a return, its refund and
/// the charge. A second need from the same group is the same need.
fn group(intent: Intent) -> Option<u8> {
    use Intent::*;
    match intent {
        MissingDelivery | LateDelivery | OrderTracking => Some(1),
        ReturnOrExchange | Refund | BillingSubscription => Some(2),
        AddressChange => Some(3),
        TechnicalIssue => Some(4),
        ProductQuestion => Some(5),
        // Security, phishing, a person and the rest are not noted as a second need: the first
        // two go to a person who reads everything, insult words make them noisy, and the others
        // are not needs of their own.
        AccountSecurity | PhishingReport | HumanRequest | Other => None,
    }
}

/// A clear second need in a message whose main need is `primary`, read from the cue scores (in
/// `Intent::BY_PRECEDENCE` order): the first intent by precedence, outside the primary's group,
/// whose cues are strong. None when security or a phishing report comes first (a person reads
/// it all), and none when nothing is strong: this errs towards saying nothing.
pub fn second_need(primary: Intent, cues: &[f32; INTENTS]) -> Option<Intent> {
    if matches!(primary, Intent::AccountSecurity | Intent::PhishingReport) {
        return None;
    }
    let own = group(primary);
    Intent::BY_PRECEDENCE.into_iter().find(|&i| {
        i != primary && group(i).is_some() && group(i) != own && cues[slot(i)] >= SECOND_NEED_CUE
    })
}

/// A second need in the customer's words.
fn need_words(intent: Intent) -> &'static str {
    match intent {
        Intent::MissingDelivery => "a missing parcel",
        Intent::LateDelivery => "a late delivery",
        Intent::OrderTracking => "where an order is",
        Intent::ReturnOrExchange => "a return or exchange",
        Intent::Refund => "a refund",
        Intent::BillingSubscription => "a charge or subscription",
        Intent::AddressChange => "changing an address",
        Intent::TechnicalIssue => "a technical problem",
        Intent::ProductQuestion => "a question about a product",
        _ => "something else",
    }
}

/// The sentence that tells the customer their second need is noted: for the person when the
/// case goes to one, for the next message otherwise.
pub fn second_need_note(need: Intent, to_a_person: bool) -> String {
    let what = need_words(need);
    if to_a_person {
        format!(
            "You also mentioned {what}: I've noted it on your case for the person who picks it up."
        )
    } else {
        format!(
            "You also mentioned {what}: I've noted it on your case, so ask me about it once this \
             is sorted."
        )
    }
}
