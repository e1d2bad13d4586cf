//! Application commands (interactions/application-commands.mdx): names per the documented
//! regex and lower case for slash commands, descriptions of 1-100 characters, at most 25
//! options with required ones first and unique names, 25 choices, subcommand nesting, the 8,000
//! character size, and at most 100 slash, 15 user and 15 message commands per scope.

use std::collections::HashSet;
use std::sync::OnceLock;

use regex::Regex;
use serde_json::Value;

use super::{at, Form};

fn name_pattern() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN.get_or_init(|| {
        Regex::new(r"^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$").expect("the documented regex")
    })
}

/// Whether a slash command or option name is valid: the regex, and lower case wherever a
/// letter has a lower-case form.
pub fn slash_name_ok(name: &str) -> bool {
    name_pattern().is_match(name)
        && name
            .chars()
            .all(|c| c.to_lowercase().eq(std::iter::once(c)))
}

/// Checks a bulk overwrite: every command, names unique per type, the per-type counts.
pub fn check_all(form: &mut Form, list: &[Value]) {
    let mut seen = HashSet::new();
    let mut counts = [0usize; 5];
    for (i, c) in list.iter().enumerate() {
        let path = i.to_string();
        check_command(form, &path, c);
        let kind = c["type"].as_u64().unwrap_or(1).min(4) as usize;
        counts[kind] += 1;
        let name = c["name"].as_str().unwrap_or_default().to_owned();
        if !seen.insert((kind, name)) {
            form.err(
                &at(&path, "name"),
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                "Application command names must be unique",
            );
        }
    }
    if counts[1] > 100 || counts[2] > 15 || counts[3] > 15 {
        form.err(
            "",
            "APPLICATION_COMMANDS_TOO_MANY",
            "Too many application commands of one type.",
        );
    }
}

pub fn check_command(form: &mut Form, path: &str, c: &Value) {
    if !c.is_object() {
        form.err(
            path,
            "MODEL_TYPE_CONVERT",
            "Only dictionaries may be used in a ModelType",
        );
        return;
    }
    let kind = c["type"].as_u64().unwrap_or(1);
    if !(1..=4).contains(&kind) {
        form.err(
            &at(path, "type"),
            "BASE_TYPE_CHOICES",
            "Value must be one of (1, 2, 3, 4).",
        );
    }
    let name = c["name"].as_str().unwrap_or_default();
    if kind == 1 {
        if !slash_name_ok(name) {
            form.err(
                &at(path, "name"),
                "APPLICATION_COMMAND_INVALID_NAME",
                "Command name is invalid",
            );
        }
        form.required_text(&at(path, "description"), &c["description"], 1, 100);
        check_options(form, &at(path, "options"), &c["options"], 0);
    } else {
        form.required_text(&at(path, "name"), &c["name"], 1, 32);
        if c["description"].as_str().is_some_and(|d| !d.is_empty()) {
            form.err(
                &at(path, "description"),
                "APPLICATION_COMMAND_DESCRIPTION_NOT_ALLOWED",
                "Context menu commands take an empty description.",
            );
        }
        if !c["options"].is_null() {
            form.err(
                &at(path, "options"),
                "APPLICATION_COMMAND_OPTIONS_NOT_ALLOWED",
                "Only slash commands take options.",
            );
        }
    }
    match &c["default_member_permissions"] {
        Value::Null => {}
        Value::String(s) if !s.is_empty() && s.chars().all(|ch| ch.is_ascii_digit()) => {}
        _ => form.err(
            &at(path, "default_member_permissions"),
            "BASE_TYPE_BAD_INT",
            "Value must be a permission bit set as a string.",
        ),
    }
    if size(c) > 8000 {
        form.err(
            path,
            "APPLICATION_COMMAND_TOO_LARGE",
            "Command exceeds maximum size (8000)",
        );
    }
}

/// `depth` 0 for a command's options, 1 inside a subcommand or group, 2 inside a group's
/// subcommand.
fn check_options(form: &mut Form, path: &str, options: &Value, depth: u8) {
    let list = form.array(path, options, 25);
    let mut names = HashSet::new();
    let mut optional_seen = false;
    let subs = list
        .iter()
        .filter(|o| matches!(o["type"].as_u64(), Some(1 | 2)))
        .count();
    if subs > 0 && subs != list.len() {
        form.err(
            path,
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
            "Subcommands cannot be mixed with other options.",
        );
    }
    for (i, o) in list.iter().enumerate() {
        let p = at(path, i);
        let kind = o["type"].as_u64().unwrap_or(0);
        let name = o["name"].as_str().unwrap_or_default();
        if !slash_name_ok(name) {
            form.err(
                &at(&p, "name"),
                "APPLICATION_COMMAND_INVALID_NAME",
                "Command name is invalid",
            );
        }
        if !names.insert(name.to_owned()) {
            form.err(
                &at(&p, "name"),
                "APPLICATION_COMMAND_OPTION_NAME_ALREADY_EXISTS",
                "Option names must be unique",
            );
        }
        form.required_text(&at(&p, "description"), &o["description"], 1, 100);
        match kind {
            1 if depth < 2 => check_options(form, &at(&p, "options"), &o["options"], 2),
            2 if depth == 0 => check_group(form, &at(&p, "options"), &o["options"]),
            3..=11 => {
                let required = o["required"].as_bool().unwrap_or(false);
                if required && optional_seen {
                    form.err(
                        &at(&p, "required"),
                        "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                        "Required options must be placed before non-required options",
                    );
                }
                optional_seen |= !required;
                check_value_option(form, &p, o, kind);
            }
            _ => form.err(
                &at(&p, "type"),
                "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                "Invalid option type here.",
            ),
        }
    }
}

fn check_group(form: &mut Form, path: &str, options: &Value) {
    let list = options.as_array().cloned().unwrap_or_default();
    if list.iter().any(|o| o["type"].as_u64() != Some(1)) {
        form.err(
            path,
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
            "A subcommand group holds only subcommands.",
        );
    }
    check_options(form, path, options, 1);
}

fn check_value_option(form: &mut Form, p: &str, o: &Value, kind: u64) {
    let choices = form.array(&at(p, "choices"), &o["choices"], 25);
    if !choices.is_empty() && !matches!(kind, 3 | 4 | 10) {
        form.err(
            &at(p, "choices"),
            "APPLICATION_COMMAND_OPTION_CHOICES_INVALID",
            "Only string, integer and number options take choices.",
        );
    }
    for (j, ch) in choices.iter().enumerate() {
        let cp = at(&at(p, "choices"), j);
        form.required_text(&at(&cp, "name"), &ch["name"], 1, 100);
        if let Some(s) = ch["value"].as_str() {
            form.length(&at(&cp, "value"), s, 1, 100);
        }
    }
    if o["autocomplete"].as_bool() == Some(true) && !choices.is_empty() {
        form.err(
            &at(p, "autocomplete"),
            "APPLICATION_COMMAND_AUTOCOMPLETE_CHOICES",
            "Autocomplete cannot be set with choices.",
        );
    }
    for (key, lo, hi) in [("min_length", 0, 6000), ("max_length", 1, 6000)] {
        if let Some(n) = o[key].as_u64() {
            if n < lo || n > hi {
                form.err(
                    &at(p, key),
                    "NUMBER_TYPE_MAX",
                    &format!("Must be between {lo} and {hi}."),
                );
            }
        }
    }
}

/// The characters that count towards the 8,000 limit: names, descriptions, choice names and
/// values, in every option.
fn size(v: &Value) -> usize {
    let own = ["name", "description"]
        .iter()
        .filter_map(|k| v[*k].as_str())
        .map(|s| s.chars().count())
        .sum::<usize>();
    let value = v["value"].as_str().map_or(0, |s| s.chars().count());
    let nested: usize = ["options", "choices"]
        .iter()
        .filter_map(|k| v[*k].as_array())
        .flatten()
        .map(size)
        .sum();
    own + value + nested
}
