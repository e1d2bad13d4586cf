//! Rate limits (governor), keyed per customer and per server. Over a limit nothing is lost: the
//! message is stored as always, but the bot holds back its reply and routing, and the customer
//! gets one notice until they are back under the limit. Limits live in each process's memory.

use std::collections::HashSet;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};

pub use crate::domain::policy::{LimitSettings, Rate};

fn quota(rate: Rate) -> Quota {
    let events = NonZeroU32::new(rate.events.max(1)).expect("at least one event");
    let every = rate.per / events.get();
    Quota::with_period(every.max(Duration::from_millis(1)))
        .expect("a non-zero period")
        .allow_burst(events)
}

/// What the limits say about one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Over the named limit. `notice` is true for the first message over it, which is the one
    /// that tells the customer.
    Limited {
        limit: &'static str,
        notice: bool,
    },
}

type Keyed<C> =
    RateLimiter<String, HashMapStateStore<String>, C, NoOpMiddleware<<C as Clock>::Instant>>;

type Direct<C> = RateLimiter<
    governor::state::NotKeyed,
    governor::state::InMemoryState,
    C,
    NoOpMiddleware<<C as Clock>::Instant>,
>;

pub struct RateLimits<C: Clock = DefaultClock> {
    customers: Keyed<C>,
    servers: Keyed<C>,
    escalations: Keyed<C>,
    outbound: Direct<C>,
    clock: C,
    /// Keys currently over a limit and already told so.
    noticed: Mutex<HashSet<String>>,
}

impl RateLimits<DefaultClock> {
    pub fn new(settings: &LimitSettings) -> RateLimits<DefaultClock> {
        RateLimits::with_clock(settings, DefaultClock::default())
    }
}

impl<C: Clock + Clone> RateLimits<C> {
    pub fn with_clock(settings: &LimitSettings, clock: C) -> RateLimits<C> {
        RateLimits {
            customers: RateLimiter::hashmap_with_clock(quota(settings.per_customer), clock.clone()),
            servers: RateLimiter::hashmap_with_clock(
                quota(settings.mentions_per_server),
                clock.clone(),
            ),
            escalations: RateLimiter::hashmap_with_clock(
                quota(settings.escalations_per_customer),
                clock.clone(),
            ),
            outbound: RateLimiter::direct_with_clock(
                quota(Rate {
                    events: settings.outbound_per_second,
                    per: Duration::from_secs(1),
                }),
                clock.clone(),
            ),
            clock,
            noticed: Mutex::new(HashSet::new()),
        }
    }

    /// Counts one message from `customer` (and, for a public mention, in `server`).
    pub fn check_message(&self, customer: &str, server: Option<&str>) -> Verdict {
        let key = customer.to_owned();
        let limit = if self.customers.check_key(&key).is_err() {
            Some("messages_per_customer")
        } else if let Some(server) = server {
            let server_key = server.to_owned();
            self.servers
                .check_key(&server_key)
                .is_err()
                .then_some("mentions_per_server")
        } else {
            None
        };
        let mut noticed = self.noticed.lock().expect("notice set is never poisoned");
        match limit {
            None => {
                noticed.remove(&key);
                Verdict::Allowed
            }
            Some(limit) => Verdict::Limited {
                limit,
                notice: noticed.insert(key),
            },
        }
    }
}

impl<C: Clock> RateLimits<C> {
    /// Counts one escalation caused by `customer`; false when they are over the hourly limit and
    /// the case should stay with the bot.
    pub fn allow_escalation(&self, customer: &str) -> bool {
        self.escalations.check_key(&customer.to_owned()).is_ok()
    }

    /// Takes one outbound send if the per-second budget has one; otherwise says how long until
    /// it will.
    pub fn take_outbound(&self) -> Result<(), Duration> {
        self.outbound
            .check()
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    fn limits(clock: &FakeRelativeClock) -> RateLimits<FakeRelativeClock> {
        RateLimits::with_clock(&LimitSettings::default(), clock.clone())
    }

    #[test]
    fn five_messages_in_ten_seconds_pass_and_the_sixth_is_held_with_one_notice() {
        let clock = FakeRelativeClock::default();
        let limits = limits(&clock);
        for _ in 0..5 {
            assert_eq!(limits.check_message("c1", None), Verdict::Allowed);
        }
        let sixth = limits.check_message("c1", None);
        assert_eq!(
            sixth,
            Verdict::Limited {
                limit: "messages_per_customer",
                notice: true
            }
        );
        let seventh = limits.check_message("c1", None);
        assert_eq!(
            seventh,
            Verdict::Limited {
                limit: "messages_per_customer",
                notice: false
            }
        );
    }

    #[test]
    fn customers_are_limited_separately_and_recover_with_time() {
        let clock = FakeRelativeClock::default();
        let limits = limits(&clock);
        for _ in 0..6 {
            limits.check_message("c1", None);
        }
        assert_eq!(limits.check_message("c2", None), Verdict::Allowed);
        clock.advance(Duration::from_secs(10));
        for _ in 0..5 {
            assert_eq!(limits.check_message("c1", None), Verdict::Allowed);
        }
        // Back under and over again: a new notice.
        assert!(matches!(
            limits.check_message("c1", None),
            Verdict::Limited { notice: true, .. }
        ));
    }

    #[test]
    fn a_customer_causes_at_most_three_escalations_an_hour() {
        let clock = FakeRelativeClock::default();
        let limits = limits(&clock);
        for _ in 0..3 {
            assert!(limits.allow_escalation("c1"));
        }
        assert!(!limits.allow_escalation("c1"));
        assert!(limits.allow_escalation("c2"), "limits are per customer");
        clock.advance(Duration::from_secs(20 * 60));
        assert!(
            limits.allow_escalation("c1"),
            "one comes back every 20 minutes"
        );
        assert!(!limits.allow_escalation("c1"));
    }

    #[test]
    fn outbound_sends_are_held_to_the_per_second_budget() {
        let clock = FakeRelativeClock::default();
        let limits = limits(&clock);
        for _ in 0..40 {
            assert_eq!(limits.take_outbound(), Ok(()));
        }
        let wait = limits.take_outbound().unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_millis(25),
            "{wait:?}"
        );
        clock.advance(wait);
        assert_eq!(limits.take_outbound(), Ok(()));
    }

    #[test]
    fn public_mentions_are_limited_per_server() {
        let clock = FakeRelativeClock::default();
        let settings = LimitSettings {
            mentions_per_server: Rate {
                events: 2,
                per: Duration::from_secs(60),
            },
            ..LimitSettings::default()
        };
        let limits = RateLimits::with_clock(&settings, clock);
        assert_eq!(limits.check_message("a", Some("s1")), Verdict::Allowed);
        assert_eq!(limits.check_message("b", Some("s1")), Verdict::Allowed);
        assert!(matches!(
            limits.check_message("c", Some("s1")),
            Verdict::Limited {
                limit: "mentions_per_server",
                ..
            }
        ));
        assert_eq!(limits.check_message("d", Some("s2")), Verdict::Allowed);
    }
}
