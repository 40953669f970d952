//! A customer's contact inside free text (PIPL): the mainland mobile numbers
//! people type into an order's notes (`备用电话 138 0013 9999`), found in
//! the forms they are written in, for the center's retention and erasure
//! and the phone's erasure to mask or remove with the contact itself.

/// The free-text fields of an order the desk types (its notes and the
/// fault as the customer told it): not part of any signed report, so a
/// number in them is masked or removed with the contact.
pub const ORDER_FREE_TEXT: [&str; 2] = ["notes", "fault_description"];

/// The mainland mobile number (`1[3-9]` and 9 more digits, alone or as
/// `139 1234 5678`, `139-1234-5678`, `+86 139…`) starting at `cs[i]`: where
/// it ends and its 11 digits. Digits inside a longer number or a word (an
/// order number, a hex digest) are none.
fn mobile_at(cs: &[char], i: usize) -> Option<(usize, String)> {
    if i > 0 && (cs[i - 1].is_ascii_alphanumeric() || cs[i - 1] == '+') {
        return None;
    }
    let mut j = i;
    if cs[j] == '+' {
        if cs.get(j + 1..j + 3) != Some(&['8', '6']) {
            return None;
        }
        j += 3;
        if matches!(cs.get(j), Some(' ' | '-')) {
            j += 1;
        }
    }
    let mut digits = String::new();
    while let Some(&c) = cs.get(j) {
        if c.is_ascii_digit() {
            digits.push(c);
            j += 1;
        } else if matches!(c, ' ' | '-')
            && matches!(digits.len(), 3 | 7)
            && cs.get(j + 1).is_some_and(char::is_ascii_digit)
        {
            j += 1;
        } else {
            break;
        }
    }
    let b = digits.as_bytes();
    let alone = !cs.get(j).is_some_and(|c| c.is_ascii_alphanumeric());
    (alone && b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1])).then_some((j, digits))
}

/// In the text `fields` of `obj` (e.g. an order's [`ORDER_FREE_TEXT`]),
/// each mobile number replaced by `with(its 11 digits)`. Returns whether
/// anything changed.
pub fn replace_in_fields(
    obj: &mut serde_json::Map<String, serde_json::Value>,
    fields: &[&str],
    with: impl Fn(&str) -> String,
) -> bool {
    let mut changed = false;
    for field in fields {
        if let Some(serde_json::Value::String(text)) = obj.get_mut(*field) {
            if let Some(replaced) = replace_mobile_numbers(text, &with) {
                *text = replaced;
                changed = true;
            }
        }
    }
    changed
}

/// `text` with each mainland mobile number in it replaced by `with(its 11
/// digits)`; None when it has none.
pub fn replace_mobile_numbers(text: &str, with: impl Fn(&str) -> String) -> Option<String> {
    let cs: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let (mut i, mut found) = (0, false);
    while i < cs.len() {
        match mobile_at(&cs, i) {
            Some((end, digits)) => {
                out.push_str(&with(&digits));
                found = true;
                i = end;
            }
            None => {
                out.push(cs[i]);
                i += 1;
            }
        }
    }
    found.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tail(d: &str) -> String {
        format!("…{}", &d[7..])
    }

    #[test]
    fn a_mobile_number_is_found_in_any_usual_form() {
        for (text, replaced) in [
            ("备用电话13800139999，下午在家", "备用电话…9999，下午在家"),
            ("call 138 0013 9999 after 6", "call …9999 after 6"),
            ("儿子：+86 186-0021-3344。", "儿子：…3344。"),
            ("two: 13800139999/15987654321", "two: …9999/…4321"),
        ] {
            assert_eq!(
                replace_mobile_numbers(text, tail).as_deref(),
                Some(replaced),
                "{text}"
            );
        }
    }

    #[test]
    fn order_numbers_digests_landlines_and_prices_are_no_mobile_numbers() {
        for text in [
            "A-20261203-0004",
            "sha 3a13800139999f",
            "010-6512 3456",
            "138001399990",
            "12800139999",
            "¥13800.00",
            "x13800139999",
            "138 0013 999",
        ] {
            assert_eq!(replace_mobile_numbers(text, tail), None, "{text}");
        }
    }
}
