//! The `[llm]` section: the optional language-model backend (any OpenAI-compatible endpoint),
//! checked at start-up; the API key comes from the environment only.

use serde::Deserialize;

use super::{in_range, invalid, ConfigError, Secret};

/// The optional language-model backend; `base_url` is `None` when it is off.
#[derive(Debug, Clone)]
pub struct LlmSettings {
    pub base_url: Option<reqwest::Url>,
    pub model: String,
    pub timeout_ms: u64,
    /// From `CASEBOT_LLM_API_KEY` only.
    pub api_key: Option<Secret>,
    pub max_tokens: u32,
    /// How the answer's JSON schema is sent.
    pub response_format: crate::llm::Constraint,
    /// The model decides only where the local model's confidence is below this.
    pub overrule_below: f32,
    /// Answers remembered by message id.
    pub cache_entries: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLlm {
    base_url: String,
    model: String,
    timeout_ms: i64,
    max_tokens: i64,
    response_format: String,
    overrule_below: f64,
    cache_entries: i64,
}

pub(super) fn llm_settings(
    raw: RawLlm,
    api_key: Option<Secret>,
) -> Result<LlmSettings, ConfigError> {
    let base_url = match raw.base_url.trim() {
        "" => None,
        url => {
            // A trailing slash makes `chat/completions` join under the API root.
            let with_slash = if url.ends_with('/') {
                url.to_owned()
            } else {
                format!("{url}/")
            };
            let parsed: reqwest::Url = with_slash.parse().map_err(|_| {
                invalid("llm.base_url", url, "an http:// or https:// URL, or empty")
            })?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(invalid(
                    "llm.base_url",
                    url,
                    "an http:// or https:// URL, or empty",
                ));
            }
            if raw.model.trim().is_empty() {
                return Err(invalid(
                    "llm.model",
                    "",
                    "a model name when llm.base_url is set",
                ));
            }
            Some(parsed)
        }
    };
    let response_format =
        crate::llm::Constraint::parse(raw.response_format.trim()).ok_or_else(|| {
            invalid(
                "llm.response_format",
                &raw.response_format,
                crate::llm::Constraint::NAMES,
            )
        })?;
    if !(0.0..=1.0).contains(&raw.overrule_below) {
        return Err(invalid(
            "llm.overrule_below",
            &raw.overrule_below.to_string(),
            "a confidence from 0.0 (never overrule) to 1.0",
        ));
    }
    Ok(LlmSettings {
        base_url,
        model: raw.model,
        timeout_ms: in_range("llm.timeout_ms", raw.timeout_ms, 100, 30_000)?,
        api_key,
        max_tokens: in_range("llm.max_tokens", raw.max_tokens, 64, 4096)?,
        response_format,
        overrule_below: raw.overrule_below as f32,
        cache_entries: in_range("llm.cache_entries", raw.cache_entries, 0, 1_000_000)?,
    })
}
