//! The customer's acceptance code (验收码): six digits the center sends the
//! customer when the order is dispatched, which the customer reads out to
//! close the order (issue 19). The phone never holds the code, only an
//! [`AcceptanceCheck`]: a salted argon2id hash of the code bound to the work
//! order's id, deliberately slow so that the check cannot be walked through
//! all million codes on a lost phone. The phone checks at most
//! [`OFFLINE_ATTEMPTS`] codes; after that many wrong ones it stops answering
//! and the codes typed go to the center, which checks them (no oracle left
//! on the phone). The code is asked for in addition to the customer's
//! sign-off: it never replaces the signature and carries no rating
//! (STANDARDS §2.16).

use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};

/// The digits of a code.
pub const CODE_DIGITS: usize = 6;

/// Wrong codes the phone checks before it stops checking offline.
pub const OFFLINE_ATTEMPTS: u32 = 5;

/// How slow the hash is: argon2id's memory (KiB) and passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HashCost {
    pub memory_kib: u32,
    pub passes: u32,
}

impl HashCost {
    /// What the server issues with: OWASP's argon2id minimum (19 MiB, 2
    /// passes), a fraction of a second on a phone for each code checked.
    pub const ISSUED: HashCost = HashCost {
        memory_kib: 19_456,
        passes: 2,
    };
}

/// What the phone holds to check a code offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AcceptanceCheck {
    /// 16 random bytes, hex.
    pub salt: String,
    /// argon2id of `"{work order id}:{code}"`, 32 bytes, hex.
    pub hash: String,
    pub cost: HashCost,
}

/// A code is exactly [`CODE_DIGITS`] ASCII digits.
pub fn well_formed(code: &str) -> bool {
    code.len() == CODE_DIGITS && code.bytes().all(|b| b.is_ascii_digit())
}

impl AcceptanceCheck {
    /// The check for `code` on the work order `assignment_id`.
    pub fn issue(assignment_id: &str, code: &str, salt: [u8; 16], cost: HashCost) -> Self {
        AcceptanceCheck {
            salt: hex::encode(salt),
            hash: hex::encode(digest(assignment_id, code, &salt, cost).unwrap_or_default()),
            cost,
        }
    }

    /// Whether `code` is the one issued for `assignment_id`. A malformed
    /// check (bad hex, cost out of argon2's range) matches nothing.
    pub fn matches(&self, assignment_id: &str, code: &str) -> bool {
        let (Ok(salt), Ok(expected)) = (hex::decode(&self.salt), hex::decode(&self.hash)) else {
            return false;
        };
        digest(assignment_id, code, &salt, self.cost)
            .is_some_and(|got| constant_time_eq(&got, &expected))
    }
}

fn digest(assignment_id: &str, code: &str, salt: &[u8], cost: HashCost) -> Option<Vec<u8>> {
    let params = Params::new(cost.memory_kib, cost.passes, 1, Some(32)).ok()?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let mut out = vec![0u8; 32];
    let input = format!("{assignment_id}:{code}");
    argon
        .hash_password_into(input.as_bytes(), salt, &mut out)
        .ok()?;
    Some(out)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: HashCost = HashCost {
        memory_kib: 64,
        passes: 1,
    };

    #[test]
    fn the_issued_code_matches_and_no_other_does() {
        let check = AcceptanceCheck::issue("A-1", "482913", [7; 16], CHEAP);
        assert!(check.matches("A-1", "482913"));
        assert!(!check.matches("A-1", "482914"));
        assert!(!check.matches("A-1", ""));
    }

    #[test]
    fn a_check_is_bound_to_its_work_order() {
        let check = AcceptanceCheck::issue("A-1", "482913", [7; 16], CHEAP);
        assert!(!check.matches("A-2", "482913"));
    }

    #[test]
    fn the_salt_changes_the_hash() {
        let a = AcceptanceCheck::issue("A-1", "482913", [7; 16], CHEAP);
        let b = AcceptanceCheck::issue("A-1", "482913", [8; 16], CHEAP);
        assert_ne!(a.hash, b.hash);
        assert_eq!(a.hash.len(), 64);
    }

    #[test]
    fn a_damaged_check_matches_nothing() {
        let mut check = AcceptanceCheck::issue("A-1", "482913", [7; 16], CHEAP);
        check.hash = "zz".into();
        assert!(!check.matches("A-1", "482913"));
        let mut check = AcceptanceCheck::issue("A-1", "482913", [7; 16], CHEAP);
        check.cost.memory_kib = 1;
        assert!(!check.matches("A-1", "482913"));
        let mut check = AcceptanceCheck::issue("A-1", "482913", [7; 16], CHEAP);
        check.hash.clear();
        assert!(!check.matches("A-1", "482913"));
    }

    #[test]
    fn hashes_are_equal_only_byte_for_byte() {
        assert!(constant_time_eq(&[1, 2, 3], &[1, 2, 3]));
        assert!(!constant_time_eq(&[1, 2, 3], &[1, 2]));
        // Two differences that cancel out when combined by XOR still differ.
        assert!(!constant_time_eq(&[1, 1], &[0, 0]));
        assert!(!constant_time_eq(&[0, 7], &[0, 6]));
    }

    #[test]
    fn a_code_is_six_digits() {
        assert!(well_formed("000123"));
        for bad in ["12345", "1234567", "12345a", "１２３４５６", ""] {
            assert!(!well_formed(bad), "{bad}");
        }
    }

    #[test]
    fn the_issued_cost_is_owasp_s_argon2id_minimum() {
        assert_eq!(HashCost::ISSUED.memory_kib, 19_456);
        assert_eq!(HashCost::ISSUED.passes, 2);
    }
}
