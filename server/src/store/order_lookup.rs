//! The `assignment_lookup` table (migration 0030): for every assignment, a
//! narrow row of what the desk finds orders by (the customer's phone as
//! digits, the lower-cased text a search matches, the requested window),
//! derived from the assignment's body wherever the body is written (the
//! upsert, a contact masking or erasure) and filled in once for orders
//! taken before the migration; and a search's condition on it. The reads
//! that go through it, over every order ever taken (a search, a phone's
//! orders, a day's orders), are lists of [`super::assignments`].

pub use super::order_search_pieces::PHONE_SEARCH_MIN_DIGITS;
use super::order_search_pieces::{self as pieces, FIELD_SEPARATOR};
use super::sql::Tx;
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
/// `received_at` (Unix ms, as its row holds it), and its search pieces.
pub async fn write_keys(tx: &mut dyn Tx, a: &Assignment, received_at: i64) -> Fallible<()> {
    let k = LookupKeys::of(a);
    let before = tx
        .query_opt(
            "SELECT received_at, search_text, customer_phone_digits FROM assignment_lookup
             WHERE assignment_id = $1",
            &[a.id.as_str().into()],
        )
        .await?
        .map(|r| pieces::Written {
            received_at: r.int("received_at"),
            pieces: pieces::pieces_of(
                &r.text("search_text"),
                r.opt_text("customer_phone_digits").as_deref(),
            ),
        });
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
            k.customer_phone_digits.clone().into(),
            k.search_text.as_str().into(),
            k.window.map(|w| w.0).into(),
            k.window.map(|w| w.1).into(),
        ],
    )
    .await?;
    let after = pieces::pieces_of(&k.search_text, k.customer_phone_digits.as_deref());
    pieces::rewrite(tx, a.id.as_str(), before, &after, received_at).await
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

/// What a search matches an order by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matched {
    /// Its text, case-blind, in the order id, the customer's name or address.
    Text,
    /// Its digits (at least [`PHONE_SEARCH_MIN_DIGITS`]) in the customer's phone.
    Phone,
}

/// One way a search matches an order: by what, the `LIKE` pattern that
/// checks it on the look-up row, and the pieces every order it matches
/// holds (`order_search_pieces`; none for one character).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPart {
    pub matched: Matched,
    pub pattern: String,
    pub pieces: Vec<String>,
}

impl SearchPart {
    /// The condition on the look-up row `l`, the pattern as `$param`.
    pub fn condition(&self, param: usize) -> String {
        match self.matched {
            Matched::Text => format!("l.search_text LIKE ${param} ESCAPE '\\'"),
            Matched::Phone => format!("l.customer_phone_digits LIKE ${param}"),
        }
    }
}

/// The ways a search for `query` matches an order (an order matching any
/// of them is found); none for blank text.
pub fn search_parts(query: &str) -> Vec<SearchPart> {
    let q = query.trim().to_lowercase();
    if q.is_empty() {
        return Vec::new();
    }
    let mut parts = vec![SearchPart {
        matched: Matched::Text,
        pattern: format!("%{}%", like_escaped(&q)),
        pieces: pieces::pieces_of_text_search(&q),
    }];
    let digits = phone_digits(&q);
    if digits.len() >= PHONE_SEARCH_MIN_DIGITS {
        parts.push(SearchPart {
            matched: Matched::Phone,
            pattern: format!("%{digits}%"),
            pieces: pieces::pieces_of_phone_search(&digits),
        });
    }
    parts
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
        let parts = search_parts("138");
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].matched, Matched::Text);
        let parts = search_parts(" 138-0013 ");
        assert_eq!(parts[1].matched, Matched::Phone);
        assert_eq!(parts[1].pattern, "%1380013%");
        assert_eq!(parts[1].pieces, ["#0013", "#1380", "#3800", "#8001"]);
        assert_eq!(parts[1].condition(2), "l.customer_phone_digits LIKE $2");
        assert!(search_parts("   ").is_empty());
    }

    #[test]
    fn a_search_for_a_wildcard_matches_it_literally() {
        let parts = search_parts("100%_a\\b");
        assert_eq!(parts[0].pattern, "%100\\%\\_a\\\\b%");
        assert_eq!(parts[0].condition(2), "l.search_text LIKE $2 ESCAPE '\\'");
    }
}
