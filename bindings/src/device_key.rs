//! The phone's device key across the FFI: the shells hold the private key in
//! the platform keystore (Android Keystore, the iOS Secure Enclave/Keychain,
//! a key file on the desktop build) behind [`DeviceKeyHolder`], which the
//! core calls to register the public half at enrolment (version 2) and to
//! sign every sign-off's evidence (`doorstep_core::device_key`). The private
//! key never crosses.

use doorstep_core::device_key::{DeviceKey, DeviceKeyError};
use std::sync::Arc;

/// Why the platform keystore could not give the key or sign.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum DeviceKeyFailure {
    #[error("keystore: {reason}")]
    Keystore { reason: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for DeviceKeyFailure {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Keystore { reason: e.reason }
    }
}

/// The phone's ECDSA P-256 key in the platform keystore (implemented in
/// Kotlin/Swift). Made once, at first enrolment, and kept.
#[uniffi::export(with_foreign)]
pub trait DeviceKeyHolder: Send + Sync {
    /// The public key: an X.509 SubjectPublicKeyInfo (Android's
    /// `PublicKey.getEncoded()`) or a SEC1 point (iOS's external
    /// representation).
    fn public_key(&self) -> Result<Vec<u8>, DeviceKeyFailure>;
    /// ECDSA P-256 over SHA-256 of `message`, DER-encoded
    /// ("SHA256withECDSA"; iOS `ecdsaSignatureMessageX962SHA256`).
    fn sign(&self, message: Vec<u8>) -> Result<Vec<u8>, DeviceKeyFailure>;
}

/// The core's [`DeviceKey`] over the shell's holder.
pub(crate) struct ForeignDeviceKey(pub(crate) Arc<dyn DeviceKeyHolder>);

impl DeviceKey for ForeignDeviceKey {
    fn public_key(&self) -> Result<Vec<u8>, DeviceKeyError> {
        self.0
            .public_key()
            .map_err(|e| DeviceKeyError(e.to_string()))
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, DeviceKeyError> {
        self.0
            .sign(message.to_vec())
            .map_err(|e| DeviceKeyError(e.to_string()))
    }
}
