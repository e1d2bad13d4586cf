//! The ids carried by casebot's buttons and forms. Each names the case it belongs to, so two
//! cards never share an id, and parsing refuses anything casebot did not make.

use crate::domain::CaseId;

/// What a button or form asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Staff, on a case card.
    Claim(CaseId),
    Release(CaseId),
    Resolve(CaseId),
    /// Staff, on the card or in the thread: opens the reply form.
    Reply(CaseId),
    /// Staff, on the card: the "Wrong intent?" select (the intent comes as its chosen value).
    CorrectIntent(CaseId),
    /// Staff, on the card: "Didn't need a person".
    NoPerson(CaseId),
    /// The customer, in DM.
    TalkToPerson(CaseId),
    RequestCall(CaseId),
    Solved(CaseId),
    Rate(CaseId, u8),
    /// The customer, under a help article: it answered them, or they still need help.
    Helped(CaseId),
    StillNeedHelp(CaseId),
    /// The callback form (a modal) for a case.
    CallbackForm(CaseId),
    /// The reply form (a modal) for a case.
    ReplyForm(CaseId),
}

impl Control {
    /// The case the control belongs to.
    pub fn case(self) -> CaseId {
        match self {
            Control::Claim(c)
            | Control::Release(c)
            | Control::Resolve(c)
            | Control::Reply(c)
            | Control::CorrectIntent(c)
            | Control::NoPerson(c)
            | Control::TalkToPerson(c)
            | Control::RequestCall(c)
            | Control::Solved(c)
            | Control::Rate(c, _)
            | Control::Helped(c)
            | Control::StillNeedHelp(c)
            | Control::CallbackForm(c)
            | Control::ReplyForm(c) => c,
        }
    }

    /// Whether only the support team may use it (in the staff server).
    pub fn is_staff(self) -> bool {
        matches!(
            self,
            Control::Claim(_)
                | Control::Release(_)
                | Control::Resolve(_)
                | Control::Reply(_)
                | Control::ReplyForm(_)
                | Control::CorrectIntent(_)
                | Control::NoPerson(_)
        )
    }
}

impl Control {
    pub fn to_custom_id(self) -> String {
        match self {
            Control::Claim(c) => format!("cb:claim:{c}"),
            Control::Release(c) => format!("cb:release:{c}"),
            Control::Resolve(c) => format!("cb:resolve:{c}"),
            Control::Reply(c) => format!("cb:reply:{c}"),
            Control::ReplyForm(c) => format!("cb:replyform:{c}"),
            Control::CorrectIntent(c) => format!("cb:intent:{c}"),
            Control::NoPerson(c) => format!("cb:noperson:{c}"),
            Control::TalkToPerson(c) => format!("cb:person:{c}"),
            Control::RequestCall(c) => format!("cb:call:{c}"),
            Control::Solved(c) => format!("cb:solved:{c}"),
            Control::Rate(c, stars) => format!("cb:rate:{c}:{stars}"),
            Control::Helped(c) => format!("cb:helped:{c}"),
            Control::StillNeedHelp(c) => format!("cb:needhelp:{c}"),
            Control::CallbackForm(c) => format!("cb:callback:{c}"),
        }
    }

    /// Reads a custom id; `None` for anything casebot did not make.
    pub fn parse(id: &str) -> Option<Control> {
        let mut parts = id.split(':');
        if parts.next()? != "cb" {
            return None;
        }
        let verb = parts.next()?;
        let case = parse_case(parts.next()?)?;
        let control = match verb {
            "claim" => Control::Claim(case),
            "release" => Control::Release(case),
            "resolve" => Control::Resolve(case),
            "reply" => Control::Reply(case),
            "replyform" => Control::ReplyForm(case),
            "intent" => Control::CorrectIntent(case),
            "noperson" => Control::NoPerson(case),
            "person" => Control::TalkToPerson(case),
            "call" => Control::RequestCall(case),
            "solved" => Control::Solved(case),
            "callback" => Control::CallbackForm(case),
            "helped" => Control::Helped(case),
            "needhelp" => Control::StillNeedHelp(case),
            "rate" => {
                let stars: u8 = parts.next()?.parse().ok()?;
                if !(1..=5).contains(&stars) {
                    return None;
                }
                Control::Rate(case, stars)
            }
            _ => return None,
        };
        parts.next().is_none().then_some(control)
    }
}

fn parse_case(raw: &str) -> Option<CaseId> {
    // Digits only: no sign, no spaces, no leading zeros to make two ids mean one case.
    let plain = !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) && !raw.starts_with('0');
    plain
        .then(|| raw.parse().ok())
        .flatten()
        .filter(|c: &i64| *c > 0)
        .map(CaseId)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_control_survives_a_round_trip() {
        let all = [
            Control::Claim(CaseId(1)),
            Control::Release(CaseId(22)),
            Control::Resolve(CaseId(333)),
            Control::Reply(CaseId(9)),
            Control::TalkToPerson(CaseId(4)),
            Control::RequestCall(CaseId(5)),
            Control::Solved(CaseId(6)),
            Control::Rate(CaseId(7), 5),
            Control::CallbackForm(CaseId(8)),
            Control::ReplyForm(CaseId(10)),
            Control::CorrectIntent(CaseId(11)),
            Control::NoPerson(CaseId(12)),
            Control::Helped(CaseId(13)),
            Control::StillNeedHelp(CaseId(14)),
        ];
        for control in all {
            assert_eq!(Control::parse(&control.to_custom_id()), Some(control));
        }
    }

    #[test]
    fn anything_casebot_did_not_make_is_refused() {
        for id in [
            "",
            "cb",
            "cb:claim",
            "cb:claim:",
            "cb:claim:-1",
            "cb:claim:01",
            "cb:claim:0",
            "cb:claim:1:2",
            "xx:claim:1",
            "cb:launch:1",
            "cb:rate:1:6",
            "cb:rate:1:0",
            "cb:rate:1",
            "cb:claim: 1",
            "cb:claim:99999999999999999999",
        ] {
            assert_eq!(Control::parse(id), None, "{id:?}");
        }
    }

    #[test]
    fn custom_ids_fit_discords_100_characters() {
        assert!(Control::Rate(CaseId(i64::MAX), 5).to_custom_id().len() <= 100);
        assert!(
            Control::CorrectIntent(CaseId(i64::MAX))
                .to_custom_id()
                .len()
                <= 100
        );
        assert!(Control::NoPerson(CaseId(i64::MAX)).to_custom_id().len() <= 100);
        assert!(
            Control::StillNeedHelp(CaseId(i64::MAX))
                .to_custom_id()
                .len()
                <= 100
        );
    }
}
