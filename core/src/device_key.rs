//! The phone's device key: an ECDSA P-256 key (what Android Keystore and the
//! iOS Secure Enclave hold) that signs every sign-off's evidence record, and
//! the verification the server runs against the public key the phone
//! registered at enrolment (version 2).
//!
//! What is signed: the evidence record's digest (`SignOffEvidence::digest`,
//! the record with `device_signature` null) as its 64 lower-case hex
//! characters, UTF-8, with ECDSA P-256 over SHA-256 ("SHA256withECDSA" on
//! Android, `ecdsaSignatureMessageX962SHA256` on iOS). The signature is kept
//! in the record's `device_signature` as the hex of its DER encoding. A
//! public key is accepted as a SEC1 point (65 bytes uncompressed, as iOS
//! exports it, or 33 compressed) or an X.509 SubjectPublicKeyInfo (as
//! Android's `getEncoded()` gives it), in hex.
//!
//! The shells keep the private key in the platform keystore behind the
//! [`DeviceKey`] trait; the CLI and the tests use a [`SoftwareDeviceKey`].

use crate::workflow::signature::SignOffEvidence;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{DerSignature, Signature, SigningKey, VerifyingKey};
use p256::pkcs8::DecodePublicKey;
use std::path::Path;

/// Why the device key could not sign or be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("device key: {0}")]
pub struct DeviceKeyError(pub String);

/// A key that signs for this phone. The shells implement it over the
/// platform keystore; the private key never leaves it.
pub trait DeviceKey: Send + Sync {
    /// The public key to register at enrolment (SEC1 or SubjectPublicKeyInfo bytes).
    fn public_key(&self) -> Result<Vec<u8>, DeviceKeyError>;
    /// ECDSA P-256 over SHA-256 of `message`, DER-encoded.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, DeviceKeyError>;
}

/// Signs `evidence` with `key`: sets `device_signature` to the hex of the
/// DER signature over the record's digest.
pub fn sign_evidence(
    key: &dyn DeviceKey,
    evidence: &mut SignOffEvidence,
) -> Result<(), DeviceKeyError> {
    let digest = evidence.digest();
    let der = key.sign(digest.as_bytes())?;
    evidence.device_signature = Some(hex::encode(der));
    Ok(())
}

/// Why a sign-off's device signature does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceSignatureProblem {
    #[error("the evidence carries no device signature")]
    Missing,
    #[error("the device signature is not hex-encoded DER ECDSA: {0}")]
    Malformed(String),
    #[error("the device signature does not verify against the enrolled key")]
    Wrong,
}

/// Parses a registered public key (hex of SEC1 or SubjectPublicKeyInfo);
/// the error says what would be accepted.
pub fn parse_public_key(hex_key: &str) -> Result<VerifyingKey, String> {
    let what = "the hex of a P-256 public key: a SEC1 point (65 bytes starting 04, or 33) \
                or an X.509 SubjectPublicKeyInfo";
    let bytes = hex::decode(hex_key.trim()).map_err(|_| format!("not hex; expected {what}"))?;
    VerifyingKey::from_sec1_bytes(&bytes)
        .or_else(|_| VerifyingKey::from_public_key_der(&bytes))
        .map_err(|_| format!("not a P-256 public key; expected {what}"))
}

/// A registered public key in the one form the server keeps: the hex of
/// its uncompressed SEC1 point.
pub fn normalised_public_key(hex_key: &str) -> Result<String, String> {
    parse_public_key(hex_key).map(|k| hex::encode(k.to_encoded_point(false).as_bytes()))
}

/// Checks `evidence.device_signature` against `public_key`.
pub fn verify_evidence(
    public_key: &VerifyingKey,
    evidence: &SignOffEvidence,
) -> Result<(), DeviceSignatureProblem> {
    let sig = evidence
        .device_signature
        .as_deref()
        .ok_or(DeviceSignatureProblem::Missing)?;
    let der = hex::decode(sig).map_err(|e| DeviceSignatureProblem::Malformed(e.to_string()))?;
    let sig =
        Signature::from_der(&der).map_err(|e| DeviceSignatureProblem::Malformed(e.to_string()))?;
    public_key
        .verify(evidence.digest().as_bytes(), &sig)
        .map_err(|_| DeviceSignatureProblem::Wrong)
}

/// A device key held in memory and, for the CLI and tests, in a file: the
/// 32-byte secret scalar in hex.
#[derive(Clone)]
pub struct SoftwareDeviceKey {
    key: SigningKey,
}

impl std::fmt::Debug for SoftwareDeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftwareDeviceKey")
            .field("public_key", &self.public_key_hex())
            .finish_non_exhaustive()
    }
}

impl SoftwareDeviceKey {
    /// A new random key (the operating system's random source).
    pub fn generate() -> Self {
        Self {
            key: SigningKey::random(&mut p256::elliptic_curve::rand_core::OsRng),
        }
    }

    /// The key whose secret scalar is `secret` (32 bytes).
    pub fn from_secret(secret: &[u8]) -> Result<Self, DeviceKeyError> {
        SigningKey::from_slice(secret)
            .map(|key| Self { key })
            .map_err(|_| DeviceKeyError("not a P-256 secret key (32 bytes, in range)".into()))
    }

    /// Reads the key kept at `path`, or makes one and keeps it there
    /// (readable by the owner only).
    pub fn load_or_create(path: &Path) -> Result<Self, DeviceKeyError> {
        let io = |e: std::io::Error| DeviceKeyError(format!("{}: {e}", path.display()));
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let secret = hex::decode(text.trim()).map_err(|_| {
                    DeviceKeyError(format!("{}: not a hex secret key", path.display()))
                })?;
                Self::from_secret(&secret)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate();
                let secret = hex::encode(key.key.to_bytes());
                crate::key_file::write_private(path, &secret).map_err(io)?;
                Ok(key)
            }
            Err(e) => Err(io(e)),
        }
    }

    /// The public key as registered: hex of the uncompressed SEC1 point.
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.key.verifying_key().to_encoded_point(false).as_bytes())
    }
}

impl DeviceKey for SoftwareDeviceKey {
    fn public_key(&self) -> Result<Vec<u8>, DeviceKeyError> {
        Ok(self
            .key
            .verifying_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec())
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, DeviceKeyError> {
        let sig: DerSignature = self.key.sign(message);
        Ok(sig.as_bytes().to_vec())
    }
}
