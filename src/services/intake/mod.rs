//! Intake: the one entry point for customer messages, whatever the platform. One message is one
//! unit of work: it is linked to the customer's single active case (opening or reopening one as
//! needed), held to the rate limits, routed, and stored together with the routing decision, its
//! audit events and every reply it causes, in one transaction. There is no moment at which a
//! message is stored but not routed. A platform message id seen before changes nothing.

mod record;

use std::sync::Arc;

use serde::Serialize;

use super::limits::{RateLimits, Verdict};
use super::routing::{Reading, Router, WriteMemo};
use super::{Clock, SystemClock};
use crate::domain::case::{link, Disposition};
use crate::domain::message::{prepare_text, sha256_hex, PreparedText};
use crate::domain::personal::{redact_personal, PersonalData};
use crate::domain::policy::IntakePolicy;
use crate::domain::routing::decide::{hold_escalation, Decision};
use crate::domain::views::DmCursor;
use crate::domain::{Applied, CaseId, CaseState, ChannelKind, InboundMessage};
use crate::store::{Store, StoreError};

pub use record::Routed;

/// What intake did with a message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Handled {
    pub case_id: CaseId,
    pub disposition: Disposition,
    /// Blocked customers' messages are stored but get no reply.
    pub customer_blocked: bool,
    pub cards_removed: usize,
    /// Personal data removed from a public post (it should come down from the channel too).
    pub personal_data: Vec<PersonalData>,
    pub truncated: bool,
    /// The limit the message was held back by, if any.
    pub limited: Option<&'static str>,
    /// What routing decided, when it ran.
    pub routed: Option<Routed>,
}

impl Handled {
    pub fn is_duplicate(&self) -> bool {
        self.disposition == Disposition::Duplicate
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The customer's case kept changing under us; the caller may retry the message.
    #[error("the customer's case kept changing during intake; retry the message")]
    Contended,
}

impl IntakeError {
    /// Whether trying the same message again may succeed. (Intake is idempotent, so a retry is
    /// always safe; this only says whether it is worth it.)
    pub fn is_transient(&self) -> bool {
        match self {
            IntakeError::Store(e) => e.is_transient(),
            IntakeError::Contended => true,
        }
    }
}

/// Serialises the messages of one customer within this process, so that two arriving together
/// are decided one after the other instead of conflicting. (Across processes the version check
/// does the same job, with a retry.)
struct CustomerLocks {
    shards: Vec<tokio::sync::Mutex<()>>,
}

impl CustomerLocks {
    fn new() -> CustomerLocks {
        CustomerLocks {
            shards: (0..1024).map(|_| tokio::sync::Mutex::new(())).collect(),
        }
    }

    async fn lock(&self, key: &str) -> tokio::sync::MutexGuard<'_, ()> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut h);
        self.shards[(h.finish() % self.shards.len() as u64) as usize]
            .lock()
            .await
    }
}

/// How many times a message is decided again when its case keeps changing under it.
const ATTEMPTS: usize = 16;

#[derive(Clone)]
pub struct IntakeService {
    store: Store,
    router: Router,
    limits: Arc<RateLimits>,
    policy: IntakePolicy,
    clock: Arc<dyn Clock>,
    locks: Arc<CustomerLocks>,
}

impl IntakeService {
    pub fn new(
        store: Store,
        router: Router,
        limits: Arc<RateLimits>,
        policy: IntakePolicy,
    ) -> IntakeService {
        IntakeService {
            store,
            router,
            limits,
            policy,
            clock: Arc::new(SystemClock),
            locks: Arc::new(CustomerLocks::new()),
        }
    }

    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> IntakeService {
        self.clock = clock;
        self
    }

    /// Where to resume reading each customer's DMs after a restart: every customer whose case a
    /// new DM could still join (active, or resolved since `since`).
    pub async fn dm_cursors(
        &self,
        platform: &str,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<DmCursor>, StoreError> {
        self.store.dm_cursors(platform, since).await
    }

    pub fn router(&self) -> &Router {
        &self.router
    }

    /// Takes in one customer message. Calling it again with the same platform message id changes
    /// nothing and reports [`Disposition::Duplicate`].
    #[tracing::instrument(name = "intake", skip_all, fields(message.id = %msg.message_id))]
    pub async fn take_in(&self, msg: &InboundMessage) -> Result<Handled, IntakeError> {
        let (prepared, personal_data) = self.prepare(msg);
        let _turn = self
            .locks
            .lock(&format!("{}:{}", msg.platform, msg.author_id))
            .await;
        // Keyed by the platform message id, so a message delivered twice is asked about once.
        let key = format!("{}:{}", msg.platform, msg.message_id);
        let reading = self.router.read(Some(&key), &prepared.text).await;
        let mut limited: Option<Option<Verdict>> = None;
        let mut escalation_allowed: Option<bool> = None;
        let mut memo = WriteMemo::new();
        for _ in 0..ATTEMPTS {
            let now = self.clock.now();
            let snapshot = self
                .store
                .intake_snapshot(&msg.platform, &msg.author_id, &msg.message_id)
                .await?;
            if let Some(case_id) = snapshot.stored_in {
                return Ok(duplicate(case_id));
            }
            let linked = link(
                &snapshot,
                msg.channel_kind.origin(),
                now,
                self.policy.reopen_window,
            );
            let disposition = linked.disposition;
            let blocked = snapshot.customer.as_ref().is_some_and(|c| c.blocked);
            let verdict = limited
                .get_or_insert_with(|| (!blocked).then(|| self.check_limits(msg)))
                .clone();
            let input = record::Input {
                msg,
                prepared: &prepared,
                personal_data: &personal_data,
                snapshot: &snapshot,
                linked,
                now,
            };
            let (change, routed) = match verdict {
                _ if blocked => (record::quiet(input, None), None),
                Some(Verdict::Limited { limit, notice }) => {
                    (record::quiet(input, Some((limit, notice))), None)
                }
                _ => {
                    let decision = self
                        .route(&input, &reading, &mut memo, &mut escalation_allowed)
                        .await?;
                    let (change, routed) = record::routed(input, &reading, decision);
                    (change, Some(routed))
                }
            };
            match self.store.apply(change).await? {
                Applied::Done { case_id, .. } => {
                    let case_id = case_id
                        .or(snapshot_case(&snapshot, disposition))
                        .unwrap_or(CaseId::NEW);
                    tracing::debug!(case.id = %case_id, ?disposition, "message taken in");
                    return Ok(Handled {
                        case_id,
                        disposition,
                        customer_blocked: blocked,
                        cards_removed: prepared.cards_removed,
                        personal_data,
                        truncated: prepared.truncated,
                        limited: match verdict {
                            Some(Verdict::Limited { limit, .. }) => Some(limit),
                            _ => None,
                        },
                        routed: routed.map(|r| r.with_case(case_id)),
                    });
                }
                // Stored by another process since the snapshot: read where it went.
                Applied::Duplicate => continue,
                Applied::Conflict => continue,
            }
        }
        Err(IntakeError::Contended)
    }

    /// The text as it will be stored: cleaned, capped, card numbers out, and for a public post
    /// e-mail addresses, phone numbers and passwords out too (everyone can read it).
    fn prepare(&self, msg: &InboundMessage) -> (PreparedText, Vec<PersonalData>) {
        let mut prepared = prepare_text(&msg.text, self.policy.max_message_bytes);
        let mut personal_data = Vec::new();
        if msg.channel_kind == ChannelKind::Public {
            let (text, found) = redact_personal(&prepared.text);
            if !found.is_empty() {
                prepared.sha256 = sha256_hex(text.as_bytes());
                prepared.text = text;
            }
            personal_data = found;
            if prepared.cards_removed > 0 {
                personal_data.insert(0, PersonalData::CardNumber);
            }
        }
        (prepared, personal_data)
    }

    fn check_limits(&self, msg: &InboundMessage) -> Verdict {
        let customer = format!("{}:{}", msg.platform, msg.author_id);
        let server = (msg.channel_kind == ChannelKind::Public).then_some(msg.channel_id.as_str());
        self.limits.check_message(&customer, server)
    }

    /// Routes the message on its linked case, holding back an escalation the customer's hourly
    /// limit does not allow (counted once per message, however often it is decided).
    async fn route(
        &self,
        input: &record::Input<'_>,
        reading: &Reading,
        memo: &mut WriteMemo,
        escalation_allowed: &mut Option<bool>,
    ) -> Result<Decision, StoreError> {
        let case = &input.linked.case;
        let decision = self
            .router
            .decide(
                &self.store,
                (case, input.snapshot.customer.as_ref()),
                &input.prepared.text,
                reading,
                input.now,
                memo,
            )
            .await?;
        if !(decision.escalate && case.state == CaseState::Open) {
            return Ok(decision);
        }
        let customer = format!("{}:{}", input.msg.platform, input.msg.author_id);
        let allowed =
            *escalation_allowed.get_or_insert_with(|| self.limits.allow_escalation(&customer));
        Ok(if allowed {
            decision
        } else {
            hold_escalation(decision)
        })
    }
}

fn snapshot_case(
    snapshot: &crate::domain::views::IntakeSnapshot,
    d: Disposition,
) -> Option<CaseId> {
    match d {
        Disposition::Reopened => snapshot.last_resolved.as_ref().map(|c| c.id),
        _ => snapshot.active.as_ref().map(|c| c.id),
    }
}

fn duplicate(case_id: CaseId) -> Handled {
    Handled {
        case_id,
        disposition: Disposition::Duplicate,
        customer_blocked: false,
        cards_removed: 0,
        personal_data: Vec::new(),
        truncated: false,
        limited: None,
        routed: None,
    }
}
