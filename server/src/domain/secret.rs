//! Secrets people hold: single-use links (sign-up, password reset, the public join link)
//! and passwords. Links are `<tenant id>.<64 hex digits>`: the tenant part finds the
//! tenant, and only the SHA-256 of the whole link token is stored. Passwords are hashed
//! with Argon2id and a random salt.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::resource::TenantId;
use super::{Error, Result};

/// What a single-use link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    SignUp,
    PasswordReset,
}

impl LinkPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignUp => "signup",
            Self::PasswordReset => "reset",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::SignUp, Self::PasswordReset].into_iter().find(|p| p.as_str() == s)
    }
}

/// A link as stored: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRecord {
    pub hash: String,
    pub person: String,
    pub purpose: LinkPurpose,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub used_at: Option<OffsetDateTime>,
}

/// A fresh random link token for `tenant`, and its hash.
pub fn mint_link(tenant: &TenantId) -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token = format!("{}.{}", tenant.0, hex::encode(bytes));
    let hash = hash_link(&token);
    (token, hash)
}

pub fn hash_link(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The tenant a link token names, if it has the right shape.
pub fn link_tenant(token: &str) -> Option<TenantId> {
    let (tenant, secret) = token.rsplit_once('.')?;
    (secret.len() == 64 && secret.bytes().all(|b| b.is_ascii_hexdigit()) && !tenant.is_empty())
        .then(|| TenantId(tenant.to_owned()))
}

pub const MIN_PASSWORD_CHARS: usize = 10;

pub fn hash_password(password: &str) -> Result<String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::InvalidValue(format!("a password needs at least {MIN_PASSWORD_CHARS} characters")));
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Storage(format!("password hashing failed: {e}").into()))
}

/// Whether `password` matches `stored` (constant-time inside argon2).
pub fn verify_password(stored: &str, password: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_name_their_tenant_and_hash_stably() {
        let tenant = TenantId("0192-abc".into());
        let (token, hash) = mint_link(&tenant);
        assert_eq!(link_tenant(&token), Some(tenant));
        assert_eq!(hash_link(&token), hash);
        assert_ne!(hash, token);
        assert_eq!(link_tenant("nope"), None);
        assert_eq!(link_tenant("t.zz"), None);
    }

    #[test]
    fn passwords_verify_and_short_ones_are_refused() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(verify_password(&h, "correct horse battery"));
        assert!(!verify_password(&h, "wrong horse battery"));
        assert!(hash_password("short").is_err());
    }
}
