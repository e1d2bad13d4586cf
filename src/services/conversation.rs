//! One customer message, end to end, as a long-running adapter handles it: take it in (always),
//! check the rate limits, route it, and say what to send where. Public mentions only ever get the
//! acknowledgement in public; everything else goes by DM.

use std::sync::Arc;

use serde_json::json;

use super::intake::IntakeError;
use super::limits::{RateLimits, Verdict, SLOW_DOWN};
use super::routing::{Routed, RoutingError, RoutingService};
use super::{IntakeOutcome, IntakeService};
use crate::domain::{ActorKind, ChannelKind, InboundMessage, NewAuditEvent, OutboxKind, Outgoing};
use crate::render;
use crate::store::{Store, StoreError};

/// What came of one message, and what the adapter should send.
#[derive(Debug, Clone, PartialEq)]
pub struct Handled {
    pub intake: IntakeOutcome,
    /// Routing ran: its reply goes to the customer by DM.
    pub routed: Option<Routed>,
    /// The acknowledgement to post in the public channel.
    pub public_ack: Option<String>,
    /// The customer is over a rate limit and gets this notice by DM (once per spell).
    pub notice: Option<&'static str>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConversationError {
    #[error(transparent)]
    Intake(#[from] IntakeError),
    #[error(transparent)]
    Routing(#[from] RoutingError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ConversationError {
    /// Whether trying the same message again may succeed: the database was unreachable or
    /// busy, or the customer's case changed under intake. (Intake is idempotent, so a retry is
    /// always safe; this only says whether it is worth it.)
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ConversationError::Store(_)
                | ConversationError::Intake(_)
                | ConversationError::Routing(RoutingError::Store(_))
        )
    }
}

#[derive(Clone)]
pub struct Conversation {
    store: Store,
    intake: IntakeService,
    routing: RoutingService,
    limits: Arc<RateLimits>,
}

impl Conversation {
    pub fn new(
        store: Store,
        intake: IntakeService,
        routing: RoutingService,
        limits: Arc<RateLimits>,
    ) -> Conversation {
        Conversation {
            store,
            intake,
            routing,
            limits,
        }
    }

    pub async fn handle(&self, msg: &InboundMessage) -> Result<Handled, ConversationError> {
        let intake = self.intake.receive(msg).await?;
        let quiet = Handled {
            intake: intake.clone(),
            routed: None,
            public_ack: None,
            notice: None,
        };
        // A replay was handled the first time, unless the process stopped between taking it in
        // and routing it: then it is routed now. A blocked customer gets no reply at all.
        let blocked = if intake.is_duplicate() {
            match self
                .store
                .unrouted_message(&msg.platform, &msg.message_id)
                .await?
            {
                Some(blocked) => blocked,
                None => return Ok(quiet),
            }
        } else {
            intake.customer_blocked
        };
        if blocked {
            return Ok(quiet);
        }
        let public = msg.channel_kind == ChannelKind::Public;
        let customer = format!("{}:{}", msg.platform, msg.author_id);
        let server = public.then_some(msg.channel_id.as_str());
        if let Verdict::Limited { limit, notice } = self.limits.check_message(&customer, server) {
            self.audit_limited(intake.case_id, &msg.author_id, limit, notice)
                .await?;
            return Ok(Handled {
                notice: notice.then_some(SLOW_DOWN),
                ..quiet
            });
        }
        let routed = self
            .routing
            .route_inbound(intake.case_id, msg, &intake.personal_data)
            .await?;
        Ok(Handled {
            public_ack: public.then(|| render::public_ack(intake.case_id, &intake.personal_data)),
            routed: Some(routed),
            ..quiet
        })
    }

    /// Records that a message was held back, and queues the customer's one notice with it.
    async fn audit_limited(
        &self,
        case_id: i64,
        customer_user: &str,
        limit: &str,
        notice: bool,
    ) -> Result<(), StoreError> {
        let now = chrono::Utc::now();
        let mut tx = self.store.begin().await?;
        if notice {
            let slow_down = Outgoing::to_customer(
                case_id,
                customer_user,
                OutboxKind::SlowDown,
                SLOW_DOWN.into(),
            );
            tx.enqueue(&[slow_down], now).await?;
        }
        tx.append_audit(&[NewAuditEvent {
            at: now,
            actor_kind: ActorKind::System,
            actor_id: "rate-limits".into(),
            action: "rate.limited",
            case_id: Some(case_id),
            details: json!({ "limit": limit, "notice": notice }),
        }])
        .await?;
        tx.commit().await
    }
}
