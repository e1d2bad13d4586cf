//! The training export of staff corrections: every corrected case as one labelled row in the CSV
//! shape `casebot train --labels` reads, so a shop can retrain routing on its own traffic. The
//! rows carry customer text, so the export is only ever written where the operator asks; nothing
//! of it is logged.

use std::io::Write;

use super::audit::ExportError;
use crate::domain::correction::{label_row, write_label_rows, LabelRow};
use crate::store::{Page, Store};

/// What an export wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Exported {
    /// Rows written, one per corrected case.
    pub rows: usize,
    /// Corrected cases left out: no customer text left (erased or deleted) to learn from.
    pub skipped: usize,
}

/// Writes every corrected case to `out` as labelled CSV, header first.
pub async fn export(store: &Store, out: &mut impl Write) -> Result<Exported, ExportError> {
    const PAGE: i64 = 500;
    let mut page = Page::first(PAGE);
    let mut rows: Vec<LabelRow> = Vec::new();
    let mut skipped = 0;
    loop {
        let cases = store.corrected_cases(page).await?;
        for case in &cases {
            match label_row(case) {
                Some(row) => rows.push(row),
                None => skipped += 1,
            }
        }
        match cases.last() {
            Some(last) if cases.len() as i64 == PAGE => page.after = last.case_id.get(),
            _ => break,
        }
    }
    write_label_rows(&rows, &mut *out).map_err(std::io::Error::other)?;
    Ok(Exported {
        rows: rows.len(),
        skipped,
    })
}
