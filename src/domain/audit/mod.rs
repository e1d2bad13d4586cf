//! The tamper-evident audit log: what an event holds, the per-case chains it is sealed onto, the
//! checkpoints that tie the chains together, and how a stored log is checked.
//!
//! Each event's hash covers its own fields and the hash of the event before it in its chain, so
//! editing, deleting, inserting or reordering any stored event breaks its chain at that position.
//! Details carry digests of message text rather than the text, so erasing personal data later
//! leaves every hash intact.

mod action;
mod checkpoint;
mod event;
pub mod legacy;
mod verify;

pub use action::Action;
pub use checkpoint::{Checkpoint, SealPolicy};
pub use event::{
    seal_all, Actor, ActorKind, AuditEvent, ChainHead, ChainId, NewAuditEvent, GENESIS_HASH,
};
pub use verify::{LogReport, LogVerifier, Problem};
