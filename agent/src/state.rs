//! The state file: for each target, the users and groups this agent manages and how the
//! last run ended. It is written before an apply starts (marked unfinished), after each
//! phase, and at the end, always by write-then-rename, so a crash leaves either the old or
//! the new file. A crash mid-apply is safe because the target is the truth: people created
//! before the crash carry their externalId and are matched (and managed) on the next run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::plan::Counts;

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub version: u32,
    /// By target base URL.
    pub targets: BTreeMap<String, TargetState>,
}

/// What the agent knows about one target.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetState {
    /// Target user ids this agent created or adopted.
    pub managed_users: BTreeSet<String>,
    /// Target group ids this agent created or synced.
    pub managed_groups: BTreeSet<String>,
    pub last_run: Option<LastRun>,
}

/// How the last apply went.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LastRun {
    pub source: String,
    pub started_at: String,
    /// Absent while running: a state file with a run and no end is a run that crashed.
    pub finished_at: Option<String>,
    pub outcome: String,
    pub planned: Counts,
    pub succeeded: usize,
    pub failed: usize,
}

/// Why the state file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read the state file {path}: {message}")]
    Read { path: String, message: String },
    #[error("cannot write the state file {path}: {message}")]
    Write { path: String, message: String },
}

impl State {
    /// Reads the file; a missing file is an empty state (the first run).
    pub fn load(path: &Path) -> Result<Self, StateError> {
        let err = |message: String| StateError::Read { path: path.display().to_string(), message };
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| err(e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self { version: 1, targets: BTreeMap::new() }),
            Err(e) => Err(err(e.to_string())),
        }
    }

    /// Writes the file next to itself, then renames it into place.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let err = |message: String| StateError::Write { path: path.display().to_string(), message };
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let text = serde_json::to_vec_pretty(self).map_err(|e| err(e.to_string()))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
        }
        std::fs::write(&tmp, text).map_err(|e| err(e.to_string()))?;
        std::fs::rename(&tmp, path).map_err(|e| err(e.to_string()))
    }

    pub fn target(&mut self, url: &str) -> &mut TargetState {
        self.targets.entry(url.to_owned()).or_default()
    }
}

/// Now, as RFC 3339.
pub fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_a_missing_file_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("state.json");
        assert!(State::load(&path).unwrap().targets.is_empty());
        let mut state = State::load(&path).unwrap();
        state.target("http://t").managed_users.insert("u1".into());
        state.target("http://t").last_run =
            Some(LastRun { source: "csv:x".into(), started_at: now(), ..LastRun::default() });
        state.save(&path).unwrap();
        assert_eq!(State::load(&path).unwrap(), state);
        std::fs::write(&path, "{").unwrap();
        assert!(State::load(&path).is_err());
    }
}
