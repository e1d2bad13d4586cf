//! The properties casebot's parsers and redactors must keep for any input at all. The fuzz
//! targets in `fuzz/` drive these with coverage-guided input (the long form); the test suite
//! drives them with generated input on every run (the quick form). Each panics when a property
//! breaks, which is what both harnesses report.

use crate::discord::custom_id::Control;
use crate::domain::personal::{redact_personal, PersonalData};
use crate::domain::redact::redact_card_numbers;

/// The classifier answers any text, with a confidence between 0 and 1.
pub fn check_classifier(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let decision = crate::domain::signals::first_decision(&text);
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
    let _ = crate::config::Config::load_text(Some((&text, "fuzz.toml")), Vec::new());
    let _ = crate::domain::rules::parse_rules(&text);
}

/// Whatever the order API sends back decodes or fails cleanly.
pub fn check_order_json(data: &[u8]) {
    let _ = serde_json::from_slice::<crate::domain::orders::Order>(data);
    let _ = serde_json::from_slice::<crate::domain::orders::Billing>(data);
}
