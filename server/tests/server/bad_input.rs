//! Bad input: malformed JSON, unknown versions, oversized bodies and
//! batches, a structurally invalid event (nothing stored), gzip; answers
//! encoded as the client reads them.

use crate::both_backends;
use crate::harness::{assignment, device, numbered, Backend, Srv};
use chrono::Utc;
use doorstep_core::walkthrough::Walkthrough;
use doorstep_core::Playbook;
use doorstep_server::app::Config;
use serde_json::{json, Value};
use std::io::Write;

both_backends!(
    malformed_json_names_the_field,
    unknown_protocol_version_is_refused,
    oversized_body_and_batch,
    one_invalid_event_stores_nothing,
    gzip_and_unknown_fields,
    answers_are_encoded_as_the_client_reads_them
);

async fn setup(
    b: Backend,
    config: Config,
) -> (Srv, String, String, Vec<(u64, doorstep_core::VisitEvent)>) {
    let s = Srv::start_with(b, config).await;
    let (dev, token) = s.technician("T-1", &["appliance_repair"]).await;
    let a = assignment(&s.assignment("appliance_repair", Some("T-1")).await);
    let mut v = Walkthrough::new(
        &Playbook::shipped_by_id("appliance_repair").unwrap(),
        &a,
        &device(&dev),
        Utc::now(),
    );
    v.go(None);
    let events = numbered(&v.events, 1);
    (s, dev, token, events)
}

fn push_body(dev: &str, events: &[(u64, doorstep_core::VisitEvent)]) -> Value {
    json!({
        "protocol_version": 1,
        "device_id": dev,
        "events": events.iter().map(|(seq, e)| json!({"seq": seq, "event": e})).collect::<Vec<_>>(),
    })
}

async fn malformed_json_names_the_field(b: Backend) {
    let (s, dev, token, events) = setup(b, Config::default()).await;
    // Not JSON at all.
    let (st, r) = s
        .raw(
            "/api/sync/push",
            &token,
            b"{\"protocol_version\": 1, \"events\": [".to_vec(),
            false,
        )
        .await;
    assert_eq!(
        (st, r["error"]["code"].as_str()),
        (400, Some("malformed_json")),
        "{r}"
    );
    // A missing field inside the second event.
    let mut body = push_body(&dev, &events);
    body["events"][1]["event"]
        .as_object_mut()
        .unwrap()
        .remove("visit_id");
    let (st, r) = s.post("/api/sync/push", &token, body).await;
    assert_eq!(st, 400, "{r}");
    assert_eq!(r["error"]["field"], "events[1].event.visit_id", "{r}");
    assert!(
        r["error"]["message"].as_str().unwrap().contains("visit_id"),
        "{r}"
    );
    // A field of the wrong type inside an event's kind (serde reads a
    // tagged kind without tracking its path): named to the end, as
    // API.md's example says.
    let mut body = push_body(&dev, &events);
    let call = body["events"]
        .as_array()
        .unwrap()
        .iter()
        .position(|e| e["event"]["type"] == "call_logged")
        .expect("the walk logs a call");
    body["events"][call]["event"]["outcome"] = json!(42);
    let (st, r) = s.post("/api/sync/push", &token, body).await;
    assert_eq!(st, 400, "{r}");
    assert_eq!(
        r["error"]["field"],
        format!("events[{call}].event.outcome").as_str(),
        "{r}"
    );
    // A field of the wrong type.
    let mut body = push_body(&dev, &events);
    body["events"][0]["seq"] = json!("one");
    let (st, r) = s.post("/api/sync/push", &token, body).await;
    assert_eq!(
        (st, r["error"]["field"].as_str()),
        (400, Some("events[0].seq")),
        "{r}"
    );
    // Center endpoints too.
    let (st, r) = s
        .post(
            "/api/assignments",
            &s.dispatcher,
            json!({"trade": "appliance_repair", "requested_window": {"start": "soon"}}),
        )
        .await;
    assert_eq!(st, 400);
    assert!(
        r["error"]["field"]
            .as_str()
            .unwrap()
            .starts_with("requested_window"),
        "{r}"
    );
    let (st, r) = s
        .raw("/api/intakes", &s.dispatcher, b"[]".to_vec(), false)
        .await;
    assert_eq!(st, 400, "{r}");
    // Nothing was stored by any of it.
    assert_eq!(s.stored_events(&dev).await, 0);
}

async fn unknown_protocol_version_is_refused(b: Backend) {
    let (s, dev, token, events) = setup(b, Config::default()).await;
    let mut body = push_body(&dev, &events);
    body["protocol_version"] = json!(2);
    // Even a body of another shape: the version is what is refused.
    body["events"] = json!({"v2": "shape"});
    let (st, r) = s.post("/api/sync/push", &token, body).await;
    assert_eq!(
        (st, r["error"]["code"].as_str()),
        (400, Some("unsupported_protocol_version")),
        "{r}"
    );
    assert_eq!(r["error"]["accepted_versions"], json!([1]));
    assert!(r["error"]["message"].as_str().unwrap().contains("[1]"));
    let (st, r) = s
        .post(
            "/api/sync/pull",
            &token,
            json!({"protocol_version": 99, "device_id": dev}),
        )
        .await;
    assert_eq!(
        (st, r["error"]["accepted_versions"].clone()),
        (400, json!([1]))
    );
    let (st, r) = s
        .post("/api/sync/pull", &token, json!({"device_id": dev}))
        .await;
    assert_eq!(
        (st, r["error"]["field"].as_str()),
        (400, Some("protocol_version"))
    );
}

async fn oversized_body_and_batch(b: Backend) {
    let config = Config {
        max_body_bytes: 16 * 1024,
        max_batch_events: 3,
        ..Config::default()
    };
    let (s, dev, token, events) = setup(b, config).await;
    // More events than the batch limit.
    let (st, r) = s.push(&token, &dev, &events[..4]).await;
    assert_eq!(
        (st, r["error"]["max_batch_events"].as_u64()),
        (413, Some(3)),
        "{r}"
    );
    // A body over the byte limit.
    let mut body = push_body(&dev, &events[..1]);
    body["padding"] = json!("x".repeat(20 * 1024));
    let (st, r) = s.post("/api/sync/push", &token, body).await;
    assert_eq!(st, 413, "{r}");
    assert!(r["error"]["message"]
        .as_str()
        .unwrap()
        .contains("body limit"));
    // Within the limits it goes through.
    let (st, r) = s.push(&token, &dev, &events[..3]).await;
    assert_eq!((st, r["acked_seq"].as_u64()), (200, Some(3)), "{r}");
}

async fn one_invalid_event_stores_nothing(b: Backend) {
    let (s, dev, token, events) = setup(b, Config::default()).await;
    // The third event's kind does not exist.
    let mut body = push_body(&dev, &events);
    body["events"][2]["event"]["type"] = json!("teleported");
    let (st, r) = s.post("/api/sync/push", &token, body).await;
    assert_eq!(st, 400, "{r}");
    assert_eq!(r["error"]["field"], "events[2].event.type", "{r}");
    assert_eq!(s.stored_events(&dev).await, 0);
    // Sequences out of order in one batch.
    let mut shuffled = events.clone();
    shuffled.swap(0, 1);
    let (st, r) = s.push(&token, &dev, &shuffled).await;
    assert_eq!(
        (st, r["error"]["field"].as_str()),
        (400, Some("events[1].seq")),
        "{r}"
    );
    // An event claiming another device.
    let mut body = push_body(&dev, &events);
    body["events"][1]["event"]["device_id"] = json!("phone-someone-else");
    let (st, r) = s.post("/api/sync/push", &token, body).await;
    assert_eq!(
        (st, r["error"]["field"].as_str()),
        (400, Some("events[1].event.device_id")),
        "{r}"
    );
    assert_eq!(s.stored_events(&dev).await, 0);
    // The corrected batch then applies from sequence 1.
    let (st, r) = s.push(&token, &dev, &events).await;
    assert_eq!(
        (st, r["acked_seq"].as_u64()),
        (200, Some(events.len() as u64)),
        "{r}"
    );
}

async fn gzip_and_unknown_fields(b: Backend) {
    let (s, dev, token, events) = setup(b, Config::default()).await;
    let mut body = push_body(&dev, &events);
    body["client"] = json!({"app": "doorstep-android", "build": 77});
    body["events"][0]["future_field"] = json!(true);
    let raw = serde_json::to_vec(&body).unwrap();
    let mut gz = flate2_lite(&raw);
    let (st, r) = s
        .raw("/api/sync/push", &token, std::mem::take(&mut gz), true)
        .await;
    assert_eq!(
        (st, r["acked_seq"].as_u64()),
        (200, Some(events.len() as u64)),
        "{r}"
    );
    // Responses are compressed when the client accepts gzip.
    let plain = reqwest::Client::builder().no_gzip().build().unwrap();
    let res = plain
        .post(format!("{}/api/sync/pull", s.base))
        .bearer_auth(&token)
        .header("accept-encoding", "gzip")
        .json(&json!({"protocol_version": 1, "device_id": dev}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["content-encoding"], "gzip");
    // And the gzip-aware client reads the page.
    let (st, page) = s
        .post(
            "/api/sync/pull",
            &token,
            json!({"protocol_version": 1, "device_id": dev}),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(page["changes"].as_array().unwrap().len(), 1);
}

/// A phone reads zstd (first in its `Accept-Encoding`) and gets it; a
/// client that reads only gzip gets gzip; one that names neither gets the
/// JSON as it is. Each decodes to the same page.
async fn answers_are_encoded_as_the_client_reads_them(b: Backend) {
    let (s, dev, token, _) = setup(b, Config::default()).await;
    let plain = reqwest::Client::builder().no_gzip().build().unwrap();
    let mut pages = vec![];
    for (accept, encoding) in [
        ("zstd, gzip;q=0.5", Some("zstd")),
        ("gzip", Some("gzip")),
        ("br", None),
    ] {
        let res = plain
            .post(format!("{}/api/sync/pull", s.base))
            .bearer_auth(&token)
            .header("accept-encoding", accept)
            .json(&json!({"protocol_version": 1, "device_id": dev, "limit": 10}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200, "{accept}");
        let got = res
            .headers()
            .get("content-encoding")
            .map(|v| v.to_str().unwrap().to_string());
        assert_eq!(got.as_deref(), encoding, "{accept}");
        let vary = res.headers().get_all("vary").iter().count();
        assert_eq!(vary, 1, "{accept}: one Vary header");
        let body = res.bytes().await.unwrap().to_vec();
        let json = match encoding {
            Some("zstd") => zstd::decode_all(&body[..]).unwrap(),
            Some("gzip") => {
                let mut out = vec![];
                std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut out)
                    .unwrap();
                out
            }
            _ => body,
        };
        let page: Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(page["changes"].as_array().unwrap().len(), 1, "{accept}");
        pages.push(page["changes"].clone());
    }
    assert!(pages.windows(2).all(|w| w[0] == w[1]), "{pages:?}");
}

/// gzip-encodes bytes with the stored (uncompressed) deflate mode: a valid
/// gzip stream without a compression dependency in the tests.
fn flate2_lite(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let mut chunks = data.chunks(65_535).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        let last = chunks.peek().is_none();
        out.push(u8::from(last));
        let len = chunk.len() as u16;
        out.write_all(&len.to_le_bytes()).unwrap();
        out.write_all(&(!len).to_le_bytes()).unwrap();
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
