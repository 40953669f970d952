//! The phone's discount secret across the FFI (STANDARDS §2.12, 报价: a
//! discount needs the center's approval). Enrolment issues a per-device
//! secret (`Enrolment::discount_secret`); the shells import it into the
//! platform keystore (an HMAC key in Android Keystore, a Keychain item on
//! iOS, a 0600 file on the desktop build) and give the store a
//! [`DiscountKeyHolder`] over it. The core calls the holder to check the
//! short code the center reads out when the phone cannot sync
//! (`doorstep_core::discount_approval`); only the MAC crosses, never the
//! secret.

use doorstep_core::discount_approval::{DiscountCodeKey, DiscountKeyError};
use std::sync::Arc;

/// Why the platform keystore could not give the discount key or its MAC.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum DiscountKeyFailure {
    #[error("keystore: {reason}")]
    Keystore { reason: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for DiscountKeyFailure {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Keystore { reason: e.reason }
    }
}

/// The device's discount secret in the platform keystore (implemented in
/// Kotlin/Swift), imported once from the enrolment that issued it.
#[uniffi::export(with_foreign)]
pub trait DiscountKeyHolder: Send + Sync {
    /// HMAC-SHA256 of `message` under the secret: 32 bytes (Java's
    /// `Mac.getInstance("HmacSHA256")`, CryptoKit's `HMAC<SHA256>`).
    fn mac(&self, message: Vec<u8>) -> Result<Vec<u8>, DiscountKeyFailure>;
}

/// The core's [`DiscountCodeKey`] over the shell's holder.
pub(crate) struct ForeignDiscountKey(pub(crate) Arc<dyn DiscountKeyHolder>);

impl DiscountCodeKey for ForeignDiscountKey {
    fn mac(&self, message: &[u8]) -> Result<Vec<u8>, DiscountKeyError> {
        self.0
            .mac(message.to_vec())
            .map_err(|e| DiscountKeyError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use doorstep_core::discount_approval::{short_code, SoftwareDiscountKey};

    /// A shell's holder as the core sees it: here over the core's own
    /// software key, or a keystore that has no secret.
    struct Holder(Option<SoftwareDiscountKey>);

    impl DiscountKeyHolder for Holder {
        fn mac(&self, message: Vec<u8>) -> Result<Vec<u8>, DiscountKeyFailure> {
            let key = self
                .0
                .as_ref()
                .ok_or_else(|| DiscountKeyFailure::Keystore {
                    reason: "no discount secret".into(),
                })?;
            key.mac(&message)
                .map_err(|e| DiscountKeyFailure::Keystore { reason: e.0 })
        }
    }

    #[test]
    fn the_shells_holder_gives_the_codes_the_center_issues() {
        let secret = [0x5a; 32];
        let foreign = ForeignDiscountKey(Arc::new(Holder(Some(SoftwareDiscountKey::new(&secret)))));
        let center = SoftwareDiscountKey::new(&secret);
        assert_eq!(
            short_code(&foreign, "A-1001", 1000).unwrap(),
            short_code(&center, "A-1001", 1000).unwrap()
        );

        let empty = ForeignDiscountKey(Arc::new(Holder(None)));
        let e = short_code(&empty, "A-1001", 1000).unwrap_err();
        assert_eq!(e.0, "keystore: no discount secret");
    }
}
