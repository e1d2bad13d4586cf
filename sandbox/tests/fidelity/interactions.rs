//! interactions/receiving-and-responding.mdx: callbacks once and within 3 seconds, which
//! callback types each interaction takes, follow-ups through the webhook for 15 minutes,
//! UPDATE_MESSAGE editing the clicked message, modals shown before they are submitted.

use std::time::Duration;

use casebot_sandbox::*;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::*;

async fn card(sb: &Sandbox, channel: u64) -> u64 {
    let body = json!({ "content": "case 1", "components": [{ "type": 1, "components": [
        { "type": 2, "style": 1, "label": "Claim", "custom_id": "claim:1" },
        { "type": 2, "style": 5, "label": "Docs", "url": "https://example.com" } ] },
        { "type": 1, "components": [{ "type": 3, "custom_id": "priority:1", "options": [
            { "label": "High", "value": "high" }, { "label": "Low", "value": "low" } ] }] }] });
    let r = post(sb, &format!("/channels/{channel}/messages"), body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.id()
}

async fn staff(sb: &Sandbox, name: &str) -> u64 {
    let id = sb.person(name);
    sb.join(STAFF_GUILD, id, &[STAFF_ROLE]);
    id
}

fn token_of(ix: &Value) -> String {
    ix["token"].as_str().unwrap().to_owned()
}

async fn answer(sb: &Sandbox, ix: &Value, body: Value) -> Reply {
    let path = format!(
        "/interactions/{}/{}/callback",
        ix["id"].as_str().unwrap(),
        token_of(ix)
    );
    call(sb, Method::POST, &path, Some(body), None).await
}

#[tokio::test]
async fn a_click_sends_interaction_create_with_member_message_and_the_documented_fields() {
    let sb = sandbox().await;
    let ana = staff(&sb, "ana").await;
    let message = card(&sb, QUEUE_CHANNEL).await;
    let (mut g, _) = Gateway::identify(&sb, BASIC).await;
    let id = sb.click(ana, message, "claim:1").unwrap();
    let ix = g.event("INTERACTION_CREATE").await;
    assert_eq!(sf(&ix["id"]), id);
    assert_eq!(ix["type"], 3);
    assert_eq!(ix["version"], 1);
    assert_eq!(ix["data"]["custom_id"], "claim:1");
    assert_eq!(ix["data"]["component_type"], 2);
    assert_eq!(sf(&ix["message"]["id"]), message);
    assert_eq!(sf(&ix["member"]["user"]["id"]), ana);
    assert!(ix.get("user").is_none(), "user comes only in DMs");
    for field in [
        "app_permissions",
        "entitlements",
        "attachment_size_limit",
        "locale",
        "authorizing_integration_owners",
        "context",
        "guild_locale",
    ] {
        assert!(ix.get(field).is_some(), "{field}");
    }
    assert!(
        sb.click(ana, message, "no-such-button").is_err(),
        "the client offers only real buttons"
    );
}

#[tokio::test]
async fn an_interaction_answered_after_three_seconds_is_unknown() {
    let sb = sandbox_with(Options {
        interaction_deadline: Duration::from_millis(300),
        ..Options::default()
    })
    .await;
    let ana = staff(&sb, "ana").await;
    let message = card(&sb, QUEUE_CHANNEL).await;
    let (mut g, _) = Gateway::identify(&sb, BASIC).await;
    sb.click(ana, message, "claim:1").unwrap();
    let ix = g.event("INTERACTION_CREATE").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let r = answer(&sb, &ix, json!({ "type": 6 })).await;
    r.is_error(404, 10062);
    assert_eq!(r.body["message"], "Unknown interaction");
    assert_eq!(
        Options::default().interaction_deadline,
        Duration::from_secs(3)
    );
}

#[tokio::test]
async fn a_second_answer_is_40060_already_acknowledged() {
    let sb = sandbox().await;
    let ana = staff(&sb, "ana").await;
    let message = card(&sb, QUEUE_CHANNEL).await;
    let (mut g, _) = Gateway::identify(&sb, BASIC).await;
    let id = sb.click(ana, message, "claim:1").unwrap();
    let ix = g.event("INTERACTION_CREATE").await;
    assert_eq!(answer(&sb, &ix, json!({ "type": 6 })).await.status, 204);
    answer(
        &sb,
        &ix,
        json!({ "type": 4, "data": { "content": "again" } }),
    )
    .await
    .is_error(400, 40060);
    assert_eq!(sb.interaction_answers(id).len(), 1);
    let mut bad = ix.clone();
    bad["token"] = json!("forged");
    answer(&sb, &bad, json!({ "type": 6 }))
        .await
        .is_error(404, 10062);
}

#[tokio::test]
async fn callback_types_are_checked_against_the_interaction_type() {
    let sb = sandbox().await;
    let ana = staff(&sb, "ana").await;
    let message = card(&sb, QUEUE_CHANNEL).await;
    let (mut g, _) = Gateway::identify(&sb, BASIC).await;
    for kind in [1, 8, 10] {
        sb.click(ana, message, "claim:1").unwrap();
        let ix = g.event("INTERACTION_CREATE").await;
        answer(&sb, &ix, json!({ "type": kind }))
            .await
            .is_error(400, 50035);
    }
    post(
        &sb,
        &format!("/applications/{APPLICATION}/guilds/{STAFF_GUILD}/commands"),
        json!({ "name": "queue", "description": "show the queue" }),
    )
    .await;
    sb.command(ana, QUEUE_CHANNEL, "queue", json!({})).unwrap();
    let ix = g.event("INTERACTION_CREATE").await;
    answer(&sb, &ix, json!({ "type": 7, "data": { "content": "x" } }))
        .await
        .is_error(400, 50035);
}

#[tokio::test]
async fn an_ephemeral_answer_is_recorded_with_flag_64_and_hidden_from_the_channel() {
    let sb = sandbox().await;
    let ana = staff(&sb, "ana").await;
    let message = card(&sb, QUEUE_CHANNEL).await;
    let (mut g, _) = Gateway::identify(&sb, BASIC).await;
    let id = sb.click(ana, message, "claim:1").unwrap();
    let ix = g.event("INTERACTION_CREATE").await;
    let r = answer(
        &sb,
        &ix,
        json!({ "type": 4, "data": { "content": "only you", "flags": 64 } }),
    )
    .await;
    assert_eq!(r.status, 204);
    let answers = sb.interaction_answers(id);
    assert!(answers[0].ephemeral());
    assert_eq!(answers[0].content(), "only you");
    assert_eq!(answers[0].callback_type(), Some(4));
    assert_eq!(
        sb.messages_in(QUEUE_CHANNEL).len(),
        1,
        "the ephemeral answer is not in the channel"
    );
    let echo = g.event("MESSAGE_CREATE").await;
    assert!(
        echo.get("guild_id").is_none(),
        "ephemeral messages travel without guild_id"
    );
}

#[tokio::test]
async fn update_message_edits_the_clicked_message() {
    let sb = sandbox().await;
    let ana = staff(&sb, "ana").await;
    let message = card(&sb, QUEUE_CHANNEL).await;
    let (mut g, _) = Gateway::identify(&sb, BASIC).await;
    sb.click(ana, message, "claim:1").unwrap();
    let ix = g.event("INTERACTION_CREATE").await;
    let r = answer(
        &sb,
        &ix,
        json!({ "type": 7, "data": { "content": "claimed by ana", "components": [] } }),
    )
    .await;
    assert_eq!(r.status, 204);
    let m = sb.message(message).unwrap();
    assert_eq!(m.content, "claimed by ana");
    assert!(m.components.is_empty());
    assert_eq!(sf(&g.event("MESSAGE_UPDATE").await["id"]), message);
}

#[tokio::test]
async fn a_deferred_answer_is_followed_up_through_the_webhook_and_original_can_be_read_edited_and_deleted(
) {
    let sb = sandbox().await;
    let ana = staff(&sb, "ana").await;
    post(
        &sb,
        &format!("/applications/{APPLICATION}/guilds/{STAFF_GUILD}/commands"),
        json!({ "name": "queue", "description": "show" }),
    )
    .await;
    let (mut g, _) = Gateway::identify(&sb, BASIC).await;
    let id = sb.command(ana, QUEUE_CHANNEL, "queue", json!({})).unwrap();
    let ix = g.event("INTERACTION_CREATE").await;
    let hook = format!("/webhooks/{APPLICATION}/{}", token_of(&ix));
    call(
        &sb,
        Method::POST,
        &hook,
        Some(json!({ "content": "too early" })),
        None,
    )
    .await
    .is_error(404, 10015);
    assert_eq!(answer(&sb, &ix, json!({ "type": 5 })).await.status, 204);
    let original = call(
        &sb,
        Method::GET,
        &format!("{hook}/messages/@original"),
        None,
        None,
    )
    .await;
    assert_eq!(
        original.body["flags"].as_u64().unwrap() & 128,
        128,
        "thinking"
    );
    let edited = call(
        &sb,
        Method::PATCH,
        &format!("{hook}/messages/@original"),
        Some(json!({ "content": "3 cases" })),
        None,
    )
    .await;
    assert_eq!(edited.body["content"], "3 cases");
    assert_eq!(edited.body["flags"].as_u64().unwrap() & 128, 0);
    let follow = call(
        &sb,
        Method::POST,
        &hook,
        Some(json!({ "content": "and one more", "flags": 64 })),
        None,
    )
    .await;
    assert_eq!(follow.status, 200);
    assert!(sb.message(follow.id()).unwrap().ephemeral());
    assert_eq!(
        call(
            &sb,
            Method::DELETE,
            &format!("{hook}/messages/@original"),
            None,
            None
        )
        .await
        .status,
        204
    );
    call(
        &sb,
        Method::GET,
        &format!("{hook}/messages/@original"),
        None,
        None,
    )
    .await
    .is_error(404, 10008);
    let kinds: Vec<_> = sb.interaction_answers(id).iter().map(|a| a.kind).collect();
    assert_eq!(
        kinds,
        vec![
            AnswerKind::Callback(5),
            AnswerKind::EditOriginal,
            AnswerKind::Followup,
            AnswerKind::DeleteOriginal
        ]
    );
    call(
        &sb,
        Method::POST,
        &format!("/webhooks/1/{}", token_of(&ix)),
        Some(json!({ "content": "x" })),
        None,
    )
    .await
    .is_error(404, 10015);
}

#[tokio::test]
async fn follow_ups_stop_when_the_token_expires() {
    let sb = sandbox_with(Options {
        interaction_token_lifetime: Duration::from_millis(300),
        ..Options::default()
    })
    .await;
    let ana = staff(&sb, "ana").await;
    let message = card(&sb, QUEUE_CHANNEL).await;
    let (mut g, _) = Gateway::identify(&sb, BASIC).await;
    sb.click(ana, message, "claim:1").unwrap();
    let ix = g.event("INTERACTION_CREATE").await;
    answer(&sb, &ix, json!({ "type": 6 })).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let hook = format!("/webhooks/{APPLICATION}/{}", token_of(&ix));
    call(
        &sb,
        Method::POST,
        &hook,
        Some(json!({ "content": "late" })),
        None,
    )
    .await
    .is_error(404, 10015);
    assert_eq!(
        Options::default().interaction_token_lifetime,
        Duration::from_secs(900)
    );
}

#[tokio::test]
async fn a_modal_can_be_shown_in_answer_to_a_click_and_submitted_but_not_in_answer_to_a_submit() {
    let sb = sandbox().await;
    let ana = staff(&sb, "ana").await;
    let message = card(&sb, QUEUE_CHANNEL).await;
    let (mut g, _) = Gateway::identify(&sb, BASIC).await;
    assert!(
        sb.submit_modal(ana, QUEUE_CHANNEL, "resolve:1", &[("summary", "done")])
            .is_err(),
        "no modal was shown"
    );
    sb.click(ana, message, "claim:1").unwrap();
    let ix = g.event("INTERACTION_CREATE").await;
    let modal = json!({ "type": 9, "data": { "custom_id": "resolve:1", "title": "Resolve the case",
        "components": [{ "type": 1, "components": [{ "type": 4, "custom_id": "summary", "style": 2, "label": "Summary", "max_length": 100 }] }] } });
    let too_long_title = json!({ "type": 9, "data": { "custom_id": "x", "title": "t".repeat(46), "components": modal["data"]["components"] } });
    answer(&sb, &ix, too_long_title).await.is_error(400, 50035);
    assert_eq!(answer(&sb, &ix, modal.clone()).await.status, 204);
    assert!(
        sb.submit_modal(
            ana,
            QUEUE_CHANNEL,
            "resolve:1",
            &[("summary", &"s".repeat(101))]
        )
        .is_err(),
        "max_length"
    );
    sb.submit_modal(ana, QUEUE_CHANNEL, "resolve:1", &[("summary", "refunded")])
        .unwrap();
    let submit = g.event("INTERACTION_CREATE").await;
    assert_eq!(submit["type"], 5);
    assert_eq!(
        submit["data"]["components"][0]["components"][0]["value"],
        "refunded"
    );
    assert_eq!(sf(&submit["message"]["id"]), message);
    answer(&sb, &submit, modal).await.is_error(400, 50035);
    assert_eq!(
        answer(&sb, &submit, json!({ "type": 6 })).await.status,
        204,
        "a submit from a component may update it"
    );
}

#[tokio::test]
async fn a_select_sends_its_values_and_the_client_offers_only_its_options() {
    let sb = sandbox().await;
    let ana = staff(&sb, "ana").await;
    let message = card(&sb, QUEUE_CHANNEL).await;
    let (mut g, _) = Gateway::identify(&sb, BASIC).await;
    assert!(sb.select(ana, message, "priority:1", &["urgent"]).is_err());
    assert!(
        sb.select(ana, message, "priority:1", &["high", "low"])
            .is_err(),
        "max_values 1"
    );
    sb.select(ana, message, "priority:1", &["high"]).unwrap();
    let ix = g.event("INTERACTION_CREATE").await;
    assert_eq!(ix["data"]["values"], json!(["high"]));
    assert_eq!(ix["data"]["component_type"], 3);
}

#[tokio::test]
async fn autocomplete_takes_only_result_answers_of_at_most_25_choices() {
    let sb = sandbox().await;
    let ana = staff(&sb, "ana").await;
    let cmd = json!({ "name": "case", "description": "show a case", "options": [
        { "type": 3, "name": "id", "description": "case id", "required": true, "autocomplete": true }] });
    post(
        &sb,
        &format!("/applications/{APPLICATION}/guilds/{STAFF_GUILD}/commands"),
        cmd,
    )
    .await;
    let (mut g, _) = Gateway::identify(&sb, BASIC).await;
    sb.autocomplete(
        ana,
        QUEUE_CHANNEL,
        "case",
        json!([{ "type": 3, "name": "id", "value": "1", "focused": true }]),
    )
    .unwrap();
    let ix = g.event("INTERACTION_CREATE").await;
    assert_eq!(ix["type"], 4);
    answer(&sb, &ix, json!({ "type": 4, "data": { "content": "no" } }))
        .await
        .is_error(400, 50035);
    let many: Vec<Value> = (0..26)
        .map(|i| json!({ "name": format!("c{i}"), "value": format!("{i}") }))
        .collect();
    answer(&sb, &ix, json!({ "type": 8, "data": { "choices": many } }))
        .await
        .is_error(400, 50035);
    let r = answer(
        &sb,
        &ix,
        json!({ "type": 8, "data": { "choices": [{ "name": "case 12", "value": "12" }] } }),
    )
    .await;
    assert_eq!(r.status, 204);
}

#[tokio::test]
async fn a_dm_interaction_carries_user_not_member() {
    let sb = sandbox().await;
    let maya = sb.person("maya");
    let dm = sb.dm_channel(maya);
    let message = card(&sb, dm).await;
    let (mut g, _) = Gateway::identify(&sb, BASIC).await;
    sb.click(maya, message, "claim:1").unwrap();
    let ix = g.event("INTERACTION_CREATE").await;
    assert_eq!(sf(&ix["user"]["id"]), maya);
    assert!(ix.get("member").is_none() && ix.get("guild_id").is_none());
    assert_eq!(ix["context"], 1);
}

#[tokio::test]
async fn with_response_true_returns_the_callback_response_object() {
    let sb = sandbox().await;
    let ana = staff(&sb, "ana").await;
    let message = card(&sb, QUEUE_CHANNEL).await;
    let (mut g, _) = Gateway::identify(&sb, BASIC).await;
    sb.click(ana, message, "claim:1").unwrap();
    let ix = g.event("INTERACTION_CREATE").await;
    let path = format!(
        "/interactions/{}/{}/callback?with_response=true",
        ix["id"].as_str().unwrap(),
        token_of(&ix)
    );
    let r = call(
        &sb,
        Method::POST,
        &path,
        Some(json!({ "type": 4, "data": { "content": "ok" } })),
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["interaction"]["type"], 3);
    assert_eq!(r.body["resource"]["message"]["content"], "ok");
}
