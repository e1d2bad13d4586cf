//! `casebot queue` and `casebot staff`: the human queue as a staff member works it from a
//! terminal. A refused action is an error: one line, a non-zero exit, and an audit event.

use std::io::Write;
use std::process::ExitCode;

use casebot::app::App;
use casebot::domain::staff::{Role, StaffMember};
use casebot::domain::{Actor, CaseAction, CaseId, StaffId};
use casebot::render::case::queue_line;

use super::grammar::{QueueCommand, StaffCommand};

pub async fn queue(
    app: &App,
    command: QueueCommand,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    match command {
        QueueCommand::List { json } => list(app, json, out).await,
        QueueCommand::Sweep { watch } => sweep(app, watch, out).await,
        QueueCommand::Note {
            case_id,
            text,
            staff: who,
        } => write(app, Writing::Note, case_id, &who, &text, out).await,
        QueueCommand::Reply {
            case_id,
            text,
            staff: who,
        } => write(app, Writing::Reply, case_id, &who, &text, out).await,
        QueueCommand::Callback {
            case_id,
            staff: who,
        } => callback(app, case_id, &who, out).await,
        QueueCommand::Block {
            case_id,
            staff: who,
        } => block(app, case_id, &who, true, out).await,
        QueueCommand::Unblock {
            case_id,
            staff: who,
        } => block(app, case_id, &who, false, out).await,
        QueueCommand::Next { staff: who } => claim_next(app, &who, out).await,
        QueueCommand::Claim {
            case_id,
            staff: who,
        } => {
            let claim = CaseAction::Claim {
                staff: StaffId::new(&who),
            };
            act(app, case_id, &who, claim, out).await
        }
        QueueCommand::Release {
            case_id,
            staff: who,
        } => act(app, case_id, &who, CaseAction::Release, out).await,
        QueueCommand::Transfer {
            case_id,
            to,
            staff: who,
        } => {
            let transfer = CaseAction::Transfer {
                to: StaffId::new(to),
            };
            act(app, case_id, &who, transfer, out).await
        }
        QueueCommand::Resolve {
            case_id,
            summary,
            staff: who,
        } => act(app, case_id, &who, CaseAction::Resolve { summary }, out).await,
        QueueCommand::Reopen {
            case_id,
            staff: who,
        } => act(app, case_id, &who, CaseAction::Reopen, out).await,
    }
}

/// What a staff member writes on a case: a note for the team, or a reply for the customer.
enum Writing {
    Note,
    Reply,
}

async fn write(
    app: &App,
    writing: Writing,
    case_id: i64,
    who: &str,
    text: &str,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let (case, staff) = (CaseId(case_id), StaffId::new(who));
    match writing {
        Writing::Note => {
            app.staff.note(case, &staff, text).await?;
            writeln!(out, "note added to case #{case_id} by {who}")?;
        }
        Writing::Reply => {
            app.staff.reply(case, &staff, text, None).await?;
            writeln!(out, "reply to case #{case_id} queued for delivery")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn claim_next(app: &App, who: &str, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    match app.staff.claim_next(&StaffId::new(who)).await? {
        Some(case) => writeln!(out, "{who} claimed case #{case}")?,
        None => writeln!(out, "the queue is empty")?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The waiting cases in serving order, as lines or as JSON.
async fn list(app: &App, json: bool, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    for entry in app.store.queue(10_000).await? {
        if json {
            writeln!(out, "{}", serde_json::to_string(&entry)?)?;
        } else {
            writeln!(out, "{}", queue_line(&entry))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The callback number of a case, shown to its claimer only (the service checks and audits).
async fn callback(
    app: &App,
    case_id: i64,
    who: &str,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let callback = app
        .callbacks
        .number_for(CaseId(case_id), &StaffId::new(who))
        .await?;
    writeln!(
        out,
        "call {} for case #{case_id}, due by {}",
        callback.phone.expose(),
        callback.due_at.to_rfc3339()
    )?;
    Ok(ExitCode::SUCCESS)
}

/// One state change by `who`, reported as what happened and the state the case is in now.
async fn act(
    app: &App,
    case_id: i64,
    who: &str,
    action: CaseAction,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let verb = action
        .audit_action()
        .as_str()
        .trim_start_matches("case.")
        .to_owned();
    let state = app
        .staff
        .act(CaseId(case_id), &StaffId::new(who), action)
        .await?;
    writeln!(out, "case #{case_id} {verb} by {who}; it is now {state}")?;
    Ok(ExitCode::SUCCESS)
}

async fn block(
    app: &App,
    case_id: i64,
    who: &str,
    blocked: bool,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    app.staff
        .set_blocked(CaseId(case_id), &StaffId::new(who), blocked)
        .await?;
    let verb = if blocked { "blocked" } else { "unblocked" };
    writeln!(out, "the customer of case #{case_id} is {verb}")?;
    Ok(ExitCode::SUCCESS)
}

/// Every sweeper once (or every interval until Ctrl-C), each finding a line.
async fn sweep(app: &App, watch: bool, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    loop {
        let swept = app.sweepers.sweep().await?;
        match swept.stuck {
            Some(cases) => {
                for (case, reason) in cases {
                    writeln!(
                        out,
                        "case #{case} is stuck ({reason}) and now waits in the queue"
                    )?;
                }
            }
            None => writeln!(out, "another process is sweeping stuck cases right now")?,
        }
        for b in swept.breaches {
            writeln!(
                out,
                "case #{} missed its {} deadline: {} -> {}",
                b.case_id,
                b.kind.as_str(),
                b.from,
                b.to
            )?;
        }
        for case in swept.overdue_callbacks {
            writeln!(out, "case #{case}: the requested callback is overdue")?;
        }
        if !watch {
            return Ok(ExitCode::SUCCESS);
        }
        tokio::select! {
            _ = tokio::time::sleep(app.config.queue.sweep_interval) => {}
            _ = tokio::signal::ctrl_c() => return Ok(ExitCode::SUCCESS),
        }
    }
}

pub async fn staff(
    app: &App,
    command: StaffCommand,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let StaffCommand::Add { id, lead } = command;
    let role = if lead { Role::Lead } else { Role::Staff };
    let member = StaffMember {
        id: StaffId::new(id),
        role,
    };
    app.staff.add_staff(&member, &Actor::system("cli")).await?;
    writeln!(
        out,
        "{} is on the support team as {}",
        member.id, member.role
    )?;
    Ok(ExitCode::SUCCESS)
}
