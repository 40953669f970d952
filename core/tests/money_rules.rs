//! Money (金额) in integer fen with an ISO 4217 code: checked sums,
//! differences and products that refuse overflow and mixed currencies;
//! currency codes of exactly three capital letters; yuan text both ways at
//! its edges (zero, one fen, the largest and smallest amounts).

use doorstep_core::money::{
    format_yuan, format_yuan_grouped, parse_yuan, yuan_digits, Currency, Money, MoneyError,
    YuanError,
};

fn cny(minor: i64) -> Money {
    Money::new(minor, Currency::cny())
}

#[test]
fn money_adds_subtracts_and_multiplies_exactly() {
    assert_eq!(cny(3000).checked_add(&cny(6500)), Ok(cny(9500)));
    assert_eq!(cny(3000).checked_sub(&cny(6500)), Ok(cny(-3500)));
    assert_eq!(cny(6500).checked_sub(&cny(3000)), Ok(cny(3500)));
    assert_eq!(cny(1800).checked_mul(3), Ok(cny(5400)));
    assert_eq!(cny(1800).checked_mul(0), Ok(cny(0)));
    assert_eq!(Money::zero(Currency::cny()), cny(0));
}

#[test]
fn money_overflow_is_an_error_never_a_wrap() {
    assert_eq!(
        cny(i64::MIN).checked_sub(&cny(1)),
        Err(MoneyError::Overflow)
    );
    assert_eq!(cny(i64::MAX).checked_mul(2), Err(MoneyError::Overflow));
    assert_eq!(cny(i64::MAX).checked_mul(1), Ok(cny(i64::MAX)));
}

#[test]
fn money_of_two_currencies_never_combines() {
    let usd = Money::new(1, Currency::new("USD").unwrap());
    for result in [cny(1).checked_add(&usd), cny(1).checked_sub(&usd)] {
        assert_eq!(
            result,
            Err(MoneyError::CurrencyMismatch("CNY".into(), "USD".into()))
        );
    }
}

#[test]
fn a_currency_is_exactly_three_capital_letters() {
    for good in ["CNY", "USD", "HKD"] {
        assert_eq!(Currency::new(good).unwrap().as_str(), good);
    }
    for bad in ["cny", "CNYY", "CN", "", "CN1", "Cny", "人民币"] {
        assert_eq!(
            Currency::new(bad),
            Err(MoneyError::BadCurrency(bad.into())),
            "{bad:?}"
        );
    }
    assert_eq!(Currency::cny().as_str(), "CNY");
}

#[test]
fn a_currency_read_from_json_is_checked_too() {
    let ok: Currency = serde_json::from_str("\"CNY\"").unwrap();
    assert_eq!(ok, Currency::cny());
    let err = serde_json::from_str::<Currency>("\"yuan\"").unwrap_err();
    assert!(err.to_string().contains("ISO 4217"), "{err}");
}

#[test]
fn money_displays_in_yuan_with_its_code() {
    assert_eq!(cny(0).to_string(), "0.00 CNY");
    assert_eq!(cny(100).to_string(), "1.00 CNY");
    assert_eq!(cny(-16850).to_string(), "-168.50 CNY");
}

#[test]
fn yuan_text_keeps_every_fen_at_the_edges() {
    assert_eq!(yuan_digits(0), "0.00");
    assert_eq!(yuan_digits(1), "0.01");
    assert_eq!(yuan_digits(-1), "-0.01");
    assert_eq!(yuan_digits(100), "1.00");
    assert_eq!(yuan_digits(i64::MAX), "92233720368547758.07");
    assert_eq!(yuan_digits(i64::MIN), "-92233720368547758.08");
    assert_eq!(format_yuan(1), "¥0.01");
    assert_eq!(format_yuan(-16850), "-¥168.50");
    assert_eq!(format_yuan(i64::MAX), "¥92233720368547758.07");
    assert_eq!(format_yuan(i64::MIN), "-¥92233720368547758.08");
}

#[test]
fn a_ledger_groups_yuan_by_thousands() {
    assert_eq!(format_yuan_grouped(0), "¥0.00");
    assert_eq!(format_yuan_grouped(5), "¥0.05");
    assert_eq!(format_yuan_grouped(99_999), "¥999.99");
    assert_eq!(format_yuan_grouped(100_000), "¥1,000.00");
    assert_eq!(format_yuan_grouped(123_450), "¥1,234.50");
    assert_eq!(format_yuan_grouped(123_456_789), "¥1,234,567.89");
    assert_eq!(format_yuan_grouped(-100_000), "-¥1,000.00");
    assert_eq!(format_yuan_grouped(i64::MIN), "-¥92,233,720,368,547,758.08");
}

#[test]
fn typed_yuan_round_trips_what_the_screen_shows() {
    for fen in [0, 1, 5, 50, 99, 100, 16850, 123_456_789] {
        let shown = format_yuan(fen);
        assert_eq!(parse_yuan(&shown), Ok(fen), "{shown}");
        assert_eq!(parse_yuan(&yuan_digits(fen)), Ok(fen));
    }
}

#[test]
fn typed_yuan_accepts_the_usual_marks_and_refuses_the_rest() {
    for (typed, fen) in [
        ("CNY 12", 1200),
        ("RMB12.3", 1230),
        ("12 元", 1200),
        ("12.30 CNY", 1230),
        ("12RMB", 1200),
        ("  ￥ 7.07  ", 707),
    ] {
        assert_eq!(parse_yuan(typed), Ok(fen), "{typed:?}");
    }
    assert_eq!(parse_yuan("元"), Err(YuanError::Empty));
    assert_eq!(parse_yuan("  "), Err(YuanError::Empty));
    assert_eq!(parse_yuan("- 1"), Err(YuanError::Negative));
    assert_eq!(parse_yuan("12.34.5"), Err(YuanError::NotANumber));
    assert_eq!(parse_yuan("12.3a"), Err(YuanError::NotANumber));
    assert_eq!(parse_yuan("92233720368547758.08"), Err(YuanError::TooLarge));
    assert_eq!(
        parse_yuan("92233720368547758.07"),
        Ok(i64::MAX),
        "the largest amount"
    );
}
