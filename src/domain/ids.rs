//! Typed ids, so that a case number is never passed where a customer id or an outbox id belongs.
//! Numbers are casebot's own (database ids); strings are the chat platform's user ids.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

macro_rules! number_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.trim().trim_start_matches('#').parse().map($name)
            }
        }
    };
}

macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
        )]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn new(id: impl Into<String>) -> $name {
                $name(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> $name {
                $name(id.to_owned())
            }
        }
    };
}

number_id!(
    /// A case number, as customers and staff see it (`#12`).
    CaseId
);
number_id!(
    /// casebot's id for a customer.
    CustomerId
);
number_id!(
    /// An entry in the outbox; its nonce on the platform derives from it.
    OutboxId
);
impl CaseId {
    /// Stands for the case a change opens, until the store has given it its number. Text that
    /// names it (a reply saying "your case number is ...") shows [`NEW_CASE_MARK`], which the
    /// store replaces with the number once it has one.
    pub const NEW: CaseId = CaseId(0);
}

/// How [`CaseId::NEW`] prints, until the store replaces it with the case's number.
pub const NEW_CASE_MARK: &str = "{new case}";

impl fmt::Display for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            CaseId::NEW => f.write_str(NEW_CASE_MARK),
            CaseId(n) => n.fmt(f),
        }
    }
}

impl fmt::Display for CustomerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for OutboxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl CustomerId {
    /// Stands for the customer a change creates, until the store has given them their id.
    pub const NEW: CustomerId = CustomerId(0);
}

text_id!(
    /// A staff member: their user id on the chat platform (or a name on the command line).
    StaffId
);
text_id!(
    /// A customer's user id on the chat platform: where their DMs go.
    UserId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_number_reads_with_or_without_its_hash_sign() {
        assert_eq!("#12".parse::<CaseId>(), Ok(CaseId(12)));
        assert_eq!(" 12 ".parse::<CaseId>(), Ok(CaseId(12)));
        assert!("twelve".parse::<CaseId>().is_err());
    }

    #[test]
    fn ids_print_as_their_plain_value() {
        assert_eq!(CaseId(7).to_string(), "7");
        assert_eq!(StaffId::new("ana").to_string(), "ana");
    }
}
