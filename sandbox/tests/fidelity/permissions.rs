//! topics/permissions.mdx: base permissions, ADMINISTRATOR, overwrites in their order, threads
//! taking their parent's, and every REST call checking what its page documents.

use casebot_sandbox::permissions::*;
use casebot_sandbox::*;
use reqwest::Method;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn overwrites_apply_everyone_then_roles_then_the_member() {
    let sb = sandbox().await;
    let ana = sb.person("ana");
    sb.join(STAFF_GUILD, ana, &[STAFF_ROLE]);
    assert!(sb.can_see(ana, QUEUE_CHANNEL));
    sb.set_overwrite(QUEUE_CHANNEL, STAFF_GUILD, false, 0, VIEW_CHANNEL);
    assert!(!sb.can_see(ana, QUEUE_CHANNEL), "@everyone denied");
    sb.set_overwrite(QUEUE_CHANNEL, STAFF_ROLE, false, VIEW_CHANNEL, 0);
    assert!(
        sb.can_see(ana, QUEUE_CHANNEL),
        "a role allow beats the @everyone deny"
    );
    sb.set_overwrite(QUEUE_CHANNEL, ana, true, 0, VIEW_CHANNEL);
    assert!(
        !sb.can_see(ana, QUEUE_CHANNEL),
        "the member overwrite comes last"
    );
    sb.set_role_permissions(STAFF_GUILD, LEAD_ROLE, ADMINISTRATOR);
    sb.set_roles(STAFF_GUILD, ana, &[STAFF_ROLE, LEAD_ROLE]);
    assert_eq!(
        sb.permissions_in(ana, QUEUE_CHANNEL),
        ALL,
        "ADMINISTRATOR bypasses overwrites"
    );
    assert_eq!(
        sb.permissions_in(GUILD_OWNER, QUEUE_CHANNEL),
        ALL,
        "the owner holds everything"
    );
}

#[tokio::test]
async fn without_view_channel_the_bot_gets_50001_and_without_send_messages_50013() {
    let sb = sandbox().await;
    sb.set_overwrite(QUEUE_CHANNEL, BOT_USER, true, 0, SEND_MESSAGES);
    let r = say(&sb, QUEUE_CHANNEL, "card").await;
    r.is_error(403, 50013);
    assert_eq!(r.body["message"], "Missing Permissions");
    sb.set_overwrite(QUEUE_CHANNEL, BOT_USER, true, 0, VIEW_CHANNEL);
    let r = say(&sb, QUEUE_CHANNEL, "card").await;
    r.is_error(403, 50001);
    assert_eq!(r.body["message"], "Missing Access");
    get(&sb, &format!("/channels/{QUEUE_CHANNEL}"))
        .await
        .is_error(403, 50001);
    get(&sb, &format!("/channels/{QUEUE_CHANNEL}/messages"))
        .await
        .is_error(403, 50001);
}

#[tokio::test]
async fn without_read_message_history_the_history_is_empty_and_replies_are_refused() {
    let sb = sandbox().await;
    let first = say(&sb, QUEUE_CHANNEL, "one").await.id();
    sb.set_overwrite(
        QUEUE_CHANNEL,
        STAFF_BOT_ROLE,
        false,
        0,
        READ_MESSAGE_HISTORY,
    );
    let r = get(&sb, &format!("/channels/{QUEUE_CHANNEL}/messages")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, json!([]));
    let reply =
        json!({ "content": "re", "message_reference": { "message_id": first.to_string() } });
    post(&sb, &format!("/channels/{QUEUE_CHANNEL}/messages"), reply)
        .await
        .is_error(403, 160002);
}

#[tokio::test]
async fn files_need_attach_files_and_tts_needs_send_tts_messages() {
    let sb = sandbox().await;
    let tts = json!({ "content": "hi", "tts": true });
    post(&sb, &format!("/channels/{QUEUE_CHANNEL}/messages"), tts)
        .await
        .is_error(403, 50013);
    sb.set_overwrite(QUEUE_CHANNEL, STAFF_GUILD, false, 0, ATTACH_FILES);
    sb.set_overwrite(QUEUE_CHANNEL, STAFF_BOT_ROLE, false, 0, ATTACH_FILES);
    let form = reqwest::multipart::Form::new()
        .text("payload_json", json!({ "content": "f" }).to_string())
        .part(
            "files[0]",
            reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("a.txt"),
        );
    let url = format!(
        "{}/api/v10/channels/{QUEUE_CHANNEL}/messages",
        sb.base_url()
    );
    let res = reqwest::Client::new()
        .post(url)
        .header("authorization", bot_auth())
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap()["code"],
        50013
    );
}

#[tokio::test]
async fn editing_and_deleting_channels_need_manage_channels() {
    let sb = sandbox().await;
    let path = format!("/channels/{QUEUE_CHANNEL}");
    bot(
        &sb,
        Method::PATCH,
        &path,
        Some(json!({ "name": "renamed" })),
    )
    .await
    .is_error(403, 50013);
    bot(&sb, Method::DELETE, &path, None)
        .await
        .is_error(403, 50013);
    sb.set_bot_permissions(STAFF_GUILD, BOT_STAFF_DEFAULT | MANAGE_CHANNELS);
    assert_eq!(
        bot(
            &sb,
            Method::PATCH,
            &path,
            Some(json!({ "name": "renamed" }))
        )
        .await
        .body["name"],
        "renamed"
    );
}

#[tokio::test]
async fn a_person_who_cannot_see_or_write_in_a_channel_is_refused_like_discord_would() {
    let sb = sandbox().await;
    let maya = sb.person("maya");
    assert_eq!(
        sb.post(maya, QUEUE_CHANNEL, "let me in").unwrap_err().code,
        50001,
        "not a member of the staff server"
    );
    sb.set_overwrite(PUBLIC_CHANNEL, maya, true, 0, SEND_MESSAGES);
    assert_eq!(
        sb.post(maya, PUBLIC_CHANNEL, "muted").unwrap_err().code,
        50013
    );
}

#[tokio::test]
async fn interactions_carry_member_permissions_and_app_permissions_with_overwrites() {
    let sb = sandbox().await;
    let ana = sb.person("ana");
    sb.join(STAFF_GUILD, ana, &[STAFF_ROLE]);
    sb.set_overwrite(QUEUE_CHANNEL, STAFF_ROLE, false, MANAGE_MESSAGES, 0);
    let card = say(&sb, QUEUE_CHANNEL, "card").await;
    assert_eq!(card.status, 200);
    bot(&sb, Method::PATCH, &format!("/channels/{QUEUE_CHANNEL}/messages/{}", card.id()), Some(json!({
        "components": [{ "type": 1, "components": [{ "type": 2, "style": 1, "label": "Claim", "custom_id": "claim:1" }] }] }))).await;
    let (mut g, _) = Gateway::identify(&sb, BASIC).await;
    sb.click(ana, card.id(), "claim:1").unwrap();
    let ix = g.event("INTERACTION_CREATE").await;
    let member_perms: u64 = ix["member"]["permissions"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_ne!(member_perms & MANAGE_MESSAGES, 0);
    let app: u64 = ix["app_permissions"].as_str().unwrap().parse().unwrap();
    assert_eq!(app & BOT_STAFF_DEFAULT, BOT_STAFF_DEFAULT);
    assert_eq!(ix["member"]["roles"], json!([STAFF_ROLE.to_string()]));
}
