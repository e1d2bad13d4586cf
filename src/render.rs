//! Pure rendering of cases for people and for machines. No I/O: callers fetch, these format.

use serde_json::json;

use crate::domain::audit::AuditEvent;
use crate::store::{from_millis, CaseRecord, MessageRecord};

/// A case as readable text: the header, the conversation, then the audit trail.
pub fn case_text(case: &CaseRecord, messages: &[MessageRecord], trail: &[AuditEvent]) -> String {
    let mut out = format!(
        "case #{id} · {state} · priority {priority} · from {origin}\n\
         customer: {name} (#{customer})\n\
         opened {opened} · updated {updated}\n",
        id = case.id,
        state = case.state,
        priority = case.priority,
        origin = case.origin,
        name = case.customer_name,
        customer = case.customer_id,
        opened = case.created_at.to_rfc3339(),
        updated = case.updated_at.to_rfc3339(),
    );
    let optional = [
        ("intent", &case.intent),
        ("order", &case.order_number),
        ("assignee", &case.assignee),
        ("escalation reason", &case.escalation_reason),
        ("resolution", &case.resolution_summary),
    ];
    for (label, value) in optional {
        if let Some(value) = value {
            out.push_str(&format!("{label}: {value}\n"));
        }
    }
    out.push_str(&format!("\nmessages ({}):\n", messages.len()));
    for m in messages {
        let at = from_millis(m.sent_at).to_rfc3339();
        out.push_str(&format!(
            "  [{at}] {} via {}: {}\n",
            m.author_kind, m.channel_kind, m.body
        ));
    }
    out.push_str(&format!("\naudit trail ({}):\n", trail.len()));
    for e in trail {
        let at = from_millis(e.at_ms).to_rfc3339();
        out.push_str(&format!(
            "  #{} [{at}] {} {} by {}:{}\n",
            e.seq, e.action, e.details, e.actor_kind, e.actor_id
        ));
    }
    out
}

/// The same case as one JSON object.
pub fn case_json(
    case: &CaseRecord,
    messages: &[MessageRecord],
    trail: &[AuditEvent],
) -> serde_json::Value {
    json!({
        "case_id": case.id,
        "customer_id": case.customer_id,
        "customer_name": case.customer_name,
        "state": case.state.as_str(),
        "priority": case.priority.as_str(),
        "origin": case.origin.as_str(),
        "intent": case.intent,
        "order_number": case.order_number,
        "assignee": case.assignee,
        "escalation_reason": case.escalation_reason,
        "resolution_summary": case.resolution_summary,
        "created_at": case.created_at.to_rfc3339(),
        "updated_at": case.updated_at.to_rfc3339(),
        "messages": messages.iter().map(|m| json!({
            "id": m.id,
            "platform_message_id": m.platform_message_id,
            "channel": m.channel_kind,
            "author": m.author_kind,
            "text": m.body,
            "sent_at": from_millis(m.sent_at).to_rfc3339(),
        })).collect::<Vec<_>>(),
        "audit": trail.iter().map(|e| json!({
            "seq": e.seq,
            "action": e.action,
            "actor": format!("{}:{}", e.actor_kind, e.actor_id),
            "at": from_millis(e.at_ms).to_rfc3339(),
        })).collect::<Vec<_>>(),
    })
}

/// One queue entry as a line of text for staff.
pub fn queue_line(entry: &crate::store::QueueEntry) -> String {
    let since = entry.waiting_since.map_or_else(
        || "-".to_owned(),
        |t| t.format("%Y-%m-%d %H:%M").to_string(),
    );
    let holder = entry.claimed_by.as_deref().unwrap_or("unclaimed");
    format!(
        "#{:<6} {:<7} {:<9} since {since}  {holder}  {}",
        entry.case_id,
        entry.priority,
        entry.state,
        entry.reasons.join("; ")
    )
}

/// The DM reply to a routed message: a safety notice first when the rules give one, then what the
/// flow said, then how a person comes in.
pub fn routing_reply(
    case_id: i64,
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
    parts.join(" ")
}

/// The only thing casebot says in a public channel: an acknowledgement with the case number. No
/// order details and nothing the customer wrote; the conversation continues in DM.
///
/// When the post held personal data it is taken down, and the acknowledgement says why, naming
/// only the kinds of data.
pub fn public_ack(case_id: i64, removed: &[crate::domain::personal::PersonalData]) -> String {
    let ack = format!(
        "Thanks for reaching out! I've opened case #{case_id} and sent you a direct message so \
         we can continue privately."
    );
    if removed.is_empty() {
        return ack;
    }
    let kinds: Vec<&str> = removed.iter().map(|k| k.describe()).collect();
    format!(
        "I've taken your post down because it contained {}; please never share that in public. {ack}",
        join_words(&kinds)
    )
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
pub fn escalation_held(case_id: i64) -> String {
    format!(
        "Our team already has several requests from you this hour, so this one stays on case \
         #{case_id}, where they can see it."
    )
}

/// The escalation card's text for the staff queue: what staff need to pick the case up.
pub fn case_card(case_id: i64, priority: crate::domain::Priority, reasons: &str) -> String {
    format!("Case #{case_id} needs a person · priority {priority} · {reasons}")
}

/// The card's text after a staff action changed the case.
pub fn card_update(
    case_id: i64,
    state: crate::domain::CaseState,
    assignee: Option<&str>,
) -> String {
    match assignee {
        Some(who) => format!("Case #{case_id} is {state} by <@{who}>."),
        None => format!("Case #{case_id} is {state}."),
    }
}

/// The staff re-notification for a missed SLA deadline.
pub fn sla_breach_notice(
    case_id: i64,
    deadline: crate::domain::sla::BreachKind,
    priority: crate::domain::Priority,
) -> String {
    let what = match deadline {
        crate::domain::sla::BreachKind::FirstResponse => "first-response",
        crate::domain::sla::BreachKind::Resolution => "resolution",
    };
    format!("Case #{case_id} missed its {what} deadline; priority is now {priority}.")
}

/// The staff notice for a case the stuck-case sweeper handed over.
pub fn stuck_notice(case_id: i64, reason: &str) -> String {
    format!("Case #{case_id} is stuck ({reason}) and waits in the queue.")
}

/// The staff notice for a callback request. The number stays masked: only the claimer sees it.
pub fn callback_notice(
    case_id: i64,
    masked_phone: &str,
    due: chrono::DateTime<chrono::Utc>,
) -> String {
    format!(
        "Case #{case_id}: the customer asked for a call back on {masked_phone}, due by {} UTC. \
         Claim the case to see the number.",
        due.format("%H:%M")
    )
}

/// The staff notice for a callback that is past its deadline.
pub fn callback_overdue_notice(case_id: i64) -> String {
    format!("Case #{case_id}: the requested callback is overdue.")
}

/// What the customer hears when they ask for a call.
pub fn callback_confirmation(case_id: i64) -> String {
    format!("Thanks! A member of our team will call you back shortly about case #{case_id}.")
}

/// Splits text into parts of at most `max_chars` characters, at a line break or space where one
/// is near, so long replies fit Discord's limit. Always at least one part.
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

/// The facts on a case card, as (name, value) pairs, with the SLA deadline under `sla`.
pub fn card_fields(
    case: &CaseRecord,
    sla: &crate::domain::sla::SlaPolicy,
) -> Vec<(String, String)> {
    let mut fields = vec![
        ("Customer".to_owned(), case.customer_name.clone()),
        ("State".to_owned(), case.state.to_string()),
        ("Priority".to_owned(), case.priority.to_string()),
        (
            "Intent".to_owned(),
            case.intent.clone().unwrap_or_else(|| "unknown".into()),
        ),
        (
            "Reasons".to_owned(),
            case.escalation_reason.clone().unwrap_or_else(|| "-".into()),
        ),
        (
            "Claimed by".to_owned(),
            case.assignee
                .as_deref()
                .map_or_else(|| "nobody yet".to_owned(), |a| format!("<@{a}>")),
        ),
    ];
    if let Some(cents) = case.order_value_cents {
        fields.push((
            "Order value".to_owned(),
            crate::domain::orders::dollars(cents),
        ));
    }
    if let Some(sentiment) = case.sentiment {
        let mood = if case.frustrated {
            "frustrated"
        } else {
            "calm"
        };
        fields.push(("Sentiment".to_owned(), format!("{sentiment:+.2} ({mood})")));
    }
    if let Some(since) = case.escalated_at {
        fields.push((
            "Waiting since".to_owned(),
            format!("<t:{}:R>", since.timestamp()),
        ));
        let due = crate::domain::sla::current_deadline(sla, case.state, case.priority, since);
        if let Some((kind, at)) = due {
            let what = match kind {
                crate::domain::sla::BreachKind::FirstResponse => "First response due",
                crate::domain::sla::BreachKind::Resolution => "Resolution due",
            };
            fields.push((what.to_owned(), format!("<t:{}:R>", at.timestamp())));
        }
    }
    if case.dm_closed {
        fields.push((
            "DMs".to_owned(),
            "closed: the customer cannot receive replies".to_owned(),
        ));
    }
    if let Some(rating) = case.rating {
        fields.push(("Rating".to_owned(), format!("{rating}/5")));
    }
    fields
}

/// After resolution, the customer is asked how it went.
pub fn rating_prompt(case_id: i64) -> String {
    format!("Case #{case_id} is resolved. How did we do? Tap 1 (poor) to 5 (great).")
}

/// A staff reply as the customer sees it.
pub fn staff_reply(text: &str) -> String {
    format!("Support team: {text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_routing_reply_puts_the_safety_notice_first_and_the_hand_over_last() {
        let reply = routing_reply(
            7,
            Some("Never share your password."),
            "Checking.",
            true,
            true,
        );
        assert_eq!(
            reply,
            "Never share your password. Checking. Your case number is #7; a member of our team will reply here."
        );
        let offered = routing_reply(7, None, "Here it is.", false, true);
        assert!(offered.ends_with("\"Talk to a person\"."), "{offered}");
    }

    #[test]
    fn a_post_taken_down_is_explained_without_repeating_the_data() {
        use crate::domain::personal::PersonalData;
        let ack = public_ack(9, &[PersonalData::CardNumber, PersonalData::Email]);
        assert!(
            ack.starts_with(
                "I've taken your post down because it contained a card number and an e-mail address"
            ),
            "{ack}"
        );
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
        assert_eq!(
            parts.iter().map(|p| p.chars().count()).collect::<Vec<_>>(),
            [2_000, 2_000, 500]
        );
    }

    #[test]
    fn staff_notices_name_the_case_and_what_happened() {
        use crate::domain::{sla::BreachKind, Priority};
        assert_eq!(
            sla_breach_notice(3, BreachKind::FirstResponse, Priority::Urgent),
            "Case #3 missed its first-response deadline; priority is now urgent."
        );
        assert_eq!(
            stuck_notice(4, "order_late"),
            "Case #4 is stuck (order_late) and waits in the queue."
        );
        let due = chrono::DateTime::from_timestamp(3_600 * 10 + 60 * 3, 0).unwrap();
        let callback = callback_notice(5, "+44********58", due);
        assert!(
            callback.contains("+44********58") && callback.contains("10:03"),
            "{callback}"
        );
    }

    #[test]
    fn the_public_acknowledgement_carries_only_the_case_number() {
        let ack = public_ack(42, &[]);
        assert!(ack.contains("#42"));
        assert!(!ack
            .chars()
            .any(|c| c.is_ascii_digit() && c != '4' && c != '2'));
    }
}
