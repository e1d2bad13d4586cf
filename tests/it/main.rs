//! casebot's integration suite: one binary, every story written once and run against SQLite
//! always and PostgreSQL whenever `CASEBOT_TEST_POSTGRES_URL` is set (in CI it must be).

mod architecture;
mod audit_log;
mod bad_input;
mod cli;
mod concurrency;
mod corrections;
mod discord;
mod fuzz_properties;
mod fuzz_quick;
mod help;
mod http_orders;
mod intake;
mod llm;
mod llm_real;
mod orders;
mod outbox;
mod queue;
mod reliability;
mod routing;
mod sla;
mod store;
mod support;
mod upgrade;
