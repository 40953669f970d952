//! Discount approvals, STANDARDS §2.12 (报价): "discounts only with a center
//! approval". The center approves a discount on a work order in one of two
//! ways, and the quote's rule (`workflow::rules::quote`) accepts a discount
//! only under one of them:
//!
//! - **online**: a [`DiscountApproval`] (its reference, the most it allows
//!   off, the approver) rides on the work order's next version to the phone
//!   (`Assignment::discount_approvals`), as the desk's field waivers do. The
//!   technician quotes with the approval's reference; any amount up to its
//!   maximum is approved.
//! - **offline**: the center reads a [`SHORT_CODE_DIGITS`]-digit short code
//!   out over the phone. It is the truncated HMAC-SHA256 ([`short_code`]) of
//!   the work order and the exact amount under the device's discount secret,
//!   issued at enrolment: the shells keep the secret in Android Keystore /
//!   the iOS Keychain behind [`DiscountCodeKey`], the CLI and the tests in a
//!   [`SoftwareDiscountKey`]. The phone checks the code before it records
//!   the quote; the server, which issued the secret, re-checks the recorded
//!   quote when it arrives (`crate::admission`).
//!
//! Either way the quote records what approved it (`Discount::approval_code`
//! and `approved_by`), which the report and the center's reconciliation
//! show.

pub use crate::assignment::DiscountApproval;
use crate::quote::Discount;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;
use std::sync::Arc;

/// The digits of an offline short code.
pub const SHORT_CODE_DIGITS: usize = 8;

/// The bytes of a device's discount secret.
pub const SECRET_BYTES: usize = 32;

/// Why the discount key could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("discount key: {0}")]
pub struct DiscountKeyError(pub String);

/// The device's discount secret, as a keyed MAC: HMAC-SHA256 over a message.
/// The shells implement it over the platform keystore (the secret never
/// leaves it); the server and the CLI over a [`SoftwareDiscountKey`].
pub trait DiscountCodeKey: Send + Sync {
    fn mac(&self, message: &[u8]) -> Result<Vec<u8>, DiscountKeyError>;
}

/// A discount secret held in memory: the server's copy of each device's,
/// the CLI's and the tests'.
#[derive(Clone)]
pub struct SoftwareDiscountKey {
    secret: Vec<u8>,
}

impl SoftwareDiscountKey {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            secret: secret.to_vec(),
        }
    }

    /// From the hex the server issues the secret in.
    pub fn from_hex(secret: &str) -> Result<Self, DiscountKeyError> {
        let bytes = hex::decode(secret.trim())
            .map_err(|_| DiscountKeyError("the discount secret is not hex".into()))?;
        if bytes.len() != SECRET_BYTES {
            return Err(DiscountKeyError(format!(
                "the discount secret has {} bytes, not {SECRET_BYTES}",
                bytes.len()
            )));
        }
        Ok(Self::new(&bytes))
    }

    /// Keeps the secret `hex` as issued in a file readable by its owner only
    /// (the CLI's keystore, next to its store), replacing an earlier one.
    pub fn save_hex(path: &std::path::Path, hex: &str) -> Result<(), DiscountKeyError> {
        Self::from_hex(hex)?;
        let io = |e: std::io::Error| DiscountKeyError(format!("{}: {e}", path.display()));
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
            _ => {}
        }
        crate::key_file::write_private(path, hex.trim()).map_err(io)
    }

    /// The secret kept by [`Self::save_hex`].
    pub fn load(path: &std::path::Path) -> Result<Self, DiscountKeyError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| DiscountKeyError(format!("{}: {e}", path.display())))?;
        Self::from_hex(&text).map_err(|e| DiscountKeyError(format!("{}: {}", path.display(), e.0)))
    }
}

impl fmt::Debug for SoftwareDiscountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SoftwareDiscountKey(<secret>)")
    }
}

impl DiscountCodeKey for SoftwareDiscountKey {
    fn mac(&self, message: &[u8]) -> Result<Vec<u8>, DiscountKeyError> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret)
            .map_err(|e| DiscountKeyError(e.to_string()))?;
        mac.update(message);
        Ok(mac.finalize().into_bytes().to_vec())
    }
}

/// The key a phone's rules check short codes with: shared, cheap to clone,
/// and never printed.
#[derive(Clone)]
pub struct SharedDiscountKey(pub Arc<dyn DiscountCodeKey>);

impl fmt::Debug for SharedDiscountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedDiscountKey(<keystore>)")
    }
}

/// What a short code is the MAC of: the scheme's version, the work order
/// and the amount in minor units, one per line.
pub fn short_code_message(assignment_id: &str, amount: i64) -> Vec<u8> {
    format!("doorstep-discount-v1\n{assignment_id}\n{amount}").into_bytes()
}

/// The short code approving `amount` off work order `assignment_id` under
/// `key`: RFC 4226's dynamic truncation of the MAC to
/// [`SHORT_CODE_DIGITS`] decimal digits.
pub fn short_code(
    key: &dyn DiscountCodeKey,
    assignment_id: &str,
    amount: i64,
) -> Result<String, DiscountKeyError> {
    let mac = key.mac(&short_code_message(assignment_id, amount))?;
    truncate(&mac)
        .ok_or_else(|| DiscountKeyError(format!("the key gave {} bytes, not 32", mac.len())))
}

fn truncate(mac: &[u8]) -> Option<String> {
    if mac.len() != 32 {
        return None;
    }
    let offset = usize::from(mac[31] & 0x0f);
    let word = u32::from_be_bytes([
        mac[offset],
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ]) & 0x7fff_ffff;
    let modulus = 10u32.pow(SHORT_CODE_DIGITS as u32);
    Some(format!(
        "{:0width$}",
        word % modulus,
        width = SHORT_CODE_DIGITS
    ))
}

/// Why a discount is not approved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unapproved {
    /// No approval reference or code was given.
    Missing,
    /// The reference is the center's approval, for less than the discount.
    OverApproval { approved: i64, asked: i64 },
    /// The reference is neither an approval on this order nor the short code
    /// for this order and amount.
    Unknown { code: String },
}

/// STANDARDS §2.12 (报价): "discounts only with a center approval". The
/// discount as the quote records it: under an online approval of this
/// order, with the approver the center named; under a short code, as typed.
/// `key` is the device's discount key (none on a phone enrolled before
/// discount secrets: online approvals only).
pub fn approve(
    discount: &Discount,
    order: &str,
    approvals: &[DiscountApproval],
    key: Option<&dyn DiscountCodeKey>,
) -> Result<Discount, Unapproved> {
    let code = discount
        .approval_code
        .as_deref()
        .map(str::trim)
        .unwrap_or("");
    if code.is_empty() {
        return Err(Unapproved::Missing);
    }
    if let Some(approval) = approvals.iter().find(|a| a.reference == code) {
        if discount.amount > approval.max_amount {
            return Err(Unapproved::OverApproval {
                approved: approval.max_amount,
                asked: discount.amount,
            });
        }
        return Ok(Discount {
            amount: discount.amount,
            approval_code: Some(approval.reference.clone()),
            approved_by: Some(approval.approver.clone()),
        });
    }
    let matches = key
        .and_then(|k| short_code(k, order, discount.amount).ok())
        .is_some_and(|expected| same_code(&expected, code));
    if matches {
        Ok(Discount {
            amount: discount.amount,
            approval_code: Some(code.to_string()),
            approved_by: discount.approved_by.clone(),
        })
    } else {
        Err(Unapproved::Unknown {
            code: code.to_string(),
        })
    }
}

/// Compares a typed code with the expected one without stopping at the
/// first difference.
fn same_code(expected: &str, typed: &str) -> bool {
    expected.len() == typed.len()
        && expected
            .bytes()
            .zip(typed.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "doorstep-discount-{name}-{}",
            uuid::Uuid::now_v7().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_new_enrolments_secret_replaces_the_kept_one() {
        let dir = scratch_dir("replace");
        let path = dir.join("store.discount-key");
        let first = "11".repeat(SECRET_BYTES);
        let second = "22".repeat(SECRET_BYTES);
        SoftwareDiscountKey::save_hex(&path, &first).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), first);
        SoftwareDiscountKey::save_hex(&path, &second).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), second);
        let kept = SoftwareDiscountKey::load(&path).unwrap();
        let expected = SoftwareDiscountKey::from_hex(&second).unwrap();
        assert_eq!(
            short_code(&kept, "A-1", 100).unwrap(),
            short_code(&expected, "A-1", 100).unwrap()
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_secret_that_cannot_replace_the_old_one_says_why() {
        // The old one cannot be removed (here: a directory stands there).
        let dir = scratch_dir("blocked");
        let path = dir.join("store.discount-key");
        std::fs::create_dir(&path).unwrap();
        let err = SoftwareDiscountKey::save_hex(&path, &"33".repeat(SECRET_BYTES)).unwrap_err();
        let said = err.to_string();
        assert!(said.contains("store.discount-key"), "{said}");
        assert!(
            said.contains("Is a directory") || said.contains("os error 21"),
            "the removal's own error, not the write's: {said}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_code_with_two_digits_swapped_is_not_the_code() {
        assert!(same_code("12345678", "12345678"));
        assert!(!same_code("12345678", "21345678"));
        assert!(!same_code("12345678", "1234567"));
    }

    #[test]
    fn a_software_key_never_shows_its_secret() {
        let key = SoftwareDiscountKey::new(&[0xab; 32]);
        let shown = format!("{key:?}");
        assert_eq!(shown, "SoftwareDiscountKey(<secret>)");
        assert!(!shown.contains("ab"), "{shown}");
        let shared = SharedDiscountKey(Arc::new(key));
        assert_eq!(format!("{shared:?}"), "SharedDiscountKey(<keystore>)");
    }

    #[test]
    fn the_short_code_is_the_truncated_hmac_of_order_and_amount() {
        // RFC 4226's own test vector of the truncation: the HMAC-SHA-1 of
        // count 0 under "12345678901234567890" truncates to 1284755224,
        // 84755224 in eight digits; our MAC is 32 bytes, so the vector's 20
        // bytes are padded with zeros whose last nibble (offset 0) is not
        // the vector's, which is why the offset byte is set here.
        let mut mac = [0u8; 32];
        let vector = hex::decode("cc93cf18508d94934c64b65d8ba7667fb7cde4b0").unwrap();
        mac[..20].copy_from_slice(&vector);
        mac[31] = vector[19] & 0x0f;
        assert_eq!(truncate(&mac).unwrap(), "84755224");

        let key = SoftwareDiscountKey::new(&[7u8; 32]);
        let code = short_code(&key, "A-1001", 1000).unwrap();
        assert_eq!(code.len(), SHORT_CODE_DIGITS);
        assert!(code.bytes().all(|b| b.is_ascii_digit()));
        assert_ne!(code, short_code(&key, "A-1001", 1001).unwrap());
        assert_ne!(code, short_code(&key, "A-1002", 1000).unwrap());
        let other = SoftwareDiscountKey::new(&[8u8; 32]);
        assert_ne!(code, short_code(&other, "A-1001", 1000).unwrap());
    }

    #[test]
    fn a_secret_is_32_bytes_of_hex() {
        assert!(SoftwareDiscountKey::from_hex(&"ab".repeat(32)).is_ok());
        assert!(SoftwareDiscountKey::from_hex(&"ab".repeat(31)).is_err());
        assert!(SoftwareDiscountKey::from_hex("not hex").is_err());
    }

    #[test]
    fn codes_compare_whole() {
        assert!(same_code("12345678", "12345678"));
        assert!(!same_code("12345678", "12345679"));
        assert!(!same_code("12345678", "1234567"));
        assert!(!same_code("12345678", "02345678"));
    }
}
