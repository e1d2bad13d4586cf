//! Removes payment card numbers from customer text before anything stores or forwards it.
//!
//! A card number is a run of 13 to 19 digits that passes the Luhn check, written either as one
//! block or in groups of 3 to 6 digits separated by single spaces or dashes (4-4-4-4, Amex 4-6-5).
//! Longer groups are not card groupings, which keeps the retailer's order numbers
//! (`123-1234567-1234567`, also 17 digits) intact for routing.

/// What replaces a card number. It carries no digits at all, so nothing of the card survives.
pub const CARD_PLACEHOLDER: &str = "[card number removed]";

/// Returns `text` with every card number replaced, and how many were replaced.
///
/// Passes repeat until one finds nothing: removing a card from inside a longer run of digits can
/// leave digits that form another card (the fuzzer found `2111 11111 1111 711111111111111111`).
/// Each pass turns digits into a placeholder without digits, so this ends.
pub fn redact_card_numbers(text: &str) -> (String, usize) {
    let (mut out, mut count) = redact_pass(text);
    if count == 0 {
        return (out, 0);
    }
    loop {
        let (next, found) = redact_pass(&out);
        if found == 0 {
            return (out, count);
        }
        out = next;
        count += found;
    }
}

/// One scan over the text.
fn redact_pass(text: &str) -> (String, usize) {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied_up_to = 0;
    let mut count = 0;
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() || (i > 0 && bytes[i - 1].is_ascii_alphanumeric()) {
            i += 1;
            continue;
        }
        let groups = digit_groups(bytes, i);
        let run_end = groups.last().map_or(i, |g| g.1);
        let at_word_end = bytes
            .get(run_end)
            .is_none_or(|b| !b.is_ascii_alphanumeric());
        match at_word_end.then(|| find_card(bytes, &groups)).flatten() {
            Some((start, end)) => {
                out.push_str(&text[copied_up_to..start]);
                out.push_str(CARD_PLACEHOLDER);
                copied_up_to = end;
                count += 1;
                i = end;
            }
            None => i = run_end.max(i + 1),
        }
    }
    out.push_str(&text[copied_up_to..]);
    (out, count)
}

/// Splits the run starting at `start` into digit groups `(start, end)`, joined by one separator.
fn digit_groups(bytes: &[u8], start: usize) -> Vec<(usize, usize)> {
    let mut groups = Vec::new();
    let mut pos = start;
    loop {
        let end = pos
            + bytes[pos..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
        groups.push((pos, end));
        let continues = matches!(bytes.get(end), Some(b' ' | b'-'))
            && bytes.get(end + 1).is_some_and(u8::is_ascii_digit);
        if !continues {
            return groups;
        }
        pos = end + 1;
    }
}

/// Finds the longest run of consecutive groups that forms a card number, so that a phone number
/// written right before a card does not hide the card.
fn find_card(bytes: &[u8], groups: &[(usize, usize)]) -> Option<(usize, usize)> {
    let mut best: Option<(usize, usize)> = None;
    for first in 0..groups.len() {
        for last in first..groups.len() {
            let span = &groups[first..=last];
            let digits: usize = span.iter().map(|g| g.1 - g.0).sum();
            if digits > 19 {
                break;
            }
            let grouped_like_a_card =
                span.len() == 1 || span.iter().all(|g| (3..=6).contains(&(g.1 - g.0)));
            if digits >= 13 && grouped_like_a_card && luhn_valid(bytes, span) {
                let candidate = (span[0].0, span[span.len() - 1].1);
                if best.is_none_or(|b| candidate.1 - candidate.0 > b.1 - b.0) {
                    best = Some(candidate);
                }
            }
        }
    }
    best
}

fn luhn_valid(bytes: &[u8], groups: &[(usize, usize)]) -> bool {
    let digits = groups
        .iter()
        .flat_map(|&(s, e)| bytes[s..e].iter().map(|b| u32::from(b - b'0')));
    let digits: Vec<u32> = digits.collect();
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| match (i % 2 == 1, d * 2) {
            (true, doubled) if doubled > 9 => doubled - 9,
            (true, doubled) => doubled,
            (false, _) => d,
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redacted(text: &str) -> String {
        redact_card_numbers(text).0
    }

    #[test]
    fn a_plain_sixteen_digit_card_is_removed() {
        assert_eq!(
            redacted("card 4111111111111111 was charged"),
            "card [card number removed] was charged"
        );
    }

    #[test]
    fn cards_written_with_spaces_or_dashes_are_removed() {
        assert_eq!(redacted("4111 1111 1111 1111"), CARD_PLACEHOLDER);
        assert_eq!(redacted("4111-1111-1111-1111."), "[card number removed].");
        assert_eq!(
            redacted("amex 3782 822463 10005"),
            "amex [card number removed]"
        );
    }

    #[test]
    fn a_number_that_fails_the_luhn_check_is_kept() {
        assert_eq!(redacted("ref 4111111111111112"), "ref 4111111111111112");
    }

    #[test]
    fn order_numbers_are_not_mistaken_for_cards() {
        // 17 digits, and Luhn-valid: only the 3-7-7 grouping tells it apart from a card.
        let order = "112-4430938-2412367";
        assert!(luhn_valid(
            order.as_bytes(),
            &digit_groups(order.as_bytes(), 0)
        ));
        assert_eq!(redacted(order), order);
    }

    #[test]
    fn short_and_overlong_runs_are_kept() {
        assert_eq!(redacted("call 555 0100"), "call 555 0100");
        let long = "41111111111111111111111";
        assert_eq!(redacted(long), long);
    }

    #[test]
    fn digits_glued_to_letters_are_not_a_card() {
        assert_eq!(redacted("x4111111111111111"), "x4111111111111111");
        assert_eq!(redacted("4111111111111111x"), "4111111111111111x");
    }

    #[test]
    fn a_card_right_after_a_phone_number_is_still_found() {
        let (text, count) = redact_card_numbers("call 555 123 4111 1111 1111 1111 thanks");
        assert_eq!(count, 1);
        assert!(!text.contains("4111"), "{text}");
    }

    #[test]
    fn every_card_in_a_message_is_counted() {
        let (text, count) = redact_card_numbers("4111111111111111 and 5500 0000 0000 0004");
        assert_eq!(count, 2);
        assert_eq!(text, format!("{CARD_PLACEHOLDER} and {CARD_PLACEHOLDER}"));
    }

    #[test]
    fn text_around_cards_keeps_its_non_ascii_characters() {
        assert_eq!(
            redacted("é 4111111111111111 ü"),
            format!("é {CARD_PLACEHOLDER} ü")
        );
    }

    #[test]
    fn digits_left_beside_a_removed_card_are_checked_again() {
        let (once, _) = redact_card_numbers("2111 11111 1111 711111111111111111");
        assert_eq!(redact_card_numbers(&once).1, 0, "{once}");
    }
}
