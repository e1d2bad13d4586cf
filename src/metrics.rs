//! What `casebot run` reports at `/metrics`, in the Prometheus text format: intake, the queue by
//! priority, SLA breaches, the outbox backlog, staff corrections of routing (from the database,
//! so every process agrees), this process's routing latency and what its language model answered.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::domain::views::StoredMetrics;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

/// Routing latency of this process, as a Prometheus histogram.
#[derive(Debug, Default)]
pub struct Latency {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Latency {
    pub fn observe(&self, took: Duration) {
        let secs = took.as_secs_f64();
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            if secs <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }
}

/// What this process's language model did, counted once per message or call.
#[derive(Debug, Default)]
pub struct LlmCounts {
    /// Calls answered with valid JSON of the schema.
    pub answered: AtomicU64,
    /// Calls answered with anything else (not JSON, an unknown intent, extra or missing keys).
    pub refused: AtomicU64,
    pub timeouts: AtomicU64,
    /// Connection failures, HTTP errors, replies without content.
    pub errors: AtomicU64,
    /// Messages whose intent and signals the model decided (fresh or cached answers).
    pub decided: AtomicU64,
    /// Messages answered from the cache without a call.
    pub cache_hits: AtomicU64,
    /// Messages the local model kept without asking: confident enough, or account security.
    pub kept_local: AtomicU64,
}

impl LlmCounts {
    pub fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// The language model's lines of the `/metrics` page.
pub fn render_llm(counts: &LlmCounts) -> String {
    let mut out = String::new();
    let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
    family(
        &mut out,
        "casebot_llm_calls_total",
        "counter",
        "Calls to the language model, by outcome.",
    );
    for (outcome, counter) in [
        ("answered", &counts.answered),
        ("refused", &counts.refused),
        ("timeout", &counts.timeouts),
        ("error", &counts.errors),
    ] {
        let series = format!("casebot_llm_calls_total{{outcome=\"{outcome}\"}}");
        sample(&mut out, &series, get(counter));
    }
    for (name, help, counter) in [
        (
            "casebot_llm_decided_total",
            "Messages whose intent and signals the language model decided.",
            &counts.decided,
        ),
        (
            "casebot_llm_cache_hits_total",
            "Messages answered from the language model's cache.",
            &counts.cache_hits,
        ),
        (
            "casebot_llm_kept_local_total",
            "Messages the local model decided without asking the language model.",
            &counts.kept_local,
        ),
    ] {
        family(&mut out, name, "counter", help);
        sample(&mut out, name, get(counter));
    }
    out
}

/// The whole `/metrics` page.
pub fn render(stored: &StoredMetrics, latency: &Latency) -> String {
    let mut out = String::new();
    let o = &mut out;
    family(
        o,
        "casebot_intake_messages_total",
        "counter",
        "Customer messages taken in.",
    );
    sample(o, "casebot_intake_messages_total", stored.customer_messages);
    family(
        o,
        "casebot_queue_depth",
        "gauge",
        "Escalated cases waiting for a person.",
    );
    for (priority, n) in &stored.waiting_by_priority {
        sample(
            o,
            &format!("casebot_queue_depth{{priority=\"{priority}\"}}"),
            n,
        );
    }
    family(
        o,
        "casebot_sla_breaches_total",
        "counter",
        "SLA deadlines missed.",
    );
    sample(o, "casebot_sla_breaches_total", stored.sla_breaches);
    family(
        o,
        "casebot_outbox_backlog",
        "gauge",
        "Messages waiting to be delivered.",
    );
    sample(o, "casebot_outbox_backlog", stored.outbox_backlog);
    family(
        o,
        "casebot_corrections_total",
        "counter",
        "Staff corrections of routing: a wrong intent, or a hand-over that needed no person.",
    );
    sample(
        o,
        "casebot_corrections_total{kind=\"intent\"}",
        stored.intent_corrections,
    );
    sample(
        o,
        "casebot_corrections_total{kind=\"no_person\"}",
        stored.no_person_corrections,
    );
    family(
        o,
        "casebot_routing_latency_seconds",
        "histogram",
        "Time to take in and route one customer message.",
    );
    for (bound, bucket) in BUCKETS.iter().zip(&latency.buckets) {
        let n = bucket.load(Ordering::Relaxed);
        sample(
            o,
            &format!("casebot_routing_latency_seconds_bucket{{le=\"{bound}\"}}"),
            n,
        );
    }
    let count = latency.count.load(Ordering::Relaxed);
    let sum = latency.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
    sample(
        o,
        "casebot_routing_latency_seconds_bucket{le=\"+Inf\"}",
        count,
    );
    sample(o, "casebot_routing_latency_seconds_sum", sum);
    sample(o, "casebot_routing_latency_seconds_count", count);
    out
}

/// The `# HELP` and `# TYPE` lines that open a metric family.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// One sample line: the series (name and labels) and its value.
fn sample(out: &mut String, series: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "{series} {value}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Priority;

    #[test]
    fn the_page_reports_each_figure_and_a_cumulative_histogram() {
        let latency = Latency::default();
        latency.observe(Duration::from_millis(3));
        latency.observe(Duration::from_millis(30));
        let stored = StoredMetrics {
            customer_messages: 12,
            waiting_by_priority: vec![
                (Priority::Urgent, 1),
                (Priority::High, 2),
                (Priority::Normal, 3),
                (Priority::Low, 0),
            ],
            sla_breaches: 4,
            outbox_backlog: 5,
            intent_corrections: 6,
            no_person_corrections: 7,
        };
        let page = render(&stored, &latency);
        for line in [
            "casebot_intake_messages_total 12",
            "casebot_queue_depth{priority=\"high\"} 2",
            "casebot_sla_breaches_total 4",
            "casebot_outbox_backlog 5",
            "casebot_corrections_total{kind=\"intent\"} 6",
            "casebot_corrections_total{kind=\"no_person\"} 7",
            "casebot_routing_latency_seconds_bucket{le=\"0.005\"} 1",
            "casebot_routing_latency_seconds_bucket{le=\"0.05\"} 2",
            "casebot_routing_latency_seconds_count 2",
        ] {
            assert!(page.contains(line), "{line} missing from\n{page}");
        }
    }

    #[test]
    fn the_language_model_lines_count_each_outcome() {
        let counts = LlmCounts::default();
        LlmCounts::add(&counts.refused);
        LlmCounts::add(&counts.refused);
        LlmCounts::add(&counts.decided);
        let page = render_llm(&counts);
        for line in [
            "casebot_llm_calls_total{outcome=\"refused\"} 2",
            "casebot_llm_calls_total{outcome=\"timeout\"} 0",
            "casebot_llm_decided_total 1",
            "casebot_llm_kept_local_total 0",
        ] {
            assert!(page.contains(line), "{line} missing from\n{page}");
        }
    }
}
