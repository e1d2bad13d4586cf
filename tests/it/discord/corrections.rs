//! Staff corrections on the case card: the "Wrong intent?" select and the "Didn't need a person"
//! button record a correction for the team only, answer privately, and refresh the card once;
//! anyone else is refused, audited, and changes nothing.

use casebot::domain::{CaseId, Intent, OutboxKind};
use casebot::store::Backend;
use casebot_sandbox::STAFF_GUILD;

use super::{buttons, text_of, Bot};
use crate::on_both_backends;

on_both_backends!(
    a_staff_member_picks_the_right_intent_on_the_card_and_the_card_shows_who_corrected_it,
    someone_without_a_staff_role_cannot_correct_from_the_card_and_is_audited,
    didnt_need_a_person_on_the_card_is_recorded_and_no_longer_offered,
);

async fn card_refreshes(bot: &Bot, case: CaseId) -> usize {
    bot.t
        .outbox(case)
        .await
        .iter()
        .filter(|e| e.kind == OutboxKind::CaseCard)
        .count()
}

async fn a_staff_member_picks_the_right_intent_on_the_card_and_the_card_shows_who_corrected_it(
    backend: Backend,
) {
    let Some(bot) = Bot::start(backend).await else {
        return;
    };
    let (_, case, card) = bot.escalated("ines").await;
    let select = format!("cb:intent:{case}");
    assert!(buttons(&card).contains(&select), "{:?}", buttons(&card));
    let routed = bot
        .t
        .case(case)
        .await
        .intent
        .expect("routing read an intent");
    let ana = bot.staff_member("ana", false);
    bot.settle().await;
    let cards_before = card_refreshes(&bot, case).await;

    let pick = bot
        .sandbox
        .select(ana, card.id, &select, &["refund"])
        .expect("the select offers every intent");
    let answer = bot.answer_to(pick).await;

    assert!(answer.ephemeral(), "{answer:?}");
    assert!(text_of(&answer).contains("is now refund"), "{answer:?}");
    assert_eq!(bot.t.case(case).await.intent, Some(Intent::Refund));
    let stored = bot.t.store().corrections(case).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].staff.as_str(), ana.to_string());
    assert!(bot
        .t
        .trail(case)
        .await
        .contains(&"intent.corrected".to_owned()));
    let shown = format!("intent {routed} → refund by <@{ana}>");
    bot.wait("the card shows the correction", |s| {
        s.message(card.id)
            .is_some_and(|m| m.embeds[0].to_string().contains(&shown))
    })
    .await;
    assert_eq!(
        card_refreshes(&bot, case).await,
        cards_before + 1,
        "one refresh per pick"
    );
    assert_eq!(bot.t.store().metrics().await.unwrap().intent_corrections, 1);
    bot.done().await;
}

async fn someone_without_a_staff_role_cannot_correct_from_the_card_and_is_audited(
    backend: Backend,
) {
    let Some(bot) = Bot::start(backend).await else {
        return;
    };
    let (_, case, card) = bot.escalated("ines").await;
    let before = bot.t.case(case).await;
    let carl = bot.sandbox.person("carl");
    bot.sandbox.join(STAFF_GUILD, carl, &[]);
    let refusals = |events: Vec<casebot::domain::audit::AuditEvent>| {
        events.iter().filter(|e| e.action == "auth.refused").count()
    };
    let refused_before = refusals(bot.t.events(case).await);

    let pick = bot
        .sandbox
        .select(carl, card.id, &format!("cb:intent:{case}"), &["refund"])
        .unwrap();
    let answers = [
        bot.answer_to(pick).await,
        bot.click(carl, card.id, &format!("cb:noperson:{case}"))
            .await,
    ];

    for answer in &answers {
        assert!(answer.ephemeral(), "{answer:?}");
        assert_eq!(text_of(answer), "Only the support team can do that.");
    }
    let after = bot.t.case(case).await;
    assert_eq!(
        (after.intent, after.version),
        (before.intent, before.version)
    );
    assert!(bot.t.store().corrections(case).await.unwrap().is_empty());
    let trail = bot.t.trail(case).await;
    assert!(!trail
        .iter()
        .any(|a| a == "intent.corrected" || a == "handover.corrected"));
    assert_eq!(
        refusals(bot.t.events(case).await) - refused_before,
        2,
        "each attempt is audited"
    );
    bot.done().await;
}

async fn didnt_need_a_person_on_the_card_is_recorded_and_no_longer_offered(backend: Backend) {
    let Some(bot) = Bot::start(backend).await else {
        return;
    };
    let (_, case, card) = bot.escalated("ines").await;
    let button = format!("cb:noperson:{case}");
    assert!(buttons(&card).contains(&button), "{:?}", buttons(&card));
    let ana = bot.staff_member("ana", false);

    let answer = bot.click(ana, card.id, &button).await;

    assert!(answer.ephemeral(), "{answer:?}");
    assert!(
        text_of(&answer).contains("didn't need a person"),
        "{answer:?}"
    );
    let stored = bot.t.store().corrections(case).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert!(bot
        .t
        .trail(case)
        .await
        .contains(&"handover.corrected".to_owned()));
    bot.wait("the card drops the button and names who said so", |s| {
        s.message(card.id).is_some_and(|m| {
            !buttons(&m).contains(&button)
                && m.embeds[0]
                    .to_string()
                    .contains(&format!("didn't need a person by <@{ana}>"))
        })
    })
    .await;
    assert_eq!(
        bot.t.store().metrics().await.unwrap().no_person_corrections,
        1
    );
    bot.done().await;
}
