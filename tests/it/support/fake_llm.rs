//! A hand-written OpenAI-compatible chat-completions server on 127.0.0.1: each request gets the
//! next scripted reply (the last one repeats), and every request is recorded so a test can read
//! what casebot sent.

use std::time::Duration;

use super::fake_http::{FakeHttp, Reply as HttpReply};

/// One scripted reply.
#[derive(Clone)]
pub enum Reply {
    /// A chat completion whose message content is this text.
    Content(String),
    /// A bare status and body.
    Status(u16, String),
    /// Nothing at all for this long.
    Stall(Duration),
}

/// A completion with `content`, as a model would send it.
pub fn says(content: &str) -> Reply {
    Reply::Content(content.to_owned())
}

/// A valid answer labelling `intent` with the signals named in `on` set.
pub fn labels(intent: &str, on: &[&str]) -> Reply {
    let mut answer = serde_json::json!({ "intent": intent });
    for key in [
        "frustration",
        "anger",
        "urgency",
        "stuck",
        "high_value_item",
        "exception",
    ] {
        answer[key] = serde_json::Value::Bool(on.contains(&key));
    }
    says(&answer.to_string())
}

/// A request as received: the request line, the headers in lower case, and the JSON body.
#[derive(Debug, Clone)]
pub struct Seen {
    pub line: String,
    pub headers: Vec<(String, String)>,
    pub body: serde_json::Value,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn system(&self) -> &str {
        self.body["messages"][0]["content"].as_str().unwrap()
    }

    /// The user turn, parsed as the JSON object it must be.
    pub fn user(&self) -> serde_json::Value {
        serde_json::from_str(self.body["messages"][1]["content"].as_str().unwrap())
            .expect("the user turn is a JSON object")
    }
}

pub struct FakeLlm {
    /// The API root to configure casebot with, `http://127.0.0.1:PORT/v1`.
    pub base_url: String,
    http: FakeHttp,
}

impl FakeLlm {
    pub async fn start(replies: Vec<Reply>) -> FakeLlm {
        assert!(!replies.is_empty());
        let replies = replies
            .into_iter()
            .map(|reply| match reply {
                Reply::Content(content) => HttpReply::Json(200, completion(&content)),
                Reply::Status(status, body) => HttpReply::Json(status, body),
                Reply::Stall(d) => HttpReply::Stall(d),
            })
            .collect();
        let http = FakeHttp::start(replies).await;
        FakeLlm {
            base_url: format!("{}/v1", http.url),
            http,
        }
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.http
            .requests()
            .into_iter()
            .map(|raw| Seen {
                line: raw.line,
                headers: raw.headers,
                body: serde_json::from_str(&raw.body).unwrap_or(serde_json::Value::Null),
            })
            .collect()
    }

    /// The environment that points casebot at this server, with `more` settings.
    pub fn env(&self, more: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut env = vec![
            ("CASEBOT__LLM__BASE_URL".to_owned(), self.base_url.clone()),
            (
                "CASEBOT__LLM__MODEL".to_owned(),
                "support-labeller".to_owned(),
            ),
            ("CASEBOT__LLM__TIMEOUT_MS".to_owned(), "400".to_owned()),
        ];
        env.extend(more.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        env
    }
}

/// The shape OpenAI and llama.cpp's servers answer in.
fn completion(content: &str) -> String {
    serde_json::json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "support-labeller",
        "choices": [{
            "index": 0,
            "message": { "role": "assistant", "content": content },
            "finish_reason": "stop",
        }],
    })
    .to_string()
}
