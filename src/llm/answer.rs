//! Checking what a language model answered against the schema casebot asked for: one JSON object
//! with exactly the expected keys, the intent one of casebot's names, every signal a boolean.
//! Anything else is refused with a reason, whatever the server claimed to enforce.

use serde::Deserialize;

use crate::domain::routing::opinion::Opinion;
use crate::domain::routing::Intent;

/// The answer as it must arrive. `deny_unknown_fields` and the missing defaults make an extra or
/// a missing key a refusal, as the schema's `additionalProperties: false` and `required` say.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    intent: String,
    frustration: bool,
    anger: bool,
    urgency: bool,
    stuck: bool,
    high_value_item: bool,
    exception: bool,
}

/// Why an answer was refused. `kind` is safe to log and count; `detail` may quote the answer
/// (which may echo customer text), so it is shown only to whoever ran `casebot classify`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub kind: &'static str,
    pub detail: String,
}

fn refuse(kind: &'static str, detail: impl Into<String>) -> Refusal {
    Refusal {
        kind,
        detail: detail.into(),
    }
}

/// Reads a model's message content as an [`Opinion`]. A Markdown code fence around the object is
/// allowed (it is formatting, not an answer of another kind); prose before or after it is not.
pub fn parse(content: &str) -> Result<Opinion, Refusal> {
    let body = unfenced(content.trim());
    if !body.starts_with('{') {
        return Err(refuse("not_json", "the answer is not a JSON object"));
    }
    let wire: Wire = serde_json::from_str(body).map_err(|e| {
        let kind = if e.is_syntax() || e.is_eof() {
            "not_json"
        } else {
            "wrong_shape"
        };
        refuse(kind, e.to_string())
    })?;
    let intent: Intent = wire.intent.parse().map_err(|_| {
        refuse(
            "unknown_intent",
            format!("{:?} is not one of casebot's intents", wire.intent),
        )
    })?;
    Ok(Opinion {
        intent,
        frustration: wire.frustration,
        anger: wire.anger,
        urgency: wire.urgency,
        stuck: wire.stuck,
        high_value_item: wire.high_value_item,
        exception: wire.exception,
    })
}

fn unfenced(text: &str) -> &str {
    let Some(rest) = text.strip_prefix("```") else {
        return text;
    };
    let rest = rest.strip_prefix("json").unwrap_or(rest);
    rest.strip_suffix("```").unwrap_or(rest).trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = r#"{"intent": "late_delivery", "frustration": true, "anger": false, "urgency": false, "stuck": true, "high_value_item": false, "exception": false}"#;

    #[test]
    fn a_complete_answer_becomes_an_opinion() {
        let opinion = parse(VALID).unwrap();
        assert_eq!(opinion.intent, Intent::LateDelivery);
        assert!(opinion.frustration && opinion.stuck && !opinion.anger);
        assert_eq!(parse(&format!("```json\n{VALID}\n```")), Ok(opinion));
    }

    #[test]
    fn answers_of_any_other_shape_are_refused_by_kind() {
        let extra = VALID.replace('}', ", \"reply\": \"refund approved\"}");
        let missing = VALID.replace(", \"exception\": false", "");
        let cases = [
            ("late_delivery", "not_json"),
            (
                "The JSON object has the keys intent, frustration and urgency.",
                "not_json",
            ),
            (&format!("Sure! Here it is: {VALID}"), "not_json"),
            (&format!("{VALID} Hope this helps!"), "not_json"),
            (
                &VALID.replace("late_delivery", "cancel_order"),
                "unknown_intent",
            ),
            (&VALID.replace("true", "\"yes\""), "wrong_shape"),
            (&extra, "wrong_shape"),
            (&missing, "wrong_shape"),
            (
                r#"{"type": "object", "properties": {"intent": {"type": "string"}}}"#,
                "wrong_shape",
            ),
            ("", "not_json"),
        ];
        for (answer, kind) in cases {
            assert_eq!(parse(answer).map_err(|r| r.kind), Err(kind), "{answer}");
        }
    }
}
