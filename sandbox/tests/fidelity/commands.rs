//! interactions/application-commands.mdx: naming, descriptions, options, counts, and what the
//! client offers by `default_member_permissions`.

use casebot_sandbox::permissions::*;
use casebot_sandbox::*;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::*;

fn guild_commands() -> String {
    format!("/applications/{APPLICATION}/guilds/{STAFF_GUILD}/commands")
}

async fn put_commands(sb: &Sandbox, path: &str, body: Value) -> Reply {
    bot(sb, Method::PUT, path, Some(body)).await
}

#[tokio::test]
async fn a_bulk_overwrite_keeps_the_commands_as_registered_with_default_member_permissions() {
    let sb = sandbox().await;
    let body = json!([{ "name": "claim", "description": "claim a case", "default_member_permissions": "8192",
        "options": [{ "type": 4, "name": "case", "description": "case number", "required": true, "min_value": 1 }] },
        { "name": "Summarise", "type": 3 }]);
    let r = put_commands(&sb, &guild_commands(), body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let list = r.body.as_array().unwrap();
    assert_eq!(list.len(), 2);
    for c in list {
        assert!(c["id"].is_string() && c["version"].is_string());
        assert_eq!(sf(&c["application_id"]), APPLICATION);
        assert_eq!(sf(&c["guild_id"]), STAFF_GUILD);
    }
    let kept = sb.registered_commands(Some(STAFF_GUILD));
    assert_eq!(kept[0]["default_member_permissions"], "8192");
    assert_eq!(kept[1]["description"], "");
    assert_eq!(
        get(&sb, &guild_commands())
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let again = put_commands(
        &sb,
        &guild_commands(),
        json!([{ "name": "claim", "description": "claim it" }]),
    )
    .await;
    assert_eq!(
        again.body[0]["id"], list[0]["id"],
        "the same name keeps its id"
    );
    assert!(sb.registered_commands(None).is_empty());
}

#[tokio::test]
async fn names_follow_the_documented_regex_and_must_be_lower_case() {
    let sb = sandbox().await;
    for bad in ["Claim", "claim case", "", &"x".repeat(33), "claim!"] {
        let r = put_commands(
            &sb,
            &guild_commands(),
            json!([{ "name": bad, "description": "d" }]),
        )
        .await;
        r.is_error(400, 50035);
    }
    for good in ["claim", "claim-next", "état", "ケース", "case_2"] {
        let r = put_commands(
            &sb,
            &guild_commands(),
            json!([{ "name": good, "description": "d" }]),
        )
        .await;
        assert_eq!(r.status, 200, "{good}: {}", r.body);
    }
}

#[tokio::test]
async fn descriptions_options_and_choices_are_checked() {
    let sb = sandbox().await;
    let path = guild_commands();
    let cases = [
        json!([{ "name": "a" }]),
        json!([{ "name": "a", "description": "d".repeat(101) }]),
        json!([{ "name": "a", "description": "d", "options": [
            { "type": 3, "name": "x", "description": "x" },
            { "type": 3, "name": "y", "description": "y", "required": true }] }]),
        json!([{ "name": "a", "description": "d", "options": [
            { "type": 3, "name": "x", "description": "x" }, { "type": 3, "name": "x", "description": "x" }] }]),
        json!([{ "name": "a", "description": "d", "options": (0..26).map(|i| json!({ "type": 3, "name": format!("o{i}"), "description": "o" })).collect::<Vec<_>>() }]),
        json!([{ "name": "a", "description": "d", "options": [{ "type": 3, "name": "x", "description": "x",
            "choices": (0..26).map(|i| json!({ "name": format!("c{i}"), "value": format!("{i}") })).collect::<Vec<_>>() }] }]),
        json!([{ "name": "a", "description": "d", "options": [{ "type": 3, "name": "x", "description": "x", "autocomplete": true,
            "choices": [{ "name": "c", "value": "c" }] }] }]),
        json!([{ "name": "a", "description": "d" }, { "name": "a", "description": "again" }]),
        json!([{ "name": "a", "description": "d", "default_member_permissions": 8 }]),
        json!([{ "name": "a", "description": "d".repeat(90), "options": (0..25).map(|i| json!({ "type": 3, "name": format!("o{i}"), "description": "o".repeat(100),
            "choices": (0..25).map(|j| json!({ "name": "n".repeat(100), "value": format!("{j}") })).collect::<Vec<_>>() })).collect::<Vec<_>>() }]),
    ];
    for body in cases {
        put_commands(&sb, &path, body.clone())
            .await
            .is_error(400, 50035);
    }
    let too_many: Vec<Value> = (0..101)
        .map(|i| json!({ "name": format!("c{i}"), "description": "d" }))
        .collect();
    put_commands(&sb, &path, Value::Array(too_many))
        .await
        .is_error(400, 50035);
}

#[tokio::test]
async fn another_applications_commands_or_a_guild_without_the_bot_are_refused() {
    let sb = sandbox().await;
    put_commands(&sb, "/applications/1/commands", json!([]))
        .await
        .is_error(403, 20012);
    put_commands(
        &sb,
        &format!("/applications/{APPLICATION}/guilds/1/commands"),
        json!([]),
    )
    .await
    .is_error(403, 50001);
}

#[tokio::test]
async fn create_is_an_upsert_and_a_command_can_be_read_edited_and_deleted() {
    let sb = sandbox().await;
    let path = format!("/applications/{APPLICATION}/commands");
    let first = post(&sb, &path, json!({ "name": "ping", "description": "ping" })).await;
    assert_eq!(first.status, 201);
    let second = post(&sb, &path, json!({ "name": "ping", "description": "pong" })).await;
    assert_eq!(second.status, 200);
    assert_eq!(second.id(), first.id());
    let one = format!("{path}/{}", first.id());
    assert_eq!(get(&sb, &one).await.body["description"], "pong");
    assert_eq!(
        bot(
            &sb,
            Method::PATCH,
            &one,
            Some(json!({ "description": "edited" }))
        )
        .await
        .body["description"],
        "edited"
    );
    assert_eq!(bot(&sb, Method::DELETE, &one, None).await.status, 204);
    get(&sb, &one).await.is_error(404, 10063);
}

#[tokio::test]
async fn default_member_permissions_hides_a_command_from_staff_without_those_permissions() {
    let sb = sandbox().await;
    let ana = sb.person("ana");
    sb.join(STAFF_GUILD, ana, &[STAFF_ROLE]);
    put_commands(&sb, &guild_commands(), json!([
        { "name": "claim", "description": "claim", "default_member_permissions": MANAGE_MESSAGES.to_string() },
        { "name": "admin", "description": "admin only", "default_member_permissions": "0" },
        { "name": "queue", "description": "open to all" }])).await;
    assert!(
        sb.command(ana, QUEUE_CHANNEL, "claim", json!({})).is_err(),
        "the staff role has no MANAGE_MESSAGES"
    );
    assert!(sb.command(ana, QUEUE_CHANNEL, "admin", json!({})).is_err());
    assert!(sb.command(ana, QUEUE_CHANNEL, "queue", json!({})).is_ok());
    assert!(sb
        .command(GUILD_OWNER, QUEUE_CHANNEL, "admin", json!({}))
        .is_ok());
    sb.set_role_permissions(STAFF_GUILD, STAFF_ROLE, MANAGE_MESSAGES);
    assert!(sb.command(ana, QUEUE_CHANNEL, "claim", json!({})).is_ok());
    let maya = sb.person("maya");
    let dm = sb.dm_channel(maya);
    assert!(
        sb.command(maya, dm, "queue", json!({})).is_err(),
        "guild commands are not offered in DMs"
    );
}

#[tokio::test]
async fn a_command_invocation_carries_typed_options_and_the_client_checks_them() {
    let sb = sandbox().await;
    let ana = sb.person("ana");
    sb.join(STAFF_GUILD, ana, &[STAFF_ROLE]);
    put_commands(
        &sb,
        &guild_commands(),
        json!([{ "name": "transfer", "description": "transfer a case", "options": [
        { "type": 4, "name": "case", "description": "case", "required": true, "min_value": 1 },
        { "type": 6, "name": "to", "description": "to whom", "required": true }] }]),
    )
    .await;
    let ben = sb.person("ben");
    sb.join(STAFF_GUILD, ben, &[STAFF_ROLE]);
    assert!(
        sb.command(ana, QUEUE_CHANNEL, "transfer", json!({ "case": 3 }))
            .is_err(),
        "required option"
    );
    assert!(
        sb.command(
            ana,
            QUEUE_CHANNEL,
            "transfer",
            json!({ "case": 0, "to": ben.to_string() })
        )
        .is_err(),
        "min_value"
    );
    let (mut g, _) = Gateway::identify(&sb, BASIC).await;
    sb.command(
        ana,
        QUEUE_CHANNEL,
        "transfer",
        json!({ "case": 3, "to": ben.to_string() }),
    )
    .unwrap();
    let ix = g.event("INTERACTION_CREATE").await;
    assert_eq!(ix["type"], 2);
    assert_eq!(ix["data"]["name"], "transfer");
    let options = ix["data"]["options"].as_array().unwrap();
    assert!(options
        .iter()
        .any(|o| o["name"] == "case" && o["type"] == 4 && o["value"] == 3));
    assert!(ix["data"]["resolved"]["users"][ben.to_string()].is_object());
}
