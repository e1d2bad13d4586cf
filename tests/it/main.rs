//! casebot's integration suite: one binary, every story written once and run against SQLite
//! always and PostgreSQL whenever `CASEBOT_TEST_POSTGRES_URL` is set (in CI it must be).

mod fake_http;
mod fuzz_quick;
mod support;

mod audit_log;
mod bad_input;
mod cli;
mod concurrency;
mod discord;
mod http_orders;
mod intake;
mod llm;
mod orders;
mod outbox;
mod queue;
mod reliability;
mod routing;
mod sla;
