//! The `casebot` binary as an operator uses it: each command run as its own process on a test
//! database, judged by its exit code, its output and what it left in the database.

use std::process::{Command, Output};

use casebot::domain::CaseId;
use casebot::store::Backend;

use crate::on_both_backends;
use crate::support::sql;
use crate::support::TestDb;

on_both_backends!(
    migrate_then_audit_verify_succeeds_on_a_new_database,
    audit_verify_exits_non_zero_and_names_the_tampered_event,
    intake_then_case_show_and_export_tell_the_same_story,
    staff_work_the_queue_from_the_command_line,
    a_replay_reports_bad_lines_and_takes_each_message_in_once,
);

fn casebot(database_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_casebot"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env_remove("CASEBOT_CONFIG")
        .env("RUST_LOG", "warn")
        .output()
        .expect("the casebot binary runs")
}

/// Changes rows behind casebot's back, as someone with write access to the database could.
async fn tamper(store: &casebot::store::Store, statement: &str) {
    let before = sql::number(store, "SELECT COUNT(*) FROM audit_events").await;
    match (store.sqlite_pool(), store.postgres_pool()) {
        (Some(pool), _) => sqlx::query(statement).execute(pool).await.map(|_| ()),
        (_, Some(pool)) => sqlx::query(statement).execute(pool).await.map(|_| ()),
        _ => unreachable!("a store is on one backend or the other"),
    }
    .unwrap();
    assert!(before > 0);
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

async fn migrate_then_audit_verify_succeeds_on_a_new_database(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let migrate = casebot(&db.url, &["migrate"]);
    assert!(migrate.status.success(), "{migrate:?}");
    let verify = casebot(&db.url, &["audit", "verify"]);
    assert!(verify.status.success(), "{verify:?}");
    assert_eq!(
        stdout(&verify),
        "audit log intact: 0 events verified in 0 chains, 0 checkpoints\n"
    );
    db.cleanup().await;
}

async fn audit_verify_exits_non_zero_and_names_the_tampered_event(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    for (id, text) in [("m1", "one"), ("m2", "two")] {
        let out = casebot(
            &db.url,
            &["intake", "--from", "u1", "--message-id", id, text],
        );
        assert!(out.status.success(), "{out:?}");
    }
    let store = db.store().await;
    tamper(
        &store,
        "UPDATE audit_events SET details = '{}' WHERE id = 2",
    )
    .await;
    let verify = casebot(&db.url, &["audit", "verify"]);
    assert_eq!(verify.status.code(), Some(1));
    let text = stdout(&verify);
    assert!(text.contains("event #2 was edited"), "{text}");
    db.cleanup().await;
}

async fn intake_then_case_show_and_export_tell_the_same_story(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let out = casebot(
        &db.url,
        &[
            "intake",
            "--from",
            "u9",
            "--name",
            "Ivy",
            "--public",
            "@casebot hi",
        ],
    );
    let outcome: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcome["intake"]["disposition"], "new");
    assert_eq!(outcome["routing"]["flow"], "general_help");
    let case_id = outcome["intake"]["case_id"].to_string();

    let show = casebot(&db.url, &["case", "show", &case_id, "--json"]);
    let case: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(case["customer_name"], "Ivy");
    assert_eq!(case["origin"], "public_mention");
    assert_eq!(case["messages"][0]["text"], "@casebot hi");

    let export = casebot(&db.url, &["audit", "export", "--case", &case_id]);
    let actions: Vec<String> = stdout(&export)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["action"].to_string())
        .collect();
    assert_eq!(
        actions,
        ["\"case.opened\"", "\"message.received\"", "\"case.routed\""]
    );
    db.cleanup().await;
}

#[test]
fn a_bad_config_value_exits_with_2_naming_key_value_and_expectation() {
    let out = Command::new(env!("CARGO_BIN_EXE_casebot"))
        .args(["config", "check"])
        .env("CASEBOT__CASES__REOPEN_WINDOW_HOURS", "-5")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.trim(),
        "error: invalid value \"-5\" for cases.reopen_window_hours: expected a whole number from 1 to 8760"
    );
}

#[test]
fn a_bad_routing_rules_file_exits_with_2_naming_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.toml");
    std::fs::write(
        &path,
        "[[rule]]\nname = \"fast lane\"\nescalate = { priority = \"now\", reason = \"x\" }\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_casebot"))
        .args(["config", "check"])
        .env("CASEBOT__ROUTING__RULES_FILE", &path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("routing rule #1 (\"fast lane\"), field `escalate.priority`"),
        "{err}"
    );
}

#[test]
fn config_check_shows_the_settings_with_secrets_masked() {
    let out = Command::new(env!("CARGO_BIN_EXE_casebot"))
        .args(["config", "check"])
        .env("DATABASE_URL", "postgres://casebot:hunter2@db/casebot")
        .env("DISCORD_TOKEN", "very-secret-token")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    assert!(text.contains("postgres://casebot:***@db/casebot"), "{text}");
    assert!(
        !text.contains("hunter2") && !text.contains("very-secret-token"),
        "{text}"
    );
}

#[test]
fn an_unreachable_database_exits_non_zero_with_one_clear_line() {
    let out = Command::new(env!("CARGO_BIN_EXE_casebot"))
        .args(["migrate"])
        .env("DATABASE_URL", "postgres://casebot@127.0.0.1:1/casebot")
        .env("CASEBOT__DATABASE__CONNECT_TIMEOUT_SECS", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: cannot open the database at postgres://casebot@127.0.0.1:1"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn classify_prints_one_decision_per_line_even_for_empty_and_invalid_utf8_lines() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_casebot"))
        .arg("classify")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let input: &[u8] = b"someone hacked my account\n\nwhere is my order \xff\xfe?\n";
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["intent"], "account_security");
    assert_eq!(lines[0]["escalate"], true);
    assert_eq!(lines[0]["priority"], "urgent");
    assert_eq!(lines[1]["intent"], "other");
    assert_eq!(lines[2]["intent"], "order_tracking");
}

async fn staff_work_the_queue_from_the_command_line(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    for (who, text) in [
        ("u1", "someone hacked my account"),
        ("u2", "I want to talk to a human agent now, this is urgent"),
    ] {
        let out = casebot(&db.url, &["intake", "--from", who, text]);
        assert!(out.status.success(), "{out:?}");
    }
    assert!(casebot(&db.url, &["staff", "add", "ana"]).status.success());

    let list = casebot(&db.url, &["queue", "list", "--json"]);
    let entries: Vec<serde_json::Value> = stdout(&list)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        entries.len(),
        2,
        "both cases wait for a person: {entries:?}"
    );
    assert_eq!(
        entries[0]["intent"], "account_security",
        "the urgent one first"
    );
    assert_eq!(entries[0]["priority"], "urgent");
    assert_eq!(entries[1]["priority"], "high");
    assert_eq!(entries[0]["state"], "escalated");
    assert!(entries[0]["waiting_since"].is_string());
    assert_eq!(entries[0]["claimed_by"], serde_json::Value::Null);

    let refused = casebot(&db.url, &["queue", "next", "--as", "mallory"]);
    assert_eq!(refused.status.code(), Some(1));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(err.trim(), "error: mallory is not on the support team");

    let next = casebot(&db.url, &["queue", "next", "--as", "ana"]);
    assert!(stdout(&next).starts_with("ana claimed case #"), "{next:?}");
    let case_id = entries[0]["case_id"].to_string();
    let run = |args: &[&str]| {
        let out = casebot(&db.url, args);
        assert!(out.status.success(), "{args:?}: {out:?}");
        stdout(&out)
    };
    run(&[
        "queue",
        "note",
        &case_id,
        "reset their password",
        "--as",
        "ana",
    ]);
    let reply = run(&[
        "queue",
        "reply",
        &case_id,
        "Your account is safe again.",
        "--as",
        "ana",
    ]);
    assert_eq!(
        reply,
        format!("reply to case #{case_id} queued for delivery\n")
    );
    let asked = run(&["call-me", "--case", &case_id, "--phone", "+1 415 555 0100"]);
    assert!(
        asked.contains("+14*******00") && !asked.contains("5550100"),
        "{asked}"
    );
    let shown = run(&["queue", "callback", &case_id, "--as", "ana"]);
    assert!(shown.starts_with("call +14155550100 for case #"), "{shown}");
    let bad = casebot(
        &db.url,
        &["call-me", "--case", &case_id, "--phone", "555-0100"],
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("country code"));
    let resolve = casebot(
        &db.url,
        &[
            "queue",
            "resolve",
            &case_id,
            "--summary",
            "secured",
            "--as",
            "ana",
        ],
    );
    assert!(
        stdout(&resolve).contains("it is now resolved"),
        "{resolve:?}"
    );
    db.cleanup().await;
}

async fn a_replay_reports_bad_lines_and_takes_each_message_in_once(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/replay.jsonl");
    let out = casebot(&db.url, &["replay", file, "--speed", "600", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let summary: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(summary["messages"], 7);
    assert_eq!(summary["bad_line_numbers"], serde_json::json!([6]));
    assert_eq!(
        summary["duplicates"], 1,
        "r1 appears twice and is taken in once"
    );
    assert_eq!(summary["cases"], 4);
    // Routing decided to hand three messages to a person: the hacked account, the frustrated
    // billing complaint, and the same customer's request for a person on that case.
    assert_eq!(summary["escalations"], 3, "{summary}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 6:"));
    let counts = db.store().await.counts().await.unwrap();
    assert_eq!((counts.cases, counts.messages), (4, 6));
    let queued = casebot(&db.url, &["queue", "list", "--json"]);
    assert_eq!(
        stdout(&queued).lines().count(),
        2,
        "two cases wait for a person"
    );
    db.cleanup().await;
}

#[test]
fn run_without_a_token_says_so_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("c.db").display());
    let out = Command::new(env!("CARGO_BIN_EXE_casebot"))
        .arg("run")
        .env("DATABASE_URL", &url)
        .env_remove("DISCORD_TOKEN")
        .env_remove("CASEBOT_CONFIG")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("DISCORD_TOKEN is not set"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_serves_health_and_metrics_answers_customers_and_stops_cleanly_on_sigterm() {
    let sandbox = casebot_sandbox::Sandbox::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("c.db").display());
    let port = {
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        free.local_addr().unwrap().port()
    };
    let mut bot = tokio::process::Command::new(env!("CARGO_BIN_EXE_casebot"))
        .args(["run", "--discord-url", &sandbox.base_url()])
        .env("DATABASE_URL", &url)
        .env("CASEBOT__SERVER__HTTP_ADDR", format!("127.0.0.1:{port}"))
        .env_remove("DISCORD_TOKEN")
        .env_remove("CASEBOT_CONFIG")
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let get = |path: &str| {
        let (http, url) = (http.clone(), format!("http://127.0.0.1:{port}{path}"));
        async move {
            match http.get(url).send().await {
                Ok(r) => Some((r.status().as_u16(), r.text().await.unwrap_or_default())),
                Err(_) => None,
            }
        }
    };
    let mut ready = None;
    for _ in 0..200 {
        if let Some((200, body)) = get("/readyz").await {
            ready = Some(body);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(ready.as_deref(), Some("ready\n"));
    assert_eq!(get("/healthz").await, Some((200, "ok\n".to_owned())));

    let maya = sandbox.person("maya");
    sandbox.dm(maya, "someone hacked my account");
    let answered = sandbox
        .wait_for(std::time::Duration::from_secs(10), |s| {
            !s.bot_dms(maya).is_empty()
        })
        .await;
    assert!(answered, "the running bot answers a customer");
    let (status, metrics) = get("/metrics").await.unwrap();
    assert_eq!(status, 200);
    for line in [
        "casebot_intake_messages_total 1",
        "casebot_queue_depth{priority=\"urgent\"} 1",
        "casebot_routing_latency_seconds_count 1",
    ] {
        assert!(metrics.contains(line), "{line} missing from\n{metrics}");
    }

    let pid = bot.id().unwrap().to_string();
    let term = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(term.success());
    let exited = tokio::time::timeout(std::time::Duration::from_secs(15), bot.wait())
        .await
        .expect("casebot stops within 15 s of SIGTERM")
        .unwrap();
    assert!(exited.success(), "{exited:?}");
}

#[test]
fn a_full_demo_run_logs_no_message_text_card_numbers_or_secrets_even_at_debug() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("c.db").display());
    let out = Command::new(env!("CARGO_BIN_EXE_casebot"))
        .arg("demo")
        .env("DATABASE_URL", &url)
        .env("DISCORD_TOKEN", "tok-do-not-log-9f3b2")
        .env("CASEBOT_ORDERS_TOKEN", "orders-secret-77aa")
        .env_remove("CASEBOT_CONFIG")
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let logs = String::from_utf8_lossy(&out.stderr);
    assert!(logs.lines().count() > 20, "the debug logs were captured");
    for secret in [
        "tok-do-not-log-9f3b2",
        "orders-secret-77aa",
        // The card number in any of its written forms (a bare "4111" can be part of an id).
        "4111 1111",
        "4111111111111111",
        "4111-1111",
        "NEVER arrived",
        "ridiculous",
        "cancelled my membership",
        "replacement laptop",
        "courier confirmed",
    ] {
        assert!(!logs.contains(secret), "{secret:?} appears in the logs");
    }
}

/// A TCP gate in front of PostgreSQL: closed, it drops every connection; opened, it forwards.
/// Cutting it drops the connections in flight, as a database restart would.
struct Gate {
    port: u16,
    open: std::sync::Arc<std::sync::atomic::AtomicBool>,
    links: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Gate {
    async fn start(target: String) -> Gate {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let links = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (gate_open, gate_links) = (open.clone(), links.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                if !gate_open.load(Ordering::SeqCst) {
                    continue;
                }
                let target = target.clone();
                let link = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                gate_links.lock().unwrap().push(link);
            }
        });
        Gate { port, open, links }
    }

    fn open(&self) {
        self.open.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    fn cut(&self) {
        self.open.store(false, std::sync::atomic::Ordering::SeqCst);
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_waits_for_an_unreachable_database_and_rides_out_an_outage_losing_nothing() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let host_port = db
        .url
        .split('@')
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let gate = Gate::start(host_port.clone()).await;
    let gated_url = db
        .url
        .replacen(&host_port, &format!("127.0.0.1:{}", gate.port), 1);
    let sandbox = casebot_sandbox::Sandbox::start().await.unwrap();
    let port = {
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        free.local_addr().unwrap().port()
    };
    let mut bot = tokio::process::Command::new(env!("CARGO_BIN_EXE_casebot"))
        .args(["run", "--discord-url", &sandbox.base_url()])
        .env("DATABASE_URL", &gated_url)
        .env("CASEBOT__DATABASE__CONNECT_TIMEOUT_SECS", "1")
        .env("CASEBOT__SERVER__HTTP_ADDR", format!("127.0.0.1:{port}"))
        .env_remove("DISCORD_TOKEN")
        .env_remove("CASEBOT_CONFIG")
        .env("RUST_LOG", "error")
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    assert!(
        bot.try_wait().unwrap().is_none(),
        "an unreachable database is waited for, not a crash"
    );
    gate.open();
    let http = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..400 {
        let url = format!("http://127.0.0.1:{port}/readyz");
        if let Ok(r) = http.get(url).send().await {
            if r.status().as_u16() == 200 {
                ready = true;
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(ready, "ready once the database answers");

    let maya = sandbox.person("maya");
    sandbox.dm(maya, "where is my order");
    let wait = std::time::Duration::from_secs(30);
    assert!(sandbox.wait_for(wait, |s| s.bot_dms(maya).len() == 1).await);

    // The database goes away; a customer writes meanwhile; it comes back.
    gate.cut();
    sandbox.dm(maya, "hello? still there?");
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    gate.open();
    assert!(
        sandbox.wait_for(wait, |s| s.bot_dms(maya).len() == 2).await,
        "the message sent during the outage is answered after it"
    );
    let messages = db.store().await.counts().await.unwrap().messages;
    assert_eq!(messages, 2, "nothing was lost and nothing doubled");

    let pid = bot.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let exited = tokio::time::timeout(std::time::Duration::from_secs(15), bot.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(exited.success());
    let mut logs = String::new();
    use tokio::io::AsyncReadExt;
    bot.stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .await
        .unwrap();
    assert!(
        logs.contains("the database is unreachable; retrying"),
        "{logs}"
    );
    assert!(!logs.contains("panicked"), "{logs}");
    db.cleanup().await;
}

#[tokio::test]
async fn the_console_plays_customers_and_staff_against_the_real_bot() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("c.db").display());
    let mut console = Command::new(env!("CARGO_BIN_EXE_casebot"))
        .arg("console")
        .env("DATABASE_URL", &url)
        .env_remove("CASEBOT_CONFIG")
        .env("RUST_LOG", "error")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let script = "maya: someone hacked my account\nana claim 1\n\
                  ana@1: we have locked your account\nana resolve 1\nmaya rate 1 4\nquit\n";
    console
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = console.wait_with_output().unwrap();
    assert!(out.status.success());
    let shown = String::from_utf8_lossy(&out.stdout);
    for line in [
        "[#staff-queue] casebot: card \"Case #1\": Case #1 needs a person",
        "(only you see) You claimed case #1",
        "[DM maya] casebot: Support team: we have locked your account",
        "[DM maya] casebot: Thanks for rating us 4/5.",
    ] {
        assert!(shown.contains(line), "{line:?} missing from\n{shown}");
    }
    // What the console showed is what the database holds.
    let store = casebot::store::Store::connect(&url, &Default::default())
        .await
        .unwrap();
    let case = store
        .case("1".parse::<CaseId>().unwrap())
        .await
        .unwrap()
        .expect("case #1");
    assert_eq!(case.state, casebot::domain::CaseState::Resolved);
    assert_eq!(case.rating, Some(4));
}
