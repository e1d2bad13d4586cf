//! The ids carried by casebot's buttons and forms. Each names the case it belongs to, so two
//! cards never share an id, and parsing refuses anything casebot did not make.

/// What a button or form asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Staff, on a case card.
    Claim(i64),
    Release(i64),
    Resolve(i64),
    /// The customer, in DM.
    TalkToPerson(i64),
    RequestCall(i64),
    Solved(i64),
    Rate(i64, u8),
    /// The callback form (a modal) for a case.
    CallbackForm(i64),
}

impl Control {
    pub fn to_custom_id(self) -> String {
        match self {
            Control::Claim(c) => format!("cb:claim:{c}"),
            Control::Release(c) => format!("cb:release:{c}"),
            Control::Resolve(c) => format!("cb:resolve:{c}"),
            Control::TalkToPerson(c) => format!("cb:person:{c}"),
            Control::RequestCall(c) => format!("cb:call:{c}"),
            Control::Solved(c) => format!("cb:solved:{c}"),
            Control::Rate(c, stars) => format!("cb:rate:{c}:{stars}"),
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
            "person" => Control::TalkToPerson(case),
            "call" => Control::RequestCall(case),
            "solved" => Control::Solved(case),
            "callback" => Control::CallbackForm(case),
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

fn parse_case(raw: &str) -> Option<i64> {
    // Digits only: no sign, no spaces, no leading zeros to make two ids mean one case.
    let plain = !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) && !raw.starts_with('0');
    plain
        .then(|| raw.parse().ok())
        .flatten()
        .filter(|c: &i64| *c > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_control_survives_a_round_trip() {
        let all = [
            Control::Claim(1),
            Control::Release(22),
            Control::Resolve(333),
            Control::TalkToPerson(4),
            Control::RequestCall(5),
            Control::Solved(6),
            Control::Rate(7, 5),
            Control::CallbackForm(8),
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
        assert!(Control::Rate(i64::MAX, 5).to_custom_id().len() <= 100);
    }
}
