//! What the intent model sees of a message: its words, word pairs and character n-grams, hashed
//! into a fixed number of buckets, after the details that vary from customer to customer (order
//! numbers, amounts, links, handles, other numbers) are replaced by one token each.

/// The shape of the features, stored in the model file so that a model is always read with the
/// features it was trained on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureSpec {
    /// The number of buckets is `1 << bits`.
    pub bits: u8,
    /// Character n-grams of these lengths, taken within each word padded with spaces.
    pub char_min: u8,
    pub char_max: u8,
}

impl Default for FeatureSpec {
    fn default() -> FeatureSpec {
        FeatureSpec {
            bits: 16,
            char_min: 3,
            char_max: 5,
        }
    }
}

/// Character n-grams count half as much as a word: there are many of them per word, and the
/// words should still lead.
const CHAR_WEIGHT: f32 = 0.5;

/// One word of a message, or a placeholder for a detail.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    /// A placeholder such as an order number; it has no character n-grams.
    Mark(&'static str),
}

impl Token {
    fn text(&self) -> &str {
        match self {
            Token::Word(w) => w,
            Token::Mark(m) => m,
        }
    }
}

/// Splits lower-cased text into tokens. Apostrophes vanish ("don't" and "dont" are one word, as
/// customers type both), and whole chunks that are links, handles, order numbers or amounts
/// become placeholders.
fn tokens(norm: &str) -> Vec<Token> {
    let mut out = Vec::new();
    for chunk in norm.split_whitespace() {
        if let Some(mark) = placeholder(chunk) {
            out.push(Token::Mark(mark));
            continue;
        }
        let mut word = String::new();
        let flush = |word: &mut String, out: &mut Vec<Token>| {
            if word.is_empty() {
                return;
            }
            let taken = std::mem::take(word);
            if is_shop_name(&taken) {
                return;
            }
            if taken.bytes().all(|b| b.is_ascii_digit()) {
                out.push(Token::Mark("<num>"));
            } else {
                out.push(Token::Word(taken));
            }
        };
        for c in chunk.chars() {
            match c {
                '\'' => {}
                // Exported tweets stand `¿` in for emoji and links alike: it says nothing about
                // the need, and the corpus never has it, so it only separates words.
                '¿' => flush(&mut word, &mut out),
                '!' | '?' => {
                    flush(&mut word, &mut out);
                    out.push(Token::Mark(if c == '!' { "<bang>" } else { "<ask>" }));
                }
                c if c.is_alphanumeric() => word.push(c),
                _ => flush(&mut word, &mut out),
            }
        }
        flush(&mut word, &mut out);
    }
    out
}

/// Every message is written to the shop, so its name says nothing about the need; in the corpus
/// it mostly appears in reports of messages pretending to be the shop, and left in, it made every
/// tweet that names the shop look like a phishing report. Hashtags and handles built on the name
/// (`#amazonindia`, `amazonhelp`) go too. A shop's own model trained on its own traffic sees its
/// name in every intent, where it is harmless.
fn is_shop_name(word: &str) -> bool {
    word.starts_with("amazon")
}

/// The placeholder for a whole chunk, if it is a detail rather than words.
fn placeholder(chunk: &str) -> Option<&'static str> {
    let trimmed = chunk.trim_matches(|c: char| !c.is_alphanumeric() && !"$£€#@".contains(c));
    if trimmed.starts_with("http") || trimmed.starts_with("www.") {
        return Some("<link>");
    }
    if trimmed.starts_with('@') && trimmed.len() > 1 {
        return Some("<handle>");
    }
    let digits = trimmed.bytes().filter(u8::is_ascii_digit).count();
    if digits >= 10
        && trimmed
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'-' || b == b'#')
    {
        return Some("<order>");
    }
    let money = trimmed.starts_with(['$', '£', '€'])
        || trimmed.starts_with("rs.")
        || trimmed.starts_with("inr");
    (money && digits > 0).then_some("<money>")
}

/// FNV-1a over the parts of a feature, with a kind byte first so that a word and a character
/// n-gram with the same letters land in different buckets.
fn hash(kind: u8, parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |b: u8| {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    };
    eat(kind);
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            eat(b' ');
        }
        part.iter().copied().for_each(&mut eat);
    }
    h
}

/// The hashed features of `norm` (text passed through `classify::normalise`), as bucket and
/// value, scaled to unit length so that long rants and short questions weigh alike. Repeated
/// buckets are added up first, so the length counts a repeated word as one stronger feature.
pub fn features(spec: FeatureSpec, norm: &str) -> Vec<(u32, f32)> {
    let mask = (1u64 << spec.bits) - 1;
    let tokens = tokens(norm);
    let mut out: Vec<(u32, f32)> = Vec::with_capacity(tokens.len() * 12);
    let mut push = |h: u64, v: f32| out.push(((h & mask) as u32, v));
    let mut previous: &[u8] = b"<s>";
    let mut padded = Vec::with_capacity(32);
    for token in &tokens {
        let text = token.text().as_bytes();
        push(hash(b'w', &[text]), 1.0);
        push(hash(b'b', &[previous, text]), 1.0);
        previous = text;
        if let Token::Word(word) = token {
            char_grams(spec, word.as_bytes(), &mut padded, &mut push);
        }
    }
    push(hash(b'b', &[previous, b"</s>"]), 1.0);
    merge(&mut out);
    let norm = out.iter().map(|(_, v)| v * v).sum::<f32>().sqrt().max(1e-6);
    out.iter_mut().for_each(|(_, v)| *v /= norm);
    out
}

fn char_grams(
    spec: FeatureSpec,
    word: &[u8],
    padded: &mut Vec<u8>,
    push: &mut impl FnMut(u64, f32),
) {
    padded.clear();
    padded.push(b' ');
    padded.extend_from_slice(word);
    padded.push(b' ');
    for n in usize::from(spec.char_min)..=usize::from(spec.char_max) {
        for gram in padded.windows(n) {
            push(hash(b'c', &[gram]), CHAR_WEIGHT);
        }
    }
}

/// Adds up repeated buckets, so that each appears once, keeping the order of first appearance.
/// A dense scratch row per thread does it in one pass; sorting the features to merge them was a
/// tenth of the time of a whole routing decision.
fn merge(features: &mut Vec<(u32, f32)>) {
    thread_local! {
        static SCRATCH: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    SCRATCH.with_borrow_mut(|sums| {
        let needed = features
            .iter()
            .map(|&(i, _)| i as usize + 1)
            .max()
            .unwrap_or(0);
        if sums.len() < needed {
            sums.resize(needed, 0.0);
        }
        let mut kept = 0;
        for at in 0..features.len() {
            let (bucket, value) = features[at];
            let sum = &mut sums[bucket as usize];
            // Every feature value is positive, so a zero sum means not seen yet.
            if *sum == 0.0 {
                features[kept] = (bucket, 0.0);
                kept += 1;
            }
            *sum += value;
        }
        features.truncate(kept);
        for (bucket, value) in features.iter_mut() {
            let sum = &mut sums[*bucket as usize];
            *value = *sum;
            // Left at zero for the next message.
            *sum = 0.0;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        tokens(text).iter().map(|t| t.text().to_owned()).collect()
    }

    #[test]
    fn details_become_placeholders() {
        assert_eq!(
            words("order #112-4430938-2412367 cost $45.99, see https://x.y @shop"),
            ["order", "<order>", "cost", "<money>", "see", "<link>", "<handle>"]
        );
    }

    #[test]
    fn apostrophes_vanish_and_marks_are_kept() {
        assert_eq!(
            words("don't wait 3 days!!"),
            ["dont", "wait", "<num>", "days", "<bang>", "<bang>"]
        );
    }

    #[test]
    fn features_have_unit_length() {
        let f = features(FeatureSpec::default(), "refund refund my refund please");
        let length: f32 = f.iter().map(|(_, v)| v * v).sum();
        assert!((length - 1.0).abs() < 1e-4);
        let mut buckets: Vec<u32> = f.iter().map(|&(b, _)| b).collect();
        buckets.sort_unstable();
        buckets.dedup();
        assert_eq!(buckets.len(), f.len(), "each bucket appears once");
    }

    #[test]
    fn empty_text_still_has_its_boundary_feature() {
        assert_eq!(features(FeatureSpec::default(), "").len(), 1);
    }
}
