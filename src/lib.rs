//! casebot: a Discord bot for social customer care.

pub mod app;
pub mod config;
pub mod discord;
pub mod domain;
pub mod llm;
pub mod metrics;
pub mod orders;
pub mod render;
pub mod run;
pub mod secrets;
pub mod services;
pub mod store;
pub mod telemetry;
