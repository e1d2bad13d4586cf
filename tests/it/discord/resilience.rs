//! Discord misbehaving and casebot restarting: deliveries pending across a restart go out once,
//! DMs sent while casebot was away are read on start, 429s are waited out for as long as Discord
//! says, a RECONNECT does not spoil a clean shutdown, every message carries a nonce, and two
//! processes on separate shards share one database without doubles.

use std::time::Duration;

use casebot::domain::staff::Role;
use casebot::domain::{CaseAction, CaseState};
use casebot::store::Backend;
use casebot_sandbox::{RateLimitScope, BOT_USER, QUEUE_CHANNEL};

use super::{Bot, PATIENCE};
use crate::on_both_backends;

on_both_backends!(
    replies_queued_while_the_bot_was_down_are_delivered_once_in_order_after_a_restart,
    dms_sent_while_the_bot_was_away_are_taken_in_on_start,
    a_dm_sent_while_away_reopens_a_case_resolved_within_the_window,
    a_429_is_waited_out_for_as_long_as_discord_says_and_then_sent_once,
    server_errors_delay_a_reply_but_lose_and_double_nothing,
    after_a_gateway_reconnect_a_shutdown_still_closes_with_a_close_frame,
    every_message_the_bot_creates_carries_a_nonce_discord_enforces,
    two_processes_on_separate_shards_share_one_database_without_doubles,
);

async fn replies_queued_while_the_bot_was_down_are_delivered_once_in_order_after_a_restart(
    backend: Backend,
) {
    let Some(mut bot) = Bot::start(backend).await else {
        return;
    };
    let tom = bot.sandbox.person("tom");
    bot.sandbox.dm(tom, "hello?");
    bot.wait("the first answer", |s| s.bot_dms(tom).len() == 1)
        .await;
    bot.disconnect().await;
    let case = bot.case_of(tom).await;
    let ana = bot.t.staff("ana", Role::Lead).await;
    bot.t
        .app
        .staff
        .act(case, &ana, CaseAction::Claim { staff: ana.clone() })
        .await
        .unwrap();
    for text in ["one", "two", "three"] {
        bot.t.app.staff.reply(case, &ana, text, None).await.unwrap();
    }
    assert!(bot.t.store().outbox_backlog().await.unwrap() >= 3);
    bot.connect().await;
    bot.wait("the replies", |s| s.bot_dms(tom).len() == 4).await;
    bot.settle().await;
    let replies: Vec<String> = bot.dms_to(tom).into_iter().skip(1).collect();
    assert_eq!(
        replies,
        [
            "Support team: one",
            "Support team: two",
            "Support team: three"
        ]
    );
    bot.done().await;
}

async fn dms_sent_while_the_bot_was_away_are_taken_in_on_start(backend: Backend) {
    let Some(mut bot) = Bot::start(backend).await else {
        return;
    };
    let tom = bot.sandbox.person("tom");
    bot.sandbox.dm(tom, "my parcel is late");
    let case = bot.case_of(tom).await;
    bot.wait("the first answer", |s| !s.bot_dms(tom).is_empty())
        .await;
    bot.disconnect().await;
    bot.sandbox
        .dm_while_offline(tom, "hello? are you still there");
    bot.sandbox.dm_while_offline(tom, "it was due on monday");
    bot.connect().await;
    let bodies = wait_for_messages(&bot, case, 3).await;
    assert_eq!(
        bodies,
        [
            "my parcel is late",
            "hello? are you still there",
            "it was due on monday"
        ]
    );
    bot.done().await;
}

async fn a_dm_sent_while_away_reopens_a_case_resolved_within_the_window(backend: Backend) {
    let Some(mut bot) = Bot::start(backend).await else {
        return;
    };
    let (tom, case, card) = bot.escalated("tom").await;
    let ana = bot.staff_member("ana", false);
    bot.click(ana, card.id, &format!("cb:claim:{case}")).await;
    bot.click(ana, card.id, &format!("cb:resolve:{case}")).await;
    assert_eq!(bot.t.case(case).await.state, CaseState::Resolved);
    bot.wait("the rating prompt", |s| s.bot_dms(tom).len() >= 2)
        .await;
    bot.disconnect().await;
    bot.sandbox
        .dm_while_offline(tom, "sorry, it happened again this morning");
    bot.connect().await;
    let bodies = wait_for_messages(&bot, case, 2).await;
    assert_eq!(
        bodies.last().map(String::as_str),
        Some("sorry, it happened again this morning")
    );
    assert!(
        bot.t.case(case).await.state.is_active(),
        "the case is reopened"
    );
    bot.done().await;
}

async fn wait_for_messages(bot: &Bot, case: casebot::domain::CaseId, n: usize) -> Vec<String> {
    for _ in 0..400 {
        let stored = bot.t.store().messages(case).await.unwrap();
        let customer: Vec<String> = stored
            .into_iter()
            .filter(|m| m.author.kind() == "customer")
            .map(|m| m.body)
            .collect();
        if customer.len() >= n {
            return customer;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("case {case} never got {n} customer messages");
}

async fn a_429_is_waited_out_for_as_long_as_discord_says_and_then_sent_once(backend: Backend) {
    let Some(bot) = Bot::start(backend).await else {
        return;
    };
    let li = bot.sandbox.person("li");
    // Let the bot finish what it does on connecting first, so the one refusal lands on the reply.
    bot.settle().await;
    let retry_after = Duration::from_millis(700);
    bot.sandbox
        .rate_limit_next(1, RateLimitScope::Route, retry_after);
    bot.sandbox.dm(li, "where is my order 112-4430938-2412367?");
    bot.wait("the reply, after the 429", |s| !s.bot_dms(li).is_empty())
        .await;
    bot.settle().await;
    assert_eq!(bot.sandbox.bot_dms(li).len(), 1, "delivered once");
    let requests = bot.sandbox.requests();
    let refused: Vec<_> = requests.iter().filter(|r| r.status == 429).collect();
    assert_eq!(refused.len(), 1, "one refusal, then no more: {requests:?}");
    let retry = requests
        .iter()
        .find(|r| {
            r.instant > refused[0].instant
                && r.method == refused[0].method
                && r.path == refused[0].path
        })
        .unwrap_or_else(|| panic!("the refused request is made again: {requests:?}"));
    assert!(
        retry.instant - refused[0].instant >= retry_after,
        "waited as long as Discord said"
    );
    bot.done().await;
}

async fn server_errors_delay_a_reply_but_lose_and_double_nothing(backend: Backend) {
    let Some(bot) = Bot::start(backend).await else {
        return;
    };
    let li = bot.sandbox.person("li");
    bot.sandbox.fail_next(2, 503, 0);
    bot.sandbox.dm(li, "someone hacked my account");
    bot.wait("the reply, after the failures", |s| {
        !s.bot_dms(li).is_empty()
    })
    .await;
    let case = bot.case_of(li).await;
    bot.card(case).await;
    bot.settle().await;
    assert_eq!(bot.sandbox.bot_dms(li).len(), 1, "delivered once");
    assert_eq!(bot.t.store().outbox_backlog().await.unwrap(), 0);
    bot.done().await;
}

async fn after_a_gateway_reconnect_a_shutdown_still_closes_with_a_close_frame(backend: Backend) {
    let Some(mut bot) = Bot::start(backend).await else {
        return;
    };
    bot.sandbox.send_reconnect();
    bot.wait("the session is resumed", |s| {
        s.sessions().iter().any(|c| c.resumed && c.open)
    })
    .await;
    let li = bot.sandbox.person("li");
    bot.sandbox.dm(li, "hello after the reconnect");
    bot.wait("the bot still answers", |s| !s.bot_dms(li).is_empty())
        .await;
    bot.disconnect().await;
    let sessions = bot.sandbox.sessions();
    let last = sessions.last().expect("a connection");
    assert!(!last.open, "the connection is closed: {sessions:?}");
    assert!(
        last.client_close_frame,
        "casebot sent a close frame: {sessions:?}"
    );
    assert_eq!(last.client_close_code, Some(1000));
    bot.done().await;
}

async fn every_message_the_bot_creates_carries_a_nonce_discord_enforces(backend: Backend) {
    let Some(bot) = Bot::start(backend).await else {
        return;
    };
    let (_, case, card) = bot.escalated("tom").await;
    let ana = bot.staff_member("ana", false);
    bot.click(ana, card.id, &format!("cb:claim:{case}")).await;
    let thread = bot.thread_of(case).await;
    bot.wait("ana is in the thread", |s| {
        s.thread_members(thread).contains(&ana)
    })
    .await;
    // A reply that cannot be sent (a mention and nothing else) is answered in the thread.
    bot.sandbox.mention(ana, thread, "").unwrap();
    bot.wait("the notice", |s| {
        s.messages_in(thread)
            .iter()
            .any(|m| m.content.starts_with("Not sent"))
    })
    .await;
    bot.settle().await;
    let posted: Vec<_> = bot
        .sandbox
        .everything_the_bot_said()
        .into_iter()
        .filter(|m| m.webhook_id.is_none() && m.author_id == BOT_USER && m.kind != 21)
        .collect();
    assert!(posted.len() >= 4, "{posted:?}");
    for m in &posted {
        assert!(m.nonce.is_some(), "a message without a nonce: {m:?}");
    }
    bot.done().await;
}

async fn two_processes_on_separate_shards_share_one_database_without_doubles(backend: Backend) {
    let Some(mut bot) = Bot::start(backend).await else {
        return;
    };
    // The first process takes shard 0 of 2 (Discord sends DMs there)...
    bot.disconnect().await;
    let mut first = bot.connection();
    first.shards = Some((0..1, 2));
    bot.connect_with(first).await;
    // ...and a second process, its own wiring on the same database, shard 1.
    let second = casebot::app::App::on_store(
        (*bot.t.app.config).clone(),
        bot.t.db.store().await,
        casebot::app::Ports {
            limits: Some(casebot::domain::policy::LimitSettings::unlimited()),
            ..Default::default()
        },
    )
    .unwrap();
    let mut shard = bot.connection();
    shard.shards = Some((1..2, 2));
    let budget = std::sync::Arc::new(casebot::services::outbox::LocalBudget(
        second.limits.clone(),
    ));
    let other = casebot::discord::start(&second, bot.settings.clone(), shard, budget)
        .await
        .unwrap();
    assert!(casebot::discord::wait_until_ready(&other, PATIENCE).await);
    let customers: Vec<u64> = (0..6)
        .map(|i| bot.sandbox.person(&format!("c{i}")))
        .collect();
    for c in &customers {
        bot.sandbox.dm(*c, "someone hacked my account");
    }
    bot.wait("every customer answered", |s| {
        customers.iter().all(|c| !s.bot_dms(*c).is_empty())
    })
    .await;
    bot.wait("one card per case", |s| {
        s.messages_in(QUEUE_CHANNEL).len() >= 6
    })
    .await;
    bot.settle().await;
    for c in &customers {
        assert_eq!(
            bot.sandbox.bot_dms(*c).len(),
            1,
            "answered once, not once per process"
        );
    }
    let cards = bot
        .sandbox
        .messages_in(QUEUE_CHANNEL)
        .into_iter()
        .filter(|m| !m.embeds.is_empty())
        .count();
    assert_eq!(cards, 6);
    let counts = bot.t.store().counts().await.unwrap();
    assert_eq!((counts.cases, counts.messages), (6, 6));
    other.stop().await;
    bot.done().await;
}
