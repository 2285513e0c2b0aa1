//! What the lifecycle needs from storage. A use case opens one [`PeopleTx`] (which locks
//! the tenant, so seat counts and "the last admin" cannot race), does its reads and writes
//! through it, and commits: the change, its audit entry and its notification land together
//! or not at all. Dropping a transaction without committing rolls it back.

use async_trait::async_trait;
use time::{Duration, OffsetDateTime};

use super::audit::{AuditEntry, AuditQuery};
use super::notify::{OutboxMessage, OutboxQuery};
use super::people::{Identity, NewPerson, PeopleQuery, Person};
use super::projects::{Grant, GroupBinding, Project, ProjectRole};
use super::resource::TenantId;
use super::roles::Role;
use super::secret::{LinkPurpose, LinkRecord};
use super::settings::TenantSettings;
use super::store::Place;
use super::work_store::WorkTx;
use super::Result;

#[async_trait]
pub trait PeopleStore: Send + Sync {
    /// A write transaction on `tenant`, which it locks until commit or drop.
    async fn begin(&self, tenant: &TenantId) -> Result<Box<dyn PeopleTx>>;
    /// As [`PeopleStore::begin`], for a write with a place in a line, which it lets go of once
    /// the write is ordered against the later ones (see [`Place`]).
    async fn begin_in_line(&self, tenant: &TenantId, place: Option<Place>) -> Result<Box<dyn PeopleTx>>;
    /// A read-only transaction on one snapshot (writes through it fail).
    async fn read(&self, tenant: &TenantId) -> Result<Box<dyn PeopleTx>>;
    /// The name of a tenant by id (for mail), if it exists.
    async fn tenant_name(&self, tenant: &TenantId) -> Result<Option<String>>;

    /// Claims up to `limit` due outbox messages of any tenant for `lease`: another worker
    /// (another replica) skips them until the lease runs out.
    async fn claim_outbox(&self, now: OffsetDateTime, lease: Duration, limit: u32) -> Result<Vec<OutboxMessage>>;
    async fn outbox_sent(&self, tenant: &str, id: &str, at: OffsetDateTime) -> Result<()>;
    async fn outbox_failed(&self, tenant: &str, id: &str, error: &str, retry_at: OffsetDateTime) -> Result<()>;

    /// Claims up to `limit` pending reassignment jobs of any tenant for `lease`, as
    /// `(tenant, job id)`: another worker skips them until the lease runs out, so a job
    /// whose worker died is taken again.
    async fn claim_reassignments(
        &self,
        now: OffsetDateTime,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<(String, String)>>;
}

#[async_trait]
pub trait PeopleTx: Send {
    async fn settings(&mut self) -> Result<TenantSettings>;
    async fn save_settings(&mut self, settings: &TenantSettings) -> Result<()>;
    /// The hash of the public join link's token, when one exists.
    async fn join_link_hash(&mut self) -> Result<Option<String>>;
    async fn set_join_link_hash(&mut self, hash: Option<&str>) -> Result<()>;

    /// A person by id, archived or not.
    async fn person(&mut self, id: &str) -> Result<Option<Person>>;
    async fn people(&mut self, query: &PeopleQuery) -> Result<(u64, Vec<Person>)>;
    /// The person with this userName (case-insensitively): a live one, else the latest
    /// archived one.
    async fn find_by_user_name(&mut self, user_name: &str) -> Result<Option<Person>>;
    /// Who already has this userName (case-insensitively) or externalId, live or archived.
    async fn identity(&mut self, user_name: &str, external_id: Option<&str>) -> Result<Identity>;
    async fn insert_person(&mut self, new: &NewPerson, now: OffsetDateTime) -> Result<Person>;
    /// Writes the person's document and profile; answers them with the new version.
    async fn save_person(&mut self, person: &Person, now: OffsetDateTime) -> Result<Person>;
    async fn seats_used(&mut self) -> Result<u64>;
    /// Live (invited or active) people other than `id` whose role in force is admin.
    async fn admins_other_than(&mut self, id: &str) -> Result<u64>;
    /// Whether a live person other than `except` has this e-mail (any of theirs).
    async fn email_taken(&mut self, email: &str, except: &str) -> Result<bool>;
    async fn set_password(&mut self, person: &str, hash: &str) -> Result<()>;

    async fn roles(&mut self) -> Result<Vec<Role>>;
    async fn role(&mut self, name: &str) -> Result<Option<Role>>;
    async fn save_role(&mut self, role: &Role) -> Result<()>;
    async fn delete_role(&mut self, name: &str) -> Result<()>;
    /// People (archived ones too) whose hand-set role, or whose group binding, is `name`.
    async fn role_in_use(&mut self, name: &str) -> Result<bool>;

    async fn put_link(&mut self, link: &LinkRecord) -> Result<()>;
    /// Ends every unused link of this purpose of this person (resend, cancel, delete).
    async fn kill_links(&mut self, person: &str, purpose: LinkPurpose, now: OffsetDateTime) -> Result<()>;
    /// The link stored under any of `keys` (see `secret::link_keys`).
    async fn link(&mut self, keys: &[String]) -> Result<Option<LinkRecord>>;
    async fn use_link(&mut self, key: &str, now: OffsetDateTime) -> Result<()>;

    async fn projects(&mut self) -> Result<Vec<Project>>;
    async fn project(&mut self, id: &str) -> Result<Option<Project>>;
    async fn insert_project(&mut self, project: &Project) -> Result<()>;
    async fn delete_project(&mut self, id: &str) -> Result<bool>;
    /// Every grant of these people (hand-set and through groups), in one query.
    async fn grants_of(&mut self, people: &[String]) -> Result<Vec<Grant>>;
    /// Every grant of a project.
    async fn project_grants(&mut self, project: &str) -> Result<Vec<Grant>>;
    /// Sets the hand-set grant of a person in a project.
    async fn put_manual_grant(
        &mut self,
        project: &str,
        person: &str,
        role: ProjectRole,
        permissions: &[String],
    ) -> Result<()>;
    /// Removes the hand-set grant; false when there was none.
    async fn remove_manual_grant(&mut self, project: &str, person: &str) -> Result<bool>;

    async fn bindings(&mut self) -> Result<Vec<GroupBinding>>;
    /// The bindings of these groups only (groups without one are not listed).
    async fn bindings_of(&mut self, groups: &[String]) -> Result<Vec<GroupBinding>>;
    /// The display name of a group of this tenant, if it exists.
    async fn group_display(&mut self, id: &str) -> Result<Option<String>>;
    /// Replaces a group's bindings (empty: unbound).
    async fn save_binding(&mut self, binding: &GroupBinding) -> Result<()>;

    async fn audit(&mut self, entry: &AuditEntry) -> Result<()>;
    async fn audit_log(&mut self, query: &AuditQuery) -> Result<Vec<AuditEntry>>;
    async fn enqueue(&mut self, message: &OutboxMessage) -> Result<()>;
    async fn outbox(&mut self, query: &OutboxQuery) -> Result<Vec<OutboxMessage>>;

    /// Owned work and its reassignment, in this transaction.
    fn work(&mut self) -> &mut dyn WorkTx;

    async fn commit(self: Box<Self>) -> Result<()>;
}
