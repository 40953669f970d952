//! Signed webhooks: the event's JSON posted to the endpoint's URL with
//! `Doorstep-Signature: t=<unix seconds>,v1=<HMAC-SHA256 hex of
//! "t.body">` under the endpoint's secret, the outbox's `Idempotency-Key`
//! (the same on every attempt) and `Doorstep-Event` (the event type). Any
//! 2xx is delivered; anything else is retried through the outbox.

use super::{Delivery, Provider};
use crate::domain::webhooks::{endpoint_secret, sign, IDEMPOTENCY_HEADER, SIGNATURE_HEADER};
use crate::store::outbox::OutboxMessage;
use crate::store::BoxFuture;

/// The webhook sender.
#[derive(Debug, Clone)]
pub struct WebhookSender {
    /// The server's webhook key the endpoints' secrets derive from.
    pub signing_key: Option<String>,
    pub http: reqwest::Client,
}

impl WebhookSender {
    async fn send(&self, m: &OutboxMessage) -> Delivery {
        let Some(key) = &self.signing_key else {
            return Delivery::Refused(
                "no webhook signing key: set DOORSTEP_WEBHOOK_SIGNING_KEY".into(),
            );
        };
        let Some(url) = m.payload["url"].as_str() else {
            return Delivery::Refused("the webhook has no URL".into());
        };
        let body = m.payload["event"].to_string();
        let secret = endpoint_secret(key, &m.target);
        let signature = sign(&secret, chrono::Utc::now().timestamp(), body.as_bytes());
        let answer = self
            .http
            .post(url)
            .header("Content-Type", "application/json")
            .header(SIGNATURE_HEADER, signature)
            .header(IDEMPOTENCY_HEADER, &m.idempotency_key)
            .header(
                "Doorstep-Event",
                m.payload["event"]["type"].as_str().unwrap_or_default(),
            )
            .body(body)
            .send()
            .await;
        match answer {
            Ok(r) if r.status().is_success() => Delivery::Delivered { reference: None },
            Ok(r) => Delivery::Retry(format!(
                "the endpoint answered HTTP {}",
                r.status().as_u16()
            )),
            Err(e) => Delivery::Retry(format!("the endpoint is unreachable: {e}")),
        }
    }
}

impl Provider for WebhookSender {
    fn name(&self) -> &'static str {
        "webhook"
    }

    fn deliver<'a>(&'a self, message: &'a OutboxMessage) -> BoxFuture<'a, Delivery> {
        Box::pin(self.send(message))
    }
}
