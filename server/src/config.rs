//! Configuration: defaults < TOML file (`--config`, `SCIM_CONFIG`) < `SCIM_*` environment <
//! command-line flags. Every key, in one place:
//!
//! | flag | environment | TOML key | default |
//! |---|---|---|---|
//! | `--config FILE` | `SCIM_CONFIG` | | none |
//! | `--database URL` | `SCIM_DATABASE_URL` | `database` | `sqlite://scim.db` |
//! | `serve --listen ADDR` | `SCIM_LISTEN` | `listen` | `127.0.0.1:8080` |
//! | `serve --bootstrap-token T` | `SCIM_BOOTSTRAP_TOKEN` | `bootstrap_token` | none |
//! | `serve --public-url URL` | `SCIM_PUBLIC_URL` | `public_url` | from the Host header |
//! | `serve --max-body-bytes N` | `SCIM_MAX_BODY_BYTES` | `max_body_bytes` | 1048576 |
//! | `--log FILTER` | `SCIM_LOG` | `log` | `info` |
//! | `serve --app-url URL` | `SCIM_APP_URL` | `app_url` | `http://<Host header>` (links in mails: `<URL>/auth/signup/…`) |
//! | `serve --smtp-host HOST` | `SCIM_SMTP_HOST` | `smtp_host` | none: mail stays queued in the outbox |
//! | `serve --smtp-port N` | `SCIM_SMTP_PORT` | `smtp_port` | 587 (`starttls`), 465 (`tls`), 25 (`none`) |
//! | `serve --smtp-tls MODE` | `SCIM_SMTP_TLS` | `smtp_tls` | `starttls` (or `tls`, `none`) |
//! | `serve --smtp-username U` | `SCIM_SMTP_USERNAME` | `smtp_username` | none |
//! | `serve --smtp-password P` | `SCIM_SMTP_PASSWORD` | `smtp_password` | none |
//! | `serve --smtp-from MAILBOX` | `SCIM_SMTP_FROM` | `smtp_from` | required with `smtp_host` |
//! | `serve --outbox-poll-seconds N` | `SCIM_OUTBOX_POLL_SECONDS` | `outbox_poll_seconds` | 5 |

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use serde::Deserialize;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATABASE: &str = "sqlite://scim.db";
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// Every `SCIM_*` variable we read; any other one is probably a typo and gets a warning.
pub const KNOWN_ENV: &[&str] = &[
    "SCIM_CONFIG",
    "SCIM_DATABASE_URL",
    "SCIM_LISTEN",
    "SCIM_BOOTSTRAP_TOKEN",
    "SCIM_PUBLIC_URL",
    "SCIM_MAX_BODY_BYTES",
    "SCIM_LOG",
    "SCIM_APP_URL",
    "SCIM_SMTP_HOST",
    "SCIM_SMTP_PORT",
    "SCIM_SMTP_TLS",
    "SCIM_SMTP_USERNAME",
    "SCIM_SMTP_PASSWORD",
    "SCIM_SMTP_FROM",
    "SCIM_OUTBOX_POLL_SECONDS",
];

/// Rollcall: a SCIM 2.0 provisioning server.
#[derive(Debug, Parser)]
#[command(name = "scim-server", version)]
pub struct Cli {
    /// A TOML file with defaults for the options below.
    #[arg(long, env = "SCIM_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Database URL: sqlite://PATH (created if missing) or postgres://USER@HOST/DATABASE.
    #[arg(long, env = "SCIM_DATABASE_URL", global = true)]
    pub database: Option<String>,
    /// Log filter, e.g. `info` or `scim_server=debug`.
    #[arg(long, env = "SCIM_LOG", global = true)]
    pub log: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the SCIM server.
    Serve(ServeArgs),
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage bearer tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Copy a whole SQLite deployment into an empty PostgreSQL database (stop the server first).
    MigrateData(MigrateDataArgs),
}

#[derive(Debug, Args)]
pub struct MigrateDataArgs {
    /// The SQLite database to copy from, e.g. sqlite://scim.db.
    #[arg(long)]
    pub from: String,
    /// The PostgreSQL database to copy into (migrated if new; it must hold no data).
    #[arg(long)]
    pub to: String,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port and prints it).
    #[arg(long, env = "SCIM_LISTEN")]
    pub listen: Option<String>,
    /// Make sure the `default` tenant exists with this token (kept hashed).
    #[arg(long, env = "SCIM_BOOTSTRAP_TOKEN", hide_env_values = true)]
    pub bootstrap_token: Option<String>,
    /// The SCIM base URL clients use, e.g. https://scim.example.com/scim/v2 behind a proxy.
    #[arg(long, env = "SCIM_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "SCIM_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// The origin links in mails point to, e.g. https://people.example.com.
    #[arg(long, env = "SCIM_APP_URL")]
    pub app_url: Option<String>,
    /// SMTP server for notification mail; without it mail stays queued in the outbox.
    #[arg(long, env = "SCIM_SMTP_HOST")]
    pub smtp_host: Option<String>,
    #[arg(long, env = "SCIM_SMTP_PORT")]
    pub smtp_port: Option<u16>,
    /// `starttls` (default), `tls` or `none`.
    #[arg(long, env = "SCIM_SMTP_TLS")]
    pub smtp_tls: Option<String>,
    #[arg(long, env = "SCIM_SMTP_USERNAME")]
    pub smtp_username: Option<String>,
    #[arg(long, env = "SCIM_SMTP_PASSWORD", hide_env_values = true)]
    pub smtp_password: Option<String>,
    /// The sender of notification mail, e.g. `Rollcall <no-reply@example.com>`.
    #[arg(long, env = "SCIM_SMTP_FROM")]
    pub smtp_from: Option<String>,
    /// How often the delivery worker looks for due mail.
    #[arg(long, env = "SCIM_OUTBOX_POLL_SECONDS")]
    pub outbox_poll_seconds: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant and print a first token for it.
    Create { name: String },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it (once).
    Create {
        #[arg(long)]
        tenant: String,
        /// scim:read, scim:write and/or admin (default: every scope).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        #[arg(long)]
        description: Option<String>,
    },
    /// List a tenant's tokens (never their secrets).
    List {
        #[arg(long)]
        tenant: String,
    },
    /// Revoke a token by id; it stops working within seconds.
    Revoke {
        #[arg(long)]
        tenant: String,
        id: String,
    },
}

/// The TOML file's keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub database: Option<String>,
    pub listen: Option<String>,
    pub bootstrap_token: Option<String>,
    pub public_url: Option<String>,
    pub max_body_bytes: Option<usize>,
    pub log: Option<String>,
    pub app_url: Option<String>,
    pub smtp_host: Option<String>,
    pub smtp_port: Option<u16>,
    pub smtp_tls: Option<String>,
    pub smtp_username: Option<String>,
    pub smtp_password: Option<String>,
    pub smtp_from: Option<String>,
    pub outbox_poll_seconds: Option<u64>,
}

/// The settings in force once every layer is applied.
#[derive(Debug, Clone)]
pub struct Settings {
    pub database: String,
    pub listen: String,
    pub bootstrap_token: Option<String>,
    pub public_url: Option<String>,
    pub max_body_bytes: usize,
    pub log: String,
    pub app_url: Option<String>,
    /// `None`: no SMTP, mail stays queued.
    pub smtp: Option<crate::mail::SmtpSettings>,
    pub outbox_poll_seconds: u64,
}

impl Cli {
    /// Merges the layers. `serve` flags are absent for the other subcommands.
    pub fn settings(&self) -> anyhow::Result<Settings> {
        let file = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| anyhow::anyhow!("cannot read config file {}: {e}", path.display()))?;
                toml::from_str(&text).map_err(|e| anyhow::anyhow!("invalid config file {}: {e}", path.display()))?
            }
            None => FileConfig::default(),
        };
        let serve = match &self.command {
            Command::Serve(args) => Some(args),
            _ => None,
        };
        let smtp = smtp_settings(serve, &file)?;
        Ok(Settings {
            database: self.database.clone().or(file.database).unwrap_or_else(|| DEFAULT_DATABASE.into()),
            listen: serve.and_then(|s| s.listen.clone()).or(file.listen).unwrap_or_else(|| DEFAULT_LISTEN.into()),
            bootstrap_token: serve.and_then(|s| s.bootstrap_token.clone()).or(file.bootstrap_token),
            public_url: serve.and_then(|s| s.public_url.clone()).or(file.public_url),
            max_body_bytes: serve
                .and_then(|s| s.max_body_bytes)
                .or(file.max_body_bytes)
                .unwrap_or(DEFAULT_MAX_BODY_BYTES),
            log: self.log.clone().or(file.log).unwrap_or_else(|| "info".into()),
            app_url: serve.and_then(|s| s.app_url.clone()).or(file.app_url),
            smtp,
            outbox_poll_seconds: serve
                .and_then(|s| s.outbox_poll_seconds)
                .or(file.outbox_poll_seconds)
                .unwrap_or(5)
                .max(1),
        })
    }
}

fn smtp_settings(serve: Option<&ServeArgs>, file: &FileConfig) -> anyhow::Result<Option<crate::mail::SmtpSettings>> {
    let pick = |flag: Option<String>, toml: &Option<String>| flag.or_else(|| toml.clone());
    let Some(host) = pick(serve.and_then(|s| s.smtp_host.clone()), &file.smtp_host) else { return Ok(None) };
    let tls_text = pick(serve.and_then(|s| s.smtp_tls.clone()), &file.smtp_tls).unwrap_or_else(|| "starttls".into());
    let tls = crate::mail::SmtpTls::parse(&tls_text)
        .ok_or_else(|| anyhow::anyhow!("smtp_tls must be `starttls`, `tls` or `none`, not `{tls_text}`"))?;
    let from = pick(serve.and_then(|s| s.smtp_from.clone()), &file.smtp_from)
        .ok_or_else(|| anyhow::anyhow!("SCIM_SMTP_FROM (smtp_from) is required when SCIM_SMTP_HOST is set"))?;
    Ok(Some(crate::mail::SmtpSettings {
        host,
        port: serve.and_then(|s| s.smtp_port).or(file.smtp_port),
        tls,
        username: pick(serve.and_then(|s| s.smtp_username.clone()), &file.smtp_username),
        password: pick(serve.and_then(|s| s.smtp_password.clone()), &file.smtp_password),
        from,
    }))
}

/// `SCIM_*` variables that nothing reads.
pub fn unknown_env_vars() -> Vec<String> {
    std::env::vars().map(|(k, _)| k).filter(|k| k.starts_with("SCIM_") && !KNOWN_ENV.contains(&k.as_str())).collect()
}
