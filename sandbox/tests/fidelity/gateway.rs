//! events/gateway.mdx, events/gateway-events.mdx, topics/opcodes-and-status-codes.mdx.

use std::time::Duration;

use casebot_sandbox::*;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn hello_gives_a_heartbeat_interval_and_each_heartbeat_gets_an_ack() {
    let sb = sandbox().await;
    let (mut g, hello) = Gateway::connect(&sb).await;
    assert_eq!(hello["op"], 10);
    assert_eq!(hello["d"]["heartbeat_interval"], 41250);
    g.send(json!({ "op": 1, "d": null })).await;
    assert_eq!(g.next().await.unwrap(), json!({ "op": 11 }));
}

#[tokio::test]
async fn get_gateway_answers_the_sandbox_websocket_without_a_query_string() {
    let sb = sandbox().await;
    let r = call(&sb, reqwest::Method::GET, "/gateway", None, None).await;
    assert_eq!(r.body["url"], json!(sb.gateway_url()));
    let bot_reply = get(&sb, "/gateway/bot").await;
    assert_eq!(bot_reply.body["shards"], 1);
    assert_eq!(bot_reply.body["session_start_limit"]["max_concurrency"], 1);
    let anonymous = call(&sb, reqwest::Method::GET, "/gateway/bot", None, None).await;
    anonymous.is_error(401, 0);
}

#[tokio::test]
async fn identify_with_a_wrong_token_closes_with_4004() {
    let sb = sandbox().await;
    let (mut g, _) = Gateway::connect(&sb).await;
    let mut payload = identify_payload(BASIC, false);
    payload["d"]["token"] = json!("Bot not-the-token");
    g.send(payload).await;
    assert_eq!(g.close_code().await, Some(4004));
}

#[tokio::test]
async fn ready_lists_unavailable_guilds_then_each_guild_create_has_only_the_bots_member() {
    let sb = sandbox().await;
    let customer = sb.person("maya");
    let (mut g, ready) = Gateway::identify(&sb, BASIC).await;
    assert_eq!(ready["v"], 10);
    assert_eq!(sf(&ready["user"]["id"]), BOT_USER);
    assert_eq!(sf(&ready["application"]["id"]), APPLICATION);
    assert!(ready["session_id"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(ready["resume_gateway_url"]
        .as_str()
        .is_some_and(|u| u.starts_with("ws://")));
    let guilds = ready["guilds"].as_array().unwrap();
    assert_eq!(guilds.len(), 2);
    assert!(guilds.iter().all(|g| g["unavailable"] == true));
    for _ in 0..2 {
        let guild = g.event("GUILD_CREATE").await;
        let members = guild["members"].as_array().unwrap();
        assert_eq!(members.len(), 1, "no member list without GUILD_PRESENCES");
        assert_eq!(sf(&members[0]["user"]["id"]), BOT_USER);
        assert!(guild["member_count"].as_u64().unwrap() >= 2);
        assert!(!guild["channels"].as_array().unwrap().is_empty());
        assert!(guild["roles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| sf(&r["id"]) == sf(&guild["id"])));
        assert!(!guild.to_string().contains(&customer.to_string()));
    }
}

#[tokio::test]
async fn message_content_is_privileged_identifying_with_it_closes_with_4014_unless_the_portal_allows_it(
) {
    let sb = sandbox().await;
    let (mut g, _) = Gateway::connect(&sb).await;
    g.send(identify_payload(BASIC | MESSAGE_CONTENT, false))
        .await;
    assert_eq!(g.close_code().await, Some(4014));

    let allowed = sandbox_with(Options {
        message_content_intent: true,
        ..Options::default()
    })
    .await;
    let (_, ready) = Gateway::identify(&allowed, BASIC | MESSAGE_CONTENT).await;
    assert_eq!(
        ready["application"]["flags"].as_u64().unwrap() & (1 << 19),
        1 << 19
    );
}

#[tokio::test]
async fn unknown_intent_bits_close_with_4013() {
    let sb = sandbox().await;
    let (mut g, _) = Gateway::connect(&sb).await;
    g.send(identify_payload(1 << 30, false)).await;
    assert_eq!(g.close_code().await, Some(4013));
}

#[tokio::test]
async fn a_request_before_identify_closes_with_4003_a_second_identify_with_4005_an_unknown_opcode_with_4001(
) {
    let sb = sandbox().await;
    let (mut g, _) = Gateway::connect(&sb).await;
    g.send(json!({ "op": 3, "d": { "status": "online", "afk": false, "since": null, "activities": [] } })).await;
    assert_eq!(g.close_code().await, Some(4003));

    let (mut g, _) = Gateway::identify(&sb, BASIC).await;
    g.send(identify_payload(BASIC, false)).await;
    assert_eq!(g.close_code().await, Some(4005));

    let (mut g, _) = Gateway::connect(&sb).await;
    g.send(json!({ "op": 99, "d": null })).await;
    assert_eq!(g.close_code().await, Some(4001));
}

#[tokio::test]
async fn a_payload_over_4096_bytes_closes_with_4002() {
    let sb = sandbox().await;
    let (mut g, _) = Gateway::connect(&sb).await;
    g.send(json!({ "op": 1, "d": null, "padding": "x".repeat(5000) }))
        .await;
    assert_eq!(g.close_code().await, Some(4002));
}

#[tokio::test]
async fn every_dispatch_carries_the_next_sequence_number() {
    let sb = sandbox().await;
    let maya = sb.person("maya");
    let (mut g, _) = Gateway::identify(&sb, BASIC).await;
    let mut seqs = vec![g.last_seq];
    sb.dm(maya, "one");
    sb.dm(maya, "two");
    while let Some(v) = g.next().await {
        if v["op"] == 0 {
            seqs.push(v["s"].as_u64().unwrap());
            assert!(v["t"].is_string());
        }
        if seqs.len() == 5 {
            break;
        }
    }
    assert_eq!(
        seqs,
        vec![1, 2, 3, 4, 5],
        "READY, two GUILD_CREATEs, two MESSAGE_CREATEs"
    );
}

#[tokio::test]
async fn with_compress_true_large_dispatches_come_as_complete_zlib_streams_in_binary_frames() {
    let sb = sandbox().await;
    let (mut g, _) = Gateway::connect(&sb).await;
    g.send(identify_payload(BASIC, true)).await;
    let guild = g.event("GUILD_CREATE").await;
    assert!(guild["id"].is_string());
    assert!(
        g.binary_frames >= 1,
        "GUILD_CREATE is over the 1 KiB threshold"
    );

    let all = sandbox_with(Options {
        compression: Compression::Always,
        ..Options::default()
    })
    .await;
    let maya = all.person("maya");
    let (mut g, _) = Gateway::connect(&all).await;
    g.send(identify_payload(BASIC, true)).await;
    g.event("READY").await;
    let before = g.binary_frames;
    all.dm(maya, "hi");
    g.event("MESSAGE_CREATE").await;
    assert!(g.binary_frames > before);

    let (mut plain, _) = Gateway::identify(&sb, BASIC).await;
    plain.event("GUILD_CREATE").await;
    assert_eq!(plain.binary_frames, 0, "no compression unless asked for");
}

#[tokio::test]
async fn events_come_only_for_the_intents_identified_with() {
    let sb = sandbox().await;
    let maya = sb.person("maya");
    let (mut guilds_only, _) = Gateway::identify(&sb, GUILDS).await;
    let (mut dms, _) = Gateway::identify(&sb, DIRECT_MESSAGES).await;
    sb.dm(maya, "hello");
    assert!(dms.sees("MESSAGE_CREATE", WAIT).await);
    assert!(
        !guilds_only
            .sees("MESSAGE_CREATE", Duration::from_millis(500))
            .await
    );
    assert!(
        !dms.sees("GUILD_CREATE", Duration::from_millis(300)).await,
        "GUILD_CREATE needs GUILDS"
    );
    sb.post(maya, PUBLIC_CHANNEL, "plain guild message")
        .unwrap();
    assert!(
        !dms.sees("MESSAGE_CREATE", Duration::from_millis(500)).await,
        "guild messages need GUILD_MESSAGES"
    );
}

#[tokio::test]
async fn without_message_content_a_guild_message_arrives_blank_unless_it_mentions_the_bot() {
    let sb = sandbox().await;
    let maya = sb.person("maya");
    let (mut g, _) = Gateway::identify(&sb, BASIC).await;
    sb.post(maya, PUBLIC_CHANNEL, "my card number is 1234")
        .unwrap();
    let plain = g.event("MESSAGE_CREATE").await;
    assert_eq!(plain["content"], "");
    assert_eq!(plain["embeds"], json!([]));
    assert_eq!(plain["attachments"], json!([]));
    assert_eq!(plain["components"], json!([]));
    assert_eq!(sf(&plain["guild_id"]), PUBLIC_GUILD);
    assert!(plain["member"]["roles"].is_array() && plain["member"].get("user").is_none());

    sb.mention(maya, PUBLIC_CHANNEL, "help please").unwrap();
    let mention = g.event("MESSAGE_CREATE").await;
    assert_eq!(
        mention["content"],
        json!(format!("<@{BOT_USER}> help please"))
    );
    assert_eq!(sf(&mention["mentions"][0]["id"]), BOT_USER);

    sb.dm(maya, "a dm keeps its content");
    assert_eq!(
        g.event("MESSAGE_CREATE").await["content"],
        "a dm keeps its content"
    );
}

#[tokio::test]
async fn with_message_content_guild_messages_keep_their_content() {
    let sb = sandbox_with(Options {
        message_content_intent: true,
        ..Options::default()
    })
    .await;
    let maya = sb.person("maya");
    let (mut g, _) = Gateway::identify(&sb, BASIC | MESSAGE_CONTENT).await;
    sb.post(maya, PUBLIC_CHANNEL, "visible").unwrap();
    assert_eq!(g.event("MESSAGE_CREATE").await["content"], "visible");
}

#[tokio::test]
async fn the_bots_own_messages_come_back_as_message_create() {
    let sb = sandbox().await;
    let (mut g, _) = Gateway::identify(&sb, BASIC).await;
    let r = say(&sb, PUBLIC_CHANNEL, "from the bot").await;
    assert_eq!(r.status, 200);
    let echo = g.event("MESSAGE_CREATE").await;
    assert_eq!(sf(&echo["author"]["id"]), BOT_USER);
    assert_eq!(
        echo["content"], "from the bot",
        "the bot's own content is never blanked"
    );
}

#[tokio::test]
async fn a_resume_replays_what_was_missed_then_sends_resumed() {
    let sb = sandbox().await;
    let maya = sb.person("maya");
    let (mut g, ready) = Gateway::identify(&sb, BASIC).await;
    let session = ready["session_id"].as_str().unwrap().to_owned();
    g.event("GUILD_CREATE").await;
    g.event("GUILD_CREATE").await;
    let seq = g.last_seq;
    drop(g);
    tokio::time::sleep(Duration::from_millis(100)).await;
    sb.dm(maya, "while you were away");
    let (mut again, _) = Gateway::connect(&sb).await;
    again
        .send(json!({ "op": 6, "d": { "token": bot_auth(), "session_id": session, "seq": seq } }))
        .await;
    let missed = again.event("MESSAGE_CREATE").await;
    assert_eq!(missed["content"], "while you were away");
    again.event("RESUMED").await;
    assert!(sb
        .sessions()
        .iter()
        .any(|s| s.resumed && s.session_id == session));

    let (mut stranger, _) = Gateway::connect(&sb).await;
    stranger
        .send(json!({ "op": 6, "d": { "token": bot_auth(), "session_id": "nope", "seq": 1 } }))
        .await;
    assert_eq!(
        stranger.next().await.unwrap(),
        json!({ "op": 9, "d": false })
    );
}

#[tokio::test]
async fn send_reconnect_sends_op_7() {
    let sb = sandbox().await;
    let (mut g, _) = Gateway::identify(&sb, BASIC).await;
    g.event("GUILD_CREATE").await;
    sb.send_reconnect();
    loop {
        let v = g.next().await.expect("op 7");
        if v["op"] == 7 {
            assert_eq!(v["d"], serde_json::Value::Null);
            break;
        }
    }
}

#[tokio::test]
async fn a_client_close_frame_and_its_code_are_recorded_and_1000_ends_the_session() {
    let sb = sandbox().await;
    let (mut g, ready) = Gateway::identify(&sb, BASIC).await;
    let session = ready["session_id"].as_str().unwrap().to_owned();
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::protocol::{frame::coding::CloseCode, CloseFrame};
    g.ws.send(tokio_tungstenite::tungstenite::Message::Close(Some(
        CloseFrame {
            code: CloseCode::Normal,
            reason: "bye".into(),
        },
    )))
    .await
    .unwrap();
    let closed = sb
        .wait_for(WAIT, |s| {
            s.sessions()
                .iter()
                .any(|c| c.client_close_code == Some(1000))
        })
        .await;
    assert!(closed);
    let record = sb
        .sessions()
        .into_iter()
        .find(|c| c.session_id == session)
        .unwrap();
    assert!(record.client_close_frame && !record.open);

    let (mut again, _) = Gateway::connect(&sb).await;
    again
        .send(json!({ "op": 6, "d": { "token": bot_auth(), "session_id": session, "seq": 1 } }))
        .await;
    assert_eq!(
        again.next().await.unwrap(),
        json!({ "op": 9, "d": false }),
        "1000 invalidates the session"
    );
}

#[tokio::test]
async fn guild_events_go_to_the_guilds_shard_and_dms_to_shard_0() {
    let sb = sandbox().await;
    let maya = sb.person("maya");
    let public_shard = (PUBLIC_GUILD >> 22) % 2;
    let mut shards = Vec::new();
    for id in 0..2u64 {
        let (mut g, _) = Gateway::connect(&sb).await;
        let mut payload = identify_payload(BASIC, false);
        payload["d"]["shard"] = json!([id, 2]);
        g.send(payload).await;
        g.event("READY").await;
        shards.push(g);
    }
    sb.mention(maya, PUBLIC_CHANNEL, "hi").unwrap();
    assert!(
        shards[public_shard as usize]
            .sees("MESSAGE_CREATE", WAIT)
            .await
    );
    assert!(
        !shards[1 - public_shard as usize]
            .sees("MESSAGE_CREATE", Duration::from_millis(400))
            .await
    );
    sb.dm(maya, "dm");
    assert!(shards[0].sees("MESSAGE_CREATE", WAIT).await);

    let (mut bad, _) = Gateway::connect(&sb).await;
    let mut payload = identify_payload(BASIC, false);
    payload["d"]["shard"] = json!([2, 2]);
    bad.send(payload).await;
    assert_eq!(bad.close_code().await, Some(4010));
}

#[tokio::test]
async fn guild_member_update_needs_guild_members_except_for_the_bots_own_member() {
    let sb = sandbox_with(Options {
        guild_members_intent: true,
        ..Options::default()
    })
    .await;
    let ana = sb.person("ana");
    sb.join(STAFF_GUILD, ana, &[]);
    let (mut plain, _) = Gateway::identify(&sb, BASIC).await;
    let (mut members, _) = Gateway::identify(&sb, BASIC | 2).await;
    sb.set_roles(STAFF_GUILD, ana, &[STAFF_ROLE]);
    let update = members.event("GUILD_MEMBER_UPDATE").await;
    assert_eq!(sf(&update["user"]["id"]), ana);
    assert!(
        !plain
            .sees("GUILD_MEMBER_UPDATE", Duration::from_millis(400))
            .await
    );
    sb.set_roles(STAFF_GUILD, BOT_USER, &[STAFF_BOT_ROLE, STAFF_ROLE]);
    assert_eq!(
        sf(&plain.event("GUILD_MEMBER_UPDATE").await["user"]["id"]),
        BOT_USER
    );
}

#[tokio::test]
async fn a_deleted_channel_announces_channel_delete() {
    let sb = sandbox().await;
    let extra = sb.create_channel(STAFF_GUILD, "old-queue");
    let (mut g, _) = Gateway::identify(&sb, BASIC).await;
    sb.delete_channel(extra);
    let gone = g.event("CHANNEL_DELETE").await;
    assert_eq!(sf(&gone["id"]), extra);
    assert_eq!(gone["name"], "old-queue");
}
