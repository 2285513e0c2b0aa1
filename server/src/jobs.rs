//! The reassignment worker: runs the jobs deprovisionings record under the tenant's default
//! policy. Every replica may run one; a job is claimed with a lease first, so two workers
//! never run the same job, and a job whose worker died (its transaction rolled back) is
//! claimed again once the lease runs out, by another replica or by this one restarted.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use time::Duration;

use crate::domain::audit::Actor;
use crate::domain::clock::Clock;
use crate::domain::people_ops::Ctx;
use crate::domain::reassign::run;
use crate::domain::resource::TenantId;
use crate::domain::store::Store;

pub struct Worker {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    /// How long a claim holds a job before another worker may take it. A job is one
    /// transaction, so this only needs to outlast the longest reassignment.
    pub lease: Duration,
    /// Jobs claimed at once.
    pub batch: u32,
    /// Runs before a job is failed for good.
    pub max_attempts: i64,
}

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub done: usize,
    pub failed: usize,
}

impl Worker {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock, lease: Duration::minutes(10), batch: 10, max_attempts: 5 }
    }

    fn ctx(&self, tenant: &str, name: String) -> Ctx {
        Ctx {
            tenant: TenantId(tenant.to_owned()),
            tenant_name: name,
            actor: Actor("reassignment-worker".into()),
            now: self.clock.now(),
            links: String::new(),
        }
    }

    /// Claims the pending jobs and runs each once, each in its own transaction.
    pub async fn run_once(&self) -> crate::domain::Result<Round> {
        let people = self.store.people();
        let claimed = people.claim_reassignments(self.clock.now(), self.lease, self.batch).await?;
        let mut round = Round::default();
        for (tenant, id) in claimed {
            let name = people.tenant_name(&TenantId(tenant.clone())).await?.unwrap_or_default();
            let ctx = self.ctx(&tenant, name);
            let attempt = async {
                let mut tx = people.begin(&ctx.tenant).await?;
                run::run_job(tx.as_mut(), &ctx, &id).await?;
                tx.commit().await
            };
            match attempt.await {
                Ok(()) => round.done += 1,
                Err(error) => {
                    tracing::warn!(job = %id, %error, "reassignment job failed; will retry");
                    let mut tx = people.begin(&ctx.tenant).await?;
                    run::job_failed(tx.as_mut(), &ctx, &id, &error.to_string(), self.max_attempts).await?;
                    tx.commit().await?;
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
                Ok(r) if r.done + r.failed > 0 => {
                    tracing::info!(done = r.done, failed = r.failed, "reassignment round")
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "reassignment round failed"),
            }
        })
        .await;
    }
}
