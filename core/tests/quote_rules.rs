//! STANDARDS §2.12 (报价), priced directly through `quote::price`: the free
//! software adjustment within a month of installation — before the same day
//! of the next calendar month (first and last free day, the same day of the
//! next month, a 31st followed by a 30-day month, an installation date in
//! the future), the discount
//! limits (approval, positive, at most the subtotal without the deposit),
//! the card price of zero and the deposit never covered by the warranty.
//! Each test pins a boundary a one-character change in quote.rs would move.
mod support;

use chrono::{Duration, NaiveDate};
use doorstep_core::assignment::{Assignment, Warranty};
use doorstep_core::playbook::Playbook;
use doorstep_core::quote::{
    self, Discount, Payer, Quote, QuoteError, QuoteLineRequest, QuoteRequest,
};

/// 2026-11-25, the day the quotes are priced.
fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
}

fn line(item: &str, qty: u32) -> QuoteLineRequest {
    QuoteLineRequest {
        item: item.into(),
        qty,
        warranty_card_price: None,
        warranty_card_photo: None,
    }
}

fn appliance_installed_days_ago(days: Option<i64>) -> Assignment {
    appliance_installed_on(days.map(|d| today() - Duration::days(d)))
}

fn appliance_installed_on(date: Option<NaiveDate>) -> Assignment {
    let mut a = support::assignment("appliance_repair");
    a.product.installed_on = date;
    a
}

fn price_with(pb: &Playbook, a: &Assignment, request: QuoteRequest) -> Result<Quote, QuoteError> {
    quote::price(pb, a, &request, today(), 1)
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// Visit fee (3000) + software adjustment (4000) on an appliance installed
/// `days` before `today()`.
fn software_adjustment_quote(days: Option<i64>) -> Quote {
    software_adjustment_quote_on(days.map(|d| today() - Duration::days(d)), today())
}

/// Visit fee (3000) + software adjustment (4000), installed on `installed`,
/// priced on local date `on`.
fn software_adjustment_quote_on(installed: Option<NaiveDate>, on: NaiveDate) -> Quote {
    let pb = Playbook::shipped_by_id("appliance_repair").unwrap();
    assert!(
        pb.free_software_adjustment_days > 0,
        "the fixture assumes a trade with the free month"
    );
    let request = QuoteRequest {
        lines: vec![line("visit_fee", 1), line("software_adjustment", 1)],
        discount: None,
    };
    quote::price(&pb, &appliance_installed_on(installed), &request, on, 1).unwrap()
}

fn adjustment_payer(q: &Quote) -> Payer {
    q.lines
        .iter()
        .find(|l| l.item == "software_adjustment")
        .unwrap()
        .payer
}

#[test]
fn free_software_adjustment_applies_within_a_month_of_installation() {
    let q = software_adjustment_quote(Some(10));
    assert_eq!(adjustment_payer(&q), Payer::Free);
    assert_eq!(q.customer_total, 3000, "only the visit fee is charged");
    assert_eq!(q.covered_total, 0);
    let visit = q.lines.iter().find(|l| l.item == "visit_fee").unwrap();
    assert_eq!(
        visit.payer,
        Payer::Customer,
        "the free period covers only the adjustment"
    );
}

#[test]
fn free_software_adjustment_applies_on_the_installation_day() {
    let q = software_adjustment_quote(Some(0));
    assert_eq!(adjustment_payer(&q), Payer::Free);
    assert_eq!(q.customer_total, 3000);
}

#[test]
fn free_software_adjustment_includes_the_day_before_the_same_day_of_the_next_month() {
    // Installed 26 Oct: free through 25 Nov (today).
    let q = software_adjustment_quote_on(Some(date(2026, 10, 26)), today());
    assert_eq!(
        adjustment_payer(&q),
        Payer::Free,
        "the day before the same day of the next month is still within the month"
    );
    assert_eq!(q.customer_total, 3000);
}

#[test]
fn free_software_adjustment_ends_on_the_same_day_of_the_next_month() {
    // Installed 25 Oct: 25 Nov is the same day of the next month, no longer free.
    let q = software_adjustment_quote_on(Some(date(2026, 10, 25)), today());
    assert_eq!(adjustment_payer(&q), Payer::Customer);
    assert_eq!(q.customer_total, 7000);
}

#[test]
fn free_software_adjustment_after_31_october_runs_through_30_november() {
    let installed = Some(date(2026, 10, 31));
    let last = software_adjustment_quote_on(installed, date(2026, 11, 30));
    assert_eq!(adjustment_payer(&last), Payer::Free, "30 Nov is free");
    let after = software_adjustment_quote_on(installed, date(2026, 12, 1));
    assert_eq!(adjustment_payer(&after), Payer::Customer, "1 Dec is not");
}

#[test]
fn free_software_adjustment_needs_an_installation_date() {
    let q = software_adjustment_quote(None);
    assert_eq!(adjustment_payer(&q), Payer::Customer);
    assert_eq!(q.customer_total, 7000);
}

#[test]
fn free_software_adjustment_is_not_granted_for_an_installation_date_in_the_future() {
    let q = software_adjustment_quote(Some(-1));
    assert_eq!(adjustment_payer(&q), Payer::Customer);
    assert_eq!(q.customer_total, 7000);
}

#[test]
fn free_software_adjustment_beats_the_warranty_and_covers_nothing_else() {
    let pb = Playbook::shipped_by_id("appliance_repair").unwrap();
    let mut a = appliance_installed_days_ago(Some(5));
    a.product.warranty = Warranty::InWarranty;
    let request = QuoteRequest {
        lines: vec![line("software_adjustment", 1), line("labour_basic", 1)],
        discount: None,
    };
    let q = price_with(&pb, &a, request).unwrap();
    assert_eq!(adjustment_payer(&q), Payer::Free);
    let labour = q.lines.iter().find(|l| l.item == "labour_basic").unwrap();
    assert_eq!(labour.payer, Payer::Warranty);
    assert_eq!((q.customer_total, q.covered_total), (0, 5000));
}

// ---- discounts: approval, positive, at most the discountable subtotal ----

/// Two bottles (2 × 1800) and their deposit (2 × 3000): the discountable
/// subtotal is 3600, the customer subtotal 9600.
fn water_quote(discount: Option<Discount>) -> Result<Quote, QuoteError> {
    let pb = Playbook::shipped_by_id("water_delivery").unwrap();
    let a = support::assignment("water_delivery");
    let request = QuoteRequest {
        lines: vec![line("bottle_18_9l", 2), line("bottle_deposit", 2)],
        discount,
    };
    price_with(&pb, &a, request)
}

fn approved(amount: i64) -> Option<Discount> {
    Some(Discount {
        amount,
        approval_code: Some("C-2026-77".into()),
        approved_by: Some("Center Zhang".into()),
    })
}

#[test]
fn the_deposit_is_in_the_customer_total_but_never_discounted() {
    let q = water_quote(None).unwrap();
    assert_eq!((q.customer_total, q.deposit_total), (9600, 6000));
    assert_eq!(
        water_quote(approved(3601)).unwrap_err(),
        QuoteError::DiscountOutOfRange {
            discount: 3601,
            subtotal: 3600
        },
        "the discount may not eat into the deposit"
    );
}

#[test]
fn a_discount_of_exactly_the_discountable_subtotal_is_accepted() {
    let q = water_quote(approved(3600)).unwrap();
    assert_eq!(q.customer_total, 6000, "only the deposit is left to pay");
    assert_eq!(q.deposit_total, 6000);
}

#[test]
fn an_approved_discount_is_taken_off_the_customer_total() {
    let q = water_quote(approved(600)).unwrap();
    assert_eq!(q.customer_total, 9000);
    assert_eq!(q.discount.as_ref().unwrap().amount, 600);
}

#[test]
fn a_discount_must_be_positive() {
    for amount in [0, -1, -600] {
        assert_eq!(
            water_quote(approved(amount)).unwrap_err(),
            QuoteError::DiscountOutOfRange {
                discount: amount,
                subtotal: 3600
            },
            "discount {amount}"
        );
    }
}

// ---- the warranty card price ----

fn card_line(price: i64, photo: Option<&str>) -> QuoteLineRequest {
    QuoteLineRequest {
        item: "part_compressor_relay".into(),
        qty: 1,
        warranty_card_price: Some(price),
        warranty_card_photo: photo.map(str::to_string),
    }
}

fn relay_quote(card: QuoteLineRequest) -> Result<Quote, QuoteError> {
    let pb = Playbook::shipped_by_id("appliance_repair").unwrap();
    let request = QuoteRequest {
        lines: vec![card],
        discount: None,
    };
    price_with(&pb, &support::assignment("appliance_repair"), request)
}

#[test]
fn a_warranty_card_price_of_zero_is_a_price_not_a_negative_one() {
    let q = relay_quote(card_line(0, Some("photo-card-1"))).unwrap();
    assert_eq!(q.lines[0].unit_price, 0);
    assert_eq!(q.customer_total, 0);
    assert_eq!(
        q.lines[0].warranty_card_photo.as_deref(),
        Some("photo-card-1")
    );
}

#[test]
fn a_negative_warranty_card_price_is_refused() {
    assert_eq!(
        relay_quote(card_line(-1, Some("photo-card-1"))).unwrap_err(),
        QuoteError::NegativeCardPrice("part_compressor_relay".into())
    );
}

#[test]
fn a_card_price_equal_to_the_schedule_needs_no_photo() {
    let q = relay_quote(card_line(6500, None)).unwrap();
    assert_eq!(q.lines[0].unit_price, 6500);
    assert_eq!(q.lines[0].warranty_card_photo, None);
}

// ---- the deposit and the warranty ----

#[test]
fn a_deposit_is_never_covered_by_the_warranty_even_if_the_schedule_says_covered() {
    let mut pb = Playbook::shipped_by_id("water_delivery").unwrap();
    for fee in pb.fees.iter_mut() {
        fee.warranty_covered = true;
    }
    let mut a = support::assignment("water_delivery");
    a.product.warranty = Warranty::InWarranty;
    let request = QuoteRequest {
        lines: vec![line("bottle_18_9l", 2), line("bottle_deposit", 2)],
        discount: None,
    };
    let q = price_with(&pb, &a, request).unwrap();
    let deposit = q.lines.iter().find(|l| l.item == "bottle_deposit").unwrap();
    assert_eq!(deposit.payer, Payer::Customer);
    assert_eq!(
        (q.customer_total, q.covered_total, q.deposit_total),
        (6000, 3600, 6000)
    );
    assert!(q.chargeable());
}

#[test]
fn a_quote_with_nothing_for_the_customer_is_not_chargeable() {
    let q = software_adjustment_quote(Some(3));
    assert!(q.chargeable(), "the visit fee is still charged");
    let pb = Playbook::shipped_by_id("appliance_repair").unwrap();
    let request = QuoteRequest {
        lines: vec![line("software_adjustment", 1)],
        discount: None,
    };
    let free = price_with(&pb, &appliance_installed_days_ago(Some(3)), request).unwrap();
    assert_eq!(free.customer_total, 0);
    assert!(!free.chargeable());
}

#[test]
fn each_payer_is_named_as_the_report_names_it_in_both_languages() {
    let names: Vec<(String, String)> = [Payer::Customer, Payer::Warranty, Payer::Free]
        .into_iter()
        .map(|p| (p.label().en, p.label().zh))
        .collect();
    assert_eq!(
        names,
        [("Customer", "客户"), ("Warranty", "保修"), ("Free", "免费")]
            .map(|(en, zh)| (en.to_string(), zh.to_string()))
    );
}
