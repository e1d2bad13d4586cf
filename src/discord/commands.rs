//! The staff slash commands, as registered in the staff server and as read back from an
//! interaction. They are registered without `default_member_permissions`, so every member who can
//! use application commands sees them, the staff role included; a server admin can narrow them to
//! the staff role under Server Settings → Integrations → casebot. Whoever runs one, casebot
//! checks again that it is the staff server and that they hold the staff or lead role.

use serde_json::{json, Value};
use serenity::all::{CommandDataOptionValue, CommandInteraction};

use crate::domain::{CaseId, StaffId};

/// A command as staff typed it, with its options read. `None` for a case means "the case whose
/// thread this is".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffCommand {
    Queue,
    /// `/claim` without a case claims the next one.
    Claim(Option<CaseId>),
    Release(Option<CaseId>),
    Transfer(Option<CaseId>, StaffId),
    Resolve(Option<CaseId>, String),
    Note(Option<CaseId>, String),
    Reply(Option<CaseId>, String),
    /// Shows the case and adds whoever asked to its thread.
    Show(Option<CaseId>),
    Block(Option<CaseId>),
    Unblock(Option<CaseId>),
}

fn option(kind: u8, name: &str, description: &str, required: bool) -> Value {
    json!({ "type": kind, "name": name, "description": description, "required": required })
}

const STRING: u8 = 3;
const INTEGER: u8 = 4;
const USER: u8 = 6;

fn case_option() -> Value {
    let mut case = option(
        INTEGER,
        "case",
        "The case number (leave out in the case's thread)",
        false,
    );
    case["min_value"] = json!(1);
    case
}

fn text_option(name: &str, description: &str) -> Value {
    let mut text = option(STRING, name, description, true);
    text["max_length"] = json!(4_000);
    text
}

fn command(name: &str, description: &str, options: Vec<Value>) -> Value {
    // Guild-only (context 0), installed in the server (integration type 0), and no
    // default_member_permissions: visible to the staff role, checked by casebot itself.
    json!({
        "name": name, "type": 1, "description": description, "options": options,
        "contexts": [0], "integration_types": [0],
    })
}

/// The commands as registered with Discord (the body of a bulk overwrite).
pub fn definitions() -> Value {
    json!([
        command(
            "queue",
            "The waiting cases, in the order staff take them",
            vec![]
        ),
        command(
            "claim",
            "Claim a case, or the next one in the queue",
            vec![case_option()]
        ),
        command(
            "release",
            "Put your case back in the queue",
            vec![case_option()]
        ),
        command(
            "transfer",
            "Hand your case to another staff member",
            vec![option(USER, "to", "Who takes it", true), case_option(),]
        ),
        command(
            "resolve",
            "Resolve a case",
            vec![text_option("summary", "What was done"), case_option()]
        ),
        command(
            "reply",
            "Reply to the customer (they read it in their DMs)",
            vec![text_option("text", "Your reply"), case_option(),]
        ),
        command(
            "note",
            "Add an internal note (never shown to the customer)",
            vec![text_option("text", "The note"), case_option(),]
        ),
        command(
            "case",
            "Show a case and join its thread",
            vec![case_option()]
        ),
        command("block", "Block the case's customer", vec![case_option()]),
        command(
            "unblock",
            "Unblock the case's customer",
            vec![case_option()]
        ),
    ])
}

/// Reads a command interaction; `None` for anything malformed or not casebot's.
pub fn parse(cmd: &CommandInteraction) -> Option<StaffCommand> {
    let option = |name: &str| {
        cmd.data
            .options
            .iter()
            .find(|o| o.name == name)
            .map(|o| &o.value)
    };
    let case = || match option("case") {
        Some(CommandDataOptionValue::Integer(n)) if *n > 0 => Some(Some(CaseId(*n))),
        None => Some(None),
        _ => None,
    };
    let text = |name: &str| match option(name) {
        Some(CommandDataOptionValue::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        _ => None,
    };
    Some(match cmd.data.name.as_str() {
        "queue" => StaffCommand::Queue,
        "claim" => StaffCommand::Claim(case()?),
        "release" => StaffCommand::Release(case()?),
        "transfer" => match option("to") {
            Some(CommandDataOptionValue::User(user)) => {
                StaffCommand::Transfer(case()?, StaffId::new(user.to_string()))
            }
            _ => return None,
        },
        "resolve" => StaffCommand::Resolve(case()?, text("summary")?),
        "reply" => StaffCommand::Reply(case()?, text("text")?),
        "note" => StaffCommand::Note(case()?, text("text")?),
        "case" => StaffCommand::Show(case()?),
        "block" => StaffCommand::Block(case()?),
        "unblock" => StaffCommand::Unblock(case()?),
        _ => return None,
    })
}

impl StaffCommand {
    /// What the command attempts, for the audit log of a refusal.
    pub fn name(&self) -> &'static str {
        match self {
            StaffCommand::Queue => "/queue",
            StaffCommand::Claim(_) => "/claim",
            StaffCommand::Release(_) => "/release",
            StaffCommand::Transfer(..) => "/transfer",
            StaffCommand::Resolve(..) => "/resolve",
            StaffCommand::Reply(..) => "/reply",
            StaffCommand::Note(..) => "/note",
            StaffCommand::Show(_) => "/case",
            StaffCommand::Block(_) => "/block",
            StaffCommand::Unblock(_) => "/unblock",
        }
    }

    /// The case named, if any.
    pub fn case(&self) -> Option<CaseId> {
        match self {
            StaffCommand::Queue => None,
            StaffCommand::Claim(c)
            | StaffCommand::Release(c)
            | StaffCommand::Transfer(c, _)
            | StaffCommand::Resolve(c, _)
            | StaffCommand::Reply(c, _)
            | StaffCommand::Note(c, _)
            | StaffCommand::Show(c)
            | StaffCommand::Block(c)
            | StaffCommand::Unblock(c) => *c,
        }
    }

    /// The same command about `case`, where it named none.
    pub fn in_case(self, case: CaseId) -> StaffCommand {
        let or = |c: Option<CaseId>| c.or(Some(case));
        match self {
            StaffCommand::Queue => StaffCommand::Queue,
            StaffCommand::Claim(c) => StaffCommand::Claim(or(c)),
            StaffCommand::Release(c) => StaffCommand::Release(or(c)),
            StaffCommand::Transfer(c, to) => StaffCommand::Transfer(or(c), to),
            StaffCommand::Resolve(c, s) => StaffCommand::Resolve(or(c), s),
            StaffCommand::Reply(c, t) => StaffCommand::Reply(or(c), t),
            StaffCommand::Note(c, t) => StaffCommand::Note(or(c), t),
            StaffCommand::Show(c) => StaffCommand::Show(or(c)),
            StaffCommand::Block(c) => StaffCommand::Block(or(c)),
            StaffCommand::Unblock(c) => StaffCommand::Unblock(or(c)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_visible_to_the_staff_role_and_follow_discords_naming_rules() {
        let commands = definitions();
        for c in commands.as_array().unwrap() {
            assert!(c.get("default_member_permissions").is_none(), "{c}");
            let name = c["name"].as_str().unwrap();
            assert!(
                (1..=32).contains(&name.len()) && name.chars().all(|ch| ch.is_ascii_lowercase())
            );
            let description = c["description"].as_str().unwrap();
            assert!((1..=100).contains(&description.len()));
            // Required options come first, as Discord insists.
            let required: Vec<bool> = c["options"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["required"].as_bool().unwrap())
                .collect();
            assert!(required.windows(2).all(|w| w[0] >= w[1]), "{c}");
        }
    }

    #[test]
    fn a_command_without_a_case_takes_the_threads() {
        let reply = StaffCommand::Reply(None, "hi".into()).in_case(CaseId(4));
        assert_eq!(reply, StaffCommand::Reply(Some(CaseId(4)), "hi".into()));
        assert_eq!(
            StaffCommand::Claim(None).in_case(CaseId(4)),
            StaffCommand::Claim(Some(CaseId(4)))
        );
    }
}
