//! `casebot demo`: a scripted support conversation played through the real services on the
//! configured database, printed as a transcript. Every step states what it expects; the demo exits
//! non-zero naming the first step that did not behave.

use std::io::Write;
use std::process::ExitCode;

use chrono::Utc;

use crate::domain::{CaseAction, CaseState, ChannelKind, InboundMessage, Priority};
use crate::services::{audit, Actor, CaseService, Disposition, IntakeOutcome, IntakeService};
use crate::store::Store;

/// Plays the scenario. Ids carry a per-run tag, so the demo can run again on the same database.
pub async fn run(
    store: &Store,
    intake: IntakeService,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let cases = CaseService::new(store.clone());
    let tag = Utc::now().timestamp_millis();
    let mut script = Script {
        out,
        tag,
        intake,
        failed: None,
    };
    writeln!(
        script.out,
        "casebot demo on {} (run {tag})\n",
        store.backend().as_str()
    )?;

    let question = "Where is my order 112-4430938-2412367?";
    let first = script
        .customer("maya", "Maya", ChannelKind::Dm, "m1", question)
        .await?;
    script.expect(
        1,
        "a first DM opens a case",
        first.disposition == Disposition::New,
    )?;

    // Discord redelivers the same message, as a gateway replay would.
    let replay = script
        .customer("maya", "Maya", ChannelKind::Dm, "m1", question)
        .await?;
    let same = replay.is_duplicate() && replay.case_id == first.case_id;
    script.expect(
        2,
        "a redelivered message is recognised and changes nothing",
        same,
    )?;

    let card = script
        .customer(
            "maya",
            "Maya",
            ChannelKind::Dm,
            "m2",
            "It was paid with 4111 1111 1111 1111",
        )
        .await?;
    let stored = store.messages(first.case_id).await?;
    let hidden = card.cards_removed == 1 && stored.iter().all(|m| !m.body.contains("4111"));
    script.expect(3, "a card number is removed before it is stored", hidden)?;
    let joined = card.disposition == Disposition::Existing && card.case_id == first.case_id;
    script.expect(4, "a second message joins the open case", joined)?;

    let public = script
        .customer(
            "leo",
            "Leo",
            ChannelKind::Public,
            "l1",
            "@casebot my refund never arrived",
        )
        .await?;
    let own_case = public.disposition == Disposition::New && public.case_id != first.case_id;
    script.expect(
        5,
        "a public mention from another customer opens their own case",
        own_case,
    )?;

    let staff = Actor::staff("ana");
    let escalate = CaseAction::Escalate {
        priority: Priority::High,
        reason: "refund missing".into(),
    };
    cases
        .apply(public.case_id, &Actor::system(), escalate)
        .await?;
    let claim = cases
        .apply(
            public.case_id,
            &staff,
            CaseAction::Claim {
                staff: "ana".into(),
            },
        )
        .await?;
    let rival = cases
        .apply(
            public.case_id,
            &Actor::staff("ben"),
            CaseAction::Claim {
                staff: "ben".into(),
            },
        )
        .await;
    writeln!(
        script.out,
        "  staff ana claims case #{}; ben tries too: {}",
        public.case_id,
        rival
            .as_ref()
            .map_or_else(|e| e.to_string(), |_| "claimed".into())
    )?;
    script.expect(
        6,
        "a claimed case cannot be claimed by someone else",
        claim == CaseState::Claimed && rival.is_err(),
    )?;

    let resolve = CaseAction::Resolve {
        summary: "refund re-issued".into(),
    };
    cases.apply(public.case_id, &staff, resolve).await?;
    let back = script
        .customer(
            "leo",
            "Leo",
            ChannelKind::Dm,
            "l2",
            "thanks, it just arrived!",
        )
        .await?;
    let reopened = back.disposition == Disposition::Reopened && back.case_id == public.case_id;
    script.expect(
        7,
        "a message soon after resolution reopens the case",
        reopened,
    )?;

    let report = audit::verify(store).await?;
    writeln!(
        script.out,
        "\naudit verify: {} events, {}",
        report.checked,
        if report.is_intact() {
            "intact"
        } else {
            "TAMPERED"
        }
    )?;
    script.expect(8, "the audit log verifies", report.is_intact())?;

    Ok(match script.failed {
        None => {
            writeln!(script.out, "\ndemo passed: every step behaved as expected")?;
            ExitCode::SUCCESS
        }
        Some(step) => {
            writeln!(script.out, "\ndemo FAILED at step {step}")?;
            ExitCode::FAILURE
        }
    })
}

struct Script<'o, W: Write> {
    out: &'o mut W,
    tag: i64,
    intake: IntakeService,
    failed: Option<u32>,
}

impl<W: Write> Script<'_, W> {
    async fn customer(
        &mut self,
        who: &str,
        name: &str,
        channel: ChannelKind,
        message: &str,
        text: &str,
    ) -> anyhow::Result<IntakeOutcome> {
        let msg = InboundMessage {
            platform: "demo".into(),
            author_id: format!("{who}-{}", self.tag),
            author_name: name.into(),
            channel_kind: channel,
            channel_id: format!("{}-{}", channel.as_str(), self.tag),
            message_id: format!("{message}-{}", self.tag),
            text: text.into(),
            sent_at: Utc::now(),
        };
        let outcome = self.intake.receive(&msg).await?;
        writeln!(
            self.out,
            "  {name} ({}): {text:?}\n    -> case #{} {:?}",
            channel.as_str(),
            outcome.case_id,
            outcome.disposition
        )?;
        Ok(outcome)
    }

    fn expect(&mut self, step: u32, what: &str, held: bool) -> anyhow::Result<()> {
        writeln!(
            self.out,
            "  step {step}: {what}: {}",
            if held { "ok" } else { "FAILED" }
        )?;
        if !held && self.failed.is_none() {
            self.failed = Some(step);
        }
        Ok(())
    }
}
