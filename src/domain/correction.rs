//! Staff corrections of routing: "wrong intent" and "didn't need a person", as staff record them
//! on a case, and how a corrected case becomes one labelled row in the CSV shape `casebot train`
//! reads (text, intent, escalate, frustration, urgency), so a shop can retrain on its own traffic.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::audit::Action;
use super::ids::{CaseId, StaffId};
use super::routing::intent::Intent;

/// What staff said routing got wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Correction {
    /// Routing read `from` (nothing, for a case routing never read); the customer needed `to`.
    Intent { from: Option<Intent>, to: Intent },
    /// The case was handed to a person but did not need one.
    NoPerson,
}

impl Correction {
    /// The kind as stored.
    pub fn kind(self) -> &'static str {
        match self {
            Correction::Intent { .. } => "intent",
            Correction::NoPerson => "no_person",
        }
    }

    pub fn audit_action(self) -> Action {
        match self {
            Correction::Intent { .. } => Action::IntentCorrected,
            Correction::NoPerson => Action::HandoverCorrected,
        }
    }

    /// One line for cards and `case show`: what changed, without who.
    pub fn describe(self) -> String {
        match self {
            Correction::Intent { from, to } => {
                let from = from.map_or("unknown", Intent::as_str);
                format!("intent {from} → {to}")
            }
            Correction::NoPerson => "didn't need a person".to_owned(),
        }
    }
}

/// A correction to store, made by `staff` at the time of the change that carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCorrection {
    pub case_id: CaseId,
    pub staff: StaffId,
    pub correction: Correction,
}

/// A stored correction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredCorrection {
    pub case_id: CaseId,
    pub staff: StaffId,
    #[serde(flatten)]
    pub correction: Correction,
    pub at: DateTime<Utc>,
}

/// What routing recorded when it read a case's first message (its `case.routed` event).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RoutingRecord {
    pub intent: Option<Intent>,
    /// Whether routing handed the message to a person; `None` in records older than the field.
    pub escalate: Option<bool>,
    pub frustration: bool,
    pub urgency: bool,
}

impl RoutingRecord {
    /// Reads the details of a `case.routed` event; fields it lacks read as absent or `false`.
    pub fn from_details(details: &serde_json::Value) -> RoutingRecord {
        let flag = |name: &str| details[name].as_bool();
        RoutingRecord {
            intent: details["intent"].as_str().and_then(|i| i.parse().ok()),
            escalate: flag("escalate"),
            frustration: flag("frustration").unwrap_or(false),
            urgency: flag("urgency").unwrap_or(false),
        }
    }
}

/// A case staff corrected, with what the export needs about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrectedCase {
    pub case_id: CaseId,
    /// The customer's first message on the case (`None` when there is none left, say erased).
    pub text: Option<String>,
    /// The case's intent as it stands.
    pub intent: Option<Intent>,
    /// Whether the case was ever handed to a person.
    pub escalated: bool,
    /// What routing recorded for the first message, if it recorded anything.
    pub routing: Option<RoutingRecord>,
    /// The latest intent staff chose.
    pub corrected_intent: Option<Intent>,
    /// Whether staff said the case did not need a person.
    pub no_person: bool,
}

/// One labelled example, as `casebot train --labels` reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelRow {
    pub text: String,
    pub intent: Intent,
    pub escalate: bool,
    pub frustration: bool,
    pub urgency: bool,
}

/// The training row for a corrected case: the staff's intent over routing's, no hand-over where
/// staff said none was needed, and otherwise what routing decided. `None` when the case has no
/// text left to learn from or no intent at all.
pub fn label_row(case: &CorrectedCase) -> Option<LabelRow> {
    let text = case
        .text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())?;
    let routing = case.routing.unwrap_or_default();
    let intent = case.corrected_intent.or(routing.intent).or(case.intent)?;
    let escalate = !case.no_person && routing.escalate.unwrap_or(case.escalated);
    Some(LabelRow {
        text: text.to_owned(),
        intent,
        escalate,
        frustration: routing.frustration,
        urgency: routing.urgency,
    })
}

/// The header of the training CSV.
pub const LABEL_COLUMNS: [&str; 5] = ["text", "intent", "escalate", "frustration", "urgency"];

/// Writes `rows` as CSV with [`LABEL_COLUMNS`] as header, quoting as needed.
pub fn write_label_rows<'a>(
    rows: impl IntoIterator<Item = &'a LabelRow>,
    out: impl std::io::Write,
) -> Result<(), csv::Error> {
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(LABEL_COLUMNS)?;
    for r in rows {
        writer.write_record([
            r.text.as_str(),
            r.intent.as_str(),
            yes_no(r.escalate),
            yes_no(r.frustration),
            yes_no(r.urgency),
        ])?;
    }
    writer.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::routing::model::labels::parse_labels;

    fn corrected() -> CorrectedCase {
        CorrectedCase {
            case_id: CaseId(3),
            text: Some("my parcel says delivered but it's not here".into()),
            intent: Some(Intent::OrderTracking),
            escalated: true,
            routing: Some(RoutingRecord {
                intent: Some(Intent::OrderTracking),
                escalate: Some(true),
                frustration: true,
                urgency: false,
            }),
            corrected_intent: Some(Intent::MissingDelivery),
            no_person: false,
        }
    }

    #[test]
    fn the_staff_intent_wins_and_the_rest_is_what_routing_recorded() {
        let row = label_row(&corrected()).unwrap();
        assert_eq!(row.intent, Intent::MissingDelivery);
        assert!(row.escalate && row.frustration && !row.urgency);
    }

    #[test]
    fn a_no_person_correction_labels_the_message_as_not_for_a_person() {
        let mut case = corrected();
        case.corrected_intent = None;
        case.no_person = true;
        let row = label_row(&case).unwrap();
        assert_eq!(row.intent, Intent::OrderTracking);
        assert!(!row.escalate);
    }

    #[test]
    fn without_a_routing_record_the_case_says_what_it_can_and_the_flags_are_no() {
        let mut case = corrected();
        case.routing = None;
        case.corrected_intent = None;
        let row = label_row(&case).unwrap();
        assert_eq!(row.intent, Intent::OrderTracking);
        assert!(row.escalate, "the case went to a person");
        assert!(!row.frustration && !row.urgency);
    }

    #[test]
    fn a_case_with_no_text_left_gives_no_row() {
        let mut case = corrected();
        case.text = Some("  ".into());
        assert_eq!(label_row(&case), None);
    }

    #[test]
    fn routing_details_read_back_and_missing_fields_are_absent() {
        let details = serde_json::json!({ "intent": "refund", "frustration": true });
        let record = RoutingRecord::from_details(&details);
        assert_eq!(record.intent, Some(Intent::Refund));
        assert_eq!(record.escalate, None);
        assert!(record.frustration && !record.urgency);
    }

    #[test]
    fn written_rows_are_read_back_by_the_trainer_with_commas_quotes_and_newlines_intact() {
        let mut row = label_row(&corrected()).unwrap();
        row.text = "he said \"delivered\", it wasn't,\nstill waiting".into();
        let mut bytes = Vec::new();
        write_label_rows([&row], &mut bytes).unwrap();
        let read = parse_labels("export.csv", &bytes, "text", "intent").unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].text, row.text);
        assert_eq!(read[0].intent, Intent::MissingDelivery);
        assert!(String::from_utf8(bytes)
            .unwrap()
            .starts_with("text,intent,escalate,frustration,urgency\n"));
    }

    #[test]
    fn a_correction_describes_old_and_new() {
        let c = Correction::Intent {
            from: Some(Intent::Other),
            to: Intent::Refund,
        };
        assert_eq!(c.describe(), "intent other → refund");
        assert_eq!(c.audit_action(), Action::IntentCorrected);
        assert_eq!(Correction::NoPerson.kind(), "no_person");
    }
}
