//! A prefilter for the cues: one pass over the text finds which cues can possibly match, so that
//! only those run their regex.

use super::classify::ascii_boundaries;

/// One pass over the text that tells which cues can possibly match, so that only those run their
/// regex. Every match of a cue starts with one of its prefix literals (extracted from the pattern
/// itself), so a cue none of whose prefixes occur cannot match. Cues without a short finite prefix
/// set always run.
pub(super) struct CueGate {
    prefixes: aho_corasick::AhoCorasick,
    /// For each prefix pattern of the automaton, the cue it belongs to.
    owner: Vec<usize>,
    always: u128,
}

impl CueGate {
    pub(super) fn new(patterns: &[&str]) -> CueGate {
        assert!(patterns.len() <= 128, "the gate keeps one bit per cue");
        let mut literals: Vec<Vec<u8>> = Vec::new();
        let mut owner = Vec::new();
        let mut always = 0u128;
        for (index, pattern) in patterns.iter().enumerate() {
            match cue_prefixes(pattern) {
                Some(prefixes) => {
                    owner.extend(std::iter::repeat_n(index, prefixes.len()));
                    literals.extend(prefixes);
                }
                None => always |= 1 << index,
            }
        }
        let prefixes = aho_corasick::AhoCorasick::new(&literals).expect("cue prefixes build");
        CueGate {
            prefixes,
            owner,
            always,
        }
    }

    /// A bit per cue that may match `text`.
    pub(super) fn candidates(&self, text: &str) -> u128 {
        let mut bits = self.always;
        for found in self.prefixes.find_overlapping_iter(text) {
            bits |= 1 << self.owner[found.pattern().as_usize()];
        }
        bits
    }
}

/// The literals every match of `pattern` starts with, when there are few enough and each is long
/// enough to be selective.
fn cue_prefixes(pattern: &str) -> Option<Vec<Vec<u8>>> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(&ascii_boundaries(pattern))
        .ok()?;
    let mut extractor = Extractor::new();
    extractor.kind(ExtractKind::Prefix).limit_total(400);
    let seq = extractor.extract(&hir);
    let literals = seq.literals()?;
    let usable = !literals.is_empty() && literals.iter().all(|l| l.as_bytes().len() >= 2);
    usable.then(|| literals.iter().map(|l| l.as_bytes().to_vec()).collect())
}
