//! Self-service through Discord: a greeting answered with a question, a help article with its
//! two buttons, "That helped" resolving the case, "I still need help" handing it to the queue
//! with its card, and "Talk to a person" offered at the first request.

use casebot::domain::CaseState;
use casebot::store::Backend;
use casebot_sandbox::Message;

use super::{buttons, text_of, Bot};
use crate::on_both_backends;

on_both_backends!(
    a_greeting_in_dm_is_answered_with_a_question_about_what_they_need,
    a_kindle_that_wont_turn_on_gets_the_article_with_its_two_buttons,
    that_helped_is_recorded_and_resolves_the_case,
    i_still_need_help_hands_the_case_to_the_queue_and_its_card_appears,
    a_first_request_for_a_person_shows_talk_to_a_person_at_once,
);

/// `name` writes `text` in DM; their id and the bot's first answer.
async fn first_answer(bot: &Bot, name: &str, text: &str) -> (u64, Message) {
    let customer = bot.sandbox.person(name);
    bot.sandbox.dm(customer, text);
    bot.wait("the answer", |s| !s.bot_dms(customer).is_empty())
        .await;
    let answer = bot.sandbox.bot_dms(customer).remove(0);
    (customer, answer)
}

async fn a_greeting_in_dm_is_answered_with_a_question_about_what_they_need(backend: Backend) {
    let Some(bot) = Bot::start(backend).await else {
        return;
    };
    let (_, answer) = first_answer(&bot, "maya", "hello there").await;
    assert!(
        answer.content.contains("What can I help you with") && answer.content.contains("refund"),
        "{}",
        answer.content
    );
    assert!(!answer.content.contains("noted"), "{}", answer.content);
    bot.done().await;
}

async fn a_kindle_that_wont_turn_on_gets_the_article_with_its_two_buttons(backend: Backend) {
    let Some(bot) = Bot::start(backend).await else {
        return;
    };
    let (customer, answer) = first_answer(&bot, "sam", "my kindle won't turn on").await;
    let case = bot.case_of(customer).await;
    assert!(
        answer.content.contains("A device that won't turn on")
            && answer.content.contains("Charge it properly"),
        "{}",
        answer.content
    );
    assert!(answer.content.chars().count() <= 2_000);
    assert_eq!(
        buttons(&answer),
        [format!("cb:helped:{case}"), format!("cb:needhelp:{case}")]
    );
    bot.done().await;
}

async fn that_helped_is_recorded_and_resolves_the_case(backend: Backend) {
    let Some(bot) = Bot::start(backend).await else {
        return;
    };
    let (customer, answer) = first_answer(&bot, "sam", "my kindle won't turn on").await;
    let case = bot.case_of(customer).await;
    let thanks = bot
        .click(customer, answer.id, &format!("cb:helped:{case}"))
        .await;
    assert!(text_of(&thanks).contains("Glad that helped"), "{thanks:?}");
    assert_eq!(bot.t.case(case).await.state, CaseState::Resolved);
    let trail = bot.t.trail(case).await;
    assert!(trail.iter().any(|a| a == "help.answered"), "{trail:?}");
    bot.wait("the rating prompt", |s| {
        s.bot_dms(customer).iter().any(|m| buttons(m).len() == 5)
    })
    .await;
    bot.done().await;
}

async fn i_still_need_help_hands_the_case_to_the_queue_and_its_card_appears(backend: Backend) {
    let Some(bot) = Bot::start(backend).await else {
        return;
    };
    let (customer, answer) = first_answer(&bot, "sam", "my kindle won't turn on").await;
    let case = bot.case_of(customer).await;
    let thanks = bot
        .click(customer, answer.id, &format!("cb:needhelp:{case}"))
        .await;
    assert!(
        text_of(&thanks).contains("a member of our team will reply here"),
        "{thanks:?}"
    );
    let card = bot.card(case).await;
    assert!(
        card.embeds
            .iter()
            .any(|e| e.to_string().contains("help_article_did_not_help")),
        "{:?}",
        card.embeds
    );
    assert_eq!(bot.t.case(case).await.state, CaseState::Escalated);
    bot.done().await;
}

async fn a_first_request_for_a_person_shows_talk_to_a_person_at_once(backend: Backend) {
    let Some(bot) = Bot::start(backend).await else {
        return;
    };
    let (customer, answer) = first_answer(&bot, "ivy", "I want to speak to a human").await;
    let case = bot.case_of(customer).await;
    assert!(
        buttons(&answer).contains(&format!("cb:person:{case}")),
        "{:?}",
        buttons(&answer)
    );
    assert!(
        answer.content.contains("replies in this chat"),
        "{}",
        answer.content
    );
    assert_eq!(bot.t.case(case).await.state, CaseState::Open);
    bot.done().await;
}
