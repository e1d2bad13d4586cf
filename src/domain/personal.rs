//! Personal data in public posts: e-mail addresses, phone numbers and passwords (card numbers
//! are handled by `redact`). A public mention that contains any of them is removed from the
//! channel where the bot may, and only a redacted copy is stored.

use std::sync::LazyLock;

use regex::Regex;

/// A kind of personal data found in a public post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonalData {
    CardNumber,
    Email,
    Phone,
    Password,
}

impl PersonalData {
    /// How a reply names it, without repeating it.
    pub fn describe(self) -> &'static str {
        match self {
            PersonalData::CardNumber => "a card number",
            PersonalData::Email => "an e-mail address",
            PersonalData::Phone => "a phone number",
            PersonalData::Password => "a password",
        }
    }
}

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b")
        .expect("a valid pattern")
});

/// A phone number: an optional +, then 8 to 15 digits in groups separated by spaces, dashes,
/// dots or brackets. The retailer's order numbers (3-7-7 digits) are left alone by the caller.
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\+|\b)\d(?:[\s().-]{0,2}\d){7,14}\b").expect("a valid pattern")
});

static ORDER_NUMBER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b\d{3}-\d{7}-\d{7}\b").expect("a valid pattern"));

/// "my password is hunter2", "password: hunter2", "pw = hunter2": the word after it goes.
static PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(pass(?:word|code)?|pwd?)\b(\s*(?:is|:|=)\s*)(\S+)")
        .expect("a valid pattern")
});

/// Returns `text` with e-mail addresses, phone numbers and passwords replaced by placeholders,
/// and the kinds that were found (each once, in a fixed order).
pub fn redact_personal(text: &str) -> (String, Vec<PersonalData>) {
    let mut found = Vec::new();
    let after_password = PASSWORD.replace_all(text, |c: &regex::Captures<'_>| {
        found.push(PersonalData::Password);
        format!("{}{}[password removed]", &c[1], &c[2])
    });
    let after_email = EMAIL.replace_all(&after_password, |_: &regex::Captures<'_>| {
        found.push(PersonalData::Email);
        "[e-mail removed]".to_owned()
    });
    // Order numbers look like long phone numbers; a match touching one is left alone.
    let orders: Vec<(usize, usize)> = ORDER_NUMBER
        .find_iter(&after_email)
        .map(|m| (m.start(), m.end()))
        .collect();
    let mut out = String::with_capacity(after_email.len());
    let mut copied = 0;
    for phone in PHONE.find_iter(&after_email) {
        let overlaps = orders
            .iter()
            .any(|&(start, end)| phone.start() < end && start < phone.end());
        if overlaps {
            continue;
        }
        out.push_str(&after_email[copied..phone.start()]);
        out.push_str("[phone number removed]");
        copied = phone.end();
        found.push(PersonalData::Phone);
    }
    out.push_str(&after_email[copied..]);
    found.sort_unstable();
    found.dedup();
    (out, found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_phones_and_passwords_are_replaced_and_named() {
        let (text, found) = redact_personal(
            "I'm ana.lopez@example.com, call +44 20 7946 0958, my password is hunter2!",
        );
        assert_eq!(
            found,
            [
                PersonalData::Email,
                PersonalData::Phone,
                PersonalData::Password
            ]
        );
        assert!(!text.contains("ana.lopez"));
        assert!(!text.contains("7946"));
        assert!(!text.contains("hunter2"));
        assert!(
            text.contains("[e-mail removed]") && text.contains("password is [password removed]")
        );
    }

    #[test]
    fn order_numbers_and_ordinary_numbers_stay() {
        let text = "where is 112-4430938-2412367? it arrived 3 days late, 2 of 5 items";
        assert_eq!(redact_personal(text), (text.to_owned(), Vec::new()));
    }

    #[test]
    fn descriptions_never_repeat_the_data() {
        assert_eq!(PersonalData::Phone.describe(), "a phone number");
    }
}
