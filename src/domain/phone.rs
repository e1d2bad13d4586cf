//! Phone numbers for callback requests: validated as E.164 and masked wherever they are shown,
//! logged or audited. Only [`Phone::expose`] gives the full number, and only the staff member
//! who claims the case is shown it.

use std::fmt;

/// The tombstone an erased number leaves.
const ERASED: &str = "[erased]";

/// A phone number in E.164 form: `+`, a country code, at most 15 digits in all.
#[derive(Clone, PartialEq, Eq)]
pub struct Phone(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("a phone number starts with + and the country code, like +44 20 7946 0958")]
    NoCountryCode,
    #[error("a phone number holds only digits, spaces, dashes, dots and brackets")]
    BadCharacter,
    #[error("a phone number has 8 to 15 digits including the country code")]
    BadLength,
    #[error("a country code never starts with 0")]
    LeadingZero,
}

impl Phone {
    /// Reads a number as people type it ("+44 (20) 7946-0958") and keeps its E.164 digits.
    pub fn parse(input: &str) -> Result<Phone, PhoneError> {
        let rest = input
            .trim()
            .strip_prefix('+')
            .ok_or(PhoneError::NoCountryCode)?;
        let mut digits = String::with_capacity(16);
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return Err(PhoneError::BadCharacter),
            }
        }
        if !(8..=15).contains(&digits.len()) {
            return Err(PhoneError::BadLength);
        }
        if digits.starts_with('0') {
            return Err(PhoneError::LeadingZero);
        }
        Ok(Phone(format!("+{digits}")))
    }

    /// What stays of a number after the customer's data was erased.
    pub fn erased() -> Phone {
        Phone(ERASED.to_owned())
    }

    pub fn is_erased(&self) -> bool {
        self.0 == ERASED
    }

    /// The whole number, for the one person who will call it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The number with all but the first two and the last two digits hidden: `+44*******58`.
    pub fn masked(&self) -> String {
        if self.is_erased() {
            return ERASED.to_owned();
        }
        let digits = &self.0[1..];
        let hidden = digits.len() - 4;
        format!(
            "+{}{}{}",
            &digits[..2],
            "*".repeat(hidden),
            &digits[hidden + 2..]
        )
    }
}

// Both formatting traits mask, so a number can never reach a log line or an error by accident.
impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_read_as_people_type_them() {
        let phone = Phone::parse(" +44 (20) 7946-0958 ").unwrap();
        assert_eq!(phone.expose(), "+442079460958");
    }

    #[test]
    fn numbers_without_a_country_code_or_with_letters_are_refused() {
        assert_eq!(
            Phone::parse("020 7946 0958"),
            Err(PhoneError::NoCountryCode)
        );
        assert_eq!(
            Phone::parse("+44 20 CALL ME"),
            Err(PhoneError::BadCharacter)
        );
        assert_eq!(
            Phone::parse("+0044 20 7946 0958"),
            Err(PhoneError::LeadingZero)
        );
    }

    #[test]
    fn numbers_must_have_eight_to_fifteen_digits() {
        assert_eq!(Phone::parse("+1234567"), Err(PhoneError::BadLength));
        assert!(Phone::parse("+12345678").is_ok());
        assert!(Phone::parse("+123456789012345").is_ok());
        assert_eq!(
            Phone::parse("+1234567890123456"),
            Err(PhoneError::BadLength)
        );
    }

    #[test]
    fn display_and_debug_show_only_the_masked_number() {
        let phone = Phone::parse("+442079460958").unwrap();
        assert_eq!(phone.to_string(), "+44********58");
        assert_eq!(format!("{phone:?}"), "Phone(+44********58)");
        assert!(!format!("{phone} {phone:?}").contains("7946"));
    }
}
