//! Money in integer minor units (fen for CNY) with an ISO 4217 currency code.
//! Never floats; every sum is checked and overflow is an error, not a wrap.
//!
//! The one home of fen ↔ yuan text: [`format_yuan`] (`¥168.50`),
//! [`format_money`] (any currency: `¥168.50`, `HKD 1.00`), [`yuan_digits`]
//! (`168.50`) and [`parse_yuan`] (what a technician types). The server's
//! responses and the shells (through the FFI) show amounts only through these.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An ISO 4217 code: three upper-case ASCII letters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct Currency(String);

impl Currency {
    pub fn new(code: &str) -> Result<Self, MoneyError> {
        if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Self(code.to_string()))
        } else {
            Err(MoneyError::BadCurrency(code.to_string()))
        }
    }
    pub fn cny() -> Self {
        Self("CNY".into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Currency::new(&s).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("currency {0:?} is not an ISO 4217 code (three capital letters such as CNY)")]
    BadCurrency(String),
    #[error("amount overflow: the total exceeds the largest representable amount")]
    Overflow,
    #[error("cannot combine {0} and {1} amounts")]
    CurrencyMismatch(String, String),
    #[error("amount must not be negative")]
    Negative,
}

/// An amount of money.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// Minor units (fen).
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }
    pub fn zero(currency: Currency) -> Self {
        Self { minor: 0, currency }
    }
    pub fn checked_add(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let minor = self
            .minor
            .checked_add(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency.clone()))
    }
    pub fn checked_sub(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let minor = self
            .minor
            .checked_sub(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency.clone()))
    }
    pub fn checked_mul(&self, qty: u32) -> Result<Money, MoneyError> {
        let minor = self
            .minor
            .checked_mul(i64::from(qty))
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency.clone()))
    }
    fn same_currency(&self, other: &Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch(
                self.currency.0.clone(),
                other.currency.0.clone(),
            ))
        }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", yuan_digits(self.minor), self.currency.0)
    }
}

/// Fen as yuan digits with two decimals: `16850` → `168.50`, `-5` → `-0.05`.
pub fn yuan_digits(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    format!("{sign}{}", unsigned_digits(fen.unsigned_abs()))
}

/// Minor units without a sign as major units with two decimals.
fn unsigned_digits(minor: u64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

/// Fen as the yuan amount a screen shows: `16850` → `¥168.50`, `-5` → `-¥0.05`.
pub fn format_yuan(fen: i64) -> String {
    format_money(fen, "CNY")
}

/// Fen as a ledger shows yuan, thousands grouped: `123450` → `¥1,234.50`,
/// `-100000` → `-¥1,000.00`.
pub fn format_yuan_grouped(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let digits = unsigned_digits(fen.unsigned_abs());
    let (whole, cents) = digits.split_at(digits.len() - 3);
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}¥{grouped}{cents}")
}

/// Minor units of `currency` (an ISO 4217 code) as a screen shows them: the
/// currency's symbol for CNY (`¥`), USD (`$`) and EUR (`€`), otherwise the code
/// and a space (`HKD 1.00`); the sign goes first (`-¥0.50`).
pub fn format_money(minor: i64, currency: &str) -> String {
    let symbol = match currency {
        "CNY" | "" => "¥".to_string(),
        "USD" => "$".to_string(),
        "EUR" => "€".to_string(),
        other => format!("{other} "),
    };
    let sign = if minor < 0 { "-" } else { "" };
    format!("{sign}{symbol}{}", unsigned_digits(minor.unsigned_abs()))
}

/// Why a typed yuan amount was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum YuanError {
    #[error("no amount given")]
    Empty,
    #[error("amounts are never negative")]
    Negative,
    #[error("more than two decimals (fen are the smallest unit; amounts are never rounded)")]
    TooManyDecimals,
    #[error("not an amount in yuan")]
    NotANumber,
    #[error("the amount is too large")]
    TooLarge,
}

/// Parses an amount typed in yuan into fen: `168`, `168.5`, `¥168.50`,
/// `168.50元`, `￥0.05`. Refuses (never rounds) more than two decimals, and
/// refuses negative, empty or anything else (`1,68`, `1e3`, `12.`).
pub fn parse_yuan(text: &str) -> Result<i64, YuanError> {
    let mut t = text.trim();
    if t.starts_with('-') {
        return Err(YuanError::Negative);
    }
    for prefix in ["¥", "￥", "CNY", "RMB"] {
        if let Some(rest) = t.strip_prefix(prefix) {
            t = rest.trim_start();
            break;
        }
    }
    for suffix in ["元", "CNY", "RMB"] {
        if let Some(rest) = t.strip_suffix(suffix) {
            t = rest.trim_end();
            break;
        }
    }
    if t.is_empty() {
        return Err(YuanError::Empty);
    }
    if t.starts_with('-') {
        return Err(YuanError::Negative);
    }
    let (whole, frac) = match t.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (t, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || frac.is_some_and(|f| !digits(f)) {
        return Err(YuanError::NotANumber);
    }
    let frac = frac.unwrap_or("");
    if frac.len() > 2 {
        return Err(YuanError::TooManyDecimals);
    }
    let yuan: i64 = whole.parse().map_err(|_| YuanError::TooLarge)?;
    let fen_part: i64 = format!("{frac:0<2}")
        .parse()
        .map_err(|_| YuanError::NotANumber)?;
    yuan.checked_mul(100)
        .and_then(|v| v.checked_add(fen_part))
        .ok_or(YuanError::TooLarge)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_overflow_as_errors() {
        let big = Money::new(i64::MAX, Currency::cny());
        assert_eq!(
            big.checked_add(&Money::new(1, Currency::cny())),
            Err(MoneyError::Overflow)
        );
        assert_eq!(big.checked_mul(2), Err(MoneyError::Overflow));
    }

    #[test]
    fn display_in_major_units() {
        assert_eq!(Money::new(12345, Currency::cny()).to_string(), "123.45 CNY");
        assert_eq!(Money::new(-5, Currency::cny()).to_string(), "-0.05 CNY");
    }

    #[test]
    fn yuan_is_formatted_with_two_decimals_and_the_sign() {
        assert_eq!(format_yuan(16850), "¥168.50");
        assert_eq!(format_yuan(5), "¥0.05");
        assert_eq!(format_yuan(0), "¥0.00");
        assert_eq!(format_yuan(-5), "-¥0.05");
        assert_eq!(yuan_digits(12345), "123.45");
    }

    #[test]
    fn other_currencies_show_their_symbol_or_code() {
        assert_eq!(format_money(12_305, "CNY"), "¥123.05");
        assert_eq!(format_money(-50, "CNY"), "-¥0.50");
        assert_eq!(format_money(100, "HKD"), "HKD 1.00");
        assert_eq!(format_money(-100, "USD"), "-$1.00");
        assert_eq!(format_money(7, "EUR"), "€0.07");
        assert_eq!(format_money(i64::MIN, "CNY"), "-¥92233720368547758.08");
        assert_eq!(format_yuan(16850), format_money(16850, "CNY"));
    }

    #[test]
    fn typed_yuan_parses_to_fen_exactly() {
        for (typed, fen) in [
            ("168", 16800),
            ("168.5", 16850),
            ("¥168.50", 16850),
            ("168.50元", 16850),
            ("￥0.05", 5),
            ("¥0.05", 5),
            (" 0 ", 0),
            ("0.5", 50),
        ] {
            assert_eq!(parse_yuan(typed), Ok(fen), "{typed}");
        }
    }

    #[test]
    fn typed_yuan_refuses_rather_than_rounds() {
        assert_eq!(parse_yuan("168.555"), Err(YuanError::TooManyDecimals));
        assert_eq!(parse_yuan("0.001"), Err(YuanError::TooManyDecimals));
        assert_eq!(parse_yuan("-1"), Err(YuanError::Negative));
        assert_eq!(parse_yuan("¥-1"), Err(YuanError::Negative));
        assert_eq!(parse_yuan(""), Err(YuanError::Empty));
        assert_eq!(parse_yuan("¥"), Err(YuanError::Empty));
        for garbage in ["1,68", "abc", "1e3", "12.", ".5", "1.2.3", "１６８"] {
            assert_eq!(parse_yuan(garbage), Err(YuanError::NotANumber), "{garbage}");
        }
        assert_eq!(parse_yuan("99999999999999999999"), Err(YuanError::TooLarge));
    }

    #[test]
    fn currencies_must_match() {
        let usd = Money::new(1, Currency::new("USD").unwrap());
        assert!(matches!(
            Money::new(1, Currency::cny()).checked_add(&usd),
            Err(MoneyError::CurrencyMismatch(_, _))
        ));
        assert!(Currency::new("yuan").is_err());
    }
}
