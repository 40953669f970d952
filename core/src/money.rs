//! Money in integer minor units (fen for CNY) with an ISO 4217 currency code.
//! Never floats; every sum is checked and overflow is an error, not a wrap.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An ISO 4217 code: three upper-case ASCII letters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
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
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        write!(
            f,
            "{sign}{}.{:02} {}",
            abs / 100,
            abs % 100,
            self.currency.0
        )
    }
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
    fn currencies_must_match() {
        let usd = Money::new(1, Currency::new("USD").unwrap());
        assert!(matches!(
            Money::new(1, Currency::cny()).checked_add(&usd),
            Err(MoneyError::CurrencyMismatch(_, _))
        ));
        assert!(Currency::new("yuan").is_err());
    }
}
