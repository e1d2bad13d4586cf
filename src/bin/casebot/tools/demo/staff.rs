//! The staff half of the demo: two staff members race to claim the escalated case, the winner
//! answers from the case's thread, writes an internal note, and resolves; the customer rates.

use std::io::Write;

use casebot::domain::{CaseId, CaseState};
use casebot::render;
use casebot_sandbox::BOT_USER;
use serde_json::json;

use super::super::sandbox_bot::buttons;
use super::{card, Demo};

impl<W: Write> Demo<'_, '_, W> {
    pub(super) async fn claim_race(
        &mut self,
        case: CaseId,
        staff: [u64; 2],
    ) -> anyhow::Result<u64> {
        let card_id = card(self.sandbox(), case).map(|c| c.id).unwrap_or_default();
        let claim = format!("cb:claim:{case}");
        writeln!(
            self.out,
            "  [#staff-queue] ana and ben click Claim at the same moment"
        )?;
        let clicks = staff.map(|who| self.sandbox().click(who, card_id, &claim));
        let ids: Vec<u64> = clicks
            .iter()
            .filter_map(|c| c.as_ref().ok().copied())
            .collect();
        self.wait(|s| ids.iter().all(|c| !s.interaction_answers(*c).is_empty()))
            .await;
        let answers: Vec<String> = ids
            .iter()
            .map(|c| {
                self.sandbox()
                    .interaction_answers(*c)
                    .first()
                    .map(|a| a.content().to_owned())
                    .unwrap_or_default()
            })
            .collect();
        for (who, answer) in staff.iter().zip(&answers) {
            writeln!(
                self.out,
                "    only {} sees: {}",
                self.p.name(*who),
                self.p.readable(answer)
            )?;
        }
        // The store says who holds the case; the other one must have been told it was taken.
        let holder = self
            .app
            .store
            .case(case)
            .await?
            .and_then(|c| c.assignee)
            .map(|a| a.to_string());
        let won = staff.map(|who| holder.as_deref() == Some(who.to_string().as_str()));
        let winner = if won[1] { staff[1] } else { staff[0] };
        let winners = won.iter().filter(|w| **w).count();
        let refused = won
            .iter()
            .zip(&answers)
            .filter(|(w, a)| !**w && a.starts_with("Already claimed"))
            .count();
        let thread = self.thread(case).await?;
        let joined = self
            .wait(|s| s.thread_members(thread).contains(&winner))
            .await;
        self.show()?;
        self.expect(6, "of two simultaneous claims exactly one wins, the other is told privately, and the winner is added to the case's private thread", ids.len() == 2 && winners == 1 && refused == 1 && joined)?;
        Ok(winner)
    }

    async fn thread(&mut self, case: CaseId) -> anyhow::Result<u64> {
        let view = self.app.cards.view(case).await?;
        let thread = view
            .and_then(|v| v.projection.thread_id)
            .and_then(|t| t.parse().ok())
            .unwrap_or_default();
        self.p.name_thread(thread, case);
        Ok(thread)
    }

    pub(super) async fn staff_reply(
        &mut self,
        case: CaseId,
        winner: u64,
        leo: u64,
    ) -> anyhow::Result<()> {
        let thread = self.thread(case).await?;
        let reply = "I'm sorry, Leo. I've ordered a replacement laptop; it ships today.";
        writeln!(
            self.out,
            "  [thread case-{case}] {}: /reply text: {reply}",
            self.p.name(winner)
        )?;
        let command = self
            .sandbox()
            .command(winner, thread, "reply", json!({ "text": reply }))?;
        self.wait(|s| !s.interaction_answers(command).is_empty())
            .await;
        let relayed = self
            .wait(|s| {
                s.bot_dms(leo)
                    .iter()
                    .any(|m| m.content == render::staff_reply(reply))
            })
            .await;
        self.show()?;
        self.expect(
            7,
            "a staff reply from the case thread (/reply) reaches the customer's DM",
            relayed,
        )
    }

    pub(super) async fn internal_note(
        &mut self,
        case: CaseId,
        winner: u64,
        leo: u64,
    ) -> anyhow::Result<()> {
        let thread = self.thread(case).await?;
        let note = "!note courier confirmed the loss; claim filed";
        writeln!(
            self.out,
            "  [thread case-{case}] {}: @casebot {note}",
            self.p.name(winner)
        )?;
        self.sandbox().mention(winner, thread, note)?;
        let noted = self
            .wait(|s| {
                s.messages_in(thread)
                    .iter()
                    .any(|m| m.author_id == BOT_USER && m.content.contains("Note from"))
            })
            .await;
        self.show()?;
        let private = self
            .sandbox()
            .bot_dms(leo)
            .iter()
            .all(|m| !m.content.contains("courier"));
        self.expect(8, "an internal note (written mentioning the bot) stays in the thread and never reaches the customer", noted && private)
    }

    pub(super) async fn resolve_and_rate(
        &mut self,
        case: CaseId,
        winner: u64,
        leo: u64,
    ) -> anyhow::Result<()> {
        let card_id = card(self.sandbox(), case).map(|c| c.id).unwrap_or_default();
        writeln!(
            self.out,
            "  [#staff-queue] {} clicks Resolve",
            self.p.name(winner)
        )?;
        let resolve = self
            .sandbox()
            .click(winner, card_id, &format!("cb:resolve:{case}"))?;
        self.wait(|s| !s.interaction_answers(resolve).is_empty())
            .await;
        let prompted = self
            .wait(|s| {
                s.bot_dms(leo)
                    .iter()
                    .any(|m| buttons(&m.components).len() == 5)
            })
            .await;
        self.show()?;
        let prompt = self
            .sandbox()
            .bot_dms(leo)
            .into_iter()
            .find(|m| buttons(&m.components).len() == 5);
        let mut rated = false;
        if let Some(prompt) = prompt {
            writeln!(self.out, "  [DM leo] leo taps 5")?;
            let click = self
                .sandbox()
                .click(leo, prompt.id, &format!("cb:rate:{case}:5"))?;
            self.wait(|s| !s.interaction_answers(click).is_empty())
                .await;
            rated = self.app.store.case(case).await?.and_then(|c| c.rating) == Some(5);
        }
        let resolved = self
            .app
            .store
            .case(case)
            .await?
            .is_some_and(|c| c.state == CaseState::Resolved);
        self.expect(
            9,
            "the case is resolved and the customer's 5/5 rating is stored",
            prompted && resolved && rated,
        )
    }
}
