//! The pure core of casebot: case states, intake decisions, redaction and the audit chain.
//! Nothing in here does I/O, awaits, or knows about sqlx or Discord, so every rule is unit-tested
//! with plain values.

pub mod audit;
pub mod case;
pub mod classify;
pub mod flows;
pub mod intent;
pub mod message;
pub mod orders;
pub mod outbox;
pub mod personal;
pub mod phone;
pub mod redact;
pub mod rules;
pub mod sentiment;
pub mod signals;
pub mod sla;
pub mod staff;

pub use audit::{ActorKind, AuditEvent, ChainProblem, NewAuditEvent};
pub use case::{CaseAction, CaseLink, CaseState, Origin, Priority, Transition, TransitionError};
pub use message::{ChannelKind, InboundMessage, PreparedText};
pub use outbox::{Destination, OutboxKind, Outgoing};
pub use phone::Phone;
