//! `casebot console`: the sandbox and the real bot in one process, and a prompt to type into
//! it as a customer or as staff. What the bot posts is printed as it arrives.

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use casebot::app::App;
use casebot::domain::CaseId;
use casebot_sandbox::{Sandbox, PUBLIC_CHANNEL};
use tokio::io::{AsyncBufReadExt, BufReader};

use super::sandbox_bot::{self, buttons, People};

const HELP: &str = "\
Type one of:
  maya: where is my order?          maya writes to the bot in DM
  @maya: help please                maya mentions the bot in the public channel
  ana@12: we've sent a new one      staff member ana writes in case 12's thread, mentioning the bot
                                    so Discord lets it read the message (!note ... for a note)
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

pub async fn run(app: &App) -> anyhow::Result<()> {
    let (sandbox, bot) = sandbox_bot::start(app).await?;
    println!("casebot console: the real bot on the Discord sandbox. Whoever first acts as staff");
    println!("(in a case thread or on a card) gets the staff role.\n{HELP}");
    let mut console = Console {
        app,
        people: People::new(sandbox.clone()),
        ids: HashMap::new(),
    };
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    loop {
        print!("> ");
        let _ = std::io::stdout().flush();
        let Some(line) = lines.next_line().await? else {
            break;
        };
        match parse(&line) {
            Line::Quit => break,
            Line::Help => println!("{HELP}"),
            Line::Unknown => println!("not understood; type help"),
            line => console.act(line).await?,
        }
        // Show what the bot said once it has delivered everything it had to say.
        settle(app).await?;
        console.people.show(&mut std::io::stdout())?;
    }
    bot.stop().await;
    Ok(())
}

struct Console<'a> {
    app: &'a App,
    people: People,
    ids: HashMap<String, u64>,
}

impl Console<'_> {
    fn person(&mut self, who: &str, staff: bool) -> u64 {
        if let Some(id) = self.ids.get(who) {
            if staff {
                self.people.sandbox.join(
                    casebot_sandbox::STAFF_GUILD,
                    *id,
                    &[casebot_sandbox::STAFF_ROLE],
                );
            }
            return *id;
        }
        let id = if staff {
            self.people.staff(who)
        } else {
            self.people.customer(who)
        };
        self.ids.insert(who.to_owned(), id);
        id
    }

    async fn act(&mut self, line: Line) -> anyhow::Result<()> {
        let sandbox = self.people.sandbox.clone();
        match line {
            Line::Dm { who, text } => {
                sandbox.dm(self.person(&who, false), &text);
            }
            Line::Mention { who, text } => {
                let user = self.person(&who, false);
                report(sandbox.mention(user, PUBLIC_CHANNEL, &text).map(|_| ()));
            }
            Line::Thread { who, case, text } => match self.projection(case).await?.1 {
                Some(thread) => {
                    let user = self.person(&who, true);
                    self.people.name_thread(thread, CaseId(case));
                    report(sandbox.mention(user, thread, &text).map(|_| ()));
                }
                None => println!("case {case} has no staff thread (is it escalated?)"),
            },
            Line::Button { who, verb, case } => match self.projection(case).await?.0 {
                Some(card) => {
                    let user = self.person(&who, true);
                    answer(
                        &sandbox,
                        sandbox.click(user, card, &format!("cb:{verb}:{case}")),
                    )
                    .await;
                }
                None => println!("case {case} has no card (is it escalated?)"),
            },
            Line::Rate { who, case, stars } => {
                let user = self.person(&who, false);
                let prompt = sandbox
                    .bot_dms(user)
                    .into_iter()
                    .rev()
                    .find(|m| buttons(&m.components).len() == 5);
                match prompt {
                    Some(prompt) => {
                        answer(
                            &sandbox,
                            sandbox.click(user, prompt.id, &format!("cb:rate:{case}:{stars}")),
                        )
                        .await
                    }
                    None => println!("{who} has not been asked for a rating"),
                }
            }
            Line::Help | Line::Quit | Line::Unknown => {}
        }
        Ok(())
    }

    /// The case's card and thread on the sandbox, once posted.
    async fn projection(&self, case: i64) -> anyhow::Result<(Option<u64>, Option<u64>)> {
        let view = self.app.cards.view(CaseId(case)).await?;
        let p = view.map(|v| v.projection).unwrap_or_default();
        Ok((
            p.card_message_id.and_then(|c| c.parse().ok()),
            p.thread_id.and_then(|t| t.parse().ok()),
        ))
    }
}

fn report(done: Result<(), casebot_sandbox::DiscordError>) {
    if let Err(e) = done {
        println!("  (Discord refused: {} {})", e.code, e.message);
    }
}

/// Waits (up to five seconds) until the bot has handled the last event and delivered what it
/// had to say.
async fn settle(app: &App) -> anyhow::Result<()> {
    // The gateway event reaches the bot first; give it a moment to queue its answer.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for _ in 0..100 {
        if app.store.outbox_backlog().await? == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

async fn answer(sandbox: &Sandbox, click: Result<u64, casebot_sandbox::DiscordError>) {
    let click = match click {
        Ok(click) => click,
        Err(e) => return println!("  (Discord refused: {} {})", e.code, e.message),
    };
    sandbox
        .wait_for(Duration::from_secs(3), |s| {
            !s.interaction_answers(click).is_empty()
        })
        .await;
    for answer in sandbox.interaction_answers(click) {
        if answer.ephemeral() {
            println!("  (only you see) {}", answer.content());
        } else {
            println!("  {}", answer.content());
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
