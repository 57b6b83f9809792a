//! Password hashing with argon2id (the `argon2` crate's defaults: 19 MiB, 2 passes).

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand_core::OsRng;

/// Shortest password accepted.
pub const MIN_PASSWORD_LENGTH: usize = 12;

/// The PHC string (`$argon2id$v=19$…`) of `password`.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| anyhow::anyhow!("cannot hash the password: {error}"))
}

/// Whether `password` matches the stored PHC string.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
}

/// Password verifications under way at most: each holds 19 MiB, so a burst of sign-ins
/// queues here instead of growing memory without bound.
const CONCURRENT_VERIFICATIONS: usize = 4;

/// `verify_password` on a blocking thread, at most `CONCURRENT_VERIFICATIONS` at a time.
pub async fn verify_limited(password: String, phc: String) -> anyhow::Result<bool> {
    static PERMITS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(CONCURRENT_VERIFICATIONS);
    let _permit = PERMITS.acquire().await?;
    Ok(tokio::task::spawn_blocking(move || verify_password(&password, &phc)).await?)
}

/// A PHC string no password matches, verified against unknown usernames so that a
/// login takes as long whether or not the user exists.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("keel-dummy-password-for-timing").unwrap_or_default())
}

/// The validation rule for new passwords.
pub fn check_new_password(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_LENGTH {
        Err(format!("must be at least {MIN_PASSWORD_LENGTH} characters"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_only_its_password() {
        let hash = hash_password("correct horse battery").expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterY", &hash));
        assert!(!verify_password("anything", "not a phc string"));
    }
}
