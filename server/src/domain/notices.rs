//! Customer notices: the moments a customer is told of (appointment
//! confirmed, technician on the way with the ETA, done with the report
//! link, callback, the acceptance code when the order is dispatched), their templates in zh-CN and en with variables (time
//! window, technician name and work phone, ETA, report link), the consent
//! and channel recorded at intake (no notice without it), and quiet hours
//! in the business time zone (a notice due at night waits for the morning:
//! [`QuietHours`], a setting of [`crate::providers`]).

pub use crate::providers::QuietHours;

use doorstep_core::messages::Lang;
use serde::{Deserialize, Serialize};

/// The moments a customer is told of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeMoment {
    AppointmentConfirmed,
    OnTheWay,
    Done,
    Callback,
    /// The work order's acceptance code (验收码), when it is dispatched.
    AcceptanceCode,
}

impl NoticeMoment {
    pub const ALL: [NoticeMoment; 5] = [
        NoticeMoment::AppointmentConfirmed,
        NoticeMoment::OnTheWay,
        NoticeMoment::Done,
        NoticeMoment::Callback,
        NoticeMoment::AcceptanceCode,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NoticeMoment::AppointmentConfirmed => "appointment_confirmed",
            NoticeMoment::OnTheWay => "on_the_way",
            NoticeMoment::Done => "done",
            NoticeMoment::Callback => "callback",
            NoticeMoment::AcceptanceCode => "acceptance_code",
        }
    }

    /// The moment a visit milestone tells the customer of, if any
    /// (`done_for_customer`: whether the visit left done).
    pub fn of_milestone(milestone: &str, done_for_customer: bool) -> Option<NoticeMoment> {
        match milestone {
            "appointment_confirmed" => Some(NoticeMoment::AppointmentConfirmed),
            "on_the_way" => Some(NoticeMoment::OnTheWay),
            "left" if done_for_customer => Some(NoticeMoment::Done),
            "callback_scheduled" => Some(NoticeMoment::Callback),
            _ => None,
        }
    }

    /// The template's variables, in the order the SMS provider's
    /// registered template numbers them ({1}, {2}, …).
    pub fn variables(self) -> &'static [&'static str] {
        match self {
            NoticeMoment::AppointmentConfirmed => &["window", "technician", "work_phone"],
            NoticeMoment::OnTheWay => &["technician", "eta", "work_phone"],
            NoticeMoment::Done => &["report_link"],
            NoticeMoment::Callback => &["work_phone"],
            NoticeMoment::AcceptanceCode => &["code"],
        }
    }

    /// The template text in `lang`, `{name}` marking each variable.
    pub fn template(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (NoticeMoment::AppointmentConfirmed, Lang::ZhCn) => {
                "您的上门服务已确认：{window}，工程师{technician}（工作电话 {work_phone}）将准时上门。"
            }
            (NoticeMoment::AppointmentConfirmed, Lang::En) => {
                "Your service visit is confirmed for {window}. Technician {technician} (work phone {work_phone}) will come to you."
            }
            (NoticeMoment::OnTheWay, Lang::ZhCn) => {
                "工程师{technician}已出发，预计 {eta} 到达。如需联系，请拨打工作电话 {work_phone}。"
            }
            (NoticeMoment::OnTheWay, Lang::En) => {
                "Technician {technician} is on the way and expects to arrive at {eta}. Work phone: {work_phone}."
            }
            (NoticeMoment::Done, Lang::ZhCn) => {
                "本次服务已完成，服务报告请查看：{report_link}。感谢您的信任！"
            }
            (NoticeMoment::Done, Lang::En) => {
                "Your service is done. Your service report: {report_link}. Thank you!"
            }
            (NoticeMoment::Callback, Lang::ZhCn) => {
                "我们将在 2 小时内回访，确认设备运行正常。如有问题，请拨打 {work_phone}。"
            }
            (NoticeMoment::AcceptanceCode, Lang::ZhCn) => {
                "您的服务验收码为 {code}。工程师完成服务、您确认满意并签字后，再将验收码告诉工程师，请勿提前透露。"
            }
            (NoticeMoment::AcceptanceCode, Lang::En) => {
                "Your service acceptance code is {code}. Give it to the technician only once the work is done to your satisfaction and you have signed."
            }
            (NoticeMoment::Callback, Lang::En) => {
                "We will call you back within 2 hours to check everything works. Questions: {work_phone}."
            }
        }
    }
}

/// A template filled in: the text and the values in the template's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderedNotice {
    pub text: String,
    /// The variables' values in [`NoticeMoment::variables`] order.
    pub params: Vec<String>,
}

/// Fills `moment`'s template in `lang` with `value(name)` for each variable
/// (an unknown value reads as an empty string).
pub fn render(
    moment: NoticeMoment,
    lang: Lang,
    value: impl Fn(&str) -> Option<String>,
) -> RenderedNotice {
    let mut text = moment.template(lang).to_string();
    let mut params = Vec::new();
    for name in moment.variables() {
        let v = value(name).unwrap_or_default();
        text = text.replace(&format!("{{{name}}}"), &v);
        params.push(v);
    }
    RenderedNotice { text, params }
}

/// The channels a notice goes out on.
pub const CHANNELS: [&str; 2] = ["sms", "wechat"];

/// The customer's answer at intake: whether notices may be sent, on which
/// channel, to which number or WeChat openid (default: the caller's phone)
/// and in which language (default zh-CN).
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoticeConsentRequest {
    pub consented: bool,
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    /// `zh-CN` (default) or `en`.
    #[schema(value_type = Option<String>)]
    pub language: Option<Lang>,
}

/// A consent refused for a bad field: the field's path and the reason in
/// English and Chinese.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentProblem {
    pub field: &'static str,
    pub en: String,
    pub zh: String,
}

/// A consent checked and completed: channel, address, language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedConsent {
    pub consented: bool,
    pub channel: String,
    pub address: String,
    pub language: Lang,
}

/// Checks a consent; `caller_phone` is the address an SMS consent defaults to.
pub fn check_consent(
    req: &NoticeConsentRequest,
    caller_phone: &str,
) -> Result<CheckedConsent, ConsentProblem> {
    let channel = req.channel.clone().unwrap_or_else(|| "sms".to_string());
    if !CHANNELS.contains(&channel.as_str()) {
        return Err(ConsentProblem {
            field: "notice_consent.channel",
            en: format!("unknown channel {channel:?}: expected sms or wechat"),
            zh: format!("未知的通知渠道“{channel}”：应为 sms（短信）或 wechat（微信）。"),
        });
    }
    let address = match (&req.address, channel.as_str()) {
        (Some(a), _) => a.trim().to_string(),
        (None, "sms") => caller_phone.trim().to_string(),
        (None, _) => String::new(),
    };
    let valid = match channel.as_str() {
        "sms" => {
            let digits: String = address
                .chars()
                .filter(|c| !matches!(c, ' ' | '-'))
                .collect();
            let digits = digits.strip_prefix("+86").unwrap_or(&digits);
            digits.len() == 11
                && digits.starts_with('1')
                && digits.chars().all(|c| c.is_ascii_digit())
        }
        _ => {
            (6..=64).contains(&address.len())
                && address
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        }
    };
    if req.consented && !valid {
        return Err(if channel == "sms" {
            ConsentProblem {
                field: "notice_consent.address",
                en: "an SMS consent needs a mainland mobile number of 11 digits starting with 1 (such as 13800138000, +86 allowed)".into(),
                zh: "短信通知需要以 1 开头的 11 位中国大陆手机号（例如 13800138000，可带 +86）。".into(),
            }
        } else {
            ConsentProblem {
                field: "notice_consent.address",
                en:
                    "a WeChat consent needs the customer's openid (6 to 64 letters, digits, _ or -)"
                        .into(),
                zh: "微信通知需要客户的 openid（6 到 64 位字母、数字、下划线或连字符）。".into(),
            }
        });
    }
    Ok(CheckedConsent {
        consented: req.consented,
        address: if channel == "sms" {
            normalise_mobile(&address)
        } else {
            address
        },
        channel,
        language: req.language.unwrap_or_default(),
    })
}

/// A mainland mobile number in E.164 (`+8613800138000`), as SMS providers take it.
pub fn normalise_mobile(number: &str) -> String {
    let digits: String = number.chars().filter(|c| c.is_ascii_digit()).collect();
    let national = digits
        .strip_prefix("86")
        .filter(|d| d.len() == 11)
        .unwrap_or(&digits);
    format!("+86{national}")
}

/// The language tag stored with a consent.
pub fn lang_tag(lang: Lang) -> &'static str {
    match lang {
        Lang::ZhCn => "zh-CN",
        Lang::En => "en",
    }
}

/// The language a stored tag names (zh-CN unless `en`).
pub fn lang_of_tag(tag: &str) -> Lang {
    if tag == "en" {
        Lang::En
    } else {
        Lang::ZhCn
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_is_filled_with_its_variables_in_the_providers_order() {
        let n = render(NoticeMoment::OnTheWay, Lang::ZhCn, |v| {
            Some(match v {
                "technician" => "王伟".into(),
                "eta" => "12月1日 10:25".into(),
                "work_phone" => "400 820 1234".into(),
                _ => return None,
            })
        });
        assert_eq!(
            n.text,
            "工程师王伟已出发，预计 12月1日 10:25 到达。如需联系，请拨打工作电话 400 820 1234。"
        );
        assert_eq!(n.params, ["王伟", "12月1日 10:25", "400 820 1234"]);
    }

    #[test]
    fn an_sms_consent_needs_a_mainland_mobile_number() {
        let req = NoticeConsentRequest {
            consented: true,
            channel: None,
            address: None,
            language: None,
        };
        let ok = check_consent(&req, "138 0013 8000").unwrap();
        assert_eq!(
            (ok.channel.as_str(), ok.address.as_str()),
            ("sms", "+8613800138000")
        );
        let bad = check_consent(&req, "021 5555 1234").unwrap_err();
        assert_eq!(bad.field, "notice_consent.address");
        assert!(bad.zh.contains("手机号"));
    }
}
