//! The use cases. Each reads what it needs, lets the domain decide, and hands the store one
//! [`Change`](crate::domain::Change) with its audit events and outbox messages, so the log and
//! what casebot says can never disagree with the data. Adapters (Discord, the web dashboard, the
//! command line, the tools) call these and nothing below them.

pub mod audit;
pub mod callbacks;
pub mod cards;
pub mod corrections;
pub mod customers;
pub mod errors;
pub mod intake;
pub mod limits;
pub mod llm_path;
pub mod outbox;
pub mod privacy;
pub mod routing;
pub mod staff;
pub mod sweepers;

use chrono::{DateTime, SubsecRound, Utc};

use crate::domain::{Applied, Change};
use crate::store::Store;

pub use errors::ActionError;

/// Where services get the time from, so tests can move it. Times are whole milliseconds, which is
/// what the store keeps.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The real time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now().trunc_subsecs(3)
    }
}

/// How often a change that keeps conflicting is decided again before giving up: far more than
/// contention on one case ever needs, few enough that a bug cannot spin forever.
const ATTEMPTS: usize = 32;

/// What one attempt at a change came to.
pub(crate) enum Step<T> {
    /// Nothing to write; this is the answer.
    Answer(T),
    /// Write this change; on success the answer is `T`. (Boxed: a change is large, and most
    /// steps are answers.)
    Write(Box<Change>, T),
}

impl<T> Step<T> {
    pub(crate) fn write(change: Change, answer: T) -> Step<T> {
        Step::Write(Box::new(change), answer)
    }
}

/// Decides a change with `decide` from what the store says now and applies it; when someone
/// changed a case in between, decides again from what they left. `Err(Contended)` only after
/// many conflicts in a row.
pub(crate) async fn until_applied<T, E, F, Fut>(store: &Store, mut decide: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Step<T>, E>>,
    E: From<crate::store::StoreError> + From<errors::Contended>,
{
    for _ in 0..ATTEMPTS {
        match decide().await? {
            Step::Answer(answer) => return Ok(answer),
            Step::Write(change, answer) => match store.apply(*change).await? {
                Applied::Conflict => continue,
                Applied::Done { .. } | Applied::Duplicate => return Ok(answer),
            },
        }
    }
    Err(errors::Contended.into())
}
