//! Known-answer vectors for what the customer's signature binds (docs/SIGNOFF.md,
//! "Known-answer vectors"): a fixed report of each format and a fixed evidence
//! record, their exact canonical JSON and their SHA-256. Any change to the
//! serialisation, a field's name or the set of fields fails here, so a format
//! change is deliberate: bump `REPORT_FORMAT` and add the new format's vector.
//! The hex digests were computed from the canonical text with `sha256sum`,
//! not with this crate.

use doorstep_core::canonical;
use doorstep_core::signoff::{Report, SignOffEvidence, REPORT_FORMAT};

/// Report format 1: a paid appliance repair with a hidden fault, a
/// discounted quote and a warranty-card line.
const REPORT_FORMAT_1_CANONICAL: &str = r#"{"arrived_at":"2026-11-25T09:50:00Z","assignment_id":"A-1001","assignment_version":1,"comment":"师傅很专业","consent_digest":"bba0828e66430ad205d2028192749a2e1f24ac9d825934090cc4f442c3aa9e0c","fault_cause":"Start relay burnt out","format":1,"hidden_faults":["Door hinge cracked"],"paid_total":13500,"payment":{"amount":13500,"method":"cash","receipt":{"kind":"receipt","number":"R-2026-0042"}},"quote":{"covered_total":0,"currency":"CNY","customer_total":13500,"deposit_total":0,"discount":{"amount":500,"approval_code":"C-2026-77","approved_by":"Center Zhang"},"lines":[{"amount":3000,"item":"visit_fee","kind":"visit","payer":"customer","qty":1,"schedule_price":3000,"unit_price":3000,"warranty_card_price":null},{"amount":5000,"item":"labour_basic","kind":"labour","payer":"customer","qty":1,"schedule_price":5000,"unit_price":5000,"warranty_card_price":null},{"amount":6000,"item":"part_compressor_relay","kind":"part","payer":"customer","qty":1,"schedule_price":6500,"unit_price":6000,"warranty_card_photo":"photo-card-1","warranty_card_price":6000}],"revision":1,"warranty":"out_of_warranty"},"quote_accepted":true,"ratings":{"attitude":4,"quality":5},"report_version":1,"test_passed":true,"trade":"appliance_repair","trip":1,"visit_id":"00000000-0000-0d00-0000-000000000001","work":[{"at":"2026-11-25T10:30:00Z","description":"Replaced compressor start relay","kind":"repair","parts_used":[{"item":"part_compressor_relay","new_serial":"R-NEW-9","old_serial":"R-OLD-1"}]}]}"#;
const REPORT_FORMAT_1_DIGEST: &str =
    "14095176b0afb156969a8b70ad4fcf962ca0184984fca1d705bc632546c333aa";

/// Report format 2: the same visit with its photos by digest (three taken,
/// whose bytes are the ASCII texts "nameplate photo bytes", "fault before
/// photo bytes" and "after repair photo bytes", and one the customer did
/// not allow, with the reason).
const REPORT_FORMAT_2_CANONICAL: &str = r#"{"arrived_at":"2026-11-25T09:50:00Z","assignment_id":"A-1001","assignment_version":1,"comment":"师傅很专业","consent_digest":"bba0828e66430ad205d2028192749a2e1f24ac9d825934090cc4f442c3aa9e0c","fault_cause":"Start relay burnt out","format":2,"hidden_faults":["Door hinge cracked"],"paid_total":13500,"payment":{"amount":13500,"method":"cash","receipt":{"kind":"receipt","number":"R-2026-0042"}},"photos":[{"digest":"5f8d85373599f77b43911abd5509852a8f8816b029eaccba47c9bf8e1569591f","moment":"nameplate","not_taken_reason":null},{"digest":"aa741f5f97348916ee46f511430b1469f4db9ef1ca87e8e18f7c5940c3118fb7","moment":"fault_before","not_taken_reason":null},{"digest":"efd835fa7b3e02db1bafd3d6c0b62c143ba0ef92fc6e466759ec2d747ae53c9b","moment":"after_repair","not_taken_reason":null},{"digest":null,"moment":"old_part","not_taken_reason":"客户要求保留旧件，未拍照"}],"quote":{"covered_total":0,"currency":"CNY","customer_total":13500,"deposit_total":0,"discount":{"amount":500,"approval_code":"C-2026-77","approved_by":"Center Zhang"},"lines":[{"amount":3000,"item":"visit_fee","kind":"visit","payer":"customer","qty":1,"schedule_price":3000,"unit_price":3000,"warranty_card_price":null},{"amount":5000,"item":"labour_basic","kind":"labour","payer":"customer","qty":1,"schedule_price":5000,"unit_price":5000,"warranty_card_price":null},{"amount":6000,"item":"part_compressor_relay","kind":"part","payer":"customer","qty":1,"schedule_price":6500,"unit_price":6000,"warranty_card_photo":"photo-card-1","warranty_card_price":6000}],"revision":1,"warranty":"out_of_warranty"},"quote_accepted":true,"ratings":{"attitude":4,"quality":5},"report_version":1,"test_passed":true,"trade":"appliance_repair","trip":1,"visit_id":"00000000-0000-0d00-0000-000000000001","work":[{"at":"2026-11-25T10:30:00Z","description":"Replaced compressor start relay","kind":"repair","parts_used":[{"item":"part_compressor_relay","new_serial":"R-NEW-9","old_serial":"R-OLD-1"}]}]}"#;
const REPORT_FORMAT_2_DIGEST: &str =
    "d60fd2fd8fa86563b5adfe3abf8bc6f223cc38ae7255a74d402f8fa5b50f1ca9";

/// Report format 3: the same visit walked with the company's version 2 of
/// the appliance-repair playbook.
const REPORT_FORMAT_3_CANONICAL: &str = r#"{"arrived_at":"2026-11-25T09:50:00Z","assignment_id":"A-1001","assignment_version":1,"comment":"师傅很专业","consent_digest":"bba0828e66430ad205d2028192749a2e1f24ac9d825934090cc4f442c3aa9e0c","fault_cause":"Start relay burnt out","format":3,"hidden_faults":["Door hinge cracked"],"paid_total":13500,"payment":{"amount":13500,"method":"cash","receipt":{"kind":"receipt","number":"R-2026-0042"}},"photos":[{"digest":"5f8d85373599f77b43911abd5509852a8f8816b029eaccba47c9bf8e1569591f","moment":"nameplate","not_taken_reason":null},{"digest":"aa741f5f97348916ee46f511430b1469f4db9ef1ca87e8e18f7c5940c3118fb7","moment":"fault_before","not_taken_reason":null},{"digest":"efd835fa7b3e02db1bafd3d6c0b62c143ba0ef92fc6e466759ec2d747ae53c9b","moment":"after_repair","not_taken_reason":null},{"digest":null,"moment":"old_part","not_taken_reason":"客户要求保留旧件，未拍照"}],"playbook_version":2,"quote":{"covered_total":0,"currency":"CNY","customer_total":13500,"deposit_total":0,"discount":{"amount":500,"approval_code":"C-2026-77","approved_by":"Center Zhang"},"lines":[{"amount":3000,"item":"visit_fee","kind":"visit","payer":"customer","qty":1,"schedule_price":3000,"unit_price":3000,"warranty_card_price":null},{"amount":5000,"item":"labour_basic","kind":"labour","payer":"customer","qty":1,"schedule_price":5000,"unit_price":5000,"warranty_card_price":null},{"amount":6000,"item":"part_compressor_relay","kind":"part","payer":"customer","qty":1,"schedule_price":6500,"unit_price":6000,"warranty_card_photo":"photo-card-1","warranty_card_price":6000}],"revision":1,"warranty":"out_of_warranty"},"quote_accepted":true,"ratings":{"attitude":4,"quality":5},"report_version":1,"test_passed":true,"trade":"appliance_repair","trip":1,"visit_id":"00000000-0000-0d00-0000-000000000001","work":[{"at":"2026-11-25T10:30:00Z","description":"Replaced compressor start relay","kind":"repair","parts_used":[{"item":"part_compressor_relay","new_serial":"R-NEW-9","old_serial":"R-OLD-1"}]}]}"#;
const REPORT_FORMAT_3_DIGEST: &str =
    "cc1e11f2c5471acf24048b99b6cc2a0b226cfa11dd3d2e46f6fd1712a52c3dee";

/// The evidence record signing that report (with a location and a previous record).
const EVIDENCE_CANONICAL: &str = r#"{"consent_digest":"bba0828e66430ad205d2028192749a2e1f24ac9d825934090cc4f442c3aa9e0c","device_id":"dev-1","device_signature":null,"location":{"accuracy_m":8.5,"lat":31.2304,"lon":121.4737},"previous_evidence_digest":"0f4c3a57e3e2b1d0c9a8b7f6e5d4c3b2a1908f7e6d5c4b3a29180f7e6d5c4b3a","report_digest":"14095176b0afb156969a8b70ad4fcf962ca0184984fca1d705bc632546c333aa","signed_at":"2026-11-25T10:55:00Z","strokes_digest":"99932d4d2aa838a0e0acdaf62d8a690a2833e8240e481adb7b8fe6ba0b72fc36"}"#;
const EVIDENCE_DIGEST: &str = "e9ac97ee9f865ef6b5f266847fb90dbc63ebd7343929d186970ccda3b889b830";

#[test]
fn report_format_1_has_a_known_canonical_form_and_digest() {
    let report: Report = serde_json::from_str(REPORT_FORMAT_1_CANONICAL).unwrap();
    assert_eq!(report.format, 1);
    assert_eq!(report.canonical_json(), REPORT_FORMAT_1_CANONICAL);
    assert_eq!(report.digest(), REPORT_FORMAT_1_DIGEST);
}

#[test]
fn report_format_2_has_a_known_canonical_form_and_digest() {
    let report: Report = serde_json::from_str(REPORT_FORMAT_2_CANONICAL).unwrap();
    assert_eq!(report.format, 2);
    assert_eq!(report.photos.as_ref().map(Vec::len), Some(4));
    assert_eq!(report.canonical_json(), REPORT_FORMAT_2_CANONICAL);
    assert_eq!(report.digest(), REPORT_FORMAT_2_DIGEST);
    assert_eq!(
        canonical::sha256_hex(REPORT_FORMAT_2_CANONICAL.as_bytes()),
        REPORT_FORMAT_2_DIGEST
    );
}

#[test]
fn report_format_3_has_a_known_canonical_form_and_digest() {
    let report: Report = serde_json::from_str(REPORT_FORMAT_3_CANONICAL).unwrap();
    assert_eq!((report.format, report.playbook_version), (3, Some(2)));
    assert_eq!(report.canonical_json(), REPORT_FORMAT_3_CANONICAL);
    assert_eq!(report.digest(), REPORT_FORMAT_3_DIGEST);
    assert_eq!(
        canonical::sha256_hex(REPORT_FORMAT_3_CANONICAL.as_bytes()),
        REPORT_FORMAT_3_DIGEST
    );
}

#[test]
fn reports_before_format_3_name_no_playbook_version() {
    for text in [REPORT_FORMAT_1_CANONICAL, REPORT_FORMAT_2_CANONICAL] {
        let report: Report = serde_json::from_str(text).unwrap();
        assert_eq!(report.playbook_version, None);
        assert!(!report.canonical_json().contains("playbook_version"));
    }
}

#[test]
fn a_format_1_report_has_no_photos_key() {
    let report: Report = serde_json::from_str(REPORT_FORMAT_1_CANONICAL).unwrap();
    assert_eq!(report.photos, None);
    assert!(!report.canonical_json().contains("\"photos\""));
}

#[test]
fn every_report_format_in_use_has_a_known_answer_vector() {
    // Bumping the format without adding its vector above fails here.
    let vectors = [1u32, 2, 3];
    for format in doorstep_core::signoff::REPORT_FORMATS {
        assert!(
            vectors.contains(&format),
            "report format {format} has no known-answer vector"
        );
    }
    assert!(
        vectors.contains(&REPORT_FORMAT),
        "REPORT_FORMAT {REPORT_FORMAT} has no known-answer vector"
    );
}

#[test]
fn the_report_digest_is_plain_sha256_of_the_canonical_text() {
    assert_eq!(
        canonical::sha256_hex(REPORT_FORMAT_1_CANONICAL.as_bytes()),
        REPORT_FORMAT_1_DIGEST
    );
    assert_eq!(
        canonical::sha256_hex(b"I confirm the work and amounts above."),
        "bba0828e66430ad205d2028192749a2e1f24ac9d825934090cc4f442c3aa9e0c"
    );
}

#[test]
fn evidence_record_has_a_known_canonical_form_and_digest() {
    let evidence: SignOffEvidence = serde_json::from_str(EVIDENCE_CANONICAL).unwrap();
    assert_eq!(evidence.report_digest, REPORT_FORMAT_1_DIGEST);
    assert_eq!(
        canonical::to_canonical_json(&evidence).unwrap(),
        EVIDENCE_CANONICAL
    );
    assert_eq!(evidence.digest(), EVIDENCE_DIGEST);
}

#[test]
fn the_evidence_digest_leaves_out_the_device_signature() {
    let mut evidence: SignOffEvidence = serde_json::from_str(EVIDENCE_CANONICAL).unwrap();
    evidence.device_signature = Some("MEUCIQDkeystore-signature".into());
    assert_eq!(
        evidence.digest(),
        EVIDENCE_DIGEST,
        "the key signs the digest, so the digest cannot include the signature"
    );
}

#[test]
fn docs_signoff_publishes_the_same_vectors() {
    let doc = include_str!("../../docs/SIGNOFF.md");
    for text in [
        REPORT_FORMAT_1_CANONICAL,
        REPORT_FORMAT_1_DIGEST,
        REPORT_FORMAT_2_CANONICAL,
        REPORT_FORMAT_2_DIGEST,
        EVIDENCE_CANONICAL,
        EVIDENCE_DIGEST,
    ] {
        assert!(doc.contains(text), "docs/SIGNOFF.md lacks {text}");
    }
}
