//! `casebot demo`: starts the Discord sandbox and the real bot (serenity, connected to the sandbox)
//! on the configured database, then plays a scripted support scenario as customers and staff
//! would on Discord, printing who said what where. Every step states what it expects; the demo
//! exits non-zero naming the first step that did not behave.

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration as StdDuration;

use chrono::{Duration, Utc};

use crate::discord::{self, Services};
use crate::domain::orders::{Charge, Order, OrderStatus, Subscription};
use crate::domain::{CaseState, Priority};
use crate::render;
use crate::sandbox::{Posted, Sandbox, BOT_USER, PUBLIC_CHANNEL, QUEUE_CHANNEL, STAFF_ROLE};
use crate::services::audit;
use crate::store::Store;

/// How long one step may take before it counts as failed.
const STEP: StdDuration = StdDuration::from_secs(10);

/// Plays the scenario. Order numbers carry a per-run tag, so the demo can run again on the same
/// database.
pub async fn run(
    store: &Store,
    services: Services,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let (sandbox, bot) = discord::start_on_sandbox(services).await?;
    let tag = Utc::now().timestamp_millis();
    let orders = seed_orders(store, tag).await?;
    let mut d = Demo {
        out,
        sandbox: sandbox.clone(),
        store: store.clone(),
        names: HashMap::new(),
        shown: 0,
        failed: None,
    };
    let backend = store.backend().as_str();
    writeln!(
        d.out,
        "casebot demo: the real bot against the Discord sandbox at {}, on {backend}\n",
        sandbox.base_url()
    )?;
    let connected = wait(&sandbox, |_| bot.is_ready()).await;
    d.expect(0, "the bot connects to the gateway", connected)?;

    let maya = d.person("maya", &[]);
    let ivy = d.person("ivy", &[]);
    let leo = d.person("leo", &[]);
    let ana = d.person("ana", &[STAFF_ROLE]);
    let ben = d.person("ben", &[STAFF_ROLE]);

    // 1. A public mention that holds a card number.
    let post = d.mention(
        maya,
        &format!(
            "my order {} has not come yet and I paid with my card 4111 1111 1111 1111",
            orders.parcel
        ),
    )?;
    let handled = wait(&sandbox, |s| {
        let acknowledged = s
            .messages_in(PUBLIC_CHANNEL)
            .iter()
            .any(|m| m.author_id == BOT_USER);
        s.message(post).is_some_and(|m| m.deleted) && acknowledged && !s.bot_dms(maya).is_empty()
    })
    .await;
    d.show()?;
    let maya_case = d.case_of(maya).await?;
    let stored = store.messages(maya_case).await?;
    let clean = stored.iter().all(|m| !m.body.contains("4111"));
    d.expect(
        1,
        "a public post with a card number comes down, is acknowledged in public, stored \
         without the number and continued in DM",
        handled && clean,
    )?;

    // 2. Tracking self-service in DM.
    let before = sandbox.bot_dms(maya).len();
    d.dm(maya, &format!("Where is my order {}?", orders.parcel))?;
    let tracked = wait(&sandbox, |s| {
        let dms = s.bot_dms(maya);
        dms.len() > before
            && dms[before..]
                .iter()
                .any(|m| m.content.contains("on its way"))
    })
    .await;
    d.show()?;
    d.routing(maya_case).await?;
    d.expect(
        2,
        "a tracking question in DM is answered from the order",
        tracked,
    )?;

    // 3. A subscription charged after cancellation, refunded at first contact.
    d.dm(ivy, "hi")?;
    wait(&sandbox, |s| !s.bot_dms(ivy).is_empty()).await;
    d.show()?;
    store
        .link_customer("discord", &ivy.to_string(), &orders.ivy_ref)
        .await?;
    d.dm(
        ivy,
        "I cancelled my membership last month but you charged me again!",
    )?;
    let refunded = wait(&sandbox, |s| {
        s.bot_dms(ivy).iter().any(|m| m.content.contains("$14.99"))
    })
    .await;
    d.show()?;
    let ivy_case = d.case_of(ivy).await?;
    d.routing(ivy_case).await?;
    d.expect(
        3,
        "a charge after cancellation is refunded at first contact",
        refunded,
    )?;

    // 4. A frustrated customer with a missing $900 laptop.
    d.dm(
        leo,
        &format!(
            "Tracking says my laptop {} was delivered but it NEVER arrived. This is ridiculous!!!",
            orders.laptop
        ),
    )?;
    let leo_case = d.case_of(leo).await?;
    let carded = wait(&sandbox, |s| card(s, leo_case).is_some()).await;
    let threaded = wait(&sandbox, |s| !s.threads().is_empty()).await;
    d.show()?;
    d.routing(leo_case).await?;
    let record = store.case(leo_case).await?;
    let high =
        record.is_some_and(|c| c.state == CaseState::Escalated && c.priority == Priority::High);
    d.expect(
        4,
        "a frustrated customer with a missing $900 laptop is escalated at priority high, with \
         a card in the staff queue and a private thread",
        carded && threaded && high,
    )?;

    // 5. Two staff members click Claim at the same moment.
    let card_id = card(&sandbox, leo_case).map(|c| c.id).unwrap_or_default();
    let claim = format!("cb:claim:{leo_case}");
    writeln!(
        d.out,
        "  [#staff-queue] ana and ben click Claim at the same moment"
    )?;
    let clicks = [
        sandbox.click(ana, card_id, &claim),
        sandbox.click(ben, card_id, &claim),
    ];
    wait(&sandbox, |s| {
        clicks.iter().all(|c| !s.callbacks(*c).is_empty())
    })
    .await;
    let answers: Vec<_> = clicks.iter().map(|c| sandbox.callbacks(*c)).collect();
    for (who, answer) in ["ana", "ben"].iter().zip(&answers) {
        let shown = match answer.first() {
            Some(a) if a.kind == 7 => "the card updates: claimed".to_owned(),
            Some(a) => format!("only they see: {}", d.readable(a.content())),
            None => "no answer".to_owned(),
        };
        writeln!(d.out, "    to {who}: {shown}")?;
    }
    let winners = answers
        .iter()
        .filter(|a| a.first().is_some_and(|a| a.kind == 7))
        .count();
    let refused = answers
        .iter()
        .filter(|a| {
            a.first()
                .is_some_and(|a| a.ephemeral() && a.content().starts_with("Already claimed"))
        })
        .count();
    d.expect(
        5,
        "of two simultaneous claims exactly one wins; the other is told privately",
        winners == 1 && refused == 1,
    )?;
    let winner = if answers[0].first().is_some_and(|a| a.kind == 7) {
        ana
    } else {
        ben
    };

    // 6. A staff reply in the thread is relayed to the customer.
    let thread = store
        .case(leo_case)
        .await?
        .and_then(|c| c.thread_id)
        .and_then(|t| t.parse::<u64>().ok())
        .unwrap_or_default();
    d.names.insert(thread, format!("thread case-{leo_case}"));
    let reply = "I'm sorry, Leo. I've ordered a replacement laptop; it ships today.";
    d.say(thread, winner, reply)?;
    let relayed = wait(&sandbox, |s| {
        s.bot_dms(leo)
            .iter()
            .any(|m| m.content == render::staff_reply(reply))
    })
    .await;
    d.show()?;
    d.expect(
        6,
        "a staff reply in the case thread is relayed to the customer's DM",
        relayed,
    )?;

    // 7. An internal note is not relayed.
    d.say(
        thread,
        winner,
        "!note courier confirmed the loss; claim filed",
    )?;
    let noted = wait(&sandbox, |s| {
        s.messages_in(thread)
            .iter()
            .any(|m| m.author_id == BOT_USER && m.content.contains("Note from"))
    })
    .await;
    d.show()?;
    let private = sandbox
        .bot_dms(leo)
        .iter()
        .all(|m| !m.content.contains("courier"));
    d.expect(
        7,
        "an internal note stays in the thread and never reaches the customer",
        noted && private,
    )?;

    // 8. Resolve, and the customer rates the help.
    writeln!(d.out, "  [#staff-queue] {} clicks Resolve", d.name(winner))?;
    let resolve = sandbox.click(winner, card_id, &format!("cb:resolve:{leo_case}"));
    wait(&sandbox, |s| !s.callbacks(resolve).is_empty()).await;
    let prompted = wait(&sandbox, |s| {
        s.bot_dms(leo).iter().any(|m| m.buttons().len() == 5)
    })
    .await;
    d.show()?;
    let prompt = sandbox
        .bot_dms(leo)
        .into_iter()
        .find(|m| m.buttons().len() == 5);
    let mut rated = false;
    if let Some(prompt) = prompt {
        writeln!(d.out, "  [DM leo] leo taps 5")?;
        let click = sandbox.click(leo, prompt.id, &format!("cb:rate:{leo_case}:5"));
        wait(&sandbox, |s| !s.callbacks(click).is_empty()).await;
        rated = store.case(leo_case).await?.and_then(|c| c.rating) == Some(5);
    }
    let resolved = store
        .case(leo_case)
        .await?
        .is_some_and(|c| c.state == CaseState::Resolved);
    d.expect(
        8,
        "the case is resolved and the customer's 5/5 rating is stored",
        prompted && resolved && rated,
    )?;

    bot.stop().await;
    writeln!(d.out, "\nthe queue now:")?;
    let queue = store.queue(100).await?;
    if queue.is_empty() {
        writeln!(d.out, "  (empty)")?;
    }
    for entry in &queue {
        writeln!(d.out, "  {}", render::queue_line(entry))?;
    }
    let report = audit::verify(store).await?;
    let state = if report.is_intact() {
        "intact"
    } else {
        "TAMPERED"
    };
    writeln!(d.out, "\naudit verify: {} events, {state}", report.checked)?;
    d.expect(9, "the audit log verifies", report.is_intact())?;

    Ok(match d.failed {
        None => {
            writeln!(d.out, "\ndemo passed: every step behaved as expected")?;
            ExitCode::SUCCESS
        }
        Some(step) => {
            writeln!(d.out, "\ndemo FAILED at step {step}")?;
            ExitCode::FAILURE
        }
    })
}

async fn wait(sandbox: &Sandbox, check: impl FnMut(&Sandbox) -> bool) -> bool {
    sandbox.wait_for(STEP, check).await
}

/// The case's card in the staff queue channel.
fn card(sandbox: &Sandbox, case: i64) -> Option<Posted> {
    let title = format!("Case #{case}\"");
    sandbox
        .messages_in(QUEUE_CHANNEL)
        .into_iter()
        .find(|m| m.embeds.to_string().contains(&title))
}

/// The order numbers and customer reference the scenario talks about.
struct DemoOrders {
    parcel: String,
    laptop: String,
    ivy_ref: String,
}

/// Orders of this run in the built-in order system, numbered from the run tag.
async fn seed_orders(store: &Store, tag: i64) -> anyhow::Result<DemoOrders> {
    let now = Utc::now();
    let number = |n: i64| {
        format!(
            "{:03}-{:07}-{:07}",
            100 + n,
            tag % 10_000_000,
            (tag / 10) % 10_000_000
        )
    };
    let parcel = Order {
        number: number(1),
        customer_ref: format!("maya-{tag}"),
        status: OrderStatus::InTransit,
        total_cents: 4_999,
        carrier: Some("Parcelway".into()),
        last_scan: Some("Departed regional hub".into()),
        last_scan_at: Some(now - Duration::hours(20)),
        promised_by: Some(now + Duration::days(1)),
        estimated_by: Some(now + Duration::days(2)),
        delivered_at: None,
        delivery_photo: None,
        return_window_days: 30,
        refunded_at: None,
    };
    let laptop = Order {
        number: number(2),
        customer_ref: format!("leo-{tag}"),
        status: OrderStatus::Delivered,
        total_cents: 89_999,
        last_scan: Some("Delivered, left at front door".into()),
        last_scan_at: Some(now - Duration::hours(5)),
        delivered_at: Some(now - Duration::hours(5)),
        delivery_photo: Some(format!("pod-{}.jpg", number(2))),
        ..parcel.clone()
    };
    store.upsert_order(&parcel).await?;
    store.upsert_order(&laptop).await?;
    let ivy_ref = format!("ivy-ref-{tag}");
    let plan = Subscription {
        id: format!("plus-{tag}"),
        customer_ref: ivy_ref.clone(),
        name: "Plus membership".into(),
        cancelled_at: Some(now - Duration::days(20)),
    };
    store.upsert_subscription(&plan).await?;
    for (i, days_ago) in [(1, 45), (2, 5)] {
        store
            .upsert_charge(&Charge {
                id: format!("charge-{i}-{tag}"),
                subscription_id: plan.id.clone(),
                amount_cents: 1_499,
                charged_at: now - Duration::days(days_ago),
                refunded_at: None,
            })
            .await?;
    }
    Ok(DemoOrders {
        parcel: parcel.number,
        laptop: laptop.number,
        ivy_ref,
    })
}

struct Demo<'o, W: Write> {
    out: &'o mut W,
    sandbox: Sandbox,
    store: Store,
    /// What to call channels and people in the transcript.
    names: HashMap<u64, String>,
    /// Bot messages already printed.
    shown: usize,
    failed: Option<u32>,
}

impl<W: Write> Demo<'_, W> {
    fn person(&mut self, name: &str, roles: &[u64]) -> u64 {
        let id = self.sandbox.person(name, roles);
        self.names.insert(id, name.to_owned());
        let dm = self.sandbox.dm_channel(id);
        self.names.insert(dm, format!("DM {name}"));
        id
    }

    fn name(&self, id: u64) -> String {
        self.names
            .get(&id)
            .cloned()
            .unwrap_or_else(|| id.to_string())
    }

    fn mention(&mut self, user: u64, text: &str) -> anyhow::Result<u64> {
        writeln!(self.out, "  [#public] {}: @casebot {text}", self.name(user))?;
        Ok(self.sandbox.mention(user, text))
    }

    fn dm(&mut self, user: u64, text: &str) -> anyhow::Result<u64> {
        writeln!(
            self.out,
            "  [DM {}] {}: {text}",
            self.name(user),
            self.name(user)
        )?;
        Ok(self.sandbox.dm(user, text))
    }

    fn say(&mut self, channel: u64, user: u64, text: &str) -> anyhow::Result<u64> {
        let place = self.names.get(&channel).cloned().unwrap_or_default();
        writeln!(self.out, "  [{place}] {}: {text}", self.name(user))?;
        Ok(self.sandbox.say(channel, user, text))
    }

    /// Text with people's Discord ids (bare or as `<@id>` mentions) shown as their names.
    fn readable(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (id, name) in &self.names {
            out = out
                .replace(&format!("<@{id}>"), &format!("@{name}"))
                .replace(&id.to_string(), name);
        }
        out
    }

    /// Prints what the bot posted since the last call, and where.
    fn show(&mut self) -> anyhow::Result<()> {
        self.names.insert(PUBLIC_CHANNEL, "#public".into());
        self.names.insert(QUEUE_CHANNEL, "#staff-queue".into());
        let said = self.sandbox.everything_the_bot_said();
        for m in &said[self.shown.min(said.len())..] {
            let place = match self.names.get(&m.channel_id) {
                Some(place) => place.clone(),
                None if self.sandbox.threads().contains(&m.channel_id) => "case thread".into(),
                None => "DM".into(),
            };
            let text = if m.content.is_empty() {
                let embed = &m.embeds[0];
                let title = embed["title"].as_str().unwrap_or_default();
                let summary = embed["description"].as_str().unwrap_or_default();
                let fields: Vec<String> = embed["fields"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|f| {
                        format!(
                            "{}: {}",
                            f["name"].as_str().unwrap_or_default(),
                            f["value"].as_str().unwrap_or_default()
                        )
                    })
                    .collect();
                format!("card \"{title}\": {summary}\n      {}", fields.join(" · "))
            } else {
                m.content.clone()
            };
            let buttons = m.buttons();
            let buttons = if buttons.is_empty() {
                String::new()
            } else {
                format!("  [buttons: {}]", buttons.join(", "))
            };
            let text = self.readable(&text);
            writeln!(self.out, "  [{place}] casebot: {text}{buttons}")?;
        }
        self.shown = said.len();
        Ok(())
    }

    /// The customer's case, once intake has made it.
    async fn case_of(&self, user: u64) -> anyhow::Result<i64> {
        for _ in 0..400 {
            if let Some(case) = self
                .store
                .case_of_user("discord", &user.to_string())
                .await?
            {
                return Ok(case);
            }
            tokio::time::sleep(StdDuration::from_millis(25)).await;
        }
        anyhow::bail!("no case was opened for {}", self.name(user))
    }

    /// What routing decided on the case.
    async fn routing(&mut self, case: i64) -> anyhow::Result<()> {
        if let Some(c) = self.store.case(case).await? {
            let intent = c.intent.unwrap_or_else(|| "-".into());
            writeln!(
                self.out,
                "    routing: case #{case}, intent {intent}, priority {}, {}",
                c.priority, c.state
            )?;
        }
        Ok(())
    }

    fn expect(&mut self, step: u32, what: &str, held: bool) -> anyhow::Result<()> {
        let verdict = if held { "ok" } else { "FAILED" };
        writeln!(self.out, "  step {step}: {what}: {verdict}\n")?;
        if !held && self.failed.is_none() {
            self.failed = Some(step);
        }
        Ok(())
    }
}
