//! Random secrets for sessions and API tokens, and the hashes the store keeps of them.

use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

/// Prefix of every API token, so leaked tokens are recognisable by secret scanners.
pub const TOKEN_PREFIX: &str = "keel_";

/// Characters of a token kept for display: `keel_` and 6 more.
pub const DISPLAY_PREFIX_LEN: usize = 11;

/// 32 random bytes as 64 hex characters.
pub fn random_secret() -> String {
    let mut bytes = [0_u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex(&bytes)
}

/// A new API token: `keel_` + 64 hex characters.
pub fn new_api_token() -> String {
    format!("{TOKEN_PREFIX}{}", random_secret())
}

/// Prefix of integration keys (Alertmanager and PagerDuty senders).
pub const INTEGRATION_KEY_PREFIX: &str = "keel_int_";

/// A new integration key: `keel_int_` + 32 hex characters (PagerDuty routing keys are 32).
pub fn new_integration_key() -> String {
    format!("{INTEGRATION_KEY_PREFIX}{}", &random_secret()[..32])
}

/// SHA-256 (hex) of a secret. Secrets are long and random, so a fast hash suffices.
pub fn secret_hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_random_and_hashed() {
        let (one, two) = (new_api_token(), new_api_token());
        assert_ne!(one, two);
        assert!(one.starts_with("keel_") && one.len() == 69);
        assert_eq!(secret_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
