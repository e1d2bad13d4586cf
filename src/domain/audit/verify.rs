//! Checking a stored log: each chain event by event against its recorded head, every case against
//! the chain it must have, and the checkpoints against each other and against the events they
//! sealed. The store reads (in one snapshot) and feeds a [`LogVerifier`]; every problem found is
//! named by its chain and position.

use std::fmt;

use super::checkpoint::Checkpoint;
use super::event::{AuditEvent, GENESIS_HASH};

/// One thing wrong with a stored log, with where it shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The event's content no longer matches its hash: it was edited.
    Edited { chain: String, seq: i64 },
    /// Positions are missing before this event: events were deleted.
    Missing {
        chain: String,
        expected_seq: i64,
        found_seq: i64,
    },
    /// The event does not link to the one before it: deleted, inserted or reordered there.
    BrokenLink { chain: String, seq: i64 },
    /// The chain ends before its recorded head: events were deleted from the end.
    Truncated {
        chain: String,
        last_seq: i64,
        head_seq: i64,
    },
    /// The last event is not the recorded head: the head or the last event was changed.
    HeadMismatch { chain: String, head_seq: i64 },
    /// Events lie past the recorded head: they were inserted after the fact.
    BeyondHead { chain: String, seq: i64 },
    /// Events exist for a chain that has no recorded head.
    NoHead { chain: String },
    /// A chain's head is recorded but all of its events are gone.
    EventsGone { chain: String, head_seq: i64 },
    /// A case exists with no audit trail at all: its events and head were deleted.
    CaseWithoutTrail { case: i64 },
    /// A checkpoint's content does not match its hash.
    CheckpointEdited { number: i64 },
    /// A checkpoint does not link to the one before it, or numbers are missing.
    CheckpointBroken { number: i64 },
    /// A checkpoint sealed an event that is now different or gone.
    SealedEventChanged {
        number: i64,
        chain: String,
        seq: i64,
        now: Option<String>,
    },
    /// The seal kept outside the database is not in the log: it was rewritten.
    SealNotFound { hash: String },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Edited { chain, seq } => {
                write!(f, "{chain} event #{seq} was edited: its content does not match its hash")
            }
            Problem::Missing { chain, expected_seq, found_seq } => write!(
                f,
                "{chain} events #{expected_seq}..#{} are missing: deleted before #{found_seq}",
                found_seq - 1
            ),
            Problem::BrokenLink { chain, seq } => write!(
                f,
                "{chain} event #{seq} does not follow the event before it: an event was deleted, inserted or reordered there"
            ),
            Problem::Truncated { chain, last_seq, head_seq } => write!(
                f,
                "{chain} ends at #{last_seq} but its head records #{head_seq}: events were deleted from the end"
            ),
            Problem::HeadMismatch { chain, head_seq } => {
                write!(f, "{chain} event #{head_seq} does not match the chain's recorded head")
            }
            Problem::BeyondHead { chain, seq } => write!(
                f,
                "{chain} event #{seq} lies past the chain's recorded head: it was inserted"
            ),
            Problem::NoHead { chain } => {
                write!(f, "{chain} has events but no recorded head: the head was deleted")
            }
            Problem::EventsGone { chain, head_seq } => write!(
                f,
                "{chain} records {head_seq} events but none is left: they were deleted"
            ),
            Problem::CaseWithoutTrail { case } => write!(
                f,
                "case {case} has no audit trail: its events were deleted whole"
            ),
            Problem::CheckpointEdited { number } => write!(
                f,
                "checkpoint #{number} was edited: its content does not match its hash"
            ),
            Problem::CheckpointBroken { number } => write!(
                f,
                "checkpoint #{number} does not follow the checkpoint before it: one was deleted, inserted or reordered"
            ),
            Problem::SealedEventChanged { number, chain, seq, now } => match now {
                Some(_) => write!(
                    f,
                    "{chain} event #{seq} differs from what checkpoint #{number} sealed: the chain was rewritten"
                ),
                None => write!(
                    f,
                    "{chain} event #{seq}, sealed by checkpoint #{number}, is gone: it was deleted"
                ),
            },
            Problem::SealNotFound { hash } => write!(
                f,
                "the seal {hash} is not in the log: the log was rewritten after it was taken"
            ),
        }
    }
}

/// The outcome of a verification.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogReport {
    pub events: u64,
    pub chains: u64,
    pub checkpoints: u64,
    pub problems: Vec<Problem>,
}

impl LogReport {
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Collects what the store feeds it into a [`LogReport`].
#[derive(Debug, Default)]
pub struct LogVerifier {
    report: LogReport,
    last_checkpoint: Option<(i64, String)>,
}

impl LogVerifier {
    /// Checks one chain: its events in position order and its recorded head (`None` when the
    /// head row is missing).
    pub fn chain(&mut self, name: &str, head: Option<(i64, &str)>, events: &[AuditEvent]) {
        self.report.chains += 1;
        self.report.events += events.len() as u64;
        let problems = &mut self.report.problems;
        let Some((head_seq, head_hash)) = head else {
            if !events.is_empty() {
                problems.push(Problem::NoHead {
                    chain: name.to_owned(),
                });
            }
            return;
        };
        if events.is_empty() {
            if head_seq > 0 {
                problems.push(Problem::EventsGone {
                    chain: name.to_owned(),
                    head_seq,
                });
            }
            return;
        }
        let (mut expected, mut prev) = (1, GENESIS_HASH.to_owned());
        for event in events {
            let chain = name.to_owned();
            if event.seq > head_seq {
                // Walked past the head: whatever follows was appended behind its back.
                problems.push(Problem::BeyondHead {
                    chain,
                    seq: event.seq,
                });
                return;
            }
            if event.seq > expected {
                problems.push(Problem::Missing {
                    chain: chain.clone(),
                    expected_seq: expected,
                    found_seq: event.seq,
                });
            } else if event.prev_hash != prev {
                problems.push(Problem::BrokenLink {
                    chain: chain.clone(),
                    seq: event.seq,
                });
            }
            if event.compute_hash() != event.hash || event.chain != name {
                problems.push(Problem::Edited {
                    chain,
                    seq: event.seq,
                });
            }
            expected = event.seq + 1;
            prev = event.hash.clone();
        }
        let last_seq = expected - 1;
        if last_seq < head_seq {
            problems.push(Problem::Truncated {
                chain: name.to_owned(),
                last_seq,
                head_seq,
            });
        } else if prev != head_hash {
            problems.push(Problem::HeadMismatch {
                chain: name.to_owned(),
                head_seq,
            });
        }
    }

    /// A case row with no chain of its own.
    pub fn case_without_trail(&mut self, case: i64) {
        self.report
            .problems
            .push(Problem::CaseWithoutTrail { case });
    }

    /// Checks the next checkpoint, in number order.
    pub fn checkpoint(&mut self, checkpoint: &Checkpoint) {
        self.report.checkpoints += 1;
        if checkpoint.compute_hash() != checkpoint.hash {
            self.report.problems.push(Problem::CheckpointEdited {
                number: checkpoint.number,
            });
        }
        let (expected_number, expected_prev) = match &self.last_checkpoint {
            Some((number, hash)) => (number + 1, hash.as_str()),
            None => (1, GENESIS_HASH),
        };
        if checkpoint.number != expected_number || checkpoint.prev_hash != expected_prev {
            self.report.problems.push(Problem::CheckpointBroken {
                number: checkpoint.number,
            });
        }
        self.last_checkpoint = Some((checkpoint.number, checkpoint.hash.clone()));
    }

    /// A sealed head whose event now has another hash (`now`), or none.
    pub fn sealed_event_changed(
        &mut self,
        number: i64,
        chain: &str,
        seq: i64,
        now: Option<String>,
    ) {
        self.report.problems.push(Problem::SealedEventChanged {
            number,
            chain: chain.to_owned(),
            seq,
            now,
        });
    }

    /// Whether a seal kept outside the database was found among the checkpoints.
    pub fn seal(&mut self, hash: &str, found: bool) {
        if !found {
            self.report.problems.push(Problem::SealNotFound {
                hash: hash.to_owned(),
            });
        }
    }

    pub fn finish(self) -> LogReport {
        self.report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::audit::{seal_all, Action, Actor, NewAuditEvent};
    use crate::domain::ids::CaseId;
    use chrono::DateTime;
    use serde_json::json;

    fn chain(n: i64) -> Vec<AuditEvent> {
        let events: Vec<_> = (1..=n)
            .map(|i| {
                NewAuditEvent::new(
                    DateTime::from_timestamp(1_700_000_000 + i, 0).unwrap(),
                    Actor::bot(),
                    Action::CaseRouted,
                )
                .on(CaseId(1))
                .with(json!({ "n": i }))
            })
            .collect();
        seal_all(&events, &Default::default()).0
    }

    fn check(events: &[AuditEvent], head: (i64, &str)) -> Vec<Problem> {
        let mut verifier = LogVerifier::default();
        verifier.chain("case:1", Some(head), events);
        verifier.finish().problems
    }

    fn head(events: &[AuditEvent]) -> (i64, String) {
        let last = events.last().unwrap();
        (last.seq, last.hash.clone())
    }

    fn at(chain: &str, seq: i64) -> (String, i64) {
        (chain.to_owned(), seq)
    }

    #[test]
    fn an_untouched_chain_is_intact() {
        let events = chain(5);
        let (seq, hash) = head(&events);
        assert_eq!(check(&events, (seq, &hash)), vec![]);
    }

    #[test]
    fn an_edited_event_is_named_by_chain_and_position() {
        let mut events = chain(5);
        let (seq, hash) = head(&events);
        events[2].details = r#"{"n":99}"#.into();
        let problems = check(&events, (seq, &hash));
        assert_eq!(
            problems,
            vec![Problem::Edited {
                chain: "case:1".into(),
                seq: 3
            }]
        );
        assert_eq!(
            problems[0].to_string(),
            "case:1 event #3 was edited: its content does not match its hash"
        );
    }

    #[test]
    fn a_deleted_event_is_missing_where_it_was() {
        let mut events = chain(5);
        let (seq, hash) = head(&events);
        events.remove(1);
        let problems = check(&events, (seq, &hash));
        let (chain, expected_seq) = at("case:1", 2);
        assert_eq!(
            problems,
            vec![Problem::Missing {
                chain,
                expected_seq,
                found_seq: 3
            }]
        );
    }

    #[test]
    fn deleting_the_last_events_is_caught_by_the_head() {
        let mut events = chain(5);
        let (seq, hash) = head(&events);
        events.truncate(3);
        let problems = check(&events, (seq, &hash));
        let (chain, last_seq) = at("case:1", 3);
        assert_eq!(
            problems,
            vec![Problem::Truncated {
                chain,
                last_seq,
                head_seq: 5
            }]
        );
    }

    #[test]
    fn swapping_two_events_breaks_the_chain_at_the_first_of_them() {
        let mut events = chain(5);
        let (seq, hash) = head(&events);
        let (a, b) = (events[1].clone(), events[2].clone());
        events[1] = AuditEvent { seq: 2, ..b };
        events[2] = AuditEvent { seq: 3, ..a };
        let problems = check(&events, (seq, &hash));
        assert!(problems.contains(&Problem::BrokenLink {
            chain: "case:1".into(),
            seq: 2
        }));
        assert!(problems.contains(&Problem::Edited {
            chain: "case:1".into(),
            seq: 2
        }));
    }

    #[test]
    fn an_event_inserted_past_the_head_is_caught() {
        let events = chain(5);
        let (_, hash4) = (4, events[3].hash.clone());
        let problems = check(&events, (4, &hash4));
        assert_eq!(
            problems,
            vec![Problem::BeyondHead {
                chain: "case:1".into(),
                seq: 5
            }]
        );
    }

    #[test]
    fn a_chain_whose_events_are_all_gone_is_reported() {
        let mut verifier = LogVerifier::default();
        verifier.chain("case:7", Some((3, "abc")), &[]);
        verifier.case_without_trail(8);
        let problems = verifier.finish().problems;
        assert_eq!(
            problems,
            vec![
                Problem::EventsGone {
                    chain: "case:7".into(),
                    head_seq: 3
                },
                Problem::CaseWithoutTrail { case: 8 },
            ]
        );
    }

    #[test]
    fn checkpoints_must_link_and_match_their_hashes() {
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let first = Checkpoint::seal(None, at, vec![]);
        let second = Checkpoint::seal(Some((1, &first.hash)), at, vec![]);
        let mut edited = Checkpoint::seal(Some((2, &second.hash)), at, vec![]);
        edited.at_ms += 1;
        let mut verifier = LogVerifier::default();
        for cp in [&first, &second, &edited] {
            verifier.checkpoint(cp);
        }
        assert_eq!(
            verifier.finish().problems,
            vec![Problem::CheckpointEdited { number: 3 }]
        );

        let mut verifier = LogVerifier::default();
        verifier.checkpoint(&first);
        verifier.checkpoint(&edited);
        assert!(verifier
            .finish()
            .problems
            .contains(&Problem::CheckpointBroken { number: 3 }));
    }
}
