//! The CLI `do` path: a whole appliance-repair visit typed as
//! `doorstep device --db X do ACTION --field value …` with yuan amounts and
//! no JSON, plus its refusals (three decimals; a missing required field
//! named).

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

const ASSIGNMENT: &str = r#"{"id": "GD-DO-1", "version": 1, "trade": "appliance_repair", "technician": "T-017",
 "customer": {"name": "李明", "phone": "138 1762 5530", "address": "上海市浦东新区张杨路1588弄12号1502室",
   "location": {"lat": 31.2216, "lon": 121.5441}, "time_zone": "Asia/Shanghai"},
 "product": {"model": "海尔 BCD-470WDPG", "warranty": "out_of_warranty", "purchase_date": "2022-04-18"},
 "fault_description": "冰箱不制冷",
 "requested_window": {"start": "2026-12-01T10:00:00+08:00", "end": "2026-12-01T12:00:00+08:00"},
 "received_at": "2026-12-01T08:20:00+08:00"}"#;

struct Device {
    dir: PathBuf,
}

impl Device {
    fn new() -> Device {
        let dir = std::env::temp_dir().join(format!(
            "doorstep-cli-do-{}-{}",
            std::process::id(),
            uuid::Uuid::now_v7().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let d = Device { dir };
        d.ok(&[
            "enrol",
            "--device-id",
            "pad-1",
            "--technician-id",
            "T-017",
            "--name",
            "王伟",
            "--server",
            "http://127.0.0.1:9",
            "--token",
            "unused-offline",
        ]);
        let file = d.dir.join("assignment.json");
        std::fs::write(&file, ASSIGNMENT).unwrap();
        d.ok(&["receive", file.to_str().unwrap()]);
        d
    }

    fn db(&self) -> PathBuf {
        self.dir.join("device.db")
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_doorstep"))
            .args(["device", "--db", self.db().to_str().unwrap()])
            .args(args)
            .output()
            .expect("run doorstep")
    }

    fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// `do ACTION` at a local time on the visit day.
    fn act(&self, hhmm: &str, action: &str, fields: &[&str]) -> Output {
        let at = format!("2026-12-01T{hhmm}:00+08:00");
        let mut args = vec!["do", action, "--assignment", "GD-DO-1", "--at", &at];
        args.extend_from_slice(fields);
        self.run(&args)
    }

    fn does(&self, hhmm: &str, action: &str, fields: &[&str]) {
        let out = self.act(hhmm, action, fields);
        assert!(
            out.status.success(),
            "{action} {fields:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A small PNG file (signature, header chunk of `width` × `height`, end
    /// chunk) in the device's directory; its path.
    fn png(&self, name: &str, width: u32, height: u32) -> String {
        let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
        b.extend_from_slice(&13u32.to_be_bytes());
        b.extend_from_slice(b"IHDR");
        b.extend_from_slice(&width.to_be_bytes());
        b.extend_from_slice(&height.to_be_bytes());
        b.extend_from_slice(&[8, 2, 0, 0, 0, 1, 2, 3, 4]);
        b.extend_from_slice(name.as_bytes());
        b.extend_from_slice(&[0, 0, 0, 0]);
        b.extend_from_slice(b"IEND\xae\x42\x60\x82");
        let path = self.dir.join(name);
        std::fs::write(&path, b).unwrap();
        path.to_str().unwrap().to_string()
    }

    fn view(&self) -> Value {
        let out = self.ok(&["view", "--assignment", "GD-DO-1"]);
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn refusal(out: &Output) -> Value {
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    serde_json::from_slice(&out.stderr).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
    })
}

#[test]
fn a_whole_appliance_visit_is_typed_as_do_commands_with_yuan_amounts() {
    let d = Device::new();
    d.does(
        "08:45",
        "log_call",
        &["--outcome", "reached", "--note", "客户上午在家"],
    );
    d.does(
        "09:00",
        "confirm_appointment",
        &["--address_confirmed", "yes", "--product_confirmed", "是"],
    );
    let kit = d.view()["kit"].as_array().unwrap().len();
    for _ in 0..kit {
        // The form's default is the next open kit item.
        d.does("09:10", "check_kit_item", &[]);
    }
    d.does("09:25", "depart", &["--travel_minutes", "25"]);
    d.does("09:51", "arrive", &["--location", "31.221825,121.5441,8"]);
    d.does(
        "09:52",
        "check_appearance",
        &[
            "--items",
            "uniform",
            "--items",
            "clean",
            "--items",
            "permit_visible",
        ],
    );
    d.does("09:52", "knock", &["--method", "bell"]);
    d.does("09:53", "door_answered", &[]);
    d.does(
        "09:53",
        "enter",
        &["--greeted", "yes", "--permit_shown", "yes"],
    );
    d.does("09:54", "put_on_shoe_covers", &[]);
    d.does("09:54", "lay_drop_cloth", &[]);
    d.does(
        "10:00",
        "record_diagnosis",
        &[
            "--fault_reproduced",
            "yes",
            "--cause",
            "no_cooling",
            "--parts",
            "part_compressor_relay",
        ],
    );
    // The photos of the diagnosis: the nameplate from an image file; the
    // fault could not be photographed, and why.
    let nameplate = d.png("nameplate.png", 1280, 960);
    d.does(
        "10:01",
        "take_photo",
        &["--moment", "nameplate", "--file", &nameplate],
    );
    d.does(
        "10:02",
        "record_photo_not_taken",
        &[
            "--moment",
            "fault_before",
            "--reason",
            "故障在压缩机内部，无法拍到",
        ],
    );
    d.does("10:05", "show_fee_schedule", &[]);
    d.does(
        "10:06",
        "present_quote",
        &[
            "--quote.lines",
            "item=visit_fee,qty=1",
            "--quote.lines",
            "item=labour_basic",
            "--quote.lines",
            "item=part_compressor_relay",
        ],
    );
    d.does("10:07", "accept_quote", &[]);
    d.does(
        "10:10",
        "record_work",
        &[
            "--description",
            "更换压缩机启动继电器",
            "--parts_used",
            "item=part_compressor_relay,old_serial=R-OLD-1,new_serial=R-NEW-9",
        ],
    );
    let after = d.png("after.png", 1024, 768);
    d.does(
        "10:29",
        "take_photo",
        &["--moment", "after_repair", "--file", &after],
    );
    d.does("10:30", "record_test_run", &["--passed", "yes"]);
    d.does("10:31", "brief_customer", &[]);
    d.does(
        "10:32",
        "clean_up",
        &[
            "--product_restored",
            "yes",
            "--wiped",
            "yes",
            "--floor_cleaned",
            "yes",
            "--no_tool_left",
            "yes",
        ],
    );
    let due = d.view()["quote"]["customer_total"].as_i64().unwrap();
    assert_eq!(due, 3000 + 5000 + 6500, "visit fee, labour and the relay");

    // Three decimals are refused, never rounded; nothing is recorded.
    let r = refusal(&d.act(
        "10:33",
        "collect_payment",
        &[
            "--amount",
            "145.555",
            "--method",
            "cash",
            "--receipt.number",
            "R-1",
        ],
    ));
    assert_eq!(r["refused"], "invalid_form");
    assert_eq!(r["fields"][0]["field"], "amount");
    assert!(
        r["message"].as_str().unwrap().contains("小数超过两位"),
        "{r}"
    );
    // A missing required field is named (stdin is not a terminal here).
    let r = refusal(&d.act(
        "10:33",
        "collect_payment",
        &["--amount", "¥145", "--receipt.number", "R-1"],
    ));
    assert_eq!(r["fields"][0]["field"], "method");
    assert!(r["message"].as_str().unwrap().contains("必填"), "{r}");
    // A wrong amount is the payment rule's refusal.
    let r = refusal(&d.act(
        "10:33",
        "collect_payment",
        &[
            "--amount",
            "150",
            "--method",
            "cash",
            "--receipt.number",
            "R-1",
        ],
    ));
    assert_eq!(r["refused"], "payment_mismatch");
    d.does(
        "10:34",
        "collect_payment",
        &[
            "--amount",
            "145.00元",
            "--method",
            "mobile",
            "--receipt.number",
            "R-2026-0042",
        ],
    );
    d.does(
        "10:40",
        "sign_off",
        &[
            "--ratings.quality",
            "5",
            "--ratings.attitude",
            "4",
            "--strokes",
            "0,0,0 10,5,16 20,12,32; 30,0,60 35,20,90",
        ],
    );
    d.does(
        "10:41",
        "leave",
        &[
            "--service_card_given",
            "yes",
            "--shoe_covers_off_at_door",
            "yes",
        ],
    );
    let v = d.view();
    assert_eq!(v["stage"], "closed", "{v}");
    assert_eq!(v["outcome"], "fixed", "{v}");
    assert_eq!(v["customer"]["name"], "李明");
}

#[test]
fn center_facts_and_unknown_flags_are_refused_by_name() {
    let d = Device::new();
    let out = d.act("08:45", "cancel_assignment", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cancel_assignment"));
    let r = refusal(&d.act(
        "08:45",
        "log_call",
        &["--outcome", "reached", "--mood", "good"],
    ));
    assert_eq!(r["fields"][0]["field"], "mood");
}
