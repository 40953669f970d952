//! RSA-SHA256 (PKCS#1 v1.5, "RSA2") as both payment providers use it: the
//! merchant's private key signs our requests, the provider's public key
//! checks its answers and notifications. Keys are PEM files named by the
//! settings (PKCS#8 or PKCS#1 private keys, SPKI or PKCS#1 public keys),
//! read when used. Only signing and verifying: RUSTSEC-2023-0071 (timing
//! in RSA decryption) does not concern this use.

use base64::Engine;
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::sha2::Sha256;
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use std::path::Path;

/// A private key from PEM text.
pub fn private_key(pem: &str) -> Result<RsaPrivateKey, String> {
    RsaPrivateKey::from_pkcs8_pem(pem)
        .or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem))
        .map_err(|e| format!("not an RSA private key in PEM: {e}"))
}

/// A public key from PEM text.
pub fn public_key(pem: &str) -> Result<RsaPublicKey, String> {
    RsaPublicKey::from_public_key_pem(pem)
        .or_else(|_| RsaPublicKey::from_pkcs1_pem(pem))
        .map_err(|e| format!("not an RSA public key in PEM: {e}"))
}

fn read(path: &Path, setting: &str) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map_err(|e| format!("{setting}: cannot read {}: {e}", path.display()))
}

/// The private key in the file `path` names (`setting` names it in errors).
pub fn private_key_file(path: Option<&Path>, setting: &str) -> Result<RsaPrivateKey, String> {
    let path = path.ok_or_else(|| format!("{setting} is not set"))?;
    private_key(&read(path, setting)?).map_err(|e| format!("{setting}: {e}"))
}

/// The public key in the file `path` names.
pub fn public_key_file(path: Option<&Path>, setting: &str) -> Result<RsaPublicKey, String> {
    let path = path.ok_or_else(|| format!("{setting} is not set"))?;
    public_key(&read(path, setting)?).map_err(|e| format!("{setting}: {e}"))
}

/// base64 of the RSA-SHA256 signature of `message`.
pub fn sign(key: &RsaPrivateKey, message: &[u8]) -> String {
    let signature = SigningKey::<Sha256>::new(key.clone()).sign(message);
    base64::engine::general_purpose::STANDARD.encode(signature.to_bytes())
}

/// Whether `signature` (base64) is `key`'s RSA-SHA256 signature of `message`.
pub fn verify(key: &RsaPublicKey, message: &[u8], signature: &str) -> bool {
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else {
        return false;
    };
    let Ok(signature) = Signature::try_from(bytes.as_slice()) else {
        return false;
    };
    VerifyingKey::<Sha256>::new(key.clone())
        .verify(message, &signature)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MERCHANT: &str = include_str!("../../test-keys/wechat-pay-merchant.pem");
    const MERCHANT_PUB: &str = include_str!("../../test-keys/wechat-pay-merchant.pub.pem");
    const FORGER_PUB: &str = include_str!("../../test-keys/forger.pub.pem");

    #[test]
    fn a_signature_verifies_with_its_public_key_only_and_over_its_message_only() {
        let key = private_key(MERCHANT).unwrap();
        let s = sign(&key, b"POST\n/v3/pay/transactions/native\n1\nn\n{}\n");
        let public = public_key(MERCHANT_PUB).unwrap();
        assert!(verify(
            &public,
            b"POST\n/v3/pay/transactions/native\n1\nn\n{}\n",
            &s
        ));
        assert!(!verify(
            &public,
            b"POST\n/v3/pay/transactions/native\n2\nn\n{}\n",
            &s
        ));
        assert!(!verify(
            &public_key(FORGER_PUB).unwrap(),
            b"POST\n/v3/pay/transactions/native\n1\nn\n{}\n",
            &s
        ));
        assert!(!verify(&public, b"x", "not base64!"));
    }
}
