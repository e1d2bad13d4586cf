//! The properties casebot's parsers and redactors must keep for any input at all. The quick form
//! (`fuzz_quick.rs`) runs them over generated input in every test run; the fuzz targets in
//! `fuzz/` (a crate of their own, which includes this file) run them under libFuzzer.

use casebot::config::Config;
use casebot::discord::custom_id::Control;
use casebot::domain::personal::{redact_personal, PersonalData};
use casebot::domain::redact::redact_card_numbers;
use casebot::domain::routing::{rules::parse_rules, signals::first_decision};

/// The classifier answers any text, with a confidence between 0 and 1.
pub fn check_classifier(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let decision = first_decision(&text);
    assert!(
        (0.0..=1.0).contains(&decision.confidence),
        "confidence {} out of range",
        decision.confidence
    );
    assert!(decision.sentiment.is_finite());
}

/// After redaction no card number, e-mail address or phone number is left to find.
pub fn check_redactors(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (once, _) = redact_card_numbers(&text);
    let (twice, left) = redact_card_numbers(&once);
    assert_eq!(left, 0, "a card number survived redaction");
    assert_eq!(once, twice);
    let (clean, _) = redact_personal(&once);
    let (_, found) = redact_personal(&clean);
    assert!(
        !found.contains(&PersonalData::Email) && !found.contains(&PersonalData::Phone),
        "personal data survived redaction: {found:?}"
    );
}

/// A button id casebot accepts is exactly one it could have made.
pub fn check_custom_id(data: &[u8]) {
    let Ok(id) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(control) = Control::parse(id) {
        assert_eq!(control.to_custom_id(), id, "{id:?} parsed as {control:?}");
    }
}

/// Configuration and routing rules are accepted or refused with an error, never a panic.
pub fn check_config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = Config::load_text(Some((&text, "fuzz.toml")), Vec::new());
    let _ = parse_rules(&text);
}

/// Whatever the order API sends back decodes or fails cleanly.
pub fn check_order_json(data: &[u8]) {
    let _ = serde_json::from_slice::<casebot::domain::orders::Order>(data);
    let _ = serde_json::from_slice::<casebot::domain::orders::Billing>(data);
}
