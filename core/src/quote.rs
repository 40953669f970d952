//! Quotes (报价) from the trade's official fee schedule (收费标准): visit fee,
//! labour and parts in integer fen; warranty decides who pays; the lower of
//! the company's schedule and the customer's warranty card applies; software
//! adjustment is free within a month of installation (before the same day of
//! the next calendar month, in the business time zone); a discount is at most
//! the customer's subtotal (the center's approval of it is
//! `crate::discount_approval`, checked by the quote's rule). Pure arithmetic,
//! every sum checked.

use crate::assignment::{Assignment, Warranty};
use crate::business_time::last_day_within_a_month;
use crate::money::{Currency, MoneyError};
use crate::playbook::{FeeKind, Playbook};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// One line the technician puts on the quote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuoteLineRequest {
    /// Fee-schedule item id.
    pub item: String,
    #[serde(default = "one")]
    pub qty: u32,
    /// Unit price printed on the customer's warranty card, if it lists one.
    #[serde(default)]
    pub warranty_card_price: Option<i64>,
    /// The photo of the warranty card (its reference in the visit's photos):
    /// required when the card's price is lower than the schedule's, so the
    /// center can reconcile the lower charge against the card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warranty_card_photo: Option<String>,
}

fn one() -> u32 {
    1
}

/// A discount, which exists only with a center approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Discount {
    /// Minor units off the customer's total.
    pub amount: i64,
    #[serde(default)]
    pub approval_code: Option<String>,
    #[serde(default)]
    pub approved_by: Option<String>,
}

/// What the technician asks to quote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct QuoteRequest {
    pub lines: Vec<QuoteLineRequest>,
    #[serde(default)]
    pub discount: Option<Discount>,
}

/// Who pays a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Payer {
    Customer,
    /// Covered by the warranty (三包): the company pays.
    Warranty,
    /// Free: software adjustment within the free period after installation.
    Free,
}

impl Payer {
    /// Who pays, as the report and the signing screen name it.
    pub fn label(self) -> crate::messages::Text {
        let (en, zh) = match self {
            Payer::Customer => ("Customer", "客户"),
            Payer::Warranty => ("Warranty", "保修"),
            Payer::Free => ("Free", "免费"),
        };
        crate::messages::Text::new(en, zh)
    }
}

/// A priced line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QuoteLine {
    pub item: String,
    pub kind: FeeKind,
    pub qty: u32,
    /// The schedule's unit price.
    pub schedule_price: i64,
    #[serde(default)]
    pub warranty_card_price: Option<i64>,
    /// The card's photo, when the card's price applies. Absent from the
    /// canonical report otherwise, so reports signed before it existed keep
    /// their digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warranty_card_photo: Option<String>,
    /// The unit price that applies (the lower of schedule and card).
    pub unit_price: i64,
    pub amount: i64,
    pub payer: Payer,
}

/// A quote as shown to the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Quote {
    /// Increases with every change; acceptance names the revision it accepts.
    pub revision: u32,
    pub currency: Currency,
    pub warranty: Warranty,
    pub lines: Vec<QuoteLine>,
    #[serde(default)]
    pub discount: Option<Discount>,
    /// What the customer pays, after the discount.
    pub customer_total: i64,
    /// What the warranty covers.
    pub covered_total: i64,
    /// Refundable deposit included in the customer total.
    pub deposit_total: i64,
}

impl Quote {
    pub fn chargeable(&self) -> bool {
        self.customer_total > 0
    }
}

/// Why a quote could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuoteError {
    #[error("fee item {0:?} is not in the trade's fee schedule")]
    UnknownItem(String),
    #[error("quantity of {0:?} must be at least 1")]
    ZeroQuantity(String),
    #[error("warranty card price of {0:?} must not be negative")]
    NegativeCardPrice(String),
    #[error("the warranty card price of {0:?} is below the schedule: photograph the card and name the photo")]
    CardPriceWithoutPhoto(String),
    #[error("a quote needs at least one line")]
    Empty,
    #[error("discount {discount} must be positive and at most the customer's subtotal {subtotal}")]
    DiscountOutOfRange { discount: i64, subtotal: i64 },
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// Prices a quote request against the playbook's fee schedule.
///
/// `today` (the local date in the business time zone) decides the free
/// software-adjustment period; the warranty comes from
/// the assignment (unknown warranty is quoted as chargeable: the center can waive).
pub fn price(
    playbook: &Playbook,
    assignment: &Assignment,
    request: &QuoteRequest,
    today: NaiveDate,
    revision: u32,
) -> Result<Quote, QuoteError> {
    if request.lines.is_empty() {
        return Err(QuoteError::Empty);
    }
    let warranty = assignment.product.warranty;
    let free_adjustment = playbook.free_software_adjustment_days > 0
        && assignment
            .product
            .installed_on
            .is_some_and(|installed| within_a_month_of_installation(installed, today));
    let mut lines = Vec::with_capacity(request.lines.len());
    let (mut customer, mut covered, mut deposit) = (0i64, 0i64, 0i64);
    for req in &request.lines {
        let fee = playbook
            .fee(&req.item)
            .ok_or_else(|| QuoteError::UnknownItem(req.item.clone()))?;
        if req.qty == 0 {
            return Err(QuoteError::ZeroQuantity(req.item.clone()));
        }
        if req.warranty_card_price.is_some_and(|p| p < 0) {
            return Err(QuoteError::NegativeCardPrice(req.item.clone()));
        }
        let unit_price = lower_price_applies(fee.price, req.warranty_card_price);
        let card_applies = unit_price < fee.price;
        let photo = req
            .warranty_card_photo
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty());
        if card_applies && photo.is_none() {
            return Err(QuoteError::CardPriceWithoutPhoto(req.item.clone()));
        }
        let amount = unit_price
            .checked_mul(i64::from(req.qty))
            .ok_or(MoneyError::Overflow)?;
        let payer = if fee.software_adjustment && free_adjustment {
            Payer::Free
        } else if warranty == Warranty::InWarranty
            && fee.warranty_covered
            && fee.kind != FeeKind::Deposit
        {
            Payer::Warranty
        } else {
            Payer::Customer
        };
        match payer {
            Payer::Customer => {
                customer = customer.checked_add(amount).ok_or(MoneyError::Overflow)?;
                if fee.kind == FeeKind::Deposit {
                    deposit = deposit.checked_add(amount).ok_or(MoneyError::Overflow)?;
                }
            }
            Payer::Warranty => covered = covered.checked_add(amount).ok_or(MoneyError::Overflow)?,
            Payer::Free => {}
        }
        lines.push(QuoteLine {
            item: fee.id.clone(),
            kind: fee.kind,
            qty: req.qty,
            schedule_price: fee.price,
            warranty_card_price: req.warranty_card_price,
            warranty_card_photo: photo.filter(|_| card_applies).map(str::to_string),
            unit_price,
            amount,
            payer,
        });
    }
    if let Some(d) = &request.discount {
        let discountable = customer - deposit;
        if d.amount <= 0 || d.amount > discountable {
            return Err(QuoteError::DiscountOutOfRange {
                discount: d.amount,
                subtotal: discountable,
            });
        }
        customer -= d.amount;
    }
    Ok(Quote {
        revision,
        currency: playbook.currency.clone(),
        warranty,
        lines,
        discount: request.discount.clone(),
        customer_total: customer,
        covered_total: covered,
        deposit_total: deposit,
    })
}

/// STANDARDS §2.12 (报价): "software adjustment within one month of
/// installation is free" — from the installation day up to (not including)
/// the same day of the next calendar month (installed 31 Oct → free through
/// 30 Nov). Local dates of the business time zone.
fn within_a_month_of_installation(installed: NaiveDate, today: NaiveDate) -> bool {
    installed <= today && today <= last_day_within_a_month(installed)
}

/// STANDARDS §2.12 (报价): "when the company's schedule and the customer's
/// warranty card differ, the lower price applies".
fn lower_price_applies(schedule_price: i64, warranty_card_price: Option<i64>) -> i64 {
    warranty_card_price.map_or(schedule_price, |card| card.min(schedule_price))
}
