//! The providers' simulator on its own, for running the server without real
//! providers (README, "Providers"):
//!
//! ```text
//! cargo run -p doorstep-server --example provider-simulator -- 127.0.0.1:9100
//! ```
//!
//! It takes Tencent Cloud SMS `SendSms` requests at `/` (signed with the
//! SecretId/SecretKey in DOORSTEP_SMS_SECRET_ID / DOORSTEP_SMS_SECRET_KEY,
//! default `sim-id` / `sim-key`), Nuonuo e-invoice calls at
//! `/open/v1/services` (signed with DOORSTEP_INVOICE_APP_KEY /
//! DOORSTEP_INVOICE_APP_SECRET and carrying DOORSTEP_INVOICE_ACCESS_TOKEN,
//! default `sim-app-key` / `sim-app-secret` / `sim-access-token`; point
//! DOORSTEP_INVOICE_ENDPOINT at `http://HOST:PORT/open/v1/services`),
//! Alibaba Cloud privacy-number calls at `/dyplsapi` (BindAxb /
//! UnbindSubscription signed with DOORSTEP_PRIVACY_ACCESS_KEY_ID /
//! DOORSTEP_PRIVACY_ACCESS_KEY_SECRET, default `sim-access-key-id` /
//! `sim-access-key-secret`; point DOORSTEP_PRIVACY_ENDPOINT at
//! `http://HOST:PORT/dyplsapi`; a pool of 170 virtual numbers),
//! webhooks at `/webhooks/{name}` (their
//! secret set with `POST /_sim/webhook-secrets/{name}` `{"secret": …}`),
//! shows what it received at `GET /_sim/received` and fails, stalls or
//! slows down on `POST /_sim/behaviour` (`{"outage": true}`,
//! `{"fail_next": 3}`, `{"delay_ms": 2000}`, `{"stall_next": 1}`; invoices:
//! `{"invoice_issuing_polls": 2}`, `{"invoice_fail_cause": "税号有误"}`).
//! The payment providers (WeChat Pay native orders at
//! `/v3/pay/transactions/native`, Alipay precreate at `/gateway.do`) use
//! the committed test-only keys of `server/test-keys` (README, "Providers");
//! `POST /_sim/wechat-pay/pay` or `/_sim/alipay/pay` `{"out_trade_no": …}`
//! sends the customer's payment notification.

use doorstep_server::outbox::simulator::payments::{AlipayAccount, WechatPayAccount};
use doorstep_server::outbox::simulator::{
    InvoiceAccount, PrivacyAccount, SimulatedAccount, Simulator,
};

#[tokio::main]
async fn main() {
    let listen = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9100".into());
    let Ok(addr) = listen.parse() else {
        eprintln!("provider-simulator: expected HOST:PORT such as 127.0.0.1:9100 / 应为 主机:端口，例如 127.0.0.1:9100");
        std::process::exit(2);
    };
    let account = SimulatedAccount {
        secret_id: std::env::var("DOORSTEP_SMS_SECRET_ID").unwrap_or_else(|_| "sim-id".into()),
        secret_key: std::env::var("DOORSTEP_SMS_SECRET_KEY").unwrap_or_else(|_| "sim-key".into()),
    };
    let sim = match Simulator::spawn(addr, account).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("provider-simulator: cannot listen on {listen}: {e}");
            std::process::exit(1);
        }
    };
    let default = InvoiceAccount::default();
    let env = |name: &str, default: String| std::env::var(name).unwrap_or(default);
    sim.set_invoice_account(InvoiceAccount {
        app_key: env("DOORSTEP_INVOICE_APP_KEY", default.app_key),
        app_secret: env("DOORSTEP_INVOICE_APP_SECRET", default.app_secret),
        access_token: env("DOORSTEP_INVOICE_ACCESS_TOKEN", default.access_token),
    });
    let default = PrivacyAccount::default();
    sim.set_privacy_account(PrivacyAccount {
        access_key_id: env("DOORSTEP_PRIVACY_ACCESS_KEY_ID", default.access_key_id),
        access_key_secret: env(
            "DOORSTEP_PRIVACY_ACCESS_KEY_SECRET",
            default.access_key_secret,
        ),
    });
    let keys = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/test-keys"));
    match (
        WechatPayAccount::from_key_dir(keys),
        AlipayAccount::from_key_dir(keys),
    ) {
        (Ok(w), Ok(a)) => sim.set_payment_accounts(Some(w), Some(a)),
        (Err(e), _) | (_, Err(e)) => eprintln!(
            "provider-simulator: no payment providers: the test keys in {} cannot be read: {e}",
            keys.display()
        ),
    }
    println!("Provider simulator listening on {}/", sim.url());
    let _ = tokio::signal::ctrl_c().await;
}
