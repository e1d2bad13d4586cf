//! `casebot bench intake`, `claims` and `seed`: the engine's write paths measured against the
//! storage ceiling, the same rows written with bare SQL through the same pool in the same run.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde::Serialize;

use crate::domain::flows::FlowPolicy;
use crate::domain::rules::{parse_rules, DEFAULT_RULES};
use crate::domain::staff::{Role, StaffMember};
use crate::domain::{CaseAction, ChannelKind, InboundMessage, Priority};
use crate::orders::BuiltInOrders;
use crate::services::conversation::Conversation;
use crate::services::limits::{LimitSettings, RateLimits};
use crate::services::routing::RoutingService;
use crate::services::{Actor, CaseService, IntakePolicy, IntakeService};
use crate::store::baseline::{raw_claim_next, raw_message, seed, RawMessage, Scratch};
use crate::store::{Store, StoreOptions};

/// What `casebot bench intake` was asked to do.
#[derive(Debug, Clone)]
pub struct IntakeSettings {
    pub db: Option<String>,
    pub messages: usize,
    pub customers: usize,
    pub concurrency: usize,
    /// Messages already stored before the measurement (`0` for an empty database).
    pub preload: usize,
    /// Offered load in messages per second; `None` sends as fast as the workers go.
    pub rate: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct IntakeBench {
    pub backend: String,
    pub messages: usize,
    pub customers: usize,
    pub concurrency: usize,
    pub preloaded: usize,
    pub offered_msgs_per_s: Option<f64>,
    pub engine_msgs_per_s: f64,
    pub raw_msgs_per_s: f64,
    pub ratio: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub raw_p99_ms: f64,
    pub peak_rss_mb: f64,
    pub source: String,
}

/// Latencies of one phase and how long it took.
struct Phase {
    elapsed: Duration,
    latencies_ms: Vec<f64>,
}

impl Phase {
    fn per_s(&self, n: usize) -> f64 {
        n as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&mut self, p: f64) -> f64 {
        if self.latencies_ms.is_empty() {
            return 0.0;
        }
        self.latencies_ms.sort_by(f64::total_cmp);
        let i = ((self.latencies_ms.len() as f64 * p) as usize).min(self.latencies_ms.len() - 1);
        self.latencies_ms[i]
    }
}

/// Runs `work(i)` for i in 0..n on `concurrency` workers, each start paced to `rate` when
/// given, recording each one's latency (from its scheduled start, so queueing counts).
async fn drive<F, Fut>(
    n: usize,
    concurrency: usize,
    rate: Option<f64>,
    work: F,
) -> anyhow::Result<Phase>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let work = Arc::new(work);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (work, next) = (work.clone(), next.clone());
        workers.spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, anyhow::Error>(latencies);
                }
                let scheduled = match rate {
                    Some(rate) => {
                        let at = started + Duration::from_secs_f64(i as f64 / rate);
                        tokio::time::sleep_until(at.into()).await;
                        at
                    }
                    None => Instant::now(),
                };
                work(i).await?;
                latencies.push(scheduled.elapsed().as_secs_f64() * 1e3);
            }
        });
    }
    let mut latencies_ms = Vec::with_capacity(n);
    while let Some(done) = workers.join_next().await {
        latencies_ms.extend(done??);
    }
    Ok(Phase {
        elapsed: started.elapsed(),
        latencies_ms,
    })
}

async fn open(url: &str, concurrency: usize) -> anyhow::Result<Store> {
    let options = StoreOptions {
        max_connections: u32::try_from(concurrency + 2).unwrap_or(64),
        ..StoreOptions::default()
    };
    let store = Store::connect(url, &options).await?;
    store.migrate().await?;
    Ok(store)
}

/// The customer path as `casebot run` wires it, with limits far above the benchmark's load: the
/// checks run, but never hold anything back.
fn engine(store: &Store) -> Conversation {
    let limits = Arc::new(RateLimits::new(&LimitSettings::unlimited()));
    let rules = parse_rules(DEFAULT_RULES).expect("the shipped rules are valid");
    let orders = Arc::new(BuiltInOrders::new(store.clone()));
    let routing = RoutingService::new(store.clone(), orders, rules, FlowPolicy::default())
        .with_limits(limits.clone());
    let intake = IntakeService::new(store.clone(), IntakePolicy::default());
    Conversation::new(store.clone(), intake, routing, limits)
}

pub async fn intake(settings: &IntakeSettings, data: &Path) -> anyhow::Result<IntakeBench> {
    let (texts, source) = super::tweet_texts(data);
    let texts = Arc::new(texts);
    let scratch = Scratch::new(settings.db.as_deref()).await?;
    let store = open(&scratch.url, settings.concurrency).await?;
    if settings.preload > 0 {
        seed(
            &store,
            settings.preload,
            (settings.preload / 10).max(1),
            Utc::now(),
        )
        .await?;
    }
    // Compile the classifier's automata before measuring; a running bot has them ready.
    for text in texts.iter().take(200) {
        std::hint::black_box(crate::domain::signals::first_decision(text));
    }
    let (n, customers, c) = (
        settings.messages,
        settings.customers.max(1),
        settings.concurrency,
    );

    let raw = {
        let (store, texts) = (store.clone(), texts.clone());
        drive(n, c, settings.rate, move |i| {
            let (store, texts) = (store.clone(), texts.clone());
            async move {
                let user = format!("raw-{}", i % customers);
                let id = format!("raw-{i}");
                let text = &texts[i % texts.len()];
                let m = RawMessage {
                    user_id: &user,
                    message_id: &id,
                    text,
                    at: Utc::now(),
                };
                Ok(raw_message(&store, &m).await?)
            }
        })
        .await?
    };
    let engine_phase = {
        let (talk, texts) = (Arc::new(engine(&store)), texts.clone());
        drive(n, c, settings.rate, move |i| {
            let (talk, texts) = (talk.clone(), texts.clone());
            async move {
                let user = format!("cust-{}", i % customers);
                let msg = InboundMessage {
                    platform: "bench".into(),
                    author_id: user.clone(),
                    author_name: user.clone(),
                    channel_kind: ChannelKind::Dm,
                    channel_id: user,
                    message_id: format!("eng-{i}"),
                    text: texts[i % texts.len()].clone(),
                    sent_at: Utc::now(),
                };
                talk.handle(&msg).await?;
                Ok(())
            }
        })
        .await?
    };
    let backend = store.backend().as_str().to_owned();
    store.close().await;
    scratch.drop().await?;

    let (mut raw, mut engine_phase) = (raw, engine_phase);
    let engine_rate = engine_phase.per_s(n);
    let raw_rate = raw.per_s(n);
    Ok(IntakeBench {
        backend,
        messages: n,
        customers,
        concurrency: c,
        preloaded: settings.preload,
        offered_msgs_per_s: settings.rate,
        engine_msgs_per_s: engine_rate,
        raw_msgs_per_s: raw_rate,
        ratio: engine_rate / raw_rate,
        p50_ms: engine_phase.percentile(0.50),
        p99_ms: engine_phase.percentile(0.99),
        max_ms: engine_phase.percentile(1.0),
        raw_p99_ms: raw.percentile(0.99),
        peak_rss_mb: peak_rss_mb(),
        source,
    })
}

#[derive(Debug, Serialize)]
pub struct ClaimsBench {
    pub backend: String,
    pub staff: usize,
    pub cases: usize,
    pub claimed: usize,
    pub claimed_twice: usize,
    pub claims_per_s: f64,
    pub raw_claims_per_s: f64,
    pub ratio: f64,
}

/// `staff` members run "claim next" until the queue of `cases` escalated cases is empty; the raw
/// ceiling claims a second queue of the same size with the same statements.
pub async fn claims(db: Option<&str>, staff: usize, cases: usize) -> anyhow::Result<ClaimsBench> {
    let scratch = Scratch::new(db).await?;
    let store = open(&scratch.url, staff).await?;
    let service = CaseService::new(store.clone());
    let team: Vec<String> = (0..staff.max(1))
        .map(|s| format!("bench-staff-{s}"))
        .collect();
    for id in &team {
        let member = StaffMember {
            id: id.clone(),
            role: Role::Staff,
        };
        service.add_staff(&member, &Actor::system()).await?;
    }
    let fill = |prefix: &'static str| {
        let (store, service) = (store.clone(), service.clone());
        async move {
            let intake = IntakeService::new(store.clone(), IntakePolicy::default());
            for i in 0..cases {
                let user = format!("{prefix}-{i}");
                let msg = InboundMessage {
                    platform: "bench".into(),
                    author_id: user.clone(),
                    author_name: user.clone(),
                    channel_kind: ChannelKind::Dm,
                    channel_id: user.clone(),
                    message_id: user,
                    text: "I need a person".into(),
                    sent_at: Utc::now(),
                };
                let case = intake.receive(&msg).await?.case_id;
                let escalate = CaseAction::Escalate {
                    priority: [Priority::Low, Priority::Normal, Priority::High][i % 3],
                    reason: "bench".into(),
                };
                service.apply(case, &Actor::system(), escalate).await?;
            }
            anyhow::Ok(())
        }
    };

    fill("raw").await?;
    let raw_store = store.clone();
    let raw_claimed = claim_all(&team, move |who| {
        let store = raw_store.clone();
        async move { Ok(raw_claim_next(&store, &who).await?) }
    })
    .await?;
    fill("eng").await?;
    let engine_service = service.clone();
    let engine_claimed = claim_all(&team, move |who| {
        let service = engine_service.clone();
        async move { Ok(service.claim_next(&Actor::staff(who)).await?) }
    })
    .await?;

    let backend = store.backend().as_str().to_owned();
    store.close().await;
    scratch.drop().await?;
    let mut ids = engine_claimed.0.clone();
    ids.sort_unstable();
    ids.dedup();
    let claims_per_s = engine_claimed.0.len() as f64 / engine_claimed.1.as_secs_f64();
    let raw_claims_per_s = raw_claimed.0.len() as f64 / raw_claimed.1.as_secs_f64();
    Ok(ClaimsBench {
        backend,
        staff: team.len(),
        cases,
        claimed: engine_claimed.0.len(),
        claimed_twice: engine_claimed.0.len() - ids.len(),
        claims_per_s,
        raw_claims_per_s,
        ratio: claims_per_s / raw_claims_per_s,
    })
}

/// Every staff member claims until the queue is empty; returns all claims and the time taken.
async fn claim_all<F, Fut>(team: &[String], claim: F) -> anyhow::Result<(Vec<i64>, Duration)>
where
    F: Fn(String) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<Option<i64>>> + Send,
{
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for who in team {
        let (who, claim) = (who.clone(), claim.clone());
        workers.spawn(async move {
            let mut mine = Vec::new();
            while let Some(case) = claim(who.clone()).await? {
                mine.push(case);
            }
            anyhow::Ok(mine)
        });
    }
    let mut all = Vec::new();
    while let Some(done) = workers.join_next().await {
        all.extend(done??);
    }
    Ok((all, started.elapsed()))
}

#[derive(Debug, Serialize)]
pub struct SeedBench {
    pub backend: String,
    pub messages: usize,
    pub seconds: f64,
}

/// Fills the database at `url` with `messages` messages (one customer per ten messages).
pub async fn seed_database(url: &str, messages: usize) -> anyhow::Result<SeedBench> {
    let store = open(url, 2).await?;
    let started = Instant::now();
    seed(&store, messages, (messages / 10).max(1), Utc::now()).await?;
    let backend = store.backend().as_str().to_owned();
    store.close().await;
    Ok(SeedBench {
        backend,
        messages,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The process's peak resident memory so far, from the kernel (0 where it is not reported).
pub fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}
