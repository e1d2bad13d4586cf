//! Reading cases: one case, a case with its customer and card, the queue, the pages the sweepers
//! walk, what intake needs about an author, and the figures `/metrics` reports. Every statement
//! here reads the same on both backends; state names and ranks are bound from the domain.

use std::sync::OnceLock;

use super::rows::{
    convert, once, AuthorCaseRow, CaseProjectionRow, CaseRow, CaseViewRow, IntakeRow, QueueRow,
    CASE_COLUMNS, CUSTOMER_COLUMNS, PROJECTION_COLUMNS,
};
use super::{on_db, Page, Store, StoreError};
use crate::domain::case::{CaseState, Priority};
use crate::domain::ids::{CaseId, UserId};
use crate::domain::views::{
    CaseView, Counts, Customer, IntakeSnapshot, Projection, QueueEntry, StoredMetrics,
};
use crate::domain::Case;

static SELECT_CASE: OnceLock<String> = OnceLock::new();
static SELECT_VIEW: OnceLock<String> = OnceLock::new();
static SELECT_NEXT: OnceLock<String> = OnceLock::new();
static SELECT_WITH_STAFF: OnceLock<String> = OnceLock::new();
static SELECT_OPEN: OnceLock<String> = OnceLock::new();
static SELECT_AUTHOR: OnceLock<String> = OnceLock::new();
static SELECT_AUTHOR_CASES: OnceLock<String> = OnceLock::new();
static SELECT_AUTHOR_WITH_CASES: OnceLock<String> = OnceLock::new();

const SELECT_QUEUE: &str = "\
    SELECT id, priority, state, escalated_at, assignee, escalation_reason, intent, tags \
    FROM cases WHERE state IN ($1, $2) \
    ORDER BY state = $2, priority_rank DESC, escalated_at, id LIMIT $3";

const BY_THREAD: &str = "SELECT case_id FROM case_projections WHERE thread_id = $1";
const BY_CARD: &str = "SELECT case_id FROM case_projections WHERE card_message_id = $1";

const WAITING_BY_PRIORITY: &str =
    "SELECT priority, COUNT(*) FROM cases WHERE state = $1 GROUP BY priority";

const FIGURES: &str = "\
    SELECT (SELECT COUNT(*) FROM messages WHERE author_kind = 'customer'), \
        (SELECT COUNT(*) FROM cases WHERE first_response_breached_at IS NOT NULL) \
          + (SELECT COUNT(*) FROM cases WHERE resolution_breached_at IS NOT NULL), \
        (SELECT COUNT(*) FROM outbox WHERE state = 'pending')";

const COUNTS: &str = "\
    SELECT (SELECT COUNT(*) FROM customers), (SELECT COUNT(*) FROM cases), \
        (SELECT COUNT(*) FROM messages), (SELECT COUNT(*) FROM audit_events)";

impl Store {
    pub async fn case(&self, id: CaseId) -> Result<Option<Case>, StoreError> {
        let sql = once(&SELECT_CASE, || {
            format!("SELECT {CASE_COLUMNS} FROM cases c WHERE c.id = $1")
        });
        let row: Option<CaseRow> =
            on_db!(self, pool => sqlx::query_as(sql).bind(id.get()).fetch_optional(pool).await)?;
        row.map(Case::try_from).transpose()
    }

    /// A case with its customer, its projection on the chat platform and its corrections.
    pub async fn case_view(&self, id: CaseId) -> Result<Option<CaseView>, StoreError> {
        let sql = once(&SELECT_VIEW, || {
            format!(
                "SELECT {CASE_COLUMNS}, {CUSTOMER_COLUMNS}, {PROJECTION_COLUMNS} \
                 FROM cases c JOIN customers cu ON cu.id = c.customer_id \
                 LEFT JOIN case_projections p ON p.case_id = c.id WHERE c.id = $1"
            )
        });
        let row: Option<CaseViewRow> =
            on_db!(self, pool => sqlx::query_as(sql).bind(id.get()).fetch_optional(pool).await)?;
        let Some(mut view) = row.map(CaseView::try_from).transpose()? else {
            return Ok(None);
        };
        view.corrections = self.corrections(id).await?;
        Ok(Some(view))
    }

    /// Waiting cases in serving order (priority, then the longest wait), then claimed ones.
    pub async fn queue(&self, limit: i64) -> Result<Vec<QueueEntry>, StoreError> {
        let rows: Vec<QueueRow> = on_db!(self, pool => sqlx::query_as(SELECT_QUEUE)
            .bind(CaseState::Escalated.as_str())
            .bind(CaseState::Claimed.as_str())
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        convert(rows)
    }

    /// The first `limit` waiting cases, in serving order: priority, then longest wait.
    pub async fn queue_head(&self, limit: i64) -> Result<Vec<Case>, StoreError> {
        let sql = once(&SELECT_NEXT, || {
            format!(
                "SELECT {CASE_COLUMNS} FROM cases c WHERE c.state = $1 \
                 ORDER BY c.priority_rank DESC, c.escalated_at, c.id LIMIT $2"
            )
        });
        let rows: Vec<CaseRow> = on_db!(self, pool => sqlx::query_as(sql)
            .bind(CaseState::Escalated.as_str())
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(Case::try_from).collect()
    }

    /// Cases staff have (in the queue or claimed), a page at a time by id, for the sweepers.
    pub async fn cases_with_staff(&self, page: Page) -> Result<Vec<Case>, StoreError> {
        let sql = once(&SELECT_WITH_STAFF, || {
            format!(
                "SELECT {CASE_COLUMNS} FROM cases c \
                 WHERE c.state IN ($1, $2) AND c.id > $3 ORDER BY c.id LIMIT $4"
            )
        });
        let rows: Vec<CaseRow> = on_db!(self, pool => sqlx::query_as(sql)
            .bind(CaseState::Escalated.as_str())
            .bind(CaseState::Claimed.as_str())
            .bind(page.after)
            .bind(page.limit)
            .fetch_all(pool)
            .await)?;
        convert(rows)
    }

    /// Cases the bot is handling, with their projections, a page at a time by id.
    pub async fn open_cases(&self, page: Page) -> Result<Vec<(Case, Projection)>, StoreError> {
        let sql = once(&SELECT_OPEN, || {
            format!(
                "SELECT {CASE_COLUMNS}, {PROJECTION_COLUMNS} FROM cases c \
                 LEFT JOIN case_projections p ON p.case_id = c.id \
                 WHERE c.state = $1 AND c.id > $2 ORDER BY c.id LIMIT $3"
            )
        });
        let rows: Vec<CaseProjectionRow> = on_db!(self, pool => sqlx::query_as(sql)
            .bind(CaseState::Open.as_str())
            .bind(page.after)
            .bind(page.limit)
            .fetch_all(pool)
            .await)?;
        convert(rows)
    }

    /// The case whose staff thread this is.
    pub async fn case_by_thread(&self, thread_id: &str) -> Result<Option<CaseId>, StoreError> {
        self.case_by(BY_THREAD, thread_id).await
    }

    /// The case whose card this is.
    pub async fn case_by_card(&self, card_message_id: &str) -> Result<Option<CaseId>, StoreError> {
        self.case_by(BY_CARD, card_message_id).await
    }

    async fn case_by(&self, sql: &'static str, id: &str) -> Result<Option<CaseId>, StoreError> {
        let case: Option<i64> =
            on_db!(self, pool => sqlx::query_scalar(sql).bind(id).fetch_optional(pool).await)?;
        Ok(case.map(CaseId))
    }

    /// What intake needs to know about a message's author: their customer row, whether the
    /// message is stored already, their active case and their latest resolved one. One read
    /// for anyone who has written before; a first message takes a second, finding no one.
    pub async fn intake_snapshot(
        &self,
        platform: &str,
        user: &UserId,
        message_id: &str,
    ) -> Result<IntakeSnapshot, StoreError> {
        // The customer is looked up first, so that the cases are found by their customer's key
        // whatever the planner thinks of the tables' sizes. Their active case sorts first, then
        // their resolved ones, latest first: two rows say all intake needs.
        let sql = once(&SELECT_AUTHOR_WITH_CASES, || {
            format!(
                "SELECT {CUSTOMER_COLUMNS}, (SELECT case_id FROM messages \
                    WHERE platform = $1 AND platform_message_id = $3) AS stored_in, {CASE_COLUMNS} \
                 FROM cases c JOIN customers cu ON cu.id = c.customer_id \
                 WHERE c.customer_id = (SELECT id FROM customers \
                     WHERE platform = $1 AND platform_user_id = $2) \
                   AND c.state IN ($4, $5, $6, $7) \
                 ORDER BY c.state = $7, c.resolved_at DESC LIMIT 2"
            )
        });
        let [open, escalated, claimed] = CaseState::ACTIVE.map(CaseState::as_str);
        let rows: Vec<AuthorCaseRow> = on_db!(self, pool => sqlx::query_as(sql)
            .bind(platform)
            .bind(user.as_str())
            .bind(message_id)
            .bind(open)
            .bind(escalated)
            .bind(claimed)
            .bind(CaseState::Resolved.as_str())
            .fetch_all(pool)
            .await)?;
        let mut snapshot = IntakeSnapshot {
            customer: None,
            active: None,
            last_resolved: None,
            stored_in: None,
        };
        for row in rows {
            let case: Case = row.case.try_into()?;
            snapshot.stored_in = row.stored_in.map(CaseId);
            snapshot.customer = Some(row.customer.into());
            if case.state.is_active() {
                snapshot.active = Some(case);
            } else if snapshot.last_resolved.is_none() {
                snapshot.last_resolved = Some(case);
            }
        }
        if snapshot.customer.is_none() {
            // No case to join: a new customer (or one whose cases are all closed).
            return self.author_without_cases(platform, user, message_id).await;
        }
        Ok(snapshot)
    }

    async fn author_without_cases(
        &self,
        platform: &str,
        user: &UserId,
        message_id: &str,
    ) -> Result<IntakeSnapshot, StoreError> {
        let sql = once(&SELECT_AUTHOR, || {
            format!(
                "SELECT {CUSTOMER_COLUMNS}, (SELECT case_id FROM messages \
                    WHERE platform = $1 AND platform_message_id = $3) AS stored_in \
                 FROM customers cu WHERE cu.platform = $1 AND cu.platform_user_id = $2"
            )
        });
        let row: Option<IntakeRow> = on_db!(self, pool => sqlx::query_as(sql)
            .bind(platform)
            .bind(user.as_str())
            .bind(message_id)
            .fetch_optional(pool)
            .await)?;
        let stored_in = match &row {
            Some(row) => row.stored_in.map(CaseId),
            // Stored without a customer cannot happen; but a message id seen before still is.
            None => None,
        };
        let customer = row.map(|row| Customer::from(row.customer));
        let (active, last_resolved) = match &customer {
            Some(customer) => self.author_cases(customer).await?,
            None => (None, None),
        };
        Ok(IntakeSnapshot {
            customer,
            active,
            last_resolved,
            stored_in,
        })
    }

    /// A customer's active case and their latest resolved case, in one read.
    async fn author_cases(
        &self,
        customer: &Customer,
    ) -> Result<(Option<Case>, Option<Case>), StoreError> {
        let sql = once(&SELECT_AUTHOR_CASES, || {
            format!(
                "SELECT {CASE_COLUMNS} FROM cases c WHERE c.customer_id = $1 \
                   AND (c.state IN ($2, $3, $4) OR c.id = (SELECT id FROM cases \
                     WHERE customer_id = $1 AND state = $5 ORDER BY resolved_at DESC LIMIT 1))"
            )
        });
        let [open, escalated, claimed] = CaseState::ACTIVE.map(CaseState::as_str);
        let rows: Vec<CaseRow> = on_db!(self, pool => sqlx::query_as(sql)
            .bind(customer.id.get())
            .bind(open)
            .bind(escalated)
            .bind(claimed)
            .bind(CaseState::Resolved.as_str())
            .fetch_all(pool)
            .await)?;
        let cases: Vec<Case> = convert(rows)?;
        let (active, resolved): (Vec<Case>, Vec<Case>) =
            cases.into_iter().partition(|c| c.state.is_active());
        Ok((active.into_iter().next(), resolved.into_iter().next()))
    }

    /// The figures `/metrics` reports from the database.
    pub async fn metrics(&self) -> Result<StoredMetrics, StoreError> {
        let waiting: Vec<(String, i64)> = on_db!(self, pool => sqlx::query_as(WAITING_BY_PRIORITY)
            .bind(CaseState::Escalated.as_str())
            .fetch_all(pool)
            .await)?;
        let (customer_messages, sla_breaches, outbox_backlog): (i64, i64, i64) =
            on_db!(self, pool => sqlx::query_as(FIGURES).fetch_one(pool).await)?;
        let (intent_corrections, no_person_corrections) = self.correction_counts().await?;
        Ok(StoredMetrics {
            customer_messages,
            waiting_by_priority: by_priority(waiting),
            sla_breaches,
            outbox_backlog,
            intent_corrections,
            no_person_corrections,
        })
    }

    /// How many rows of each kind there are, for tests, the demo and benchmarks.
    pub async fn counts(&self) -> Result<Counts, StoreError> {
        let (customers, cases, messages, audit_events): (i64, i64, i64, i64) =
            on_db!(self, pool => sqlx::query_as(COUNTS).fetch_one(pool).await)?;
        Ok(Counts {
            customers,
            cases,
            messages,
            audit_events,
        })
    }
}

/// Counts per priority, every priority listed (most urgent first), zero where none.
fn by_priority(counts: Vec<(String, i64)>) -> Vec<(Priority, i64)> {
    Priority::ALL
        .into_iter()
        .map(|p| {
            let n = counts
                .iter()
                .find(|(name, _)| name == p.as_str())
                .map_or(0, |c| c.1);
            (p, n)
        })
        .collect()
}
