//! Every action the audit log records, spelled once. Services name an [`Action`]; the stored
//! text (`case.claimed`, `message.received`, ...) is what exports, tests and people read.

use std::fmt;
use std::str::FromStr;

use crate::domain::case::UnknownName;

macro_rules! actions {
    ($($variant:ident => $name:literal, $doc:literal;)+) => {
        /// What happened, as the audit log names it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Action {
            $(#[doc = $doc] $variant,)+
        }

        impl Action {
            /// Every action, for documentation and tests.
            pub const ALL: &'static [Action] = &[$(Action::$variant,)+];

            /// The name stored in the log.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Action::$variant => $name,)+
                }
            }
        }
    };
}

actions! {
    CaseOpened => "case.opened", "A customer's first message (or one after the reopen window) opened a case.";
    CaseEscalated => "case.escalated", "The case went to the human queue.";
    CaseClaimed => "case.claimed", "A staff member took the case.";
    CaseReleased => "case.released", "The assignee put the case back in the queue.";
    CaseTransferred => "case.transferred", "The case moved to another staff member.";
    CaseResolved => "case.resolved", "The problem was solved.";
    CaseReopened => "case.reopened", "A resolved case was opened again.";
    CaseClosed => "case.closed", "The case is finished for good.";
    CaseRouted => "case.routed", "Routing read a customer message and decided what to do.";
    CaseStuck => "case.stuck", "The stuck-case sweeper handed the case to a person.";
    CaseRated => "case.rated", "The customer rated the help they got.";
    HelpAnswered => "help.answered", "The customer said a help article answered their question.";
    CaseNoted => "case.noted", "A staff member added an internal note.";
    CaseReplied => "case.replied", "A staff member replied to the customer.";
    CaseMerged => "case.merged", "A duplicate case was merged into this one, or this one into another.";
    CaseTagged => "case.tagged", "Staff changed the case's tags.";
    CasePrioritised => "case.prioritised", "Staff set the case's priority.";
    CaseWaiting => "case.waiting", "Staff marked the case as waiting for the customer.";
    CaseReminded => "case.reminded", "A reminder went to the customer or to the assignee.";
    IntentCorrected => "intent.corrected", "Staff said routing read the wrong intent.";
    HandoverCorrected => "handover.corrected", "Staff said the case did not need a person.";
    MessageReceived => "message.received", "A customer message was stored.";
    MessageEdited => "message.edited", "A stored message was edited by its author.";
    MessageDeleted => "message.deleted", "A stored message was deleted by its author.";
    AttachmentStored => "attachment.stored", "A file sent with a message was kept.";
    AttachmentRefused => "attachment.refused", "A file sent with a message was too large or of a refused type.";
    RefundIssued => "refund.issued", "Self-service issued a refund.";
    RateLimited => "rate.limited", "A message was held back by a rate limit.";
    SlaBreached => "sla.breached", "A case missed an SLA deadline.";
    CallbackRequested => "callback.requested", "The customer asked to be called back.";
    CallbackShown => "callback.shown", "The claimer looked at the callback number.";
    CallbackOverdue => "callback.overdue", "A callback was not made by its deadline.";
    AuthRefused => "auth.refused", "Someone tried something they may not do.";
    StaffAdded => "staff.added", "Someone joined the support team or changed role.";
    StaffRemoved => "staff.removed", "Someone left the support team.";
    CustomerBlocked => "customer.blocked", "Staff blocked a customer.";
    CustomerUnblocked => "customer.unblocked", "Staff unblocked a customer.";
    CustomerErased => "customer.erased", "A customer's personal data was erased.";
    CustomerLinked => "customer.linked", "A customer was linked to their account in the order system.";
    CustomerExported => "customer.exported", "A customer's data was exported.";
    DmsClosed => "customer.dms_closed", "Discord refused a DM: the customer's DMs are closed.";
    DmsOpen => "customer.dms_open", "A DM reached the customer again.";
    CardReposted => "card.reposted", "A deleted case card or thread was put back.";
    ThreadJoined => "thread.joined", "Someone was added to a case thread.";
    ThreadLeft => "thread.left", "Someone was taken out of a case thread.";
    DeliveryFailed => "delivery.failed", "A queued message could not be delivered.";
    SavedReplyChanged => "saved_reply.changed", "A lead added, edited or removed a saved reply.";
    LogMigrated => "audit.migrated", "The audit log was carried over from an earlier format.";
    DashboardLogin => "dashboard.login", "A staff member logged in to the dashboard.";
}

impl FromStr for Action {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Action, UnknownName> {
        Action::ALL
            .iter()
            .copied()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| UnknownName {
                kind: "audit action",
                value: s.to_owned(),
            })
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_reads_back_from_its_name() {
        for action in Action::ALL {
            assert_eq!(action.as_str().parse::<Action>(), Ok(*action));
        }
    }

    #[test]
    fn action_names_are_distinct() {
        let mut names: Vec<_> = Action::ALL.iter().map(|a| a.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Action::ALL.len());
    }
}
