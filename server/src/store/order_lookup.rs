//! The `assignment_lookup` table (migration 0030): for every assignment, a
//! narrow row of what the desk finds orders by (the customer's phone as
//! digits, the lower-cased text a search matches, the requested window),
//! derived from the assignment's body wherever the body is written (the
//! upsert, a contact masking or erasure) and filled in once for orders
//! taken before the migration; and a search's condition on it. The reads
//! that go through it, over every order ever taken (a search, a phone's
//! orders, a day's orders), are lists of [`super::assignments`].

use super::sql::{Tx, Value};
use crate::failure::{Failure, Fallible};
use doorstep_core::Assignment;

/// What an assignment is found by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupKeys {
    pub customer_phone_digits: Option<String>,
    /// The order id, the customer's name and address, lower-cased, apart.
    pub search_text: String,
    pub window: Option<(i64, i64)>,
}

/// Keeps a search from matching across two fields of the text.
const FIELD_SEPARATOR: char = '\u{1f}';

/// The fewest digits a search matches a phone by (fewer match too much).
pub const PHONE_SEARCH_MIN_DIGITS: usize = 4;

/// Digits only: phones are typed with spaces, dashes or a +86.
pub fn phone_digits(phone: &str) -> String {
    let d: String = phone.chars().filter(char::is_ascii_digit).collect();
    d.strip_prefix("86")
        .filter(|rest| rest.len() == 11)
        .map_or(d.clone(), str::to_string)
}

impl LookupKeys {
    pub fn of(a: &Assignment) -> LookupKeys {
        let fields = [
            Some(a.id.as_str()),
            a.customer.name.as_deref(),
            a.customer.address.as_deref(),
        ];
        LookupKeys {
            customer_phone_digits: a
                .customer
                .phone
                .as_deref()
                .map(phone_digits)
                .filter(|d| !d.is_empty()),
            search_text: fields
                .map(|f| f.unwrap_or_default().to_lowercase())
                .join(&FIELD_SEPARATOR.to_string()),
            window: a
                .requested_window
                .map(|w| (w.start.timestamp_millis(), w.end.timestamp_millis())),
        }
    }
}

/// Writes (or rewrites) the look-up row of assignment `a`, received at
/// `received_at` (Unix ms, as its row holds it).
pub async fn write_keys(tx: &mut dyn Tx, a: &Assignment, received_at: i64) -> Fallible<()> {
    let k = LookupKeys::of(a);
    tx.execute(
        "INSERT INTO assignment_lookup
            (assignment_id, received_at, customer_phone_digits, search_text, window_start, window_end)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (assignment_id) DO UPDATE SET received_at = excluded.received_at,
            customer_phone_digits = excluded.customer_phone_digits,
            search_text = excluded.search_text, window_start = excluded.window_start,
            window_end = excluded.window_end",
        &[
            a.id.as_str().into(),
            received_at.into(),
            k.customer_phone_digits.into(),
            k.search_text.into(),
            k.window.map(|w| w.0).into(),
            k.window.map(|w| w.1).into(),
        ],
    )
    .await?;
    Ok(())
}

/// Rewrites the look-up row from an assignment body stored as JSON text
/// (a contact masking or erasure rewrote it).
pub async fn rewrite_keys_from_body(tx: &mut dyn Tx, id: &str, body: &str) -> Fallible<()> {
    let a: Assignment =
        serde_json::from_str(body).map_err(|e| Failure::corrupt("reading an assignment", e))?;
    let received_at = tx
        .query_opt(
            "SELECT received_at FROM assignments WHERE id = $1",
            &[id.into()],
        )
        .await?
        .map(|r| r.int("received_at"))
        .ok_or_else(|| Failure::internal("an assignment's body rewritten without its row"))?;
    write_keys(tx, &a, received_at).await
}

/// How many orders taken before migration 0030 one transaction fills in.
const FILL_BATCH: i64 = 500;

/// Orders taken before migration 0030 that have no look-up row yet, at most
/// [`FILL_BATCH`] of them: (id, body, received_at).
pub async fn missing(tx: &mut dyn Tx) -> Fallible<Vec<(String, String, i64)>> {
    Ok(tx
        .query(
            "SELECT a.id AS id, a.body AS body, a.received_at AS received_at
             FROM assignments a
             WHERE NOT EXISTS (SELECT 1 FROM assignment_lookup l WHERE l.assignment_id = a.id)
             LIMIT $1",
            &[FILL_BATCH.into()],
        )
        .await?
        .iter()
        .map(|r| (r.text("id"), r.text("body"), r.int("received_at")))
        .collect())
}

/// Fills in one batch of missing look-up rows; how many it wrote.
pub async fn fill_batch(tx: &mut dyn Tx) -> Fallible<usize> {
    let rows = missing(tx).await?;
    for (id, body, received_at) in &rows {
        let a: Assignment = serde_json::from_str(body)
            .map_err(|e| Failure::corrupt(&format!("reading assignment {id}"), e))?;
        write_keys(tx, &a, *received_at).await?;
    }
    Ok(rows.len())
}

/// `LIKE`'s wildcards and its escape character, escaped.
fn like_escaped(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// A search's condition on the look-up row `l` and its parameters
/// (numbered from `$1`), or `None` for text that can match nothing
/// (blank): its text in the order id, the customer's name or address
/// (case-blind), or its digits (at least [`PHONE_SEARCH_MIN_DIGITS`]) in
/// the customer's phone.
pub fn search_condition(query: &str) -> Option<(String, Vec<Value>)> {
    let q = query.trim().to_lowercase();
    if q.is_empty() {
        return None;
    }
    let digits = phone_digits(&q);
    let text = "l.search_text LIKE $1 ESCAPE '\\'";
    let pattern = format!("%{}%", like_escaped(&q));
    Some(if digits.len() >= PHONE_SEARCH_MIN_DIGITS {
        (
            format!("({text} OR l.customer_phone_digits LIKE $2)"),
            vec![pattern.into(), format!("%{digits}%").into()],
        )
    } else {
        (text.to_string(), vec![pattern.into()])
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// An order of this customer (the server's unit tests share it).
    pub(crate) fn assignment(name: &str, phone: &str, address: &str) -> Assignment {
        serde_json::from_value(json!({
            "id": "A-20261201-0001", "version": 1, "trade": "appliance_repair",
            "customer": {"name": name, "phone": phone, "address": address},
        }))
        .unwrap()
    }

    #[test]
    fn a_phone_is_kept_as_its_digits_whatever_its_spacing_or_country_code() {
        assert_eq!(phone_digits("138 0013 8001"), "13800138001");
        assert_eq!(phone_digits("+86 138-0013-8001"), "13800138001");
        // A number that only starts with 86 keeps it.
        assert_eq!(phone_digits("8613800"), "8613800");
        let k = LookupKeys::of(&assignment("黄梅", "(138) 0013-8001", "静安区"));
        assert_eq!(k.customer_phone_digits.as_deref(), Some("13800138001"));
        let k = LookupKeys::of(&assignment("黄梅", "—", "静安区"));
        assert_eq!(k.customer_phone_digits, None);
    }

    #[test]
    fn the_search_text_is_the_id_name_and_address_lower_cased_and_kept_apart() {
        let k = LookupKeys::of(&assignment("Mary Lee", "13800138001", "Wuding Rd 12"));
        assert_eq!(
            k.search_text,
            "a-20261201-0001\u{1f}mary lee\u{1f}wuding rd 12"
        );
    }

    #[test]
    fn a_search_matches_a_phone_only_by_four_digits_or_more() {
        let (cond, params) = search_condition("138").unwrap();
        assert!(!cond.contains("customer_phone_digits"), "{cond}");
        assert_eq!(params.len(), 1);
        let (cond, params) = search_condition(" 138-0013 ").unwrap();
        assert!(cond.contains("customer_phone_digits LIKE $2"), "{cond}");
        assert_eq!(params[1], Value::from("%1380013%"));
        assert!(search_condition("   ").is_none());
    }

    #[test]
    fn a_search_for_a_wildcard_matches_it_literally() {
        let (_, params) = search_condition("100%_a\\b").unwrap();
        assert_eq!(params[0], Value::from("%100\\%\\_a\\\\b%"));
    }
}
