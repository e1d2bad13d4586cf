//! Request bodies: JSON, or `multipart/form-data` with `payload_json` and `files[n]`
//! (reference.mdx "Uploading Files"), with Discord's errors for bad bodies (50109 invalid
//! JSON, 50035 wrong content type, 40005 too large).

use axum::async_trait;
use axum::extract::{FromRequest, Multipart, Request};
use serde_json::{Map, Value};

use crate::error::DiscordError;

/// The largest request body Discord takes for a message (resources/message.mdx
/// "Limitations"): 25 MiB.
pub const MAX_REQUEST: usize = 25 * 1024 * 1024;

/// A file sent as `files[n]`.
#[derive(Debug, Clone)]
pub struct Upload {
    pub index: u64,
    pub filename: String,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

/// A JSON body, or the JSON and files of a multipart body.
#[derive(Debug, Clone)]
pub struct Body {
    pub json: Value,
    pub files: Vec<Upload>,
}

#[async_trait]
impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = DiscordError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if content_type.starts_with("multipart/form-data") {
            let multipart = Multipart::from_request(req, state)
                .await
                .map_err(|_| content_type_error())?;
            return multipart_body(multipart).await;
        }
        let bytes = axum::body::to_bytes(req.into_body(), MAX_REQUEST + 1)
            .await
            .map_err(|_| DiscordError::too_large())?;
        if bytes.is_empty() {
            return Ok(Body {
                json: Value::Object(Map::new()),
                files: Vec::new(),
            });
        }
        if !content_type.starts_with("application/json") {
            return Err(content_type_error());
        }
        let json = serde_json::from_slice(&bytes).map_err(|_| DiscordError::invalid_json())?;
        Ok(Body {
            json,
            files: Vec::new(),
        })
    }
}

fn content_type_error() -> DiscordError {
    DiscordError::form(
        "",
        "CONTENT_TYPE_INVALID",
        "Expected \"Content-Type\" header to be one of {'application/json', 'multipart/form-data'}.",
    )
}

async fn multipart_body(mut multipart: Multipart) -> Result<Body, DiscordError> {
    let mut json = Value::Object(Map::new());
    let mut files = Vec::new();
    let mut total = 0usize;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(_) => return Err(DiscordError::too_large()),
        };
        let name = field.name().unwrap_or_default().to_owned();
        let filename = field.file_name().map(str::to_owned);
        let content_type = field.content_type().map(str::to_owned);
        let bytes = field.bytes().await.map_err(|_| DiscordError::too_large())?;
        total += bytes.len();
        if total > MAX_REQUEST {
            return Err(DiscordError::too_large());
        }
        if name == "payload_json" {
            json = serde_json::from_slice(&bytes).map_err(|_| DiscordError::invalid_json())?;
        } else if let Some(n) = name
            .strip_prefix("files[")
            .and_then(|r| r.strip_suffix(']'))
        {
            files.push(upload(&name, n, filename, content_type, bytes.to_vec())?);
        } else if let Some(o) = json.as_object_mut() {
            // Plain fields, as in the docs' multipart example without payload_json.
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let value = match name.as_str() {
                "content" | "nonce" => Value::String(text),
                _ => serde_json::from_str(&text).unwrap_or(Value::String(text)),
            };
            o.insert(name, value);
        }
    }
    Ok(Body { json, files })
}

fn upload(
    name: &str,
    n: &str,
    filename: Option<String>,
    content_type: Option<String>,
    bytes: Vec<u8>,
) -> Result<Upload, DiscordError> {
    let index = n.parse::<u64>().map_err(|_| {
        DiscordError::form(
            name,
            "NUMBER_TYPE_COERCE",
            &format!("Value \"{n}\" is not snowflake."),
        )
    })?;
    let filename = filename.filter(|f| !f.is_empty()).ok_or_else(|| {
        DiscordError::form(name, "BASE_TYPE_REQUIRED", "A file needs a filename.")
    })?;
    Ok(Upload {
        index,
        filename,
        content_type,
        bytes,
    })
}

/// A snowflake from a path segment.
pub fn id(segment: &str, field: &str) -> Result<u64, DiscordError> {
    segment.parse().map_err(|_| {
        DiscordError::form(
            field,
            "NUMBER_TYPE_COERCE",
            &format!("Value \"{segment}\" is not snowflake."),
        )
    })
}
