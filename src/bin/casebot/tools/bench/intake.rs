//! `casebot bench intake` and `casebot bench seed`: messages through the whole intake path as
//! `casebot run` wires it, against the same intake written as the fewest statements a
//! hand-written program needs, through the same driver and connections in the same run.

use std::sync::Arc;

use anyhow::Context;
use casebot::config::Config;
use casebot::domain::{ChannelKind, InboundMessage, UserId};
use casebot::services::intake::IntakeService;
use casebot::store::baseline::MinimalMessage;
use casebot::store::scratch::Scratch;
use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::{drive, engine, open, peak_rss_mb};
use crate::cli::grammar::BenchIntakeArgs;

#[derive(Debug, Serialize)]
pub struct IntakeBench {
    pub backend: String,
    pub messages: usize,
    pub customers: usize,
    pub concurrency: usize,
    pub preloaded: usize,
    pub offered_msgs_per_s: Option<f64>,
    pub engine_msgs_per_s: f64,
    /// The floor: the same intake as six statements in one transaction per message.
    pub minimal_msgs_per_s: f64,
    /// The engine's throughput over the floor's.
    pub ratio: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub minimal_p99_ms: f64,
    /// Earlier releases' names for the floor's figures, kept for scripts that read them.
    pub raw_msgs_per_s: f64,
    pub raw_p99_ms: f64,
    /// With `--processes N`: the messages all N processes took in together per second, each
    /// taking in `messages` on the same database at the same time.
    pub processes: usize,
    pub processes_msgs_per_s: Option<f64>,
    /// `processes_msgs_per_s` over `engine_msgs_per_s` (what one process did in this run).
    pub processes_scaling: Option<f64>,
    pub peak_rss_mb: f64,
    pub source: String,
}

/// What one worker process reports: when it started and finished, on the wall clock.
#[derive(Debug, Serialize, Deserialize)]
pub struct WorkerReport {
    pub messages: usize,
    pub started_ms: i64,
    pub finished_ms: i64,
}

fn message(prefix: &str, i: usize, customers: usize, text: &str) -> InboundMessage {
    let user = format!("{prefix}-{}", i % customers);
    InboundMessage {
        platform: "bench".into(),
        author_id: UserId::new(&user),
        author_name: user.clone(),
        channel_kind: ChannelKind::Dm,
        channel_id: user,
        message_id: format!("{prefix}-m{i}"),
        text: text.to_owned(),
        sent_at: Utc::now(),
    }
}

/// Takes in `n` messages from `customers` customers named `prefix-…` through `intake`.
async fn take_in(
    intake: IntakeService,
    texts: Arc<Vec<String>>,
    prefix: &str,
    (n, customers, concurrency): (usize, usize, usize),
    rate: Option<f64>,
) -> anyhow::Result<super::Phase> {
    let prefix: Arc<str> = prefix.into();
    drive(n, concurrency, rate, move |i| {
        let (intake, texts, prefix) = (intake.clone(), texts.clone(), prefix.clone());
        async move {
            let msg = message(&prefix, i, customers, &texts[i % texts.len()]);
            intake.take_in(&msg).await.context("intake failed")?;
            Ok(())
        }
    })
    .await
}

pub async fn intake(config: &Config, args: &BenchIntakeArgs) -> anyhow::Result<IntakeBench> {
    let (texts, source) = super::classify::tweet_texts(&args.data);
    let texts = Arc::new(texts);
    let scratch = Scratch::new(args.db.as_deref()).await?;
    let store = open(config, &scratch.url).await?;
    let app = engine(config, store.clone())?;
    if args.preload > 0 {
        seed_with(&app.intake, texts.clone(), args.preload).await?;
    }
    // Compile the classifier's automata before measuring; a running bot has them ready.
    for text in texts.iter().take(200) {
        std::hint::black_box(casebot::domain::routing::signals::first_decision(text));
    }
    let (n, customers, c) = (args.messages, args.customers.max(1), args.concurrency);

    let mut minimal = {
        let (store, texts) = (store.clone(), texts.clone());
        drive(n, c, args.rate, move |i| {
            let (store, texts) = (store.clone(), texts.clone());
            async move {
                let user = format!("minimal-{}", i % customers);
                let id = format!("minimal-m{i}");
                let m = MinimalMessage {
                    user_id: &user,
                    message_id: &id,
                    text: &texts[i % texts.len()],
                    at: Utc::now(),
                };
                Ok(store.minimal_intake(&m).await?)
            }
        })
        .await?
    };
    let mut engine_phase = take_in(
        app.intake.clone(),
        texts.clone(),
        "engine",
        (n, customers, c),
        args.rate,
    )
    .await?;
    let processes_msgs_per_s = if args.processes > 1 {
        Some(side_by_side(args, &scratch.url).await?)
    } else {
        None
    };
    let backend = store.backend().as_str().to_owned();
    store.close().await;
    scratch.drop().await?;

    let engine_rate = engine_phase.per_s(n);
    let minimal_rate = minimal.per_s(n);
    let minimal_p99 = minimal.percentile(0.99);
    Ok(IntakeBench {
        backend,
        messages: n,
        customers,
        concurrency: c,
        preloaded: args.preload,
        offered_msgs_per_s: args.rate,
        engine_msgs_per_s: engine_rate,
        minimal_msgs_per_s: minimal_rate,
        ratio: engine_rate / minimal_rate,
        p50_ms: engine_phase.percentile(0.50),
        p99_ms: engine_phase.percentile(0.99),
        max_ms: engine_phase.percentile(1.0),
        minimal_p99_ms: minimal_p99,
        raw_msgs_per_s: minimal_rate,
        raw_p99_ms: minimal_p99,
        processes: args.processes,
        processes_msgs_per_s,
        processes_scaling: processes_msgs_per_s.map(|r| r / engine_rate),
        peak_rss_mb: peak_rss_mb(),
        source,
    })
}

/// Starts `--processes` copies of this program on the database at `url`, each taking in
/// `--messages` for customers of its own, and returns what they took in together per second,
/// from the first one's start to the last one's finish.
async fn side_by_side(args: &BenchIntakeArgs, url: &str) -> anyhow::Result<f64> {
    let exe = std::env::current_exe().context("cannot find this program to start it again")?;
    let mut children = Vec::new();
    for p in 0..args.processes {
        let child = tokio::process::Command::new(&exe)
            .args([
                "bench",
                "intake",
                "--json",
                "--db",
                url,
                "--worker",
                &format!("process{p}"),
            ])
            .args([
                "--messages",
                &args.messages.to_string(),
                "--customers",
                &args.customers.to_string(),
            ])
            .args(["--concurrency", &args.concurrency.to_string()])
            .arg("--data")
            .arg(&args.data)
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start a benchmark process")?;
        children.push(child);
    }
    let mut reports = Vec::new();
    for child in children {
        let output = child.wait_with_output().await?;
        anyhow::ensure!(
            output.status.success(),
            "a benchmark process failed: {}",
            output.status
        );
        let report: WorkerReport = serde_json::from_slice(&output.stdout)
            .context("a benchmark process printed no report")?;
        reports.push(report);
    }
    let started = reports
        .iter()
        .map(|r| r.started_ms)
        .min()
        .unwrap_or_default();
    let finished = reports
        .iter()
        .map(|r| r.finished_ms)
        .max()
        .unwrap_or_default();
    let messages: usize = reports.iter().map(|r| r.messages).sum();
    Ok(messages as f64 / ((finished - started).max(1) as f64 / 1e3))
}

/// One of `--processes`: the engine phase alone, on a database the parent made.
pub async fn worker(
    config: &Config,
    args: &BenchIntakeArgs,
    prefix: &str,
) -> anyhow::Result<WorkerReport> {
    let url = args.db.as_deref().context("a worker needs --db")?;
    let (texts, _) = super::classify::tweet_texts(&args.data);
    let store = open(config, url).await?;
    let app = engine(config, store.clone())?;
    for text in texts.iter().take(200) {
        std::hint::black_box(casebot::domain::routing::signals::first_decision(text));
    }
    let started_ms = Utc::now().timestamp_millis();
    let dims = (args.messages, args.customers.max(1), args.concurrency);
    take_in(app.intake.clone(), Arc::new(texts), prefix, dims, None).await?;
    let finished_ms = Utc::now().timestamp_millis();
    store.close().await;
    Ok(WorkerReport {
        messages: args.messages,
        started_ms,
        finished_ms,
    })
}

#[derive(Debug, Serialize)]
pub struct SeedBench {
    pub backend: String,
    pub messages: usize,
    pub seconds: f64,
    pub msgs_per_s: f64,
}

/// Fills the database `url` with `messages` messages through intake (ten per customer), so every
/// case, message, audit event and reply is one casebot itself would have written.
pub async fn seed(config: &Config, url: &str, messages: usize) -> anyhow::Result<SeedBench> {
    let (texts, _) = super::classify::tweet_texts(std::path::Path::new("../shared/data"));
    let store = open(config, url).await?;
    let app = engine(config, store.clone())?;
    let started = std::time::Instant::now();
    seed_with(&app.intake, Arc::new(texts), messages).await?;
    let seconds = started.elapsed().as_secs_f64();
    let backend = store.backend().as_str().to_owned();
    store.close().await;
    Ok(SeedBench {
        backend,
        messages,
        seconds,
        msgs_per_s: messages as f64 / seconds,
    })
}

async fn seed_with(
    intake: &IntakeService,
    texts: Arc<Vec<String>>,
    messages: usize,
) -> anyhow::Result<()> {
    let prefix = format!("seed{}", Utc::now().timestamp_micros());
    take_in(
        intake.clone(),
        texts,
        &prefix,
        (messages, (messages / 10).max(1), 64),
        None,
    )
    .await?;
    Ok(())
}
