//! The attachment CDN: signed URLs with `ex` (expiry), `is` (issued) and `hm` (signature) as
//! reference.mdx "Signed Attachment CDN URLs" shows; past `ex`, or with a bad signature, the
//! CDN answers 404. Each time a message is handed out its URLs are signed afresh.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::ids::now_ms;
use crate::world::model::Attachment;
use crate::world::{Shared, World};

fn signature(w: &World, channel: u64, id: u64, filename: &str, ex: u64, is: u64) -> String {
    let text = format!("{}|{channel}|{id}|{filename}|{ex:x}|{is:x}", w.secret);
    format!("{:x}", Sha256::digest(text.as_bytes()))
}

pub fn signed_url(w: &World, channel: u64, a: &Attachment) -> String {
    let is = now_ms() / 1000;
    let ex = is + w.opts.attachment_url_lifetime.as_secs().max(1);
    let hm = signature(w, channel, a.id, &a.filename, ex, is);
    format!(
        "{}/attachments/{channel}/{}/{}?ex={ex:x}&is={is:x}&hm={hm}&",
        w.base_url,
        a.id,
        url::form_urlencoded::byte_serialize(a.filename.as_bytes()).collect::<String>()
    )
}

pub async fn serve(
    State(s): State<Arc<Shared>>,
    Path((channel, id, filename)): Path<(u64, u64, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let hex = |k: &str| q.get(k).and_then(|v| u64::from_str_radix(v, 16).ok());
    let found = s.read(|w| {
        let (ex, is) = (hex("ex")?, hex("is")?);
        let hm = q.get("hm")?;
        let file = w.files.get(&id).filter(|(c, _)| *c == channel)?;
        let fresh = now_ms() / 1000 < ex;
        let genuine = *hm == signature(w, channel, id, &filename, ex, is);
        (fresh && genuine).then(|| file.1.clone())
    });
    match found {
        Some(bytes) => (
            [(header::CONTENT_TYPE, "application/octet-stream")],
            bytes.as_ref().clone(),
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            "This content is no longer available.",
        )
            .into_response(),
    }
}
