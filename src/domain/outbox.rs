//! What casebot has to say, and to whom: the messages services queue for delivery in the same
//! transaction as the change that causes them. Where a message goes is named here in terms of
//! the case (the customer's DMs, the staff queue, the case's thread); the Discord adapter maps
//! that onto channels when it delivers.

use std::time::Duration;

use super::case::parse_by_name;
use super::ids::{CaseId, UserId};

/// Where a queued message goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// The customer's direct messages, by their platform user id.
    CustomerDm { user_id: UserId },
    /// A public channel, as a reply to the customer's message there.
    Channel {
        channel_id: String,
        reply_to: Option<String>,
    },
    /// The staff queue channel.
    StaffQueue,
    /// The case's private staff thread.
    CaseThread,
}

impl Destination {
    /// `(destination, target, reply_to)` as stored.
    pub fn to_columns(&self) -> (&'static str, Option<&str>, Option<&str>) {
        match self {
            Destination::CustomerDm { user_id } => ("customer_dm", Some(user_id.as_str()), None),
            Destination::Channel {
                channel_id,
                reply_to,
            } => ("channel", Some(channel_id), reply_to.as_deref()),
            Destination::StaffQueue => ("staff_queue", None, None),
            Destination::CaseThread => ("case_thread", None, None),
        }
    }

    pub fn from_columns(
        destination: &str,
        target: Option<String>,
        reply_to: Option<String>,
    ) -> Option<Destination> {
        Some(match destination {
            "customer_dm" => Destination::CustomerDm {
                user_id: UserId(target?),
            },
            "channel" => Destination::Channel {
                channel_id: target?,
                reply_to,
            },
            "staff_queue" => Destination::StaffQueue,
            "case_thread" => Destination::CaseThread,
            _ => return None,
        })
    }
}

/// What a queued message is, which decides how the adapter renders it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxKind {
    /// The bot's answer to a customer.
    Reply,
    /// The short public acknowledgement of a mention.
    PublicAck,
    /// The one notice a customer gets when over a rate limit.
    SlowDown,
    /// A staff member's reply, relayed to the customer.
    StaffReply,
    /// An internal note, posted in the case thread only.
    Note,
    /// The escalation card in the staff queue channel.
    CaseCard,
    /// An SLA deadline passed; staff are pinged.
    SlaBreach,
    /// The stuck-case sweeper handed a case over; staff are pinged.
    StuckCase,
    /// A customer asked to be called back.
    Callback,
    /// The bot's answer, offering a person ("Talk to a person", "Request a call", "That solved it").
    Offer,
    /// A customer's message, mirrored into the case thread for staff.
    Mirror,
    /// A help article as the bot's answer, asking "That helped" / "I still need help".
    HelpArticle,
    /// After resolution: how did we do, 1 to 5?
    RatingPrompt,
    /// casebot telling staff in a case thread that something they did was not carried out.
    ThreadNotice,
    /// A nudge: to the customer while staff wait for them, or to the assignee of a quiet case.
    Reminder,
    /// Add the staff member named in the body to the case's thread.
    ThreadJoin,
    /// Take the staff member named in the body out of the case's thread.
    ThreadLeave,
}

impl OutboxKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxKind::Reply => "reply",
            OutboxKind::PublicAck => "public_ack",
            OutboxKind::SlowDown => "slow_down",
            OutboxKind::StaffReply => "staff_reply",
            OutboxKind::Note => "note",
            OutboxKind::CaseCard => "case_card",
            OutboxKind::SlaBreach => "sla_breach",
            OutboxKind::StuckCase => "stuck_case",
            OutboxKind::Callback => "callback",
            OutboxKind::Offer => "offer",
            OutboxKind::Mirror => "mirror",
            OutboxKind::HelpArticle => "help_article",
            OutboxKind::RatingPrompt => "rating_prompt",
            OutboxKind::ThreadNotice => "thread_notice",
            OutboxKind::Reminder => "reminder",
            OutboxKind::ThreadJoin => "thread_join",
            OutboxKind::ThreadLeave => "thread_leave",
        }
    }

    /// Whether the customer reads this message (everything else is for staff only).
    pub fn reaches_customer(self) -> bool {
        matches!(
            self,
            OutboxKind::Reply
                | OutboxKind::PublicAck
                | OutboxKind::SlowDown
                | OutboxKind::StaffReply
                | OutboxKind::Offer
                | OutboxKind::HelpArticle
                | OutboxKind::RatingPrompt
        )
    }
}

parse_by_name!(
    OutboxKind,
    "outbox kind",
    [
        OutboxKind::Reply,
        OutboxKind::PublicAck,
        OutboxKind::SlowDown,
        OutboxKind::StaffReply,
        OutboxKind::Note,
        OutboxKind::CaseCard,
        OutboxKind::SlaBreach,
        OutboxKind::StuckCase,
        OutboxKind::Callback,
        OutboxKind::Offer,
        OutboxKind::Mirror,
        OutboxKind::HelpArticle,
        OutboxKind::RatingPrompt,
        OutboxKind::ThreadNotice,
        OutboxKind::Reminder,
        OutboxKind::ThreadJoin,
        OutboxKind::ThreadLeave,
    ]
);

/// A message to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The case it is about ([`CaseId::NEW`] for the case the same change opens).
    pub case_id: Option<CaseId>,
    pub kind: OutboxKind,
    pub destination: Destination,
    pub body: String,
}

impl Outgoing {
    pub fn to_customer(
        case_id: CaseId,
        user_id: &UserId,
        kind: OutboxKind,
        body: String,
    ) -> Outgoing {
        Outgoing {
            case_id: Some(case_id),
            kind,
            destination: Destination::CustomerDm {
                user_id: user_id.clone(),
            },
            body,
        }
    }

    /// For the case's staff thread.
    pub fn to_thread(case_id: CaseId, kind: OutboxKind, body: String) -> Outgoing {
        Outgoing {
            case_id: Some(case_id),
            kind,
            destination: Destination::CaseThread,
            body,
        }
    }

    pub fn to_staff(case_id: CaseId, kind: OutboxKind, body: String) -> Outgoing {
        Outgoing {
            case_id: Some(case_id),
            kind,
            destination: Destination::StaffQueue,
            body,
        }
    }
}

/// How long to wait before delivery attempt `attempt` (1-based) after a failure: doubling from
/// one second, capped at five minutes, so a long outage costs few requests and a blip costs
/// little time.
pub fn backoff(attempt: u32) -> Duration {
    let doubled = 1u64 << attempt.saturating_sub(1).min(16);
    Duration::from_secs(doubled.min(300))
}

/// A platform nonce for the entry with this id. The same entry always gets the same nonce, so a
/// retry after an unknown outcome is recognised by the platform instead of posted twice.
pub fn nonce(entry_id: super::ids::OutboxId) -> String {
    format!("cb{entry_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_destination_survives_storage() {
        let all = [
            Destination::CustomerDm {
                user_id: UserId::new("42"),
            },
            Destination::Channel {
                channel_id: "7".into(),
                reply_to: Some("99".into()),
            },
            Destination::StaffQueue,
            Destination::CaseThread,
        ];
        for d in all {
            let (name, target, reply_to) = d.to_columns();
            let back = Destination::from_columns(
                name,
                target.map(str::to_owned),
                reply_to.map(str::to_owned),
            );
            assert_eq!(back, Some(d));
        }
        assert_eq!(Destination::from_columns("pager", None, None), None);
        assert_eq!(Destination::from_columns("customer_dm", None, None), None);
    }

    #[test]
    fn backoff_doubles_from_a_second_and_stops_at_five_minutes() {
        let waits: Vec<u64> = (1..=10).map(|a| backoff(a).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]);
        assert_eq!(backoff(1_000).as_secs(), 300);
    }

    #[test]
    fn nonces_are_stable_and_fit_discords_25_characters() {
        use crate::domain::ids::OutboxId;
        assert_eq!(nonce(OutboxId(7)), nonce(OutboxId(7)));
        assert_ne!(nonce(OutboxId(7)), nonce(OutboxId(8)));
        assert!(nonce(OutboxId(i64::MAX)).len() <= 25);
    }
}
