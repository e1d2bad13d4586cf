//! Labelled examples read from CSV text (the corpus's shape, or a shop's own export): which
//! columns hold the text and the intent, and a refusal naming the line and field of the first
//! bad row.

use crate::domain::routing::intent::Intent;

/// One labelled message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    pub text: String,
    pub intent: Intent,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    #[error("{source_name}: no column named {column:?} in the header")]
    NoColumn { source_name: String, column: String },
    #[error("{source_name}, line {line}, field `{field}`: {problem}")]
    Row {
        source_name: String,
        line: u64,
        field: String,
        problem: String,
    },
    #[error("{source_name}: not readable as CSV: {problem}")]
    Csv {
        source_name: String,
        problem: String,
    },
}

/// Reads examples from CSV bytes with a header row. `source_name` names the file in errors.
pub fn parse_labels(
    source_name: &str,
    bytes: &[u8],
    text_column: &str,
    intent_column: &str,
) -> Result<Vec<Example>, LabelError> {
    let csv_error = |e: csv::Error| LabelError::Csv {
        source_name: source_name.to_owned(),
        problem: e.to_string(),
    };
    let mut reader = csv::Reader::from_reader(bytes);
    let headers = reader.headers().map_err(csv_error)?.clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| LabelError::NoColumn {
                source_name: source_name.to_owned(),
                column: name.to_owned(),
            })
    };
    let (text_at, intent_at) = (column(text_column)?, column(intent_column)?);
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| match e.position() {
            Some(p) => LabelError::Row {
                source_name: source_name.to_owned(),
                line: p.line(),
                field: "(row)".into(),
                problem: e.to_string(),
            },
            None => csv_error(e),
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let bad = |field: &str, problem: String| LabelError::Row {
            source_name: source_name.to_owned(),
            line,
            field: field.to_owned(),
            problem,
        };
        let text = record.get(text_at).unwrap_or_default();
        if text.trim().is_empty() {
            return Err(bad(text_column, "the text is empty".into()));
        }
        let name = record.get(intent_at).unwrap_or_default().trim();
        let intent = name
            .parse()
            .map_err(|_| bad(intent_column, format!("unknown intent {name:?}")))?;
        out.push(Example {
            text: text.to_owned(),
            intent,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_read_from_the_named_columns() {
        let csv = b"id,message,label\n1,where is my parcel,order_tracking\n";
        let rows = parse_labels("x.csv", csv, "message", "label").unwrap();
        assert_eq!(rows[0].intent, Intent::OrderTracking);
        assert_eq!(rows[0].text, "where is my parcel");
    }

    #[test]
    fn an_unknown_intent_is_refused_naming_the_line_and_field() {
        let csv = b"text,intent\nhi,other\nrefund me,rebate\n";
        let err = parse_labels("x.csv", csv, "text", "intent").unwrap_err();
        assert_eq!(
            err.to_string(),
            "x.csv, line 3, field `intent`: unknown intent \"rebate\""
        );
    }

    #[test]
    fn a_missing_column_is_refused_naming_it() {
        let err = parse_labels("x.csv", b"text,label\nhi,other\n", "text", "intent").unwrap_err();
        assert!(
            err.to_string().contains("no column named \"intent\""),
            "{err}"
        );
    }

    #[test]
    fn an_empty_text_is_refused() {
        let err = parse_labels("x.csv", b"text,intent\n ,other\n", "text", "intent").unwrap_err();
        assert!(err.to_string().contains("line 2, field `text`"), "{err}");
    }
}
