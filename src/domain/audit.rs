//! The tamper-evident audit chain: what an audit event holds, how its hash is computed, and how a
//! stored chain is checked.
//!
//! Each event's hash covers its own fields and the hash of the event before it, so editing,
//! deleting, inserting or reordering any stored event breaks the chain at that position. Details
//! carry digests of message text rather than the text, so erasing personal data later leaves every
//! hash intact.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The hash the first event links to.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who did something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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

/// An event a service wants recorded. The store gives it its position and hashes.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEvent {
    pub at: DateTime<Utc>,
    pub actor_kind: ActorKind,
    pub actor_id: String,
    pub action: &'static str,
    pub case_id: Option<i64>,
    /// A JSON object. Never message text: digests, ids and counts only.
    pub details: serde_json::Value,
}

/// An event as stored: position in the chain, link to the previous event and its own hash.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEvent {
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
    /// Seals `event` as position `seq` after the event whose hash is `prev_hash`.
    pub fn seal(event: &NewAuditEvent, seq: i64, prev_hash: &str) -> AuditEvent {
        let mut sealed = AuditEvent {
            seq,
            at_ms: event.at.timestamp_millis(),
            actor_kind: event.actor_kind.as_str().to_owned(),
            actor_id: event.actor_id.clone(),
            action: event.action.to_owned(),
            case_id: event.case_id,
            details: event.details.to_string(),
            prev_hash: prev_hash.to_owned(),
            hash: String::new(),
        };
        sealed.hash = sealed.compute_hash();
        sealed
    }

    /// The hash this event should carry given its fields. Every field is length-prefixed so that
    /// moving characters from one field to the next changes the hash.
    pub fn compute_hash(&self) -> String {
        let mut h = Sha256::new();
        let case = self.case_id.map(|c| c.to_string()).unwrap_or_default();
        let fields: [&[u8]; 8] = [
            &self.seq.to_be_bytes(),
            &self.at_ms.to_be_bytes(),
            self.actor_kind.as_bytes(),
            self.actor_id.as_bytes(),
            self.action.as_bytes(),
            case.as_bytes(),
            self.details.as_bytes(),
            self.prev_hash.as_bytes(),
        ];
        for field in fields {
            h.update((field.len() as u64).to_be_bytes());
            h.update(field);
        }
        hex::encode(h.finalize())
    }
}

/// One thing wrong with a stored chain, with the position where it shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainProblem {
    /// The event's content no longer matches its hash: it was edited (or moved to another position).
    Edited { seq: i64 },
    /// Positions are missing before this event: events were deleted.
    Missing { expected_seq: i64, found_seq: i64 },
    /// The event does not link to the one before it: something was deleted, inserted or reordered.
    BrokenLink { seq: i64 },
    /// The chain ends before its recorded head: events were deleted from the end.
    Truncated { last_seq: i64, head_seq: i64 },
    /// The last event is not the recorded head: the head or the last event was changed.
    HeadMismatch { head_seq: i64 },
    /// An event lies past the recorded head: it was inserted after the fact.
    BeyondHead { seq: i64 },
}

impl fmt::Display for ChainProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChainProblem::Edited { seq } => {
                write!(f, "event #{seq} was edited: its content does not match its hash")
            }
            ChainProblem::Missing {
                expected_seq,
                found_seq,
            } => write!(
                f,
                "events #{expected_seq}..#{} are missing: deleted before #{found_seq}",
                found_seq - 1
            ),
            ChainProblem::BrokenLink { seq } => write!(
                f,
                "event #{seq} does not follow the event before it: an event was deleted, inserted or reordered there"
            ),
            ChainProblem::Truncated { last_seq, head_seq } => write!(
                f,
                "the log ends at #{last_seq} but its head records #{head_seq}: events were deleted from the end"
            ),
            ChainProblem::HeadMismatch { head_seq } => {
                write!(f, "event #{head_seq} does not match the recorded head of the log")
            }
            ChainProblem::BeyondHead { seq } => write!(
                f,
                "event #{seq} lies past the recorded head of the log: it was inserted"
            ),
        }
    }
}

/// Walks a chain in stored order, one event at a time, so that a log of any length is checked in
/// constant memory.
#[derive(Debug)]
pub struct ChainVerifier {
    expected_seq: i64,
    prev_hash: String,
    problems: Vec<ChainProblem>,
    checked: u64,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier {
            expected_seq: 1,
            prev_hash: GENESIS_HASH.to_owned(),
            problems: Vec::new(),
            checked: 0,
        }
    }
}

impl ChainVerifier {
    pub fn check(&mut self, event: &AuditEvent) {
        self.checked += 1;
        if event.seq > self.expected_seq {
            self.problems.push(ChainProblem::Missing {
                expected_seq: self.expected_seq,
                found_seq: event.seq,
            });
        } else if event.prev_hash != self.prev_hash {
            self.problems
                .push(ChainProblem::BrokenLink { seq: event.seq });
        }
        if event.compute_hash() != event.hash {
            self.problems.push(ChainProblem::Edited { seq: event.seq });
        }
        self.expected_seq = event.seq + 1;
        self.prev_hash = event.hash.clone();
    }

    /// Ends the walk against the recorded head `(seq, hash)` and returns the report.
    pub fn finish(mut self, head_seq: i64, head_hash: &str) -> ChainReport {
        let last_seq = self.expected_seq - 1;
        if last_seq < head_seq {
            self.problems
                .push(ChainProblem::Truncated { last_seq, head_seq });
        } else if last_seq > head_seq || self.prev_hash != head_hash {
            self.problems.push(ChainProblem::HeadMismatch { head_seq });
        }
        ChainReport {
            checked: self.checked,
            problems: self.problems,
        }
    }
}

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub checked: u64,
    pub problems: Vec<ChainProblem>,
}

impl ChainReport {
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chain(n: i64) -> Vec<AuditEvent> {
        let mut prev = GENESIS_HASH.to_owned();
        (1..=n)
            .map(|seq| {
                let event = NewAuditEvent {
                    at: DateTime::from_timestamp(1_700_000_000 + seq, 0).unwrap(),
                    actor_kind: ActorKind::Customer,
                    actor_id: format!("user-{seq}"),
                    action: "message.received",
                    case_id: Some(seq),
                    details: json!({ "n": seq }),
                };
                let sealed = AuditEvent::seal(&event, seq, &prev);
                prev = sealed.hash.clone();
                sealed
            })
            .collect()
    }

    fn verify(events: &[AuditEvent], head: (i64, &str)) -> ChainReport {
        let mut verifier = ChainVerifier::default();
        events.iter().for_each(|e| verifier.check(e));
        verifier.finish(head.0, head.1)
    }

    fn head_of(events: &[AuditEvent]) -> (i64, String) {
        let last = events.last().unwrap();
        (last.seq, last.hash.clone())
    }

    #[test]
    fn an_untouched_chain_is_intact() {
        let events = chain(5);
        let (seq, hash) = head_of(&events);
        let report = verify(&events, (seq, &hash));
        assert!(report.is_intact(), "{:?}", report.problems);
        assert_eq!(report.checked, 5);
    }

    #[test]
    fn an_empty_chain_with_a_genesis_head_is_intact() {
        assert!(verify(&[], (0, GENESIS_HASH)).is_intact());
    }

    #[test]
    fn an_edited_event_is_named_by_position() {
        let mut events = chain(5);
        let (seq, hash) = head_of(&events);
        events[2].details = r#"{"n":99}"#.into();
        let report = verify(&events, (seq, &hash));
        assert_eq!(report.problems, vec![ChainProblem::Edited { seq: 3 }]);
    }

    #[test]
    fn a_deleted_event_is_reported_as_missing_where_it_was() {
        let mut events = chain(5);
        let (seq, hash) = head_of(&events);
        events.remove(1);
        let report = verify(&events, (seq, &hash));
        assert_eq!(
            report.problems,
            vec![ChainProblem::Missing {
                expected_seq: 2,
                found_seq: 3
            }]
        );
    }

    #[test]
    fn deleting_the_last_events_is_caught_by_the_head() {
        let mut events = chain(5);
        let (seq, hash) = head_of(&events);
        events.truncate(3);
        let report = verify(&events, (seq, &hash));
        assert_eq!(
            report.problems,
            vec![ChainProblem::Truncated {
                last_seq: 3,
                head_seq: 5
            }]
        );
    }

    #[test]
    fn swapping_two_events_breaks_the_chain_at_the_first_of_them() {
        let mut events = chain(5);
        let (seq, hash) = head_of(&events);
        // Reorder the content while keeping the positions, as an UPDATE of `seq` would.
        let (a, b) = (events[1].clone(), events[2].clone());
        events[1] = AuditEvent { seq: 2, ..b };
        events[2] = AuditEvent { seq: 3, ..a };
        let report = verify(&events, (seq, &hash));
        assert!(report
            .problems
            .contains(&ChainProblem::BrokenLink { seq: 2 }));
        assert!(report.problems.contains(&ChainProblem::Edited { seq: 2 }));
    }

    #[test]
    fn an_inserted_event_is_caught_even_with_a_valid_hash_of_its_own() {
        let events = chain(4);
        let (seq, hash) = head_of(&events);
        let forged = AuditEvent::seal(
            &NewAuditEvent {
                at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
                actor_kind: ActorKind::Staff,
                actor_id: "mallory".into(),
                action: "case.resolved",
                case_id: Some(1),
                details: json!({}),
            },
            3,
            "not-the-previous-hash",
        );
        let mut tampered = events.clone();
        tampered.insert(2, forged);
        let report = verify(&tampered, (seq, &hash));
        assert!(report
            .problems
            .contains(&ChainProblem::BrokenLink { seq: 3 }));
    }

    #[test]
    fn moving_text_between_fields_changes_the_hash() {
        let mut a = chain(1).remove(0);
        a.actor_id = "ab".into();
        a.action = "c".into();
        let mut b = a.clone();
        b.actor_id = "a".into();
        b.action = "bc".into();
        assert_ne!(a.compute_hash(), b.compute_hash());
    }

    #[test]
    fn problems_read_as_sentences_with_positions() {
        assert_eq!(
            ChainProblem::Edited { seq: 7 }.to_string(),
            "event #7 was edited: its content does not match its hash"
        );
    }
}
