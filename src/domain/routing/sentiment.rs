//! A compact port of the VADER sentiment algorithm (Hutto and Gilbert, 2014) over the VADER
//! lexicon that ships inside the `vader_sentiment` crate. The crate's own scorer allocates heavily
//! per word; this one keeps the rules that matter for short customer messages (lexicon valence,
//! capital emphasis, boosters and dampeners, negation within three words, "but" shifts,
//! exclamation and question emphasis, normalisation) and runs several times faster.

use std::collections::HashMap;
use std::sync::OnceLock;

/// Added to a word's valence when it is shouted in an otherwise mixed-case message.
const CAPS_BOOST: f64 = 0.733;
/// Added by a booster ("very") or subtracted by a dampener ("slightly") before a word.
const BOOST: f64 = 0.293;
/// Multiplies the valence of a negated word.
const NEGATION: f64 = -0.74;
/// Normalisation constant of the compound score.
const ALPHA: f64 = 15.0;

const BOOSTERS: &[&str] = &[
    "absolutely",
    "amazingly",
    "awfully",
    "completely",
    "considerably",
    "decidedly",
    "deeply",
    "enormously",
    "entirely",
    "especially",
    "exceptionally",
    "extremely",
    "fabulously",
    "fully",
    "fucking",
    "greatly",
    "hella",
    "highly",
    "hugely",
    "incredibly",
    "intensely",
    "majorly",
    "more",
    "most",
    "particularly",
    "purely",
    "quite",
    "really",
    "remarkably",
    "so",
    "substantially",
    "thoroughly",
    "totally",
    "tremendously",
    "uber",
    "unbelievably",
    "unusually",
    "utterly",
    "very",
];
const DAMPENERS: &[&str] = &[
    "almost",
    "barely",
    "hardly",
    "kinda",
    "less",
    "little",
    "marginally",
    "occasionally",
    "partly",
    "scarcely",
    "slightly",
    "somewhat",
    "sorta",
];
const NEGATORS: &[&str] = &[
    "not", "no", "never", "none", "nope", "nothing", "nowhere", "neither", "nor", "cannot",
    "without", "aint", "cant", "dont", "doesnt", "didnt", "isnt", "wasnt", "wont", "wouldnt",
    "shouldnt", "couldnt", "havent", "hasnt", "hadnt", "arent", "werent", "rarely", "seldom",
];

fn lexicon() -> &'static HashMap<&'static str, f64> {
    static LEXICON: OnceLock<HashMap<&'static str, f64>> = OnceLock::new();
    LEXICON.get_or_init(|| {
        vader_sentiment::LEXICON
            .iter()
            .map(|(word, &valence)| (word.into_inner(), valence))
            .collect()
    })
}

fn is_negator(word: &str) -> bool {
    NEGATORS.contains(&word) || word.ends_with("n't")
}

/// The VADER compound score of `text`, from -1 (most negative) to 1 (most positive).
pub fn compound(text: &str) -> f64 {
    let lexicon = lexicon();
    let tokens: Vec<&str> = text
        .split_whitespace()
        .map(|t| t.trim_matches(|c: char| c.is_ascii_punctuation()))
        .filter(|t| !t.is_empty())
        .collect();
    let lower: Vec<String> = tokens.iter().map(|t| t.to_lowercase()).collect();
    let shouted = |t: &str| {
        t.len() > 1 && t.chars().any(char::is_alphabetic) && !t.chars().any(char::is_lowercase)
    };
    let mixed_case = tokens.iter().any(|t| shouted(t)) && !tokens.iter().all(|t| shouted(t));

    let mut valences: Vec<f64> = Vec::with_capacity(tokens.len());
    for (i, word) in lower.iter().enumerate() {
        let Some(&base) = lexicon.get(word.as_str()) else {
            valences.push(0.0);
            continue;
        };
        if BOOSTERS.contains(&word.as_str()) || DAMPENERS.contains(&word.as_str()) {
            valences.push(0.0);
            continue;
        }
        let mut valence = base;
        if mixed_case && shouted(tokens[i]) {
            valence += CAPS_BOOST.copysign(base);
        }
        // The three words before this one can boost, dampen or negate it, less as they recede.
        for (distance, scale) in [(1, 1.0), (2, 0.95), (3, 0.9)] {
            let Some(before) = i.checked_sub(distance).map(|j| lower[j].as_str()) else {
                break;
            };
            if BOOSTERS.contains(&before) {
                valence += (BOOST * scale).copysign(valence);
            } else if DAMPENERS.contains(&before) {
                valence -= (BOOST * scale).copysign(valence);
            }
            if is_negator(before) {
                valence *= NEGATION;
            }
        }
        valences.push(valence);
    }
    // "but" shifts the weight to what follows it.
    if let Some(but) = lower.iter().position(|w| w == "but") {
        for (i, v) in valences.iter_mut().enumerate() {
            *v *= if i < but {
                0.5
            } else if i > but {
                1.5
            } else {
                1.0
            };
        }
    }
    let mut sum: f64 = valences.iter().sum();
    if sum != 0.0 {
        let exclamations = text.matches('!').count().min(4) as f64 * 0.292;
        let questions = match text.matches('?').count() {
            0 | 1 => 0.0,
            n => (n as f64 * 0.18).min(0.96),
        };
        sum += (exclamations + questions).copysign(sum);
    }
    (sum / (sum * sum + ALPHA).sqrt()).clamp(-1.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words_take_their_lexicon_sign() {
        assert!(compound("this is great") > 0.5);
        assert!(compound("this is terrible") < -0.4);
        assert_eq!(compound("the parcel is blue"), 0.0);
    }

    #[test]
    fn negation_flips_the_word_it_governs() {
        assert!(compound("this is not good") < 0.0);
        assert!(compound("it isn't bad at all") > 0.0);
    }

    #[test]
    fn boosters_shouting_and_exclamations_intensify() {
        let plain = compound("the service was bad");
        assert!(compound("the service was very bad") < plain);
        assert!(compound("the service was BAD") < plain);
        assert!(compound("the service was bad!!!") < plain);
    }

    #[test]
    fn what_follows_but_weighs_more() {
        assert!(compound("the box was nice but the kettle is awful") < 0.0);
    }

    #[test]
    fn the_score_stays_within_bounds() {
        let text = "love love love love love love love love!!!!";
        assert!(compound(text) <= 1.0 && compound(text) > 0.9);
    }
}
