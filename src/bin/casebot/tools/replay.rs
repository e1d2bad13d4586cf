//! `casebot replay`: feeds a recorded stream of customer messages through the full engine, paced
//! by their timestamps or as fast as possible, and summarises what happened. Messages of one
//! author stay in order; different authors run side by side.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use casebot::domain::{ChannelKind, InboundMessage, UserId};
use casebot::services::intake::IntakeService;

/// One recorded message, as read from the input.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub id: String,
    pub author: String,
    pub author_name: Option<String>,
    pub text: String,
    pub public: bool,
    pub at: Option<DateTime<Utc>>,
}

/// A line that could not be read, by its 1-based line number.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BadLine {
    pub line: usize,
    pub reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonLine {
    id: String,
    author: String,
    text: String,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    author_name: Option<String>,
    #[serde(default)]
    at: Option<DateTime<Utc>>,
}

/// Reads JSON lines (`{"id", "author", "text"}` with optional `channel`, `author_name`, `at`)
/// or, when the first line is a header, the TWCS CSV columns (`tweet_id`, `author_id`,
/// `created_at`, `text`). Bad lines are reported and skipped.
pub fn read(bytes: &[u8]) -> (Vec<Recorded>, Vec<BadLine>) {
    let first = bytes.iter().position(|&b| !b.is_ascii_whitespace());
    if first.is_some_and(|i| bytes[i] == b'{') {
        read_json_lines(bytes)
    } else {
        read_twcs_csv(bytes)
    }
}

fn read_json_lines(bytes: &[u8]) -> (Vec<Recorded>, Vec<BadLine>) {
    let (mut good, mut bad) = (Vec::new(), Vec::new());
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = i + 1;
        let Ok(text) = std::str::from_utf8(raw) else {
            bad.push(BadLine {
                line,
                reason: "not UTF-8".into(),
            });
            continue;
        };
        if text.trim().is_empty() {
            continue;
        }
        let parsed: Result<JsonLine, _> = serde_json::from_str(text);
        match parsed {
            Ok(j) => {
                let public = match j.channel.as_deref() {
                    None | Some("dm") => false,
                    Some("public") => true,
                    Some(other) => {
                        bad.push(BadLine {
                            line,
                            reason: format!("channel {other:?} is neither \"dm\" nor \"public\""),
                        });
                        continue;
                    }
                };
                if j.id.is_empty() || j.author.is_empty() {
                    bad.push(BadLine {
                        line,
                        reason: "id and author must not be empty".into(),
                    });
                    continue;
                }
                good.push(Recorded {
                    id: j.id,
                    author: j.author,
                    author_name: j.author_name,
                    text: j.text,
                    public,
                    at: j.at,
                });
            }
            Err(e) => bad.push(BadLine {
                line,
                reason: e.to_string(),
            }),
        }
    }
    (good, bad)
}

fn read_twcs_csv(bytes: &[u8]) -> (Vec<Recorded>, Vec<BadLine>) {
    let (mut good, mut bad) = (Vec::new(), Vec::new());
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            bad.push(BadLine {
                line: 1,
                reason: e.to_string(),
            });
            return (good, bad);
        }
    };
    let column = |name: &str| headers.iter().position(|h| h == name);
    let (Some(id), Some(author), Some(text)) =
        (column("tweet_id"), column("author_id"), column("text"))
    else {
        bad.push(BadLine {
            line: 1,
            reason: "the CSV needs tweet_id, author_id and text columns".into(),
        });
        return (good, bad);
    };
    let (created, inbound) = (column("created_at"), column("inbound"));
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                bad.push(BadLine {
                    line,
                    reason: e.to_string(),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line() as usize);
        // Replies from the support side are not customer messages.
        if inbound.and_then(|i| record.get(i)) == Some("False") {
            continue;
        }
        let field = |i: usize| record.get(i).unwrap_or_default().to_owned();
        let at = match created.map(&field) {
            Some(raw) if !raw.is_empty() => match parse_twcs_time(&raw) {
                Some(at) => Some(at),
                None => {
                    bad.push(BadLine {
                        line,
                        reason: format!("created_at {raw:?} is not a TWCS time"),
                    });
                    continue;
                }
            },
            _ => None,
        };
        let (id, author) = (field(id), field(author));
        if id.is_empty() || author.is_empty() {
            bad.push(BadLine {
                line,
                reason: "tweet_id and author_id must not be empty".into(),
            });
            continue;
        }
        let text = field(text);
        good.push(Recorded {
            id,
            author,
            author_name: None,
            // A tweet to a support handle is a public mention.
            public: text.starts_with('@'),
            text,
            at,
        });
    }
    (good, bad)
}

/// TWCS times look like `Tue Oct 31 23:36:20 +0000 2017`.
fn parse_twcs_time(raw: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(raw, "%a %b %d %H:%M:%S %z %Y")
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// How to pace a replay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    AsFastAsPossible,
    /// Replays the recorded gaps this many times faster.
    Speed(f64),
}

#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub messages: usize,
    pub bad_lines: usize,
    pub bad_line_numbers: Vec<usize>,
    pub duplicates: usize,
    pub cases: usize,
    pub intents: BTreeMap<String, usize>,
    pub escalations: usize,
    pub held_by_rate_limits: usize,
    pub failed: usize,
    pub seconds: f64,
    pub msgs_per_s: f64,
}

/// Plays `messages` through `talk` on `lanes` lanes (one author always on the same lane).
pub async fn replay(
    talk: IntakeService,
    messages: Vec<Recorded>,
    bad: &[BadLine],
    pace: Pace,
    lanes: usize,
) -> anyhow::Result<Summary> {
    let total = messages.len();
    let lanes = lanes.clamp(1, 64);
    let first_at = messages.iter().filter_map(|m| m.at).min();
    let mut queues: Vec<Vec<Recorded>> = vec![Vec::new(); lanes];
    for m in messages {
        let lane = lane_of(&m.author, lanes);
        queues[lane].push(m);
    }
    let summary = Arc::new(Mutex::new(Summary::default()));
    let cases = Arc::new(Mutex::new(std::collections::HashSet::new()));
    let done = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let progress = tokio::spawn(show_progress(done.clone(), total, started));
    let mut workers = tokio::task::JoinSet::new();
    for queue in queues {
        let (talk, summary, cases, done) =
            (talk.clone(), summary.clone(), cases.clone(), done.clone());
        workers.spawn(async move {
            for m in queue {
                if let (Pace::Speed(speed), Some(first), Some(at)) = (pace, first_at, m.at) {
                    let offset = (at - first).to_std().unwrap_or_default();
                    let due = started + offset.div_f64(speed.max(1e-9));
                    tokio::time::sleep_until(due.into()).await;
                }
                let outcome = talk.take_in(&inbound(&m)).await;
                let mut s = summary.lock().expect("summary lock");
                s.messages += 1;
                match outcome {
                    Ok(h) => {
                        if h.is_duplicate() {
                            s.duplicates += 1;
                        }
                        cases.lock().expect("cases lock").insert(h.case_id);
                        match &h.routed {
                            Some(r) => {
                                *s.intents.entry(r.intent.as_str().to_owned()).or_default() += 1;
                                s.escalations += usize::from(r.escalated);
                            }
                            None if !h.is_duplicate() && !h.customer_blocked => {
                                s.held_by_rate_limits += 1
                            }
                            None => {}
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "a replayed message failed");
                        s.failed += 1;
                    }
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    while let Some(joined) = workers.join_next().await {
        joined.context("a replay lane stopped")?;
    }
    progress.abort();
    finish_progress(total, started);
    let mut s = Arc::try_unwrap(summary)
        .map_err(|_| anyhow::anyhow!("replay lanes still running"))?
        .into_inner()
        .expect("summary lock");
    s.cases = cases.lock().expect("cases lock").len();
    s.bad_lines = bad.len();
    s.bad_line_numbers = bad.iter().map(|b| b.line).collect();
    s.seconds = started.elapsed().as_secs_f64();
    s.msgs_per_s = s.messages as f64 / s.seconds.max(1e-9);
    Ok(s)
}

fn lane_of(author: &str, lanes: usize) -> usize {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    author.hash(&mut h);
    (h.finish() % lanes as u64) as usize
}

fn inbound(m: &Recorded) -> InboundMessage {
    InboundMessage {
        platform: "replay".into(),
        author_id: UserId::new(m.author.clone()),
        author_name: m.author_name.clone().unwrap_or_else(|| m.author.clone()),
        channel_kind: if m.public {
            ChannelKind::Public
        } else {
            ChannelKind::Dm
        },
        channel_id: if m.public {
            "replay-public".into()
        } else {
            format!("dm-{}", m.author)
        },
        message_id: m.id.clone(),
        text: m.text.clone(),
        sent_at: m.at.unwrap_or_else(Utc::now),
    }
}

/// A progress bar on stderr: redrawn in place on a terminal, a line per tenth otherwise.
async fn show_progress(done: Arc<AtomicUsize>, total: usize, started: Instant) {
    let terminal = std::io::stderr().is_terminal();
    let mut last_tenth = 0;
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let n = done.load(Ordering::Relaxed);
        let tenth = n * 10 / total.max(1);
        if terminal {
            eprint!("\r{}", bar(n, total, started));
        } else if tenth > last_tenth {
            eprintln!("{}", bar(n, total, started));
            last_tenth = tenth;
        }
        let _ = std::io::stderr().flush();
    }
}

fn finish_progress(total: usize, started: Instant) {
    let end = if std::io::stderr().is_terminal() {
        "\r"
    } else {
        ""
    };
    eprintln!("{end}{}", bar(total, total, started));
}

fn bar(n: usize, total: usize, started: Instant) -> String {
    const WIDTH: usize = 30;
    let filled = n * WIDTH / total.max(1);
    let rate = n as f64 / started.elapsed().as_secs_f64().max(1e-9);
    format!(
        "[{}{}] {n}/{total} messages, {rate:.0}/s",
        "#".repeat(filled),
        ".".repeat(WIDTH - filled)
    )
}

/// Reads a replay file from disk.
pub fn read_file(path: &Path) -> anyhow::Result<(Vec<Recorded>, Vec<BadLine>)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(read(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_are_read_and_bad_ones_reported_by_line_number() {
        let input = concat!(
            r#"{"id": "1", "author": "a", "text": "where is my order"}"#,
            "\n",
            "not json\n",
            "\n",
            r#"{"id": "2", "author": "b", "text": "@shop help", "channel": "public", "at": "2026-11-26T10:00:00Z"}"#,
            "\n",
            r#"{"id": "3", "author": "c", "text": "x", "channel": "fax"}"#,
            "\n",
        );
        let (good, bad) = read(input.as_bytes());
        assert_eq!(good.len(), 2);
        assert!(good[1].public && good[1].at.is_some());
        let lines: Vec<usize> = bad.iter().map(|b| b.line).collect();
        assert_eq!(lines, [2, 5]);
    }

    #[test]
    fn twcs_csv_rows_are_read_with_their_times_and_support_replies_are_skipped() {
        let input = "tweet_id,author_id,inbound,created_at,text\n\
                     1,115887,True,Tue Oct 31 23:36:20 +0000 2017,@SpotifyCares it stopped\n\
                     2,SpotifyCares,False,Tue Oct 31 23:40:00 +0000 2017,@115887 sorry\n\
                     3,115888,True,yesterday,@SpotifyCares hi\n";
        let (good, bad) = read(input.as_bytes());
        assert_eq!(good.len(), 1);
        assert_eq!(good[0].author, "115887");
        assert!(good[0].public);
        assert_eq!(
            good[0].at.unwrap().to_rfc3339(),
            "2017-10-31T23:36:20+00:00"
        );
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].line, 4);
    }

    #[test]
    fn one_author_always_lands_on_the_same_lane() {
        assert_eq!(lane_of("alice", 8), lane_of("alice", 8));
        assert!(lane_of("bob", 8) < 8);
    }
}
