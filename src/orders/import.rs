//! `casebot orders import FILE`: loads orders, subscriptions and charges into the built-in order
//! system. JSON lines (one record per line, each with `"kind": "order" | "subscription" |
//! "charge"`) or CSV (orders, one per row, columns named like the order fields). A bad row is
//! reported with its line number and skipped; the rest still load.

use std::collections::HashMap;

use serde::Deserialize;

use crate::domain::orders::{Billing, Charge, Order, Subscription};
use crate::store::{Store, StoreError};

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum Record {
    Order(Order),
    Subscription(Subscription),
    Charge(Charge),
}

/// What an import did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub orders: u32,
    pub subscriptions: u32,
    pub charges: u32,
    /// `(line, problem)` for every row that was skipped.
    pub skipped: Vec<(usize, String)>,
}

/// Imports JSON lines, or CSV when `csv` is set.
pub async fn import(store: &Store, bytes: &[u8], csv: bool) -> Result<ImportReport, StoreError> {
    let mut report = ImportReport::default();
    let records = if csv {
        csv_records(bytes)
    } else {
        json_records(bytes)
    };
    for (line, record) in records {
        match record {
            Ok(record) => report.save(store, line, record).await?,
            Err(problem) => report.skipped.push((line, problem)),
        }
    }
    Ok(report)
}

impl ImportReport {
    async fn save(&mut self, store: &Store, line: usize, record: Record) -> Result<(), StoreError> {
        let saved = match &record {
            Record::Order(o) => store.import_order(o).await,
            Record::Subscription(s) => {
                let billing = Billing {
                    subscriptions: vec![s.clone()],
                    charges: Vec::new(),
                };
                store.import_billing(&billing).await
            }
            Record::Charge(c) => {
                let billing = Billing {
                    subscriptions: Vec::new(),
                    charges: vec![c.clone()],
                };
                store.import_billing(&billing).await
            }
        };
        match saved {
            Ok(()) => match record {
                Record::Order(_) => self.orders += 1,
                Record::Subscription(_) => self.subscriptions += 1,
                Record::Charge(_) => self.charges += 1,
            },
            // A row the database refuses (a charge for an unknown subscription, a negative amount)
            // is the row's problem, not the import's.
            Err(StoreError::Database(sqlx::Error::Database(e))) => self
                .skipped
                .push((line, format!("refused by the database: {}", e.message()))),
            Err(e) => return Err(e),
        }
        Ok(())
    }
}

fn json_records(bytes: &[u8]) -> Vec<(usize, Result<Record, String>)> {
    String::from_utf8_lossy(bytes)
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, serde_json::from_str(l).map_err(|e| e.to_string())))
        .collect()
}

/// CSV rows become orders: empty cells are absent fields, numbers stay numbers.
fn csv_records(bytes: &[u8]) -> Vec<(usize, Result<Record, String>)> {
    let mut reader = csv::Reader::from_reader(bytes);
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => return vec![(1, Err(e.to_string()))],
    };
    reader
        .records()
        .enumerate()
        .map(|(i, row)| {
            let line = row
                .as_ref()
                .ok()
                .and_then(|r| r.position())
                .map_or(i + 2, |p| p.line() as usize);
            let record = row.map_err(|e| e.to_string()).and_then(|row| {
                let fields: HashMap<&str, serde_json::Value> = headers
                    .iter()
                    .zip(row.iter())
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(k, v)| (k, csv_value(k, v)))
                    .collect();
                serde_json::from_value::<Order>(
                    serde_json::to_value(fields).map_err(|e| e.to_string())?,
                )
                .map(Record::Order)
                .map_err(|e| e.to_string())
            });
            (line, record)
        })
        .collect()
}

fn csv_value(column: &str, value: &str) -> serde_json::Value {
    match column {
        "total_cents" | "return_window_days" => value
            .parse::<i64>()
            .map(serde_json::Value::from)
            .unwrap_or_else(|_| value.into()),
        _ => value.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_are_numbered_from_one_and_bad_lines_are_kept_as_problems() {
        let input = b"{\"kind\":\"subscription\",\"id\":\"s1\",\"customer_ref\":\"c1\",\"name\":\"Plus\"}\n\nnot json\n";
        let records = json_records(input);
        assert_eq!(records.len(), 2);
        assert!(records[0].1.is_ok());
        assert_eq!(records[1].0, 3);
        assert!(records[1].1.is_err());
    }

    #[test]
    fn csv_rows_become_orders_and_bad_rows_name_their_line() {
        let input =
            b"number,customer_ref,status,total_cents\n1-1-1,c1,placed,500\n1-1-2,c1,lost,500\n";
        let records = csv_records(input);
        assert!(matches!(records[0].1, Ok(Record::Order(ref o)) if o.total_cents == 500));
        assert_eq!(records[1].0, 3);
        assert!(records[1].1.as_ref().unwrap_err().contains("lost"));
    }
}
