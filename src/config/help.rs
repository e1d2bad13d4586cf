//! The `[help]` section: the help articles general help answers from (the set built into casebot,
//! or a folder of a shop's own, read and checked once at start-up) and where customers forward
//! suspected phishing.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{invalid, ConfigError};
use crate::domain::routing::help::{self, HelpArticle};
use crate::domain::routing::replies::HelpDesk;
use crate::domain::sla::SlaPolicy;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHelp {
    articles_dir: String,
    phishing_report_address: String,
}

#[derive(Clone)]
pub struct HelpSettings {
    /// The folder the articles were read from; none: the built-in set.
    pub articles_dir: Option<PathBuf>,
    pub articles: Vec<HelpArticle>,
    /// The e-mail address customers forward phishing to, if the shop has one.
    pub phishing_report_to: Option<String>,
}

/// `config check` names the articles rather than printing every body.
impl std::fmt::Debug for HelpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.articles.iter().map(|a| a.id.as_str()).collect();
        f.debug_struct("HelpSettings")
            .field("articles_dir", &self.articles_dir)
            .field("articles", &ids)
            .field("phishing_report_to", &self.phishing_report_to)
            .finish()
    }
}

impl HelpSettings {
    /// What general help answers from, with the shop's first-response targets.
    pub fn desk(&self, sla: &SlaPolicy) -> HelpDesk {
        HelpDesk {
            articles: self.articles.clone(),
            phishing_report_to: self.phishing_report_to.clone(),
            sla: sla.clone(),
        }
    }
}

pub(super) fn help_settings(raw: RawHelp) -> Result<HelpSettings, ConfigError> {
    let articles_dir = Some(raw.articles_dir.trim())
        .filter(|d| !d.is_empty())
        .map(PathBuf::from);
    let articles = match &articles_dir {
        Some(dir) => load_articles(dir)?,
        None => help::builtin(),
    };
    let address = raw.phishing_report_address.trim();
    let looks_like_address = address.len() <= 254
        && !address.chars().any(char::is_whitespace)
        && address
            .split_once('@')
            .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'));
    let phishing_report_to = match address {
        "" => None,
        a if looks_like_address => Some(a.to_owned()),
        a => {
            return Err(invalid(
                "help.phishing_report_address",
                a,
                "an e-mail address, or nothing",
            ))
        }
    };
    Ok(HelpSettings {
        articles_dir,
        articles,
        phishing_report_to,
    })
}

/// Reads every `.md` file in `dir` as a help article, in file-name order. The first file that is
/// not a valid article is refused, naming it and the field.
pub fn load_articles(dir: &Path) -> Result<Vec<HelpArticle>, ConfigError> {
    let unreadable = |path: &Path, e: std::io::Error| ConfigError::File {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| unreadable(dir, e))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(|e| unreadable(dir, e))?;
    files.retain(|p| p.extension().is_some_and(|x| x == "md") && p.is_file());
    files.sort();
    files
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).map_err(|e| unreadable(path, e))?;
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            help::parse_article(&name, &text).map_err(|mut e| {
                e.file = path.display().to_string();
                ConfigError::Help(e)
            })
        })
        .collect()
}
