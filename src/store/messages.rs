//! Reading messages and notes: a case's transcript, how often a customer wrote about an order,
//! and where to resume reading DMs after a restart. Messages are written by [`Store::apply`].

use chrono::{DateTime, Utc};

use super::rows::{convert, MessageRow, NoteRow, Time};
use super::{on_db, Store, StoreError};
use crate::domain::case::CaseState;
use crate::domain::ids::{CaseId, CustomerId, UserId};
use crate::domain::views::{DmCursor, Note, StoredMessage};

const CASE_MESSAGES: &str = "\
    SELECT id, case_id, platform_message_id, channel_kind, channel_id, author_kind, author_id, \
        body, sent_at, edited_at, deleted_at \
    FROM messages WHERE case_id = $1 ORDER BY id";

const CASE_NOTES: &str =
    "SELECT author, body, created_at FROM case_notes WHERE case_id = $1 ORDER BY id";

const CONTACTS_ABOUT_ORDER: &str = "\
    SELECT COUNT(*) FROM messages m JOIN cases c ON c.id = m.case_id \
    WHERE c.customer_id = $1 AND c.order_number = $2 AND m.author_kind = 'customer'";

/// For each case that a new DM could still join (active, or resolved recently enough to be
/// reopened), the customer's latest stored DM.
const DM_CURSORS: &str = "\
    SELECT c.id, cu.platform_user_id, m.channel_id, m.platform_message_id \
    FROM cases c JOIN customers cu ON cu.id = c.customer_id \
    JOIN messages m ON m.id = (SELECT MAX(id) FROM messages \
        WHERE case_id = c.id AND author_kind = 'customer' AND channel_kind = 'dm') \
    WHERE cu.platform = $1 \
      AND (c.state IN ($2, $3, $4) OR (c.state = $5 AND c.resolved_at >= $6))";

impl Store {
    /// A case's messages, oldest first.
    pub async fn messages(&self, case: CaseId) -> Result<Vec<StoredMessage>, StoreError> {
        let rows: Vec<MessageRow> = on_db!(self, pool => sqlx::query_as(CASE_MESSAGES).bind(case.get()).fetch_all(pool).await)?;
        convert(rows)
    }

    /// A case's internal notes, oldest first.
    pub async fn notes(&self, case: CaseId) -> Result<Vec<Note>, StoreError> {
        let rows: Vec<NoteRow> = on_db!(self, pool => sqlx::query_as(CASE_NOTES).bind(case.get()).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(Note::from).collect())
    }

    /// Messages the customer wrote on any of their cases linked to `order_number`.
    pub async fn contacts_about_order(
        &self,
        customer: CustomerId,
        order_number: &str,
    ) -> Result<u32, StoreError> {
        let count: i64 = on_db!(self, pool => sqlx::query_scalar(CONTACTS_ABOUT_ORDER)
            .bind(customer.get())
            .bind(order_number)
            .fetch_one(pool)
            .await)?;
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }

    /// Where to resume reading DMs: customers with an active case, or one resolved since
    /// `resolved_since` (a DM that arrived while casebot was offline would reopen it).
    pub async fn dm_cursors(
        &self,
        platform: &str,
        resolved_since: DateTime<Utc>,
    ) -> Result<Vec<DmCursor>, StoreError> {
        let [open, escalated, claimed] = CaseState::ACTIVE.map(CaseState::as_str);
        let rows: Vec<(i64, String, String, String)> = on_db!(self, pool => sqlx::query_as(DM_CURSORS)
            .bind(platform)
            .bind(open)
            .bind(escalated)
            .bind(claimed)
            .bind(CaseState::Resolved.as_str())
            .bind(Time(resolved_since))
            .fetch_all(pool)
            .await)?;
        Ok(rows
            .into_iter()
            .map(|(case, user, channel, last)| DmCursor {
                case_id: CaseId(case),
                user_id: UserId(user),
                channel_id: channel,
                last_message_id: last,
            })
            .collect())
    }
}
