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
use casebot::render::case::queue_line;
use casebot_sandbox::{Sandbox, BOT_USER, PUBLIC_CHANNEL, QUEUE_CHANNEL};
use chrono::Utc;

use super::sandbox_bot::{self, buttons, People};
use orders::seed_orders;

mod orders;
mod staff;

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
