//! Reading staff corrections of routing: a case's corrections, how many there are of each kind
//! (for `/metrics`), and the corrected cases a page at a time with what the training export
//! needs. Corrections are written by [`Store::apply`]. Every statement reads the same on both
//! backends.

use sqlx::FromRow;

use super::rows::Time;
use super::{on_db, Page, Store, StoreError};
use crate::domain::correction::{CorrectedCase, Correction, RoutingRecord, StoredCorrection};
use crate::domain::ids::{CaseId, StaffId};
use crate::domain::Intent;

const CASE_CORRECTIONS: &str = "\
    SELECT case_id, kind, from_intent, to_intent, staff_id, created_at \
    FROM case_corrections WHERE case_id = $1 ORDER BY id";

const COUNTS: &str = "\
    SELECT (SELECT COUNT(*) FROM case_corrections WHERE kind = 'intent'), \
        (SELECT COUNT(*) FROM case_corrections WHERE kind = 'no_person')";

/// Each corrected case with its first customer message (neither erased nor deleted), the details
/// of its first routing event, and the corrections that label it.
const CORRECTED_CASES: &str = "\
    SELECT c.id, c.intent, c.escalated_at, \
        (SELECT m.body FROM messages m WHERE m.case_id = c.id AND m.author_kind = 'customer' \
            AND m.deleted_at IS NULL AND m.body <> '[erased]' ORDER BY m.id LIMIT 1) AS text, \
        (SELECT e.details FROM audit_events e WHERE e.chain = 'case:' || c.id \
            AND e.action = 'case.routed' ORDER BY e.seq LIMIT 1) AS routing, \
        (SELECT k.to_intent FROM case_corrections k WHERE k.case_id = c.id AND k.kind = 'intent' \
            ORDER BY k.id DESC LIMIT 1) AS corrected_intent, \
        (SELECT COUNT(*) FROM case_corrections k WHERE k.case_id = c.id \
            AND k.kind = 'no_person') AS no_person \
    FROM cases c WHERE c.id > $1 \
      AND EXISTS (SELECT 1 FROM case_corrections k WHERE k.case_id = c.id) \
    ORDER BY c.id LIMIT $2";

#[derive(Debug, FromRow)]
struct CorrectionRow {
    case_id: i64,
    kind: String,
    from_intent: Option<String>,
    to_intent: Option<String>,
    staff_id: String,
    created_at: Time,
}

fn intent(name: Option<&str>) -> Result<Option<Intent>, StoreError> {
    Ok(name.map(str::parse).transpose()?)
}

impl TryFrom<CorrectionRow> for StoredCorrection {
    type Error = StoreError;

    fn try_from(r: CorrectionRow) -> Result<StoredCorrection, StoreError> {
        let correction = match (r.kind.as_str(), r.to_intent.as_deref()) {
            ("intent", Some(to)) => Correction::Intent {
                from: intent(r.from_intent.as_deref())?,
                to: to.parse()?,
            },
            ("no_person", _) => Correction::NoPerson,
            (kind, _) => {
                return Err(StoreError::Corrupt(format!(
                    "a correction of kind {kind:?} without what it corrects to"
                )))
            }
        };
        Ok(StoredCorrection {
            case_id: CaseId(r.case_id),
            staff: StaffId(r.staff_id),
            correction,
            at: r.created_at.0,
        })
    }
}

#[derive(Debug, FromRow)]
struct CorrectedCaseRow {
    id: i64,
    intent: Option<String>,
    escalated_at: Option<Time>,
    text: Option<String>,
    routing: Option<String>,
    corrected_intent: Option<String>,
    no_person: i64,
}

impl TryFrom<CorrectedCaseRow> for CorrectedCase {
    type Error = StoreError;

    fn try_from(r: CorrectedCaseRow) -> Result<CorrectedCase, StoreError> {
        let routing = r
            .routing
            .as_deref()
            .map(|details| {
                serde_json::from_str(details)
                    .map(|d| RoutingRecord::from_details(&d))
                    .map_err(|e| StoreError::Corrupt(format!("routing event details: {e}")))
            })
            .transpose()?;
        Ok(CorrectedCase {
            case_id: CaseId(r.id),
            text: r.text,
            intent: intent(r.intent.as_deref())?,
            escalated: r.escalated_at.is_some(),
            routing,
            corrected_intent: intent(r.corrected_intent.as_deref())?,
            no_person: r.no_person > 0,
        })
    }
}

impl Store {
    /// A case's corrections, oldest first.
    pub async fn corrections(&self, case: CaseId) -> Result<Vec<StoredCorrection>, StoreError> {
        let rows: Vec<CorrectionRow> = on_db!(self, pool => sqlx::query_as(CASE_CORRECTIONS)
            .bind(case.get())
            .fetch_all(pool)
            .await)?;
        super::rows::convert(rows)
    }

    /// How many intent corrections and how many "didn't need a person" corrections there are.
    pub async fn correction_counts(&self) -> Result<(i64, i64), StoreError> {
        Ok(on_db!(self, pool => sqlx::query_as(COUNTS).fetch_one(pool).await)?)
    }

    /// Corrected cases a page at a time by id, with what the training export needs about each.
    pub async fn corrected_cases(&self, page: Page) -> Result<Vec<CorrectedCase>, StoreError> {
        let rows: Vec<CorrectedCaseRow> = on_db!(self, pool => sqlx::query_as(CORRECTED_CASES)
            .bind(page.after)
            .bind(page.limit)
            .fetch_all(pool)
            .await)?;
        super::rows::convert(rows)
    }
}
