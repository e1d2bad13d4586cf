//! Help articles for self-service: the format they are kept in (a Markdown file with a small
//! TOML front matter), checked once at start-up, and the pure choice of the article that answers
//! a message, by intent and by the words of its keywords found in the message.

use serde::Deserialize;

use super::intent::Intent;

/// The articles shipped with casebot (the repository's `help/` folder), built in so that casebot
/// answers from anywhere; `help.articles_dir` replaces them with a shop's own.
pub const BUILTIN: &[(&str, &str)] = &[
    ("app-login.md", include_str!("../../../help/app-login.md")),
    (
        "app-not-working.md",
        include_str!("../../../help/app-not-working.md"),
    ),
    (
        "cancel-order.md",
        include_str!("../../../help/cancel-order.md"),
    ),
    (
        "delivery-options.md",
        include_str!("../../../help/delivery-options.md"),
    ),
    (
        "device-wont-turn-on.md",
        include_str!("../../../help/device-wont-turn-on.md"),
    ),
    ("gift-cards.md", include_str!("../../../help/gift-cards.md")),
    ("invoice.md", include_str!("../../../help/invoice.md")),
    ("membership.md", include_str!("../../../help/membership.md")),
    (
        "payment-method.md",
        include_str!("../../../help/payment-method.md"),
    ),
    ("returns.md", include_str!("../../../help/returns.md")),
];

/// The intents whose messages may be answered with an article (those the general-help flow
/// answers); every other intent has a flow of its own.
pub const HELP_INTENTS: [Intent; 3] = [
    Intent::TechnicalIssue,
    Intent::ProductQuestion,
    Intent::Other,
];

/// The score an article needs before it is shown: one two-word phrase, two separate keywords, or
/// one keyword on a message of the article's main intent. A single word on its own is not enough
/// to interrupt a customer with an article they did not ask for.
pub const MIN_SCORE: usize = 2;

/// Longest title and body: the reply carries both, with a line of its own, under Discord's
/// 2,000 characters for one message.
const MAX_TITLE: usize = 100;
const MAX_BODY: usize = 1_500;
/// The id goes into nothing longer than an audit field, but stays short and plain so that
/// people can name it.
const MAX_ID: usize = 60;

/// One checked article.
#[derive(Debug, Clone, PartialEq)]
pub struct HelpArticle {
    /// The file name without `.md`.
    pub id: String,
    pub title: String,
    pub intents: Vec<Intent>,
    /// Each keyword as its words, normalised as messages are.
    pub keywords: Vec<Vec<String>>,
    pub body: String,
}

/// A file that is not a valid article, naming the file and the field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("help article {file}, field `{field}`: {problem}")]
pub struct HelpError {
    pub file: String,
    pub field: &'static str,
    pub problem: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    title: String,
    intents: Vec<String>,
    keywords: Vec<String>,
}

/// Parses and checks one article. `file` is its file name (`app-login.md`), which gives its id.
pub fn parse_article(file: &str, text: &str) -> Result<HelpArticle, HelpError> {
    let fail = |field: &'static str, problem: String| HelpError {
        file: file.to_owned(),
        field,
        problem,
    };
    let id = file.strip_suffix(".md").unwrap_or(file);
    let plain = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    if id.is_empty() || id.len() > MAX_ID || !id.chars().all(plain) {
        return Err(fail(
            "file name",
            format!("expected up to {MAX_ID} lower-case letters, digits and dashes, then .md"),
        ));
    }
    let (front, body) = split_front_matter(text)
        .ok_or_else(|| fail("front matter", "expected a +++ line, TOML, then +++".into()))?;
    let raw: FrontMatter = toml::from_str(front).map_err(|e| {
        let message = e.message().to_owned();
        fail("front matter", message)
    })?;
    let title = raw.title.trim().to_owned();
    if title.is_empty() || title.chars().count() > MAX_TITLE {
        return Err(fail(
            "title",
            format!("expected 1 to {MAX_TITLE} characters"),
        ));
    }
    if raw.intents.is_empty() {
        return Err(fail("intents", "expected at least one intent".into()));
    }
    let intents = raw
        .intents
        .iter()
        .map(|i| {
            i.parse::<Intent>()
                .map_err(|_| fail("intents", format!("unknown intent {i:?}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let keywords: Vec<Vec<String>> = raw.keywords.iter().map(|k| words(k)).collect();
    if keywords.is_empty() {
        return Err(fail("keywords", "expected at least one keyword".into()));
    }
    if let Some(empty) = raw
        .keywords
        .iter()
        .zip(&keywords)
        .find(|(_, w)| w.is_empty())
    {
        return Err(fail(
            "keywords",
            format!("{:?} has no letters or digits", empty.0),
        ));
    }
    let body = body.trim().to_owned();
    if body.is_empty() || body.chars().count() > MAX_BODY {
        return Err(fail("body", format!("expected 1 to {MAX_BODY} characters")));
    }
    Ok(HelpArticle {
        id: id.to_owned(),
        title,
        intents,
        keywords,
        body,
    })
}

/// `+++\n<toml>\n+++\n<body>`: the front matter and the body.
fn split_front_matter(text: &str) -> Option<(&str, &str)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let rest = text
        .strip_prefix("+++\n")
        .or_else(|| text.strip_prefix("+++\r\n"))?;
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "+++" {
            return Some((&rest[..offset], &rest[offset + line.len()..]));
        }
        offset += line.len();
    }
    None
}

/// Parses a set of articles, `(file name, text)`, in the order given.
pub fn parse_articles<'a>(
    files: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<Vec<HelpArticle>, HelpError> {
    files
        .into_iter()
        .map(|(file, text)| parse_article(file, text))
        .collect()
}

/// The built-in articles.
pub fn builtin() -> Vec<HelpArticle> {
    parse_articles(BUILTIN.iter().copied()).expect("the shipped help articles are valid")
}

/// The words of a text as keywords and messages are compared: lower case, apostrophes dropped
/// ("won't" is "wont"), split at everything that is not a letter or digit.
pub fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .replace(['\'', '’', '‘', '`'], "")
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Whether a keyword's word is in the message: the same word, or for words of four letters or
/// more the start of one ("charg" is not a keyword, but "charge" finds "charger" and "charged").
fn word_found(keyword: &str, message: &[String]) -> bool {
    message
        .iter()
        .any(|w| w == keyword || (keyword.chars().count() >= 4 && w.starts_with(keyword)))
}

/// How well `article` fits a message with `intent` and these words: the number of words of the
/// keywords found whole (every word of a phrase, in any order), and one more when the message's
/// intent is the article's main one (listed first). Nothing without a keyword.
pub fn score(article: &HelpArticle, intent: Intent, message: &[String]) -> usize {
    let found: usize = article
        .keywords
        .iter()
        .filter(|k| k.iter().all(|w| word_found(w, message)))
        .map(Vec::len)
        .sum();
    let main = article.intents.first() == Some(&intent);
    if found == 0 {
        0
    } else {
        found + usize::from(main)
    }
}

/// The article that answers a message with `intent`, if one fits well enough: among the
/// articles listing the intent, the highest score of at least [`MIN_SCORE`]; ties go to the
/// article listed first. Only the general-help intents are ever answered with an article.
pub fn best_article<'a>(
    articles: &'a [HelpArticle],
    intent: Intent,
    text: &str,
) -> Option<&'a HelpArticle> {
    if !HELP_INTENTS.contains(&intent) {
        return None;
    }
    let message = words(text);
    let mut best: Option<(&HelpArticle, usize)> = None;
    for article in articles.iter().filter(|a| a.intents.contains(&intent)) {
        let s = score(article, intent, &message);
        if s >= MIN_SCORE && best.is_none_or(|(_, top)| s > top) {
            best = Some((article, s));
        }
    }
    best.map(|(article, _)| article)
}

#[cfg(test)]
#[path = "help_tests.rs"]
mod tests;
