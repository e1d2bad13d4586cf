//! resources/message.mdx: create, list, get, edit, delete, bulk delete; limits; allowed
//! mentions; nonces; replies; attachments and the signed CDN; reference.mdx errors.

use std::time::Duration;

use casebot_sandbox::*;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::*;

fn messages(channel: u64) -> String {
    format!("/channels/{channel}/messages")
}

#[tokio::test]
async fn content_over_2000_characters_is_an_invalid_form_body_naming_the_field() {
    let sb = sandbox().await;
    let r = say(&sb, PUBLIC_CHANNEL, &"é".repeat(2001)).await;
    r.is_error(400, 50035);
    assert_eq!(r.body["message"], "Invalid Form Body");
    assert_eq!(
        r.body["errors"]["content"]["_errors"][0]["code"],
        "BASE_TYPE_MAX_LENGTH"
    );
    assert_eq!(
        say(&sb, PUBLIC_CHANNEL, &"é".repeat(2000)).await.status,
        200
    );
}

#[tokio::test]
async fn an_empty_message_is_refused_with_50006() {
    let sb = sandbox().await;
    post(&sb, &messages(PUBLIC_CHANNEL), json!({ "content": "" }))
        .await
        .is_error(400, 50006);
}

#[tokio::test]
async fn bad_json_is_50109_and_a_wrong_content_type_is_50035() {
    let sb = sandbox().await;
    let client = reqwest::Client::new();
    let url = format!("{}/api/v10{}", sb.base_url(), messages(PUBLIC_CHANNEL));
    let r = client
        .post(&url)
        .header("authorization", bot_auth())
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], 50109);
    let r = client
        .post(&url)
        .header("authorization", bot_auth())
        .header("content-type", "text/plain")
        .body("hi")
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["code"], 50035);
}

#[tokio::test]
async fn embeds_are_limited_to_10_and_6000_characters_with_each_field_within_its_limit() {
    let sb = unlimited().await;
    let path = messages(PUBLIC_CHANNEL);
    let eleven: Vec<Value> = (0..11)
        .map(|i| json!({ "title": format!("t{i}") }))
        .collect();
    post(&sb, &path, json!({ "embeds": eleven }))
        .await
        .is_error(400, 50035);
    let r = post(
        &sb,
        &path,
        json!({ "embeds": [{ "title": "x".repeat(257) }] }),
    )
    .await;
    assert_eq!(
        r.body["errors"]["embeds"]["0"]["title"]["_errors"][0]["code"],
        "BASE_TYPE_MAX_LENGTH"
    );
    let big: Vec<Value> = (0..2)
        .map(|_| json!({ "description": "d".repeat(3500) }))
        .collect();
    let r = post(&sb, &path, json!({ "embeds": big })).await;
    r.is_error(400, 50035);
    assert_eq!(
        r.body["errors"]["embeds"]["_errors"][0]["code"],
        "MAX_EMBED_SIZE_EXCEEDED"
    );
    let r = post(
        &sb,
        &path,
        json!({ "embeds": [{ "fields": [{ "name": "n" }] }] }),
    )
    .await;
    assert_eq!(
        r.body["errors"]["embeds"]["0"]["fields"]["0"]["value"]["_errors"][0]["code"],
        "BASE_TYPE_REQUIRED"
    );
    let ok = post(
        &sb,
        &path,
        json!({ "embeds": [{ "title": "  padded  ", "footer": { "text": "f" } }] }),
    )
    .await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body["embeds"][0]["type"], "rich");
}

#[tokio::test]
async fn components_allow_5_rows_of_5_buttons_with_unique_custom_ids_of_1_to_100_characters() {
    let sb = unlimited().await;
    let path = messages(PUBLIC_CHANNEL);
    let button = |id: &str| json!({ "type": 2, "style": 1, "label": "b", "custom_id": id });
    let row = |ids: &[&str]| json!({ "type": 1, "components": ids.iter().map(|i| button(i)).collect::<Vec<_>>() });
    let six_rows: Vec<Value> = (0..6).map(|i| row(&[&format!("r{i}")])).collect();
    post(
        &sb,
        &path,
        json!({ "content": "x", "components": six_rows }),
    )
    .await
    .is_error(400, 50035);
    post(
        &sb,
        &path,
        json!({ "content": "x", "components": [row(&["a", "b", "c", "d", "e", "f"])] }),
    )
    .await
    .is_error(400, 50035);
    post(
        &sb,
        &path,
        json!({ "content": "x", "components": [row(&["same", "same"])] }),
    )
    .await
    .is_error(400, 50035);
    post(
        &sb,
        &path,
        json!({ "content": "x", "components": [row(&[&"i".repeat(101)])] }),
    )
    .await
    .is_error(400, 50035);
    let long_label = json!({ "type": 1, "components": [{ "type": 2, "style": 1, "label": "l".repeat(81), "custom_id": "ok" }] });
    post(
        &sb,
        &path,
        json!({ "content": "x", "components": [long_label] }),
    )
    .await
    .is_error(400, 50035);
    let bare_button = json!({ "type": 2, "style": 1, "label": "b", "custom_id": "top" });
    post(
        &sb,
        &path,
        json!({ "content": "x", "components": [bare_button] }),
    )
    .await
    .is_error(400, 50035);
    let options: Vec<Value> = (0..26)
        .map(|i| json!({ "label": format!("o{i}"), "value": format!("v{i}") }))
        .collect();
    let select = json!({ "type": 1, "components": [{ "type": 3, "custom_id": "pick", "options": options }] });
    post(
        &sb,
        &path,
        json!({ "content": "x", "components": [select] }),
    )
    .await
    .is_error(400, 50035);
    let link = json!({ "type": 1, "components": [{ "type": 2, "style": 5, "label": "docs", "url": "https://example.com", "custom_id": "no" }] });
    post(&sb, &path, json!({ "content": "x", "components": [link] }))
        .await
        .is_error(400, 50035);
    let ok = post(
        &sb,
        &path,
        json!({ "content": "x", "components": [row(&["a", "b", "c", "d", "e"])] }),
    )
    .await;
    assert_eq!(ok.status, 200);
}

#[tokio::test]
async fn allowed_mentions_parse_with_users_together_is_an_error_and_what_was_sent_is_recorded() {
    let sb = unlimited().await;
    let maya = sb.person("maya");
    let path = messages(PUBLIC_CHANNEL);
    let bad = json!({ "content": format!("<@{maya}>"), "allowed_mentions": { "parse": ["users"], "users": [maya.to_string()] } });
    let r = post(&sb, &path, bad).await;
    r.is_error(400, 50035);
    assert!(r.body["errors"]["allowed_mentions"]["_errors"][0]["code"].is_string());
    let none = json!({ "content": format!("hi <@{maya}>"), "allowed_mentions": { "parse": [] } });
    let r = post(&sb, &path, none).await;
    assert_eq!(r.body["mentions"], json!([]), "parse [] pings nobody");
    let m = sb.message(r.id()).unwrap();
    assert_eq!(m.allowed_mentions, Some(json!({ "parse": [] })));
    let listed = json!({ "content": format!("hi <@{maya}>"), "allowed_mentions": { "users": [maya.to_string()] } });
    assert_eq!(
        sf(&post(&sb, &path, listed).await.body["mentions"][0]["id"]),
        maya
    );
    let default = say(&sb, PUBLIC_CHANNEL, &format!("<@{maya}>")).await;
    assert_eq!(
        default.body["mentions"].as_array().unwrap().len(),
        1,
        "regular messages parse users by default"
    );
}

#[tokio::test]
async fn enforce_nonce_returns_the_first_message_for_a_repeated_nonce() {
    let sb = unlimited().await;
    let path = messages(PUBLIC_CHANNEL);
    let body = json!({ "content": "once", "nonce": "case-7-reply-1", "enforce_nonce": true });
    let first = post(&sb, &path, body.clone()).await;
    let second = post(&sb, &path, body).await;
    assert_eq!(first.id(), second.id());
    assert_eq!(sb.messages_in(PUBLIC_CHANNEL).len(), 1);
    let loose = json!({ "content": "twice", "nonce": "n2" });
    post(&sb, &path, loose.clone()).await;
    post(&sb, &path, loose).await;
    assert_eq!(
        sb.messages_in(PUBLIC_CHANNEL).len(),
        3,
        "without enforce_nonce both post"
    );
    let long = json!({ "content": "x", "nonce": "n".repeat(26) });
    post(&sb, &path, long).await.is_error(400, 50035);
}

#[tokio::test]
async fn a_reply_references_an_existing_message_and_an_unknown_one_fails_unless_told_not_to() {
    let sb = unlimited().await;
    let maya = sb.person("maya");
    let asked = sb.post(maya, PUBLIC_CHANNEL, "question").unwrap();
    let path = messages(PUBLIC_CHANNEL);
    let r = post(
        &sb,
        &path,
        json!({ "content": "answer", "message_reference": { "message_id": asked.to_string() } }),
    )
    .await;
    assert_eq!(r.body["type"], 19);
    assert_eq!(sf(&r.body["message_reference"]["message_id"]), asked);
    assert_eq!(sb.message(r.id()).unwrap().reply_to, Some(asked));
    let gone = json!({ "content": "a", "message_reference": { "message_id": "1234" } });
    post(&sb, &path, gone).await.is_error(400, 50035);
    let lenient = json!({ "content": "a", "message_reference": { "message_id": "1234", "fail_if_not_exists": false } });
    assert_eq!(post(&sb, &path, lenient).await.body["type"], 0);
}

#[tokio::test]
async fn history_is_newest_first_with_before_after_around_and_limit() {
    let sb = unlimited().await;
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(say(&sb, PUBLIC_CHANNEL, &format!("m{i}")).await.id());
    }
    let page = |q: String| {
        let sb = sb.clone();
        async move {
            let r = get(&sb, &format!("{}?{q}", messages(PUBLIC_CHANNEL))).await;
            r.body
                .as_array()
                .unwrap()
                .iter()
                .map(|m| sf(&m["id"]))
                .collect::<Vec<u64>>()
        }
    };
    assert_eq!(page("limit=2".into()).await, vec![ids[5], ids[4]]);
    assert_eq!(
        page(format!("before={}&limit=2", ids[3])).await,
        vec![ids[2], ids[1]]
    );
    assert_eq!(
        page(format!("after={}&limit=2", ids[1])).await,
        vec![ids[3], ids[2]]
    );
    assert_eq!(
        page(format!("around={}&limit=3", ids[3])).await,
        vec![ids[4], ids[3], ids[2]]
    );
    get(&sb, &format!("{}?limit=101", messages(PUBLIC_CHANNEL)))
        .await
        .is_error(400, 50035);
    get(
        &sb,
        &format!("{}?before=1&after=2", messages(PUBLIC_CHANNEL)),
    )
    .await
    .is_error(400, 50035);
}

#[tokio::test]
async fn messages_read_over_rest_are_blank_without_the_portal_message_content_switch() {
    let sb = sandbox().await;
    let maya = sb.person("maya");
    let m = sb
        .post_while_offline(maya, PUBLIC_CHANNEL, "while the bot was down")
        .unwrap();
    let r = get(&sb, &format!("{}/{m}", messages(PUBLIC_CHANNEL))).await;
    assert_eq!(r.body["content"], "");
    let dm = sb.dm_while_offline(maya, "dm content stays");
    let channel = sb.dm_channel(maya);
    assert_eq!(
        get(&sb, &format!("{}/{dm}", messages(channel))).await.body["content"],
        "dm content stays"
    );

    let open = sandbox_with(Options {
        message_content_intent: true,
        ..Options::default()
    })
    .await;
    let ana = open.person("ana");
    let m = open
        .post_while_offline(ana, PUBLIC_CHANNEL, "readable")
        .unwrap();
    assert_eq!(
        get(&open, &format!("{}/{m}", messages(PUBLIC_CHANNEL)))
            .await
            .body["content"],
        "readable"
    );
}

#[tokio::test]
async fn only_the_author_edits_content_and_an_edit_fires_message_update() {
    let sb = sandbox().await;
    let maya = sb.person("maya");
    let (mut g, _) = Gateway::identify(&sb, BASIC).await;
    let mine = say(&sb, PUBLIC_CHANNEL, "v1").await.id();
    let path = format!("{}/{mine}", messages(PUBLIC_CHANNEL));
    let r = bot(&sb, Method::PATCH, &path, Some(json!({ "content": "v2" }))).await;
    assert_eq!(r.body["content"], "v2");
    assert!(r.body["edited_timestamp"].is_string());
    assert_eq!(g.event("MESSAGE_UPDATE").await["content"], "v2");
    let theirs = sb.post(maya, PUBLIC_CHANNEL, "customer text").unwrap();
    let path = format!("{}/{theirs}", messages(PUBLIC_CHANNEL));
    bot(
        &sb,
        Method::PATCH,
        &path,
        Some(json!({ "content": "rewritten" })),
    )
    .await
    .is_error(403, 50005);
    bot(
        &sb,
        Method::PATCH,
        &format!("{}/1", messages(PUBLIC_CHANNEL)),
        Some(json!({ "content": "x" })),
    )
    .await
    .is_error(404, 10008);
}

#[tokio::test]
async fn deleting_anothers_message_needs_manage_messages_and_fires_message_delete() {
    let sb = sandbox().await;
    let maya = sb.person("maya");
    let (mut g, _) = Gateway::identify(&sb, BASIC).await;
    let theirs = sb.post(maya, PUBLIC_CHANNEL, "my address is ...").unwrap();
    let path = format!("{}/{theirs}", messages(PUBLIC_CHANNEL));
    assert_eq!(
        bot(&sb, Method::DELETE, &path, None).await.status,
        204,
        "the public server grants MANAGE_MESSAGES"
    );
    let gone = g.event("MESSAGE_DELETE").await;
    assert_eq!(sf(&gone["id"]), theirs);
    assert_eq!(sf(&gone["guild_id"]), PUBLIC_GUILD);
    bot(&sb, Method::DELETE, &path, None)
        .await
        .is_error(404, 10008);

    sb.set_bot_permissions(PUBLIC_GUILD, permissions::BOT_STAFF_DEFAULT);
    let again = sb.post(maya, PUBLIC_CHANNEL, "again").unwrap();
    let path = format!("{}/{again}", messages(PUBLIC_CHANNEL));
    bot(&sb, Method::DELETE, &path, None)
        .await
        .is_error(403, 50013);

    let dm = sb.dm(maya, "in a dm");
    let channel = sb.dm_channel(maya);
    bot(
        &sb,
        Method::DELETE,
        &format!("{}/{dm}", messages(channel)),
        None,
    )
    .await
    .is_error(403, 50003);
}

#[tokio::test]
async fn bulk_delete_takes_2_to_100_unique_ids_in_a_guild_channel() {
    let sb = unlimited().await;
    let a = say(&sb, PUBLIC_CHANNEL, "a").await.id();
    let b = say(&sb, PUBLIC_CHANNEL, "b").await.id();
    let path = format!("{}/bulk-delete", messages(PUBLIC_CHANNEL));
    post(&sb, &path, json!({ "messages": [a.to_string()] }))
        .await
        .is_error(400, 50035);
    post(
        &sb,
        &path,
        json!({ "messages": [a.to_string(), a.to_string()] }),
    )
    .await
    .is_error(400, 50035);
    assert_eq!(
        post(
            &sb,
            &path,
            json!({ "messages": [a.to_string(), b.to_string()] })
        )
        .await
        .status,
        204
    );
    assert!(sb.messages_in(PUBLIC_CHANNEL).is_empty());
}

async fn upload(sb: &Sandbox, channel: u64, name: &str, bytes: Vec<u8>) -> Reply {
    let payload = json!({ "content": "file", "attachments": [{ "id": 0, "filename": name, "description": "a file" }] });
    let form = reqwest::multipart::Form::new()
        .text("payload_json", payload.to_string())
        .part(
            "files[0]",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
        );
    let url = format!("{}/api/v10{}", sb.base_url(), messages(channel));
    let res = reqwest::Client::new()
        .post(url)
        .header("authorization", bot_auth())
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    Reply {
        status,
        body: res.json().await.unwrap_or(Value::Null),
        headers,
    }
}

#[tokio::test]
async fn files_go_as_multipart_and_their_cdn_urls_expire() {
    let sb = sandbox_with(Options {
        attachment_url_lifetime: Duration::from_secs(1),
        ..Options::default()
    })
    .await;
    let r = upload(&sb, PUBLIC_CHANNEL, "notes.txt", b"hello file".to_vec()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let a = &r.body["attachments"][0];
    assert_eq!(a["filename"], "notes.txt");
    assert_eq!(a["size"], 10);
    assert_eq!(a["description"], "a file");
    let url = a["url"].as_str().unwrap().to_owned();
    assert!(url.contains("ex=") && url.contains("is=") && url.contains("hm="));
    let fresh = reqwest::get(&url).await.unwrap();
    assert_eq!(fresh.status(), 200);
    assert_eq!(fresh.bytes().await.unwrap().as_ref(), b"hello file");
    let forged = url.replace("hm=", "hm=0");
    assert_eq!(reqwest::get(&forged).await.unwrap().status(), 404);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        reqwest::get(&url).await.unwrap().status(),
        404,
        "the stored link expired"
    );
    let refetched = get(&sb, &format!("{}/{}", messages(PUBLIC_CHANNEL), r.id())).await;
    let renewed = refetched.body["attachments"][0]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        reqwest::get(&renewed).await.unwrap().status(),
        200,
        "fetching the message signs it afresh"
    );
}

#[tokio::test]
async fn a_file_over_the_upload_limit_is_refused_as_too_large() {
    let sb = sandbox_with(Options {
        upload_limit: 1024,
        ..Options::default()
    })
    .await;
    let r = upload(&sb, PUBLIC_CHANNEL, "big.bin", vec![0; 2048]).await;
    r.is_error(413, 40005);
    assert_eq!(
        upload(&sb, PUBLIC_CHANNEL, "small.bin", vec![0; 100])
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_persons_dm_files_reach_the_bot_as_attachments() {
    let sb = sandbox().await;
    let maya = sb.person("maya");
    let (mut g, _) = Gateway::identify(&sb, BASIC).await;
    sb.dm_with_files(maya, "receipt attached", &[("receipt.pdf", b"%PDF")]);
    let m = g.event("MESSAGE_CREATE").await;
    assert_eq!(m["attachments"][0]["filename"], "receipt.pdf");
    let url = m["attachments"][0]["url"].as_str().unwrap();
    assert_eq!(
        reqwest::get(url)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .as_ref(),
        b"%PDF"
    );
}

#[tokio::test]
async fn dms_closed_answers_50007_cannot_send_messages_to_this_user() {
    let sb = sandbox().await;
    let zoe = sb.person("zoe");
    let dm = post(
        &sb,
        "/users/@me/channels",
        json!({ "recipient_id": zoe.to_string() }),
    )
    .await;
    assert_eq!(dm.body["type"], 1);
    let channel = dm.id();
    assert_eq!(
        post(
            &sb,
            "/users/@me/channels",
            json!({ "recipient_id": zoe.to_string() })
        )
        .await
        .id(),
        channel,
        "the same DM channel each time"
    );
    sb.set_dms_closed(zoe, true);
    let r = say(&sb, channel, "hello").await;
    r.is_error(403, 50007);
    assert_eq!(r.body["message"], "Cannot send messages to this user");
    let other = sb.other_bot("helper");
    let to_bot = post(
        &sb,
        "/users/@me/channels",
        json!({ "recipient_id": other.to_string() }),
    )
    .await
    .id();
    say(&sb, to_bot, "hi bot").await.is_error(403, 50007);
}
