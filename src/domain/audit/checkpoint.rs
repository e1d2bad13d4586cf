//! Sealed checkpoints: every so often the sealer records the heads of every chain that changed
//! since the last checkpoint, hashed together and linked to the checkpoint before. A checkpoint's
//! hash therefore vouches for every event before it in every chain it names, and the latest one
//! (the "seal") can be kept outside the database: whoever rewrites the whole log consistently
//! still cannot make an old seal match it.

use chrono::{DateTime, Utc};

use super::event::{hash_fields, ChainHead, GENESIS_HASH};

/// One checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// 1, 2, 3, ... in the order they were sealed.
    pub number: i64,
    pub at_ms: i64,
    /// The hash of the checkpoint before (the genesis hash for the first).
    pub prev_hash: String,
    /// The chains sealed, sorted by chain name.
    pub heads: Vec<ChainHead>,
    pub hash: String,
}

impl Checkpoint {
    /// Seals `heads` as the checkpoint after `previous` (or as the first).
    pub fn seal(
        previous: Option<(i64, &str)>,
        at: DateTime<Utc>,
        mut heads: Vec<ChainHead>,
    ) -> Checkpoint {
        heads.sort_by(|a, b| a.chain.cmp(&b.chain));
        let (number, prev_hash) = match previous {
            Some((number, hash)) => (number + 1, hash.to_owned()),
            None => (1, GENESIS_HASH.to_owned()),
        };
        let mut checkpoint = Checkpoint {
            number,
            at_ms: at.timestamp_millis(),
            prev_hash,
            heads,
            hash: String::new(),
        };
        checkpoint.hash = checkpoint.compute_hash();
        checkpoint
    }

    /// The hash this checkpoint should carry given its contents.
    pub fn compute_hash(&self) -> String {
        let number = self.number.to_be_bytes();
        let at = self.at_ms.to_be_bytes();
        let seqs: Vec<[u8; 8]> = self.heads.iter().map(|h| h.seq.to_be_bytes()).collect();
        let mut fields: Vec<&[u8]> = vec![b"checkpoint", &number, &at, self.prev_hash.as_bytes()];
        for (head, seq) in self.heads.iter().zip(&seqs) {
            fields.extend([head.chain.as_bytes(), seq.as_slice(), head.hash.as_bytes()]);
        }
        hash_fields(&fields)
    }

    pub fn at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.at_ms).unwrap_or_default()
    }
}

/// When the sealer writes a checkpoint: every `every`, or sooner once `events` are unsealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealPolicy {
    pub every: std::time::Duration,
    pub events: i64,
}

impl Default for SealPolicy {
    fn default() -> Self {
        SealPolicy {
            every: std::time::Duration::from_secs(60),
            events: 10_000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(chain: &str, seq: i64) -> ChainHead {
        ChainHead {
            chain: chain.into(),
            seq,
            hash: format!("h{seq}"),
        }
    }

    #[test]
    fn checkpoints_are_numbered_and_linked() {
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let first = Checkpoint::seal(None, at, vec![head("case:1", 3)]);
        assert_eq!((first.number, first.prev_hash.as_str()), (1, GENESIS_HASH));
        let second = Checkpoint::seal(Some((1, &first.hash)), at, vec![head("case:2", 1)]);
        assert_eq!(second.number, 2);
        assert_eq!(second.prev_hash, first.hash);
    }

    #[test]
    fn heads_are_sealed_in_chain_order_whatever_order_they_came_in() {
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let a = Checkpoint::seal(None, at, vec![head("case:2", 1), head("case:1", 3)]);
        let b = Checkpoint::seal(None, at, vec![head("case:1", 3), head("case:2", 1)]);
        assert_eq!(a, b);
    }

    #[test]
    fn changing_a_sealed_head_changes_the_hash() {
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let mut cp = Checkpoint::seal(None, at, vec![head("case:1", 3)]);
        assert_eq!(cp.compute_hash(), cp.hash);
        cp.heads[0].hash = "forged".into();
        assert_ne!(cp.compute_hash(), cp.hash);
    }
}
