//! Layering: a file's keys and `CASEBOT__SECTION__KEY` variables over the built-in defaults,
//! each checked against the default's type, and unknown keys refused.

use toml::{Table, Value};

use super::{invalid, mask_url_password, ConfigError};

pub(super) fn set(table: &mut Table, section: &str, key: &str, value: Value) {
    if let Some(Value::Table(section)) = table.get_mut(section) {
        section.insert(key.to_owned(), value);
    }
}

/// The default value at `section.key`, which also tells the type an override must have.
fn default_at<'t>(table: &'t Table, section: &str, key: &str) -> Option<&'t Value> {
    table.get(section)?.as_table()?.get(key)
}

pub(super) fn merge_file(
    table: &mut Table,
    overrides: Table,
    origin: &str,
) -> Result<(), ConfigError> {
    for (section, values) in overrides {
        let unknown = |key: String| ConfigError::UnknownKey {
            key,
            origin: origin.to_owned(),
        };
        let Value::Table(values) = values else {
            return Err(unknown(section));
        };
        for (key, value) in values {
            let full = format!("{section}.{key}");
            let default = default_at(table, &section, &key).ok_or_else(|| unknown(full.clone()))?;
            if default.type_str() != value.type_str() {
                return Err(invalid(&full, &value.to_string(), expected_type(default)));
            }
            set(table, &section, &key, value);
        }
    }
    Ok(())
}

/// Applies `CASEBOT__SECTION__KEY=value`, parsing the value as the default's type.
pub(super) fn apply_env(
    table: &mut Table,
    name: &str,
    path: &str,
    raw: &str,
) -> Result<(), ConfigError> {
    let unknown = || ConfigError::UnknownKey {
        key: path.to_lowercase().replace("__", "."),
        origin: format!("environment variable {name}"),
    };
    let (section, key) = path.split_once("__").ok_or_else(unknown)?;
    let (section, key) = (section.to_lowercase(), key.to_lowercase());
    let default = default_at(table, &section, &key).ok_or_else(unknown)?;
    let full = format!("{section}.{key}");
    let value = match default {
        Value::Integer(_) => raw.trim().parse().map(Value::Integer).ok(),
        Value::Float(_) => raw.trim().parse().map(Value::Float).ok(),
        Value::Boolean(_) => raw.trim().parse().map(Value::Boolean).ok(),
        _ => Some(Value::String(raw.to_owned())),
    };
    let shown = if key == "url" {
        mask_url_password(raw)
    } else {
        raw.to_owned()
    };
    let value = value.ok_or_else(|| invalid(&full, &shown, expected_type(default)))?;
    set(table, &section, &key, value);
    Ok(())
}

fn expected_type(default: &Value) -> &'static str {
    match default {
        Value::Integer(_) => "a whole number",
        Value::Float(_) => "a number",
        Value::Boolean(_) => "true or false",
        Value::String(_) => "a string",
        _ => "a value like the default",
    }
}
