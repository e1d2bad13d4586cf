//! The staff slash commands: `/queue`, `/claim`, `/release`, `/transfer`, `/resolve`, `/note`,
//! `/case`, `/block`, `/unblock`. They are registered in the staff server only, hidden from
//! members without Manage Messages, and checked again here: only in the staff server, and only
//! for the support team. Every answer is private to the person who asked.

use serenity::all::{
    CommandDataOptionValue, CommandInteraction, CommandOptionType, CreateCommand,
    CreateCommandOption, Permissions,
};

use crate::domain::CaseAction;
use crate::render;
use crate::services::{Actor, CaseError};

/// A command as staff typed it, with its options read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffCommand {
    Queue,
    ClaimNext,
    Claim(i64),
    Release(i64),
    Transfer(i64, String),
    Resolve(i64, String),
    Note(i64, String),
    Show(i64),
    Block(i64),
    Unblock(i64),
}

/// The commands as registered with Discord.
pub fn definitions() -> Vec<CreateCommand> {
    let case = || {
        CreateCommandOption::new(CommandOptionType::Integer, "case", "The case number")
            .required(true)
            .min_int_value(1)
    };
    let text = |name: &str, what: &str| {
        CreateCommandOption::new(CommandOptionType::String, name, what).required(true)
    };
    let staff_only = |name: &str, what: &str| {
        CreateCommand::new(name)
            .description(what)
            .default_member_permissions(Permissions::MANAGE_MESSAGES)
            .dm_permission(false)
    };
    vec![
        staff_only("queue", "The waiting cases, in the order staff take them"),
        staff_only("claim", "Claim a case, or the next one").add_option(text(
            "case",
            "A case number, or \"next\" for the head of the queue",
        )),
        staff_only("release", "Put your case back in the queue").add_option(case()),
        staff_only("transfer", "Hand your case to another staff member")
            .add_option(case())
            .add_option(
                CreateCommandOption::new(CommandOptionType::User, "to", "Who takes it")
                    .required(true),
            ),
        staff_only("resolve", "Resolve a case")
            .add_option(case())
            .add_option(text("summary", "What was done")),
        staff_only("note", "Add an internal note (never shown to the customer)")
            .add_option(case())
            .add_option(text("text", "The note")),
        staff_only("case", "Show a case").add_option(case()),
        staff_only("block", "Block the case's customer").add_option(case()),
        staff_only("unblock", "Unblock the case's customer").add_option(case()),
    ]
}

/// Reads a command interaction; `None` for anything malformed or unknown.
pub fn parse(cmd: &CommandInteraction) -> Option<StaffCommand> {
    let option = |name: &str| {
        cmd.data
            .options
            .iter()
            .find(|o| o.name == name)
            .map(|o| &o.value)
    };
    let case = || match option("case") {
        Some(CommandDataOptionValue::Integer(n)) if *n > 0 => Some(*n),
        _ => None,
    };
    let text = |name: &str| match option(name) {
        Some(CommandDataOptionValue::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        _ => None,
    };
    Some(match cmd.data.name.as_str() {
        "queue" => StaffCommand::Queue,
        "claim" => match option("case") {
            Some(CommandDataOptionValue::String(s)) if s.trim() == "next" => {
                StaffCommand::ClaimNext
            }
            Some(CommandDataOptionValue::String(s)) => {
                let n: i64 = s.trim().trim_start_matches('#').parse().ok()?;
                (n > 0).then_some(StaffCommand::Claim(n))?
            }
            Some(CommandDataOptionValue::Integer(n)) if *n > 0 => StaffCommand::Claim(*n),
            _ => return None,
        },
        "release" => StaffCommand::Release(case()?),
        "transfer" => match option("to") {
            Some(CommandDataOptionValue::User(user)) => {
                StaffCommand::Transfer(case()?, user.to_string())
            }
            _ => return None,
        },
        "resolve" => StaffCommand::Resolve(case()?, text("summary")?),
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
            StaffCommand::ClaimNext | StaffCommand::Claim(_) => "/claim",
            StaffCommand::Release(_) => "/release",
            StaffCommand::Transfer(..) => "/transfer",
            StaffCommand::Resolve(..) => "/resolve",
            StaffCommand::Note(..) => "/note",
            StaffCommand::Show(_) => "/case",
            StaffCommand::Block(_) => "/block",
            StaffCommand::Unblock(_) => "/unblock",
        }
    }

    pub fn case(&self) -> Option<i64> {
        match self {
            StaffCommand::Queue | StaffCommand::ClaimNext => None,
            StaffCommand::Claim(c)
            | StaffCommand::Release(c)
            | StaffCommand::Transfer(c, _)
            | StaffCommand::Resolve(c, _)
            | StaffCommand::Note(c, _)
            | StaffCommand::Show(c)
            | StaffCommand::Block(c)
            | StaffCommand::Unblock(c) => Some(*c),
        }
    }
}

/// Runs a command for `staff` (already known to be on the team) and says what happened.
pub async fn execute(
    services: &super::Services,
    staff: &str,
    command: StaffCommand,
) -> Result<String, CaseError> {
    let cases = &services.cases;
    let act = |case: i64, action: CaseAction| async move {
        let verb = action.audit_name().trim_start_matches("case.");
        let state = cases.apply_as_staff(case, staff, action).await?;
        Ok::<_, CaseError>(format!("Case #{case} {verb}; it is now {state}."))
    };
    match command {
        StaffCommand::Queue => {
            let queue = services.store.queue(20).await?;
            if queue.is_empty() {
                return Ok("The queue is empty.".into());
            }
            let lines: Vec<String> = queue.iter().map(render::queue_line).collect();
            Ok(lines.join("\n"))
        }
        StaffCommand::ClaimNext => match cases.claim_next(&Actor::staff(staff)).await? {
            Some(case) => Ok(format!("You claimed case #{case}.")),
            None => Ok("The queue is empty.".into()),
        },
        StaffCommand::Claim(case) => {
            let claim = CaseAction::Claim {
                staff: staff.to_owned(),
            };
            act(case, claim).await
        }
        StaffCommand::Release(case) => act(case, CaseAction::Release).await,
        StaffCommand::Transfer(case, to) => act(case, CaseAction::Transfer { to }).await,
        StaffCommand::Resolve(case, summary) => act(case, CaseAction::Resolve { summary }).await,
        StaffCommand::Note(case, text) => {
            cases.note(case, staff, &text).await?;
            Ok(format!("Note added to case #{case}."))
        }
        StaffCommand::Show(case) => {
            let record = services
                .store
                .case(case)
                .await?
                .ok_or(CaseError::NotFound(case))?;
            let fields: Vec<String> = render::card_fields(&record, &services.sla)
                .into_iter()
                .map(|(name, value)| format!("{name}: {value}"))
                .collect();
            Ok(format!("Case #{case}\n{}", fields.join("\n")))
        }
        StaffCommand::Block(case) => {
            cases.set_blocked(case, staff, true).await?;
            Ok(format!("The customer of case #{case} is blocked."))
        }
        StaffCommand::Unblock(case) => {
            cases.set_blocked(case, staff, false).await?;
            Ok(format!("The customer of case #{case} is unblocked."))
        }
    }
}
