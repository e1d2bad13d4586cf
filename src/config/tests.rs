//! The configuration's loading rules, each as a test.

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
    let err = Config::load(None, env(&[("CASEBOT__DATABASE__MAX_CONNECTIONS", "0")])).unwrap_err();
    assert!(
        err.to_string().contains("database.max_connections"),
        "{err}"
    );
    assert!(err.to_string().contains("from 1 to 1000"), "{err}");
}

#[test]
fn an_unknown_scheme_is_refused_without_showing_the_password() {
    let err = Config::load(None, env(&[("DATABASE_URL", "mysql://u:hunter2@h/db")])).unwrap_err();
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
    assert!(matches!(err, ConfigError::UnknownKey { ref key, .. } if key == "cases.reopen_window"));
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
        crate::domain::policy::StuckPolicy::default()
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
        crate::domain::policy::LimitSettings::default()
    );
    let err = Config::load(None, env(&[("CASEBOT__LIMITS__CUSTOMER_MESSAGES", "0")])).unwrap_err();
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
fn the_llm_gate_answer_room_and_schema_form_are_checked() {
    let config = Config::load(None, env(&[])).unwrap();
    assert_eq!(config.llm.max_tokens, 160);
    assert_eq!(config.llm.overrule_below, 0.99);
    assert_eq!(
        config.llm.response_format,
        crate::llm::Constraint::JsonSchema
    );
    let config = Config::load(
        None,
        env(&[
            ("CASEBOT__LLM__OVERRULE_BELOW", "0.75"),
            ("CASEBOT__LLM__RESPONSE_FORMAT", "json_object"),
        ]),
    )
    .unwrap();
    assert_eq!(config.llm.overrule_below, 0.75);
    assert_eq!(
        config.llm.response_format,
        crate::llm::Constraint::JsonObject
    );
    for (key, value, named) in [
        ("CASEBOT__LLM__OVERRULE_BELOW", "1.5", "llm.overrule_below"),
        (
            "CASEBOT__LLM__RESPONSE_FORMAT",
            "grammar",
            "llm.response_format",
        ),
        ("CASEBOT__LLM__MAX_TOKENS", "8", "llm.max_tokens"),
    ] {
        let err = Config::load(None, env(&[(key, value)])).unwrap_err();
        assert!(err.to_string().contains(named), "{err}");
    }
}

#[test]
fn urls_without_a_password_are_shown_as_they_are() {
    assert_eq!(
        mask_url_password("sqlite://data/x.db"),
        "sqlite://data/x.db"
    );
    assert_eq!(mask_url_password("postgres://u@h/db"), "postgres://u@h/db");
}
