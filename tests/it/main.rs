//! casebot's integration suite: one binary, every story written once and run against SQLite
//! always and PostgreSQL whenever `CASEBOT_TEST_POSTGRES_URL` is set (in CI it must be).

mod support;

mod architecture;
mod audit_log;
mod bad_input;
mod corrections;
mod discord;
mod help;
mod intake;
mod llm;
mod llm_real;
mod queue;
mod sla;
mod store;
mod upgrade;
