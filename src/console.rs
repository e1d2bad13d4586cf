//! `casebot console`: the sandbox and the real bot in one process, and a prompt to type into
//! it as a customer or as staff. What the bot posts is printed as it arrives.

use std::collections::HashMap;
use std::io::Write;

use tokio::io::{AsyncBufReadExt, BufReader};

use crate::discord::{self, Services};
use crate::sandbox::{Sandbox, PUBLIC_CHANNEL, QUEUE_CHANNEL, STAFF_ROLE};
use crate::store::Store;

const HELP: &str = "\
Type one of:
  maya: where is my order?          maya writes to the bot in DM
  @maya: help please                maya mentions the bot in the public channel
  ana@12: we've sent a new one      staff member ana writes in case 12's thread (!note for a note)
  ana claim 12 | ana release 12 | ana resolve 12   staff click the card's buttons
  maya rate 12 5                    maya rates case 12
  help | quit";

/// What someone typed, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Dm {
        who: String,
        text: String,
    },
    Mention {
        who: String,
        text: String,
    },
    Thread {
        who: String,
        case: i64,
        text: String,
    },
    Button {
        who: String,
        verb: String,
        case: i64,
    },
    Rate {
        who: String,
        case: i64,
        stars: u8,
    },
    Help,
    Quit,
    Unknown,
}

/// Reads one console line.
pub fn parse(line: &str) -> Line {
    let line = line.trim();
    match line {
        "help" | "?" => return Line::Help,
        "quit" | "exit" => return Line::Quit,
        _ => {}
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        [who, verb @ ("claim" | "release" | "resolve"), case] => {
            if let Ok(case) = case.parse() {
                return Line::Button {
                    who: (*who).to_owned(),
                    verb: (*verb).to_owned(),
                    case,
                };
            }
        }
        [who, "rate", case, stars] => {
            if let (Ok(case), Ok(stars)) = (case.parse(), stars.parse()) {
                return Line::Rate {
                    who: (*who).to_owned(),
                    case,
                    stars,
                };
            }
        }
        _ => {}
    }
    let Some((head, text)) = line.split_once(':') else {
        return Line::Unknown;
    };
    let (head, text) = (head.trim(), text.trim().to_owned());
    if head.is_empty() || text.is_empty() {
        return Line::Unknown;
    }
    if let Some(who) = head.strip_prefix('@') {
        return Line::Mention {
            who: who.to_owned(),
            text,
        };
    }
    if let Some((who, case)) = head.split_once('@') {
        if let Ok(case) = case.parse() {
            return Line::Thread {
                who: who.to_owned(),
                case,
                text,
            };
        }
        return Line::Unknown;
    }
    Line::Dm {
        who: head.to_owned(),
        text,
    }
}

pub async fn run(store: &Store, services: Services) -> anyhow::Result<()> {
    let (sandbox, bot) = discord::start_on_sandbox(services).await?;
    println!("casebot console: the real bot on the Discord sandbox. Whoever first acts as staff");
    println!("(in a case thread or on a card) gets the staff role.\n{HELP}");
    let mut people: HashMap<String, u64> = HashMap::new();
    let mut shown = 0;
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    loop {
        print!("> ");
        let _ = std::io::stdout().flush();
        let Some(line) = lines.next_line().await? else {
            break;
        };
        let mut person = |who: &str, staff: bool| {
            *people.entry(who.to_owned()).or_insert_with(|| {
                let roles: &[u64] = if staff { &[STAFF_ROLE] } else { &[] };
                sandbox.person(who, roles)
            })
        };
        match parse(&line) {
            Line::Dm { who, text } => {
                sandbox.dm(person(&who, false), &text);
            }
            Line::Mention { who, text } => {
                sandbox.mention(person(&who, false), &text);
            }
            Line::Thread { who, case, text } => {
                let thread = store.case(case).await?.and_then(|c| c.thread_id);
                match thread.and_then(|t| t.parse().ok()) {
                    Some(thread) => {
                        sandbox.say(thread, person(&who, true), &text);
                    }
                    None => println!("case {case} has no staff thread (is it escalated?)"),
                }
            }
            Line::Button { who, verb, case } => {
                let card = store.case(case).await?.and_then(|c| c.card_message_id);
                match card.and_then(|c| c.parse().ok()) {
                    Some(card) => {
                        let id = format!("cb:{verb}:{case}");
                        let click = sandbox.click(person(&who, true), card, &id);
                        answer(&sandbox, click).await;
                    }
                    None => println!("case {case} has no card (is it escalated?)"),
                }
            }
            Line::Rate { who, case, stars } => {
                let user = person(&who, false);
                let prompt = sandbox
                    .bot_dms(user)
                    .into_iter()
                    .rev()
                    .find(|m| m.buttons().len() == 5);
                match prompt {
                    Some(prompt) => {
                        let click =
                            sandbox.click(user, prompt.id, &format!("cb:rate:{case}:{stars}"));
                        answer(&sandbox, click).await;
                    }
                    None => println!("{who} has not been asked for a rating"),
                }
            }
            Line::Help => println!("{HELP}"),
            Line::Quit => break,
            Line::Unknown => println!("not understood; type help"),
        }
        // Show what the bot said once it has delivered everything it had to say.
        settle(store).await?;
        shown = show_new(&sandbox, shown);
    }
    bot.stop().await;
    Ok(())
}

/// Waits (up to five seconds) until the bot has handled the last event and delivered what it
/// had to say.
async fn settle(store: &Store) -> anyhow::Result<()> {
    // The gateway event reaches the bot first; give it a moment to queue its answer.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    for _ in 0..100 {
        if store.outbox_backlog().await? == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Ok(())
}

/// Prints the bot's messages after the first `shown`; returns how many it has posted.
fn show_new(sandbox: &Sandbox, shown: usize) -> usize {
    let said = sandbox.everything_the_bot_said();
    for m in &said[shown.min(said.len())..] {
        let place = match m.channel_id {
            PUBLIC_CHANNEL => "#public".to_owned(),
            QUEUE_CHANNEL => "#staff-queue".to_owned(),
            c if sandbox.threads().contains(&c) => "case thread".to_owned(),
            _ => "DM".to_owned(),
        };
        let text = if m.content.is_empty() {
            let summary = m.embeds[0]["description"].as_str().unwrap_or_default();
            format!("[card] {summary}")
        } else {
            m.content.clone()
        };
        println!("  [{place}] casebot: {text}");
    }
    said.len()
}

async fn answer(sandbox: &Sandbox, click: u64) {
    sandbox
        .wait_for(std::time::Duration::from_secs(3), |s| {
            !s.callbacks(click).is_empty()
        })
        .await;
    for callback in sandbox.callbacks(click) {
        match callback.kind {
            7 => println!("  (the card updates)"),
            _ if callback.ephemeral() => println!("  (only you see) {}", callback.content()),
            _ => println!("  {}", callback.content()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_lines_are_read_as_customer_and_staff_actions() {
        assert_eq!(
            parse("maya: where is my order?"),
            Line::Dm {
                who: "maya".into(),
                text: "where is my order?".into()
            }
        );
        assert_eq!(
            parse("@leo: help"),
            Line::Mention {
                who: "leo".into(),
                text: "help".into()
            }
        );
        assert_eq!(
            parse("ana@12: sent: a new one"),
            Line::Thread {
                who: "ana".into(),
                case: 12,
                text: "sent: a new one".into()
            }
        );
        assert_eq!(
            parse("ben claim 7"),
            Line::Button {
                who: "ben".into(),
                verb: "claim".into(),
                case: 7
            }
        );
        assert_eq!(
            parse("maya rate 7 4"),
            Line::Rate {
                who: "maya".into(),
                case: 7,
                stars: 4
            }
        );
        assert_eq!(parse("quit"), Line::Quit);
        assert_eq!(parse("nonsense"), Line::Unknown);
        assert_eq!(parse("ana@x: hi"), Line::Unknown);
    }
}
