//! The signals the labelling guide's escalation criteria need, read from one message: strong
//! anger (not any negative tone), being stuck (earlier contacts, long waits, promises not kept),
//! a high-value item named in the text, something automation cannot grant (exceptions,
//! goodwill, disputes), details given away to a scammer, and an explicit request for a person.
//! Routing rules name them under `signals = [...]`.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use regex::Regex;
use serde::{Serialize, Serializer};

use super::classify::pattern;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Signal {
    Anger,
    Stuck,
    HighValueItem,
    Exception,
    GaveDetails,
    AsksForPerson,
}

impl Signal {
    pub const ALL: [Signal; 6] = [
        Signal::Anger,
        Signal::Stuck,
        Signal::HighValueItem,
        Signal::Exception,
        Signal::GaveDetails,
        Signal::AsksForPerson,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Anger => "anger",
            Signal::Stuck => "stuck",
            Signal::HighValueItem => "high_value_item",
            Signal::Exception => "exception",
            Signal::GaveDetails => "gave_details",
            Signal::AsksForPerson => "asks_for_person",
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Signal {
    type Err = ();
    fn from_str(s: &str) -> Result<Signal, ()> {
        Signal::ALL.into_iter().find(|x| x.as_str() == s).ok_or(())
    }
}

impl Serialize for Signal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

struct Patterns {
    anger: Regex,
    stuck: Regex,
    item: Regex,
    amount: Regex,
    exception: Regex,
    gave_details: Regex,
    person: Regex,
}

#[rustfmt::skip]
fn patterns() -> &'static Patterns {
    static PATTERNS: OnceLock<Patterns> = OnceLock::new();
    PATTERNS.get_or_init(|| Patterns {
        // Insults, swearing and threats to leave: anger, where "disappointed" or "not happy" is
        // only frustration.
        anger: pattern(r"\b(idiots?|stupid|useless|pathetic|incompetent|clowns?|morons?|shit\w*|crap|wtf|fuck\w*|f\*+k\w*|bullshit|worst|disgust\w*|disgrace\w*|shameful|shame on|fed up|sick (and tired )?of|furious|outrag\w*|appall\w*|atrocious|horrendous|rubbish service|joke of a|what the hell|hell is|boycott\w*|never (again|(order|shop|buy)\w* (from|with|again))|lost a customer|take my (business|money) elsewhere|cheat\w*|looted|thieves|liars?|lying|consumer (court|forum)|legal action|sue you|(absolute|total|complete|such a|what a) (joke|disgrace|shambles|nonsense|mess)|ridiculous|unacceptable|unprofessional|rude|fuming|hate (you|amazon|this)|i hate|terrible|horrible|awful|nonsense|on earth|the hell|seriously\?|how dare|harass\w*|torture\w*)\b"),
        // Several earlier contacts, a wait of about a week or more, promises not kept.
        stuck: pattern(r"\b((second|third|fourth|fifth|2nd|3rd|4th|5th|\d+(th)?) time|(several|many|multiple|numerous|countless|\d+) times|yet again|again and again|over and over|keep (telling|saying|getting|asking)|still (no|not|waiting|nothing|haven'?t|hasn'?t)|no (one|body) (has )?(helped|replied|responded|answered|called|bothered)|no (response|reply|resolution|update) (yet|so far|since|from)|(already|have) (contacted|called|emailed|chatted|complained|raised|spoken|written)|(contacted|called|emailed|chatted with|complained to|spoke to|spoken to|written to) (you|your|customer)\w* (\w+ )?(times|twice|already|before)|was (told|promised|assured)|(promised|assured) (me|us|to)|said (they|you) would|you (said|promised)|since (last|\d|a week|two weeks|monday|tuesday|wednesday|thursday|friday|saturday|sunday)|for (over )?(a|one|two|three|\d+|several|many) (weeks?|months?)|([7-9]|[1-9]\d+) days|(a|one|two|three|\d+|several|many|few) (weeks?|months?)|fortnight|ages|forever|complaint (no|number|id)|(been|waiting|waited|for|since|over|almost|nearly|more than) (\w+ ){0,2}(\d+|two|three|four|five|six|few|couple of|several|many) (days|weeks|months)|again (and|n|&) again|(spent|wasted) (\w+ ){0,3}(hours?|minutes|half an hour|days)|(haven'?t|have not|not|never) heard (back )?from|any (update|resolution|re-solution|response) (on|about|regarding) my|my (query|complaint|ticket|case) (is|was|has|still|not)|no one (is )?(responding|replying|helping))\b"),
        // Expensive electronics and other big-ticket items, named in the text.
        item: pattern(r"\b(laptops?|macbooks?|notebook computer|tvs?|televisions?|oled|qled|(smart|mobile|cell|new) ?phones?|iphones?|pixel \d|galaxy s\d+|oneplus|ipads?|tablets?|cameras?|dslr|lens|consoles?|ps[45]|playstation|xbox( one| series)?( [xs])?|nintendo switch|fridge|refrigerator|washing machine|dishwasher|monitors?|gaming pc|desktop pc|computer|graphics card|gpu|sofa|mattress|(diamond|gold) (ring|necklace)|engagement ring|apple watch|smart ?watch|bike|e-?bike|drone|projector|sound ?bar|home theatre)\b"),
        amount: pattern(r"(?:\$|usd ?|£|€)\s?(\d{1,3}(?:,\d{3})+|\d+)"),
        // Only a person can grant these: exceptions, goodwill, a dispute with an earlier answer.
        exception: pattern(r"\b(exception|goodwill|compensat\w*|gesture|make (it|this) right|make up for|dispute|appeal|escalat\w*|supervisor|manager|higher authority|senior|not (fair|acceptable|right)|unfair|unjust|refus\w*|denied|deny\w*|rejected|reject\w*|won'?t (accept|allow|let|give|refund|replace)|wouldn'?t (accept|allow|let|give|refund|replace)|not (allowing|giving|accepting)|declined my|against (your|the) policy|policy says|out of (the )?(return )?window|warranty (claim|expired)|voucher|credit for the trouble)\b"),
        gave_details: pattern(r"\b(clicked|opened|entered|typed|gave|given|shared|put in|provided|filled in|told them|sent them|paid them|installed)\b.{0,40}\b(link|details|password|card|otp|pin|code|bank|cvv|info\w*|number|app|money|gift cards?)\b"),
        person: pattern(r"\b(speak|talk|chat|connect|transfer|put me through|escalate)( me)? (to|with) (a |an |some |your |the )?(real |live |actual |human )?(human|person|people|agent|representative|rep|someone|somebody|supervisor|manager|executive|team)\b|\b(call me|call back|callback|ring me|phone me|contact me|reach me|get back to me|give me a call|(phone|contact|helpline|customer care|customer service|toll free) (number|no)|number to call|can i call|how (do|can) i (call|contact|reach) you)\b|\b(real|live|actual) (person|human|agent)\b"),
    })
}

/// Dollars, pounds or euros above which an item is high value whatever it is.
const HIGH_VALUE_UNITS: i64 = 500;

/// The escalation signals in a message. `text` is the original (for capitals and
/// punctuation), `norm` its normalised form.
pub fn read_signals(text: &str, norm: &str) -> Vec<Signal> {
    let p = patterns();
    let angry_marks = ["!!", "?!", "!?", "???"].iter().any(|m| text.contains(m));
    let big_amount = p.amount.captures_iter(norm).any(|c| {
        c[1].replace(',', "")
            .parse::<i64>()
            .is_ok_and(|v| v > HIGH_VALUE_UNITS)
    });
    let checks = [
        (Signal::Anger, angry_marks || p.anger.is_match(norm)),
        (Signal::Stuck, p.stuck.is_match(norm)),
        (Signal::HighValueItem, big_amount || p.item.is_match(norm)),
        (Signal::Exception, p.exception.is_match(norm)),
        (Signal::GaveDetails, p.gave_details.is_match(norm)),
        (Signal::AsksForPerson, p.person.is_match(norm)),
    ];
    checks
        .into_iter()
        .filter(|&(_, on)| on)
        .map(|(s, _)| s)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::routing::classify::normalise;

    fn signals(text: &str) -> Vec<Signal> {
        read_signals(text, &normalise(text))
    }

    #[test]
    fn each_signal_is_read_from_a_message_that_shows_it() {
        let table = [
            ("this is the worst service ever, useless", Signal::Anger),
            ("where is my parcel!!!", Signal::Anger),
            (
                "this is the third time i'm writing about this",
                Signal::Stuck,
            ),
            ("i've been waiting 2 weeks for it", Signal::Stuck),
            ("you promised me a refund and nothing came", Signal::Stuck),
            ("my new laptop never arrived", Signal::HighValueItem),
            ("the parcel worth $899 is missing", Signal::HighValueItem),
            (
                "the agent refused my return, i want an exception",
                Signal::Exception,
            ),
            (
                "i clicked the link and entered my card details",
                Signal::GaveDetails,
            ),
            ("let me talk to a real person", Signal::AsksForPerson),
            ("what is your customer care number", Signal::AsksForPerson),
        ];
        for (text, signal) in table {
            assert!(
                signals(text).contains(&signal),
                "{text}: {:?}",
                signals(text)
            );
        }
    }

    #[test]
    fn disappointment_alone_is_not_anger() {
        assert!(!signals("a bit disappointed my parcel is late").contains(&Signal::Anger));
    }

    #[test]
    fn a_plain_question_has_no_signals() {
        assert!(signals("when will my order 112-4430938-2412367 arrive?").is_empty());
    }

    #[test]
    fn a_small_amount_and_a_short_wait_are_not_signals() {
        assert!(signals("a $20 kettle, ordered 2 days ago").is_empty());
    }
}
