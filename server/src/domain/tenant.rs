//! Tenants and their bearer tokens. A token string is `rc_<id>_<secret>`: the id finds the
//! record, and only the SHA-256 of the secret is stored, compared in constant time.

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use super::resource::TenantId;
use super::store::Store;
use super::{Error, Result};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Read SCIM resources.
    ScimRead,
    /// Create, change and delete SCIM resources.
    ScimWrite,
    /// Use the admin API (`/admin/v1`): people's lifecycle, roles, projects, policies.
    Admin,
    /// Ask for reassignments and read them (what the sync agent needs); `admin` includes it.
    Reassign,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::ScimRead, Scope::ScimWrite, Scope::Admin, Scope::Reassign];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ScimRead => "scim:read",
            Self::ScimWrite => "scim:write",
            Self::Admin => "admin",
            Self::Reassign => "reassign",
        }
    }

    /// Whether a token holding `self` may do what `wanted` allows: `admin` covers `reassign`.
    pub fn grants(self, wanted: Scope) -> bool {
        self == wanted || (self == Scope::Admin && wanted == Scope::Reassign)
    }

    pub fn parse(s: &str) -> Result<Self> {
        Self::ALL.into_iter().find(|scope| scope.as_str() == s).ok_or_else(|| {
            Error::InvalidValue(format!("unknown scope `{s}` (known: scim:read, scim:write, admin, reassign)"))
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
}

/// A token as stored.
#[derive(Debug, Clone)]
pub struct TokenRecord {
    pub id: String,
    pub tenant: TenantId,
    pub secret_hash: Vec<u8>,
    pub scopes: Vec<Scope>,
    pub description: Option<String>,
    pub created_at: OffsetDateTime,
    pub revoked: bool,
}

/// A token as listed: never its secret.
#[derive(Debug, Clone)]
pub struct TokenInfo {
    pub id: String,
    pub scopes: Vec<Scope>,
    pub description: Option<String>,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
}

const PREFIX: &str = "rc_";

/// A freshly minted token: the string to hand out once, and the record to store.
pub fn mint(
    tenant: &TenantId,
    scopes: Vec<Scope>,
    description: Option<String>,
    now: OffsetDateTime,
) -> (String, TokenRecord) {
    let mut id = [0u8; 8];
    let mut secret = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut id);
    rand::thread_rng().fill_bytes(&mut secret);
    let id = super::secret::hex(&id);
    let secret = super::secret::hex(&secret);
    let token = format!("{PREFIX}{id}_{secret}");
    (token, record(tenant, id, &secret, scopes, description, now))
}

/// The record for a token whose string the operator chose (`SCIM_BOOTSTRAP_TOKEN`). Its id
/// is derived from the secret so that restarting with the same secret finds the same record.
pub fn bootstrap(tenant: &TenantId, secret: &str, now: OffsetDateTime) -> TokenRecord {
    record(tenant, bootstrap_id(secret), secret, Scope::ALL.to_vec(), Some("bootstrap".into()), now)
}

fn bootstrap_id(secret: &str) -> String {
    // The first 16 hex digits of the digest: its first 8 bytes.
    format!("boot-{}", super::secret::hex(&Sha256::digest(format!("rollcall-bootstrap:{secret}"))[..8]))
}

fn record(
    tenant: &TenantId,
    id: String,
    secret: &str,
    scopes: Vec<Scope>,
    description: Option<String>,
    now: OffsetDateTime,
) -> TokenRecord {
    TokenRecord {
        id,
        tenant: tenant.clone(),
        secret_hash: hash(secret),
        scopes,
        description,
        created_at: now,
        revoked: false,
    }
}

fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Where to look a presented token up, and the secret to check against the stored hash.
/// Minted tokens carry their id; any other string is treated as a bootstrap secret.
pub fn lookup_id(presented: &str) -> (String, &str) {
    if let Some((id, secret)) = presented.strip_prefix(PREFIX).and_then(|rest| rest.split_once('_')) {
        (id.to_owned(), secret)
    } else {
        (bootstrap_id(presented), presented)
    }
}

/// Whether `secret` is the one `record` was made from, in constant time.
pub fn verify(record: &TokenRecord, secret: &str) -> bool {
    bool::from(hash(secret).ct_eq(&record.secret_hash))
}

/// The tenant created at first start.
pub const DEFAULT_TENANT: &str = "default";

/// What `ensure_default_tenant` did, so the caller can tell the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bootstrap {
    /// The configured bootstrap token is in place (created now or earlier).
    ConfiguredToken { revoked: bool },
    /// The database was empty and no token was configured: here is a new one, shown once.
    GeneratedToken(String),
    /// Nothing to do: tenants exist and no token was configured.
    Existing,
}

/// Makes sure the `default` tenant exists, with the configured bootstrap token if any; on an
/// empty database without one, mints a token so that the first start is usable at once.
pub async fn ensure_default_tenant(
    store: &dyn Store,
    configured: Option<&str>,
    now: OffsetDateTime,
) -> Result<Bootstrap> {
    let existing = store.find_tenant(DEFAULT_TENANT).await?;
    match configured {
        Some(secret) => {
            if secret.len() < 16 {
                return Err(Error::InvalidValue("the bootstrap token must be at least 16 characters long".into()));
            }
            // A minted token's shape would be looked up by its embedded id and never match.
            if secret.starts_with(PREFIX) {
                return Err(Error::InvalidValue(format!("the bootstrap token must not start with `{PREFIX}`")));
            }
            let tenant = match existing {
                Some(t) => t,
                None => store.create_tenant(DEFAULT_TENANT).await?,
            };
            let record = bootstrap(&tenant.id, secret, now);
            match store.find_token(&record.id).await? {
                Some(found) => Ok(Bootstrap::ConfiguredToken { revoked: found.revoked }),
                None => {
                    store.insert_token(&record).await?;
                    Ok(Bootstrap::ConfiguredToken { revoked: false })
                }
            }
        }
        None if existing.is_none() && !store.has_tenants().await? => {
            let tenant = store.create_tenant(DEFAULT_TENANT).await?;
            let (token, record) = mint(&tenant.id, Scope::ALL.to_vec(), Some("generated at first start".into()), now);
            store.insert_token(&record).await?;
            Ok(Bootstrap::GeneratedToken(token))
        }
        None => Ok(Bootstrap::Existing),
    }
}

/// Mints and stores a token for the tenant named `tenant_name`; answers the token string.
pub async fn create_token(
    store: &dyn Store,
    tenant_name: &str,
    scopes: Vec<Scope>,
    description: Option<String>,
    now: OffsetDateTime,
) -> Result<(String, TokenRecord)> {
    let tenant = find(store, tenant_name).await?;
    let scopes = if scopes.is_empty() { Scope::ALL.to_vec() } else { scopes };
    let (token, record) = mint(&tenant.id, scopes, description, now);
    store.insert_token(&record).await?;
    Ok((token, record))
}

/// The tenant with this name, or a NotFound error naming it.
pub async fn find(store: &dyn Store, name: &str) -> Result<Tenant> {
    store.find_tenant(name).await?.ok_or_else(|| Error::NotFound(format!("no tenant named `{name}`")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_verify_and_wrong_secrets_do_not() {
        let tenant = TenantId("t".into());
        let (token, record) = mint(&tenant, Scope::ALL.to_vec(), None, OffsetDateTime::UNIX_EPOCH);
        let (id, secret) = lookup_id(&token);
        assert_eq!(id, record.id);
        assert!(verify(&record, secret));
        assert!(!verify(&record, "nope"));
        assert_ne!(record.secret_hash, secret.as_bytes());
    }

    #[test]
    fn bootstrap_tokens_are_found_by_their_secret() {
        let tenant = TenantId("t".into());
        let record = bootstrap(&tenant, "s3cret", OffsetDateTime::UNIX_EPOCH);
        let (id, secret) = lookup_id("s3cret");
        assert_eq!(id, record.id);
        assert!(verify(&record, secret));
    }
}
