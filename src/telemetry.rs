//! Logging set-up. Logs go to stderr so that stdout stays clean for command output such as JSON
//! lines. What may be logged is a rule of the code, not of this file: ids and counts, never message
//! text, tokens or passwords.

use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// Libraries that log what passes through them (gateway payloads, HTTP bodies) at their debug
/// and trace levels: held at warn whatever the filter says, since those payloads carry message
/// text and the token.
const QUIET: [&str; 6] = [
    "serenity=warn",
    "tungstenite=warn",
    "tokio_tungstenite=warn",
    "reqwest=warn",
    "hyper=warn",
    "hyper_util=warn",
];

/// Installs the global subscriber. `RUST_LOG`, when set, overrides the configured level (but
/// never lets the libraries above log payloads).
pub fn init(config: &LogConfig) {
    let mut filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.level));
    for directive in QUIET {
        if let Ok(directive) = directive.parse() {
            filter = filter.add_directive(directive);
        }
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    // A second init (tests, or a library user with its own subscriber) is harmless.
    let _ = match config.format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
