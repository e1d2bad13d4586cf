//! The thresholds and limits that come from configuration, as plain data: how intake links and
//! trims messages, how fast customers may write, when the bot hands a case over.

use std::time::Duration;

/// The intake rules that come from configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct IntakePolicy {
    /// A message this soon after resolution reopens the case.
    pub reopen_window: chrono::Duration,
    /// Longer text is cut to this many bytes before storage.
    pub max_message_bytes: usize,
}

impl Default for IntakePolicy {
    fn default() -> Self {
        IntakePolicy {
            reopen_window: chrono::Duration::hours(72),
            max_message_bytes: 16 * 1024,
        }
    }
}

/// When the stuck-case sweeper hands a case the bot has over to people: a refund pending too
/// long, too many customer messages without a resolution, a public mention nobody answered.
#[derive(Debug, Clone, PartialEq)]
pub struct StuckPolicy {
    pub refund_pending_days: i64,
    pub max_customer_messages: u32,
    pub mention_unanswered: chrono::Duration,
}

impl Default for StuckPolicy {
    fn default() -> Self {
        StuckPolicy {
            refund_pending_days: 5,
            max_customer_messages: 3,
            mention_unanswered: chrono::Duration::minutes(15),
        }
    }
}

/// A number of events per period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub events: u32,
    pub per: Duration,
}

/// A token bucket as stored: the tokens it held at a moment. Refilling is by the time since.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    pub tokens: f64,
    pub at: chrono::DateTime<chrono::Utc>,
}

impl Bucket {
    /// A full bucket.
    pub fn full(capacity: f64, at: chrono::DateTime<chrono::Utc>) -> Bucket {
        Bucket {
            tokens: capacity,
            at,
        }
    }

    /// Refills the bucket to `now` at `per_second` (never above `capacity`) and takes one token:
    /// the bucket after, or how long until a token will be there (the bucket is then unchanged).
    pub fn take(
        self,
        now: chrono::DateTime<chrono::Utc>,
        per_second: f64,
        capacity: f64,
    ) -> Result<Bucket, Duration> {
        let elapsed = (now - self.at).to_std().unwrap_or_default().as_secs_f64();
        let tokens = (self.tokens + elapsed * per_second).min(capacity);
        if tokens >= 1.0 {
            Ok(Bucket {
                tokens: tokens - 1.0,
                at: now.max(self.at),
            })
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - tokens) / per_second.max(f64::MIN_POSITIVE),
            ))
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitSettings {
    /// Messages one customer may send (default 5 per 10 s).
    pub per_customer: Rate,
    /// Public mentions of the bot in one server (default 30 per minute).
    pub mentions_per_server: Rate,
    /// Escalations to the human queue one customer may cause (default 3 per hour).
    pub escalations_per_customer: Rate,
    /// Messages casebot sends per second, everywhere together (default 40; Discord allows 50).
    pub outbound_per_second: u32,
}

impl Default for LimitSettings {
    fn default() -> Self {
        LimitSettings {
            per_customer: Rate {
                events: 5,
                per: Duration::from_secs(10),
            },
            mentions_per_server: Rate {
                events: 30,
                per: Duration::from_secs(60),
            },
            escalations_per_customer: Rate {
                events: 3,
                per: Duration::from_secs(3600),
            },
            outbound_per_second: 40,
        }
    }
}

impl LimitSettings {
    /// The same limits for traffic replayed `speed` times faster than it happened: each window
    /// shrinks by that factor, so a customer who stayed under a limit in reality stays under it
    /// in the replay.
    pub fn compressed(&self, speed: f64) -> LimitSettings {
        let scale = |rate: Rate| Rate {
            events: rate.events,
            per: rate.per.div_f64(speed.max(1.0)),
        };
        LimitSettings {
            per_customer: scale(self.per_customer),
            mentions_per_server: scale(self.mentions_per_server),
            escalations_per_customer: scale(self.escalations_per_customer),
            outbound_per_second: self.outbound_per_second,
        }
    }

    /// Limits that never hold anything back: for replays that ignore time and for benchmarks.
    pub fn unlimited() -> LimitSettings {
        let wide = Rate {
            events: 10_000,
            per: Duration::from_millis(1),
        };
        LimitSettings {
            per_customer: wide,
            mentions_per_server: wide,
            escalations_per_customer: wide,
            outbound_per_second: 50,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn at(ms: i64) -> chrono::DateTime<Utc> {
        Utc.timestamp_millis_opt(ms).unwrap()
    }

    #[test]
    fn a_full_bucket_gives_its_capacity_at_once_then_makes_the_caller_wait() {
        let mut bucket = Bucket::full(3.0, at(0));
        for _ in 0..3 {
            bucket = bucket.take(at(0), 10.0, 3.0).expect("a token");
        }
        let wait = bucket.take(at(0), 10.0, 3.0).unwrap_err();
        assert_eq!(wait, Duration::from_millis(100));
    }

    #[test]
    fn tokens_come_back_with_time_but_never_beyond_the_capacity() {
        let empty = Bucket {
            tokens: 0.0,
            at: at(0),
        };
        assert!(
            empty.take(at(50), 10.0, 3.0).is_err(),
            "half a token is not a token"
        );
        let later = empty
            .take(at(100), 10.0, 3.0)
            .expect("one token after 100 ms");
        assert!(later.tokens.abs() < 1e-9);
        let much_later = empty.take(at(60_000), 10.0, 3.0).expect("refilled");
        assert!(
            (much_later.tokens - 2.0).abs() < 1e-9,
            "capped at three, one taken"
        );
    }
}
