//! What staff do on Discord without the message-content intent (and with it): cards and private
//! threads, claim races, replies by command, button and form, and mention, notes that never reach
//! a customer, who is in a case's thread, and commands a staff role can see.

use casebot::store::Backend;
use casebot_sandbox::STAFF_GUILD;
use serde_json::json;

use super::{buttons, text_of, Bot, World};
use crate::on_both_backends;

on_both_backends!(
    an_escalation_posts_a_card_and_opens_a_private_thread_only_staff_in_it_can_see,
    of_two_staff_clicking_claim_at_once_one_wins_and_the_other_is_told_privately,
    the_claimer_is_added_to_the_thread_and_leaves_it_on_release_and_transfer,
    looking_a_case_up_adds_the_staff_member_to_its_thread,
    a_reply_by_command_by_button_and_form_and_by_mention_reaches_the_customer,
    without_the_content_intent_a_plain_thread_message_is_left_alone,
    with_the_content_intent_a_plain_thread_message_is_a_reply,
    a_note_never_reaches_the_customer_on_any_path,
    the_commands_are_registered_for_the_staff_role_to_see,
    staff_commands_and_buttons_are_refused_and_audited_where_they_do_not_belong,
    a_deleted_card_or_thread_is_put_back,
);

/// A claimed case in its thread: the customer, the case, the claimer and the thread.
async fn claimed(
    bot: &Bot,
    customer: &str,
    staff: &str,
) -> (u64, casebot::domain::CaseId, u64, u64) {
    let (customer, case, card) = bot.escalated(customer).await;
    let ana = bot.staff_member(staff, false);
    bot.click(ana, card.id, &format!("cb:claim:{case}")).await;
    let thread = bot.thread_of(case).await;
    bot.wait("the claimer is in the thread", |s| {
        s.thread_members(thread).contains(&ana)
    })
    .await;
    (customer, case, ana, thread)
}

async fn an_escalation_posts_a_card_and_opens_a_private_thread_only_staff_in_it_can_see(
    backend: Backend,
) {
    let Some(bot) = Bot::start(backend).await else {
        return;
    };
    let (_, case, card) = bot.escalated("ines").await;
    assert_eq!(
        buttons(&card),
        ["claim", "reply", "release", "resolve", "noperson", "intent"]
            .map(|verb| format!("cb:{verb}:{case}"))
    );
    let embed = card.embeds[0].to_string();
    assert!(embed.contains("account_security"), "{embed}");
    let thread = bot.thread_of(case).await;
    bot.wait("the customer's message is mirrored", |s| {
        s.messages_in(thread)
            .iter()
            .any(|m| m.content.contains("hacked my account"))
    })
    .await;
    let ben = bot.staff_member("ben", false);
    assert!(
        !bot.sandbox.can_see(ben, thread),
        "a private thread shows only to its members"
    );
    bot.done().await;
}

async fn of_two_staff_clicking_claim_at_once_one_wins_and_the_other_is_told_privately(
    backend: Backend,
) {
    let Some(bot) = Bot::start(backend).await else {
        return;
    };
    let (_, case, card) = bot.escalated("tom").await;
    let ana = bot.staff_member("ana", false);
    let ben = bot.staff_member("ben", false);
    let claim = format!("cb:claim:{case}");
    let clicks = [
        bot.sandbox.click(ana, card.id, &claim).unwrap(),
        bot.sandbox.click(ben, card.id, &claim).unwrap(),
    ];
    let answers = [
        bot.answer_to(clicks[0]).await,
        bot.answer_to(clicks[1]).await,
    ];
    assert!(answers.iter().all(|a| a.ephemeral()), "{answers:?}");
    let winner = bot
        .t
        .case(case)
        .await
        .assignee
        .expect("claimed")
        .to_string();
    let refused: Vec<String> = answers
        .iter()
        .map(text_of)
        .filter(|t| t.starts_with("Already claimed"))
        .collect();
    assert_eq!(refused, [format!("Already claimed by <@{winner}>.")]);
    let thread = bot.thread_of(case).await;
    let winner: u64 = winner.parse().unwrap();
    bot.wait("the winner is in the thread", |s| {
        s.thread_members(thread).contains(&winner)
    })
    .await;
    bot.wait("the card names the claimer", |s| {
        s.message(card.id)
            .is_some_and(|m| m.embeds[0].to_string().contains(&format!("<@{winner}>")))
    })
    .await;
    bot.done().await;
}

async fn the_claimer_is_added_to_the_thread_and_leaves_it_on_release_and_transfer(
    backend: Backend,
) {
    let Some(bot) = Bot::start(backend).await else {
        return;
    };
    let (_, case, ana, thread) = claimed(&bot, "tom", "ana").await;
    assert!(bot.sandbox.can_see(ana, thread));
    let ben = bot.staff_member("ben", false);
    let moved = bot
        .command(ana, thread, "transfer", json!({ "to": ben.to_string() }))
        .await;
    assert!(
        text_of(&moved).contains(&format!("<@{ben}>")),
        "{}",
        text_of(&moved)
    );
    bot.wait("ben is in and ana is out", |s| {
        let members = s.thread_members(thread);
        members.contains(&ben) && !members.contains(&ana)
    })
    .await;
    let card = bot.card(case).await;
    bot.wait("the card says who is in the thread", |s| {
        s.message(card.id).is_some_and(|m| {
            let embed = m.embeds[0].to_string();
            embed.contains("In the thread") && embed.contains(&format!("<@{ben}>"))
        })
    })
    .await;
    bot.command(ben, thread, "release", json!({})).await;
    bot.wait("ben leaves on release", |s| {
        !s.thread_members(thread).contains(&ben)
    })
    .await;
    assert!(bot.t.case(case).await.assignee.is_none());
    bot.done().await;
}

async fn looking_a_case_up_adds_the_staff_member_to_its_thread(backend: Backend) {
    let Some(bot) = Bot::start(backend).await else {
        return;
    };
    let (_, case, _, thread) = claimed(&bot, "tom", "ana").await;
    let lead = bot.staff_member("lea", true);
    let shown = bot
        .command(
            lead,
            casebot_sandbox::QUEUE_CHANNEL,
            "case",
            json!({ "case": case.get() }),
        )
        .await;
    assert!(shown.ephemeral());
    assert!(
        text_of(&shown).contains(&format!("#{case}")),
        "{}",
        text_of(&shown)
    );
    bot.wait("the lead is in the thread", |s| {
        s.thread_members(thread).contains(&lead)
    })
    .await;
    bot.done().await;
}

async fn a_reply_by_command_by_button_and_form_and_by_mention_reaches_the_customer(
    backend: Backend,
) {
    let Some(bot) = Bot::start(backend).await else {
        return;
    };
    let (tom, case, ana, thread) = claimed(&bot, "tom", "ana").await;

    let sent = bot
        .command(ana, thread, "reply", json!({ "text": "One: by command." }))
        .await;
    assert!(sent.ephemeral());
    bot.wait("the command's reply", |s| {
        s.bot_dms(tom)
            .iter()
            .any(|m| m.content.ends_with("One: by command."))
    })
    .await;

    let intro = bot
        .sandbox
        .messages_in(thread)
        .into_iter()
        .find(|m| !buttons(m).is_empty())
        .expect("the thread's intro");
    let form = bot.click(ana, intro.id, &format!("cb:reply:{case}")).await;
    assert_eq!(
        form.callback_type(),
        Some(9),
        "the Reply button opens a form"
    );
    let submitted = bot
        .sandbox
        .submit_modal(
            ana,
            thread,
            &format!("cb:replyform:{case}"),
            &[("text", "Two: by form.")],
        )
        .unwrap();
    bot.answer_to(submitted).await;
    bot.wait("the form's reply", |s| {
        s.bot_dms(tom)
            .iter()
            .any(|m| m.content.ends_with("Two: by form."))
    })
    .await;

    bot.sandbox
        .mention(ana, thread, "Three: by mention.")
        .unwrap();
    bot.wait("the mention's reply", |s| {
        s.bot_dms(tom)
            .iter()
            .any(|m| m.content.ends_with("Three: by mention."))
    })
    .await;

    let replies: Vec<String> = bot
        .dms_to(tom)
        .into_iter()
        .filter(|t| t.starts_with("Support team:"))
        .collect();
    assert_eq!(
        replies,
        [
            "Support team: One: by command.",
            "Support team: Two: by form.",
            "Support team: Three: by mention."
        ]
    );
    assert!(
        replies.iter().all(|r| !r.contains("<@")),
        "the mention is taken out"
    );
    bot.done().await;
}

async fn without_the_content_intent_a_plain_thread_message_is_left_alone(backend: Backend) {
    let Some(bot) = Bot::start(backend).await else {
        return;
    };
    let (tom, case, ana, thread) = claimed(&bot, "tom", "ana").await;
    let before = bot.sandbox.messages_in(thread).len();
    bot.sandbox
        .post(ana, thread, "talking to my colleague here")
        .unwrap();
    bot.settle().await;
    assert!(
        bot.dms_to(tom)
            .iter()
            .all(|m| !m.starts_with("Support team:")),
        "nothing relayed"
    );
    let notices: Vec<String> = bot
        .sandbox
        .messages_in(thread)
        .into_iter()
        .skip(before)
        .map(|m| m.content)
        .collect();
    assert!(
        notices.iter().all(|n| !n.starts_with("Not sent")),
        "no complaint about empty text: {notices:?}"
    );
    assert!(bot
        .t
        .store()
        .messages(case)
        .await
        .unwrap()
        .iter()
        .all(|m| m.body != "talking to my colleague here"));
    bot.done().await;
}

async fn with_the_content_intent_a_plain_thread_message_is_a_reply(backend: Backend) {
    let world = World {
        message_content: true,
        ..World::default()
    };
    let Some(bot) = Bot::with(backend, world).await else {
        return;
    };
    let (tom, _, ana, thread) = claimed(&bot, "tom", "ana").await;
    bot.sandbox
        .post(ana, thread, "Hi Tom, I've refunded the second charge.")
        .unwrap();
    bot.wait("the relayed reply", |s| {
        s.bot_dms(tom)
            .iter()
            .any(|m| m.content == "Support team: Hi Tom, I've refunded the second charge.")
    })
    .await;
    bot.done().await;
}

async fn a_note_never_reaches_the_customer_on_any_path(backend: Backend) {
    for message_content in [false, true] {
        let world = World {
            message_content,
            ..World::default()
        };
        let Some(bot) = Bot::with(backend, world).await else {
            return;
        };
        let (tom, case, ana, thread) = claimed(&bot, "tom", "ana").await;
        bot.command(
            ana,
            thread,
            "note",
            json!({ "text": "secret one: charged twice" }),
        )
        .await;
        bot.sandbox
            .mention(ana, thread, "!note secret two: called the courier")
            .unwrap();
        if message_content {
            bot.sandbox
                .post(ana, thread, "!note secret three: refund pending")
                .unwrap();
        }
        let expected = if message_content { 3 } else { 2 };
        for _ in 0..250 {
            if bot.t.store().notes(case).await.unwrap().len() == expected {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let notes: Vec<String> = bot
            .t
            .store()
            .notes(case)
            .await
            .unwrap()
            .into_iter()
            .map(|n| n.body)
            .collect();
        assert_eq!(notes.len(), expected, "{notes:?}");
        assert!(
            notes
                .iter()
                .all(|n| !n.contains("<@") && !n.starts_with("!note")),
            "{notes:?}"
        );
        bot.settle().await;
        assert!(
            bot.dms_to(tom).iter().all(|m| !m.contains("secret")),
            "{:?}",
            bot.dms_to(tom)
        );
        let staff_messages = bot.t.store().messages(case).await.unwrap();
        assert!(
            staff_messages.iter().all(|m| !m.body.contains("secret")),
            "a note is not stored as a reply"
        );
        bot.done().await;
    }
}

async fn the_commands_are_registered_for_the_staff_role_to_see(backend: Backend) {
    let Some(bot) = Bot::start(backend).await else {
        return;
    };
    bot.wait("the commands are registered", |s| {
        !s.registered_commands(Some(STAFF_GUILD)).is_empty()
    })
    .await;
    let commands = bot.sandbox.registered_commands(Some(STAFF_GUILD));
    let names: Vec<&str> = commands.iter().filter_map(|c| c["name"].as_str()).collect();
    for wanted in [
        "queue", "claim", "release", "transfer", "resolve", "reply", "note", "case", "block",
        "unblock",
    ] {
        assert!(names.contains(&wanted), "{wanted} in {names:?}");
    }
    for c in &commands {
        assert!(
            c["default_member_permissions"].is_null(),
            "no permission a bare staff role lacks: {c}"
        );
    }
    // A member holding only the staff role, with no permissions of its own, can run them.
    let (_, case, _) = bot.escalated("tom").await;
    let sam = bot.staff_member("sam", false);
    let claimed = bot
        .command(
            sam,
            casebot_sandbox::QUEUE_CHANNEL,
            "claim",
            json!({ "case": case.get() }),
        )
        .await;
    assert!(
        text_of(&claimed).contains(&format!("You claimed case #{case}")),
        "{}",
        text_of(&claimed)
    );
    bot.done().await;
}

async fn staff_commands_and_buttons_are_refused_and_audited_where_they_do_not_belong(
    backend: Backend,
) {
    let Some(bot) = Bot::start(backend).await else {
        return;
    };
    let (_, case, card) = bot.escalated("ines").await;
    let ana = bot.staff_member("ana", false);
    bot.click(ana, card.id, &format!("cb:claim:{case}")).await;
    let refusals = |events: Vec<casebot::domain::audit::AuditEvent>| {
        events.iter().filter(|e| e.action == "auth.refused").count()
    };
    let before = refusals(bot.t.events(case).await);

    // Someone in the staff server without the staff role, and another staff member acting on
    // ana's claim.
    let carl = bot.sandbox.person("carl");
    bot.sandbox.join(STAFF_GUILD, carl, &[]);
    let ben = bot.staff_member("ben", false);
    let mut answers = Vec::new();
    for verb in ["claim", "release", "resolve"] {
        answers.push(bot.click(carl, card.id, &format!("cb:{verb}:{case}")).await);
    }
    for (name, options) in [
        ("release", json!({ "case": case.get() })),
        ("resolve", json!({ "case": case.get(), "summary": "done" })),
        ("note", json!({ "case": case.get(), "text": "hi" })),
        ("reply", json!({ "case": case.get(), "text": "hi" })),
    ] {
        answers.push(
            bot.command(carl, casebot_sandbox::QUEUE_CHANNEL, name, options)
                .await,
        );
    }
    for verb in ["release", "resolve"] {
        answers.push(bot.click(ben, card.id, &format!("cb:{verb}:{case}")).await);
    }
    assert!(
        answers.iter().all(|a| a.ephemeral()),
        "every refusal is private"
    );
    let case_now = bot.t.case(case).await;
    assert_eq!(
        case_now.assignee.map(|a| a.to_string()),
        Some(ana.to_string())
    );
    assert!(bot.t.store().notes(case).await.unwrap().is_empty());
    assert_eq!(
        refusals(bot.t.events(case).await) - before,
        answers.len(),
        "each attempt is audited"
    );
    bot.done().await;
}

async fn a_deleted_card_or_thread_is_put_back(backend: Backend) {
    let Some(bot) = Bot::start(backend).await else {
        return;
    };
    let (_, case, card) = bot.escalated("ines").await;
    let thread = bot.thread_of(case).await;
    bot.sandbox.delete_message(card.id);
    bot.wait("a new card", |s| {
        s.messages_in(casebot_sandbox::QUEUE_CHANNEL)
            .iter()
            .any(|m| {
                m.id != card.id
                    && m.embeds
                        .iter()
                        .any(|e| e["title"] == json!(format!("Case #{case}")))
            })
    })
    .await;
    bot.sandbox.delete_channel(thread);
    let mut replaced = None;
    for _ in 0..400 {
        let now = bot
            .t
            .view(case)
            .await
            .projection
            .thread_id
            .and_then(|t| t.parse::<u64>().ok());
        if let Some(t) = now.filter(|t| *t != thread) {
            replaced = Some(t);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let replaced = replaced.expect("a new thread");
    assert!(bot.sandbox.threads().iter().any(|t| t.id == replaced));
    bot.done().await;
}
