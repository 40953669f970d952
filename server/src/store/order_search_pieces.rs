//! The `assignment_search_grams` table (migration 0037): every order's
//! search text (order id, customer name, address, as `order_lookup` keeps
//! them) cut into its pieces of two and of three characters, and its phone
//! digits into pieces of four, each kept with the order's receipt time.
//!
//! A search starts from the orders holding the rarest piece of what was
//! typed, newest first, and checks the whole text only on those: a piece no
//! order holds means nothing matches, without reading an order. Before, a
//! search walked every order's look-up row newest first until its page was
//! full, which for a rare name or phone is every order ever taken (about
//! 25 ms over a year of 200 orders a day, and growing). One character has
//! no piece: it still walks the look-up rows, and matches enough of them to
//! fill its page early. No B-tree finds a substring, and full-text search
//! is compiled out of the one SQLite the phone shares; these pieces are
//! what PostgreSQL's `pg_trgm` keeps, in a table both backends read alike.
//!
//! Written wherever the look-up row is (only what changed), filled in once
//! for orders taken before the migration.

use super::sql::{Tx, Value};
use crate::failure::Fallible;
use std::collections::BTreeSet;
use std::sync::LazyLock;

/// Keeps a search from matching across two fields of an order's search
/// text, and a piece from spanning two.
pub const FIELD_SEPARATOR: char = '\u{1f}';

/// The fewest digits a search matches a phone by (fewer match too much),
/// and the length of a phone's pieces.
pub const PHONE_SEARCH_MIN_DIGITS: usize = 4;

/// Marks a phone's piece apart from a piece of text.
const PHONE_MARK: char = '#';

/// Counting a piece's orders stops here: past it the piece is common, and
/// which common piece a search starts from matters little.
const COUNTED_UP_TO: i64 = 100;

/// Pieces written or removed by one statement (a short list is padded
/// with its last piece, so each statement has one text and stays cached).
const PIECES_A_STATEMENT: usize = 32;

/// The windows of `n` characters of `text`.
fn windows(text: &str, n: usize) -> impl Iterator<Item = String> + '_ {
    let chars: Vec<char> = text.chars().collect();
    (0..(chars.len() + 1).saturating_sub(n)).map(move |i| chars[i..i + n].iter().collect())
}

/// Every piece of an order: two- and three-character pieces of each field
/// of its search text (never across two fields), four-digit pieces of its
/// phone.
pub fn pieces_of(search_text: &str, phone_digits: Option<&str>) -> BTreeSet<String> {
    let mut pieces = BTreeSet::new();
    for field in search_text.split(FIELD_SEPARATOR) {
        pieces.extend(windows(field, 2));
        pieces.extend(windows(field, 3));
    }
    if let Some(digits) = phone_digits {
        pieces.extend(windows(digits, PHONE_SEARCH_MIN_DIGITS).map(|w| format!("{PHONE_MARK}{w}")));
    }
    pieces
}

/// The pieces every order matching `text` (lower-cased, trimmed) holds: its
/// three-character pieces, or itself when it is two characters; none for
/// one character.
pub fn pieces_of_text_search(text: &str) -> Vec<String> {
    let pieces: BTreeSet<String> = match text.chars().count() {
        2 => [text.to_string()].into(),
        // One character has no window of three.
        _ => windows(text, 3).collect(),
    };
    pieces.into_iter().collect()
}

/// The pieces every order whose phone holds `digits` holds.
pub fn pieces_of_phone_search(digits: &str) -> Vec<String> {
    let pieces: BTreeSet<String> = windows(digits, PHONE_SEARCH_MIN_DIGITS)
        .map(|w| format!("{PHONE_MARK}{w}"))
        .collect();
    pieces.into_iter().collect()
}

/// The piece of `pieces` the fewest orders hold (counted up to
/// [`COUNTED_UP_TO`]), or `None` when some piece no order holds (then no
/// order can match). `pieces` is not empty.
pub async fn rarest(tx: &mut dyn Tx, pieces: &[String]) -> Fallible<Option<String>> {
    let mut rarest: Option<(i64, &String)> = None;
    for piece in pieces {
        let held_by = tx
            .query_opt(
                "SELECT COUNT(*) AS n FROM
                   (SELECT 1 AS one FROM assignment_search_grams WHERE gram = $1 LIMIT $2) counted",
                &[piece.as_str().into(), COUNTED_UP_TO.into()],
            )
            .await?
            .map_or(0, |r| r.int("n"));
        if held_by == 0 {
            return Ok(None);
        }
        if rarest.is_none_or(|(n, _)| held_by < n) {
            rarest = Some((held_by, piece));
        }
    }
    Ok(rarest.map(|(_, piece)| piece.clone()))
}

/// What one order's pieces were, to write only what changed.
pub struct Written {
    pub received_at: i64,
    pub pieces: BTreeSet<String>,
}

/// Rewrites order `id`'s pieces from `before` (none: it had none) to
/// `after`, received at `received_at`: removes and writes only what
/// changed (everything when the receipt time moved, which each piece holds).
pub async fn rewrite(
    tx: &mut dyn Tx,
    id: &str,
    before: Option<Written>,
    after: &BTreeSet<String>,
    received_at: i64,
) -> Fallible<()> {
    let kept: BTreeSet<String> = match &before {
        Some(b) if b.received_at == received_at => b.pieces.intersection(after).cloned().collect(),
        _ => BTreeSet::new(),
    };
    if let Some(b) = &before {
        let gone: Vec<&String> = b.pieces.difference(&kept).collect();
        for chunk in gone.chunks(PIECES_A_STATEMENT) {
            tx.execute(&DELETE_SQL, &chunk_params(id, b.received_at, chunk))
                .await?;
        }
    }
    let new: Vec<&String> = after.difference(&kept).collect();
    insert(tx, id, received_at, &new).await
}

async fn insert(tx: &mut dyn Tx, id: &str, received_at: i64, pieces: &[&String]) -> Fallible<()> {
    for chunk in pieces.chunks(PIECES_A_STATEMENT) {
        tx.execute(&INSERT_SQL, &chunk_params(id, received_at, chunk))
            .await?;
    }
    Ok(())
}

/// `$1` the order, `$2` its receipt time, `$3`… the pieces, the last
/// repeated up to [`PIECES_A_STATEMENT`].
fn chunk_params(id: &str, received_at: i64, chunk: &[&String]) -> Vec<Value> {
    let mut params: Vec<Value> = vec![id.into(), received_at.into()];
    params.extend(
        (0..PIECES_A_STATEMENT).map(|i| Value::from(chunk[i.min(chunk.len() - 1)].as_str())),
    );
    params
}

fn piece_params() -> String {
    (0..PIECES_A_STATEMENT)
        .map(|i| format!("${}", i + 3))
        .collect::<Vec<_>>()
        .join(", ")
}

static INSERT_SQL: LazyLock<String> = LazyLock::new(|| {
    let rows: Vec<String> = (0..PIECES_A_STATEMENT)
        .map(|i| format!("(${}, $2, $1)", i + 3))
        .collect();
    format!(
        "INSERT INTO assignment_search_grams (gram, received_at, assignment_id) VALUES {}
         ON CONFLICT DO NOTHING",
        rows.join(", ")
    )
});

static DELETE_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "DELETE FROM assignment_search_grams
         WHERE assignment_id = $1 AND received_at = $2 AND gram IN ({})",
        piece_params()
    )
});

/// How many orders taken before migration 0037 one transaction fills in.
const FILL_BATCH: i64 = 500;

/// Writes the pieces of the next [`FILL_BATCH`] orders after `after`
/// (receipt time, id; `None`: from the first); the last order written, or
/// `None` when there was none left.
pub async fn fill_batch(
    tx: &mut dyn Tx,
    after: Option<(i64, String)>,
) -> Fallible<Option<(i64, String)>> {
    let (at, id) = after.unwrap_or((i64::MIN, String::new()));
    let rows = tx
        .query(
            "SELECT assignment_id, received_at, search_text, customer_phone_digits
             FROM assignment_lookup
             WHERE received_at > $1 OR (received_at = $1 AND assignment_id > $2)
             ORDER BY received_at, assignment_id LIMIT $3",
            &[at.into(), id.into(), FILL_BATCH.into()],
        )
        .await?;
    let mut last = None;
    for r in &rows {
        let id = r.text("assignment_id");
        let received_at = r.int("received_at");
        let phone = r.opt_text("customer_phone_digits");
        let pieces = pieces_of(&r.text("search_text"), phone.as_deref());
        insert(tx, &id, received_at, &pieces.iter().collect::<Vec<_>>()).await?;
        last = Some((received_at, id));
    }
    Ok(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn an_order_is_cut_into_pieces_of_two_and_three_within_each_field() {
        let pieces = pieces_of("a-1\u{1f}黄梅\u{1f}武定路", Some("1380013"));
        assert_eq!(
            pieces,
            set(&[
                "a-",
                "-1",
                "a-1",
                "黄梅",
                "武定",
                "定路",
                "武定路",
                "#1380",
                "#3800",
                "#8001",
                "#0013"
            ])
        );
    }

    #[test]
    fn a_search_holds_its_three_character_pieces_or_is_its_own_piece() {
        assert_eq!(
            pieces_of_text_search("武定路12"),
            ["定路1", "武定路", "路12"]
        );
        assert_eq!(pieces_of_text_search("黄梅"), ["黄梅"]);
        assert!(pieces_of_text_search("黄").is_empty());
        assert_eq!(pieces_of_phone_search("13800"), ["#1380", "#3800"]);
    }

    #[test]
    fn every_piece_of_a_search_is_a_piece_of_each_order_it_matches() {
        let order = pieces_of(
            "a-20261201-0042\u{1f}王伟\u{1f}浦东新区世纪大道 100 号",
            Some("13912345678"),
        );
        for typed in ["王伟", "世纪大道", "大道 1", "0042", "a-20261201-0042"] {
            for piece in pieces_of_text_search(typed) {
                assert!(order.contains(&piece), "{typed}: {piece}");
            }
        }
        for piece in pieces_of_phone_search("12345678") {
            assert!(order.contains(&piece), "{piece}");
        }
    }

    #[test]
    fn a_statement_of_pieces_pads_a_short_list_with_its_last_piece() {
        let (a, b) = ("a".to_string(), "b".to_string());
        let params = chunk_params("A-1", 7, &[&a, &b]);
        assert_eq!(params.len(), 2 + PIECES_A_STATEMENT);
        assert_eq!(
            params[..4],
            [
                Value::from("A-1"),
                Value::from(7_i64),
                Value::from("a"),
                Value::from("b")
            ]
        );
        assert_eq!(params[2 + PIECES_A_STATEMENT - 1], Value::from("b"));
    }
}
