//! Test helpers: a bot's REST client and a raw gateway client, so the tests speak to the
//! sandbox as any Discord client would.

use std::io::Read;
use std::time::Duration;

use casebot_sandbox::{Options, Sandbox, TOKEN};
use futures_util::{SinkExt, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message as Frame;

pub const GUILDS: u64 = 1;
pub const GUILD_MESSAGES: u64 = 1 << 9;
pub const DIRECT_MESSAGES: u64 = 1 << 12;
pub const MESSAGE_CONTENT: u64 = 1 << 15;
pub const BASIC: u64 = GUILDS | GUILD_MESSAGES | DIRECT_MESSAGES;

pub async fn sandbox() -> Sandbox {
    Sandbox::start().await.expect("the sandbox starts")
}

/// A sandbox without per-route buckets, for tests that send many requests to one route.
pub async fn unlimited() -> Sandbox {
    sandbox_with(Options {
        route_limits: false,
        ..Options::default()
    })
    .await
}

pub async fn sandbox_with(opts: Options) -> Sandbox {
    Sandbox::start_with(opts).await.expect("the sandbox starts")
}

/// An answer: status, JSON body (Null when empty or not JSON), headers.
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Reply {
    pub fn code(&self) -> Option<u64> {
        self.body["code"].as_u64()
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
    pub fn id(&self) -> u64 {
        self.body["id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("an id")
    }
    /// Asserts a Discord error: status and JSON code.
    pub fn is_error(&self, status: u16, code: u64) {
        assert_eq!(self.status.as_u16(), status, "status of {}", self.body);
        assert_eq!(self.code(), Some(code), "code of {}", self.body);
        assert!(
            self.body["message"].is_string(),
            "a message in {}",
            self.body
        );
    }
}

pub async fn call(
    sb: &Sandbox,
    method: Method,
    path: &str,
    body: Option<Value>,
    auth: Option<&str>,
) -> Reply {
    let url = format!("{}/api/v10{path}", sb.base_url());
    let mut req = reqwest::Client::new().request(method, url);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.expect("the sandbox answers");
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        body,
        headers,
    }
}

pub fn bot_auth() -> String {
    format!("Bot {TOKEN}")
}

/// A bot REST call.
pub async fn bot(sb: &Sandbox, method: Method, path: &str, body: Option<Value>) -> Reply {
    call(sb, method, path, body, Some(&bot_auth())).await
}

pub async fn get(sb: &Sandbox, path: &str) -> Reply {
    bot(sb, Method::GET, path, None).await
}

pub async fn post(sb: &Sandbox, path: &str, body: Value) -> Reply {
    bot(sb, Method::POST, path, Some(body)).await
}

pub async fn say(sb: &Sandbox, channel: u64, content: &str) -> Reply {
    post(
        sb,
        &format!("/channels/{channel}/messages"),
        json!({ "content": content }),
    )
    .await
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A raw gateway connection.
pub struct Gateway {
    pub ws: Ws,
    pub binary_frames: usize,
    pub last_seq: u64,
}

impl Gateway {
    /// Connects and reads HELLO.
    pub async fn connect(sb: &Sandbox) -> (Gateway, Value) {
        let url = format!("{}?v=10&encoding=json", sb.gateway_url());
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("the gateway accepts");
        let mut g = Gateway {
            ws,
            binary_frames: 0,
            last_seq: 0,
        };
        let hello = g.next().await.expect("HELLO");
        (g, hello)
    }

    /// Connects, identifies with `intents`, and reads READY.
    pub async fn identify(sb: &Sandbox, intents: u64) -> (Gateway, Value) {
        let (mut g, _) = Gateway::connect(sb).await;
        g.send(identify_payload(intents, false)).await;
        let ready = g.event("READY").await;
        (g, ready)
    }

    pub async fn send(&mut self, v: Value) {
        self.ws
            .send(Frame::Text(v.to_string()))
            .await
            .expect("the gateway takes a frame");
    }

    /// The next payload, decompressing binary frames; None on close or after 2 s.
    pub async fn next(&mut self) -> Option<Value> {
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(2), self.ws.next())
                .await
                .ok()??
                .ok()?;
            let v: Value = match frame {
                Frame::Text(t) => serde_json::from_str(&t).ok()?,
                Frame::Binary(b) => {
                    self.binary_frames += 1;
                    let mut text = String::new();
                    flate2::read::ZlibDecoder::new(&b[..])
                        .read_to_string(&mut text)
                        .ok()?;
                    serde_json::from_str(&text).ok()?
                }
                Frame::Close(_) => return None,
                _ => continue,
            };
            if let Some(s) = v["s"].as_u64() {
                self.last_seq = s;
            }
            return Some(v);
        }
    }

    /// The next dispatch named `t`, skipping others; panics after 2 s of silence.
    pub async fn event(&mut self, t: &str) -> Value {
        loop {
            let v = self
                .next()
                .await
                .unwrap_or_else(|| panic!("no {t} dispatch came"));
            if v["t"] == json!(t) {
                return v["d"].clone();
            }
        }
    }

    /// Whether a dispatch named `t` comes within `wait`.
    pub async fn sees(&mut self, t: &str, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        while tokio::time::Instant::now() < deadline {
            match tokio::time::timeout_at(deadline, self.next()).await {
                Ok(Some(v)) if v["t"] == json!(t) => return true,
                Ok(Some(_)) => continue,
                _ => return false,
            }
        }
        false
    }

    /// Waits for the server's close frame and returns its code.
    pub async fn close_code(&mut self) -> Option<u16> {
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(3), self.ws.next())
                .await
                .ok()??
                .ok()?;
            if let Frame::Close(c) = frame {
                return c.map(|c| u16::from(c.code));
            }
        }
    }
}

pub fn identify_payload(intents: u64, compress: bool) -> Value {
    json!({ "op": 2, "d": { "token": format!("Bot {TOKEN}"), "intents": intents,
        "compress": compress, "properties": { "os": "linux", "browser": "test", "device": "test" } } })
}

/// The id in a JSON snowflake string.
pub fn sf(v: &Value) -> u64 {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .expect("a snowflake string")
}

pub const WAIT: Duration = Duration::from_secs(5);
