//! What casebot says to customers and staff, in one place so the wording stays consistent.

use chrono::{DateTime, Utc};

use crate::domain::ids::CaseId;
use crate::domain::personal::PersonalData;
use crate::domain::sla::BreachKind;
use crate::domain::{CaseState, Priority, StaffId};

/// The DM reply to a routed message: a safety notice first when the rules give one, then what the
/// flow said, then how a person comes in.
pub fn routing_reply(
    case_id: CaseId,
    safety_notice: Option<&str>,
    flow_reply: &str,
    escalated: bool,
    offer_human: bool,
) -> String {
    let mut parts: Vec<String> = Vec::new();
    parts.extend(safety_notice.map(str::to_owned));
    if !flow_reply.is_empty() {
        parts.push(flow_reply.to_owned());
    }
    if escalated {
        parts.push(format!(
            "Your case number is #{case_id}; a member of our team will reply here."
        ));
    } else if offer_human {
        parts.push(
            "If you'd rather talk to a person, just say so or use \"Talk to a person\".".into(),
        );
    }
    if parts.is_empty() {
        parts.push("Thanks, I've noted this on your case.".into());
    }
    parts.join(" ")
}

/// The first part of the only thing casebot says in a public channel: the case number, and why
/// the post came down when it held personal data (naming only the kinds). No order details and
/// nothing the customer wrote. [`public_ack_dm`] completes it when it is delivered.
pub fn public_ack(case_id: CaseId, removed: &[PersonalData]) -> String {
    let ack = format!("Thanks for reaching out! I've opened case #{case_id}.");
    if removed.is_empty() {
        return ack;
    }
    let kinds: Vec<&str> = removed.iter().map(|k| k.describe()).collect();
    format!(
        "I've taken your post down because it contained {}; please never share that in public. {ack}",
        join_words(&kinds)
    )
}

/// The end of the public acknowledgement, chosen when it is delivered: by then casebot has tried
/// the customer's DMs and knows whether they are open.
pub fn public_ack_dm(dms_closed: bool) -> &'static str {
    if dms_closed {
        "I couldn't send you a direct message because your DMs are closed. Please allow direct \
         messages from this server's members (Privacy Settings) and write to me directly."
    } else {
        "I've sent you a direct message so we can continue privately."
    }
}

/// "a", "a and b", "a, b and c".
fn join_words(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// Added to the reply when the customer is past the hourly escalation limit.
pub fn escalation_held(case_id: CaseId) -> String {
    format!(
        "Our team already has several requests from you this hour, so this one stays on case \
         #{case_id}, where they can see it."
    )
}

/// The one notice a customer gets when they write faster than the limit allows.
pub const SLOW_DOWN: &str = "You're sending messages faster than we can take them in. Everything \
                             you send is saved, and we'll answer as soon as you pause for a moment.";

/// The escalation card's summary for the staff queue: what staff need to pick the case up.
pub fn case_card(case_id: CaseId, priority: Priority, reasons: &str) -> String {
    format!("Case #{case_id} needs a person · priority {priority} · {reasons}")
}

/// The card's summary after a staff action changed the case.
pub fn card_update(case_id: CaseId, state: CaseState, assignee: Option<&StaffId>) -> String {
    match assignee {
        Some(who) => format!("Case #{case_id} is {state} by {who}."),
        None => format!("Case #{case_id} is {state}."),
    }
}

/// The staff re-notification for a missed SLA deadline.
pub fn sla_breach_notice(case_id: CaseId, deadline: BreachKind, priority: Priority) -> String {
    let what = match deadline {
        BreachKind::FirstResponse => "first-response",
        BreachKind::Resolution => "resolution",
    };
    format!("Case #{case_id} missed its {what} deadline; priority is now {priority}.")
}

/// The staff notice for a case the stuck-case sweeper handed over.
pub fn stuck_notice(case_id: CaseId, reason: &str) -> String {
    format!("Case #{case_id} is stuck ({reason}) and waits in the queue.")
}

/// The staff notice for a callback request. The number stays masked: only the claimer sees it.
pub fn callback_notice(case_id: CaseId, masked_phone: &str, due: DateTime<Utc>) -> String {
    format!(
        "Case #{case_id}: the customer asked for a call back on {masked_phone}, due by {} UTC. \
         Claim the case to see the number.",
        due.format("%H:%M")
    )
}

/// The staff notice for a callback that is past its deadline.
pub fn callback_overdue_notice(case_id: CaseId) -> String {
    format!("Case #{case_id}: the requested callback is overdue.")
}

/// What the customer hears when they ask for a call.
pub fn callback_confirmation(case_id: CaseId) -> String {
    format!("Thanks! A member of our team will call you back shortly about case #{case_id}.")
}

/// After resolution, the customer is asked how it went.
pub fn rating_prompt(case_id: CaseId) -> String {
    format!("Case #{case_id} is resolved. How did we do? Tap 1 (poor) to 5 (great).")
}

/// A staff reply as the customer sees it.
pub fn staff_reply(text: &str) -> String {
    format!("Support team: {text}")
}

/// A customer's message as staff read it in the case thread.
pub fn mirrored(text: &str) -> String {
    format!("Customer: {text}")
}

/// An internal note as staff read it in the case thread.
pub fn note(author: &StaffId, text: &str) -> String {
    format!("Note from {author}: {text}")
}

/// Splits text into parts of at most `max_chars` characters, at a line break or space where one
/// is near, so long replies fit a platform's limit. Always at least one part.
pub fn split_message(text: &str, max_chars: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut rest = text;
    while rest.chars().count() > max_chars {
        let cut = rest
            .char_indices()
            .nth(max_chars)
            .map_or(rest.len(), |(i, _)| i);
        let window = &rest[..cut];
        // Break at the last newline or space in the second half of the window, if any.
        let soft = window
            .rfind('\n')
            .or_else(|| window.rfind(' '))
            .filter(|&i| i > cut / 2);
        let end = soft.map_or(cut, |i| i + 1);
        parts.push(rest[..end].trim_end().to_owned());
        rest = &rest[end..];
    }
    parts.push(rest.trim_end().to_owned());
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_routing_reply_puts_the_safety_notice_first_and_the_hand_over_last() {
        let reply = routing_reply(
            CaseId(7),
            Some("Never share your password."),
            "Checking.",
            true,
            true,
        );
        assert_eq!(
            reply,
            "Never share your password. Checking. Your case number is #7; a member of our team will reply here."
        );
        let offered = routing_reply(CaseId(7), None, "Here it is.", false, true);
        assert!(offered.ends_with("\"Talk to a person\"."), "{offered}");
    }

    #[test]
    fn a_post_taken_down_is_explained_without_repeating_the_data() {
        let ack = public_ack(CaseId(9), &[PersonalData::CardNumber, PersonalData::Email]);
        assert!(
            ack.starts_with(
                "I've taken your post down because it contained a card number and an e-mail address"
            ),
            "{ack}"
        );
    }

    #[test]
    fn the_public_acknowledgement_carries_only_the_case_number() {
        let ack = format!("{} {}", public_ack(CaseId(42), &[]), public_ack_dm(false));
        assert!(ack.contains("#42"));
        assert!(!ack
            .chars()
            .any(|c| c.is_ascii_digit() && c != '4' && c != '2'));
    }

    #[test]
    fn the_public_acknowledgement_never_claims_a_dm_that_could_not_be_sent() {
        assert!(public_ack_dm(false).contains("sent you a direct message"));
        assert!(!public_ack_dm(true).contains("sent you"));
        assert!(public_ack_dm(true).contains("DMs are closed"));
    }

    #[test]
    fn long_replies_are_split_under_the_limit_at_spaces() {
        let text = "word ".repeat(1_000);
        let parts = split_message(&text, 2_000);
        assert!(parts.len() >= 3);
        assert!(parts.iter().all(|p| p.chars().count() <= 2_000));
        assert!(parts
            .iter()
            .all(|p| !p.starts_with(' ') && !p.ends_with(' ')));
        assert_eq!(split_message("short", 2_000), ["short"]);
        let unbroken = "é".repeat(4_500);
        let parts = split_message(&unbroken, 2_000);
        let sizes: Vec<usize> = parts.iter().map(|p| p.chars().count()).collect();
        assert_eq!(sizes, [2_000, 2_000, 500]);
    }

    #[test]
    fn staff_notices_name_the_case_and_what_happened() {
        assert_eq!(
            sla_breach_notice(CaseId(3), BreachKind::FirstResponse, Priority::Urgent),
            "Case #3 missed its first-response deadline; priority is now urgent."
        );
        assert_eq!(
            stuck_notice(CaseId(4), "order_late"),
            "Case #4 is stuck (order_late) and waits in the queue."
        );
        let due = DateTime::from_timestamp(3_600 * 10 + 60 * 3, 0).unwrap();
        let callback = callback_notice(CaseId(5), "+44********58", due);
        assert!(
            callback.contains("+44********58") && callback.contains("10:03"),
            "{callback}"
        );
    }
}
