//! The outbound providers' settings: where the SMS provider is (Tencent
//! Cloud SMS `SendSms`), its credentials and registered templates, the
//! invoicing provider (Nuonuo's e-invoice API: endpoint, app key and secret,
//! access token, the seller's tax number, clerk, item and VAT rate), the
//! privacy-number provider (Alibaba Cloud 号码隐私保护: endpoint, AccessKey,
//! number pool, region, how long a binding is asked for), the QR payment
//! providers (WeChat Pay API v3 and Alipay: merchant ids, key files, the
//! APIv3 key, where their notifications reach us, how long an order lasts), the
//! webhook signing key, quiet hours and the outbox worker's timing. Every
//! setting is a flag and a `DOORSTEP_…` environment variable; credentials
//! come from the environment and are never written to the database.

use chrono::{DateTime, NaiveTime, Utc};
use doorstep_core::business_time::BusinessZone;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The moments a customer notice is sent at (`domain::notices::NoticeMoment`'s texts).
pub const NOTICE_MOMENTS: [&str; 5] = [
    "appointment_confirmed",
    "on_the_way",
    "done",
    "callback",
    "acceptance_code",
];

/// The outbound providers' settings (one company per server).
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct ProviderSettings {
    /// Tencent Cloud SMS endpoint (SendSms, API 2021-01-11); a simulator's address in tests
    #[arg(
        long,
        env = "DOORSTEP_SMS_ENDPOINT",
        default_value = "https://sms.tencentcloudapi.com"
    )]
    pub sms_endpoint: String,
    /// Tencent Cloud SecretId of the SMS account (unset: SMS notices wait as dead letters)
    #[arg(long, env = "DOORSTEP_SMS_SECRET_ID", hide_env_values = true)]
    pub sms_secret_id: Option<String>,
    /// Tencent Cloud SecretKey of the SMS account
    #[arg(long, env = "DOORSTEP_SMS_SECRET_KEY", hide_env_values = true)]
    pub sms_secret_key: Option<String>,
    /// The SMS application (SmsSdkAppId)
    #[arg(long, env = "DOORSTEP_SMS_APP_ID", default_value = "")]
    pub sms_app_id: String,
    /// The approved SMS signature (SignName), such as 安心家电
    #[arg(long, env = "DOORSTEP_SMS_SIGN_NAME", default_value = "")]
    pub sms_sign_name: String,
    /// The region the SMS API is called in (X-TC-Region)
    #[arg(long, env = "DOORSTEP_SMS_REGION", default_value = "ap-guangzhou")]
    pub sms_region: String,
    /// Registered template ids per moment: appointment_confirmed=1001,on_the_way=1002,done=1003,callback=1004,acceptance_code=1005 (zh-CN); moment.en=… for English
    #[arg(long, env = "DOORSTEP_SMS_TEMPLATES", default_value = "", value_parser = parse_templates)]
    pub sms_templates: SmsTemplates,
    /// The WeChat Official Account API (公众号, template messages) that notices with the customer's WeChat consent go through; a simulator's address in tests
    #[arg(
        long,
        env = "DOORSTEP_WECHAT_ENDPOINT",
        default_value = "https://api.weixin.qq.com"
    )]
    pub wechat_endpoint: String,
    /// The Official Account's AppID (unset: WeChat notices fail saying so)
    #[arg(long, env = "DOORSTEP_WECHAT_APPID")]
    pub wechat_appid: Option<String>,
    /// The Official Account's AppSecret (its access_token is fetched with it and kept until shortly before it expires)
    #[arg(long, env = "DOORSTEP_WECHAT_APPSECRET", hide_env_values = true)]
    pub wechat_appsecret: Option<String>,
    /// Template messages per moment: moment=template_id, or moment=template_id:key1|key2|… naming the template's keywords in the order of the notice's variables (default: the variables' own names); moment.en=… for English
    #[arg(long, env = "DOORSTEP_WECHAT_TEMPLATES", default_value = "", value_parser = parse_wechat_templates)]
    pub wechat_templates: WechatTemplates,
    /// The invoicing provider's endpoint (Nuonuo open platform, nuonuo.OpeMplatform.requestBillingNew); a simulator's address in tests
    #[arg(
        long,
        env = "DOORSTEP_INVOICE_ENDPOINT",
        default_value = "https://sdk.nuonuo.com/open/v1/services"
    )]
    pub invoice_endpoint: String,
    /// The invoicing application's appKey (unset: e-fapiao requests wait as dead letters)
    #[arg(long, env = "DOORSTEP_INVOICE_APP_KEY", hide_env_values = true)]
    pub invoice_app_key: Option<String>,
    /// The invoicing application's appSecret, the key of X-Nuonuo-Sign
    #[arg(long, env = "DOORSTEP_INVOICE_APP_SECRET", hide_env_values = true)]
    pub invoice_app_secret: Option<String>,
    /// The accessToken the provider granted the application (sent in the accessToken header); unset: fetched from the token endpoint with the app key and secret (client_credentials) and kept until shortly before it expires
    #[arg(long, env = "DOORSTEP_INVOICE_ACCESS_TOKEN", hide_env_values = true)]
    pub invoice_access_token: Option<String>,
    /// Where the application's accessToken is fetched when none is set (Nuonuo's OAuth token endpoint, grant_type=client_credentials); a simulator's address in tests
    #[arg(
        long,
        env = "DOORSTEP_INVOICE_TOKEN_ENDPOINT",
        default_value = "https://open.nuonuo.com/accessToken"
    )]
    pub invoice_token_endpoint: String,
    /// The seller's tax number (salerTaxNum, userTax): the company's unified social credit code
    #[arg(long, env = "DOORSTEP_INVOICE_SELLER_TAX_NUMBER", default_value = "")]
    pub invoice_seller_tax_number: String,
    /// The invoicing clerk (开票员, clerk) named on every invoice
    #[arg(long, env = "DOORSTEP_INVOICE_CLERK", default_value = "Doorstep")]
    pub invoice_clerk: String,
    /// The goods or service name (goodsName) of the invoice's one line
    #[arg(long, env = "DOORSTEP_INVOICE_ITEM_NAME", default_value = "维修服务")]
    pub invoice_item_name: String,
    /// The VAT rate of that line (taxRate), a decimal such as 0.13 (repair services) or 0.06
    #[arg(long, env = "DOORSTEP_INVOICE_TAX_RATE", default_value = "0.13", value_parser = parse_tax_rate)]
    pub invoice_tax_rate: String,
    /// Milliseconds between the provider taking an invoice request and the first query of its result
    #[arg(long, env = "DOORSTEP_INVOICE_QUERY_DELAY_MS", default_value_t = 5000)]
    pub invoice_query_delay_ms: u64,
    /// The privacy-number provider's endpoint (Alibaba Cloud 号码隐私保护, Dyplsapi BindAxb / UnbindSubscription); a simulator's address in tests
    #[arg(
        long,
        env = "DOORSTEP_PRIVACY_ENDPOINT",
        default_value = "https://dyplsapi.aliyuncs.com/"
    )]
    pub privacy_endpoint: String,
    /// The AccessKey id of the privacy-number account (unset: no virtual numbers; technicians see masked numbers)
    #[arg(long, env = "DOORSTEP_PRIVACY_ACCESS_KEY_ID", hide_env_values = true)]
    pub privacy_access_key_id: Option<String>,
    /// The AccessKey secret that signs the privacy-number requests
    #[arg(
        long,
        env = "DOORSTEP_PRIVACY_ACCESS_KEY_SECRET",
        hide_env_values = true
    )]
    pub privacy_access_key_secret: Option<String>,
    /// The number pool (PoolKey) the virtual numbers come from
    #[arg(long, env = "DOORSTEP_PRIVACY_POOL_KEY", default_value = "")]
    pub privacy_pool_key: String,
    /// The region the privacy-number API is called in (RegionId)
    #[arg(long, env = "DOORSTEP_PRIVACY_REGION", default_value = "cn-hangzhou")]
    pub privacy_region: String,
    /// Hours a binding is asked for (Expiration); it is released sooner when the order is reassigned, cancelled or done
    #[arg(long, env = "DOORSTEP_PRIVACY_BINDING_HOURS", default_value_t = 720, value_parser = at_least_one::<i64>)]
    pub privacy_binding_hours: i64,
    /// Whether a technician's device reads a customer's number masked (138****8000) while the order has no bound virtual number; false sends the full number until a virtual one is bound (the phone's workflow asks for a dialable number to confirm an appointment)
    #[arg(long, env = "DOORSTEP_PRIVACY_MASK_UNBOUND", default_value_t = true, action = clap::ArgAction::Set)]
    pub privacy_mask_unbound: bool,
    /// WeChat Pay API v3's base address (native orders: POST /v3/pay/transactions/native); a simulator's address in tests
    #[arg(
        long,
        env = "DOORSTEP_WECHAT_PAY_ENDPOINT",
        default_value = "https://api.mch.weixin.qq.com"
    )]
    pub wechat_pay_endpoint: String,
    /// The WeChat Pay merchant id (mchid) (unset: WeChat Pay QR orders fail saying so)
    #[arg(long, env = "DOORSTEP_WECHAT_PAY_MCHID")]
    pub wechat_pay_mchid: Option<String>,
    /// The app id (appid) bound to the merchant
    #[arg(long, env = "DOORSTEP_WECHAT_PAY_APPID")]
    pub wechat_pay_appid: Option<String>,
    /// The serial number of the merchant's API certificate (serial_no in the Authorization header)
    #[arg(long, env = "DOORSTEP_WECHAT_PAY_SERIAL_NO")]
    pub wechat_pay_serial_no: Option<String>,
    /// File of the merchant's API private key (PEM, PKCS#8 or PKCS#1) that signs the requests
    #[arg(long, env = "DOORSTEP_WECHAT_PAY_PRIVATE_KEY_FILE")]
    pub wechat_pay_private_key_file: Option<PathBuf>,
    /// File of WeChat Pay's public key (PEM) that answers and notifications are checked with
    #[arg(long, env = "DOORSTEP_WECHAT_PAY_PUBLIC_KEY_FILE")]
    pub wechat_pay_public_key_file: Option<PathBuf>,
    /// The APIv3 key (32 characters) that opens the encrypted payment notifications (AES-256-GCM)
    #[arg(long, env = "DOORSTEP_WECHAT_PAY_API_V3_KEY", hide_env_values = true)]
    pub wechat_pay_api_v3_key: Option<String>,
    /// Alipay's gateway (alipay.trade.precreate); a simulator's address in tests
    #[arg(
        long,
        env = "DOORSTEP_ALIPAY_GATEWAY",
        default_value = "https://openapi.alipay.com/gateway.do"
    )]
    pub alipay_gateway: String,
    /// The Alipay application's id (app_id) (unset: Alipay QR orders fail saying so)
    #[arg(long, env = "DOORSTEP_ALIPAY_APP_ID")]
    pub alipay_app_id: Option<String>,
    /// File of the application's private key (PEM, PKCS#8 or PKCS#1) that signs the requests (RSA2)
    #[arg(long, env = "DOORSTEP_ALIPAY_PRIVATE_KEY_FILE")]
    pub alipay_private_key_file: Option<PathBuf>,
    /// File of Alipay's public key (PEM) that answers and notifications are checked with
    #[arg(long, env = "DOORSTEP_ALIPAY_PUBLIC_KEY_FILE")]
    pub alipay_public_key_file: Option<PathBuf>,
    /// The address the payment providers reach this server at, for their notifications (notify_url: this plus /api/payments/wechat-pay/notify or /api/payments/alipay/notify); HTTPS in production
    #[arg(long, env = "DOORSTEP_PAYMENT_NOTIFY_BASE_URL")]
    pub payment_notify_base_url: Option<String>,
    /// Milliseconds after a QR payment order is created before the server first asks its provider whether it was paid (查单), in case the provider's notification is lost; then again with the outbox's backoff until it is paid or expired
    #[arg(
        long,
        env = "DOORSTEP_PAYMENT_QUERY_DELAY_MS",
        default_value_t = 60_000
    )]
    pub payment_query_delay_ms: u64,
    /// Minutes a QR payment order can be paid (time_expire); it is closed after
    #[arg(long, env = "DOORSTEP_QR_PAYMENT_EXPIRY_MINUTES", default_value_t = 15, value_parser = at_least_one::<i64>)]
    pub qr_payment_expiry_minutes: i64,
    /// What the customer's payment app shows for the order (description, subject), followed by the work order's id
    #[arg(long, env = "DOORSTEP_QR_PAYMENT_SUBJECT", default_value = "上门服务")]
    pub qr_payment_subject: String,
    /// Key the webhook endpoints' signing secrets are derived from (unset: no webhooks can be made)
    #[arg(long, env = "DOORSTEP_WEBHOOK_SIGNING_KEY", hide_env_values = true)]
    pub webhook_signing_key: Option<String>,
    /// No customer notice goes out between these local times (business time zone), HH:MM-HH:MM
    #[arg(long, env = "DOORSTEP_NOTICE_QUIET_HOURS", default_value = "21:00-08:00", value_parser = parse_quiet_hours)]
    pub notice_quiet_hours: QuietHoursSetting,
    /// How often the outbox worker looks for work, in milliseconds
    #[arg(long, env = "DOORSTEP_OUTBOX_POLL_MS", default_value_t = 1000, value_parser = at_least_one::<u64>)]
    pub outbox_poll_ms: u64,
    /// Seconds a delivery is claimed for; a claim older than this (its worker died) is delivered again
    #[arg(long, env = "DOORSTEP_OUTBOX_LEASE_SECS", default_value_t = 60, value_parser = at_least_one::<u64>)]
    pub outbox_lease_secs: u64,
    /// Attempts before an outbound message is a dead letter
    #[arg(long, env = "DOORSTEP_OUTBOX_MAX_ATTEMPTS", default_value_t = 12, value_parser = at_least_one::<i64>)]
    pub outbox_max_attempts: i64,
    /// The wait after a first failed delivery, in milliseconds (doubling, with jitter, up to an hour)
    #[arg(long, env = "DOORSTEP_OUTBOX_RETRY_BASE_MS", default_value_t = 5000, value_parser = at_least_one::<i64>)]
    pub outbox_retry_base_ms: i64,
    /// Seconds a provider has to answer one delivery
    #[arg(long, env = "DOORSTEP_PROVIDER_TIMEOUT_SECS", default_value_t = 10, value_parser = at_least_one::<u64>)]
    pub provider_timeout_secs: u64,
}

impl Default for ProviderSettings {
    fn default() -> Self {
        ProviderSettings {
            sms_endpoint: "https://sms.tencentcloudapi.com".into(),
            sms_secret_id: None,
            sms_secret_key: None,
            sms_app_id: String::new(),
            sms_sign_name: String::new(),
            sms_region: "ap-guangzhou".into(),
            sms_templates: SmsTemplates::default(),
            wechat_endpoint: "https://api.weixin.qq.com".into(),
            wechat_appid: None,
            wechat_appsecret: None,
            wechat_templates: WechatTemplates::default(),
            invoice_endpoint: "https://sdk.nuonuo.com/open/v1/services".into(),
            invoice_app_key: None,
            invoice_app_secret: None,
            invoice_access_token: None,
            invoice_token_endpoint: "https://open.nuonuo.com/accessToken".into(),
            invoice_seller_tax_number: String::new(),
            invoice_clerk: "Doorstep".into(),
            invoice_item_name: "维修服务".into(),
            invoice_tax_rate: "0.13".into(),
            invoice_query_delay_ms: 5000,
            privacy_endpoint: "https://dyplsapi.aliyuncs.com/".into(),
            privacy_access_key_id: None,
            privacy_access_key_secret: None,
            privacy_pool_key: String::new(),
            privacy_region: "cn-hangzhou".into(),
            privacy_binding_hours: 720,
            privacy_mask_unbound: true,
            wechat_pay_endpoint: "https://api.mch.weixin.qq.com".into(),
            wechat_pay_mchid: None,
            wechat_pay_appid: None,
            wechat_pay_serial_no: None,
            wechat_pay_private_key_file: None,
            wechat_pay_public_key_file: None,
            wechat_pay_api_v3_key: None,
            alipay_gateway: "https://openapi.alipay.com/gateway.do".into(),
            alipay_app_id: None,
            alipay_private_key_file: None,
            alipay_public_key_file: None,
            payment_notify_base_url: None,
            payment_query_delay_ms: 60_000,
            qr_payment_expiry_minutes: 15,
            qr_payment_subject: "上门服务".into(),
            webhook_signing_key: None,
            notice_quiet_hours: QuietHoursSetting(
                QuietHours::parse("21:00-08:00").expect("the default quiet hours parse"),
            ),
            outbox_poll_ms: 1000,
            outbox_lease_secs: 60,
            outbox_max_attempts: 12,
            outbox_retry_base_ms: 5000,
            provider_timeout_secs: 10,
        }
    }
}

impl ProviderSettings {
    /// Whether a privacy-number provider is configured (credentials and a
    /// number pool): orders are bound to virtual numbers only then.
    pub fn privacy_numbers_on(&self) -> bool {
        self.privacy_access_key_id
            .as_deref()
            .is_some_and(|k| !k.is_empty())
            && self
                .privacy_access_key_secret
                .as_deref()
                .is_some_and(|k| !k.is_empty())
            && !self.privacy_pool_key.trim().is_empty()
    }
}

/// Quiet hours as a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHoursSetting(pub QuietHours);

fn parse_quiet_hours(text: &str) -> Result<QuietHoursSetting, String> {
    QuietHours::parse(text).map(QuietHoursSetting)
}

/// The provider's registered template id of each moment and language.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SmsTemplates(pub BTreeMap<(String, String), String>);

impl SmsTemplates {
    /// The template id of `moment` in the language tagged `lang` (`zh-CN`,
    /// `en`), if one is registered.
    pub fn id(&self, moment: &str, lang: &str) -> Option<&str> {
        self.0
            .get(&(moment.to_string(), lang.to_string()))
            .map(String::as_str)
    }
}

/// `moment=id,moment.en=id,…`, refused naming what is accepted (en, zh-CN).
pub fn parse_templates(text: &str) -> Result<SmsTemplates, String> {
    let mut map = BTreeMap::new();
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let refuse = || {
            format!(
                "{item:?}: expected moment=template_id with a moment among {} (add .en for English), such as on_the_way=1002 / “{item}”：应为 时刻=模板ID，时刻为 {} 之一（英文模板加 .en），例如 on_the_way=1002",
                moments(),
                moments()
            )
        };
        let (key, id) = item.split_once('=').ok_or_else(refuse)?;
        let (moment, lang) = match key.trim().split_once('.') {
            Some((m, "en")) => (m, "en"),
            Some(_) => return Err(refuse()),
            None => (key.trim(), "zh-CN"),
        };
        if !NOTICE_MOMENTS.contains(&moment)
            || id.trim().is_empty()
            || !id.trim().chars().all(|c| c.is_ascii_alphanumeric())
        {
            return Err(refuse());
        }
        map.insert(
            (moment.to_string(), lang.to_string()),
            id.trim().to_string(),
        );
    }
    Ok(SmsTemplates(map))
}

/// A WeChat template message of a moment: its id and its keywords, one
/// per variable of the notice, in the variables' order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WechatTemplate {
    pub id: String,
    /// Empty: the variables' own names.
    pub keys: Vec<String>,
}

/// The Official Account's template message of each moment and language.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WechatTemplates(pub BTreeMap<(String, String), WechatTemplate>);

impl WechatTemplates {
    /// The template of `moment` in the language tagged `lang`, if registered.
    pub fn get(&self, moment: &str, lang: &str) -> Option<&WechatTemplate> {
        self.0.get(&(moment.to_string(), lang.to_string()))
    }
}

/// `moment=template_id[:key1|key2|…],moment.en=…`, refused naming what is
/// accepted (en, zh-CN). A template id is letters, digits, `-` and `_`; a
/// keyword letters, digits and `_`.
pub fn parse_wechat_templates(text: &str) -> Result<WechatTemplates, String> {
    let mut map = BTreeMap::new();
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let refuse = || {
            format!(
                "{item:?}: expected moment=template_id or moment=template_id:keyword1|keyword2 with a moment among {} (add .en for English), such as on_the_way=Bt6Lx_3Kq:thing1|time2|phone_number3 / “{item}”：应为 时刻=模板ID 或 时刻=模板ID:关键词1|关键词2，时刻为 {} 之一（英文模板加 .en）",
                moments(),
                moments()
            )
        };
        let (key, value) = item.split_once('=').ok_or_else(refuse)?;
        let (moment, lang) = match key.trim().split_once('.') {
            Some((m, "en")) => (m, "en"),
            Some(_) => return Err(refuse()),
            None => (key.trim(), "zh-CN"),
        };
        let (id, keys) = match value.trim().split_once(':') {
            Some((id, keys)) => (
                id,
                keys.split('|').map(str::trim).map(String::from).collect(),
            ),
            None => (value.trim(), Vec::new()),
        };
        let word = |w: &str, extra: &[char]| {
            !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || extra.contains(&c))
        };
        if !NOTICE_MOMENTS.contains(&moment)
            || !word(id, &['-', '_'])
            || !keys.iter().all(|k: &String| word(k, &['_']))
        {
            return Err(refuse());
        }
        map.insert(
            (moment.to_string(), lang.to_string()),
            WechatTemplate {
                id: id.to_string(),
                keys,
            },
        );
    }
    Ok(WechatTemplates(map))
}

fn moments() -> String {
    NOTICE_MOMENTS.join(", ")
}

/// Quiet hours: the local times (business time zone) between which no
/// notice goes out; `start` after `end` spans midnight (21:00–08:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl QuietHours {
    /// Parses `HH:MM-HH:MM` (refused with what is accepted, en and zh-CN).
    pub fn parse(text: &str) -> Result<QuietHours, String> {
        let refuse = || {
            "expected quiet hours as HH:MM-HH:MM in the business time zone, such as 21:00-08:00 / 应为 HH:MM-HH:MM 格式的免打扰时段（业务时区），例如 21:00-08:00".to_string()
        };
        let (a, b) = text.trim().split_once('-').ok_or_else(refuse)?;
        let time = |s: &str| NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| refuse());
        let (start, end) = (time(a)?, time(b)?);
        if start == end {
            return Err(refuse());
        }
        Ok(QuietHours { start, end })
    }

    /// Whether local time `t` is inside the quiet hours.
    fn contains(&self, t: NaiveTime) -> bool {
        if self.start < self.end {
            t >= self.start && t < self.end
        } else {
            t >= self.start || t < self.end
        }
    }

    /// When a notice due at `at` may go out: `at` itself outside the quiet
    /// hours, else the end of the quiet hours (the morning) in `zone`.
    pub fn release_time(&self, at: DateTime<Utc>, zone: &BusinessZone) -> DateTime<Utc> {
        let local = zone.local(at);
        if !self.contains(local.time()) {
            return at;
        }
        let mut date = local.date_naive();
        if local.time() >= self.end {
            date = date.succ_opt().unwrap_or(date);
        }
        zone.instant_of(date.and_time(self.end)).max(at)
    }
}

/// A VAT rate as the provider takes it: a decimal from 0 to 1 with at most
/// three decimals (0.13, 0.06, 0), refused with what would be accepted (en, zh-CN).
pub fn parse_tax_rate(text: &str) -> Result<String, String> {
    let t = text.trim();
    let ok = match t.split_once('.') {
        Some((whole, frac)) => {
            (whole == "0" || (whole == "1" && frac.chars().all(|c| c == '0')))
                && (1..=3).contains(&frac.len())
                && frac.chars().all(|c| c.is_ascii_digit())
        }
        None => t == "0" || t == "1",
    };
    if ok {
        Ok(t.to_string())
    } else {
        Err("expected a VAT rate as a decimal from 0 to 1, such as 0.13 or 0.06 / 应为 0 到 1 之间的小数税率，例如 0.13 或 0.06".to_string())
    }
}

/// A whole number of at least 1, refused with what would be accepted (en, zh-CN).
fn at_least_one<T>(text: &str) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + From<u8>,
{
    text.trim()
        .parse::<T>()
        .ok()
        .filter(|n| *n >= T::from(1))
        .ok_or_else(|| "expected a whole number of at least 1 / 应为不小于 1 的整数".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn quiet_hours_hold_a_night_notice_until_the_morning_in_the_business_zone() {
        let quiet = QuietHours::parse("21:00-08:00").unwrap();
        let zone = BusinessZone::shanghai();
        // 23:30 in Shanghai is 15:30 UTC; released at 08:00 Shanghai = 00:00 UTC.
        let night = Utc.with_ymd_and_hms(2026, 12, 1, 15, 30, 0).unwrap();
        assert_eq!(
            quiet.release_time(night, &zone),
            Utc.with_ymd_and_hms(2026, 12, 2, 0, 0, 0).unwrap()
        );
        // 06:00 Shanghai (22:00 UTC the day before): the same morning.
        let early = Utc.with_ymd_and_hms(2026, 12, 1, 22, 0, 0).unwrap();
        assert_eq!(
            quiet.release_time(early, &zone),
            Utc.with_ymd_and_hms(2026, 12, 2, 0, 0, 0).unwrap()
        );
        let day = Utc.with_ymd_and_hms(2026, 12, 1, 3, 0, 0).unwrap();
        assert_eq!(quiet.release_time(day, &zone), day);
    }

    #[test]
    fn quiet_hours_are_refused_in_both_languages_when_malformed() {
        for bad in ["21:00", "25:00-08:00", "08:00-08:00", "night"] {
            let e = QuietHours::parse(bad).unwrap_err();
            assert!(e.contains("HH:MM-HH:MM") && e.contains("免打扰"), "{e}");
        }
    }

    #[test]
    fn a_vat_rate_is_a_decimal_from_zero_to_one() {
        for ok in ["0.13", "0.06", "0", "0.015", "1.0"] {
            assert_eq!(parse_tax_rate(ok).as_deref(), Ok(ok), "{ok}");
        }
        for bad in ["13%", "0.1300", "1.3", "-0.1", ".13", "0.", "abc"] {
            let e = parse_tax_rate(bad).unwrap_err();
            assert!(e.contains("0.13") && e.contains("税率"), "{bad}: {e}");
        }
    }

    #[test]
    fn wechat_templates_name_their_keywords_in_the_variables_order() {
        let t = parse_wechat_templates(
            "on_the_way=Bt6Lx_3Kq-9:thing1|time2|phone_number3, done.en=Dn2",
        )
        .unwrap();
        let w = t.get("on_the_way", "zh-CN").unwrap();
        assert_eq!(w.id, "Bt6Lx_3Kq-9");
        assert_eq!(w.keys, ["thing1", "time2", "phone_number3"]);
        assert!(t.get("done", "en").unwrap().keys.is_empty());
        assert!(t.get("done", "zh-CN").is_none());
        for bad in [
            "later=1",
            "done=",
            "done=a b",
            "done=T:k-1",
            "done.fr=T",
            "done",
        ] {
            let e = parse_wechat_templates(bad).unwrap_err();
            assert!(e.contains("模板ID"), "{bad}: {e}");
        }
    }

    #[test]
    fn sms_templates_are_read_per_moment_and_language() {
        let t = parse_templates("on_the_way=1002, on_the_way.en=2002,done=1003").unwrap();
        assert_eq!(t.id("on_the_way", "zh-CN"), Some("1002"));
        assert_eq!(t.id("on_the_way", "en"), Some("2002"));
        assert_eq!(t.id("callback", "zh-CN"), None);
    }

    #[test]
    fn a_bad_template_setting_names_the_item_and_the_moments_in_both_languages() {
        for bad in ["arrived=1", "done", "done.fr=1", "done=1 2"] {
            let e = parse_templates(bad).unwrap_err();
            assert!(
                e.contains("appointment_confirmed") && e.contains("模板"),
                "{e}"
            );
        }
    }
}
