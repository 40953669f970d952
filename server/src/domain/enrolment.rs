//! One-time enrolment codes: an admin or dispatcher makes a code for a
//! technician's new phone (shown with a QR code of it); the phone exchanges
//! it once, within [`CODE_TTL_MINUTES`], for its device token
//! (`POST /api/enrol`, no other credential). The existing enrolment, which
//! answers the token to the dispatcher directly, stays as it was.

use crate::auth::token_hash;
use crate::domain::roster::enrol;
use crate::failure::{Failure, Fallible};
use crate::store::{devices, enrolment_codes, technicians, Tx};
use rand::Rng;

/// How long a code can be used.
pub const CODE_TTL_MINUTES: i64 = 30;

/// Letters and digits that cannot be mistaken for one another (no 0/O, 1/I).
const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// Twelve characters (60 bits) in groups of four: `K7QM-4XRT-9PWD`.
pub fn new_code() -> String {
    let mut rng = rand::rng();
    let chars: Vec<char> = (0..12)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// A code as typed or scanned: case and separators do not matter.
pub fn normalise(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Makes a code for `device` of `technician`; the code and when it expires
/// (Unix milliseconds).
pub async fn create_code(
    tx: &mut dyn Tx,
    technician: &str,
    device: &str,
    actor: &str,
    now: i64,
) -> Fallible<(String, i64)> {
    if !technicians::exists(tx, technician).await? {
        return Err(Failure::not_found("technician", technician));
    }
    if devices::owner(tx, device).await?.is_some() {
        return Err(Failure::conflict(
            "exists",
            format!("device {device} is already enrolled: name the new phone differently, or revoke and re-enrol it with \"rotate\""),
        ));
    }
    let code = new_code();
    let expires = now + CODE_TTL_MINUTES * 60_000;
    enrolment_codes::insert_code(
        tx,
        &token_hash(&normalise(&code)),
        technician,
        device,
        actor,
        now,
        expires,
    )
    .await?;
    Ok((code, expires))
}

/// Exchanges a code for the device's token: (technician, device, token).
pub async fn redeem(tx: &mut dyn Tx, code: &str, now: i64) -> Fallible<(String, String, String)> {
    let Some((technician, device)) =
        enrolment_codes::take_code(tx, &token_hash(&normalise(code)), now).await?
    else {
        return Err(Failure::Unauthorized(
            "this enrolment code is unknown, already used or expired: ask the center for a new one"
                .into(),
        ));
    };
    let token = enrol(tx, &technician, &device, false, "enrolment-code").await?;
    Ok((technician, device, token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_twelve_unambiguous_characters_in_groups_of_four() {
        let code = new_code();
        assert_eq!(code.len(), 14, "{code}");
        assert_eq!(code.matches('-').count(), 2);
        assert!(code
            .chars()
            .all(|c| c == '-' || ALPHABET.contains(&(c as u8))));
        assert_ne!(new_code(), code);
    }

    #[test]
    fn a_code_is_the_same_whatever_its_case_and_separators() {
        assert_eq!(normalise("k7qm 4xrt-9pwd"), "K7QM4XRT9PWD");
    }
}
