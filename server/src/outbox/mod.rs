//! What leaves the server. The outbox worker runs inside the server: each
//! round it fans the new integration events out (numbering them for the
//! feed, one outbox message per subscribed webhook endpoint and per
//! consented customer notice, `fanout`) and queues the e-fapiao requests
//! whose amount is now known and (with a privacy-number provider) the
//! binds and unbinds of the orders dispatched or released, then claims the messages that are
//! due and delivers each through its provider adapter (a [`Provider`]:
//! Tencent Cloud SMS, WeChat Official Account template messages, signed webhooks, the Nuonuo invoicing API, Alibaba
//! Cloud's privacy numbers, the QR payment providers' native orders:
//! WeChat Pay, Alipay), recording
//! the outcome — and an invoice's on its request (`domain::invoices`) — delivered,
//! another attempt after an exponential backoff with jitter, or dead.
//! A claim is a lease: a worker killed mid-delivery leaves its message
//! `sending` until the lease ends, then any worker delivers it again with the
//! same idempotency key. `simulator` is the providers' stand-in for tests
//! and local runs.

pub mod alipay;
pub mod aliyun_pls;
pub mod fanout;
pub mod nuonuo;
pub mod rsa_keys;
pub mod simulator;
pub mod tencent_sms;
pub mod webhook;
pub mod wechat_mp;
pub mod wechat_pay;

use crate::app::AppState;
use crate::domain::invoices::{self, InvoiceOutcome, ISSUE_KIND, QUERY_KIND};
use crate::domain::outbox::RetryPolicy;
use crate::domain::privacy_numbers::{self, BIND_KIND, RENEW_KIND, UNBIND_KIND};
use crate::domain::qr_payments;
use crate::failure::Fallible;
use crate::store::invoices as store_invoices;
use crate::store::outbox::{self, OutboxMessage, OutboxState};
use crate::store::BoxFuture;
use crate::time::now_ms;
use std::sync::Arc;
use std::time::Duration;

pub use crate::domain::outbox::Delivery;

/// An outbound provider: delivers one outbox message.
pub trait Provider: Send + Sync {
    /// The adapter's name (logs).
    fn name(&self) -> &'static str;
    /// One attempt at delivering `message`, with its idempotency key.
    fn deliver<'a>(&'a self, message: &'a OutboxMessage) -> BoxFuture<'a, Delivery>;
}

/// The worker: the adapters and the retry policy over the server's state.
pub struct Worker {
    state: AppState,
    sms: tencent_sms::TencentSms,
    wechat: wechat_mp::WechatMp,
    webhooks: webhook::WebhookSender,
    invoicing: nuonuo::Nuonuo,
    privacy: aliyun_pls::AliyunPls,
    wechat_pay: wechat_pay::WechatPay,
    alipay: alipay::Alipay,
    policy: RetryPolicy,
}

impl Worker {
    /// A worker with the adapters `state.providers` describes.
    pub fn new(state: AppState) -> Worker {
        let p = state.providers.clone();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(p.provider_timeout_secs))
            .connect_timeout(Duration::from_secs(p.provider_timeout_secs.min(5)))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Worker {
            sms: tencent_sms::TencentSms {
                endpoint: p.sms_endpoint.clone(),
                secret_id: p.sms_secret_id.clone(),
                secret_key: p.sms_secret_key.clone(),
                app_id: p.sms_app_id.clone(),
                sign_name: p.sms_sign_name.clone(),
                region: p.sms_region.clone(),
                templates: p.sms_templates.clone(),
                http: http.clone(),
            },
            wechat: wechat_mp::WechatMp {
                endpoint: p.wechat_endpoint.clone(),
                appid: p.wechat_appid.clone(),
                appsecret: p.wechat_appsecret.clone(),
                templates: p.wechat_templates.clone(),
                token: Default::default(),
                http: http.clone(),
            },
            webhooks: webhook::WebhookSender {
                signing_key: p.webhook_signing_key.clone(),
                http: http.clone(),
            },
            privacy: aliyun_pls::AliyunPls {
                endpoint: p.privacy_endpoint.clone(),
                access_key_id: p.privacy_access_key_id.clone(),
                access_key_secret: p.privacy_access_key_secret.clone(),
                region: p.privacy_region.clone(),
                http: http.clone(),
            },
            wechat_pay: wechat_pay_of(&p, http.clone()),
            alipay: alipay_of(&p, http.clone()),
            invoicing: nuonuo::Nuonuo {
                endpoint: p.invoice_endpoint.clone(),
                app_key: p.invoice_app_key.clone(),
                app_secret: p.invoice_app_secret.clone(),
                access_token: p.invoice_access_token.clone(),
                token_endpoint: p.invoice_token_endpoint.clone(),
                token_cache: Default::default(),
                seller_tax_number: p.invoice_seller_tax_number.clone(),
                clerk: p.invoice_clerk.clone(),
                item_name: p.invoice_item_name.clone(),
                tax_rate: p.invoice_tax_rate.clone(),
                zone: (*state.zone).clone(),
                http,
            },
            policy: RetryPolicy {
                base_ms: p.outbox_retry_base_ms,
                cap_ms: RetryPolicy::default().cap_ms.max(p.outbox_retry_base_ms),
                max_attempts: p.outbox_max_attempts,
            },
            state,
        }
    }

    /// The adapter that delivers `m`, if any.
    fn provider_of(&self, m: &OutboxMessage) -> Option<&dyn Provider> {
        match (m.kind.as_str(), m.target.as_str()) {
            ("notice", "sms") => Some(&self.sms as &dyn Provider),
            ("notice", "wechat") => Some(&self.wechat as &dyn Provider),
            ("webhook", _) => Some(&self.webhooks as &dyn Provider),
            (ISSUE_KIND | QUERY_KIND, invoices::PROVIDER) => Some(&self.invoicing as &dyn Provider),
            (BIND_KIND | UNBIND_KIND | RENEW_KIND, privacy_numbers::PROVIDER) => {
                Some(&self.privacy as &dyn Provider)
            }
            (qr_payments::KIND | qr_payments::QUERY_KIND, "wechat_pay") => {
                Some(&self.wechat_pay as &dyn Provider)
            }
            (qr_payments::KIND | qr_payments::QUERY_KIND, "alipay") => {
                Some(&self.alipay as &dyn Provider)
            }
            _ => None,
        }
    }

    /// One round: fan out new events, then deliver what is due (each
    /// message of the round concurrently). Returns how many deliveries were
    /// attempted.
    pub async fn run_once(self: &Arc<Self>) -> Fallible<usize> {
        fanout::fan_out(&self.state).await?;
        let waiting = self
            .state
            .db
            .read(|tx| Box::pin(async move { store_invoices::waiting(tx, 1).await }))
            .await?;
        if !waiting.is_empty() {
            let now = now_ms();
            self.state
                .db
                .tx(move |tx| Box::pin(async move { invoices::release_waiting(tx, now).await }))
                .await?;
        }
        if self.state.providers.privacy_numbers_on() {
            let pool = self.state.providers.privacy_pool_key.clone();
            let expiry_ms = self
                .state
                .providers
                .privacy_binding_hours
                .saturating_mul(3_600_000);
            let now = now_ms();
            self.state
                .db
                .tx(move |tx| {
                    Box::pin(
                        async move { privacy_numbers::reconcile(tx, now, expiry_ms, &pool).await },
                    )
                })
                .await?;
        }
        let lease_ms = i64::try_from(self.state.providers.outbox_lease_secs)
            .unwrap_or(i64::MAX / 2_000)
            .saturating_mul(1000);
        let now = now_ms();
        let claimed = self
            .state
            .db
            .tx(move |tx| Box::pin(async move { outbox::claim_due(tx, now, lease_ms, 32).await }))
            .await?;
        let n = claimed.len();
        let mut deliveries = tokio::task::JoinSet::new();
        for m in claimed {
            let worker = Arc::clone(self);
            deliveries.spawn(async move { worker.deliver(m).await });
        }
        while let Some(done) = deliveries.join_next().await {
            match done {
                Ok(Err(e)) => tracing::error!(error = %e, "recording an outbox delivery"),
                Err(e) => tracing::error!(error = %e, "an outbox delivery panicked"),
                Ok(Ok(())) => {}
            }
        }
        Ok(n)
    }

    /// Whether a QR payment's order query is moot now (paid, failed, long expired).
    async fn query_moot(&self, m: &OutboxMessage) -> Fallible<bool> {
        let m = m.clone();
        let now = now_ms();
        self.state
            .db
            .read(move |tx| Box::pin(async move { qr_payments::query_moot(tx, &m, now).await }))
            .await
    }

    /// Delivers one claimed message and records the outcome.
    async fn deliver(&self, m: OutboxMessage) -> Fallible<()> {
        let outcome = match self.provider_of(&m) {
            // An order paid, failed or long expired needs no more asking.
            Some(_) if m.kind == qr_payments::QUERY_KIND && self.query_moot(&m).await? => {
                Delivery::Delivered { reference: None }
            }
            Some(p) => p.deliver(&m).await,
            None => Delivery::Refused(format!(
                "no provider delivers {} messages on {}",
                m.kind, m.target
            )),
        };
        let now = now_ms();
        let next = match &outcome {
            Delivery::Retry(_) => self.policy.next_attempt(now, m.attempts, rand::random()),
            _ => None,
        };
        // A retry that falls in quiet hours waits for the morning too.
        let next = next.map(|t| {
            if m.kind == "notice" {
                self.state
                    .providers
                    .notice_quiet_hours
                    .0
                    .release_time(crate::time::from_ms(t), &self.state.zone)
                    .timestamp_millis()
            } else {
                t
            }
        });
        match &outcome {
            Delivery::Delivered { .. } => {
                tracing::debug!(id = %m.id, kind = %m.kind, "delivered")
            }
            Delivery::Retry(e) | Delivery::Refused(e) => {
                tracing::warn!(id = %m.id, kind = %m.kind, attempt = m.attempts, error = %e, "outbox delivery failed")
            }
        }
        let invoice = invoice_outcome(&m, &outcome, next.is_some());
        let retrying = next.is_some();
        let query_delay_ms =
            i64::try_from(self.state.providers.invoice_query_delay_ms).unwrap_or(0);
        let payment_query_delay_ms =
            i64::try_from(self.state.providers.payment_query_delay_ms).unwrap_or(0);
        let id = m.id.clone();
        self.state
            .db
            .tx(move |tx| {
                Box::pin(async move {
                    if let Some(invoice) = &invoice {
                        invoices::record_delivery(tx, &m, invoice, now, query_delay_ms).await?;
                    }
                    if [BIND_KIND, UNBIND_KIND, RENEW_KIND].contains(&m.kind.as_str()) {
                        privacy_numbers::record_delivery(tx, &m, &outcome, retrying, now).await?;
                    }
                    qr_payments::record_delivery(
                        tx,
                        &m,
                        &outcome,
                        retrying,
                        now,
                        payment_query_delay_ms,
                    )
                    .await?;
                    match outcome {
                        Delivery::Delivered { reference } => {
                            outbox::mark_delivered(tx, &id, now, reference.as_deref()).await?;
                        }
                        Delivery::Retry(e) | Delivery::Refused(e) => {
                            outbox::mark_failed(tx, &id, now, &e, next).await?;
                        }
                    }
                    Ok(())
                })
            })
            .await
    }
}

/// The WeChat Pay adapter `p` describes (the worker's, and the
/// notification endpoint's checks).
pub fn wechat_pay_of(
    p: &crate::providers::ProviderSettings,
    http: reqwest::Client,
) -> wechat_pay::WechatPay {
    wechat_pay::WechatPay {
        endpoint: p.wechat_pay_endpoint.clone(),
        mchid: p.wechat_pay_mchid.clone(),
        appid: p.wechat_pay_appid.clone(),
        serial_no: p.wechat_pay_serial_no.clone(),
        private_key_file: p.wechat_pay_private_key_file.clone(),
        public_key_file: p.wechat_pay_public_key_file.clone(),
        api_v3_key: p.wechat_pay_api_v3_key.clone(),
        notify_base_url: p.payment_notify_base_url.clone(),
        http,
    }
}

/// The Alipay adapter `p` describes.
pub fn alipay_of(p: &crate::providers::ProviderSettings, http: reqwest::Client) -> alipay::Alipay {
    alipay::Alipay {
        gateway: p.alipay_gateway.clone(),
        app_id: p.alipay_app_id.clone(),
        private_key_file: p.alipay_private_key_file.clone(),
        public_key_file: p.alipay_public_key_file.clone(),
        notify_base_url: p.payment_notify_base_url.clone(),
        http,
    }
}

/// What a delivery of an invoice message (`m`) came to for its request;
/// `None` for other messages. `retrying`: another attempt is planned.
fn invoice_outcome(
    m: &OutboxMessage,
    outcome: &Delivery,
    retrying: bool,
) -> Option<InvoiceOutcome> {
    let issue = match m.kind.as_str() {
        ISSUE_KIND => true,
        QUERY_KIND => false,
        _ => return None,
    };
    Some(match outcome {
        Delivery::Delivered { reference } => {
            let reference = reference.clone().unwrap_or_default();
            if issue {
                InvoiceOutcome::Accepted { serial: reference }
            } else {
                InvoiceOutcome::Issued { number: reference }
            }
        }
        Delivery::Retry(e) if retrying => InvoiceOutcome::Retrying(e.clone()),
        Delivery::Retry(e) | Delivery::Refused(e) => InvoiceOutcome::Failed(e.clone()),
    })
}

/// Starts the outbox worker: a round every `outbox_poll_ms` (at once again
/// when a round was full), forever.
pub fn spawn_worker(state: AppState) -> tokio::task::JoinHandle<()> {
    let poll = Duration::from_millis(state.providers.outbox_poll_ms);
    let worker = Arc::new(Worker::new(state));
    tokio::spawn(async move {
        loop {
            match worker.run_once().await {
                Ok(32..) => continue,
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "outbox round failed"),
            }
            tokio::time::sleep(poll).await;
        }
    })
}

/// The outbox depth: how many messages are in each state (pending and
/// sending are waiting, dead ones need a dispatcher) — the gauge `/metrics`
/// reports.
pub async fn depth(state: &AppState) -> Fallible<Vec<(OutboxState, i64)>> {
    state
        .db
        .tx(|tx| Box::pin(async move { outbox::depth(tx).await }))
        .await
}
