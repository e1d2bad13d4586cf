//! casebot's configuration: documented defaults from `config/default.toml` (built into the
//! binary), an optional override file, then environment variables. Every value is checked once,
//! here, and a bad one is reported with its key, its value and what was expected.

use std::path::Path;

use serde::Deserialize;
use toml::{Table, Value};

mod layers;
mod secret;
mod sections;

use layers::{apply_env, merge_file, set};
pub use secret::{mask_url_password, DatabaseUrl, Secret};
use sections::{
    discord_ids, limit_settings, llm_settings, orders_settings, queue_config, routing_settings,
    server_addr, sla_policy, RawDiscord, RawLimits, RawLlm, RawOrders, RawQueue, RawRouting,
    RawServer, RawSla,
};
pub use sections::{DiscordIds, LlmSettings, OrdersSettings, QueueConfig, RoutingSettings};

/// The defaults shipped with casebot. Being compiled in, they also list every key that exists.
pub const DEFAULTS: &str = include_str!("../../config/default.toml");
const ENV_PREFIX: &str = "CASEBOT__";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid value {value:?} for {key}: expected {expected}")]
    Invalid {
        key: String,
        value: String,
        expected: String,
    },
    #[error("unknown configuration key {key} (from {origin})")]
    UnknownKey { key: String, origin: String },
    #[error("cannot read config file {path}: {reason}")]
    File { path: String, reason: String },
    #[error("in {origin}: {source}")]
    Rules {
        origin: String,
        #[source]
        source: crate::domain::rules::RuleError,
    },
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database: DatabaseConfig,
    pub cases: CasesConfig,
    pub log: LogConfig,
    pub llm: LlmSettings,
    pub routing: RoutingSettings,
    pub orders: OrdersSettings,
    pub sla: crate::domain::sla::SlaPolicy,
    pub limits: crate::services::limits::LimitSettings,
    pub queue: QueueConfig,
    pub discord: DiscordIds,
    /// Where `casebot run` serves health and metrics.
    pub http_addr: std::net::SocketAddr,
    /// From `DISCORD_TOKEN` only.
    pub discord_token: Option<Secret>,
}

#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    pub url: DatabaseUrl,
    pub max_connections: u32,
    pub connect_timeout_secs: u64,
    pub sqlite_synchronous: String,
}

#[derive(Debug, Clone)]
pub struct CasesConfig {
    pub reopen_window_hours: u32,
    pub max_message_bytes: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    pub format: LogFormat,
    pub level: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Human,
    Json,
}

/// The `[database]` table as written; the URL becomes a [`DatabaseUrl`] afterwards.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    url: String,
    max_connections: i64,
    connect_timeout_secs: i64,
    sqlite_synchronous: String,
}

/// Numbers are read signed, so that a negative one is reported by the range check with its key.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCases {
    reopen_window_hours: i64,
    max_message_bytes: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    database: RawDatabase,
    cases: RawCases,
    log: LogConfig,
    llm: RawLlm,
    routing: RawRouting,
    orders: RawOrders,
    sla: RawSla,
    limits: RawLimits,
    queue: RawQueue,
    discord: RawDiscord,
    server: RawServer,
}

impl Config {
    /// Loads the configuration from the process environment and an optional override file.
    pub fn from_env(file: Option<&Path>) -> Result<Config, ConfigError> {
        Config::load(file, std::env::vars())
    }

    /// Loads defaults, then `file`, then the given environment variables.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let text = match file {
            Some(path) => {
                let read = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })?;
                Some((read, path.display().to_string()))
            }
            None => None,
        };
        let overrides = text.as_ref().map(|(t, name)| (t.as_str(), name.as_str()));
        Config::load_text(overrides, env)
    }

    /// Loads defaults, then the TOML `text` of a file called `name`, then the environment.
    pub fn load_text(
        file: Option<(&str, &str)>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut table: Table = DEFAULTS
            .parse()
            .expect("the built-in defaults are valid TOML");
        if let Some((text, name)) = file {
            let overrides: Table =
                text.parse()
                    .map_err(|e: toml::de::Error| ConfigError::File {
                        path: name.to_owned(),
                        reason: e.message().to_owned(),
                    })?;
            merge_file(&mut table, overrides, name)?;
        }
        let env: Vec<(String, String)> = env.into_iter().collect();
        let mut discord_token = None;
        let mut llm_key = None;
        let mut orders_token = None;
        let mut database_url = None;
        for (name, value) in &env {
            match name.as_str() {
                "DISCORD_TOKEN" if !value.is_empty() => discord_token = Some(Secret::new(value)),
                "CASEBOT_LLM_API_KEY" if !value.is_empty() => llm_key = Some(Secret::new(value)),
                "CASEBOT_ORDERS_TOKEN" if !value.is_empty() => {
                    orders_token = Some(Secret::new(value))
                }
                "DATABASE_URL" if !value.is_empty() => database_url = Some(value.clone()),
                _ => {}
            }
        }
        // DATABASE_URL is the conventional name; CASEBOT__DATABASE__URL, applied below, wins.
        if let Some(url) = database_url {
            set(&mut table, "database", "url", Value::String(url));
        }
        for (name, value) in &env {
            if let Some(path) = name.strip_prefix(ENV_PREFIX) {
                apply_env(&mut table, name, path, value)?;
            }
        }
        let raw: Raw = Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid {
                key: "configuration".into(),
                value: String::new(),
                expected: e.message().to_owned(),
            })?;
        let db = raw.database;
        let config = Config {
            database: DatabaseConfig {
                url: DatabaseUrl::new(db.url),
                max_connections: in_range("database.max_connections", db.max_connections, 1, 1000)?,
                connect_timeout_secs: in_range(
                    "database.connect_timeout_secs",
                    db.connect_timeout_secs,
                    1,
                    600,
                )?,
                sqlite_synchronous: db.sqlite_synchronous,
            },
            cases: CasesConfig {
                reopen_window_hours: in_range(
                    "cases.reopen_window_hours",
                    raw.cases.reopen_window_hours,
                    1,
                    8760,
                )?,
                max_message_bytes: in_range(
                    "cases.max_message_bytes",
                    raw.cases.max_message_bytes,
                    256,
                    1_048_576,
                )?,
            },
            log: raw.log,
            llm: llm_settings(raw.llm, llm_key)?,
            routing: routing_settings(raw.routing)?,
            orders: orders_settings(raw.orders, orders_token)?,
            sla: sla_policy(raw.sla)?,
            limits: limit_settings(raw.limits)?,
            queue: queue_config(raw.queue)?,
            discord: discord_ids(raw.discord)?,
            http_addr: server_addr(raw.server)?,
            discord_token,
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks what types and ranges alone cannot: schemes and names.
    fn validate(&self) -> Result<(), ConfigError> {
        let url = self.database.url.expose();
        if crate::store::Backend::from_url(url).is_err() {
            return Err(invalid(
                "database.url",
                &mask_url_password(url),
                "a sqlite:// or postgres:// URL",
            ));
        }
        if !matches!(self.database.sqlite_synchronous.as_str(), "normal" | "full") {
            let value = &self.database.sqlite_synchronous;
            return Err(invalid(
                "database.sqlite_synchronous",
                value,
                "\"normal\" or \"full\"",
            ));
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            return Err(invalid(
                "log.level",
                &self.log.level,
                "a tracing filter such as \"info\"",
            ));
        }
        Ok(())
    }
}

pub(crate) fn invalid(key: &str, value: &str, expected: &str) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        value: value.into(),
        expected: expected.into(),
    }
}

/// Checks `value` lies in `min..=max` and converts it to the type the setting uses.
pub(crate) fn in_range<T: TryFrom<i64>>(
    key: &str,
    value: i64,
    min: i64,
    max: i64,
) -> Result<T, ConfigError> {
    match T::try_from(value) {
        Ok(v) if (min..=max).contains(&value) => Ok(v),
        _ => {
            let expected = format!("a whole number from {min} to {max}");
            Err(invalid(key, &value.to_string(), &expected))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_defaults_load_without_any_environment() {
        let config = Config::load(None, env(&[])).unwrap();
        assert_eq!(config.database.url.expose(), "sqlite://data/casebot.db");
        assert_eq!(config.cases.reopen_window_hours, 72);
        assert_eq!(config.log.format, LogFormat::Human);
        assert!(config.discord_token.is_none());
    }

    #[test]
    fn environment_variables_override_any_key() {
        let config = Config::load(
            None,
            env(&[
                ("CASEBOT__CASES__REOPEN_WINDOW_HOURS", "24"),
                ("CASEBOT__LOG__FORMAT", "json"),
            ]),
        )
        .unwrap();
        assert_eq!(config.cases.reopen_window_hours, 24);
        assert_eq!(config.log.format, LogFormat::Json);
    }

    #[test]
    fn database_url_is_read_and_the_casebot_variable_wins_over_it() {
        let config = Config::load(None, env(&[("DATABASE_URL", "postgres://db/x")])).unwrap();
        assert_eq!(config.database.url.expose(), "postgres://db/x");
        let config = Config::load(
            None,
            env(&[
                ("DATABASE_URL", "postgres://db/x"),
                ("CASEBOT__DATABASE__URL", "sqlite://y.db"),
            ]),
        )
        .unwrap();
        assert_eq!(config.database.url.expose(), "sqlite://y.db");
    }

    #[test]
    fn a_bad_number_names_the_key_the_value_and_what_was_expected() {
        let err = Config::load(
            None,
            env(&[("CASEBOT__CASES__REOPEN_WINDOW_HOURS", "soon")]),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid value \"soon\" for cases.reopen_window_hours: expected a whole number"
        );
    }

    #[test]
    fn an_out_of_range_value_is_refused() {
        let err =
            Config::load(None, env(&[("CASEBOT__DATABASE__MAX_CONNECTIONS", "0")])).unwrap_err();
        assert!(
            err.to_string().contains("database.max_connections"),
            "{err}"
        );
        assert!(err.to_string().contains("from 1 to 1000"), "{err}");
    }

    #[test]
    fn an_unknown_scheme_is_refused_without_showing_the_password() {
        let err =
            Config::load(None, env(&[("DATABASE_URL", "mysql://u:hunter2@h/db")])).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("database.url") && text.contains("sqlite://"),
            "{text}"
        );
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn an_unknown_log_format_is_refused() {
        let err = Config::load(None, env(&[("CASEBOT__LOG__FORMAT", "xml")])).unwrap_err();
        assert!(err.to_string().contains("xml"), "{err}");
    }

    #[test]
    fn an_unknown_key_is_refused_rather_than_ignored() {
        let err = Config::load(None, env(&[("CASEBOT__CASES__REOPEN_WINDOW", "5")])).unwrap_err();
        assert!(
            matches!(err, ConfigError::UnknownKey { ref key, .. } if key == "cases.reopen_window")
        );
    }

    #[test]
    fn an_override_file_changes_only_what_it_names() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("casebot.toml");
        std::fs::write(&path, "[cases]\nreopen_window_hours = 12\n").unwrap();
        let config = Config::load(Some(&path), env(&[])).unwrap();
        assert_eq!(config.cases.reopen_window_hours, 12);
        assert_eq!(config.cases.max_message_bytes, 16384);
    }

    #[test]
    fn an_override_file_with_a_wrong_type_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("casebot.toml");
        std::fs::write(&path, "[cases]\nreopen_window_hours = \"12\"\n").unwrap();
        let err = Config::load(Some(&path), env(&[])).unwrap_err();
        assert!(
            err.to_string().contains("cases.reopen_window_hours"),
            "{err}"
        );
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let config = Config::load(
            None,
            env(&[
                ("DISCORD_TOKEN", "tok-abc.def"),
                ("DATABASE_URL", "postgres://casebot:hunter2@db:5432/casebot"),
            ]),
        )
        .unwrap();
        let shown = format!("{config:?}");
        assert!(!shown.contains("tok-abc.def"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("postgres://casebot:***@db:5432/casebot"),
            "{shown}"
        );
    }

    #[test]
    fn a_bad_rules_file_is_refused_at_load_naming_the_rule_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rules.toml");
        std::fs::write(&path, "[[rule]]\nname = \"vip\"\nintents = [\"vip\"]\n").unwrap();
        let err = Config::load(
            None,
            env(&[("CASEBOT__ROUTING__RULES_FILE", path.to_str().unwrap())]),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("routing rule #1 (\"vip\"), field `intents`"),
            "{text}"
        );
    }

    #[test]
    fn the_order_number_format_is_configurable_and_checked() {
        let config = Config::load(
            None,
            env(&[("CASEBOT__ROUTING__ORDER_NUMBER_PATTERN", r"\bord-\d{6}\b")]),
        )
        .unwrap();
        assert!(config.routing.order_number_pattern.is_match("ord-123456"));
        let err = Config::load(
            None,
            env(&[("CASEBOT__ROUTING__ORDER_NUMBER_PATTERN", "(")]),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("routing.order_number_pattern"),
            "{err}"
        );
    }

    #[test]
    fn sla_deadlines_default_to_the_documented_values_and_are_checked() {
        let config = Config::load(None, env(&[])).unwrap();
        assert_eq!(config.sla, crate::domain::sla::SlaPolicy::default());
        let err =
            Config::load(None, env(&[("CASEBOT__SLA__URGENT_RESOLUTION_HOURS", "0")])).unwrap_err();
        assert!(
            err.to_string().contains("sla.urgent_resolution_hours"),
            "{err}"
        );
    }

    #[test]
    fn queue_sweeps_default_to_once_a_minute_with_a_three_minute_callback_deadline() {
        let config = Config::load(None, env(&[])).unwrap();
        assert_eq!(config.queue.sweep_interval.as_secs(), 60);
        assert_eq!(config.queue.callback_deadline, chrono::Duration::minutes(3));
        assert_eq!(
            config.queue.stuck,
            crate::services::stuck::StuckPolicy::default()
        );
        let err =
            Config::load(None, env(&[("CASEBOT__LIMITS__OUTBOUND_PER_SECOND", "51")])).unwrap_err();
        assert!(
            err.to_string().contains("limits.outbound_per_second"),
            "{err}"
        );
    }

    #[test]
    fn rate_limits_default_to_five_messages_in_ten_seconds_and_are_checked() {
        let config = Config::load(None, env(&[])).unwrap();
        assert_eq!(
            config.limits,
            crate::services::limits::LimitSettings::default()
        );
        let err =
            Config::load(None, env(&[("CASEBOT__LIMITS__CUSTOMER_MESSAGES", "0")])).unwrap_err();
        assert!(
            err.to_string().contains("limits.customer_messages"),
            "{err}"
        );
    }

    #[test]
    fn routing_thresholds_are_read_in_dollars_and_kept_in_cents() {
        let config = Config::load(
            None,
            env(&[("CASEBOT__ROUTING__HIGH_VALUE_DOLLARS", "750")]),
        )
        .unwrap();
        assert_eq!(config.routing.high_value_cents, 75_000);
        assert_eq!(config.routing.auto_refund_cap_cents, 10_000);
    }

    #[test]
    fn an_http_order_source_needs_a_url_and_unknown_sources_are_refused() {
        let err = Config::load(None, env(&[("CASEBOT__ORDERS__SOURCE", "http")])).unwrap_err();
        assert!(err.to_string().contains("orders.base_url"), "{err}");
        let err = Config::load(None, env(&[("CASEBOT__ORDERS__SOURCE", "erp")])).unwrap_err();
        assert!(err.to_string().contains("orders.source"), "{err}");
    }

    #[test]
    fn the_llm_is_off_by_default_and_checked_when_set() {
        let config = Config::load(None, env(&[])).unwrap();
        assert!(config.llm.base_url.is_none());
        let err = Config::load(None, env(&[("CASEBOT__LLM__BASE_URL", "ftp://x")])).unwrap_err();
        assert!(err.to_string().contains("llm.base_url"), "{err}");
        let err = Config::load(
            None,
            env(&[("CASEBOT__LLM__BASE_URL", "http://127.0.0.1:9/v1")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("llm.model"), "{err}");
        let config = Config::load(
            None,
            env(&[
                ("CASEBOT__LLM__BASE_URL", "http://127.0.0.1:9/v1"),
                ("CASEBOT__LLM__MODEL", "m"),
                ("CASEBOT_LLM_API_KEY", "sk-secret"),
            ]),
        )
        .unwrap();
        assert_eq!(
            config.llm.base_url.unwrap().as_str(),
            "http://127.0.0.1:9/v1/"
        );
        assert!(!format!("{:?}", config.llm.api_key).contains("sk-secret"));
    }

    #[test]
    fn urls_without_a_password_are_shown_as_they_are() {
        assert_eq!(
            mask_url_password("sqlite://data/x.db"),
            "sqlite://data/x.db"
        );
        assert_eq!(mask_url_password("postgres://u@h/db"), "postgres://u@h/db");
    }
}
