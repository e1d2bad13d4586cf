//! Inbound customer messages as every adapter hands them to intake, and the clean-up their text
//! gets before it is stored: control characters out, a size cap, card numbers removed, a digest.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::case::Origin;
use super::ids::UserId;
use super::redact::redact_card_numbers;

/// Where a message was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelKind {
    /// A server channel where the customer mentioned the bot.
    Public,
    /// A direct message to the bot.
    Dm,
}

impl ChannelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Public => "public",
            ChannelKind::Dm => "dm",
        }
    }

    /// A case started from this channel has this origin.
    pub fn origin(self) -> Origin {
        match self {
            ChannelKind::Public => Origin::PublicMention,
            ChannelKind::Dm => Origin::Dm,
        }
    }
}

/// One customer message, transport-agnostic: Discord, the demo, the CLI and the benchmarks all
/// build this and hand it to the intake service.
#[derive(Debug, Clone)]
pub struct InboundMessage {
    /// The platform the message came from, e.g. `discord`.
    pub platform: String,
    pub author_id: UserId,
    pub author_name: String,
    pub channel_kind: ChannelKind,
    pub channel_id: String,
    /// The platform's own id for the message; intake is idempotent on it.
    pub message_id: String,
    pub text: String,
    pub sent_at: DateTime<Utc>,
}

super::case::parse_by_name!(
    ChannelKind,
    "channel kind",
    [ChannelKind::Public, ChannelKind::Dm]
);

/// Message text ready to store: safe characters, bounded size, no card numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedText {
    pub text: String,
    /// SHA-256 of the stored text, hex. The audit log keeps this instead of the text, so erasing
    /// the text later leaves the log verifiable.
    pub sha256: String,
    pub cards_removed: usize,
    /// Whether the original was longer than the cap and was cut.
    pub truncated: bool,
}

/// Prepares customer text for storage. NUL and other control characters (except newline and tab)
/// are dropped: PostgreSQL rejects NUL in text, and the others only serve to hide content. Text
/// longer than `max_bytes` is cut at a character boundary.
pub fn prepare_text(raw: &str, max_bytes: usize) -> PreparedText {
    let mut clean: String = raw
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .collect();
    let truncated = clean.len() > max_bytes;
    if truncated {
        let mut cut = max_bytes;
        while !clean.is_char_boundary(cut) {
            cut -= 1;
        }
        clean.truncate(cut);
    }
    let (text, cards_removed) = redact_card_numbers(&clean);
    PreparedText {
        sha256: sha256_hex(text.as_bytes()),
        text,
        cards_removed,
        truncated,
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_and_control_characters_are_dropped_but_lines_are_kept() {
        let prepared = prepare_text("where\0 is\u{7} my\norder\t?", 100);
        assert_eq!(prepared.text, "where is my\norder\t?");
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        let prepared = prepare_text(&"é".repeat(100), 7);
        assert!(prepared.truncated);
        assert_eq!(prepared.text, "ééé");
    }

    #[test]
    fn card_numbers_are_removed_and_counted() {
        let prepared = prepare_text("my card 4111 1111 1111 1111 was charged twice", 1000);
        assert_eq!(prepared.cards_removed, 1);
        assert!(!prepared.text.contains("4111"));
    }

    #[test]
    fn the_digest_covers_the_stored_text_not_the_original() {
        let prepared = prepare_text("card 4111111111111111", 1000);
        assert_eq!(prepared.sha256, sha256_hex(prepared.text.as_bytes()));
        assert_ne!(prepared.sha256, sha256_hex(b"card 4111111111111111"));
    }

    #[test]
    fn empty_text_is_valid_and_stays_empty() {
        let prepared = prepare_text("", 1000);
        assert_eq!(prepared.text, "");
        assert!(!prepared.truncated);
    }
}
