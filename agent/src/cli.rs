//! The command line, a contract that scripts rely on:
//!
//! ```text
//! scim-agent plan  --source SOURCE --target URL [--config agent.toml] [--json plan.json]
//! scim-agent apply --source SOURCE --target URL [--config agent.toml] [--json report.json]
//!                  [--max-deprovision N|P%] [--concurrency N] [--yes]
//! ```
//!
//! Tokens never come from a flag (`ps` would show them): only from the environment or
//! the config file. [`resolve`] layers defaults < file < environment < flags.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{
    self, ConfigError, Deprovision, FileConfig, ManagedScope, Secret, Settings, Threshold, UpdateMethod,
};
use crate::source::SourceSpec;

/// Push people and groups from a CSV, JSON or SCIM source into any SCIM 2.0 target.
#[derive(Debug, Parser)]
#[command(name = "scim-agent", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what apply would do, changing nothing.
    Plan(RunArgs),
    /// Print the plan, then carry it out.
    Apply(RunArgs),
}

impl Command {
    pub fn args(&self) -> &RunArgs {
        match self {
            Command::Plan(a) | Command::Apply(a) => a,
        }
    }
}

/// Flags shared by `plan` and `apply`; each has a config-file key of the same name
/// (with `_` for `-`).
#[derive(Debug, Args, Default, Clone)]
pub struct RunArgs {
    /// csv:PATH, json:PATH or scim:URL.
    #[arg(long)]
    pub source: Option<String>,
    /// The target's SCIM base URL, e.g. https://host/scim/v2.
    #[arg(long)]
    pub target: Option<String>,
    /// A TOML config file (see the README for every key).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Write the plan (plan) or the report (apply) as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// The state file: who this agent manages and how the last run ended.
    #[arg(long, visible_alias = "state")]
    pub state_file: Option<PathBuf>,
    /// Refuse to deprovision more than N people or P% of the managed ones (default 10%).
    #[arg(long)]
    pub max_deprovision: Option<String>,
    /// Requests in flight at once.
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Requests per second (0: no limit).
    #[arg(long)]
    pub rate_limit: Option<u32>,
    /// Retries after the first attempt on 429, 5xx and connection errors.
    #[arg(long)]
    pub retries: Option<u32>,
    /// Go past the deprovision guard.
    #[arg(long)]
    pub yes: bool,
    /// Leave out unreadable rows instead of refusing the file.
    #[arg(long)]
    pub skip_bad_rows: bool,
    /// Refuse a source with fewer people than this.
    #[arg(long)]
    pub expect_min_rows: Option<usize>,
    /// What deprovisioning does: deactivate (active: false) or delete.
    #[arg(long, value_parser = ["deactivate", "delete"])]
    pub deprovision: Option<String>,
    /// Adopt target users without externalId that have the same userName.
    #[arg(long)]
    pub adopt: bool,
    /// Who may be deprovisioned: state (created or adopted by this agent) or external-id.
    #[arg(long, value_parser = ["state", "external-id"])]
    pub managed_scope: Option<String>,
    /// How updates are sent: auto, patch or put.
    #[arg(long, value_parser = ["auto", "patch", "put"])]
    pub update_method: Option<String>,
    /// Rows of the plan table to print (the JSON has them all).
    #[arg(long)]
    pub plan_rows: Option<usize>,
    /// Run again every INTERVAL (30s, 15m, 2h) until stopped.
    #[arg(long)]
    pub watch: Option<String>,
}

/// Tokens and other settings read from the environment. Passed in rather than read here,
/// so that tests running side by side in one process do not share them.
#[derive(Default, Clone)]
pub struct Env {
    pub target_token: Option<String>,
    pub source_token: Option<String>,
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |t: &Option<String>| t.as_ref().map(|_| "…");
        f.debug_struct("Env")
            .field("target_token", &shown(&self.target_token))
            .field("source_token", &shown(&self.source_token))
            .finish()
    }
}

impl Env {
    /// `SCIM_AGENT_TARGET_TOKEN` and `SCIM_AGENT_SOURCE_TOKEN`.
    pub fn from_process() -> Self {
        let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Self { target_token: get("SCIM_AGENT_TARGET_TOKEN"), source_token: get("SCIM_AGENT_SOURCE_TOKEN") }
    }
}

fn parse_kebab<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, ConfigError> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|e| ConfigError(e.to_string()))
}

/// Layers defaults < config file < environment < flags into the settings of one run.
pub fn resolve(args: &RunArgs, env: &Env) -> Result<Settings, ConfigError> {
    let mut warnings = Vec::new();
    let (file, base_dir) = match &args.config {
        Some(path) => {
            let dir = path.parent().map(PathBuf::from).unwrap_or_default();
            let file = config::read_file(path)?;
            warnings.extend(config::token_file_warning(path, &file));
            (file, dir)
        }
        None => (FileConfig::default(), PathBuf::new()),
    };
    let in_base = |p: PathBuf| if p.is_relative() { base_dir.join(p) } else { p };

    let source: SourceSpec = match (&args.source, file.source) {
        (Some(flag), _) => flag.parse().map_err(ConfigError)?,
        // A file path in the config file is relative to the config file.
        (None, Some(in_file)) => match in_file.parse().map_err(ConfigError)? {
            SourceSpec::Csv(p) => SourceSpec::Csv(in_base(p.into()).display().to_string()),
            SourceSpec::Json(p) => SourceSpec::Json(in_base(p.into()).display().to_string()),
            scim => scim,
        },
        (None, None) => return Err(ConfigError("no source: give --source".into())),
    };
    let target = args.target.clone().or(file.target).ok_or_else(|| ConfigError("no target: give --target".into()))?;
    let target = target.trim_end_matches('/').to_owned();
    if !target.starts_with("http://") && !target.starts_with("https://") {
        return Err(ConfigError(format!("target {target:?} is not an http(s) URL")));
    }
    let target_token = env.target_token.clone().or(file.target_token).map(Secret::new).ok_or_else(|| {
        ConfigError("no target token: set SCIM_AGENT_TARGET_TOKEN or target_token in the config file".into())
    })?;
    let source_token = env.source_token.clone().or(file.source_token).map(Secret::new);

    let max_deprovision: Threshold = match args.max_deprovision.clone().or(file.max_deprovision) {
        Some(s) => s.parse().map_err(ConfigError)?,
        None => Threshold::Percent(10.0),
    };
    let deprovision: Deprovision = match &args.deprovision {
        Some(s) => parse_kebab(s)?,
        None => file.deprovision.unwrap_or_default(),
    };
    let managed_scope: ManagedScope = match &args.managed_scope {
        Some(s) => parse_kebab(s)?,
        None => file.managed_scope.unwrap_or_default(),
    };
    let update_method: UpdateMethod = match &args.update_method {
        Some(s) => parse_kebab(s)?,
        None => file.update_method.unwrap_or_default(),
    };
    let watch = match args.watch.clone().or(file.watch) {
        Some(s) => Some(config::parse_interval(&s).map_err(ConfigError)?),
        None => None,
    };
    let concurrency = args.concurrency.or(file.concurrency).unwrap_or(4);
    if concurrency == 0 {
        return Err(ConfigError("concurrency must be at least 1".into()));
    }
    let retry_base_ms = file.retry_base_ms.unwrap_or(500);
    let retry_max_ms = file.retry_max_ms.unwrap_or(30_000).max(retry_base_ms);

    Ok(Settings {
        source,
        target,
        target_token,
        source_token,
        json: args.json.clone().or(file.json.map(&in_base)),
        state_file: args
            .state_file
            .clone()
            .or(file.state_file.map(&in_base))
            .unwrap_or_else(|| in_base("scim-agent-state.json".into())),
        max_deprovision,
        yes: args.yes || file.yes.unwrap_or(false),
        concurrency,
        rate_limit: args.rate_limit.or(file.rate_limit).unwrap_or(50),
        retries: args.retries.or(file.retries).unwrap_or(6),
        retry_base: std::time::Duration::from_millis(retry_base_ms),
        retry_max: std::time::Duration::from_millis(retry_max_ms),
        timeout: std::time::Duration::from_secs(file.timeout_secs.unwrap_or(30).max(1)),
        skip_bad_rows: args.skip_bad_rows || file.skip_bad_rows.unwrap_or(false),
        expect_min_rows: args.expect_min_rows.or(file.expect_min_rows).unwrap_or(0),
        deprovision,
        adopt: args.adopt || file.adopt.unwrap_or(false),
        managed_scope,
        update_method,
        protected: file.protected.unwrap_or_default(),
        plan_rows: args.plan_rows.or(file.plan_rows).unwrap_or(50),
        watch,
        csv: file.csv,
        reassignment: file.reassignment,
        base_dir,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("scim-agent").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn the_documented_command_lines_parse() {
        let cli = parse(&["plan", "--source", "csv:p.csv", "--target", "http://h/scim/v2", "--json", "plan.json"]);
        assert!(matches!(cli.command, Command::Plan(_)));
        let cli = parse(&[
            "apply",
            "--source",
            "csv:p.csv",
            "--target",
            "http://h/scim/v2",
            "--config",
            "agent.toml",
            "--json",
            "r.json",
            "--max-deprovision",
            "5%",
            "--concurrency",
            "8",
            "--yes",
        ]);
        let Command::Apply(a) = cli.command else { panic!("not apply") };
        assert!(a.yes);
        assert_eq!(a.concurrency, Some(8));
    }

    #[test]
    fn there_is_no_token_flag() {
        let r = Cli::try_parse_from(["scim-agent", "plan", "--target-token", "x"]);
        assert!(r.is_err());
    }

    #[test]
    fn flags_beat_the_file_and_the_environment_beats_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.toml");
        std::fs::write(
            &path,
            "source = \"csv:a.csv\"\ntarget = \"http://127.0.0.1:1/scim/v2/\"\ntarget_token = \"tok-from-file\"\n\
             concurrency = 2\nmax_deprovision = \"7\"\nstate_file = \"s.json\"\n",
        )
        .unwrap();
        let args = RunArgs { config: Some(path), concurrency: Some(9), ..Default::default() };
        let s = resolve(&args, &Env::default()).unwrap();
        assert_eq!(s.target_token.expose(), "tok-from-file");
        assert!(!format!("{s:?}").contains("tok-from-file"), "the token shows in {s:?}");
        assert_eq!(s.target, "http://127.0.0.1:1/scim/v2");
        assert_eq!(s.concurrency, 9);
        assert_eq!(s.max_deprovision, Threshold::Count(7));
        assert_eq!(s.state_file, dir.path().join("s.json"));
        let env = Env { target_token: Some("env".into()), source_token: None };
        assert_eq!(resolve(&args, &env).unwrap().target_token.expose(), "env");
    }

    #[test]
    fn every_flag_has_a_documented_config_key() {
        use clap::CommandFactory;
        let doc = include_str!("config.rs");
        let cli = Cli::command();
        for sub in ["plan", "apply"] {
            let sub = cli.find_subcommand(sub).unwrap();
            for arg in sub.get_arguments() {
                let Some(long) = arg.get_long() else { continue };
                if matches!(long, "config" | "help") {
                    continue;
                }
                let key = long.replace('-', "_");
                let documented = doc.lines().any(|l| l.starts_with(&format!("//! {key} = ")));
                assert!(documented, "--{long} has no `{key} = ` line in the config reference (config.rs)");
                // And the key is one the file accepts (the documented file parses, see config.rs).
                let flag = format!("# --{long}");
                assert!(doc.contains(&flag), "the config reference does not name the flag {flag}");
            }
        }
    }

    #[test]
    fn a_missing_token_is_a_clear_error() {
        let args = RunArgs {
            source: Some("csv:a.csv".into()),
            target: Some("http://127.0.0.1:1/scim/v2".into()),
            ..Default::default()
        };
        let e = resolve(&args, &Env::default()).unwrap_err();
        assert!(e.0.contains("SCIM_AGENT_TARGET_TOKEN"), "{e}");
    }
}
