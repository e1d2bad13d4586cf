//! The gateway websocket at `/ws`: HELLO, heartbeats, IDENTIFY and RESUME, dispatches (zlib
//! compressed when asked), RECONNECT, and a record of how each connection ended.

pub mod session;

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message as Frame, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use flate2::write::ZlibEncoder;
use serde_json::{json, Value};
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};

use crate::options::Compression;
use crate::world::records::SessionInfo;
use crate::world::Shared;
use session::{Close, Outbound};

/// Largest payload a client may send (events/gateway.mdx "Sending Events").
const MAX_CLIENT_PAYLOAD: usize = 4096;

pub async fn upgrade(State(shared): State<Arc<Shared>>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| connection(shared, socket))
}

/// One connection's state outside the world.
struct Conn {
    index: usize,
    tx: UnboundedSender<Outbound>,
    identified: bool,
    compress: bool,
    compression: Compression,
}

async fn connection(shared: Arc<Shared>, mut socket: WebSocket) {
    let (tx, mut rx) = unbounded_channel();
    let (index, interval, compression) = shared.write(|w| {
        w.connections.push(SessionInfo {
            session_id: String::new(),
            resumed: false,
            intents: 0,
            shard: (0, 1),
            compress: false,
            open: true,
            client_close_frame: false,
            client_close_code: None,
            server_close_code: None,
        });
        let interval = w.opts.heartbeat_interval.as_millis() as u64;
        (w.connections.len() - 1, interval, w.opts.compression)
    });
    let mut conn = Conn {
        index,
        tx,
        identified: false,
        compress: false,
        compression,
    };
    let hello = json!({ "op": 10, "d": { "heartbeat_interval": interval } });
    if socket.send(Frame::Text(hello.to_string())).await.is_err() {
        shared.write(|w| session::detach(w, index, None));
        return;
    }
    loop {
        tokio::select! {
            frame = socket.recv() => {
                let step = match frame {
                    Some(Ok(Frame::Text(text))) => on_text(&shared, &mut conn, &text),
                    Some(Ok(Frame::Binary(_))) => Step::Close((4002, "Decode error.")),
                    Some(Ok(Frame::Close(frame))) => {
                        let code = frame.map(|f| f.code);
                        client_closed(&shared, index, code, &mut socket).await;
                        return;
                    }
                    Some(Ok(_)) => Step::Nothing,
                    None | Some(Err(_)) => {
                        shared.write(|w| session::detach(w, index, None));
                        return;
                    }
                };
                if !run(step, &shared, &conn, &mut socket).await {
                    return;
                }
            }
            out = rx.recv() => {
                let step = match out {
                    Some(Outbound::Dispatch(text)) => Step::Send(encode(&conn, text)),
                    Some(Outbound::Op(text)) => Step::Send(Frame::Text(text)),
                    Some(Outbound::Close(code, reason)) => Step::Close((code, reason)),
                    None => Step::Nothing,
                };
                if !run(step, &shared, &conn, &mut socket).await {
                    return;
                }
            }
        }
    }
}

enum Step {
    Nothing,
    Send(Frame),
    Close(Close),
}

/// Carries out a step; false once the connection is over.
async fn run(step: Step, shared: &Shared, conn: &Conn, socket: &mut WebSocket) -> bool {
    match step {
        Step::Nothing => true,
        Step::Send(frame) => {
            if socket.send(frame).await.is_err() {
                shared.write(|w| session::detach(w, conn.index, None));
                return false;
            }
            true
        }
        Step::Close((code, reason)) => {
            server_close(shared, conn.index, code, reason, socket).await;
            false
        }
    }
}

/// The client closed: answer its close frame and remember the code.
async fn client_closed(shared: &Shared, index: usize, code: Option<u16>, socket: &mut WebSocket) {
    shared.write(|w| {
        if let Some(r) = w.connections.get_mut(index) {
            r.client_close_frame = true;
            r.client_close_code = code;
        }
        session::detach(w, index, code);
    });
    // Reading on lets the websocket send the close reply the protocol requires.
    let _ = tokio::time::timeout(Duration::from_secs(1), socket.recv()).await;
}

async fn server_close(
    shared: &Shared,
    index: usize,
    code: u16,
    reason: &str,
    socket: &mut WebSocket,
) {
    shared.write(|w| {
        if let Some(r) = w.connections.get_mut(index) {
            r.server_close_code = Some(code);
        }
        session::detach(w, index, None);
    });
    let frame = CloseFrame {
        code,
        reason: reason.to_owned().into(),
    };
    let _ = socket.send(Frame::Close(Some(frame))).await;
    let _ = tokio::time::timeout(Duration::from_secs(1), socket.recv()).await;
}

fn on_text(shared: &Shared, conn: &mut Conn, text: &str) -> Step {
    if text.len() > MAX_CLIENT_PAYLOAD {
        return Step::Close((4002, "Decode error."));
    }
    let Ok(payload) = serde_json::from_str::<Value>(text) else {
        return Step::Close((4002, "Decode error."));
    };
    let d = &payload["d"];
    match payload["op"].as_u64() {
        Some(1) => Step::Send(Frame::Text(json!({ "op": 11 }).to_string())),
        Some(2) if conn.identified => Step::Close((4005, "Already authenticated.")),
        Some(2) => {
            let result = shared.write(|w| session::identify(w, conn.index, &conn.tx, d));
            match result {
                Ok(_) => {
                    conn.identified = true;
                    conn.compress = d["compress"].as_bool().unwrap_or(false);
                    Step::Nothing
                }
                Err(close) => Step::Close(close),
            }
        }
        Some(6) if conn.identified => Step::Close((4005, "Already authenticated.")),
        Some(6) => on_resume(shared, conn, d),
        Some(3 | 4 | 8 | 31 | 43) if conn.identified => Step::Nothing,
        Some(3 | 4 | 8 | 31 | 43) => Step::Close((4003, "Not authenticated.")),
        _ => Step::Close((4001, "Unknown opcode.")),
    }
}

fn on_resume(shared: &Shared, conn: &mut Conn, d: &Value) -> Step {
    let result = shared.write(|w| session::resume(w, conn.index, &conn.tx, d));
    match result {
        Ok(Some(_)) => {
            conn.identified = true;
            conn.compress =
                shared.read(|w| w.connections.get(conn.index).is_some_and(|r| r.compress));
            Step::Nothing
        }
        Ok(None) => Step::Send(Frame::Text(json!({ "op": 9, "d": false }).to_string())),
        Err(close) => Step::Close(close),
    }
}

/// A dispatch frame: a complete zlib stream in a binary frame when the connection identified
/// with `compress: true` and the payload qualifies, else text.
fn encode(conn: &Conn, text: String) -> Frame {
    let compress = conn.compress
        && match conn.compression {
            Compression::Never => false,
            Compression::LargerThan(n) => text.len() > n,
            Compression::Always => true,
        };
    if !compress {
        return Frame::Text(text);
    }
    let mut encoder = ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    match encoder
        .write_all(text.as_bytes())
        .and_then(|_| encoder.finish())
    {
        Ok(bytes) => Frame::Binary(bytes),
        Err(_) => Frame::Text(text),
    }
}
