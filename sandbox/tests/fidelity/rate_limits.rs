//! topics/rate-limits.mdx: the global limit, per-route buckets, the 429 body and headers, the
//! invalid-request count, injected limits and faults.

use std::time::Duration;

use casebot_sandbox::*;
use reqwest::Method;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn normal_answers_carry_the_rate_limit_headers() {
    let sb = sandbox().await;
    let r = say(&sb, PUBLIC_CHANNEL, "one").await;
    assert_eq!(r.header("x-ratelimit-limit").as_deref(), Some("5"));
    assert_eq!(r.header("x-ratelimit-remaining").as_deref(), Some("4"));
    assert!(
        r.header("x-ratelimit-reset")
            .unwrap()
            .parse::<f64>()
            .unwrap()
            > 1.7e9
    );
    assert!(
        r.header("x-ratelimit-reset-after")
            .unwrap()
            .parse::<f64>()
            .unwrap()
            <= 5.0
    );
    assert!(r
        .header("x-ratelimit-bucket")
        .is_some_and(|b| !b.is_empty()));
}

#[tokio::test]
async fn the_sixth_message_in_five_seconds_to_one_channel_is_429_with_retry_after() {
    let sb = sandbox().await;
    for i in 0..5 {
        assert_eq!(say(&sb, PUBLIC_CHANNEL, &format!("m{i}")).await.status, 200);
    }
    let r = say(&sb, PUBLIC_CHANNEL, "too many").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.body["message"], "You are being rate limited.");
    assert_eq!(r.body["global"], false);
    let retry = r.body["retry_after"].as_f64().unwrap();
    assert!(retry > 0.0 && retry <= 5.0);
    assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    assert_eq!(r.header("x-ratelimit-scope").as_deref(), Some("user"));
    assert_eq!(r.header("x-ratelimit-remaining").as_deref(), Some("0"));
    assert!(r.header("x-ratelimit-global").is_none());
    assert_eq!(
        say(&sb, QUEUE_CHANNEL, "another channel").await.status,
        200,
        "buckets count per channel"
    );
    assert_eq!(sb.messages_in(PUBLIC_CHANNEL).len(), 5);
}

#[tokio::test]
async fn more_than_the_global_limit_per_second_is_a_global_429() {
    let sb = sandbox_with(Options {
        global_limit: 10,
        ..Options::default()
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..11 {
        statuses.push(get(&sb, "/users/@me").await);
    }
    let last = statuses.pop().unwrap();
    assert!(statuses.iter().all(|r| r.status == 200));
    assert_eq!(last.status, 429);
    assert_eq!(last.body["global"], true);
    assert_eq!(last.header("x-ratelimit-global").as_deref(), Some("true"));
    assert_eq!(last.header("x-ratelimit-scope").as_deref(), Some("global"));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(get(&sb, "/users/@me").await.status, 200);
    assert_eq!(Options::default().global_limit, 50);
}

#[tokio::test]
async fn interaction_endpoints_are_not_bound_to_the_global_limit() {
    let sb = sandbox_with(Options {
        global_limit: 1,
        ..Options::default()
    })
    .await;
    get(&sb, "/users/@me").await;
    let r = call(
        &sb,
        Method::POST,
        "/interactions/1/x/callback",
        Some(json!({ "type": 6 })),
        None,
    )
    .await;
    r.is_error(404, 10062);
}

#[tokio::test]
async fn the_request_log_counts_requests_per_second_across_processes_sharing_a_token() {
    let sb = unlimited().await;
    let a = sb.clone();
    let b = sb.clone();
    let (x, y) = tokio::join!(
        async move {
            for _ in 0..5 {
                get(&a, "/users/@me").await;
            }
        },
        async move {
            for _ in 0..5 {
                get(&b, "/users/@me").await;
            }
        }
    );
    let _ = (x, y);
    let log = sb.requests();
    assert_eq!(
        log.iter()
            .filter(|r| r.token.as_deref() == Some(bot_auth().as_str()))
            .count(),
        10
    );
    let first = log[0].instant;
    assert!(log
        .iter()
        .all(|r| r.instant.duration_since(first) < Duration::from_secs(5)));
}

#[tokio::test]
async fn invalid_requests_are_counted_and_past_the_limit_the_caller_is_banned() {
    let sb = sandbox_with(Options {
        invalid_request_limit: 5,
        ..Options::default()
    })
    .await;
    for _ in 0..3 {
        call(&sb, Method::GET, "/users/@me", None, Some("Bot bad")).await;
    }
    get(&sb, "/channels/1").await;
    assert_eq!(sb.invalid_requests(), 3, "404s do not count, 401s do");
    for _ in 0..2 {
        call(&sb, Method::GET, "/users/@me", None, None).await;
    }
    let banned = get(&sb, "/users/@me").await;
    assert_eq!(banned.status, 429);
    assert!(
        banned.body.is_null(),
        "Cloudflare's page, not Discord's JSON"
    );
}

#[tokio::test]
async fn an_injected_429_answers_the_next_requests_with_the_given_retry_after() {
    let sb = sandbox().await;
    sb.rate_limit_next(1, RateLimitScope::Global, Duration::from_millis(1500));
    let r = say(&sb, PUBLIC_CHANNEL, "x").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.body["retry_after"], 1.5);
    assert_eq!(r.body["global"], true);
    assert_eq!(r.header("retry-after").as_deref(), Some("2"));
    sb.rate_limit_next(2, RateLimitScope::Route, Duration::from_millis(250));
    let r = say(&sb, PUBLIC_CHANNEL, "y").await;
    assert_eq!(
        (r.status.as_u16(), r.body["global"].clone()),
        (429, json!(false))
    );
    assert_eq!(r.header("x-ratelimit-scope").as_deref(), Some("user"));
    assert_eq!(say(&sb, PUBLIC_CHANNEL, "z").await.status, 429);
    assert_eq!(say(&sb, PUBLIC_CHANNEL, "ok").await.status, 200);
}

#[tokio::test]
async fn fail_next_answers_the_next_requests_with_the_given_error() {
    let sb = sandbox().await;
    sb.fail_next(1, 500, 0);
    assert_eq!(say(&sb, PUBLIC_CHANNEL, "x").await.status, 500);
    sb.fail_next(1, 403, 50013);
    say(&sb, PUBLIC_CHANNEL, "x").await.is_error(403, 50013);
    assert_eq!(say(&sb, PUBLIC_CHANNEL, "x").await.status, 200);
}

#[tokio::test]
async fn renaming_a_channel_is_limited_to_two_in_ten_minutes() {
    let sb = sandbox().await;
    let thread = post(
        &sb,
        &format!("/channels/{QUEUE_CHANNEL}/threads"),
        json!({ "name": "t0", "type": 12 }),
    )
    .await
    .id();
    let path = format!("/channels/{thread}");
    assert_eq!(
        bot(&sb, Method::PATCH, &path, Some(json!({ "name": "t1" })))
            .await
            .status,
        200
    );
    assert_eq!(
        bot(&sb, Method::PATCH, &path, Some(json!({ "name": "t2" })))
            .await
            .status,
        200
    );
    let third = bot(&sb, Method::PATCH, &path, Some(json!({ "name": "t3" }))).await;
    assert_eq!(third.status, 429);
    assert!(third.body["retry_after"].as_f64().unwrap() > 500.0);
    assert_eq!(
        bot(&sb, Method::PATCH, &path, Some(json!({ "archived": true })))
            .await
            .status,
        200,
        "archiving is no rename"
    );
}
