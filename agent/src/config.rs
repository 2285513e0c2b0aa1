//! The agent's settings: defaults < TOML file (`--config`) < environment < flags.
//!
//! Every key of the file, with its default:
//!
//! ```toml
//! source = "csv:people.csv"          # --source: csv:PATH, json:PATH or scim:URL
//! target = "https://host/scim/v2"    # --target
//! target_token = "..."               # or SCIM_AGENT_TARGET_TOKEN (there is no flag: `ps` shows flags)
//! source_token = "..."               # or SCIM_AGENT_SOURCE_TOKEN, for scim: sources
//! json = "report.json"               # --json: where plan/apply write their JSON
//! state_file = "scim-agent-state.json" # --state-file: what the agent manages, last run's outcome
//! max_deprovision = "10%"            # --max-deprovision: N people or P% of the managed ones
//! yes = false                        # --yes: go past the deprovision guard
//! concurrency = 4                    # --concurrency: requests in flight
//! rate_limit = 50                    # --rate-limit: requests per second, 0 = no limit
//! retries = 6                        # --retries: attempts after the first on 429/5xx/connection errors
//! retry_base_ms = 500                # first back-off; doubles each attempt, with jitter
//! retry_max_ms = 30000               # longest wait, Retry-After included
//! timeout_secs = 30                  # per request
//! skip_bad_rows = false              # --skip-bad-rows
//! expect_min_rows = 0                # --expect-min-rows: refuse a source with fewer people
//! deprovision = "deactivate"         # --deprovision: "deactivate" (active: false) or "delete"
//! adopt = false                      # --adopt: match target users without externalId by userName
//! managed_scope = "state"            # --managed-scope: "state" (created/adopted by this agent)
//!                                    #   or "external-id" (every target user with an externalId)
//! update_method = "auto"             # --update-method: "auto" (PATCH if the target says so), "patch", "put"
//! protected = ["breakglass@example.com"] # userNames or externalIds never deprovisioned
//! plan_rows = 50                     # --plan-rows: rows of the plan table printed (all are in --json)
//! watch = "15m"                      # --watch: run again every INTERVAL (s, m, h)
//!
//! [csv]
//! delimiter = ","
//! group_separator = ";"
//! [csv.columns]                      # attribute = "column in the file"
//! externalId = "Employee ID"
//! [csv.constants]                    # attribute = value for every row
//! userType = "Employee"
//!
//! [reassignment]                   # a leaver's work, when the target is a Rollcall server
//! strategy = "manager"               # "manager" (else fallback), "ratio", "hardcoded" or "round_robin"
//! fallback = "ops@example.com"       # manager: who gets the work when the manager cannot
//! # targets = [{ person = "ann@example.com", count = 50 }]  # ratio, hardcoded (round_robin: names only)
//! # group = "Sales reps"             # round_robin over the group's active members
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::reassign::Reassignment;
use crate::source::SourceSpec;

/// A configuration problem, reported before anything is read or sent.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// The TOML file, every key optional.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub source: Option<String>,
    pub target: Option<String>,
    pub target_token: Option<String>,
    pub source_token: Option<String>,
    pub json: Option<PathBuf>,
    pub state_file: Option<PathBuf>,
    pub max_deprovision: Option<String>,
    pub yes: Option<bool>,
    pub concurrency: Option<usize>,
    pub rate_limit: Option<u32>,
    pub retries: Option<u32>,
    pub retry_base_ms: Option<u64>,
    pub retry_max_ms: Option<u64>,
    pub timeout_secs: Option<u64>,
    pub skip_bad_rows: Option<bool>,
    pub expect_min_rows: Option<usize>,
    pub deprovision: Option<Deprovision>,
    pub adopt: Option<bool>,
    pub managed_scope: Option<ManagedScope>,
    pub update_method: Option<UpdateMethod>,
    pub protected: Option<Vec<String>>,
    pub plan_rows: Option<usize>,
    pub watch: Option<String>,
    #[serde(default)]
    pub csv: CsvConfig,
    #[serde(default)]
    pub reassignment: Option<Reassignment>,
}

/// `[csv]`: how to read the file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CsvConfig {
    pub delimiter: char,
    pub group_separator: char,
    /// Attribute name (`externalId`, `userName`, …, `groups`) → the column that holds it.
    pub columns: BTreeMap<String, String>,
    /// Attribute name → a value used for every row.
    pub constants: BTreeMap<String, String>,
}

impl Default for CsvConfig {
    fn default() -> Self {
        Self { delimiter: ',', group_separator: ';', columns: BTreeMap::new(), constants: BTreeMap::new() }
    }
}

/// What happens to a managed person who left the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Deprovision {
    #[default]
    Deactivate,
    Delete,
}

/// Which target users the agent may deprovision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ManagedScope {
    /// Those this agent created or adopted, as its state file records.
    #[default]
    State,
    /// Every target user with an `externalId` (for a target only this agent provisions).
    ExternalId,
}

/// How updates are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UpdateMethod {
    #[default]
    Auto,
    Patch,
    Put,
}

/// `--max-deprovision`: a count or a share of the managed people.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Threshold {
    Count(usize),
    Percent(f64),
}

impl Threshold {
    /// How many deprovisions are allowed when `managed` people are managed.
    pub fn allowed(self, managed: usize) -> usize {
        match self {
            Threshold::Count(n) => n,
            // Rounds down, but never to zero for a small directory at a non-zero share.
            Threshold::Percent(p) => {
                let n = (managed as f64 * p / 100.0).floor() as usize;
                if p > 0.0 && managed > 0 {
                    n.max(1)
                } else {
                    n
                }
            }
        }
    }
}

impl FromStr for Threshold {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let bad = || format!("max-deprovision {s:?} is not a count (N) or a share (P%)");
        if let Some(p) = s.strip_suffix('%') {
            let p: f64 = p.trim().parse().map_err(|_| bad())?;
            if !(0.0..=100.0).contains(&p) {
                return Err(bad());
            }
            Ok(Threshold::Percent(p))
        } else {
            s.parse().map(Threshold::Count).map_err(|_| bad())
        }
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Threshold::Count(n) => write!(f, "{n}"),
            Threshold::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// Parses `30s`, `15m`, `2h` or plain seconds.
pub fn parse_interval(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let bad = || format!("interval {s:?} is not like 30s, 15m or 2h");
    let (digits, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(bad()),
    };
    if secs == 0 {
        return Err(bad());
    }
    Ok(Duration::from_secs(secs))
}

/// A token: never printed, not even by `{:?}` of the settings.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Self {
        Self(s)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// Everything a run needs, resolved from every layer.
#[derive(Debug, Clone)]
pub struct Settings {
    pub source: SourceSpec,
    pub target: String,
    pub target_token: Secret,
    pub source_token: Option<Secret>,
    pub json: Option<PathBuf>,
    pub state_file: PathBuf,
    pub max_deprovision: Threshold,
    pub yes: bool,
    pub concurrency: usize,
    pub rate_limit: u32,
    pub retries: u32,
    pub retry_base: Duration,
    pub retry_max: Duration,
    pub timeout: Duration,
    pub skip_bad_rows: bool,
    pub expect_min_rows: usize,
    pub deprovision: Deprovision,
    pub adopt: bool,
    pub managed_scope: ManagedScope,
    pub update_method: UpdateMethod,
    pub protected: Vec<String>,
    pub plan_rows: usize,
    pub watch: Option<Duration>,
    pub csv: CsvConfig,
    pub reassignment: Option<Reassignment>,
    /// Where relative paths in the config file are resolved from.
    pub base_dir: PathBuf,
    /// Things worth saying before the run (a token in a file others can read).
    pub warnings: Vec<String>,
}

/// Reads a config file and checks its `[reassignment]` policy.
pub fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("cannot read config {}: {e}", path.display())))?;
    let file: FileConfig = toml::from_str(&text).map_err(|e| ConfigError(format!("config {}: {e}", path.display())))?;
    if let Some(policy) = &file.reassignment {
        policy.validate().map_err(|e| ConfigError(format!("config {}: {e}", path.display())))?;
    }
    Ok(file)
}

/// A warning when a config file that holds a token can be read by other users.
pub fn token_file_warning(path: &Path, file: &FileConfig) -> Option<String> {
    if file.target_token.is_none() && file.source_token.is_none() {
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode();
        if mode & 0o077 != 0 {
            return Some(format!(
                "{} holds a token and other users can read it (mode {:o}): chmod 600 it, or use SCIM_AGENT_TARGET_TOKEN",
                path.display(),
                mode & 0o777
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds() {
        assert_eq!("25".parse::<Threshold>().unwrap(), Threshold::Count(25));
        assert_eq!("10%".parse::<Threshold>().unwrap(), Threshold::Percent(10.0));
        assert!("ten".parse::<Threshold>().is_err());
        assert!("150%".parse::<Threshold>().is_err());
        assert_eq!(Threshold::Percent(10.0).allowed(2000), 200);
        assert_eq!(Threshold::Percent(10.0).allowed(5), 1);
        assert_eq!(Threshold::Percent(0.0).allowed(5), 0);
        assert_eq!(Threshold::Count(3).allowed(0), 3);
    }

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_interval("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_interval("2h").unwrap(), Duration::from_secs(7200));
        assert!(parse_interval("0s").is_err());
        assert!(parse_interval("fortnight").is_err());
    }

    #[test]
    fn the_documented_file_parses() {
        let doc = include_str!("config.rs");
        let start = doc.find("//! ```toml").unwrap();
        let end = start + doc[start..].find("//! ```\n").unwrap();
        let toml_text: String = doc[start..end]
            .lines()
            .skip(1)
            .map(|l| l.strip_prefix("//! ").or_else(|| l.strip_prefix("//!")).unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n");
        let file: FileConfig = toml::from_str(&toml_text).unwrap();
        assert_eq!(file.csv.columns["externalId"], "Employee ID");
        assert_eq!(file.deprovision, Some(Deprovision::Deactivate));
        let policy = file.reassignment.unwrap();
        assert_eq!(policy.strategy, crate::reassign::Strategy::Manager);
        policy.validate().unwrap();
    }
}
