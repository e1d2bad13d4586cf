//! What casebot's Discord messages look like, as the JSON Discord's API takes: the case card
//! (embed, buttons and the "Wrong intent?" select), the customer's buttons, the rating row, the
//! thread's opening note, the forms, and `allowed_mentions` that ping nobody unless a staff notice
//! must. Pure functions, unit-tested; the deliverer and the interaction handlers only send what
//! these build.

use serde_json::{json, Value};

use super::custom_id::Control;
use crate::domain::correction::Correction;
use crate::domain::orders::dollars;
use crate::domain::sla::{current_deadline, BreachKind, SlaPolicy};
use crate::domain::views::CaseView;
use crate::domain::{CaseAction, CaseId, CaseState, Intent};
use crate::services::ActionError;

/// Discord's limit for one message's content.
pub const MAX_CONTENT: usize = 2_000;

/// Button styles, as Discord numbers them.
const PRIMARY: u8 = 1;
const SECONDARY: u8 = 2;
const SUCCESS: u8 = 3;

/// Mention nobody: relayed text can never ping @everyone, a role or a user.
pub fn mention_nobody() -> Value {
    json!({ "parse": [] })
}

/// Mention only the staff role (staff notices).
pub fn mention_role(role: u64) -> Value {
    json!({ "parse": [], "roles": [role.to_string()] })
}

/// Message flags: this message is visible only to the one who triggered it.
pub const EPHEMERAL: u64 = 1 << 6;

fn button(control: Control, label: &str, style: u8) -> Value {
    json!({ "type": 2, "style": style, "label": label, "custom_id": control.to_custom_id() })
}

fn row(buttons: Vec<Value>) -> Value {
    json!({ "type": 1, "components": buttons })
}

/// The case card's components: a row of buttons (with "Didn't need a person" while that can
/// still be said of the case) and the "Wrong intent?" select.
pub fn card_components(view: &CaseView) -> Value {
    let case = view.case.id;
    let mut buttons = vec![
        button(Control::Claim(case), "Claim", PRIMARY),
        button(Control::Reply(case), "Reply", SECONDARY),
        button(Control::Release(case), "Release", SECONDARY),
        button(Control::Resolve(case), "Resolve", SUCCESS),
    ];
    let said = view
        .corrections
        .iter()
        .any(|c| c.correction == Correction::NoPerson);
    if view.case.escalated_at.is_some() && !said {
        buttons.push(button(
            Control::NoPerson(case),
            "Didn't need a person",
            SECONDARY,
        ));
    }
    json!([
        row(buttons),
        row(vec![intent_select(case, view.case.intent)])
    ])
}

/// Discord's limit for the options of one select menu.
pub const MAX_SELECT_OPTIONS: usize = 25;

/// The "Wrong intent?" select: every intent, the current one marked.
pub fn intent_select(case: CaseId, current: Option<Intent>) -> Value {
    let options: Vec<Value> = Intent::BY_PRECEDENCE
        .into_iter()
        .take(MAX_SELECT_OPTIONS)
        .map(|intent| {
            let mut option = json!({ "label": intent_label(intent), "value": intent.as_str() });
            if Some(intent) == current {
                option["description"] = json!("what the case says now");
            }
            option
        })
        .collect();
    let placeholder = match current {
        Some(intent) => format!("Wrong intent? (now: {})", intent_label(intent)),
        None => "Wrong intent?".to_owned(),
    };
    json!({
        "type": 3, "custom_id": Control::CorrectIntent(case).to_custom_id(),
        "placeholder": placeholder, "min_values": 1, "max_values": 1, "options": options,
    })
}

/// An intent as staff read it in a menu: `return_or_exchange` is "Return or exchange".
pub fn intent_label(intent: Intent) -> String {
    let words = intent.as_str().replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => words,
    }
}

/// The buttons under a reply that offers a person.
pub fn customer_buttons(case: CaseId) -> Value {
    row(vec![
        button(Control::TalkToPerson(case), "Talk to a person", PRIMARY),
        button(Control::RequestCall(case), "Request a call", SECONDARY),
        button(Control::Solved(case), "That solved it", SUCCESS),
    ])
}

/// The buttons under a help article: it answered the question, or a person should take over.
pub fn help_buttons(case: CaseId) -> Value {
    row(vec![
        button(Control::Helped(case), "That helped", SUCCESS),
        button(Control::StillNeedHelp(case), "I still need help", PRIMARY),
    ])
}

/// 1 to 5, after resolution.
pub fn rating_buttons(case: CaseId) -> Value {
    row((1..=5)
        .map(|stars| button(Control::Rate(case, stars), &stars.to_string(), SECONDARY))
        .collect())
}

/// The case card: who, what, how urgent, who holds it and who can read its thread.
pub fn card_embed(view: &CaseView, summary: Option<&str>, sla: &SlaPolicy) -> Value {
    let fields: Vec<Value> = card_fields(view, sla)
        .into_iter()
        .map(|(name, value)| json!({ "name": name, "value": truncate(&value, 1_024), "inline": true }))
        .collect();
    let mut embed = json!({ "title": format!("Case #{}", view.case.id), "fields": fields });
    if let Some(summary) = summary {
        embed["description"] = json!(truncate(summary, 4_096));
    }
    embed
}

/// The facts on a case card, as `(name, value)` pairs, with the SLA deadline it works against.
pub fn card_fields(view: &CaseView, sla: &SlaPolicy) -> Vec<(String, String)> {
    let case = &view.case;
    let mut fields = vec![
        ("Customer".to_owned(), view.customer.display_name.clone()),
        ("State".to_owned(), case.state.to_string()),
        ("Priority".to_owned(), case.priority.to_string()),
        (
            "Intent".to_owned(),
            case.intent
                .map_or_else(|| "unknown".into(), |i| i.to_string()),
        ),
        (
            "Reasons".to_owned(),
            if case.escalation_reasons.is_empty() {
                "-".into()
            } else {
                case.reasons_line()
            },
        ),
        (
            "Claimed by".to_owned(),
            case.assignee
                .as_ref()
                .map_or_else(|| "nobody yet".to_owned(), |a| format!("<@{a}>")),
        ),
    ];
    if let Some(cents) = case.order_value_cents {
        fields.push(("Order value".to_owned(), dollars(cents)));
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
        if let Some((kind, at)) = current_deadline(sla, case.state, case.priority, since) {
            let what = match kind {
                BreachKind::FirstResponse => "First response due",
                BreachKind::Resolution => "Resolution due",
            };
            fields.push((what.to_owned(), format!("<t:{}:R>", at.timestamp())));
        }
    }
    if !view.projection.thread_members.is_empty() {
        let members: Vec<String> = view
            .projection
            .thread_members
            .iter()
            .map(|m| format!("<@{m}>"))
            .collect();
        fields.push(("In the thread".to_owned(), members.join(", ")));
    }
    if !case.tags.is_empty() {
        fields.push(("Tags".to_owned(), case.tags.join(", ")));
    }
    if view.projection.dm_closed {
        fields.push((
            "DMs".to_owned(),
            "closed: the customer cannot receive replies".to_owned(),
        ));
    }
    if let Some(rating) = case.rating {
        fields.push(("Rating".to_owned(), format!("{rating}/5")));
    }
    if !view.corrections.is_empty() {
        let lines: Vec<String> = view
            .corrections
            .iter()
            .map(|c| format!("{} by <@{}>", c.correction.describe(), c.staff))
            .collect();
        fields.push(("Corrected".to_owned(), lines.join("\n")));
    }
    fields
}

/// The first message in a case's thread: how staff answer from here.
pub fn thread_intro(case: CaseId, note_prefix: &str, message_content: bool) -> Value {
    let plain = if message_content {
        "A plain message here goes to the customer as your reply. "
    } else {
        ""
    };
    let content = format!(
        "Case #{case}. {plain}Reply to the customer with **/reply**, the **Reply** button, or a \
         message that mentions me; start a message with `{note_prefix}` (after the mention) for an \
         internal note, which the customer never sees."
    );
    json!({
        "content": content,
        "components": [row(vec![button(Control::Reply(case), "Reply", PRIMARY)])],
        "allowed_mentions": mention_nobody(),
    })
}

/// The form that asks for the number to call.
pub fn callback_form(case: CaseId) -> Value {
    let input = json!({
        "type": 4, "custom_id": "phone", "style": 1, "label": "Phone number",
        "placeholder": "+44 20 7946 0958", "min_length": 8, "max_length": 24, "required": true,
    });
    json!({
        "custom_id": Control::CallbackForm(case).to_custom_id(),
        "title": "Request a call",
        "components": [row(vec![input])],
    })
}

/// The form staff reply in.
pub fn reply_form(case: CaseId) -> Value {
    let input = json!({
        "type": 4, "custom_id": "text", "style": 2, "label": "Your reply to the customer",
        "min_length": 1, "max_length": 4_000, "required": true,
    });
    json!({
        "custom_id": Control::ReplyForm(case).to_custom_id(),
        "title": format!("Reply on case #{case}"),
        "components": [row(vec![input])],
    })
}

/// An interaction answer only the person who acted sees.
/// What someone is told when their action was refused: staff named as mentions (which, sent
/// with no mentions allowed, ping nobody).
pub fn error_text(error: &ActionError) -> String {
    error.for_people_naming(|staff| format!("<@{staff}>"))
}

/// What a staff member is told after a case action went through.
pub fn action_done(case: CaseId, action: &CaseAction, state: CaseState) -> String {
    match action {
        CaseAction::Claim { .. } => format!("You claimed case #{case}; you're in its thread now."),
        CaseAction::Release => format!("Case #{case} is back in the queue."),
        CaseAction::Transfer { to } => format!("Case #{case} is now with <@{to}>."),
        CaseAction::Resolve { .. } => {
            format!("Case #{case} is resolved; the customer is asked to rate it.")
        }
        CaseAction::Reopen => format!("Case #{case} is open again."),
        CaseAction::Escalate { .. } | CaseAction::Close => format!("Case #{case} is now {state}."),
    }
}

/// What a staff member is told after a correction was recorded.
pub fn correction_done(case: CaseId, correction: Correction) -> String {
    match correction {
        Correction::Intent { to, .. } => {
            format!("Case #{case} is now {to}; thanks, the correction is kept for retraining.")
        }
        Correction::NoPerson => format!(
            "Noted: case #{case} didn't need a person; the correction is kept for retraining."
        ),
    }
}

pub fn private_answer(text: &str) -> Value {
    json!({
        "type": 4,
        "data": { "content": truncate(text, MAX_CONTENT), "flags": EPHEMERAL, "allowed_mentions": mention_nobody() },
    })
}

/// An interaction answer everyone in the conversation sees.
pub fn public_answer(text: &str) -> Value {
    json!({ "type": 4, "data": { "content": truncate(text, MAX_CONTENT), "allowed_mentions": mention_nobody() } })
}

/// Replaces the clicked card with the case as it now stands.
pub fn card_update(view: &CaseView, sla: &SlaPolicy) -> Value {
    json!({ "type": 7, "data": { "embeds": [card_embed(view, None, sla)], "components": card_components(view) } })
}

/// Opens a form.
pub fn modal(form: Value) -> Value {
    json!({ "type": 9, "data": form })
}

/// Cuts text to `max` characters, marking the cut.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::correction::StoredCorrection;
    use crate::domain::views::{Customer, Projection};
    use crate::domain::{Case, CustomerId, Origin, UserId};

    fn view() -> CaseView {
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let mut case = Case::open(CustomerId(1), Origin::Dm, at);
        case.id = CaseId(12);
        CaseView {
            case,
            customer: Customer {
                id: CustomerId(1),
                platform: "discord".into(),
                user_id: UserId::new("42"),
                display_name: "maya".into(),
                external_id: None,
                blocked: false,
                created_at: at,
            },
            projection: Projection::default(),
            corrections: Vec::new(),
        }
    }

    fn escalated() -> CaseView {
        let mut v = view();
        v.case.escalated_at = Some(v.case.created_at);
        v.case.intent = Some(Intent::Refund);
        v
    }

    fn custom_ids(rows: &Value) -> Vec<String> {
        rows.as_array()
            .unwrap()
            .iter()
            .flat_map(|row| row["components"].as_array().unwrap().clone())
            .map(|c| c["custom_id"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn a_card_has_at_most_five_components_a_row_each_with_a_unique_id_under_discords_limits() {
        let rows = card_components(&escalated());
        for row in rows.as_array().unwrap() {
            assert!(row["components"].as_array().unwrap().len() <= 5, "{row}");
        }
        let ids = custom_ids(&rows);
        assert!(ids.iter().all(|id| id.len() <= 100 && id.ends_with(":12")));
        let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "{ids:?}");
        assert!(ids.contains(&"cb:noperson:12".to_owned()), "{ids:?}");
        assert!(ids.contains(&"cb:intent:12".to_owned()), "{ids:?}");
    }

    #[test]
    fn the_intent_select_lists_every_intent_within_discords_limits_and_marks_the_current_one() {
        let select = intent_select(CaseId(i64::MAX), Some(Intent::Refund));
        assert_eq!(select["type"], 3);
        assert!(select["custom_id"].as_str().unwrap().len() <= 100);
        assert!(select["placeholder"].as_str().unwrap().chars().count() <= 150);
        let options = select["options"].as_array().unwrap();
        assert!(options.len() <= MAX_SELECT_OPTIONS);
        let values: Vec<&str> = options
            .iter()
            .map(|o| o["value"].as_str().unwrap())
            .collect();
        let every: Vec<&str> = Intent::BY_PRECEDENCE.iter().map(|i| i.as_str()).collect();
        assert_eq!(values, every);
        for o in options {
            let label = o["label"].as_str().unwrap();
            assert!((1..=100).contains(&label.chars().count()), "{label}");
            assert!(o["value"].as_str().unwrap().len() <= 100);
        }
        let marked: Vec<&str> = options
            .iter()
            .filter(|o| o.get("description").is_some())
            .map(|o| o["value"].as_str().unwrap())
            .collect();
        assert_eq!(marked, ["refund"]);
        assert_eq!(intent_label(Intent::ReturnOrExchange), "Return or exchange");
    }

    #[test]
    fn didnt_need_a_person_is_offered_only_on_a_case_that_went_to_a_person_and_only_once() {
        let never = view();
        assert!(!custom_ids(&card_components(&never)).contains(&"cb:noperson:12".to_owned()));
        let mut said = escalated();
        said.corrections.push(StoredCorrection {
            case_id: CaseId(12),
            staff: "ana".into(),
            correction: Correction::NoPerson,
            at: said.case.created_at,
        });
        assert!(!custom_ids(&card_components(&said)).contains(&"cb:noperson:12".to_owned()));
    }

    #[test]
    fn a_card_shows_each_correction_with_who_made_it_and_old_and_new() {
        let mut v = escalated();
        v.corrections.push(StoredCorrection {
            case_id: CaseId(12),
            staff: "7".into(),
            correction: Correction::Intent {
                from: Some(Intent::Other),
                to: Intent::Refund,
            },
            at: v.case.created_at,
        });
        let fields = card_fields(&v, &SlaPolicy::default());
        assert!(
            fields.contains(&(
                "Corrected".to_owned(),
                "intent other → refund by <@7>".to_owned()
            )),
            "{fields:?}"
        );
    }

    #[test]
    fn a_help_article_asks_whether_it_helped_with_the_case_in_each_button() {
        let row = help_buttons(CaseId(i64::MAX));
        let buttons = row["components"].as_array().unwrap();
        let labels: Vec<&str> = buttons
            .iter()
            .map(|b| b["label"].as_str().unwrap())
            .collect();
        assert_eq!(labels, ["That helped", "I still need help"]);
        for b in buttons {
            let id = b["custom_id"].as_str().unwrap();
            assert!(
                id.len() <= 100 && id.ends_with(&i64::MAX.to_string()),
                "{id}"
            );
        }
    }

    #[test]
    fn a_card_names_who_is_in_the_thread() {
        let mut v = view();
        v.projection.thread_members = vec!["7".into(), "8".into()];
        let fields = card_fields(&v, &SlaPolicy::default());
        assert!(
            fields.contains(&("In the thread".to_owned(), "<@7>, <@8>".to_owned())),
            "{fields:?}"
        );
    }

    #[test]
    fn a_card_says_when_the_customer_cannot_get_replies() {
        let mut v = view();
        v.projection.dm_closed = true;
        let embed = card_embed(&v, Some("needs a person"), &SlaPolicy::default());
        assert!(embed
            .to_string()
            .contains("closed: the customer cannot receive replies"));
        assert_eq!(embed["description"], "needs a person");
    }

    #[test]
    fn private_answers_are_ephemeral_and_mention_nobody() {
        let answer = private_answer("Already claimed by ana.");
        assert_eq!(answer["data"]["flags"], EPHEMERAL);
        assert_eq!(answer["data"]["allowed_mentions"]["parse"], json!([]));
    }

    #[test]
    fn long_text_is_cut_to_discords_limit() {
        let answer = public_answer(&"x".repeat(5_000));
        assert_eq!(
            answer["data"]["content"].as_str().unwrap().chars().count(),
            MAX_CONTENT
        );
    }

    #[test]
    fn the_thread_intro_explains_replies_without_the_content_intent() {
        let intro = thread_intro(CaseId(3), "!note", false);
        let text = intro["content"].as_str().unwrap();
        assert!(text.contains("/reply") && text.contains("!note"), "{text}");
        assert!(!text.contains("A plain message here"), "{text}");
    }
}
