//! The use cases. Each state change runs in one store transaction that also appends its audit
//! events, so the log can never disagree with the data. Adapters (Discord, the CLI, the demo,
//! benchmarks) call these and nothing below them.

pub mod audit;
pub mod cases;
pub mod conversation;
pub mod intake;
pub mod limits;
pub mod outbox;
pub mod privacy;
pub mod routing;
pub mod sla;
pub mod stuck;

use chrono::{DateTime, Utc};

pub use cases::{Actor, CaseError, CaseService, CustomerAction};
pub use intake::{Disposition, IntakeOutcome, IntakePolicy, IntakeService};

/// Where services get the time from, so tests can move it.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The real time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
