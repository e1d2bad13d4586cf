//! `casebot demo`: starts the Discord sandbox and the real bot (serenity, connected to the
//! sandbox) on the configured database, then plays a scripted support scenario as customers and
//! staff would on Discord, printing who said what where. Every step states what it expects; the
//! demo exits non-zero naming the first step that did not behave.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration as StdDuration;

use anyhow::Context;
use casebot::app::App;
use casebot::domain::{Actor, CaseId, CaseState, Priority, UserId};
use casebot::render;
use casebot::render::case::queue_line;
use casebot_sandbox::{Sandbox, BOT_USER, PUBLIC_CHANNEL, QUEUE_CHANNEL};
use chrono::Utc;
use serde_json::json;

use super::sandbox_bot::{self, buttons, People};
use orders::seed_orders;

mod orders;

/// How long one step may take before it counts as failed.
const STEP: StdDuration = StdDuration::from_secs(10);

/// Plays the scenario. Order numbers carry a per-run tag, so the demo can run again on the same
/// database.
pub async fn run(app: &App, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let (sandbox, bot) = sandbox_bot::start(app).await?;
    let orders = seed_orders(app, Utc::now().timestamp_millis()).await?;
    let mut d = Demo {
        out,
        app,
        p: People::new(sandbox.clone()),
        failed: None,
    };
    writeln!(
        d.out,
        "casebot demo: the real bot against the Discord sandbox at {}, on {}\n",
        sandbox.base_url(),
        app.store.backend().as_str()
    )?;
    d.expect(0, "the bot connects to the gateway", bot.is_ready())?;
    let maya = d.p.customer("maya");
    let ivy = d.p.customer("ivy");
    let leo = d.p.customer("leo");
    let sam = d.p.customer("sam");
    let ana = d.p.staff("ana");
    let ben = d.p.staff("ben");

    d.public_mention_with_a_card_number(maya, &orders.parcel)
        .await?;
    d.tracking(maya, &orders.parcel).await?;
    d.refund_after_cancellation(ivy, &orders.ivy_ref).await?;
    d.help_article(sam).await?;
    let leo_case = d.missing_laptop(leo, &orders.laptop).await?;
    let winner = d.claim_race(leo_case, [ana, ben]).await?;
    d.staff_reply(leo_case, winner, leo).await?;
    d.internal_note(leo_case, winner, leo).await?;
    d.resolve_and_rate(leo_case, winner, leo).await?;
    bot.stop().await;
    d.finish().await
}

struct Demo<'o, 'a, W: Write> {
    out: &'o mut W,
    app: &'a App,
    p: People,
    failed: Option<u32>,
}

impl<W: Write> Demo<'_, '_, W> {
    fn sandbox(&self) -> &Sandbox {
        &self.p.sandbox
    }

    async fn wait(&self, check: impl FnMut(&Sandbox) -> bool) -> bool {
        self.sandbox().wait_for(STEP, check).await
    }

    fn expect(&mut self, step: u32, what: &str, held: bool) -> anyhow::Result<()> {
        let verdict = if held { "ok" } else { "FAILED" };
        writeln!(self.out, "  step {step}: {what}: {verdict}\n")?;
        if !held && self.failed.is_none() {
            self.failed = Some(step);
        }
        Ok(())
    }

    fn dm(&mut self, user: u64, text: &str) -> anyhow::Result<()> {
        let name = self.p.name(user);
        writeln!(self.out, "  [DM {name}] {name}: {text}")?;
        self.sandbox().dm(user, text);
        Ok(())
    }

    /// The customer's case, once intake has made it.
    async fn case_of(&self, user: u64) -> anyhow::Result<CaseId> {
        for _ in 0..400 {
            if let Some(case) = self
                .app
                .store
                .latest_case_of_user("discord", &UserId::new(user.to_string()))
                .await?
            {
                return Ok(case);
            }
            tokio::time::sleep(StdDuration::from_millis(25)).await;
        }
        anyhow::bail!("no case was opened for {}", self.p.name(user))
    }

    /// What routing decided on the case.
    async fn routing(&mut self, case: CaseId) -> anyhow::Result<()> {
        if let Some(c) = self.app.store.case(case).await? {
            let intent = c.intent.map_or_else(|| "-".into(), |i| i.to_string());
            writeln!(
                self.out,
                "    routing: case #{case}, intent {intent}, priority {}, {}",
                c.priority, c.state
            )?;
        }
        Ok(())
    }

    fn show(&mut self) -> anyhow::Result<()> {
        self.p.show(self.out)?;
        Ok(())
    }

    async fn public_mention_with_a_card_number(
        &mut self,
        maya: u64,
        parcel: &str,
    ) -> anyhow::Result<()> {
        let text = format!(
            "my order {parcel} has not come yet and I paid with my card 4111 1111 1111 1111"
        );
        writeln!(self.out, "  [#public] maya: @casebot {text}")?;
        let post = self.sandbox().mention(maya, PUBLIC_CHANNEL, &text)?;
        let handled = self
            .wait(|s| {
                let acknowledged = s
                    .messages_in(PUBLIC_CHANNEL)
                    .iter()
                    .any(|m| m.author_id == BOT_USER);
                s.message(post).is_none_or(|m| m.deleted)
                    && acknowledged
                    && !s.bot_dms(maya).is_empty()
            })
            .await;
        self.show()?;
        let case = self.case_of(maya).await?;
        let clean = self
            .app
            .store
            .messages(case)
            .await?
            .iter()
            .all(|m| !m.body.contains("4111"));
        self.expect(1, "a public post with a card number comes down, is acknowledged in public, stored without the number and continued in DM", handled && clean)
    }

    async fn tracking(&mut self, maya: u64, parcel: &str) -> anyhow::Result<()> {
        let before = self.sandbox().bot_dms(maya).len();
        self.dm(maya, &format!("Where is my order {parcel}?"))?;
        let tracked = self
            .wait(|s| {
                s.bot_dms(maya)
                    .get(before..)
                    .is_some_and(|new| new.iter().any(|m| m.content.contains("on its way")))
            })
            .await;
        self.show()?;
        let case = self.case_of(maya).await?;
        self.routing(case).await?;
        self.expect(
            2,
            "a tracking question in DM is answered from the order",
            tracked,
        )
    }

    async fn refund_after_cancellation(&mut self, ivy: u64, ivy_ref: &str) -> anyhow::Result<()> {
        self.dm(ivy, "hi")?;
        self.wait(|s| !s.bot_dms(ivy).is_empty()).await;
        self.show()?;
        let case = self.case_of(ivy).await?;
        let customer = self
            .app
            .store
            .case(case)
            .await?
            .context("the case is stored")?
            .customer_id;
        self.app
            .customers
            .link_account(customer, ivy_ref, &Actor::system("demo"))
            .await?;
        self.dm(
            ivy,
            "I cancelled my membership last month but you charged me again!",
        )?;
        let refunded = self
            .wait(|s| s.bot_dms(ivy).iter().any(|m| m.content.contains("$14.99")))
            .await;
        self.show()?;
        self.routing(case).await?;
        self.expect(
            3,
            "a charge after cancellation is refunded at first contact",
            refunded,
        )
    }

    /// A technical question gets a help article; the customer taps "That helped".
    async fn help_article(&mut self, sam: u64) -> anyhow::Result<()> {
        self.dm(sam, "my kindle won't turn on")?;
        let shown = self
            .wait(|s| {
                s.bot_dms(sam).iter().any(|m| {
                    buttons(&m.components)
                        .iter()
                        .any(|b| b.starts_with("cb:helped:"))
                })
            })
            .await;
        self.show()?;
        let case = self.case_of(sam).await?;
        self.routing(case).await?;
        let article = self.sandbox().bot_dms(sam).into_iter().find(|m| {
            buttons(&m.components)
                .iter()
                .any(|b| b.starts_with("cb:helped:"))
        });
        let mut resolved = false;
        if let Some(article) = article {
            writeln!(self.out, "  [DM sam] sam taps \"That helped\"")?;
            let click = self
                .sandbox()
                .click(sam, article.id, &format!("cb:helped:{case}"))?;
            self.wait(|s| !s.interaction_answers(click).is_empty())
                .await;
            resolved = self
                .app
                .store
                .case(case)
                .await?
                .is_some_and(|c| c.state == CaseState::Resolved);
        }
        self.show()?;
        self.expect(
            4,
            "a device that won't turn on gets a help article, and \"That helped\" resolves the case",
            shown && resolved,
        )
    }

    async fn missing_laptop(&mut self, leo: u64, laptop: &str) -> anyhow::Result<CaseId> {
        self.dm(leo, &format!("Tracking says my laptop {laptop} was delivered but it NEVER arrived. This is ridiculous!!!"))?;
        let case = self.case_of(leo).await?;
        let carded = self.wait(|s| card(s, case).is_some()).await;
        let threaded = self.wait(|s| !s.threads().is_empty()).await;
        self.show()?;
        self.routing(case).await?;
        let high = self
            .app
            .store
            .case(case)
            .await?
            .is_some_and(|c| c.state == CaseState::Escalated && c.priority == Priority::High);
        let what = "a frustrated customer with a missing $900 laptop is escalated at priority high, with a card in the staff queue and a private thread";
        self.expect(5, what, carded && threaded && high)?;
        Ok(case)
    }

    async fn claim_race(&mut self, case: CaseId, staff: [u64; 2]) -> anyhow::Result<u64> {
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

    async fn staff_reply(&mut self, case: CaseId, winner: u64, leo: u64) -> anyhow::Result<()> {
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

    async fn internal_note(&mut self, case: CaseId, winner: u64, leo: u64) -> anyhow::Result<()> {
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

    async fn resolve_and_rate(
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

    async fn finish(mut self) -> anyhow::Result<ExitCode> {
        writeln!(self.out, "\nthe queue now:")?;
        let queue = self.app.store.queue(100).await?;
        if queue.is_empty() {
            writeln!(self.out, "  (empty)")?;
        }
        for entry in &queue {
            writeln!(self.out, "  {}", queue_line(entry))?;
        }
        let checkpoint = self.app.audit.checkpoint().await?;
        let report = self
            .app
            .audit
            .verify(checkpoint.as_ref().map(|c| c.hash.as_str()))
            .await?;
        let state = if report.is_intact() {
            "intact"
        } else {
            "TAMPERED"
        };
        writeln!(
            self.out,
            "\naudit verify: {} events in {} chains, {state}",
            report.events, report.chains
        )?;
        if let Some(cp) = &checkpoint {
            writeln!(
                self.out,
                "  sealed as checkpoint #{}: {}",
                cp.number, cp.hash
            )?;
        }
        self.expect(
            10,
            "the audit log verifies against its latest seal",
            report.is_intact(),
        )?;
        Ok(match self.failed {
            None => {
                writeln!(self.out, "\ndemo passed: every step behaved as expected")?;
                ExitCode::SUCCESS
            }
            Some(step) => {
                writeln!(self.out, "\ndemo FAILED at step {step}")?;
                ExitCode::FAILURE
            }
        })
    }
}

/// The case's card in the staff queue channel.
fn card(sandbox: &Sandbox, case: CaseId) -> Option<casebot_sandbox::Message> {
    let title = format!("Case #{case}");
    sandbox.messages_in(QUEUE_CHANNEL).into_iter().find(|m| {
        m.embeds
            .iter()
            .any(|e| e["title"].as_str() == Some(title.as_str()))
    })
}
