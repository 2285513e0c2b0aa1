//! Secrets people hold: single-use links (sign-up, password reset, the public join link)
//! and passwords. Links are `<tenant id>.<64 hex digits>`: the tenant part finds the
//! tenant, and a link is stored under its key (see [`link_keys`]), never as itself.
//! Passwords are hashed with Argon2id and a random salt.

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
    /// The key it is stored under (see [`link_keys`]).
    pub key: String,
    pub person: String,
    pub purpose: LinkPurpose,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub used_at: Option<OffsetDateTime>,
}

/// A fresh link token for `tenant`, and the key to store it under. The first 12 of its 64
/// hex digits are the time it was made in milliseconds, the other 52 (208 bits) are random:
/// keys then sort in the order links are made, and each new link lands on the last page of
/// the table. With keys as random as the tokens, every create wrote a page of its own at a
/// random place, half of all the pages a commit wrote during a load of creates.
pub fn mint_link(tenant: &TenantId, now: OffsetDateTime) -> (String, String) {
    let millis = u64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0) & 0xffff_ffff_ffff;
    let mut random = [0u8; 26];
    rand::thread_rng().fill_bytes(&mut random);
    let token = format!("{}.{millis:012x}{}", tenant.0, hex(&random));
    let [key, _] = link_keys(&token);
    (token, key)
}

/// `bytes` in lowercase hexadecimal. Links and token ids are minted inside a write and read
/// on every request; the `hex` crate's encoder, a char iterator collected into a String, cost
/// about 2,000 instructions for 32 bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// The keys a link may be stored under: its time digits followed by the SHA-256 of the whole
/// token, as [`mint_link`] stores it; and the bare SHA-256, as links made before 6 December
/// 2026 were stored (still valid for their `linkValidityHours`, and a join link until it is
/// rotated). The time digits say when a link was made, which its holder knows anyway; the
/// key never gives away the random part.
pub fn link_keys(token: &str) -> [String; 2] {
    let hash = hex(&Sha256::digest(token.as_bytes()));
    let time = token.rsplit_once('.').and_then(|(_, secret)| secret.get(..12)).unwrap_or("");
    [format!("{time}{hash}"), hash]
}

/// Whether `token` is the link stored under `key`.
pub fn link_matches(token: &str, key: &str) -> bool {
    link_keys(token).iter().any(|k| k == key)
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
        let now = time::macros::datetime!(2026-12-06 12:00 UTC);
        let (token, key) = mint_link(&tenant, now);
        assert_eq!(link_tenant(&token), Some(tenant.clone()));
        assert!(link_matches(&token, &key));
        assert!(!key.contains(&token[token.len() - 52..]), "the key never holds the random part");
        // Links made later sort after: new links are stored at the end of the table.
        let (later, later_key) = mint_link(&tenant, now + time::Duration::milliseconds(1));
        assert!(later_key > key);
        assert!(!link_matches(&later, &key));
        // A link stored under its bare SHA-256 (before time digits) still matches.
        let legacy = format!("{}.{}", tenant.0, "ab".repeat(32));
        assert!(link_matches(&legacy, &hex(&Sha256::digest(legacy.as_bytes()))));
        assert_eq!(link_tenant("nope"), None);
        assert_eq!(link_tenant("t.zz"), None);
    }

    #[test]
    fn hex_is_lowercase_two_digits_a_byte() {
        assert_eq!(hex(&[]), "");
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(hex(&Sha256::digest(b"abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn passwords_verify_and_short_ones_are_refused() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(verify_password(&h, "correct horse battery"));
        assert!(!verify_password(&h, "wrong horse battery"));
        assert!(hash_password("short").is_err());
    }
}
