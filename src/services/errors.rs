//! The errors services return to adapters, and the one place they become words for the person who
//! tried: [`ActionError::for_people`]. Adapters show that text (Discord privately, the dashboard
//! on the page, the command line on stderr) and never a database error.

use crate::domain::ids::CaseId;
use crate::domain::phone::PhoneError;
use crate::domain::staff::AuthError;
use crate::domain::StaffId;
use crate::domain::TransitionError;
use crate::store::StoreError;

/// A change kept conflicting with other writers; trying again later may work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the case kept changing while the action was applied; try again")]
pub struct Contended;

/// Why an action on a case did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("case {0} does not exist")]
    NotFound(CaseId),
    #[error(transparent)]
    Refused(#[from] TransitionError),
    #[error(transparent)]
    Unauthorized(#[from] AuthError),
    #[error(transparent)]
    Contended(#[from] Contended),
    #[error(transparent)]
    InvalidPhone(#[from] PhoneError),
    #[error("case {0} has no callback to make")]
    NoCallback(CaseId),
    #[error("a reply or note needs some text")]
    EmptyText,
    #[error("case {0} is not yours")]
    NotYourCase(CaseId),
    #[error("a rating is a whole number from 1 to 5")]
    BadRating,
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ActionError {
    /// What the person who tried reads: one sentence, capitalised, never a database error.
    pub fn for_people(&self) -> String {
        self.for_people_naming(|staff| staff.to_string())
    }

    /// The same, with staff members named as the platform shows them (a mention on Discord).
    pub fn for_people_naming(&self, name: impl Fn(&StaffId) -> String) -> String {
        match self {
            ActionError::Refused(TransitionError::AlreadyClaimed { by }) => {
                format!("Already claimed by {}.", name(by))
            }
            ActionError::Store(_) => "Something went wrong on our side; please try again.".into(),
            other => sentence(&other.to_string()),
        }
    }

    /// Whether trying the same thing again later may work.
    pub fn is_transient(&self) -> bool {
        match self {
            ActionError::Store(e) => e.is_transient(),
            ActionError::Contended(_) => true,
            _ => false,
        }
    }
}

/// Capitalises the first letter and ends with a full stop.
pub fn sentence(text: &str) -> String {
    let mut text = text.trim().trim_end_matches('.').to_owned();
    if let Some(first) = text.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    format!("{text}.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_read_as_sentences_and_database_errors_are_never_shown() {
        let claimed = ActionError::Refused(TransitionError::AlreadyClaimed { by: "ana".into() });
        assert_eq!(claimed.for_people(), "Already claimed by ana.");
        assert_eq!(
            ActionError::EmptyText.for_people(),
            "A reply or note needs some text."
        );
        let db = ActionError::Store(StoreError::Corrupt("secret table detail".into()));
        assert!(!db.for_people().contains("secret"));
    }
}
