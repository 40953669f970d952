//! The `doorstep` CLI as a technician's phone against a real server: enrol,
//! sync the day's work down, run a visit offline, sync it up.

use chrono::{Duration, Utc};
use doorstep_e2e::{appliance_visit, Center, TempDir};
use std::path::PathBuf;
use std::process::Command;

/// The `doorstep` binary next to this test's executable, (re)built first:
/// `cargo test -p doorstep-e2e` alone does not build another package's binary.
fn doorstep() -> PathBuf {
    static BUILT: std::sync::Once = std::sync::Once::new();
    BUILT.call_once(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let ok = Command::new(cargo)
            .args(["build", "-q", "-p", "doorstep-cli", "--bin", "doorstep"])
            .status()
            .unwrap()
            .success();
        assert!(ok, "building the doorstep CLI");
    });
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .and_then(|d| d.parent())
        .unwrap()
        .join("doorstep")
}

fn run(db: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(doorstep())
        .arg("device")
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_device_enrols_syncs_works_offline_and_syncs_again() {
    let center = Center::start().await;
    let (device, token) = center.technician("T-1").await;
    let start = (Utc::now() + Duration::days(1))
        .date_naive()
        .and_hms_opt(2, 0, 0)
        .unwrap()
        .and_utc();
    let a = center.assignment("T-1", start).await;
    let dir = TempDir::new("cli");
    let db = dir.0.join("phone.db");
    let (code, out, err) = run(
        &db,
        &[
            "enrol",
            "--device-id",
            &device,
            "--technician-id",
            "T-1",
            "--name",
            "王师傅",
            "--server",
            &center.base,
            "--token",
            &token,
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = run(&db, &["sync"]);
    assert_eq!(code, 0, "{out}{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["changes"], 1);
    // The day in the business time zone (Asia/Shanghai, sent with the pull).
    let day = doorstep_core::BusinessZone::shanghai()
        .date_of(start)
        .to_string();
    let (code, out, _) = run(&db, &["today", "--date", &day]);
    assert_eq!(code, 0);
    assert!(out.contains(a.as_str()), "{out}");
    // The visit, offline, as a script.
    let script: String = appliance_visit(start)
        .into_iter()
        .map(|(at, cmd)| serde_json::json!({"at": at, "command": cmd}).to_string() + "\n")
        .collect();
    let file = dir.0.join("visit.jsonl");
    std::fs::write(&file, script).unwrap();
    let (code, out, err) = run(
        &db,
        &["run", "--assignment", a.as_str(), file.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{out}{err}");
    // A refused command says why, in Chinese by default.
    let (code, _, err) = run(
        &db,
        &[
            "apply",
            "--assignment",
            a.as_str(),
            r#"{"type": "depart", "travel_minutes": 5}"#,
        ],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("visit_closed") && err.contains("服务"),
        "{err}"
    );
    let (code, out, err) = run(&db, &["sync"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, _) = run(&db, &["status"]);
    assert_eq!(code, 0);
    let status: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(status["pending"], 0);
    assert!(status["last_success_at"].is_string());
    let stored = center.stored_event_ids(&device).await;
    assert!(stored.len() >= 30, "{}", stored.len());
    // A second phone enrols itself through the server with a dispatcher's login.
    let other = dir.0.join("second.db");
    let (code, out, err) = run(
        &other,
        &[
            "enrol",
            "--device-id",
            "phone-T-1-b",
            "--technician-id",
            "T-1",
            "--name",
            "王师傅",
            "--server",
            &center.base,
            "--dispatcher",
            "desk",
            "--password",
            doorstep_e2e::PASSWORD,
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = run(&other, &["sync"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, _, err) = run(
        &dir.0.join("third.db"),
        &[
            "enrol",
            "--device-id",
            "phone-x",
            "--technician-id",
            "T-1",
            "--name",
            "x",
            "--server",
            &center.base,
            "--dispatcher",
            "desk",
            "--password",
            "wrong",
        ],
    );
    assert_eq!(code, 1);
    assert!(err.contains("/api/login"), "{err}");
    // Not enrolled: a clear error.
    let (code, _, err) = run(&dir.0.join("other.db"), &["status"]);
    assert_eq!(code, 1);
    assert!(err.contains("not an enrolled device"), "{err}");
}

/// A PNG's signature and header chunk (`width` × `height`, 8-bit RGB), then
/// `filler` bytes and the end chunk: what `imagesize` reads, unique per filler.
fn png(width: u32, height: u32, filler: u8) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
    b.extend_from_slice(&13u32.to_be_bytes());
    b.extend_from_slice(b"IHDR");
    b.extend_from_slice(&width.to_be_bytes());
    b.extend_from_slice(&height.to_be_bytes());
    b.extend_from_slice(&[8, 2, 0, 0, 0, 0x12, 0x34, 0x56, 0x78]);
    b.extend(std::iter::repeat_n(filler, 2048));
    b.extend_from_slice(&[0, 0, 0, 0]);
    b.extend_from_slice(b"IEND\xae\x42\x60\x82");
    b
}

/// A baseline JPEG's start, JFIF header and frame header (`width` ×
/// `height`), then `filler` bytes and the end marker.
fn jpeg(width: u16, height: u16, filler: u8) -> Vec<u8> {
    let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
    b.extend_from_slice(b"JFIF\0\x01\x01\x00\x00\x01\x00\x01\x00\x00");
    b.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x11, 0x08]);
    b.extend_from_slice(&height.to_be_bytes());
    b.extend_from_slice(&width.to_be_bytes());
    b.extend_from_slice(&[0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01]);
    b.extend(std::iter::repeat_n(filler, 4096));
    b.extend_from_slice(&[0xFF, 0xD9]);
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cli_visit_with_image_files_syncs_and_the_server_lists_its_photos() {
    let center = Center::start().await;
    let (device, token) = center.technician("T-1").await;
    let start = (Utc::now() + Duration::days(1))
        .date_naive()
        .and_hms_opt(2, 0, 0)
        .unwrap()
        .and_utc();
    let a = center.assignment("T-1", start).await;
    let dir = TempDir::new("cli-photos");
    let db = dir.0.join("phone.db");
    let (code, out, err) = run(
        &db,
        &[
            "enrol",
            "--device-id",
            &device,
            "--technician-id",
            "T-1",
            "--name",
            "王师傅",
            "--server",
            &center.base,
            "--token",
            &token,
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = run(&db, &["sync"]);
    assert_eq!(code, 0, "{out}{err}");
    // The visit as scripts between the photos; each photo from an image file.
    let files = [
        (
            "nameplate",
            jpeg(1600, 1200, 1),
            "image/jpeg",
            (1600u64, 1200u64),
        ),
        ("fault_before", png(1280, 960, 2), "image/png", (1280, 960)),
        (
            "after_repair",
            jpeg(1024, 768, 3),
            "image/jpeg",
            (1024, 768),
        ),
    ];
    let mut script = String::new();
    let flush = |script: &mut String, n: usize| {
        let file = dir.0.join(format!("part-{n}.jsonl"));
        std::fs::write(&file, std::mem::take(script)).unwrap();
        let (code, out, err) = run(
            &db,
            &["run", "--assignment", a.as_str(), file.to_str().unwrap()],
        );
        assert_eq!(code, 0, "{out}{err}");
    };
    let mut part = 0;
    for (at, cmd) in appliance_visit(start) {
        if cmd["type"] != "take_photo" {
            script += &(serde_json::json!({"at": at, "command": cmd}).to_string() + "\n");
            continue;
        }
        flush(&mut script, part);
        part += 1;
        let moment = cmd["moment"].as_str().unwrap();
        let (_, bytes, ..) = files.iter().find(|f| f.0 == moment).unwrap();
        let path = dir.0.join(format!("{moment}.img"));
        std::fs::write(&path, bytes).unwrap();
        let (code, out, err) = run(
            &db,
            &[
                "do",
                "take_photo",
                "--assignment",
                a.as_str(),
                "--at",
                &at.to_rfc3339(),
                "--moment",
                moment,
                "--file",
                path.to_str().unwrap(),
            ],
        );
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("photo_taken"), "{out}");
    }
    flush(&mut script, part);
    // A file that is no image is refused, naming the flag.
    let junk = dir.0.join("notes.txt");
    std::fs::write(&junk, "not a photo").unwrap();
    let (code, _, err) = run(
        &db,
        &[
            "do",
            "take_photo",
            "--assignment",
            a.as_str(),
            "--moment",
            "old_part",
            "--file",
            junk.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1);
    assert!(err.contains("--file") && err.contains("JPEG"), "{err}");
    let (code, out, err) = run(&db, &["sync"]);
    assert_eq!(code, 0, "{out}{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["blobs_uploaded"], 3, "{report}");
    // The console lists the visit's photos and serves each one.
    let v = center.get(&format!("/api/visits?assignment_id={a}")).await;
    let visit = v[0]["visit_id"].as_str().unwrap().to_string();
    let listed = center.get(&format!("/api/visits/{visit}/photos")).await;
    let photos = listed["photos"].as_array().unwrap();
    assert_eq!(photos.len(), 3, "{listed}");
    for (moment, bytes, content_type, (w, h)) in &files {
        let p = photos.iter().find(|p| p["moment"] == *moment).unwrap();
        assert_eq!(p["uploaded"], true);
        assert_eq!(
            (p["width"].as_u64(), p["height"].as_u64()),
            (Some(*w), Some(*h))
        );
        assert_eq!(p["size_bytes"].as_u64(), Some(bytes.len() as u64));
        let r = center
            .http
            .get(format!("{}{}", center.base, p["url"].as_str().unwrap()))
            .bearer_auth(&center.dispatcher)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        assert_eq!(r.headers()["content-type"], *content_type);
        assert_eq!(&r.bytes().await.unwrap()[..], &bytes[..]);
    }
}

/// The console's "new phone" flow end to end: the center makes a one-time
/// code, the phone (the CLI) scans its link and enrols with no staff
/// password, registering its device key (version 2); it learns its device
/// id and its technician's name from the server and syncs. The code works
/// once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_enrols_with_the_centers_one_time_code_and_registers_its_key() {
    let center = Center::start().await;
    center.technician("T-1").await;
    let made = center
        .post(
            "/api/technicians/T-1/enrolment-codes",
            serde_json::json!({"device_id": "phone-T-1-new", "server": center.base}),
        )
        .await;
    let link = made["enrol_uri"].as_str().unwrap();
    let dir = TempDir::new("cli-code");
    let db = dir.0.join("phone.db");
    let (code, out, err) = run(&db, &["enrol-by-code", "--link", link]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("enrolled phone-T-1-new for T-1"), "{out}");
    let (code, out, err) = run(&db, &["sync"]);
    assert_eq!(code, 0, "{out}{err}");
    let devices = center.get("/api/devices").await;
    let phone = devices
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["device_id"] == "phone-T-1-new")
        .unwrap_or_else(|| panic!("{devices}"));
    assert_eq!(phone["enrolment_version"], 2, "{phone}");
    assert!(phone["last_sync_at"].is_string(), "{phone}");
    let side: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.0.join("phone.db.device.json")).unwrap())
            .unwrap();
    assert_eq!(side["name"], "Tech T-1", "the roster's name: {side}");
    // The discount secret issued at enrolment is kept beside the store,
    // readable by the owner only, and is the one the center's short codes
    // are made under (STANDARDS §2.12).
    let secret_path = dir.0.join("phone.db.discount-key");
    let secret = std::fs::read_to_string(&secret_path).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&secret_path)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    assert!(
        !side.to_string().contains(secret.trim()),
        "never in the side file"
    );
    let order = center.assignment("T-1", chrono::Utc::now()).await;
    let order = order.as_str();
    let codes = center
        .post(
            &format!("/api/assignments/{order}/discount-codes"),
            serde_json::json!({"amount": 1250}),
        )
        .await;
    let key =
        doorstep_core::discount_approval::SoftwareDiscountKey::from_hex(secret.trim()).unwrap();
    let expected = doorstep_core::discount_approval::short_code(&key, order, 1250).unwrap();
    let this_phone = codes["codes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["device_id"] == "phone-T-1-new")
        .unwrap_or_else(|| panic!("one code per phone of the technician: {codes}"));
    assert_eq!(this_phone["code"], expected.as_str(), "{codes}");
    // Used once: a second phone with the same code is refused, and says why.
    let (code, _, err) = run(
        &dir.0.join("second.db"),
        &[
            "enrol-by-code",
            "--server",
            &center.base,
            "--code",
            made["code"].as_str().unwrap(),
        ],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("enrol-by-code")
            && err.contains("enrolment_code_refused")
            && err.contains("already used"),
        "{err}"
    );
    // A link that is not the center's is refused before any request.
    let (code, _, err) = run(
        &dir.0.join("third.db"),
        &["enrol-by-code", "--link", "https://example.com/enrol"],
    );
    assert_eq!(code, 1);
    assert!(err.contains("doorstep://enrol?server="), "{err}");
}
