//! What an audit event holds, which chain it belongs to, and how its hash is computed.
//!
//! Events form many short chains instead of one long one: each case has its own, each staff
//! member has one for what they do outside cases, and casebot has one for its own housekeeping.
//! Writers on different cases therefore never wait for each other; checkpoints (see
//! [`super::checkpoint`]) tie all the chains together.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::Action;
use crate::domain::case::UnknownName;
use crate::domain::ids::{CaseId, CustomerId, StaffId};

/// The hash the first event of every chain links to.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who did something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    Customer,
    Staff,
    Bot,
    System,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Customer => "customer",
            ActorKind::Staff => "staff",
            ActorKind::Bot => "bot",
            ActorKind::System => "system",
        }
    }
}

/// Who did something, as the log names them: a kind and an id within it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: String,
}

impl Actor {
    pub fn staff(id: &StaffId) -> Actor {
        Actor {
            kind: ActorKind::Staff,
            id: id.to_string(),
        }
    }

    pub fn customer(id: CustomerId) -> Actor {
        Actor {
            kind: ActorKind::Customer,
            id: id.to_string(),
        }
    }

    /// casebot answering customers.
    pub fn bot() -> Actor {
        Actor {
            kind: ActorKind::Bot,
            id: "casebot".into(),
        }
    }

    /// A part of casebot acting on its own: `rate-limits`, `sweeper`, `outbox`, `discord`, ...
    pub fn system(part: &str) -> Actor {
        Actor {
            kind: ActorKind::System,
            id: part.to_owned(),
        }
    }
}

/// The chain an event belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChainId {
    /// Everything that happened to one case.
    Case(CaseId),
    /// What one staff member did outside any case (claiming from an empty queue, say).
    Staff(String),
    /// casebot's own events outside cases: the staff directory, migrations.
    System,
}

impl ChainId {
    /// Where an event about `case_id` by `actor` goes.
    pub fn of(case_id: Option<CaseId>, actor: &Actor) -> ChainId {
        match (case_id, actor.kind) {
            (Some(case), _) => ChainId::Case(case),
            (None, ActorKind::Staff) => ChainId::Staff(actor.id.clone()),
            (None, _) => ChainId::System,
        }
    }
}

impl fmt::Display for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChainId::Case(case) => write!(f, "case:{case}"),
            ChainId::Staff(id) => write!(f, "staff:{id}"),
            ChainId::System => f.write_str("system"),
        }
    }
}

impl FromStr for ChainId {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<ChainId, UnknownName> {
        let unknown = || UnknownName {
            kind: "audit chain",
            value: s.to_owned(),
        };
        match s.split_once(':') {
            None if s == "system" => Ok(ChainId::System),
            Some(("case", n)) => n
                .parse()
                .map(|n| ChainId::Case(CaseId(n)))
                .map_err(|_| unknown()),
            Some(("staff", id)) if !id.is_empty() => Ok(ChainId::Staff(id.to_owned())),
            _ => Err(unknown()),
        }
    }
}

/// An event a service wants recorded. The store gives it its place in its chain and its hash.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEvent {
    pub at: DateTime<Utc>,
    pub actor: Actor,
    pub action: Action,
    pub case_id: Option<CaseId>,
    /// A JSON object. Never message text: digests, ids and counts only.
    pub details: serde_json::Value,
}

impl NewAuditEvent {
    pub fn new(at: DateTime<Utc>, actor: Actor, action: Action) -> NewAuditEvent {
        NewAuditEvent {
            at,
            actor,
            action,
            case_id: None,
            details: serde_json::json!({}),
        }
    }

    /// The same event, about `case`.
    pub fn on(mut self, case: CaseId) -> NewAuditEvent {
        self.case_id = Some(case);
        self
    }

    /// The same event, with `details`.
    pub fn with(mut self, details: serde_json::Value) -> NewAuditEvent {
        self.details = details;
        self
    }

    pub fn chain(&self) -> ChainId {
        ChainId::of(self.case_id, &self.actor)
    }
}

/// An event as stored: its chain and position there, the link to the event before it and its
/// own hash. Text fields stay text, so that an event someone edited is still read and reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEvent {
    pub chain: String,
    pub seq: i64,
    /// Milliseconds since the Unix epoch, exactly as hashed.
    pub at_ms: i64,
    pub actor_kind: String,
    pub actor_id: String,
    pub action: String,
    pub case_id: Option<i64>,
    /// The details JSON exactly as stored and hashed.
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEvent {
    /// Seals `event` as position `seq` of its chain, after the event whose hash is `prev_hash`.
    pub fn seal(event: &NewAuditEvent, seq: i64, prev_hash: &str) -> AuditEvent {
        let mut sealed = AuditEvent {
            chain: event.chain().to_string(),
            seq,
            at_ms: event.at.timestamp_millis(),
            actor_kind: event.actor.kind.as_str().to_owned(),
            actor_id: event.actor.id.clone(),
            action: event.action.as_str().to_owned(),
            case_id: event.case_id.map(CaseId::get),
            details: event.details.to_string(),
            prev_hash: prev_hash.to_owned(),
            hash: String::new(),
        };
        sealed.hash = sealed.compute_hash();
        sealed
    }

    /// The hash this event should carry given its fields. Every field is length-prefixed so that
    /// moving characters from one field to the next changes the hash; the chain is hashed too,
    /// so an event cannot be moved to another case's chain.
    pub fn compute_hash(&self) -> String {
        let case = self.case_id.map(|c| c.to_string()).unwrap_or_default();
        hash_fields(&[
            self.chain.as_bytes(),
            &self.seq.to_be_bytes(),
            &self.at_ms.to_be_bytes(),
            self.actor_kind.as_bytes(),
            self.actor_id.as_bytes(),
            self.action.as_bytes(),
            case.as_bytes(),
            self.details.as_bytes(),
            self.prev_hash.as_bytes(),
        ])
    }

    pub fn at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.at_ms).unwrap_or_default()
    }
}

/// SHA-256 over length-prefixed fields, hex.
pub(crate) fn hash_fields(fields: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for field in fields {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field);
    }
    hex::encode(h.finalize())
}

/// The last event of a chain: its position and hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    pub chain: String,
    pub seq: i64,
    pub hash: String,
}

/// Seals `events` onto chains whose current heads are `heads` (a chain missing there is new),
/// in order, returning the sealed events and the chains' new heads.
pub fn seal_all(
    events: &[NewAuditEvent],
    heads: &std::collections::HashMap<String, (i64, String)>,
) -> (Vec<AuditEvent>, Vec<ChainHead>) {
    let mut current: std::collections::BTreeMap<String, (i64, String)> = Default::default();
    let mut sealed = Vec::with_capacity(events.len());
    for event in events {
        let chain = event.chain().to_string();
        let head = current.entry(chain.clone()).or_insert_with(|| {
            heads
                .get(&chain)
                .cloned()
                .unwrap_or_else(|| (0, GENESIS_HASH.to_owned()))
        });
        let next = AuditEvent::seal(event, head.0 + 1, &head.1);
        *head = (next.seq, next.hash.clone());
        sealed.push(next);
    }
    let heads = current
        .into_iter()
        .map(|(chain, (seq, hash))| ChainHead { chain, seq, hash })
        .collect();
    (sealed, heads)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(case: i64) -> NewAuditEvent {
        NewAuditEvent::new(
            DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            Actor::bot(),
            Action::CaseRouted,
        )
        .on(CaseId(case))
        .with(json!({ "n": case }))
    }

    #[test]
    fn an_event_goes_to_its_case_chain_or_else_to_its_actor() {
        assert_eq!(event(4).chain(), ChainId::Case(CaseId(4)));
        let staff =
            NewAuditEvent::new(Utc::now(), Actor::staff(&"ana".into()), Action::AuthRefused);
        assert_eq!(staff.chain(), ChainId::Staff("ana".into()));
        let roles = NewAuditEvent::new(Utc::now(), Actor::system("roles"), Action::StaffAdded);
        assert_eq!(roles.chain(), ChainId::System);
    }

    #[test]
    fn chain_names_read_back() {
        for chain in [
            ChainId::Case(CaseId(9)),
            ChainId::Staff("12".into()),
            ChainId::System,
        ] {
            assert_eq!(chain.to_string().parse::<ChainId>(), Ok(chain));
        }
        assert!("case:x".parse::<ChainId>().is_err());
        assert!("staff:".parse::<ChainId>().is_err());
    }

    #[test]
    fn sealing_continues_each_chain_from_its_head() {
        let mut heads = std::collections::HashMap::new();
        heads.insert("case:1".to_owned(), (4, "h4".to_owned()));
        let (sealed, new_heads) = seal_all(&[event(1), event(2), event(1)], &heads);
        let positions: Vec<_> = sealed.iter().map(|e| (e.chain.as_str(), e.seq)).collect();
        assert_eq!(positions, [("case:1", 5), ("case:2", 1), ("case:1", 6)]);
        assert_eq!(sealed[0].prev_hash, "h4");
        assert_eq!(sealed[1].prev_hash, GENESIS_HASH);
        assert_eq!(sealed[2].prev_hash, sealed[0].hash);
        assert_eq!(new_heads.len(), 2);
        assert_eq!(new_heads[0].seq, 6);
    }

    #[test]
    fn the_same_event_on_another_chain_hashes_differently() {
        let a = AuditEvent::seal(&event(1), 1, GENESIS_HASH);
        let mut b = a.clone();
        b.chain = "case:2".into();
        assert_ne!(a.hash, b.compute_hash());
    }

    #[test]
    fn moving_text_between_fields_changes_the_hash() {
        let mut a = AuditEvent::seal(&event(1), 1, GENESIS_HASH);
        a.actor_id = "ab".into();
        a.action = "c".into();
        let mut b = a.clone();
        b.actor_id = "a".into();
        b.action = "bc".into();
        assert_ne!(a.compute_hash(), b.compute_hash());
    }
}
