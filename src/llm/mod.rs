//! The optional language-model backend: any OpenAI-compatible chat-completions endpoint (hosted,
//! or local such as a llama.cpp server) that labels a message's intent and escalation signals
//! from the labelling guide's definitions. The customer text travels as a JSON string field of
//! the user turn and the instructions say it is data; the answer must be JSON of the schema
//! casebot asks for, checked here whatever the server enforces. A timeout, an HTTP error or an
//! answer of any other shape is reported as such, and routing falls back to the local model.

pub mod answer;
pub mod cache;
pub mod prompt;

use std::time::Duration;

use async_trait::async_trait;
use reqwest::Url;

use crate::domain::routing::opinion::Opinion;
use crate::secrets::Secret;
pub use answer::Refusal;
pub use prompt::Constraint;

/// What one call to the model came to.
#[derive(Debug, Clone, PartialEq)]
pub enum LlmAnswer {
    /// A valid answer.
    Labelled(Opinion),
    /// The model answered, but not with JSON of the schema; `raw` is what it said.
    Refused { refusal: Refusal, raw: String },
    /// No answer within the timeout.
    TimedOut,
    /// The call failed (connection, HTTP status, a reply without message content). `error` is
    /// safe to log: it never quotes the request. `body` is what the server said with an error
    /// status (often why it refused the request), which may quote the request, so it is only
    /// shown by `casebot classify`.
    Failed { error: String, body: Option<String> },
}

impl LlmAnswer {
    /// A short name for the trail, the metrics and `casebot classify`.
    pub fn outcome(&self) -> &'static str {
        match self {
            LlmAnswer::Labelled(_) => "answered",
            LlmAnswer::Refused { .. } => "refused",
            LlmAnswer::TimedOut => "timeout",
            LlmAnswer::Failed { .. } => "error",
        }
    }
}

/// Something that can label a message, or say why it could not.
#[async_trait]
pub trait Labeller: Send + Sync {
    async fn label(&self, text: &str) -> LlmAnswer;
}

#[derive(Debug, Clone)]
pub struct LlmConfig {
    /// The API root, e.g. `https://llm.example/v1/`; `chat/completions` is appended.
    pub base_url: Url,
    pub model: String,
    pub api_key: Option<Secret>,
    pub timeout: Duration,
    /// Room for the answer: the JSON object takes about 60 tokens; a small limit cuts it short.
    pub max_tokens: u32,
    pub constraint: Constraint,
}

/// The HTTP client for an OpenAI-compatible chat-completions endpoint.
#[derive(Debug, Clone)]
pub struct LlmLabeller {
    client: reqwest::Client,
    config: LlmConfig,
}

impl LlmLabeller {
    pub fn new(config: LlmConfig) -> Result<LlmLabeller, reqwest::Error> {
        let client = reqwest::Client::builder().timeout(config.timeout).build()?;
        Ok(LlmLabeller { client, config })
    }

    /// The message content of the model's reply.
    async fn ask(&self, text: &str) -> Result<String, LlmAnswer> {
        let failed = |error: String| LlmAnswer::Failed { error, body: None };
        // Either timeout may fire first; both are the same outcome.
        let call = |e: reqwest::Error| {
            if e.is_timeout() {
                LlmAnswer::TimedOut
            } else {
                failed(e.without_url().to_string())
            }
        };
        let url = self
            .config
            .base_url
            .join("chat/completions")
            .map_err(|e| failed(e.to_string()))?;
        let body = prompt::request(
            &self.config.model,
            self.config.max_tokens,
            self.config.constraint,
            text,
        );
        let mut request = self.client.post(url).json(&body);
        if let Some(key) = &self.config.api_key {
            request = request.bearer_auth(key.expose());
        }
        let response = request.send().await.map_err(call)?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.ok().filter(|b| !b.is_empty());
            return Err(LlmAnswer::Failed {
                error: format!("HTTP {}", status.as_u16()),
                body: body.map(|b| b.chars().take(400).collect()),
            });
        }
        let reply: serde_json::Value = response.json().await.map_err(call)?;
        reply["choices"][0]["message"]["content"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| failed("no message content in the reply".to_owned()))
    }
}

#[async_trait]
impl Labeller for LlmLabeller {
    async fn label(&self, text: &str) -> LlmAnswer {
        // The client timeout covers each request; this bounds the whole call, body included.
        match tokio::time::timeout(self.config.timeout, self.ask(text)).await {
            Ok(Ok(content)) => match answer::parse(&content) {
                Ok(opinion) => LlmAnswer::Labelled(opinion),
                Err(refusal) => LlmAnswer::Refused {
                    refusal,
                    raw: content,
                },
            },
            Ok(Err(failure)) => failure,
            Err(_) => LlmAnswer::TimedOut,
        }
    }
}
