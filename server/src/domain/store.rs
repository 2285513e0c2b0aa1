//! The storage interface the use cases are written against. `storage` implements it for
//! SQLite (and later PostgreSQL); nothing here knows SQL.

use async_trait::async_trait;

use super::people_store::PeopleStore;
use super::resource::{ListQuery, Mutation, NewResource, Page, Precondition, StoredResource, TenantId};
use super::schema::ResourceType;
use super::tenant::{Tenant, TokenInfo, TokenRecord};
use super::Result;

/// A write's place in a line of writes that must reach the database in the order they were
/// sent (a Bulk request's creates: of two with the same userName, the first one wins).
/// The write lets go of it once nothing sent after it can overtake it: on SQLite once it
/// has asked for the single writer (taken in the order it is asked for); on PostgreSQL once
/// it holds its tenant's row lock (a person) or its entries in the unique indexes (a group),
/// which a later write with the same name waits behind. Dropping it lets the next write of
/// the line go.
pub struct Place {
    _held: Box<dyn Send>,
}

impl Place {
    pub fn new(guard: impl Send + 'static) -> Self {
        Self { _held: Box::new(guard) }
    }
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The people lifecycle's storage, on the same database.
    fn people(&self) -> &dyn PeopleStore;

    /// Whether the database answers (for `/healthz`).
    async fn ping(&self) -> Result<()>;
    /// The key that signs pagination cursors: random, made once per database and kept in it,
    /// so that every replica on one database accepts the cursors of the others.
    fn cursor_key(&self) -> &[u8];

    async fn create_tenant(&self, name: &str) -> Result<Tenant>;
    async fn find_tenant(&self, name: &str) -> Result<Option<Tenant>>;
    /// Whether any tenant exists (an empty database gets a generated token at first start).
    async fn has_tenants(&self) -> Result<bool>;
    /// Stores a new token (its secret already hashed).
    async fn insert_token(&self, token: &TokenRecord) -> Result<()>;
    /// The token with this public id, revoked or not.
    async fn find_token(&self, id: &str) -> Result<Option<TokenRecord>>;
    async fn list_tokens(&self, tenant: &TenantId) -> Result<Vec<TokenInfo>>;
    /// Revokes a token; false when no such token exists in the tenant.
    async fn revoke_token(&self, tenant: &TenantId, id: &str) -> Result<bool>;
    /// Records that a token was used (best effort, coarse-grained by the caller).
    async fn touch_token(&self, id: &str) -> Result<()>;

    /// Creates a resource; with a `place`, lets go of it as soon as the write is ordered (see
    /// [`Place`]).
    async fn create(
        &self,
        tenant: &TenantId,
        rt: ResourceType,
        new: NewResource,
        place: Option<Place>,
    ) -> Result<StoredResource>;
    async fn get(
        &self,
        tenant: &TenantId,
        rt: ResourceType,
        id: &str,
        with_relations: bool,
    ) -> Result<Option<StoredResource>>;
    /// Runs `mutation` on the current data and writes the result, in one transaction.
    async fn update(
        &self,
        tenant: &TenantId,
        rt: ResourceType,
        id: &str,
        precondition: &Precondition,
        mutation: Mutation,
        with_relations: bool,
    ) -> Result<StoredResource>;
    async fn delete(&self, tenant: &TenantId, rt: ResourceType, id: &str, precondition: &Precondition) -> Result<()>;
    async fn list(&self, tenant: &TenantId, rt: ResourceType, query: &ListQuery) -> Result<Page>;
}
