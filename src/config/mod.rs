//! casebot's configuration: documented defaults from `config/default.toml` (built into the
//! binary), an optional override file, then environment variables. Every value is checked once,
//! here, and a bad one is reported with its key, its value and what was expected.

use std::path::Path;

use serde::Deserialize;
use toml::{Table, Value};

mod help;
mod layers;
mod llm;
mod sections;

pub use crate::secrets::{mask_url_password, DatabaseUrl, Secret};
pub use help::{load_articles, HelpSettings};
use layers::{apply_env, merge_file, set};
pub use llm::LlmSettings;
use llm::{llm_settings, RawLlm};
use sections::{
    discord_ids, limit_settings, orders_settings, queue_config, routing_settings, seal_policy,
    server_addr, sla_policy, RawAudit, RawDiscord, RawLimits, RawOrders, RawQueue, RawRouting,
    RawServer, RawSla,
};
pub use sections::{load_model, DiscordIds, OrdersSettings, QueueConfig, RoutingSettings};

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
        source: crate::domain::routing::rules::RuleError,
    },
    #[error(transparent)]
    Help(crate::domain::routing::help::HelpError),
    #[error("intent model {path}: {source}")]
    Model {
        path: String,
        #[source]
        source: crate::domain::routing::model::ModelError,
    },
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database: DatabaseConfig,
    pub cases: CasesConfig,
    pub log: LogConfig,
    pub llm: LlmSettings,
    pub routing: RoutingSettings,
    /// The help articles and the phishing report address.
    pub help: HelpSettings,
    pub orders: OrdersSettings,
    pub sla: crate::domain::sla::SlaPolicy,
    pub limits: crate::domain::policy::LimitSettings,
    pub queue: QueueConfig,
    pub discord: DiscordIds,
    /// When the audit sealer writes checkpoints.
    pub audit: crate::domain::audit::SealPolicy,
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
    /// PostgreSQL only: how many group-commit writers run side by side (SQLite has one).
    pub write_lanes: usize,
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
    write_lanes: i64,
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
    help: help::RawHelp,
    orders: RawOrders,
    sla: RawSla,
    limits: RawLimits,
    queue: RawQueue,
    discord: RawDiscord,
    audit: RawAudit,
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
        let secrets = Secrets::from_env(&env);
        // DATABASE_URL is the conventional name; CASEBOT__DATABASE__URL, applied below, wins.
        if let Some(url) = secrets.database_url {
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
        let config = Config {
            database: database_config(raw.database)?,
            cases: cases_config(raw.cases)?,
            log: raw.log,
            llm: llm_settings(raw.llm, secrets.llm_key)?,
            routing: routing_settings(raw.routing)?,
            help: help::help_settings(raw.help)?,
            orders: orders_settings(raw.orders, secrets.orders_token)?,
            sla: sla_policy(raw.sla)?,
            limits: limit_settings(raw.limits)?,
            queue: queue_config(raw.queue)?,
            discord: discord_ids(raw.discord)?,
            audit: seal_policy(raw.audit)?,
            http_addr: server_addr(raw.server)?,
            discord_token: secrets.discord_token,
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

/// The secrets and the conventional database variable, read from the environment only.
struct Secrets {
    discord_token: Option<Secret>,
    llm_key: Option<Secret>,
    orders_token: Option<Secret>,
    database_url: Option<String>,
}

impl Secrets {
    fn from_env(env: &[(String, String)]) -> Secrets {
        let find = |key: &str| {
            env.iter()
                .rev()
                .find(|(name, value)| name == key && !value.is_empty())
                .map(|(_, value)| value.clone())
        };
        Secrets {
            discord_token: find("DISCORD_TOKEN").map(|v| Secret::new(&v)),
            llm_key: find("CASEBOT_LLM_API_KEY").map(|v| Secret::new(&v)),
            orders_token: find("CASEBOT_ORDERS_TOKEN").map(|v| Secret::new(&v)),
            database_url: find("DATABASE_URL"),
        }
    }
}

fn database_config(db: RawDatabase) -> Result<DatabaseConfig, ConfigError> {
    Ok(DatabaseConfig {
        url: DatabaseUrl::new(db.url),
        max_connections: in_range("database.max_connections", db.max_connections, 1, 1000)?,
        connect_timeout_secs: in_range(
            "database.connect_timeout_secs",
            db.connect_timeout_secs,
            1,
            600,
        )?,
        sqlite_synchronous: db.sqlite_synchronous,
        write_lanes: in_range("database.write_lanes", db.write_lanes, 1, 64)?,
    })
}

fn cases_config(cases: RawCases) -> Result<CasesConfig, ConfigError> {
    Ok(CasesConfig {
        reopen_window_hours: in_range(
            "cases.reopen_window_hours",
            cases.reopen_window_hours,
            1,
            8760,
        )?,
        max_message_bytes: in_range(
            "cases.max_message_bytes",
            cases.max_message_bytes,
            256,
            1_048_576,
        )?,
    })
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
mod tests;
