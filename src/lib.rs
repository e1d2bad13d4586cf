//! casebot: a Discord bot for social customer care. Customers mention it or DM it, every
//! conversation becomes a case, and support staff take over the cases that need a person.
//!
//! The crate is layered: [`domain`] is pure, [`services`] are the use cases, [`store`] is the only
//! code that speaks SQL, and [`cli`] is the adapter the binary runs.

pub mod bench;
pub mod cli;
pub mod config;
pub mod console;
pub mod demo;
pub mod discord;
pub mod domain;
pub mod evaluation;
pub mod fuzzing;
pub mod llm;
pub mod metrics;
pub mod orders;
pub mod render;
pub mod replay;
pub mod run;
pub mod sandbox;
pub mod services;
pub mod store;
pub mod telemetry;
