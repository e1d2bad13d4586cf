//! The PostgreSQL adapter: the production backend, shared by several casebot processes.

use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;

/// Read committed: each statement sees what other transactions committed before it, which is
/// what lets a writer that lost the race for a customer's case find the winner's case.
pub const BEGIN_WRITE: &str = "BEGIN ISOLATION LEVEL READ COMMITTED";

/// Locks the head of the audit chain until commit, so appends from all processes form one line.
pub const LOCK_AUDIT_HEAD: &str = "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE";

/// Skips rows another transaction holds right now, so concurrent "claim next" calls (and outbox
/// dispatchers) each get different rows instead of waiting for one another.
pub const SKIP_LOCKED: &str = " FOR UPDATE SKIP LOCKED";

/// Session advisory locks that keep a periodic job to one process at a time. The key includes the
/// schema, so two casebot deployments sharing one database do not block each other.
pub const TRY_LOCK_JOB: &str = "SELECT pg_try_advisory_lock(hashtext(current_schema()), $1)";
pub const UNLOCK_JOB: &str = "SELECT pg_advisory_unlock(hashtext(current_schema()), $1)";
/// The advisory-lock key of the stuck-case sweeper.
pub const JOB_STUCK_SWEEP: i32 = 1;

pub(super) async fn open(url: &str, pool: AnyPoolOptions) -> Result<AnyPool, sqlx::Error> {
    pool.connect(url).await
}
