//! resources/channel.mdx thread routes and topics/threads.mdx: private threads hidden from
//! non-members without MANAGE_THREADS, public threads from messages, membership events.

use std::time::Duration;

use casebot_sandbox::permissions::*;
use casebot_sandbox::*;
use reqwest::Method;
use serde_json::json;

use crate::support::*;

async fn private_thread(sb: &Sandbox, name: &str) -> u64 {
    let r = post(
        sb,
        &format!("/channels/{QUEUE_CHANNEL}/threads"),
        json!({ "name": name, "type": 12, "invitable": false }),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.id()
}

#[tokio::test]
async fn a_private_thread_is_hidden_from_a_staff_member_who_is_not_in_it() {
    let sb = sandbox().await;
    let ana = sb.person("ana");
    sb.join(STAFF_GUILD, ana, &[STAFF_ROLE]);
    let thread = private_thread(&sb, "case 1").await;
    assert!(!sb.can_see(ana, thread));
    let refused = sb.post(ana, thread, "can I help?").unwrap_err();
    assert_eq!((refused.status, refused.code), (403, 50001));
    assert_eq!(
        bot(
            &sb,
            Method::PUT,
            &format!("/channels/{thread}/thread-members/{ana}"),
            None
        )
        .await
        .status,
        204
    );
    assert!(sb.can_see(ana, thread));
    assert!(sb.post(ana, thread, "on it").is_ok());
    assert_eq!(sb.thread_members(thread), vec![BOT_USER, ana]);
}

#[tokio::test]
async fn manage_threads_sees_every_private_thread() {
    let sb = sandbox().await;
    let lead = sb.person("lead");
    sb.join(STAFF_GUILD, lead, &[LEAD_ROLE]);
    let thread = private_thread(&sb, "case 2").await;
    assert!(!sb.can_see(lead, thread));
    sb.set_role_permissions(STAFF_GUILD, LEAD_ROLE, MANAGE_THREADS);
    assert!(sb.can_see(lead, thread));
}

#[tokio::test]
async fn the_bot_creating_a_thread_becomes_a_member_and_gets_thread_create_and_thread_members_update(
) {
    let sb = sandbox().await;
    let (mut g, _) = Gateway::identify(&sb, BASIC).await;
    let thread = private_thread(&sb, "case 3").await;
    let created = g.event("THREAD_CREATE").await;
    assert_eq!(sf(&created["id"]), thread);
    assert_eq!(created["type"], 12);
    assert_eq!(created["newly_created"], true);
    assert_eq!(created["thread_metadata"]["invitable"], false);
    assert_eq!(sf(&created["parent_id"]), QUEUE_CHANNEL);
    let update = g.event("THREAD_MEMBERS_UPDATE").await;
    assert_eq!(sf(&update["added_members"][0]["user_id"]), BOT_USER);
    let info = sb.threads().into_iter().find(|t| t.id == thread).unwrap();
    assert_eq!(
        (info.kind, info.owner, info.members),
        (12, BOT_USER, vec![BOT_USER])
    );
}

#[tokio::test]
async fn adding_someone_else_sends_no_thread_members_update_without_guild_members() {
    let sb = sandbox().await;
    let ana = sb.person("ana");
    sb.join(STAFF_GUILD, ana, &[STAFF_ROLE]);
    let thread = private_thread(&sb, "case 4").await;
    let (mut g, _) = Gateway::identify(&sb, BASIC).await;
    bot(
        &sb,
        Method::PUT,
        &format!("/channels/{thread}/thread-members/{ana}"),
        None,
    )
    .await;
    assert!(
        !g.sees("THREAD_MEMBERS_UPDATE", Duration::from_millis(500))
            .await
    );
}

#[tokio::test]
async fn private_threads_need_create_private_threads_and_public_ones_create_public_threads() {
    let sb = sandbox().await;
    sb.set_bot_permissions(STAFF_GUILD, BOT_STAFF_DEFAULT & !CREATE_PRIVATE_THREADS);
    sb.set_role_permissions(
        STAFF_GUILD,
        STAFF_GUILD,
        EVERYONE_DEFAULT & !CREATE_PRIVATE_THREADS,
    );
    let path = format!("/channels/{QUEUE_CHANNEL}/threads");
    post(&sb, &path, json!({ "name": "p", "type": 12 }))
        .await
        .is_error(403, 50013);
    post(&sb, &path, json!({ "name": "p" }))
        .await
        .is_error(403, 50013);
    assert_eq!(
        post(&sb, &path, json!({ "name": "open", "type": 11 }))
            .await
            .status,
        201
    );
    post(&sb, &path, json!({ "name": "", "type": 11 }))
        .await
        .is_error(400, 50035);
    post(
        &sb,
        &path,
        json!({ "name": "x", "type": 11, "auto_archive_duration": 5 }),
    )
    .await
    .is_error(400, 50035);
}

#[tokio::test]
async fn a_public_thread_from_a_message_takes_the_messages_id_once() {
    let sb = sandbox().await;
    let (mut g, _) = Gateway::identify(&sb, BASIC).await;
    let card = say(&sb, QUEUE_CHANNEL, "card").await.id();
    let path = format!("/channels/{QUEUE_CHANNEL}/messages/{card}/threads");
    let r = post(&sb, &path, json!({ "name": "case 5" })).await;
    assert_eq!(r.id(), card);
    assert_eq!(r.body["type"], 11);
    g.event("THREAD_CREATE").await;
    let updated = g.event("MESSAGE_UPDATE").await;
    assert_eq!(sf(&updated["thread"]["id"]), card);
    post(&sb, &path, json!({ "name": "again" }))
        .await
        .is_error(400, 160004);
}

#[tokio::test]
async fn thread_members_can_be_read_one_by_one_and_the_list_needs_guild_members() {
    let sb = sandbox().await;
    let ana = sb.person("ana");
    sb.join(STAFF_GUILD, ana, &[STAFF_ROLE]);
    let thread = private_thread(&sb, "case 6").await;
    bot(
        &sb,
        Method::PUT,
        &format!("/channels/{thread}/thread-members/{ana}"),
        None,
    )
    .await;
    let one = get(
        &sb,
        &format!("/channels/{thread}/thread-members/{ana}?with_member=true"),
    )
    .await;
    assert_eq!(sf(&one.body["user_id"]), ana);
    assert_eq!(sf(&one.body["member"]["user"]["id"]), ana);
    get(&sb, &format!("/channels/{thread}/thread-members"))
        .await
        .is_error(403, 50001);
    let stranger = sb.person("stranger");
    get(
        &sb,
        &format!("/channels/{thread}/thread-members/{stranger}"),
    )
    .await
    .is_error(404, 10007);
    bot(
        &sb,
        Method::PUT,
        &format!("/channels/{thread}/thread-members/{stranger}"),
        None,
    )
    .await
    .is_error(404, 10007);

    let open = sandbox_with(Options {
        guild_members_intent: true,
        ..Options::default()
    })
    .await;
    let thread = private_thread(&open, "case 7").await;
    assert_eq!(
        get(&open, &format!("/channels/{thread}/thread-members"))
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn removing_a_member_hides_the_private_thread_from_them_again() {
    let sb = sandbox().await;
    let ana = sb.person("ana");
    sb.join(STAFF_GUILD, ana, &[STAFF_ROLE]);
    let thread = private_thread(&sb, "case 8").await;
    let member = format!("/channels/{thread}/thread-members/{ana}");
    bot(&sb, Method::PUT, &member, None).await;
    assert_eq!(bot(&sb, Method::DELETE, &member, None).await.status, 204);
    assert!(!sb.can_see(ana, thread));
    bot(&sb, Method::DELETE, &member, None)
        .await
        .is_error(404, 10007);
}

#[tokio::test]
async fn private_thread_messages_reach_the_bot_only_while_it_can_see_the_thread() {
    let sb = sandbox().await;
    let ana = sb.person("ana");
    sb.join(STAFF_GUILD, ana, &[STAFF_ROLE]);
    let thread = private_thread(&sb, "case 9").await;
    bot(
        &sb,
        Method::PUT,
        &format!("/channels/{thread}/thread-members/{ana}"),
        None,
    )
    .await;
    sb.set_bot_permissions(STAFF_GUILD, BOT_STAFF_DEFAULT & !MANAGE_THREADS);
    bot(
        &sb,
        Method::DELETE,
        &format!("/channels/{thread}/thread-members/@me"),
        None,
    )
    .await;
    let (mut g, _) = Gateway::identify(&sb, BASIC).await;
    sb.post(ana, thread, "note").unwrap();
    assert!(!g.sees("MESSAGE_CREATE", Duration::from_millis(500)).await);
    get(&sb, &format!("/channels/{thread}"))
        .await
        .is_error(403, 50001);
}

#[tokio::test]
async fn sending_in_a_thread_needs_send_messages_in_threads_not_send_messages() {
    let sb = sandbox().await;
    let thread = private_thread(&sb, "case 10").await;
    sb.set_overwrite(QUEUE_CHANNEL, BOT_USER, true, 0, SEND_MESSAGES);
    assert_eq!(say(&sb, thread, "still fine").await.status, 200);
    sb.set_overwrite(QUEUE_CHANNEL, BOT_USER, true, 0, SEND_MESSAGES_IN_THREADS);
    say(&sb, thread, "refused").await.is_error(403, 50013);
}

#[tokio::test]
async fn a_thread_deleted_by_a_moderator_announces_thread_delete() {
    let sb = sandbox().await;
    let thread = private_thread(&sb, "case 11").await;
    let (mut g, _) = Gateway::identify(&sb, BASIC).await;
    sb.delete_channel(thread);
    let gone = g.event("THREAD_DELETE").await;
    assert_eq!(
        gone,
        json!({ "id": thread.to_string(), "guild_id": STAFF_GUILD.to_string(),
        "parent_id": QUEUE_CHANNEL.to_string(), "type": 12 })
    );
    get(&sb, &format!("/channels/{thread}"))
        .await
        .is_error(404, 10003);
}

#[tokio::test]
async fn an_archived_thread_refuses_edits_and_a_message_unarchives_it_unless_locked() {
    let sb = sandbox().await;
    let thread = private_thread(&sb, "case 12").await;
    let m = say(&sb, thread, "first").await.id();
    sb.archive_thread(thread, true, false);
    bot(
        &sb,
        Method::PATCH,
        &format!("/channels/{thread}/messages/{m}"),
        Some(json!({ "content": "x" })),
    )
    .await
    .is_error(400, 50083);
    assert_eq!(say(&sb, thread, "wake up").await.status, 200);
    assert!(
        !sb.threads()
            .iter()
            .find(|t| t.id == thread)
            .unwrap()
            .archived
    );
    sb.set_bot_permissions(STAFF_GUILD, BOT_STAFF_DEFAULT & !MANAGE_THREADS);
    sb.archive_thread(thread, true, true);
    let path = format!("/channels/{thread}");
    bot(
        &sb,
        Method::PATCH,
        &path,
        Some(json!({ "archived": false })),
    )
    .await
    .is_error(403, 50013);
}
