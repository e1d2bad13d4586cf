//! Understanding a customer message and deciding what to do with it: the intents, the local
//! classifier and mood signals, the routing rules kept as data, and the self-service flows.

pub mod blend;
pub mod classify;
mod cue_gate;
pub mod decide;
pub mod escalation;
pub mod flows;
pub mod help;
pub mod intent;
pub mod model;
pub mod opinion;
pub mod replies;
pub mod rules;
pub mod second_need;
pub mod sentiment;
pub mod signals;
pub mod small_talk;

pub use flows::Flow;
pub use intent::Intent;
