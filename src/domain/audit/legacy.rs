//! The audit log as releases before per-case chains wrote it: one global chain with a single
//! head. Kept only so that a database from such a release can be checked and carried over: its
//! chain must verify under the old rules before its events are re-sealed onto the new chains.

use super::event::{hash_fields, GENESIS_HASH};

/// An event of the old single chain, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyEvent {
    pub seq: i64,
    pub at_ms: i64,
    pub actor_kind: String,
    pub actor_id: String,
    pub action: String,
    pub case_id: Option<i64>,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

impl LegacyEvent {
    /// The hash the old release computed for this event.
    pub fn compute_hash(&self) -> String {
        let case = self.case_id.map(|c| c.to_string()).unwrap_or_default();
        hash_fields(&[
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
}

/// Checks the old chain event by event, in position order, so a log of any length is checked in
/// constant memory. The first problem is reported in words, so that a damaged old log is refused
/// rather than carried over as if it were sound.
#[derive(Debug)]
pub struct LegacyWalk {
    expected: i64,
    prev: String,
}

impl Default for LegacyWalk {
    fn default() -> Self {
        LegacyWalk {
            expected: 1,
            prev: GENESIS_HASH.to_owned(),
        }
    }
}

impl LegacyWalk {
    pub fn check(&mut self, event: &LegacyEvent) -> Result<(), String> {
        if event.seq != self.expected || event.prev_hash != self.prev {
            return Err(format!(
                "the old audit log breaks at event #{}",
                self.expected
            ));
        }
        if event.compute_hash() != event.hash {
            return Err(format!(
                "the old audit log's event #{} was edited",
                event.seq
            ));
        }
        self.expected += 1;
        self.prev = event.hash.clone();
        Ok(())
    }

    /// Ends the walk against the old recorded head.
    pub fn finish(self, head: (i64, &str)) -> Result<u64, String> {
        let last = self.expected - 1;
        if (last, self.prev.as_str()) != head {
            return Err(format!(
                "the old audit log ends at #{last} but its head records #{}",
                head.0
            ));
        }
        Ok(last as u64)
    }
}

/// Checks a whole old chain held in memory.
pub fn verify(events: &[LegacyEvent], head: (i64, &str)) -> Result<u64, String> {
    let mut walk = LegacyWalk::default();
    for event in events {
        walk.check(event)?;
    }
    walk.finish(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn old_chain(n: i64) -> Vec<LegacyEvent> {
        let mut prev = GENESIS_HASH.to_owned();
        (1..=n)
            .map(|seq| {
                let mut e = LegacyEvent {
                    seq,
                    at_ms: 1_700_000_000_000 + seq,
                    actor_kind: "bot".into(),
                    actor_id: "casebot".into(),
                    action: "case.routed".into(),
                    case_id: Some(1),
                    details: "{}".into(),
                    prev_hash: prev.clone(),
                    hash: String::new(),
                };
                e.hash = e.compute_hash();
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    #[test]
    fn a_sound_old_log_verifies() {
        let events = old_chain(4);
        let head = events.last().unwrap().hash.clone();
        assert_eq!(verify(&events, (4, &head)), Ok(4));
        assert_eq!(verify(&[], (0, GENESIS_HASH)), Ok(0));
    }

    #[test]
    fn a_damaged_old_log_is_refused_with_the_position() {
        let mut events = old_chain(4);
        let head = events.last().unwrap().hash.clone();
        events[1].details = "{\"x\":1}".into();
        assert_eq!(
            verify(&events, (4, &head)),
            Err("the old audit log's event #2 was edited".into())
        );
        events.remove(1);
        assert!(verify(&events, (4, &head)).unwrap_err().contains("#2"));
    }
}
