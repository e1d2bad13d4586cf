//! Gateway sessions: IDENTIFY (token, intents, privileged intents, shard), READY and the
//! GUILD_CREATEs after it, RESUME with the missed events replayed, as events/gateway.mdx and
//! events/gateway-events.mdx describe.

use std::collections::VecDeque;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc::UnboundedSender;

use crate::ids::{now_ms, APPLICATION, BOT_USER, TOKEN};
use crate::world::dispatch::{
    GUILDS, GUILD_MEMBERS, GUILD_PRESENCES, KNOWN_INTENTS, MESSAGE_CONTENT,
};
use crate::world::{json as wjson, World};

/// How many dispatches a session keeps for replay on RESUME.
const REPLAY_KEPT: usize = 5000;

/// What a connection's writer sends.
#[derive(Debug)]
pub enum Outbound {
    /// A dispatch (op 0), compressed when the connection asked for it.
    Dispatch(String),
    /// Any other opcode, always as text.
    Op(String),
    /// Close the connection with this code.
    Close(u16, &'static str),
}

pub struct Session {
    pub session_id: String,
    pub intents: u64,
    pub shard: (u64, u64),
    pub compress: bool,
    pub seq: u64,
    pub replay: VecDeque<(u64, String)>,
    /// The connection (its record's index) the session is on, and its writer.
    pub conn: Option<(usize, UnboundedSender<Outbound>)>,
    /// False once closed with 1000/1001 or invalidated: no more events, no RESUME.
    pub resumable: bool,
}

impl Session {
    /// Sends a dispatch with the next sequence number, keeping it for replay.
    pub fn push(&mut self, name: &str, data: &Value) {
        self.seq += 1;
        let text = json!({ "op": 0, "s": self.seq, "t": name, "d": data }).to_string();
        if let Some((_, tx)) = &self.conn {
            let _ = tx.send(Outbound::Dispatch(text.clone()));
        }
        self.replay.push_back((self.seq, text));
        if self.replay.len() > REPLAY_KEPT {
            self.replay.pop_front();
        }
    }
}

/// A gateway close: code and reason (topics/opcodes-and-status-codes.mdx).
pub type Close = (u16, &'static str);

/// Whether the gateway token is the bot's: Discord takes it with or without the `Bot ` prefix.
pub fn token_ok(token: Option<&str>) -> bool {
    matches!(token, Some(t) if t == TOKEN || t.strip_prefix("Bot ") == Some(TOKEN))
}

/// Handles IDENTIFY for connection `conn`: the session, READY and a GUILD_CREATE per guild.
pub fn identify(
    w: &mut World,
    conn: usize,
    tx: &UnboundedSender<Outbound>,
    d: &Value,
) -> Result<String, Close> {
    if !token_ok(d["token"].as_str()) {
        return Err((4004, "Authentication failed."));
    }
    let intents = d["intents"].as_u64().ok_or((4013, "Invalid intent(s)."))?;
    if intents & !KNOWN_INTENTS != 0 {
        return Err((4013, "Invalid intent(s)."));
    }
    let allowed = allowed_privileged(w);
    if intents & !allowed & crate::world::dispatch::PRIVILEGED != 0 {
        return Err((4014, "Disallowed intent(s)."));
    }
    let shard = match &d["shard"] {
        Value::Null => (0, 1),
        s => match (s[0].as_u64(), s[1].as_u64()) {
            (Some(id), Some(total)) if total >= 1 && id < total => (id, total),
            _ => return Err((4010, "Invalid shard.")),
        },
    };
    let session_id = new_session_id(w);
    let mut session = Session {
        session_id: session_id.clone(),
        intents,
        shard,
        compress: d["compress"].as_bool().unwrap_or(false),
        seq: 0,
        replay: VecDeque::new(),
        conn: Some((conn, tx.clone())),
        resumable: true,
    };
    session.push("READY", &ready(w, &session_id, d, shard));
    if intents & GUILDS != 0 {
        for g in w
            .guilds
            .values()
            .filter(|g| g.members.contains_key(&BOT_USER))
        {
            session.push("GUILD_CREATE", &wjson::guild_create(w, g));
        }
    }
    let record = &mut w.connections[conn];
    record.session_id = session_id.clone();
    record.intents = intents;
    record.shard = shard;
    record.compress = session.compress;
    w.sessions.push(session);
    Ok(session_id)
}

fn allowed_privileged(w: &World) -> u64 {
    let mut allowed = 0;
    if w.opts.message_content_intent {
        allowed |= MESSAGE_CONTENT;
    }
    if w.opts.guild_members_intent {
        allowed |= GUILD_MEMBERS;
    }
    if w.opts.presence_intent {
        allowed |= GUILD_PRESENCES;
    }
    allowed
}

fn new_session_id(w: &World) -> String {
    let seed = format!("{}{}{}", w.secret, now_ms(), w.sessions.len());
    let digest = Sha256::digest(seed.as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

fn ready(w: &World, session_id: &str, d: &Value, shard: (u64, u64)) -> Value {
    let guilds: Vec<Value> = w
        .guilds
        .values()
        .filter(|g| g.members.contains_key(&BOT_USER))
        .map(|g| json!({ "id": g.id.to_string(), "unavailable": true }))
        .collect();
    let mut user = wjson::user(w, BOT_USER);
    user["verified"] = json!(true);
    user["mfa_enabled"] = json!(false);
    user["email"] = Value::Null;
    let mut ready = json!({
        "v": 10, "user": user, "guilds": guilds, "session_id": session_id,
        "resume_gateway_url": format!("{}/ws", w.base_url.replacen("http", "ws", 1)),
        "private_channels": [],
        "application": { "id": APPLICATION.to_string(), "flags": application_flags(w) },
    });
    if !d["shard"].is_null() {
        ready["shard"] = json!([shard.0, shard.1]);
    }
    ready
}

/// The application's flags: the *_LIMITED intent flags the portal switches set, as for an app
/// in fewer than 100 servers (resources/application.mdx "Application Flags").
pub fn application_flags(w: &World) -> u64 {
    let mut flags = 0;
    if w.opts.presence_intent {
        flags |= 1 << 13;
    }
    if w.opts.guild_members_intent {
        flags |= 1 << 15;
    }
    if w.opts.message_content_intent {
        flags |= 1 << 19;
    }
    flags
}

/// Handles RESUME: replays what the session missed, then RESUMED. `Ok(None)` means the session
/// cannot be resumed: the caller answers op 9 `false`.
pub fn resume(
    w: &mut World,
    conn: usize,
    tx: &UnboundedSender<Outbound>,
    d: &Value,
) -> Result<Option<String>, Close> {
    if !token_ok(d["token"].as_str()) {
        return Err((4004, "Authentication failed."));
    }
    let id = d["session_id"].as_str().unwrap_or_default();
    let seq = d["seq"].as_u64().unwrap_or(0);
    let Some(s) = w
        .sessions
        .iter_mut()
        .find(|s| s.session_id == id && s.resumable)
    else {
        return Ok(None);
    };
    if seq > s.seq {
        return Err((4007, "Invalid seq."));
    }
    if let Some((_, old)) = s.conn.take() {
        let _ = old.send(Outbound::Close(4000, "Resumed elsewhere."));
    }
    for (_, text) in s.replay.iter().filter(|(n, _)| *n > seq) {
        let _ = tx.send(Outbound::Dispatch(text.clone()));
    }
    s.conn = Some((conn, tx.clone()));
    s.push("RESUMED", &json!({}));
    let (intents, shard, compress) = (s.intents, s.shard, s.compress);
    let record = &mut w.connections[conn];
    record.session_id = id.to_owned();
    record.resumed = true;
    record.intents = intents;
    record.shard = shard;
    record.compress = compress;
    Ok(Some(id.to_owned()))
}

/// Detaches a connection from its session; a close with 1000 or 1001 ends the session
/// (events/gateway.mdx "Initiating a Disconnect").
pub fn detach(w: &mut World, conn: usize, client_code: Option<u16>) {
    let ends = matches!(client_code, Some(1000 | 1001));
    for s in &mut w.sessions {
        if s.conn.as_ref().is_some_and(|(c, _)| *c == conn) {
            s.conn = None;
            if ends {
                s.resumable = false;
            }
        }
    }
    if let Some(record) = w.connections.get_mut(conn) {
        record.open = false;
    }
}
