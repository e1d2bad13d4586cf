//! The quick form of the fuzz targets: the properties casebot's parsers and redactors must keep
//! for any input at all, over generated input (random bytes spliced with the tokens each parser
//! cares about). Each property panics when it breaks; a failure names the input.

use crate::fuzz_properties::{
    check_classifier, check_config, check_custom_id, check_order_json, check_redactors,
};

/// A small deterministic generator (xorshift), so a failure reproduces.
struct Inputs {
    state: u64,
}

const TOKENS: &[&str] = &[
    "cb:",
    "claim",
    "rate",
    ":",
    "1",
    "0",
    "-",
    "99999999999999999999",
    "4111 1111 1111 1111",
    "4111-1111-1111-1111",
    "378282246310005",
    "@",
    ".com",
    "+44 20 7946 0958",
    "password is ",
    "pw=",
    "112-4430938-2412367",
    "[[rule]]",
    "intents = [",
    "\"refund\"",
    "]",
    "\n",
    "=",
    "{",
    "}",
    "\"number\":",
    "\"total_cents\":",
    "\"status\":\"delivered\"",
    "null",
    "[",
    "[limits]",
    "customer_messages = ",
    "é",
    "\u{202e}",
    "\u{0301}",
    "\0",
    "😡",
    "NEVER",
    "hacked",
    "refund",
    "where is my order",
    "!!!",
];

impl Inputs {
    fn next_u64(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }

    fn next(&mut self) -> Vec<u8> {
        let parts = self.next_u64() % 12;
        let mut out = Vec::new();
        for _ in 0..parts {
            let pick = self.next_u64();
            if pick.is_multiple_of(3) {
                let len = (pick >> 8) % 8;
                out.extend((0..len).map(|_| (self.next_u64() & 0xff) as u8));
            } else {
                out.extend_from_slice(TOKENS[(pick >> 8) as usize % TOKENS.len()].as_bytes());
            }
        }
        out
    }
}

fn each_input(seed: u64, n: usize, check: fn(&[u8])) {
    let mut inputs = Inputs { state: seed };
    for i in 0..n {
        let input = inputs.next();
        let outcome = std::panic::catch_unwind(|| check(&input));
        assert!(outcome.is_ok(), "input #{i} broke the property: {input:?}");
    }
}

#[test]
fn the_classifier_answers_any_text() {
    each_input(1, 5_000, check_classifier);
}

#[test]
fn no_card_number_email_or_phone_survives_redaction() {
    each_input(2, 20_000, check_redactors);
}

#[test]
fn only_button_ids_casebot_made_are_accepted() {
    each_input(3, 50_000, check_custom_id);
}

#[test]
fn configuration_and_rules_never_panic() {
    each_input(4, 3_000, check_config);
}

#[test]
fn order_json_decodes_or_fails_cleanly() {
    each_input(5, 50_000, check_order_json);
}
