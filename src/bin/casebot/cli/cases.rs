//! `casebot case`, `audit`, `intake` and `call-me`: reading a case and correcting what routing
//! read on it, checking and sealing the audit log, and taking in a message or a callback request
//! as a chat or phone channel would.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use casebot::app::App;
use casebot::domain::{CaseId, ChannelKind, InboundMessage, Intent, StaffId, UserId};
use casebot::render::case::{case_json, case_text, CaseRecord};

use super::grammar::{AuditCommand, CaseCommand, IntakeArgs};

pub async fn case(
    app: &App,
    command: CaseCommand,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let (case_id, json) = match command {
        CaseCommand::Show { case_id, json } => (case_id, json),
        CaseCommand::Correct {
            case_id,
            intent,
            no_person: _,
            staff,
        } => return correct(app, CaseId(case_id), intent.as_deref(), &staff, out).await,
    };
    let case = CaseId(case_id);
    let view = app
        .store
        .case_view(case)
        .await?
        .with_context(|| format!("case {case_id} does not exist"))?;
    let messages = app.store.messages(case).await?;
    let notes = app.store.notes(case).await?;
    let trail = app.audit.trail(case).await?;
    let record = CaseRecord {
        view: &view,
        messages: &messages,
        notes: &notes,
        trail: &trail,
    };
    if json {
        writeln!(out, "{}", case_json(&record))?;
    } else {
        write!(out, "{}", case_text(&record))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `casebot case correct`: the same correction the card's select and button make.
async fn correct(
    app: &App,
    case: CaseId,
    intent: Option<&str>,
    staff: &str,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let staff = StaffId::new(staff);
    let done = match intent {
        Some(name) => {
            let intent: Intent = name.parse()?;
            app.staff.correct_intent(case, &staff, intent).await?
        }
        None => app.staff.correct_no_person(case, &staff).await?,
    };
    writeln!(
        out,
        "case #{case}: {} by {staff}, kept for retraining",
        done.describe()
    )?;
    Ok(ExitCode::SUCCESS)
}

pub async fn audit(
    app: &App,
    command: AuditCommand,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Verify { seal } => {
            let report = app.audit.verify(seal.as_deref()).await?;
            if report.is_intact() {
                let sealed = seal.map_or(String::new(), |s| format!(", seal {s} found"));
                writeln!(
                    out,
                    "audit log intact: {} events verified in {} chains, {} checkpoints{sealed}",
                    report.events, report.chains, report.checkpoints
                )?;
                return Ok(ExitCode::SUCCESS);
            }
            writeln!(
                out,
                "audit log TAMPERED: {} problem(s) in {} events",
                report.problems.len(),
                report.events
            )?;
            for problem in &report.problems {
                writeln!(out, "  {problem}")?;
            }
            Ok(ExitCode::FAILURE)
        }
        AuditCommand::Checkpoint { json } => {
            let Some(cp) = app.audit.checkpoint().await? else {
                writeln!(out, "nothing to seal yet: the audit log is empty")?;
                return Ok(ExitCode::SUCCESS);
            };
            if json {
                let line = serde_json::json!({
                    "number": cp.number, "at": cp.at().to_rfc3339(), "hash": cp.hash,
                    "prev_hash": cp.prev_hash, "chains": cp.heads.len(),
                });
                writeln!(out, "{line}")?;
            } else {
                writeln!(
                    out,
                    "checkpoint #{} sealed {} ({} chains): {}",
                    cp.number,
                    cp.at().to_rfc3339(),
                    cp.heads.len(),
                    cp.hash
                )?;
                writeln!(out, "keep this hash outside the database; `casebot audit verify --seal {}` proves the log still holds it", cp.hash)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Export { case_id } => {
            app.audit.export(case_id.map(CaseId), out).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub async fn intake(app: &App, args: IntakeArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let now = app.clock.now();
    let msg = InboundMessage {
        platform: "cli".into(),
        author_id: UserId::new(args.author_id),
        author_name: args.name,
        channel_kind: if args.public {
            ChannelKind::Public
        } else {
            ChannelKind::Dm
        },
        channel_id: args.channel,
        message_id: args
            .message_id
            .unwrap_or_else(|| format!("cli-{}", now.timestamp_nanos_opt().unwrap_or(0))),
        text: args.text,
        sent_at: now,
    };
    let handled = app.intake.take_in(&msg).await?;
    let line = serde_json::json!({ "intake": handled, "routing": handled.routed });
    writeln!(out, "{line}")?;
    Ok(ExitCode::SUCCESS)
}

pub async fn call_me(
    app: &App,
    case_id: i64,
    phone: &str,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let phone = app.callbacks.request(CaseId(case_id), phone).await?;
    writeln!(
        out,
        "callback on {phone} requested for case #{case_id}; staff have been told"
    )?;
    Ok(ExitCode::SUCCESS)
}
