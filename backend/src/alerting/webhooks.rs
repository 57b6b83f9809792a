//! Escalation webhooks: each queued notification is POSTed as JSON, signed with
//! HMAC-SHA256 of the body (`X-Keel-Signature: sha256=<hex>`, with `X-Keel-Timestamp`),
//! and retried after 1 s, 5 s, 30 s, 2 min and 10 min on the clock before it is given up.
//! Every attempt is kept on the delivery; a delivery and a final failure go on the
//! incident's timeline.

use std::time::Duration;

use hmac::{Hmac, Mac};
use keel_shared::incidents::WEBHOOK_RETRY_SECONDS;
use sha2::Sha256;

use crate::domain::DomainResult;
use crate::store::Store;
use crate::store::webhooks::Attempt;

/// How long one attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Deliveries attempted per pass.
const PER_PASS: i64 = 50;

/// `sha256=<hex>` of the body under `secret`.
pub fn signature(secret: &str, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(body.as_bytes());
    let digest = mac.finalize().into_bytes();
    format!("sha256={}", digest.iter().map(|byte| format!("{byte:02x}")).collect::<String>())
}

/// Sends every due delivery once; returns when the next pending one is due (Unix ms).
pub async fn deliver_due(store: &Store, client: &reqwest::Client) -> DomainResult<Option<i64>> {
    let due = store.due_webhooks(PER_PASS).await?;
    if due.is_empty() {
        return store.next_webhook_at().await;
    }
    let secret = store.webhook_secret(&crate::auth::secrets::random_secret()).await?;
    for delivery in &due {
        let timestamp = store.clock().now().timestamp().to_string();
        let sent = client
            .post(&delivery.url)
            .timeout(ATTEMPT_TIMEOUT)
            .header("content-type", "application/json")
            .header("x-keel-signature", signature(&secret, &delivery.body))
            .header("x-keel-timestamp", timestamp)
            .body(delivery.body.clone())
            .send()
            .await;
        let error = match sent {
            Ok(response) if response.status().is_success() => None,
            Ok(response) => Some(format!("answered {}", response.status())),
            Err(error) => Some(format!("could not be reached ({error})")),
        };
        let attempt = match error {
            None => Attempt::Delivered,
            Some(error) => match WEBHOOK_RETRY_SECONDS.get(usize::try_from(delivery.attempts).unwrap_or(usize::MAX)) {
                Some(wait) => Attempt::Retry { error, at: store.clock().now_millis() + wait * 1000 },
                None => Attempt::GaveUp { error },
            },
        };
        store.record_webhook_attempt(delivery, attempt).await?;
    }
    store.next_webhook_at().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_rfc_4231_hmac_sha256() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", "what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
