//! Cases: their states and priorities, the state machine, the rule that links a message to a
//! case, and the case aggregate itself.

mod link;
mod record;
mod state;
mod transition;

pub use link::{link, link_case, CaseLink, Disposition, Linked};
pub use record::Case;
pub(crate) use state::parse_by_name;
pub use state::{parse_name, CaseState, Origin, Priority, UnknownName};
pub use transition::{transition, CaseAction, Transition, TransitionError};
