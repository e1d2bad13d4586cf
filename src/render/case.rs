//! A case for people and for machines on the command line: its header, its conversation, staff
//! corrections of routing, its notes and its audit trail, as text or as one JSON object.

use serde_json::{json, Value};

use crate::domain::audit::AuditEvent;
use crate::domain::views::{CaseView, Note, QueueEntry, StoredMessage};

/// Everything `case show` prints about one case.
pub struct CaseRecord<'a> {
    pub view: &'a CaseView,
    pub messages: &'a [StoredMessage],
    pub notes: &'a [Note],
    pub trail: &'a [AuditEvent],
}

fn author(m: &StoredMessage) -> String {
    match m.author.staff_id() {
        Some(staff) => format!("staff {staff}"),
        None => "customer".into(),
    }
}

/// The case as readable text: the header, the conversation, the notes, then the audit trail.
pub fn case_text(r: &CaseRecord) -> String {
    let case = &r.view.case;
    let mut out = format!(
        "case #{id} · {state} · priority {priority} · from {origin}\n\
         customer: {name} (#{customer})\n\
         opened {opened} · updated {updated}\n",
        id = case.id,
        state = case.state,
        priority = case.priority,
        origin = case.origin,
        name = r.view.customer.display_name,
        customer = case.customer_id,
        opened = case.created_at.to_rfc3339(),
        updated = case.updated_at.to_rfc3339(),
    );
    let reasons = (!case.escalation_reasons.is_empty()).then(|| case.reasons_line());
    let optional = [
        ("intent", case.intent.map(|i| i.to_string())),
        ("order", case.order_number.clone()),
        ("assignee", case.assignee.as_ref().map(|a| a.to_string())),
        ("escalation reason", reasons),
        ("resolution", case.resolution_summary.clone()),
        (
            "tags",
            (!case.tags.is_empty()).then(|| case.tags.join(", ")),
        ),
    ];
    for (label, value) in optional {
        if let Some(value) = value {
            out.push_str(&format!("{label}: {value}\n"));
        }
    }
    out.push_str(&format!("\nmessages ({}):\n", r.messages.len()));
    for m in r.messages {
        let at = m.sent_at.to_rfc3339();
        out.push_str(&format!(
            "  [{at}] {} via {}: {}\n",
            author(m),
            m.channel_kind,
            m.body
        ));
    }
    let corrections = &r.view.corrections;
    if !corrections.is_empty() {
        out.push_str(&format!("\ncorrections ({}):\n", corrections.len()));
        for c in corrections {
            out.push_str(&format!(
                "  [{}] {} by {}\n",
                c.at.to_rfc3339(),
                c.correction.describe(),
                c.staff
            ));
        }
    }
    if !r.notes.is_empty() {
        out.push_str(&format!("\nnotes ({}):\n", r.notes.len()));
        for n in r.notes {
            out.push_str(&format!(
                "  [{}] {}: {}\n",
                n.at.to_rfc3339(),
                n.author,
                n.body
            ));
        }
    }
    out.push_str(&format!("\naudit trail ({}):\n", r.trail.len()));
    for e in r.trail {
        out.push_str(&format!(
            "  #{} [{}] {} {} by {}:{}\n",
            e.seq,
            e.at().to_rfc3339(),
            e.action,
            e.details,
            e.actor_kind,
            e.actor_id
        ));
    }
    out
}

/// The same case as one JSON object.
pub fn case_json(r: &CaseRecord) -> Value {
    let case = &r.view.case;
    json!({
        "case_id": case.id,
        "customer_id": case.customer_id,
        "customer_name": r.view.customer.display_name,
        "state": case.state,
        "priority": case.priority,
        "origin": case.origin,
        "intent": case.intent.map(|i| i.as_str()),
        "order_number": case.order_number,
        "assignee": case.assignee,
        "escalation_reason": (!case.escalation_reasons.is_empty()).then(|| case.reasons_line()),
        "resolution_summary": case.resolution_summary,
        "tags": case.tags,
        "created_at": case.created_at.to_rfc3339(),
        "updated_at": case.updated_at.to_rfc3339(),
        "messages": r.messages.iter().map(|m| json!({
            "id": m.id,
            "platform_message_id": m.platform_message_id,
            "channel": m.channel_kind,
            "author": author(m),
            "text": m.body,
            "sent_at": m.sent_at.to_rfc3339(),
        })).collect::<Vec<_>>(),
        "corrections": r.view.corrections.iter().map(|c| {
            let mut line = json!(c);
            line["at"] = json!(c.at.to_rfc3339());
            line
        }).collect::<Vec<_>>(),
        "notes": r.notes.iter().map(|n| json!({
            "author": n.author, "text": n.body, "at": n.at.to_rfc3339(),
        })).collect::<Vec<_>>(),
        "audit": r.trail.iter().map(|e| json!({
            "seq": e.seq,
            "action": e.action,
            "actor": format!("{}:{}", e.actor_kind, e.actor_id),
            "at": e.at().to_rfc3339(),
        })).collect::<Vec<_>>(),
    })
}

/// One queue entry as a line of text for staff.
pub fn queue_line(entry: &QueueEntry) -> String {
    let since = entry.waiting_since.map_or_else(
        || "-".to_owned(),
        |t| t.format("%Y-%m-%d %H:%M").to_string(),
    );
    let holder = entry
        .claimed_by
        .as_ref()
        .map_or_else(|| "unclaimed".to_owned(), |s| s.to_string());
    format!(
        "#{:<6} {:<7} {:<9} since {since}  {holder}  {}",
        entry.case_id,
        entry.priority,
        entry.state,
        entry.reasons.join("; ")
    )
}
