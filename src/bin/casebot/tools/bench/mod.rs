//! `casebot bench`: repeatable performance measurements that print machine-readable results and
//! compare against a baseline measured in the same run, because this machine is shared and noisy.

pub mod claims;
pub mod classify;
pub mod intake;

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use casebot::app::{App, Ports};
use casebot::config::Config;
use casebot::domain::policy::LimitSettings;
use casebot::store::Store;

/// Latencies of one phase and how long it took.
pub struct Phase {
    pub elapsed: Duration,
    latencies_ms: Vec<f64>,
}

impl Phase {
    pub fn per_s(&self, n: usize) -> f64 {
        n as f64 / self.elapsed.as_secs_f64()
    }

    /// The `p` quantile of the latencies (0.99 for p99), in milliseconds.
    pub fn percentile(&mut self, p: f64) -> f64 {
        if self.latencies_ms.is_empty() {
            return 0.0;
        }
        self.latencies_ms.sort_by(f64::total_cmp);
        let i = ((self.latencies_ms.len() as f64 * p) as usize).min(self.latencies_ms.len() - 1);
        self.latencies_ms[i]
    }
}

/// Runs `work(i)` for i in 0..n on `concurrency` workers, each start paced to `rate` a second
/// when given. Each latency runs from the message's scheduled start, so time spent queued behind
/// a slow writer counts, as it would for a customer.
pub async fn drive<F, Fut>(
    n: usize,
    concurrency: usize,
    rate: Option<f64>,
    work: F,
) -> anyhow::Result<Phase>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
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

/// Opens a benchmark's database as the configuration says to open casebot's (the same pool size
/// and write lanes), so that the figures are the ones `casebot run` would see.
pub async fn open(config: &Config, url: &str) -> anyhow::Result<Store> {
    Ok(Store::open(url, &casebot::app::store_options(config)).await?)
}

/// casebot wired as `casebot run` wires it on `store`, with limits far above the benchmark's
/// load: the checks run, but never hold anything back.
pub fn engine(config: &Config, store: Store) -> anyhow::Result<App> {
    let ports = Ports {
        limits: Some(LimitSettings::unlimited()),
        ..Ports::default()
    };
    App::on_store(config.clone(), store, ports)
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
