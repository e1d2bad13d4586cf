//! What intake writes for one message, as one [`Change`]: the customer (new, or renamed), the case
//! as linked and routed, a stale case closed, the message, the audit events, and every reply.
//! Pure functions of what intake gathered, so they are unit-tested without a database.

use serde::Serialize;
use serde_json::json;

use crate::domain::audit::{Action, Actor, NewAuditEvent};
use crate::domain::case::{Case, CaseAction, CaseState, Linked};
use crate::domain::change::{CustomerUpsert, MessageAuthor, NewMessage};
use crate::domain::ids::NEW_CASE_MARK;
use crate::domain::message::{sha256_hex, PreparedText};
use crate::domain::personal::PersonalData;
use crate::domain::routing::decide::{reasons, Decision};
use crate::domain::routing::opinion::DecidedBy;
use crate::domain::views::IntakeSnapshot;
use crate::domain::{
    CaseId, Change, ChannelKind, CustomerId, Destination, Flow, InboundMessage, Intent, OutboxKind,
    Outgoing, Priority,
};
use crate::render;
use crate::services::routing::Reading;

/// Everything intake knows when it writes a message.
pub(crate) struct Input<'a> {
    pub msg: &'a InboundMessage,
    pub prepared: &'a PreparedText,
    pub personal_data: &'a [PersonalData],
    pub snapshot: &'a IntakeSnapshot,
    pub linked: Linked,
    pub now: chrono::DateTime<chrono::Utc>,
}

/// What routing decided for one message, as callers report it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Routed {
    pub case_id: CaseId,
    pub intent: Intent,
    pub local_intent: Intent,
    /// Who decided the intent and the signals: `local` or `llm`.
    pub decided_by: DecidedBy,
    pub confidence: f32,
    pub frustration: bool,
    pub urgency: bool,
    pub priority: Priority,
    pub escalated: bool,
    pub offer_human: bool,
    pub flow: Option<Flow>,
    pub reply: String,
    /// The help article the reply shows, by id.
    pub article: Option<String>,
    /// A second need the reply says is noted.
    pub second_need: Option<Intent>,
    pub reasons: Vec<String>,
    /// Refunds issued by this message, `(charge or order, cents)`.
    pub refunds: Vec<(String, i64)>,
}

impl Routed {
    /// The same, naming the case it was decided on (a new case has its number only once stored).
    pub(crate) fn with_case(mut self, case_id: CaseId) -> Routed {
        if self.case_id == CaseId::NEW {
            self.reply = self.reply.replace(NEW_CASE_MARK, &case_id.to_string());
        }
        self.case_id = case_id;
        self
    }
}

/// The customer, the message and what linking recorded, on the case `case` will become.
struct Base {
    change: Change,
    before: Option<Case>,
    case: Case,
}

fn base(input: Input) -> Base {
    let Input {
        msg,
        prepared,
        personal_data,
        snapshot,
        linked,
        now,
    } = input;
    let mut change = Change::at(now);
    let known = snapshot.customer.as_ref();
    if known.is_none_or(|c| c.display_name != msg.author_name) {
        change.customer = Some(CustomerUpsert {
            platform: msg.platform.clone(),
            user_id: msg.author_id.clone(),
            display_name: msg.author_name.clone(),
        });
    }
    let customer = known.map_or(CustomerId::NEW, |c| c.id);
    if let Some((before, closed)) = linked.closed {
        change = change.update(&before, closed);
    }
    change.events.extend(linked.events);
    let mut case = linked.case;
    case.customer_messages += 1;
    if msg.channel_kind == ChannelKind::Public {
        case.last_mention_at = Some(now);
    }
    change = change
        .message(NewMessage {
            case_id: case.id,
            customer_id: customer,
            platform: msg.platform.clone(),
            platform_message_id: msg.message_id.clone(),
            channel_kind: msg.channel_kind,
            channel_id: msg.channel_id.clone(),
            author: MessageAuthor::Customer,
            body: prepared.text.clone(),
            body_sha256: prepared.sha256.clone(),
            sent_at: msg.sent_at,
        })
        .event(
            NewAuditEvent::new(now, Actor::customer(customer), Action::MessageReceived)
                .on(case.id)
                .with(json!({
                    "message_id": msg.message_id,
                    "channel": msg.channel_kind.as_str(),
                    "sha256": prepared.sha256,
                    "bytes": prepared.text.len(),
                    "cards_removed": prepared.cards_removed,
                    "personal_data_removed": personal_data,
                    "truncated": prepared.truncated,
                })),
        );
    Base {
        change,
        before: linked.before,
        case,
    }
}

/// Writes the case: an insert for a new one, an update over the version read otherwise.
fn with_case(mut change: Change, before: Option<Case>, case: Case) -> Change {
    match before {
        Some(before) => change.update(&before, case),
        None => {
            change.new_case = Some(case);
            change
        }
    }
}

/// A message that gets no reply: its author is blocked, or it is over a rate limit (`limited`
/// names the limit and whether this is the one message that tells them).
pub(crate) fn quiet(input: Input, limited: Option<(&'static str, bool)>) -> Change {
    let user = input.msg.author_id.clone();
    let Base {
        mut change,
        before,
        case,
        ..
    } = base(input);
    if let Some((limit, notice)) = limited {
        let event =
            NewAuditEvent::new(change.at, Actor::system("rate-limits"), Action::RateLimited)
                .on(case.id)
                .with(json!({ "limit": limit, "notice": notice }));
        change = change.event(event);
        if notice {
            let slow_down = render::SLOW_DOWN.to_owned();
            change = change.send(Outgoing::to_customer(
                case.id,
                &user,
                OutboxKind::SlowDown,
                slow_down,
            ));
        }
    }
    with_case(change, before, case)
}

/// A routed message: the decision recorded on the case, an escalation when it is due, the reply,
/// the mirror into the staff thread, the public acknowledgement.
pub(crate) fn routed(input: Input, reading: &Reading, decision: Decision) -> (Change, Routed) {
    let msg = input.msg;
    let personal_data = input.personal_data.to_vec();
    let text = input.prepared.text.clone();
    let Base {
        mut change,
        before,
        mut case,
        ..
    } = base(input);
    let with_staff_before = case.state != CaseState::Open;
    let held = decision
        .reasons
        .iter()
        .any(|r| r == reasons::ESCALATION_HELD);
    note_decision(&mut case, reading, &decision);
    let moves = decision.escalate && case.state == CaseState::Open;
    if moves {
        change = escalate(change, &mut case, &decision);
    }
    let escalated = decision.escalate || with_staff_before;
    let mut reply = render::routing_reply(
        case.id,
        decision.safety_notice.as_deref(),
        &decision.flow_reply,
        decision.escalate,
        decision.offer_human && !decision.explains_handover,
    );
    if held {
        reply = format!("{reply} {}", render::escalation_held(case.id));
        let event =
            NewAuditEvent::new(change.at, Actor::system("rate-limits"), Action::RateLimited)
                .on(case.id)
                .with(json!({ "limit": "escalations_per_customer", "notice": false }));
        change = change.event(event);
    }
    let kind = reply_kind(&decision);
    let at = change.at;
    change = change
        .event(routed_event(at, case.id, reading, &decision, &reply))
        .send(Outgoing::to_customer(
            case.id,
            &msg.author_id,
            kind,
            reply.clone(),
        ));
    for event in refund_events(at, case.id, &decision) {
        change = change.event(event);
    }
    if escalated {
        // Staff have the case (or are about to): they read along in its thread.
        change = change.send(Outgoing::to_thread(
            case.id,
            OutboxKind::Mirror,
            render::mirrored(&text),
        ));
    }
    if msg.channel_kind == ChannelKind::Public {
        change = change.send(public_ack(case.id, msg, &personal_data));
    }
    let routed = summary(&case, reading, &decision, reply);
    (with_case(change, before, case), routed)
}

/// Which buttons the reply carries: an article asks whether it helped, an offer shows "Talk to a
/// person"; a hand-over needs neither.
fn reply_kind(decision: &Decision) -> OutboxKind {
    match (&decision.article, decision.offer_human) {
        _ if decision.escalate => OutboxKind::Reply,
        (Some(_), _) => OutboxKind::HelpArticle,
        (None, true) => OutboxKind::Offer,
        (None, false) => OutboxKind::Reply,
    }
}

/// One audit event per automatic refund the decision made.
fn refund_events(
    at: chrono::DateTime<chrono::Utc>,
    case: CaseId,
    decision: &Decision,
) -> impl Iterator<Item = NewAuditEvent> + '_ {
    decision.refunds.iter().map(move |(target, cents)| {
        NewAuditEvent::new(at, Actor::bot(), Action::RefundIssued)
            .on(case)
            .with(json!({ "target": target, "cents": cents, "automatic": true }))
    })
}

/// What the caller learns of a routed message.
fn summary(case: &Case, reading: &Reading, decision: &Decision, reply: String) -> Routed {
    Routed {
        case_id: case.id,
        intent: decision.intent,
        local_intent: reading.local.intent,
        decided_by: reading.decided_by,
        confidence: reading.local.confidence,
        frustration: reading.mood.frustration,
        urgency: reading.mood.urgency,
        priority: case.priority,
        escalated: decision.escalate,
        offer_human: decision.offer_human,
        flow: decision.flow,
        reply,
        article: decision.article.clone(),
        second_need: decision.second_need,
        reasons: decision.reasons.clone(),
        refunds: decision.refunds.clone(),
    }
}

/// What the case remembers of the decision.
fn note_decision(case: &mut Case, reading: &Reading, d: &Decision) {
    // Staff know better than routing: an intent they corrected stays.
    if !case.intent_corrected {
        case.intent = Some(d.intent);
    }
    case.priority = case.priority.max(d.priority);
    case.order_number = d.order_number.clone().or(case.order_number.take());
    case.order_value_cents = d.order_value_cents.or(case.order_value_cents);
    case.human_requests = d.human_requests;
    case.flow = d.flow;
    case.waiting_until = d.waiting_until;
    case.stuck_reason = d.stuck_reason.clone().or(case.stuck_reason.take());
    case.sentiment = Some(reading.mood.sentiment);
    case.frustrated = reading.mood.frustration;
}

/// Moves the case to the human queue with every reason the decision gives, and posts its card.
fn escalate(change: Change, case: &mut Case, d: &Decision) -> Change {
    let action = CaseAction::Escalate {
        priority: d.priority,
        reason: String::new(),
    };
    let Ok((mut next, audit)) = case.apply(&action, change.at) else {
        return change;
    };
    let reason = d.reasons.join("; ");
    for r in &d.reasons {
        next.add_reason(r);
    }
    let details = json!({ "priority": next.priority.as_str(), "reason": reason });
    let card = render::case_card(next.id, next.priority, &next.reasons_line());
    let at = change.at;
    let change = change
        .event(
            NewAuditEvent::new(at, Actor::bot(), audit)
                .on(next.id)
                .with(details),
        )
        .send(Outgoing::to_staff(next.id, OutboxKind::CaseCard, card));
    *case = next;
    change
}

fn routed_event(
    at: chrono::DateTime<chrono::Utc>,
    case: CaseId,
    reading: &Reading,
    d: &Decision,
    reply: &str,
) -> NewAuditEvent {
    NewAuditEvent::new(at, Actor::bot(), Action::CaseRouted)
        .on(case)
        .with(json!({
            "intent": d.intent.as_str(),
            "local_intent": reading.local.intent.as_str(),
            "decided_by": reading.decided_by.as_str(),
            "llm": reading.llm,
            "confidence": reading.local.confidence,
            "frustration": reading.mood.frustration,
            "urgency": reading.mood.urgency,
            "escalate": d.escalate,
            "rules": d.rules,
            "flow": d.flow.map(|f| f.as_str()),
            "article": d.article,
            "second_need": d.second_need.map(|i| i.as_str()),
            "priority": d.priority.as_str(),
            "reply_sha256": sha256_hex(reply.as_bytes()),
        }))
}

/// The acknowledgement of a public post, as a reply to it (or, when the post held personal data
/// and comes down, in the channel, saying why).
fn public_ack(case: CaseId, msg: &InboundMessage, removed: &[PersonalData]) -> Outgoing {
    Outgoing {
        case_id: Some(case),
        kind: OutboxKind::PublicAck,
        destination: Destination::Channel {
            channel_id: msg.channel_id.clone(),
            reply_to: removed.is_empty().then(|| msg.message_id.clone()),
        },
        body: render::public_ack(case, removed),
    }
}
