//! The Discord sandbox with the real bot connected to it, in one process, for the demo and the
//! console: people to act as, what they do, and a transcript of what the bot said and where.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use casebot::app::App;
use casebot::discord::{self, Connection, DiscordSettings, Running};
use casebot::domain::CaseId;
use casebot::secrets::Secret;
use casebot::services::outbox::LocalBudget;
use casebot_sandbox::{
    Sandbox, BOT_USER, LEAD_ROLE, PUBLIC_CHANNEL, QUEUE_CHANNEL, STAFF_GUILD, STAFF_ROLE,
};

/// The staff server of the built-in sandbox, with the configured note prefix.
pub fn sandbox_settings(app: &App) -> DiscordSettings {
    DiscordSettings {
        staff_guild: STAFF_GUILD,
        queue_channel: QUEUE_CHANNEL,
        staff_role: STAFF_ROLE,
        lead_role: LEAD_ROLE,
        note_prefix: app.config.discord.note_prefix.clone(),
        message_content: false,
    }
}

/// The sandbox's address as casebot's connection to it.
pub fn sandbox_connection(sandbox: &Sandbox) -> Connection {
    Connection {
        token: Secret::new(casebot_sandbox::TOKEN),
        base_url: Some(sandbox.base_url()),
        shards: None,
    }
}

/// Starts the sandbox and the bot connected to it; returns once the bot's gateway is ready.
pub async fn start(app: &App) -> anyhow::Result<(Sandbox, Running)> {
    let sandbox = Sandbox::start()
        .await
        .context("cannot start the Discord sandbox")?;
    let budget = Arc::new(LocalBudget(app.limits.clone()));
    let bot = discord::start(
        app,
        sandbox_settings(app),
        sandbox_connection(&sandbox),
        budget,
    )
    .await?;
    // Events sent before the gateway is up would reach nobody: wait for READY.
    if !discord::wait_until_ready(&bot, Duration::from_secs(10)).await {
        bot.stop().await;
        anyhow::bail!("the bot did not connect to the sandbox's gateway within 10 seconds");
    }
    Ok((sandbox, bot))
}

/// People in the sandbox, by the names a transcript uses, and what has been shown of the bot.
pub struct People {
    pub sandbox: Sandbox,
    names: HashMap<u64, String>,
    shown: usize,
}

impl People {
    pub fn new(sandbox: Sandbox) -> People {
        let mut names = HashMap::new();
        names.insert(PUBLIC_CHANNEL, "#public".to_owned());
        names.insert(QUEUE_CHANNEL, "#staff-queue".to_owned());
        names.insert(BOT_USER, "casebot".to_owned());
        People {
            sandbox,
            names,
            shown: 0,
        }
    }

    /// A customer: a member of the public server, with a DM channel to the bot.
    pub fn customer(&mut self, name: &str) -> u64 {
        let id = self.sandbox.person(name);
        self.names.insert(id, name.to_owned());
        let dm = self.sandbox.dm_channel(id);
        self.names.insert(dm, format!("DM {name}"));
        id
    }

    /// A staff member: also in the staff server with the staff role.
    pub fn staff(&mut self, name: &str) -> u64 {
        let id = self.customer(name);
        self.sandbox.join(STAFF_GUILD, id, &[STAFF_ROLE]);
        id
    }

    pub fn name(&self, id: u64) -> String {
        self.names
            .get(&id)
            .cloned()
            .unwrap_or_else(|| id.to_string())
    }

    pub fn name_thread(&mut self, thread: u64, case: CaseId) {
        self.names.insert(thread, format!("thread case-{case}"));
    }

    /// Text with people's Discord ids (bare or as `<@id>` mentions) shown as their names.
    pub fn readable(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (id, name) in &self.names {
            out = out
                .replace(&format!("<@{id}>"), &format!("@{name}"))
                .replace(&id.to_string(), name);
        }
        out
    }

    /// Prints what the bot posted since the last call, and where.
    pub fn show(&mut self, out: &mut impl Write) -> std::io::Result<()> {
        let said = self.sandbox.everything_the_bot_said();
        let threads: Vec<u64> = self.sandbox.threads().iter().map(|t| t.id).collect();
        // Private answers are shown where they were asked for, to the one who sees them.
        for m in said[self.shown.min(said.len())..]
            .iter()
            .filter(|m| !m.ephemeral())
        {
            let place = match self.names.get(&m.channel_id) {
                Some(place) => place.clone(),
                None if threads.contains(&m.channel_id) => "case thread".into(),
                None => "DM".into(),
            };
            let text = if m.content.is_empty() && !m.embeds.is_empty() {
                card_text(&m.embeds[0])
            } else {
                m.content.clone()
            };
            let buttons = buttons(&m.components);
            let buttons = if buttons.is_empty() {
                String::new()
            } else {
                format!("  [buttons: {}]", buttons.join(", "))
            };
            writeln!(
                out,
                "  [{place}] casebot: {}{buttons}",
                self.readable(&text)
            )?;
        }
        self.shown = said.len();
        Ok(())
    }
}

/// A card as one readable line: its title, summary and fields.
fn card_text(embed: &serde_json::Value) -> String {
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
}

/// The custom ids of a message's buttons.
pub fn buttons(components: &[serde_json::Value]) -> Vec<String> {
    components
        .iter()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .filter_map(|c| c["custom_id"].as_str().map(str::to_owned))
        .collect()
}
