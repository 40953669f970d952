//! A company's own playbook version, published from the server to phones:
//! signed by the server's playbook key so a phone runs only what the center
//! published, whatever carried it.
//!
//! What is signed: the UTF-8 bytes of `doorstep-playbook-v1\n` followed by
//! the playbook's canonical JSON (`crate::canonical`), with ECDSA P-256 over
//! SHA-256; the signature is the hex of its DER encoding. The public half
//! reaches the phone at enrolment (`playbook_key`, the hex of the SEC1
//! point) and the phone pins it; a body whose signature, trade or version
//! does not check out is refused before anything stores it.

use super::{Playbook, PlaybookError};
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{DerSignature, Signature, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

/// What the signature covers, before the body.
const DOMAIN: &str = "doorstep-playbook-v1\n";

/// A published playbook as it travels: the trade and version it claims,
/// the body (the playbook's canonical JSON) and the server's signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedPlaybook {
    pub trade: String,
    pub version: i64,
    pub body: String,
    /// Hex of the DER ECDSA P-256 signature over `DOMAIN` + `body`.
    pub signature: String,
}

/// Why a published playbook is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PublishedPlaybookError {
    #[error("playbook_key: {0}")]
    Key(String),
    #[error("signature: not the server's signature over this playbook")]
    BadSignature,
    #[error("body: {0}")]
    Invalid(#[from] PlaybookError),
    #[error("{field}: the body says {inside}, the envelope {outside}")]
    Mismatch {
        field: &'static str,
        inside: String,
        outside: String,
    },
}

/// The server's playbook signing key (its secret scalar is kept in the
/// server's settings).
#[derive(Clone)]
pub struct PlaybookSigningKey {
    key: SigningKey,
}

/// Never shows the secret.
impl std::fmt::Debug for PlaybookSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlaybookSigningKey")
            .field("public_key", &self.public_key_hex())
            .finish_non_exhaustive()
    }
}

impl PlaybookSigningKey {
    /// A new random key (the operating system's random source).
    pub fn generate() -> Self {
        Self {
            key: SigningKey::random(&mut p256::elliptic_curve::rand_core::OsRng),
        }
    }

    /// The key whose secret scalar is the 64 hex digits `secret`.
    pub fn from_hex(secret: &str) -> Result<Self, PublishedPlaybookError> {
        let bytes = hex::decode(secret.trim())
            .map_err(|_| PublishedPlaybookError::Key("the secret is not hex".into()))?;
        SigningKey::from_slice(&bytes)
            .map(|key| Self { key })
            .map_err(|_| PublishedPlaybookError::Key("not a P-256 secret key".into()))
    }

    /// The secret scalar in hex, for the server to keep.
    pub fn secret_hex(&self) -> String {
        hex::encode(self.key.to_bytes())
    }

    /// The public half the phones pin: the hex of the uncompressed SEC1 point.
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.key.verifying_key().to_encoded_point(false).as_bytes())
    }

    /// `playbook` signed for the phones.
    pub fn sign(&self, playbook: &Playbook) -> PublishedPlaybook {
        let body = crate::canonical::to_canonical_json(playbook).unwrap_or_default();
        let signature: DerSignature = self.key.sign(signed_message(&body).as_bytes());
        PublishedPlaybook {
            trade: playbook.id.as_str().to_string(),
            version: playbook.version,
            body,
            signature: hex::encode(signature.as_bytes()),
        }
    }
}

fn signed_message(body: &str) -> String {
    format!("{DOMAIN}{body}")
}

impl PublishedPlaybook {
    /// The playbook, once its signature checks under `public_key` (hex of
    /// the SEC1 point), its body validates, and the body's trade and
    /// version are the envelope's.
    pub fn verify(&self, public_key: &str) -> Result<Playbook, PublishedPlaybookError> {
        let key = hex::decode(public_key.trim())
            .ok()
            .and_then(|b| VerifyingKey::from_sec1_bytes(&b).ok())
            .ok_or_else(|| {
                PublishedPlaybookError::Key(
                    "expected the hex of a P-256 public key (SEC1 point)".into(),
                )
            })?;
        let signature = hex::decode(&self.signature)
            .ok()
            .and_then(|der| Signature::from_der(&der).ok())
            .ok_or(PublishedPlaybookError::BadSignature)?;
        key.verify(signed_message(&self.body).as_bytes(), &signature)
            .map_err(|_| PublishedPlaybookError::BadSignature)?;
        let source = format!("{} v{}", self.trade, self.version);
        let playbook = Playbook::from_json(&source, &self.body)?;
        if playbook.id.as_str() != self.trade {
            return Err(PublishedPlaybookError::Mismatch {
                field: "trade",
                inside: playbook.id.to_string(),
                outside: self.trade.clone(),
            });
        }
        if playbook.version != self.version {
            return Err(PublishedPlaybookError::Mismatch {
                field: "version",
                inside: playbook.version.to_string(),
                outside: self.version.to_string(),
            });
        }
        Ok(playbook)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custom(version: i64) -> Playbook {
        let mut pb = Playbook::shipped_by_id("appliance_repair").unwrap();
        pb.version = version;
        pb
    }

    #[test]
    fn a_playbook_signed_by_the_server_verifies_under_its_public_key() {
        let key = PlaybookSigningKey::generate();
        let published = key.sign(&custom(7));
        assert_eq!(
            (published.trade.as_str(), published.version),
            ("appliance_repair", 7)
        );
        assert_eq!(published.verify(&key.public_key_hex()).unwrap(), custom(7));
    }

    #[test]
    fn a_body_changed_after_signing_is_refused() {
        let key = PlaybookSigningKey::generate();
        let mut published = key.sign(&custom(2));
        published.body = published.body.replace("\"version\":2", "\"version\":3");
        published.version = 3;
        assert_eq!(
            published.verify(&key.public_key_hex()),
            Err(PublishedPlaybookError::BadSignature)
        );
    }

    #[test]
    fn a_playbook_signed_by_another_key_is_refused() {
        let published = PlaybookSigningKey::generate().sign(&custom(2));
        let pinned = PlaybookSigningKey::generate().public_key_hex();
        assert_eq!(
            published.verify(&pinned),
            Err(PublishedPlaybookError::BadSignature)
        );
    }

    #[test]
    fn the_envelope_must_name_the_bodys_trade_and_version() {
        let key = PlaybookSigningKey::generate();
        let mut published = key.sign(&custom(2));
        published.version = 9;
        assert!(matches!(
            published.verify(&key.public_key_hex()),
            Err(PublishedPlaybookError::Mismatch {
                field: "version",
                ..
            })
        ));
        let mut published = key.sign(&custom(2));
        published.trade = "water_delivery".into();
        assert!(matches!(
            published.verify(&key.public_key_hex()),
            Err(PublishedPlaybookError::Mismatch { field: "trade", .. })
        ));
    }

    #[test]
    fn the_secret_round_trips_and_never_shows() {
        let key = PlaybookSigningKey::generate();
        let again = PlaybookSigningKey::from_hex(&key.secret_hex()).unwrap();
        assert_eq!(again.public_key_hex(), key.public_key_hex());
        let shown = format!("{key:?}");
        assert!(!shown.contains(&key.secret_hex()), "{shown}");
        assert!(shown.contains(&key.public_key_hex()), "{shown}");
        assert!(PlaybookSigningKey::from_hex("zz").is_err());
    }

    #[test]
    fn a_signed_but_invalid_playbook_is_refused_naming_the_field() {
        let key = PlaybookSigningKey::generate();
        let mut pb = custom(2);
        pb.version = 0;
        let published = key.sign(&pb);
        let err = published.verify(&key.public_key_hex()).unwrap_err();
        assert!(
            matches!(&err, PublishedPlaybookError::Invalid(e) if e.field == "version"),
            "{err:?}"
        );
    }
}
