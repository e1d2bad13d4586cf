//! Components (components/reference.mdx): legacy messages take up to 5 action rows, each of up
//! to 5 buttons or one select; custom ids are 1-100 characters and unique in a message; labels
//! 80; select options 25; a components-v2 message up to 40 components. Modals (the MODAL
//! callback) take a 1-100 character custom id, a title of at most 45 and 1-5 components.

use std::collections::HashSet;

use serde_json::Value;

use super::{at, Form};

const ACTION_ROW: u64 = 1;
const BUTTON: u64 = 2;
const TEXT_INPUT: u64 = 4;
const SELECTS: [u64; 5] = [3, 5, 6, 7, 8];
const LABEL: u64 = 18;
/// Types a components-v2 message may use.
const V2_TYPES: [u64; 14] = [1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 17];

pub fn check_message(form: &mut Form, components: &Value, v2: bool) {
    let max_top = if v2 { 40 } else { 5 };
    let top = form.array("components", components, max_top);
    let mut ids = HashSet::new();
    let mut count = 0;
    for (i, c) in top.iter().enumerate() {
        let path = at("components", i);
        let kind = c["type"].as_u64().unwrap_or(0);
        if !v2 && kind != ACTION_ROW {
            form.err(
                &path,
                "COMPONENT_LAYOUT_INVALID",
                "Top-level components must be action rows.",
            );
            continue;
        }
        if v2 && !V2_TYPES.contains(&kind) {
            form.err(
                &at(&path, "type"),
                "COMPONENT_TYPE_INVALID",
                "Invalid component type.",
            );
            continue;
        }
        count += 1;
        check_component(form, &path, c, &mut ids, &mut count);
    }
    if v2 && count > 40 {
        form.err(
            "components",
            "COMPONENT_MAX_TOTAL_COMPONENTS_EXCEEDED",
            "Must be 40 or fewer in total.",
        );
    }
}

fn check_component(
    form: &mut Form,
    path: &str,
    c: &Value,
    ids: &mut HashSet<String>,
    n: &mut usize,
) {
    match c["type"].as_u64().unwrap_or(0) {
        ACTION_ROW => check_row(form, path, c, ids, n),
        BUTTON => check_button(form, path, c, ids),
        t if SELECTS.contains(&t) => check_select(form, path, c, t, ids),
        TEXT_INPUT => form.err(
            path,
            "COMPONENT_TYPE_INVALID",
            "Text inputs belong in modals.",
        ),
        _ => {
            // Sections (9) and containers (17) nest further components.
            for key in ["components", "accessory"] {
                let children = match &c[key] {
                    Value::Array(list) => list.clone(),
                    Value::Null => Vec::new(),
                    one => vec![one.clone()],
                };
                for (j, child) in children.iter().enumerate() {
                    *n += 1;
                    check_component(form, &at(&at(path, key), j), child, ids, n);
                }
            }
        }
    }
}

fn check_row(form: &mut Form, path: &str, row: &Value, ids: &mut HashSet<String>, n: &mut usize) {
    let children_path = at(path, "components");
    let children = form.array(&children_path, &row["components"], 5);
    if children.is_empty() {
        form.err(
            &children_path,
            "BASE_TYPE_MIN_LENGTH",
            "Must be 1 or more in length.",
        );
    }
    let selects = children
        .iter()
        .filter(|c| SELECTS.contains(&c["type"].as_u64().unwrap_or(0)))
        .count();
    if selects > 0 && children.len() > 1 {
        form.err(
            &children_path,
            "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
            "A select takes a whole action row.",
        );
    }
    for (j, child) in children.iter().enumerate() {
        *n += 1;
        let kind = child["type"].as_u64().unwrap_or(0);
        let p = at(&children_path, j);
        if kind != BUTTON && !SELECTS.contains(&kind) {
            form.err(
                &at(&p, "type"),
                "COMPONENT_TYPE_INVALID",
                "An action row holds buttons or a select.",
            );
            continue;
        }
        check_component(form, &p, child, ids, n);
    }
}

fn custom_id(form: &mut Form, path: &str, v: &Value, ids: &mut HashSet<String>) {
    let p = at(path, "custom_id");
    form.required_text(&p, v, 1, 100);
    if let Some(id) = v.as_str() {
        if !ids.insert(id.to_owned()) {
            form.err(
                &p,
                "COMPONENT_CUSTOM_ID_DUPLICATED",
                "Component custom id cannot be duplicated",
            );
        }
    }
}

fn check_button(form: &mut Form, path: &str, b: &Value, ids: &mut HashSet<String>) {
    let style = b["style"].as_u64().unwrap_or(0);
    form.text(&at(path, "label"), &b["label"], 0, 80);
    match style {
        1..=4 => {
            custom_id(form, path, &b["custom_id"], ids);
            if !b["url"].is_null() {
                form.err(
                    &at(path, "url"),
                    "BUTTON_COMPONENT_URL_NOT_ALLOWED",
                    "A non-link button cannot have a url.",
                );
            }
        }
        5 => {
            form.required_text(&at(path, "url"), &b["url"], 1, 512);
            if !b["custom_id"].is_null() {
                form.err(
                    &at(path, "custom_id"),
                    "BUTTON_COMPONENT_CUSTOM_ID_NOT_ALLOWED",
                    "A link button cannot have a custom id.",
                );
            }
        }
        6 => form.required_text(&at(path, "sku_id"), &b["sku_id"], 1, 20),
        _ => form.err(
            &at(path, "style"),
            "BASE_TYPE_CHOICES",
            "Value must be one of (1, 2, 3, 4, 5, 6).",
        ),
    }
}

fn check_select(form: &mut Form, path: &str, s: &Value, kind: u64, ids: &mut HashSet<String>) {
    custom_id(form, path, &s["custom_id"], ids);
    form.text(&at(path, "placeholder"), &s["placeholder"], 0, 150);
    let min = s["min_values"].as_u64().unwrap_or(1);
    let max = s["max_values"].as_u64().unwrap_or(1);
    if min > 25 {
        form.err(
            &at(path, "min_values"),
            "NUMBER_TYPE_MAX",
            "int value should be less than or equal to 25.",
        );
    }
    if !(1..=25).contains(&max) || min > max {
        form.err(
            &at(path, "max_values"),
            "NUMBER_TYPE_MAX",
            "max_values must be 1-25 and at least min_values.",
        );
    }
    if kind != 3 {
        return;
    }
    let options_path = at(path, "options");
    let options = form.array(&options_path, &s["options"], 25);
    if options.is_empty() {
        form.err(
            &options_path,
            "BASE_TYPE_MIN_LENGTH",
            "Must be 1 or more in length.",
        );
    }
    for (i, o) in options.iter().enumerate() {
        let p = at(&options_path, i);
        form.required_text(&at(&p, "label"), &o["label"], 1, 100);
        form.required_text(&at(&p, "value"), &o["value"], 1, 100);
        form.text(&at(&p, "description"), &o["description"], 0, 100);
    }
}

/// A MODAL callback's data (interactions/receiving-and-responding.mdx "Modal").
pub fn check_modal(form: &mut Form, data: &Value) {
    form.required_text("data.custom_id", &data["custom_id"], 1, 100);
    form.required_text("data.title", &data["title"], 1, 45);
    let list = form.array("data.components", &data["components"], 5);
    if list.is_empty() {
        form.err(
            "data.components",
            "BASE_TYPE_MIN_LENGTH",
            "Must be 1 or more in length.",
        );
    }
    let mut ids = HashSet::new();
    for (i, c) in list.iter().enumerate() {
        let path = at("data.components", i);
        for input in modal_inputs(c) {
            custom_id(form, &path, &input["custom_id"], &mut ids);
            let max = input["max_length"].as_u64().unwrap_or(4000);
            let min = input["min_length"].as_u64().unwrap_or(0);
            if !(1..=4000).contains(&max) || min > max {
                form.err(
                    &at(&path, "max_length"),
                    "NUMBER_TYPE_MAX",
                    "Lengths must be within 0-4000.",
                );
            }
        }
        if c["type"].as_u64() == Some(LABEL) {
            form.required_text(&at(&path, "label"), &c["label"], 1, 45);
        }
    }
}

/// The inputs of one top-level modal component: an action row's children or a label's child.
pub fn modal_inputs(c: &Value) -> Vec<Value> {
    match c["type"].as_u64() {
        Some(ACTION_ROW) => c["components"].as_array().cloned().unwrap_or_default(),
        Some(LABEL) => vec![c["component"].clone()],
        _ => Vec::new(),
    }
}
