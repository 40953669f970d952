//! The e-fapiao buyer (电子发票购买方) as the customer gives it, at the door
//! or later at the desk — buyer type (personal 个人 / company 单位), title
//! (发票抬头), tax number (纳税人识别号), and where the invoice goes (e-mail
//! and/or mobile) — and its check, field by field, with a refusal naming the
//! field and what would be accepted (zh-CN and en). One check for the phone's
//! `request_invoice` command and the server's desk route, which takes
//! [`InvoiceBuyer`] as it is (its OpenAPI schema under the `openapi` feature).
//!
//! **Tax number.** A company's must be the 18-character unified social
//! credit code (统一社会信用代码, GB 32100-2015) with its check character
//! ([`check_credit_code`]). The legacy 15- and 20-character tax
//! registration numbers are refused: the three-certificates-in-one reform
//! (三证合一) replaced them with the unified code, its transition ended on
//! 2017-12-31, and the e-invoice platforms take the unified code for
//! companies. A personal buyer needs none; one given (an individual business
//! 个体工商户 has a unified code too) is checked the same way.

use crate::messages::Text;
use serde::{Deserialize, Serialize};

/// The longest title the invoicing platforms print on one line.
pub const TITLE_CHARS: usize = 100;
/// The longest e-mail address (RFC 5321's path limit).
pub const EMAIL_CHARS: usize = 254;

/// Who the invoice is made out to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BuyerType {
    Personal,
    Company,
}

impl BuyerType {
    pub fn as_str(self) -> &'static str {
        match self {
            BuyerType::Personal => "personal",
            BuyerType::Company => "company",
        }
    }

    pub fn parse(text: &str) -> Option<BuyerType> {
        [BuyerType::Personal, BuyerType::Company]
            .into_iter()
            .find(|b| b.as_str() == text)
    }
}

/// An e-fapiao request's buyer as the customer gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct InvoiceBuyer {
    /// `personal` or `company`.
    pub buyer_type: String,
    /// 发票抬头: the company's registered name, or the person's name.
    pub title: String,
    /// 纳税人识别号: the 18-character unified social credit code; required
    /// for a company.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_number: Option<String>,
    /// Where the invoice is e-mailed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The mainland mobile number the invoice is texted to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// A buyer refused for one field: its name and the reason (the Chinese
/// naming the field in Chinese).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuyerProblem {
    pub field: &'static str,
    pub text: Text,
}

impl BuyerProblem {
    fn new(field: &'static str, en: impl Into<String>, zh: impl Into<String>) -> Self {
        BuyerProblem {
            field,
            text: Text::new(en, zh),
        }
    }
}

/// A buyer checked: its values trimmed and normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedBuyer {
    pub buyer_type: BuyerType,
    pub title: String,
    pub tax_number: Option<String>,
    pub email: Option<String>,
    /// Eleven digits, without +86.
    pub phone: Option<String>,
}

impl CheckedBuyer {
    /// The normalised values in the request's shape.
    pub fn buyer(&self) -> InvoiceBuyer {
        InvoiceBuyer {
            buyer_type: self.buyer_type.as_str().to_string(),
            title: self.title.clone(),
            tax_number: self.tax_number.clone(),
            email: self.email.clone(),
            phone: self.phone.clone(),
        }
    }
}

/// The characters of a unified social credit code, in the order of their
/// values (0–30): digits and the capital letters without I, O, Z, S and V
/// (GB 32100-2015, 代码字符集).
pub const CREDIT_CODE_CHARS: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/// GB 32100-2015's check character (校验码) of the first 17 characters of a
/// unified social credit code: each character's value times 3^(i-1) mod 31
/// for its position i, summed; the check is 31 − (sum mod 31), 31 read as
/// 0. `None` when a character is outside the code's set.
pub fn credit_code_check_char(first17: &str) -> Option<char> {
    let mut sum = 0u32;
    let mut weight = 1u32;
    for c in first17.chars() {
        let value = CREDIT_CODE_CHARS.find(c)? as u32;
        sum += value * weight;
        weight = weight * 3 % 31;
    }
    let check = (31 - sum % 31) % 31;
    CREDIT_CODE_CHARS.chars().nth(check as usize)
}

/// Why a tax number is not a unified social credit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreditCodeProblem {
    /// Not 18 characters (a legacy 15- or 20-character number included).
    Length(usize),
    /// A character outside `0-9A-HJ-NPQRTUWXY` (I, O, Z, S, V, lower case …).
    Character(char),
    /// Characters 3 to 8 (the registering authority's division code) are not digits.
    Division,
    /// The last character is not the check character of the first 17.
    Check,
}

/// Checks a unified social credit code (统一社会信用代码, GB 32100-2015):
/// 18 characters from [`CREDIT_CODE_CHARS`], characters 3–8 the
/// administrative division code (digits), the 18th the check character.
pub fn check_credit_code(code: &str) -> Result<(), CreditCodeProblem> {
    let n = code.chars().count();
    if n != 18 {
        return Err(CreditCodeProblem::Length(n));
    }
    if let Some(bad) = code.chars().find(|c| !CREDIT_CODE_CHARS.contains(*c)) {
        return Err(CreditCodeProblem::Character(bad));
    }
    if !code[2..8].chars().all(|c| c.is_ascii_digit()) {
        return Err(CreditCodeProblem::Division);
    }
    match credit_code_check_char(&code[..17]) {
        Some(c) if code.ends_with(c) => Ok(()),
        _ => Err(CreditCodeProblem::Check),
    }
}

fn tax_number_problem(p: CreditCodeProblem) -> BuyerProblem {
    const EN: &str = "expected the 18-character unified social credit code (digits and capital letters except I, O, Z, S, V; such as 91350100M000100Y43)";
    const ZH: &str = "应为 18 位统一社会信用代码（数字和除 I、O、Z、S、V 外的大写字母，例如 91350100M000100Y43）";
    let (en, zh) = match p {
        CreditCodeProblem::Length(15 | 20) => (
            format!("{EN}; the old 15- or 20-character tax registration numbers are no longer taken"),
            format!("纳税人识别号：{ZH}；旧的 15 位或 20 位税务登记号已不再使用。"),
        ),
        CreditCodeProblem::Length(n) => (
            format!("{EN}; this one has {n} characters"),
            format!("纳税人识别号：{ZH}；当前为 {n} 位。"),
        ),
        CreditCodeProblem::Character(c) => (
            format!("{EN}; {c:?} is not allowed"),
            format!("纳税人识别号：{ZH}；不能含有“{c}”。"),
        ),
        CreditCodeProblem::Division => (
            format!("{EN}; characters 3 to 8 are the registering authority's division code, digits only"),
            format!("纳税人识别号：{ZH}；第 3 至 8 位是登记管理机关的行政区划码，只能是数字。"),
        ),
        CreditCodeProblem::Check => (
            format!("{EN}; its last character is not the check character of the first 17: please check it was copied correctly"),
            format!("纳税人识别号：{ZH}；末位校验码与前 17 位不符，请核对是否抄错。"),
        ),
    };
    BuyerProblem::new("tax_number", en, zh)
}

/// A mainland mobile number (`1[3-9]` and 9 more digits; spaces, hyphens and
/// +86 allowed), as its 11 digits.
pub fn mainland_mobile(text: &str) -> Option<String> {
    let digits: String = text.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let digits = digits.strip_prefix("+86").unwrap_or(&digits);
    let ok = digits.len() == 11
        && digits.chars().all(|c| c.is_ascii_digit())
        && digits.starts_with('1')
        && matches!(digits.as_bytes()[1], b'3'..=b'9');
    ok.then(|| digits.to_string())
}

/// A sane e-mail address: one `@`, something before it, a domain with a dot
/// and no empty label after it, no spaces, at most [`EMAIL_CHARS`].
pub fn plausible_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    text.chars().count() <= EMAIL_CHARS
        && !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && domain
            .split('.')
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_alphanumeric() || c == '-'))
        && !text.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Checks a request field by field, in the form's order.
pub fn check_buyer(req: &InvoiceBuyer) -> Result<CheckedBuyer, BuyerProblem> {
    let buyer_type = BuyerType::parse(req.buyer_type.trim()).ok_or_else(|| {
        BuyerProblem::new(
            "buyer_type",
            "expected personal or company",
            "购买方类型：应为 personal（个人）或 company（单位）。",
        )
    })?;
    let title = req.title.trim().to_string();
    if title.is_empty() {
        return Err(BuyerProblem::new(
            "title",
            "empty: give the company's registered name, or the person's name",
            "发票抬头：不能为空，请填写单位的登记名称或个人姓名。",
        ));
    }
    let chars = title.chars().count();
    if chars > TITLE_CHARS || title.chars().any(char::is_control) {
        return Err(BuyerProblem::new(
            "title",
            format!("at most {TITLE_CHARS} characters on one line (this one has {chars})"),
            format!("发票抬头：最多 {TITLE_CHARS} 个字，且不能换行（当前 {chars} 个字）。"),
        ));
    }
    let tax_number = req
        .tax_number
        .as_deref()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty());
    match (&tax_number, buyer_type) {
        (None, BuyerType::Company) => {
            return Err(BuyerProblem::new(
                "tax_number",
                "a company's invoice needs its tax number: the 18-character unified social credit code (such as 91350100M000100Y43)",
                "纳税人识别号：单位开票必须填写，应为 18 位统一社会信用代码（例如 91350100M000100Y43）。",
            ))
        }
        (Some(t), _) => check_credit_code(t).map_err(tax_number_problem)?,
        (None, BuyerType::Personal) => {}
    }
    let email = req
        .email
        .as_deref()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty());
    if let Some(e) = &email {
        if !plausible_email(e) {
            return Err(BuyerProblem::new(
                "email",
                "expected an e-mail address such as fapiao@example.com",
                "电子邮箱：格式不正确，应类似 fapiao@example.com。",
            ));
        }
    }
    let phone = match req.phone.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => None,
        Some(p) => Some(mainland_mobile(p).ok_or_else(|| {
            BuyerProblem::new(
                "phone",
                "expected a mainland mobile number of 11 digits starting with 13 to 19 (such as 13800138000)",
                "手机号：应为 13 至 19 开头的 11 位中国大陆手机号（例如 13800138000）。",
            )
        })?),
    };
    if email.is_none() && phone.is_none() {
        return Err(BuyerProblem::new(
            "email",
            "give an e-mail address or a mobile number (or both) for the invoice to be sent to",
            "电子邮箱：请填写电子邮箱或手机号（至少一项），用于接收发票。",
        ));
    }
    Ok(CheckedBuyer {
        buyer_type,
        title,
        tax_number,
        email,
        phone,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(buyer: &str, tax: Option<&str>) -> InvoiceBuyer {
        InvoiceBuyer {
            buyer_type: buyer.into(),
            title: "福州某某科技有限公司".into(),
            tax_number: tax.map(String::from),
            email: Some("fapiao@example.com".into()),
            phone: None,
        }
    }

    #[test]
    fn a_unified_social_credit_code_with_its_check_character_is_accepted() {
        assert_eq!(check_credit_code("91350100M000100Y43"), Ok(()));
        assert_eq!(check_credit_code("91110000600037341L"), Ok(()));
        assert_eq!(credit_code_check_char("91350100M000100Y4"), Some('3'));
    }

    #[test]
    fn a_credit_code_with_a_wrong_check_character_is_refused() {
        assert_eq!(
            check_credit_code("91350100M000100Y44"),
            Err(CreditCodeProblem::Check)
        );
        assert_eq!(
            check_credit_code("91110000600037341K"),
            Err(CreditCodeProblem::Check)
        );
    }

    #[test]
    fn a_credit_code_has_exactly_eighteen_characters() {
        assert_eq!(
            check_credit_code("91350100M000100Y4"),
            Err(CreditCodeProblem::Length(17))
        );
        assert_eq!(
            check_credit_code("91350100M000100Y430"),
            Err(CreditCodeProblem::Length(19))
        );
        // The legacy 15-character tax registration number is refused.
        assert_eq!(
            check_credit_code("350100123456789"),
            Err(CreditCodeProblem::Length(15))
        );
    }

    #[test]
    fn a_credit_code_never_holds_i_o_z_s_or_v() {
        for bad in ['I', 'O', 'Z', 'S', 'V'] {
            let code = format!("91350100M000100{bad}43");
            assert_eq!(
                check_credit_code(&code),
                Err(CreditCodeProblem::Character(bad)),
                "{code}"
            );
        }
        assert_eq!(
            check_credit_code("91350100m000100Y43"),
            Err(CreditCodeProblem::Character('m'))
        );
    }

    #[test]
    fn a_credit_codes_division_code_is_digits() {
        // Valid characters and a matching check character, but letters
        // where the division code goes.
        let first17 = "91AB0100M000100Y4";
        let code = format!("{first17}{}", credit_code_check_char(first17).unwrap());
        assert_eq!(check_credit_code(&code), Err(CreditCodeProblem::Division));
    }

    #[test]
    fn a_company_buyer_needs_a_tax_number_and_the_refusal_names_it() {
        let e = check_buyer(&request("company", None)).unwrap_err();
        assert_eq!(e.field, "tax_number");
        assert!(e.text.zh.starts_with("纳税人识别号："), "{}", e.text.zh);
        assert!(
            e.text.en.contains("unified social credit code"),
            "{}",
            e.text.en
        );
        let bad = check_buyer(&request("company", Some("91350100M000100Y44"))).unwrap_err();
        assert_eq!(bad.field, "tax_number");
        assert!(bad.text.zh.contains("校验码"), "{}", bad.text.zh);
    }

    #[test]
    fn a_personal_buyer_needs_no_tax_number() {
        let mut r = request("personal", None);
        r.title = "李女士".into();
        let ok = check_buyer(&r).unwrap();
        assert_eq!(ok.buyer_type, BuyerType::Personal);
        assert_eq!(ok.tax_number, None);
        // One given is still checked.
        r.tax_number = Some("12345".into());
        assert_eq!(check_buyer(&r).unwrap_err().field, "tax_number");
    }

    #[test]
    fn an_invoice_goes_somewhere_an_email_or_a_mainland_mobile() {
        let mut r = request("company", Some("91350100M000100Y43"));
        r.email = None;
        assert_eq!(check_buyer(&r).unwrap_err().field, "email");
        r.phone = Some("+86 138-0013-8000".into());
        assert_eq!(
            check_buyer(&r).unwrap().phone.as_deref(),
            Some("13800138000")
        );
        for bad in ["12800138000", "1380013800", "02155551234"] {
            r.phone = Some(bad.into());
            assert_eq!(check_buyer(&r).unwrap_err().field, "phone", "{bad}");
        }
        r.phone = None;
        for bad in [
            "fapiao",
            "a@b",
            "a b@example.com",
            "@example.com",
            "a@example..com",
        ] {
            r.email = Some(bad.into());
            assert_eq!(check_buyer(&r).unwrap_err().field, "email", "{bad}");
        }
    }

    #[test]
    fn an_email_domain_holds_letters_digits_and_hyphens_only() {
        for good in ["fapiao@mail-server.example.cn", "账务@公司.中国", "a@x1.cn"] {
            assert!(plausible_email(good), "{good}");
        }
        for bad in [
            "a@exa_mple.com",
            "a@ex!ample.com",
            "a@example.c/m",
            "a@-.+.cn",
        ] {
            assert!(!plausible_email(bad), "{bad}");
        }
    }

    #[test]
    fn the_title_is_one_line_of_at_most_a_hundred_characters() {
        let mut r = request("company", Some("91350100M000100Y43"));
        r.title = "  ".into();
        assert_eq!(check_buyer(&r).unwrap_err().field, "title");
        r.title = "公".repeat(TITLE_CHARS + 1);
        assert_eq!(check_buyer(&r).unwrap_err().field, "title");
        r.title = "公".repeat(TITLE_CHARS);
        assert!(check_buyer(&r).is_ok());
    }

    #[test]
    fn every_refusal_names_its_field_in_chinese_with_full_width_punctuation() {
        let cases = [
            request("someone", None),
            InvoiceBuyer {
                title: String::new(),
                ..request("personal", None)
            },
            request("company", Some("9135010OM000100Y43")),
            InvoiceBuyer {
                email: Some("x".into()),
                ..request("personal", None)
            },
        ];
        for r in cases {
            let e = check_buyer(&r).unwrap_err();
            let (name, _) = e
                .text
                .zh
                .split_once('：')
                .expect("the field's Chinese name first");
            assert!(!name.is_empty() && !name.is_ascii(), "{}", e.text.zh);
            assert!(e.text.zh.ends_with('。'), "{}", e.text.zh);
        }
    }
}
