//! End to end through Discord: the real serenity client and casebot's REST client against the
//! sandbox (which behaves as Discord's documentation says Discord does), on both backends.
//! [`Bot`] is a [`TestApp`] with the sandbox and the running bot beside it, and what people do
//! there: customers DM and mention, staff click, run commands and fill in forms.

mod corrections;
mod customers;
mod help;
mod resilience;
mod setup;
mod staff;

use std::sync::Arc;
use std::time::Duration;

use casebot::discord::{self, Connection, DiscordSettings, Running};
use casebot::domain::ids::{CaseId, UserId};
use casebot::secrets::Secret;
use casebot::services::outbox::LocalBudget;
use casebot::store::Backend;
use casebot_sandbox::{
    Answer, Message, Options, Sandbox, LEAD_ROLE, QUEUE_CHANNEL, STAFF_GUILD, STAFF_ROLE,
};
use serde_json::Value;

use crate::support::app::{Setup, TestApp};

/// How long anything the bot does in answer may take before a test gives up on it.
const PATIENCE: Duration = Duration::from_secs(10);

pub struct Bot {
    pub t: TestApp,
    pub sandbox: Sandbox,
    pub settings: DiscordSettings,
    running: Option<Running>,
}

/// What a test changes about the bot and the sandbox.
#[derive(Default)]
pub struct World {
    pub setup: Setup,
    pub sandbox: Options,
    /// casebot's `discord.message_content` setting (the sandbox's intent is switched on with it).
    pub message_content: bool,
}

impl Bot {
    pub async fn start(backend: Backend) -> Option<Bot> {
        Bot::with(backend, World::default()).await
    }

    pub async fn with(backend: Backend, world: World) -> Option<Bot> {
        let mut setup = world.setup;
        setup.live_clock = true;
        setup.limits = setup
            .limits
            .or(Some(casebot::domain::policy::LimitSettings::unlimited()));
        let t = TestApp::with(backend, setup).await?;
        let mut options = world.sandbox;
        options.message_content_intent |= world.message_content;
        let sandbox = Sandbox::start_with(options)
            .await
            .expect("the sandbox starts");
        let settings = DiscordSettings {
            staff_guild: STAFF_GUILD,
            queue_channel: QUEUE_CHANNEL,
            staff_role: STAFF_ROLE,
            lead_role: LEAD_ROLE,
            note_prefix: t.app.config.discord.note_prefix.clone(),
            message_content: world.message_content,
        };
        let mut bot = Bot {
            t,
            sandbox,
            settings,
            running: None,
        };
        bot.connect().await;
        Some(bot)
    }

    pub fn connection(&self) -> Connection {
        Connection {
            token: Secret::new(casebot_sandbox::TOKEN),
            base_url: Some(self.sandbox.base_url()),
            shards: None,
        }
    }

    /// Connects the bot and waits for the gateway's READY.
    pub async fn connect(&mut self) {
        self.connect_with(self.connection()).await;
    }

    /// Connects the bot over `connection` (a shard range, say) and waits for READY.
    pub async fn connect_with(&mut self, connection: Connection) {
        let budget = Arc::new(LocalBudget(self.t.app.limits.clone()));
        let running = discord::start(&self.t.app, self.settings.clone(), connection, budget)
            .await
            .expect("the bot starts");
        assert!(
            discord::wait_until_ready(&running, PATIENCE).await,
            "the bot connected to the gateway"
        );
        self.running = Some(running);
    }

    /// Stops the bot as SIGTERM would.
    pub async fn disconnect(&mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
    }

    pub async fn done(mut self) {
        self.disconnect().await;
        self.t.assert_log_intact().await;
        self.t.cleanup().await;
    }

    /// Waits until `check` holds; fails the test, naming `what`, when it never does.
    pub async fn wait(&self, what: &str, check: impl FnMut(&Sandbox) -> bool) {
        assert!(
            self.sandbox.wait_for(PATIENCE, check).await,
            "timed out waiting until {what}"
        );
    }

    /// Waits a moment for anything still on its way, for tests that check something did not
    /// happen.
    pub async fn settle(&self) {
        let idle = self.t.app.store.clone();
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(40)).await;
            let pending = idle.outbox_backlog().await.unwrap_or(0);
            if pending == 0 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }

    /// A new person on the staff server with the staff (or lead) role.
    pub fn staff_member(&self, name: &str, lead: bool) -> u64 {
        let id = self.sandbox.person(name);
        self.sandbox.join(
            STAFF_GUILD,
            id,
            &[if lead { LEAD_ROLE } else { STAFF_ROLE }],
        );
        id
    }

    /// The customer's latest case, once intake has made it.
    pub async fn case_of(&self, user: u64) -> CaseId {
        let id = UserId::new(user.to_string());
        for _ in 0..250 {
            if let Some(case) = self
                .t
                .app
                .store
                .latest_case_of_user("discord", &id)
                .await
                .unwrap()
            {
                return case;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no case was opened for user {user}");
    }

    /// The case's card in the queue channel, once posted.
    pub async fn card(&self, case: CaseId) -> Message {
        let title = format!("Case #{case}");
        self.wait("the case's card is posted", |s| {
            card_in(s, &title).is_some()
        })
        .await;
        card_in(&self.sandbox, &title).expect("the card")
    }

    /// A customer who writes in DM and is handed to a person: their id, case and card.
    pub async fn escalated(&self, name: &str) -> (u64, CaseId, Message) {
        let customer = self.sandbox.person(name);
        self.sandbox.dm(
            customer,
            "Someone hacked my account and changed my password, I need a person now",
        );
        let case = self.case_of(customer).await;
        let card = self.card(case).await;
        (customer, case, card)
    }

    /// The case's private thread, once opened.
    pub async fn thread_of(&self, case: CaseId) -> u64 {
        for _ in 0..250 {
            let view = self.t.app.cards.view(case).await.unwrap();
            if let Some(thread) = view
                .and_then(|v| v.projection.thread_id)
                .and_then(|t| t.parse().ok())
            {
                return thread;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("case {case} got no thread");
    }

    /// `user` clicks `custom_id` on `message` and the bot answers: the answer.
    pub async fn click(&self, user: u64, message: u64, custom_id: &str) -> Answer {
        let click = self
            .sandbox
            .click(user, message, custom_id)
            .expect("the button is offered");
        self.answer_to(click).await
    }

    /// `user` runs `/name` in `channel` and the bot answers: the answer.
    pub async fn command(&self, user: u64, channel: u64, name: &str, options: Value) -> Answer {
        let run = self
            .sandbox
            .command(user, channel, name, options)
            .expect("the command is offered");
        self.answer_to(run).await
    }

    pub async fn answer_to(&self, interaction: u64) -> Answer {
        self.wait("the interaction is answered", |s| {
            !s.interaction_answers(interaction).is_empty()
        })
        .await;
        self.sandbox.interaction_answers(interaction).remove(0)
    }

    /// What the bot said to `user` in DM, oldest first.
    pub fn dms_to(&self, user: u64) -> Vec<String> {
        self.sandbox
            .bot_dms(user)
            .into_iter()
            .map(|m| m.content)
            .collect()
    }
}

/// The text of an answer (a message's content, or a modal's title).
pub fn text_of(answer: &Answer) -> String {
    answer.data["content"]
        .as_str()
        .or(answer.data["title"].as_str())
        .unwrap_or_default()
        .to_owned()
}

fn card_in(sandbox: &Sandbox, title: &str) -> Option<Message> {
    sandbox
        .messages_in(QUEUE_CHANNEL)
        .into_iter()
        .find(|m| m.embeds.iter().any(|e| e["title"].as_str() == Some(title)))
}

/// The custom ids of a message's buttons.
pub fn buttons(message: &Message) -> Vec<String> {
    message
        .components
        .iter()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .filter_map(|c| c["custom_id"].as_str().map(str::to_owned))
        .collect()
}
