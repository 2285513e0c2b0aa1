//! Delivery of the notification outbox over SMTP (lettre, rustls). The [`Worker`] claims due
//! messages with a lease, sends each one, and marks it sent or schedules a retry with
//! back-off; a message is never dropped. Several replicas may run a worker each on one
//! database: the claim hands every message to one of them at a time.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use time::Duration;

use crate::domain::clock::Clock;
use crate::domain::notify::{retry_after, OutboxMessage};
use crate::domain::store::Store;

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (port 587 by default).
    StartTls,
    /// TLS from the first byte (port 465 by default).
    Tls,
    /// No encryption (port 25 by default): for a relay on the same host, and tests.
    None,
}

impl SmtpTls {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "starttls" => Some(Self::StartTls),
            "tls" => Some(Self::Tls),
            "none" => Some(Self::None),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: Option<u16>,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The sender, e.g. `Rollcall <no-reply@example.com>`.
    pub from: String,
}

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    pub fn new(s: &SmtpSettings) -> anyhow::Result<Self> {
        let builder = match s.tls {
            SmtpTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host)?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host)?,
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host),
        };
        let mut builder = builder.timeout(Some(StdDuration::from_secs(30)));
        if let Some(port) = s.port {
            builder = builder.port(port);
        }
        if let (Some(user), Some(pass)) = (&s.username, &s.password) {
            builder = builder.credentials(Credentials::new(user.clone(), pass.clone()));
        }
        let from = s.from.parse().map_err(|e| anyhow::anyhow!("SCIM_SMTP_FROM `{}` is not a mailbox: {e}", s.from))?;
        Ok(Self { transport: builder.build(), from })
    }

    /// Sends one message; the error text is kept on the outbox row.
    pub async fn send(&self, m: &OutboxMessage) -> Result<(), String> {
        let to: Mailbox = m.recipient.parse().map_err(|e| format!("bad recipient `{}`: {e}", m.recipient))?;
        let email = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(m.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(m.body.clone())
            .map_err(|e| format!("cannot build the message: {e}"))?;
        self.transport.send(email).await.map(|_| ()).map_err(|e| format!("SMTP: {e}"))
    }
}

/// The delivery worker.
pub struct Worker {
    pub store: Arc<dyn Store>,
    pub mailer: Mailer,
    pub clock: Arc<dyn Clock>,
    /// How long a claim holds a message before another worker may take it.
    pub lease: Duration,
    /// Messages claimed at once.
    pub batch: u32,
}

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub sent: usize,
    pub failed: usize,
}

impl Worker {
    pub fn new(store: Arc<dyn Store>, mailer: Mailer, clock: Arc<dyn Clock>) -> Self {
        Self { store, mailer, clock, lease: Duration::minutes(5), batch: 20 }
    }

    /// Claims the due messages and tries each once.
    pub async fn run_once(&self) -> crate::domain::Result<Round> {
        let now = self.clock.now();
        let claimed = self.store.people().claim_outbox(now, self.lease, self.batch).await?;
        let mut round = Round::default();
        for m in claimed {
            match self.mailer.send(&m).await {
                Ok(()) => {
                    self.store.people().outbox_sent(&m.tenant, &m.id, self.clock.now()).await?;
                    round.sent += 1;
                }
                Err(error) => {
                    // The claim counted this attempt already.
                    let retry = self.clock.now() + retry_after(m.attempts);
                    tracing::warn!(id = %m.id, attempts = m.attempts, %error, "mail delivery failed; will retry");
                    self.store.people().outbox_failed(&m.tenant, &m.id, &error, retry).await?;
                    round.failed += 1;
                }
            }
        }
        Ok(round)
    }

    /// Runs rounds every `poll` until `stop` resolves.
    pub async fn run(self, poll: StdDuration, stop: impl std::future::Future<Output = ()>) {
        let this = &self;
        crate::rounds::repeat(poll, stop, || async move {
            match this.run_once().await {
                Ok(r) if r.sent + r.failed > 0 => tracing::info!(sent = r.sent, failed = r.failed, "outbox round"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "outbox round failed"),
            }
        })
        .await;
    }
}
