//! Device signatures (`doorstep_core::device_key`): a software key signs a
//! sign-off's evidence digest, the signature verifies against the public
//! key as registered (SEC1 or SubjectPublicKeyInfo hex), and any change to
//! the record or the signature fails; the key file survives reopening.

use chrono::{TimeZone, Utc};
use doorstep_core::device_key::{
    normalised_public_key, parse_public_key, sign_evidence, verify_evidence, DeviceKey,
    DeviceSignatureProblem, SoftwareDeviceKey,
};
use doorstep_core::signoff::SignOffEvidence;
use doorstep_core::DeviceId;

fn evidence() -> SignOffEvidence {
    SignOffEvidence {
        report_digest: "14095176b0afb156969a8b70ad4fcf962ca0184984fca1d705bc632546c333aa".into(),
        strokes_digest: "99932d4d2aa838a0e0acdaf62d8a690a2833e8240e481adb7b8fe6ba0b72fc36".into(),
        consent_digest: "bba0828e66430ad205d2028192749a2e1f24ac9d825934090cc4f442c3aa9e0c".into(),
        device_id: DeviceId::new("dev-1").unwrap(),
        signed_at: Utc.with_ymd_and_hms(2026, 11, 25, 10, 55, 0).unwrap(),
        location: None,
        previous_evidence_digest: None,
        device_signature: None,
    }
}

#[test]
fn a_signed_evidence_record_verifies_and_keeps_its_digest() {
    let key = SoftwareDeviceKey::generate();
    let mut e = evidence();
    let digest = e.digest();
    sign_evidence(&key, &mut e).unwrap();
    assert!(e.device_signature.is_some());
    assert_eq!(
        e.digest(),
        digest,
        "the signature is not part of the digest"
    );
    let public = parse_public_key(&key.public_key_hex()).unwrap();
    verify_evidence(&public, &e).unwrap();
}

#[test]
fn a_tampered_record_or_signature_or_another_key_does_not_verify() {
    let key = SoftwareDeviceKey::generate();
    let public = parse_public_key(&key.public_key_hex()).unwrap();
    let mut e = evidence();
    sign_evidence(&key, &mut e).unwrap();
    let mut changed = e.clone();
    changed.report_digest = "0".repeat(64);
    assert_eq!(
        verify_evidence(&public, &changed),
        Err(DeviceSignatureProblem::Wrong)
    );
    let other = parse_public_key(&SoftwareDeviceKey::generate().public_key_hex()).unwrap();
    assert_eq!(
        verify_evidence(&other, &e),
        Err(DeviceSignatureProblem::Wrong)
    );
    let mut garbled = e.clone();
    garbled.device_signature = Some("zz".into());
    assert!(matches!(
        verify_evidence(&public, &garbled),
        Err(DeviceSignatureProblem::Malformed(_))
    ));
    assert_eq!(
        verify_evidence(&public, &evidence()),
        Err(DeviceSignatureProblem::Missing)
    );
}

#[test]
fn a_public_key_is_accepted_as_sec1_or_subject_public_key_info() {
    let key = SoftwareDeviceKey::generate();
    let sec1 = key.public_key_hex();
    // The X.509 SubjectPublicKeyInfo prefix of a P-256 key (Android's getEncoded()).
    let spki = format!("3059301306072a8648ce3d020106082a8648ce3d030107034200{sec1}");
    assert_eq!(normalised_public_key(&spki).unwrap(), sec1);
    assert_eq!(hex::encode(key.public_key().unwrap()), sec1);
    let e = normalised_public_key("04abcd").unwrap_err();
    assert!(e.contains("SEC1"), "{e}");
    assert!(normalised_public_key("not hex").is_err());
}

#[test]
fn a_key_file_is_made_once_and_read_back() {
    let dir = std::env::temp_dir().join(format!("doorstep-key-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("phone.db.device-key");
    let made = SoftwareDeviceKey::load_or_create(&path).unwrap();
    let again = SoftwareDeviceKey::load_or_create(&path).unwrap();
    assert_eq!(made.public_key_hex(), again.public_key_hex());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "readable by the owner only");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_key_shows_its_public_half_and_never_its_secret() {
    let secret = [7u8; 32];
    let key = SoftwareDeviceKey::from_secret(&secret).unwrap();
    let shown = format!("{key:?}");
    assert!(shown.contains(&key.public_key_hex()), "{shown}");
    assert!(!shown.contains(&hex::encode(secret)), "{shown}");
}

#[test]
fn a_key_file_that_cannot_be_read_is_refused_and_left_as_it_is() {
    let dir = std::env::temp_dir().join(format!("doorstep-key-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("phone.db.device-key");
    std::fs::write(&path, [0xFF, 0xFE, 0x00]).unwrap();
    let e = SoftwareDeviceKey::load_or_create(&path).unwrap_err();
    assert!(e.to_string().contains("UTF-8"), "{e}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        [0xFF, 0xFE, 0x00],
        "not replaced by a new key"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
