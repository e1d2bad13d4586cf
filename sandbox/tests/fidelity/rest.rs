//! reference.mdx "Authentication", topics/opcodes-and-status-codes.mdx "HTTP", resources/user.mdx,
//! resources/guild.mdx, resources/application.mdx: who may call, unknown ids, the routes casebot
//! reads at setup.

use casebot_sandbox::*;
use reqwest::Method;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn a_missing_or_wrong_token_is_401_with_code_0() {
    let sb = sandbox().await;
    let r = call(&sb, Method::GET, "/users/@me", None, None).await;
    r.is_error(401, 0);
    assert_eq!(r.body["message"], "401: Unauthorized");
    call(
        &sb,
        Method::GET,
        &format!("/channels/{PUBLIC_CHANNEL}"),
        None,
        Some("Bot wrong"),
    )
    .await
    .is_error(401, 0);
    call(
        &sb,
        Method::GET,
        &format!("/channels/{PUBLIC_CHANNEL}"),
        None,
        Some(TOKEN),
    )
    .await
    .is_error(401, 0);
}

#[tokio::test]
async fn an_unserved_route_is_404_code_0_and_recorded() {
    let sb = sandbox().await;
    let r = get(&sb, "/guilds/1/emojis/2/nothing").await;
    r.is_error(404, 0);
    assert_eq!(r.body["message"], "404: Not Found");
    let unknown = sb.unknown_requests();
    assert_eq!(unknown.len(), 1);
    assert_eq!(unknown[0].path, "/api/v10/guilds/1/emojis/2/nothing");
    let wrong_method = bot(
        &sb,
        Method::PUT,
        &format!("/channels/{PUBLIC_CHANNEL}/messages"),
        None,
    )
    .await;
    wrong_method.is_error(405, 0);
}

#[tokio::test]
async fn unknown_ids_answer_their_documented_codes() {
    let sb = sandbox().await;
    get(&sb, "/channels/1").await.is_error(404, 10003);
    get(&sb, &format!("/channels/{PUBLIC_CHANNEL}/messages/1"))
        .await
        .is_error(404, 10008);
    get(&sb, "/users/1").await.is_error(404, 10013);
    get(&sb, "/guilds/1").await.is_error(404, 10004);
    get(&sb, &format!("/guilds/{STAFF_GUILD}/members/1"))
        .await
        .is_error(404, 10013);
    let stranger = sb.person("stranger");
    get(&sb, &format!("/guilds/{STAFF_GUILD}/members/{stranger}"))
        .await
        .is_error(404, 10007);
    get(&sb, "/channels/not-a-snowflake")
        .await
        .is_error(400, 50035);
    post(&sb, "/users/@me/channels", json!({ "recipient_id": "1" }))
        .await
        .is_error(404, 10013);
}

#[tokio::test]
async fn the_request_log_names_method_route_status_code_and_token() {
    let sb = sandbox().await;
    get(&sb, "/users/@me").await;
    get(&sb, "/channels/1").await;
    let log = sb.requests();
    assert!(log[0].is("GET", "/users/@me") && log[0].status == 200 && log[0].code.is_none());
    assert!(log[1].is("GET", "/channels/{channel}") && log[1].code == Some(10003));
    assert_eq!(log[1].token.as_deref(), Some(bot_auth().as_str()));
}

#[tokio::test]
async fn the_current_user_and_application_are_the_bots() {
    let sb = sandbox().await;
    let me = get(&sb, "/users/@me").await;
    assert_eq!(me.id(), BOT_USER);
    assert_eq!(me.body["bot"], true);
    for path in ["/oauth2/applications/@me", "/applications/@me"] {
        let app = get(&sb, path).await;
        assert_eq!(app.id(), APPLICATION);
        assert_eq!(app.body["bot_public"], false);
        assert!(app.body["verify_key"].is_string());
    }
}

#[tokio::test]
async fn a_setup_check_can_read_the_guild_roles_channels_and_the_bots_member() {
    let sb = sandbox().await;
    let guild = get(&sb, &format!("/guilds/{STAFF_GUILD}?with_counts=true")).await;
    assert_eq!(guild.id(), STAFF_GUILD);
    assert!(guild.body["approximate_member_count"].as_u64().unwrap() >= 2);
    assert!(get(&sb, &format!("/guilds/{STAFF_GUILD}"))
        .await
        .body
        .get("approximate_member_count")
        .is_none());
    let roles = get(&sb, &format!("/guilds/{STAFF_GUILD}/roles")).await;
    let bot_role = roles
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|r| sf(&r["id"]) == STAFF_BOT_ROLE)
        .unwrap()
        .clone();
    assert_eq!(bot_role["managed"], true);
    assert_eq!(sf(&bot_role["tags"]["bot_id"]), BOT_USER);
    assert_eq!(
        bot_role["permissions"],
        json!(permissions::BOT_STAFF_DEFAULT.to_string())
    );
    let channels = get(&sb, &format!("/guilds/{STAFF_GUILD}/channels")).await;
    assert!(channels
        .body
        .as_array()
        .unwrap()
        .iter()
        .any(|c| sf(&c["id"]) == QUEUE_CHANNEL));
    let member = get(&sb, &format!("/guilds/{STAFF_GUILD}/members/{BOT_USER}")).await;
    assert_eq!(
        member.body["roles"],
        json!([STAFF_BOT_ROLE.to_string()]),
        "no GUILD_MEMBERS intent needed"
    );
    get(&sb, &format!("/guilds/{STAFF_GUILD}/members"))
        .await
        .is_error(403, 50001);
}

#[tokio::test]
async fn a_channel_reads_back_and_a_dm_is_type_1_with_its_recipient() {
    let sb = sandbox().await;
    let queue = get(&sb, &format!("/channels/{QUEUE_CHANNEL}")).await;
    assert_eq!(queue.body["type"], 0);
    assert_eq!(sf(&queue.body["guild_id"]), STAFF_GUILD);
    let maya = sb.person("maya");
    let dm = post(
        &sb,
        "/users/@me/channels",
        json!({ "recipient_id": maya.to_string() }),
    )
    .await;
    assert_eq!(sf(&dm.body["recipients"][0]["id"]), maya);
    assert_eq!(
        get(&sb, &format!("/channels/{}", dm.id())).await.body["type"],
        1
    );
}
