//! The layer rules of ARCHITECTURE.md, checked on the source: a layer that imports one it may
//! not fails here, naming the file and the line.

use std::path::{Path, PathBuf};

/// What each layer of `src/` may not reach: crates of the wider world and casebot's own modules.
const RULES: &[(&str, &[&str], &[&str])] = &[
    (
        "domain",
        &["sqlx", "tokio", "serenity", "reqwest", "governor"],
        &[
            "store",
            "services",
            "discord",
            "app",
            "run",
            "config",
            "orders",
            "llm",
            "render",
            "metrics",
            "telemetry",
        ],
    ),
    (
        "render",
        &["sqlx", "tokio", "serenity", "reqwest"],
        &["store", "services", "discord", "app", "run", "config"],
    ),
    (
        "store",
        &["serenity", "reqwest"],
        &[
            "services", "discord", "app", "run", "render", "config", "orders", "llm",
        ],
    ),
    (
        "services",
        &["serenity"],
        &["discord", "app", "run", "config"],
    ),
    ("discord", &["sqlx"], &["store", "run"]),
];

#[test]
fn no_layer_imports_one_it_may_not() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut broken = Vec::new();
    for (layer, crates, modules) in RULES {
        for file in rust_files(&root.join(layer)) {
            let source = std::fs::read_to_string(&file).unwrap();
            for (number, line) in code_lines(&source) {
                for name in referenced(line) {
                    let refused = match name {
                        Reference::Crate(c) => crates.contains(&c),
                        Reference::Module(m) => modules.contains(&m),
                    };
                    if refused {
                        let shown = file.strip_prefix(&root).unwrap().display();
                        broken.push(format!(
                            "src/{shown}:{number}: {layer} may not use {name:?}"
                        ));
                    }
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "layer rules broken:\n{}",
        broken.join("\n")
    );
}

#[test]
fn the_checker_sees_grouped_and_inline_imports() {
    fn found(line: &str) -> Vec<Reference<'_>> {
        referenced(line).collect()
    }
    assert!(found("use crate::{domain::Case, store::Store};").contains(&Reference::Module("store")));
    assert!(found("    let s = crate::store::Store::open();").contains(&Reference::Module("store")));
    assert!(found("use sqlx::Row;").contains(&Reference::Crate("sqlx")));
    assert!(found("use crate::domain::Case;") == vec![Reference::Module("domain")]);
}

#[derive(Debug, PartialEq)]
enum Reference<'a> {
    Crate(&'a str),
    Module(&'a str),
}

/// Every module path a line names: `crate::x`, `crate::{x, y}` and external `name::`.
fn referenced(line: &str) -> impl Iterator<Item = Reference<'_>> {
    let mut found = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            let inner = group.split('}').next().unwrap_or("");
            for part in inner.split(',') {
                let head = part.trim().split("::").next().unwrap_or("");
                if !head.is_empty() {
                    found.push(Reference::Module(head));
                }
            }
        } else {
            found.push(Reference::Module(identifier(after)));
        }
        rest = after;
    }
    let trimmed = line.trim_start();
    let external = trimmed
        .strip_prefix("use ")
        .map(identifier)
        .into_iter()
        .chain(
            line.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .filter(|word| word.contains("::"))
                .map(identifier),
        )
        .filter(|name| !["crate", "self", "super", "std", "core"].contains(name));
    found.extend(external.map(Reference::Crate));
    found.into_iter()
}

fn identifier(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// Lines that are code, with their numbers: comments and doc comments are left out.
fn code_lines(source: &str) -> impl Iterator<Item = (usize, &str)> {
    source
        .lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line))
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    if dir.with_extension("rs").is_file() {
        files.push(dir.with_extension("rs"));
    }
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}
