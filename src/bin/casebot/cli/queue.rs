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
    let staff = &app.staff;
    let (case, who, action) = match command {
        QueueCommand::List { json } => {
            for entry in app.store.queue(10_000).await? {
                if json {
                    writeln!(out, "{}", serde_json::to_string(&entry)?)?;
                } else {
                    writeln!(out, "{}", queue_line(&entry))?;
                }
            }
            return Ok(ExitCode::SUCCESS);
        }
        QueueCommand::Sweep { watch } => return sweep(app, watch, out).await,
        QueueCommand::Note {
            case_id,
            text,
            staff: who,
        } => {
            staff
                .note(CaseId(case_id), &StaffId::new(&who), &text)
                .await?;
            writeln!(out, "note added to case #{case_id} by {who}")?;
            return Ok(ExitCode::SUCCESS);
        }
        QueueCommand::Reply {
            case_id,
            text,
            staff: who,
        } => {
            staff
                .reply(CaseId(case_id), &StaffId::new(&who), &text, None)
                .await?;
            writeln!(out, "reply to case #{case_id} queued for delivery")?;
            return Ok(ExitCode::SUCCESS);
        }
        QueueCommand::Callback {
            case_id,
            staff: who,
        } => {
            let callback = app
                .callbacks
                .number_for(CaseId(case_id), &StaffId::new(&who))
                .await?;
            writeln!(
                out,
                "call {} for case #{case_id}, due by {}",
                callback.phone.expose(),
                callback.due_at.to_rfc3339()
            )?;
            return Ok(ExitCode::SUCCESS);
        }
        QueueCommand::Block {
            case_id,
            staff: who,
        } => return block(app, case_id, &who, true, out).await,
        QueueCommand::Unblock {
            case_id,
            staff: who,
        } => return block(app, case_id, &who, false, out).await,
        QueueCommand::Next { staff: who } => {
            match staff.claim_next(&StaffId::new(&who)).await? {
                Some(case) => writeln!(out, "{who} claimed case #{case}")?,
                None => writeln!(out, "the queue is empty")?,
            }
            return Ok(ExitCode::SUCCESS);
        }
        QueueCommand::Claim {
            case_id,
            staff: who,
        } => {
            let claim = CaseAction::Claim {
                staff: StaffId::new(&who),
            };
            (case_id, who, claim)
        }
        QueueCommand::Release {
            case_id,
            staff: who,
        } => (case_id, who, CaseAction::Release),
        QueueCommand::Transfer {
            case_id,
            to,
            staff: who,
        } => (
            case_id,
            who,
            CaseAction::Transfer {
                to: StaffId::new(to),
            },
        ),
        QueueCommand::Resolve {
            case_id,
            summary,
            staff: who,
        } => (case_id, who, CaseAction::Resolve { summary }),
        QueueCommand::Reopen {
            case_id,
            staff: who,
        } => (case_id, who, CaseAction::Reopen),
    };
    let verb = action
        .audit_action()
        .as_str()
        .trim_start_matches("case.")
        .to_owned();
    let state = staff.act(CaseId(case), &StaffId::new(&who), action).await?;
    writeln!(out, "case #{case} {verb} by {who}; it is now {state}")?;
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
