//! The typed sections for routing, the order source, SLAs, limits, the queue, Discord, the server
//! and the audit seal, each built from its raw TOML table and checked.

use serde::Deserialize;

use super::{in_range, invalid, ConfigError, Secret};

/// Routing thresholds and where the rules come from.
#[derive(Debug, Clone)]
pub struct RoutingSettings {
    pub rules_file: Option<std::path::PathBuf>,
    /// The checked rules, from `rules_file` or the built-in ones.
    pub rules: Vec<crate::domain::routing::rules::Rule>,
    pub late_after_days: i64,
    pub missing_wait_hours: i64,
    pub high_value_cents: i64,
    pub auto_refund_cap_cents: i64,
    /// How order numbers look in customer text.
    pub order_number_pattern: regex::Regex,
    pub model_file: Option<std::path::PathBuf>,
    /// The intent model read from `model_file`; `None` means the built-in one.
    pub custom_model: Option<std::sync::Arc<crate::domain::routing::model::IntentModel>>,
}

/// Where order data comes from.
#[derive(Debug, Clone)]
pub enum OrdersSettings {
    BuiltIn,
    Http {
        base_url: reqwest::Url,
        timeout_ms: u64,
        /// From `CASEBOT_ORDERS_TOKEN` only.
        token: Option<Secret>,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRouting {
    rules_file: String,
    late_after_days: i64,
    missing_wait_hours: i64,
    high_value_dollars: i64,
    auto_refund_cap_dollars: i64,
    order_number_pattern: String,
    model_file: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOrders {
    source: String,
    base_url: String,
    timeout_ms: i64,
}

impl RoutingSettings {
    /// The intent model to classify with.
    pub fn model(&self) -> std::sync::Arc<crate::domain::routing::model::IntentModel> {
        self.custom_model
            .clone()
            .unwrap_or_else(crate::domain::routing::model::IntentModel::builtin)
    }

    /// The self-service flows' thresholds.
    pub fn flows(&self) -> crate::domain::routing::flows::FlowPolicy {
        crate::domain::routing::flows::FlowPolicy {
            late_after_days: self.late_after_days,
            missing_wait_hours: self.missing_wait_hours,
            high_value_cents: self.high_value_cents,
            auto_refund_cap_cents: self.auto_refund_cap_cents,
        }
    }
}

pub(super) fn routing_settings(raw: RawRouting) -> Result<RoutingSettings, ConfigError> {
    let rules_file = Some(raw.rules_file.trim())
        .filter(|f| !f.is_empty())
        .map(std::path::PathBuf::from);
    let (text, origin) = match &rules_file {
        Some(path) => (
            std::fs::read_to_string(path).map_err(|e| ConfigError::File {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?,
            path.display().to_string(),
        ),
        None => (
            crate::domain::routing::rules::DEFAULT_RULES.to_owned(),
            "the built-in routing rules".to_owned(),
        ),
    };
    let rules = crate::domain::routing::rules::parse_rules(&text)
        .map_err(|source| ConfigError::Rules { origin, source })?;
    let order_number_pattern = regex::Regex::new(&raw.order_number_pattern).map_err(|_| {
        invalid(
            "routing.order_number_pattern",
            &raw.order_number_pattern,
            "a regular expression",
        )
    })?;
    let model_file = Some(raw.model_file.trim())
        .filter(|f| !f.is_empty())
        .map(std::path::PathBuf::from);
    let custom_model = match &model_file {
        Some(path) => Some(std::sync::Arc::new(load_model(path)?)),
        None => None,
    };
    Ok(RoutingSettings {
        rules_file,
        rules,
        model_file,
        custom_model,
        order_number_pattern,
        late_after_days: in_range("routing.late_after_days", raw.late_after_days, 0, 365)?,
        missing_wait_hours: in_range("routing.missing_wait_hours", raw.missing_wait_hours, 1, 720)?,
        high_value_cents: in_range::<i64>(
            "routing.high_value_dollars",
            raw.high_value_dollars,
            0,
            1_000_000,
        )? * 100,
        auto_refund_cap_cents: in_range::<i64>(
            "routing.auto_refund_cap_dollars",
            raw.auto_refund_cap_dollars,
            0,
            100_000,
        )? * 100,
    })
}

/// Reads and checks an intent model file (`routing.model_file` or `--model`).
pub fn load_model(
    path: &std::path::Path,
) -> Result<crate::domain::routing::model::IntentModel, ConfigError> {
    let bytes = std::fs::read(path).map_err(|e| ConfigError::File {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    crate::domain::routing::model::IntentModel::from_bytes(&bytes).map_err(|source| {
        ConfigError::Model {
            path: path.display().to_string(),
            source,
        }
    })
}

pub(super) fn orders_settings(
    raw: RawOrders,
    token: Option<Secret>,
) -> Result<OrdersSettings, ConfigError> {
    let timeout_ms = in_range("orders.timeout_ms", raw.timeout_ms, 100, 30_000)?;
    match raw.source.as_str() {
        "builtin" => Ok(OrdersSettings::BuiltIn),
        "http" => {
            let base = raw.base_url.trim();
            let with_slash = if base.ends_with('/') {
                base.to_owned()
            } else {
                format!("{base}/")
            };
            let base_url: reqwest::Url = with_slash
                .parse()
                .ok()
                .filter(|u: &reqwest::Url| matches!(u.scheme(), "http" | "https"))
                .ok_or_else(|| invalid("orders.base_url", base, "an http:// or https:// URL"))?;
            Ok(OrdersSettings::Http {
                base_url,
                timeout_ms,
                token,
            })
        }
        other => Err(invalid("orders.source", other, "\"builtin\" or \"http\"")),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSla {
    urgent_first_response_minutes: i64,
    urgent_resolution_hours: i64,
    high_first_response_minutes: i64,
    high_resolution_hours: i64,
    normal_first_response_minutes: i64,
    normal_resolution_hours: i64,
    low_first_response_minutes: i64,
    low_resolution_hours: i64,
}

/// SLA deadlines, each from 1 minute to 30 days.
pub(super) fn sla_policy(raw: RawSla) -> Result<crate::domain::sla::SlaPolicy, ConfigError> {
    use chrono::Duration;
    let minutes = |key: &str, v: i64| in_range::<i64>(key, v, 1, 43_200).map(Duration::minutes);
    let hours = |key: &str, v: i64| in_range::<i64>(key, v, 1, 720).map(Duration::hours);
    Ok(crate::domain::sla::SlaPolicy {
        first_response: [
            minutes(
                "sla.low_first_response_minutes",
                raw.low_first_response_minutes,
            )?,
            minutes(
                "sla.normal_first_response_minutes",
                raw.normal_first_response_minutes,
            )?,
            minutes(
                "sla.high_first_response_minutes",
                raw.high_first_response_minutes,
            )?,
            minutes(
                "sla.urgent_first_response_minutes",
                raw.urgent_first_response_minutes,
            )?,
        ],
        resolution: [
            hours("sla.low_resolution_hours", raw.low_resolution_hours)?,
            hours("sla.normal_resolution_hours", raw.normal_resolution_hours)?,
            hours("sla.high_resolution_hours", raw.high_resolution_hours)?,
            hours("sla.urgent_resolution_hours", raw.urgent_resolution_hours)?,
        ],
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    customer_messages: i64,
    customer_window_secs: i64,
    server_mentions: i64,
    server_window_secs: i64,
    customer_escalations_per_hour: i64,
    outbound_per_second: i64,
}

/// Rate limits, each a count from 1 to 10,000 per window of 1 second to 1 day.
pub(super) fn limit_settings(
    raw: RawLimits,
) -> Result<crate::domain::policy::LimitSettings, ConfigError> {
    use crate::domain::policy::{LimitSettings, Rate};
    use std::time::Duration;
    let rate = |events: (&str, i64), secs: (&str, i64)| -> Result<Rate, ConfigError> {
        Ok(Rate {
            events: in_range(events.0, events.1, 1, 10_000)?,
            per: Duration::from_secs(in_range(secs.0, secs.1, 1, 86_400)?),
        })
    };
    Ok(LimitSettings {
        per_customer: rate(
            ("limits.customer_messages", raw.customer_messages),
            ("limits.customer_window_secs", raw.customer_window_secs),
        )?,
        mentions_per_server: rate(
            ("limits.server_mentions", raw.server_mentions),
            ("limits.server_window_secs", raw.server_window_secs),
        )?,
        escalations_per_customer: Rate {
            events: in_range(
                "limits.customer_escalations_per_hour",
                raw.customer_escalations_per_hour,
                1,
                10_000,
            )?,
            per: Duration::from_secs(3600),
        },
        // Discord's global limit is 50 requests a second; casebot stays under it.
        outbound_per_second: in_range(
            "limits.outbound_per_second",
            raw.outbound_per_second,
            1,
            50,
        )?,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawQueue {
    sweep_interval_secs: i64,
    refund_pending_days: i64,
    bot_messages_before_handover: i64,
    mention_unanswered_minutes: i64,
    callback_deadline_secs: i64,
}

/// How the human queue's sweepers behave.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueConfig {
    pub sweep_interval: std::time::Duration,
    pub stuck: crate::domain::policy::StuckPolicy,
    pub callback_deadline: chrono::Duration,
}

pub(super) fn queue_config(raw: RawQueue) -> Result<QueueConfig, ConfigError> {
    Ok(QueueConfig {
        sweep_interval: std::time::Duration::from_secs(in_range(
            "queue.sweep_interval_secs",
            raw.sweep_interval_secs,
            1,
            86_400,
        )?),
        stuck: crate::domain::policy::StuckPolicy {
            refund_pending_days: in_range(
                "queue.refund_pending_days",
                raw.refund_pending_days,
                1,
                365,
            )?,
            max_customer_messages: in_range(
                "queue.bot_messages_before_handover",
                raw.bot_messages_before_handover,
                1,
                1_000,
            )?,
            mention_unanswered: chrono::Duration::minutes(in_range(
                "queue.mention_unanswered_minutes",
                raw.mention_unanswered_minutes,
                1,
                10_080,
            )?),
        },
        callback_deadline: chrono::Duration::seconds(in_range(
            "queue.callback_deadline_secs",
            raw.callback_deadline_secs,
            30,
            86_400,
        )?),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDiscord {
    staff_guild_id: i64,
    queue_channel_id: i64,
    staff_role_id: i64,
    lead_role_id: i64,
    note_prefix: String,
    message_content: bool,
    keep_thread_after_release: bool,
}

/// Where staff work on Discord. Ids are 0 until set; `casebot run` requires them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscordIds {
    pub staff_guild: u64,
    pub queue_channel: u64,
    pub staff_role: u64,
    pub lead_role: u64,
    pub note_prefix: String,
    /// Whether casebot asks for the privileged MESSAGE_CONTENT intent (enabled for the
    /// application in the Developer Portal), so plain thread messages relay as replies.
    pub message_content: bool,
    /// Whether a staff member stays in a case's thread after releasing or transferring it.
    pub keep_thread_after_release: bool,
}

pub(super) fn discord_ids(raw: RawDiscord) -> Result<DiscordIds, ConfigError> {
    let id = |key: &str, v: i64| -> Result<u64, ConfigError> {
        u64::try_from(v).map_err(|_| ConfigError::Invalid {
            key: key.to_owned(),
            value: v.to_string(),
            expected: "a Discord id (a positive number), or 0 when not set".into(),
        })
    };
    if raw.note_prefix.trim().is_empty() {
        return Err(ConfigError::Invalid {
            key: "discord.note_prefix".into(),
            value: raw.note_prefix,
            expected: "some text, such as \"!note\"".into(),
        });
    }
    Ok(DiscordIds {
        staff_guild: id("discord.staff_guild_id", raw.staff_guild_id)?,
        queue_channel: id("discord.queue_channel_id", raw.queue_channel_id)?,
        staff_role: id("discord.staff_role_id", raw.staff_role_id)?,
        lead_role: id("discord.lead_role_id", raw.lead_role_id)?,
        note_prefix: raw.note_prefix,
        message_content: raw.message_content,
        keep_thread_after_release: raw.keep_thread_after_release,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    http_addr: String,
}

pub(super) fn server_addr(raw: RawServer) -> Result<std::net::SocketAddr, ConfigError> {
    raw.http_addr.parse().map_err(|_| ConfigError::Invalid {
        key: "server.http_addr".into(),
        value: raw.http_addr.clone(),
        expected: "an address and port such as 127.0.0.1:8080".into(),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAudit {
    seal_every_secs: i64,
    seal_after_events: i64,
}

pub(super) fn seal_policy(raw: RawAudit) -> Result<crate::domain::audit::SealPolicy, ConfigError> {
    Ok(crate::domain::audit::SealPolicy {
        every: std::time::Duration::from_secs(in_range(
            "audit.seal_every_secs",
            raw.seal_every_secs,
            1,
            86_400,
        )?),
        events: in_range(
            "audit.seal_after_events",
            raw.seal_after_events,
            1,
            10_000_000,
        )?,
    })
}
