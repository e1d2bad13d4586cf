//! A tiny serenity 0.12 bot against the sandbox, the way casebot connects: the proxy setting with
//! serenity's limiter off, `new_with_http`. It connects, reads what a setup check reads, answers a
//! DM, posts a card, answers a click, makes a private thread, registers commands, survives a
//! RECONNECT and shuts down cleanly. Any payload serenity cannot parse shows up as an error or a
//! missing step.

use std::sync::{Arc, Mutex};

use casebot_sandbox::*;
use serenity::all::{
    ChannelId, ChannelType, Client, ClientBuilder, ComponentInteraction, Context, CreateButton,
    CreateCommand, CreateInteractionResponse, CreateInteractionResponseMessage, CreateMessage,
    CreateThread, EventHandler, GatewayIntents, GetMessages, GuildId, HttpBuilder, Interaction,
    Message, Ready, UserId,
};

use crate::support::WAIT;

#[derive(Clone, Default)]
struct Bot {
    errors: Arc<Mutex<Vec<String>>>,
    ready: Arc<Mutex<bool>>,
}

impl Bot {
    fn fail(&self, what: &str, e: impl std::fmt::Display) {
        self.errors.lock().unwrap().push(format!("{what}: {e}"));
    }
}

/// What a setup check reads over REST; each must parse.
async fn probe(bot: &Bot, ctx: &Context) {
    let http = &ctx.http;
    let guild = GuildId::new(STAFF_GUILD);
    if let Err(e) = http.get_current_user().await {
        bot.fail("current user", e)
    }
    if let Err(e) = http.get_current_application_info().await {
        bot.fail("application", e)
    }
    if let Err(e) = http.get_guild(guild).await {
        bot.fail("guild", e)
    }
    if let Err(e) = http.get_guild_roles(guild).await {
        bot.fail("roles", e)
    }
    if let Err(e) = http.get_channels(guild).await {
        bot.fail("channels", e)
    }
    if let Err(e) = http.get_member(guild, UserId::new(BOT_USER)).await {
        bot.fail("member", e)
    }
    if let Err(e) = http.get_channel(ChannelId::new(QUEUE_CHANNEL)).await {
        bot.fail("channel", e)
    }
    if let Err(e) = ChannelId::new(QUEUE_CHANNEL)
        .messages(http, GetMessages::new().limit(10))
        .await
    {
        bot.fail("history", e)
    }
    let commands = vec![CreateCommand::new("queue").description("show the queue")];
    if let Err(e) = guild.set_commands(http, commands).await {
        bot.fail("commands", e)
    }
    let card = CreateMessage::new()
        .content("case 1")
        .button(CreateButton::new("claim:1").label("Claim"));
    if let Err(e) = ChannelId::new(QUEUE_CHANNEL).send_message(http, card).await {
        bot.fail("card", e)
    }
    let thread = CreateThread::new("case 1")
        .kind(ChannelType::PrivateThread)
        .invitable(false);
    match ChannelId::new(QUEUE_CHANNEL)
        .create_thread(http, thread)
        .await
    {
        Ok(t) => {
            if let Err(e) = t.id.say(http, "thread opened").await {
                bot.fail("thread message", e)
            }
        }
        Err(e) => bot.fail("thread", e),
    }
}

#[serenity::async_trait]
impl EventHandler for Bot {
    async fn ready(&self, ctx: Context, ready: Ready) {
        if ready.user.id.get() != BOT_USER {
            self.fail("ready", "wrong user");
        }
        probe(self, &ctx).await;
        *self.ready.lock().unwrap() = true;
    }

    async fn message(&self, ctx: Context, msg: Message) {
        if msg.author.bot || msg.guild_id.is_some() {
            return;
        }
        if let Err(e) = msg
            .channel_id
            .say(&ctx.http, format!("got it: {}", msg.content))
            .await
        {
            self.fail("dm reply", e);
        }
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        let Some(click): Option<ComponentInteraction> = interaction.message_component() else {
            return;
        };
        let answer = CreateInteractionResponseMessage::new()
            .content("claimed")
            .ephemeral(true);
        if let Err(e) = click
            .create_response(&ctx.http, CreateInteractionResponse::Message(answer))
            .await
        {
            self.fail("click answer", e);
        }
    }
}

#[tokio::test]
async fn a_serenity_bot_connects_answers_a_dm_and_a_click_and_shuts_down_cleanly() {
    let sb = Sandbox::start().await.unwrap();
    let maya = sb.person("maya");
    let ana = sb.person("ana");
    sb.join(STAFF_GUILD, ana, &[STAFF_ROLE]);
    let http = HttpBuilder::new(TOKEN)
        .proxy(sb.base_url())
        .ratelimiter_disabled(true)
        .build();
    let intents =
        GatewayIntents::GUILDS | GatewayIntents::GUILD_MESSAGES | GatewayIntents::DIRECT_MESSAGES;
    let bot = Bot::default();
    let mut client: Client = ClientBuilder::new_with_http(http, intents)
        .event_handler(bot.clone())
        .await
        .unwrap();
    let shards = client.shard_manager.clone();
    let running = tokio::spawn(async move { client.start().await });

    assert!(
        sb.wait_for(WAIT, |_| *bot.ready.lock().unwrap()).await,
        "READY reached the handler"
    );
    assert!(sb.wait_for(WAIT, |s| !s.threads().is_empty()).await);
    sb.dm(maya, "where is my parcel");
    assert!(
        sb.wait_for(WAIT, |s| s
            .bot_dms(maya)
            .iter()
            .any(|m| m.content == "got it: where is my parcel"))
            .await
    );

    let card = sb
        .messages_in(QUEUE_CHANNEL)
        .into_iter()
        .find(|m| m.content == "case 1")
        .expect("the card");
    let click = sb.click(ana, card.id, "claim:1").unwrap();
    assert!(
        sb.wait_for(WAIT, |s| !s.interaction_answers(click).is_empty())
            .await
    );
    assert!(sb.interaction_answers(click)[0].ephemeral());

    sb.send_reconnect();
    assert!(
        sb.wait_for(WAIT, |s| s.sessions().iter().any(|c| c.resumed && c.open))
            .await,
        "serenity resumed"
    );
    sb.dm(maya, "still there?");
    assert!(sb.wait_for(WAIT, |s| s.bot_dms(maya).len() == 2).await);

    shards.shutdown_all().await;
    assert!(
        sb.wait_for(WAIT, |s| s
            .sessions()
            .iter()
            .any(|c| c.client_close_code == Some(1000)))
            .await,
        "a clean close"
    );
    let _ = running.await;
    assert_eq!(*bot.errors.lock().unwrap(), Vec::<String>::new());
    assert_eq!(
        sb.unknown_requests(),
        Vec::new(),
        "serenity asked nothing the sandbox does not serve"
    );
    assert!(sb
        .registered_commands(Some(STAFF_GUILD))
        .iter()
        .any(|c| c["name"] == "queue"));
}
