//! Checks on what the bot sends, each from the documented limits; a violation is Discord's 400
//! `{"code":50035,"message":"Invalid Form Body","errors":{...}}` naming the field.

pub mod commands;
pub mod components;
pub mod message;

use serde_json::{Map, Value};

use crate::error::{add_form_error, DiscordError};

/// Collects form errors.
#[derive(Debug, Default)]
pub struct Form {
    tree: Option<Value>,
}

impl Form {
    pub fn err(&mut self, path: &str, code: &str, message: &str) {
        let tree = self.tree.get_or_insert_with(|| Value::Object(Map::new()));
        add_form_error(tree, path, code, message);
    }

    /// A string field of at most `max` characters (and at least `min` when present).
    pub fn text(&mut self, path: &str, v: &Value, min: usize, max: usize) {
        match v {
            Value::Null => {}
            Value::String(s) => self.length(path, s, min, max),
            _ => self.err(
                path,
                "BASE_TYPE_STRING",
                "Could not interpret value as string.",
            ),
        }
    }

    /// A required string field.
    pub fn required_text(&mut self, path: &str, v: &Value, min: usize, max: usize) {
        if v.is_null() {
            self.err(path, "BASE_TYPE_REQUIRED", "This field is required");
        } else {
            self.text(path, v, min, max);
        }
    }

    pub fn length(&mut self, path: &str, s: &str, min: usize, max: usize) {
        let n = s.chars().count();
        if n > max {
            self.err(
                path,
                "BASE_TYPE_MAX_LENGTH",
                &format!("Must be {max} or fewer in length."),
            );
        } else if n < min {
            self.err(
                path,
                "BASE_TYPE_MIN_LENGTH",
                &format!("Must be {min} or more in length."),
            );
        }
    }

    /// An array of at most `max` items; returns its items.
    pub fn array<'a>(&mut self, path: &str, v: &'a Value, max: usize) -> &'a [Value] {
        match v {
            Value::Null => &[],
            Value::Array(items) => {
                if items.len() > max {
                    self.err(
                        path,
                        "BASE_TYPE_MAX_LENGTH",
                        &format!("Must be {max} or fewer in length."),
                    );
                }
                items
            }
            _ => {
                self.err(
                    path,
                    "BASE_TYPE_ARRAY",
                    "Could not interpret value as an array.",
                );
                &[]
            }
        }
    }

    pub fn done(self) -> Result<(), DiscordError> {
        match self.tree {
            None => Ok(()),
            Some(tree) => Err(DiscordError::form_tree(tree)),
        }
    }
}

/// `a.b` joined for error paths.
pub fn at(path: &str, key: impl std::fmt::Display) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}
