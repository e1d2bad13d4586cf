//! The case's projections on the chat platform: its card in the staff queue channel, its private
//! thread, who is in the thread, and whether the customer's DMs are closed. The platform adapter
//! reports what it posted and what it found here; these are re-creatable views of the case, so a
//! deleted card or thread is posted again from the database.

use std::sync::Arc;

use serde_json::json;

use super::staff::card_refresh;
use super::{Clock, SystemClock};
use crate::domain::audit::{Action, Actor, NewAuditEvent};
use crate::domain::change::ProjectionWrite;
use crate::domain::ids::{CaseId, StaffId};
use crate::domain::views::{CaseView, QueueEntry};
use crate::domain::{Change, OutboxKind, Outgoing};
use crate::store::{Store, StoreError};

#[derive(Clone)]
pub struct CardService {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl CardService {
    pub fn new(store: Store) -> CardService {
        CardService {
            store,
            clock: Arc::new(SystemClock),
        }
    }

    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> CardService {
        self.clock = clock;
        self
    }

    /// The case as its card shows it.
    pub async fn view(&self, case: CaseId) -> Result<Option<CaseView>, StoreError> {
        self.store.case_view(case).await
    }

    /// The case whose staff thread this is.
    pub async fn case_of_thread(&self, thread_id: &str) -> Result<Option<CaseId>, StoreError> {
        self.store.case_by_thread(thread_id).await
    }

    /// The case whose card this is.
    pub async fn case_of_card(&self, card_message_id: &str) -> Result<Option<CaseId>, StoreError> {
        self.store.case_by_card(card_message_id).await
    }

    /// The staff queue, for a queue view.
    pub async fn queue(&self, limit: i64) -> Result<Vec<QueueEntry>, StoreError> {
        self.store.queue(limit).await
    }

    /// Tells staff in the case's thread that something they did was not carried out (through the
    /// outbox, like everything casebot says).
    pub async fn notice(&self, case_id: CaseId, text: &str) -> Result<(), StoreError> {
        let notice = Outgoing::to_thread(case_id, OutboxKind::ThreadNotice, text.to_owned());
        self.store
            .apply(Change::at(self.clock.now()).send(notice))
            .await?;
        Ok(())
    }

    /// Records where the case's card and thread are now.
    pub async fn posted(
        &self,
        case_id: CaseId,
        card: Option<&str>,
        thread: Option<&str>,
    ) -> Result<(), StoreError> {
        let write = ProjectionWrite::Card {
            case_id,
            card_message_id: card.map(str::to_owned),
            thread_id: thread.map(str::to_owned),
        };
        self.store
            .apply(Change::at(self.clock.now()).project(write))
            .await?;
        Ok(())
    }

    /// Records who is in the case's thread now.
    pub async fn thread_members(
        &self,
        case_id: CaseId,
        members: Vec<StaffId>,
    ) -> Result<(), StoreError> {
        let write = ProjectionWrite::ThreadMembers { case_id, members };
        self.store
            .apply(Change::at(self.clock.now()).project(write))
            .await?;
        Ok(())
    }

    /// Records whether the customer's DMs are closed (Discord refused a DM) or open again, when
    /// that changes: audited, and shown on the card.
    pub async fn dms(&self, case_id: CaseId, closed: bool) -> Result<(), StoreError> {
        let Some(view) = self.store.case_view(case_id).await? else {
            return Ok(());
        };
        if view.projection.dm_closed == closed {
            return Ok(());
        }
        let now = self.clock.now();
        let action = if closed {
            Action::DmsClosed
        } else {
            Action::DmsOpen
        };
        let mut change = Change::at(now)
            .project(ProjectionWrite::DmClosed { case_id, closed })
            .event(NewAuditEvent::new(now, Actor::system("discord"), action).on(case_id));
        if view.case.state.with_staff() {
            change = change.send(card_refresh(&view.case));
        }
        self.store.apply(change).await?;
        Ok(())
    }

    /// Puts the case's card (and with it its thread) back after someone deleted it on the
    /// platform: an active case with staff always has one. Returns whether it will be reposted.
    pub async fn put_back(
        &self,
        case_id: CaseId,
        card_gone: bool,
        thread_gone: bool,
    ) -> Result<bool, StoreError> {
        let Some(view) = self.store.case_view(case_id).await? else {
            return Ok(false);
        };
        if !view.case.state.with_staff() {
            return Ok(false);
        }
        let p = &view.projection;
        let now = self.clock.now();
        let write = ProjectionWrite::Card {
            case_id,
            card_message_id: p.card_message_id.clone().filter(|_| !card_gone),
            thread_id: p.thread_id.clone().filter(|_| !thread_gone),
        };
        let members = ProjectionWrite::ThreadMembers {
            case_id,
            members: if thread_gone {
                Vec::new()
            } else {
                p.thread_members.clone()
            },
        };
        let details = json!({ "card_deleted": card_gone, "thread_deleted": thread_gone });
        let change = Change::at(now)
            .project(write)
            .project(members)
            .send(card_refresh(&view.case))
            .event(
                NewAuditEvent::new(now, Actor::system("discord"), Action::CardReposted)
                    .on(case_id)
                    .with(details),
            );
        self.store.apply(change).await?;
        Ok(true)
    }
}
