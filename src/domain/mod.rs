//! The pure core of casebot: cases and their state machine, the units of work services hand the
//! store, the audit chains, routing, redaction and rendering. Nothing in here does I/O, awaits,
//! or knows about sqlx or Discord, so every rule is unit-tested with plain values.

pub mod audit;
pub mod case;
pub mod change;
pub mod correction;
pub mod ids;
pub mod message;
pub mod orders;
pub mod outbox;
pub mod personal;
pub mod phone;
pub mod policy;
pub mod redact;
pub mod routing;
pub mod sla;
pub mod staff;
pub mod stuck;
pub mod views;

pub use audit::{Action, Actor, ActorKind, AuditEvent, NewAuditEvent};
pub use case::{Case, CaseAction, CaseLink, CaseState, Origin, Priority, TransitionError};
pub use change::{Applied, Change};
pub use ids::{CaseId, CustomerId, OutboxId, StaffId, UserId};
pub use message::{ChannelKind, InboundMessage, PreparedText};
pub use outbox::{Destination, OutboxKind, Outgoing};
pub use phone::Phone;
pub use routing::{flows, intent, Flow, Intent};
