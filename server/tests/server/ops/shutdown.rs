//! Graceful shutdown (issue 17, item 3): SIGTERM while two pushes are in
//! flight — one whose body keeps coming (it finishes and is answered) and
//! one whose body stalls (it is cut when the grace period ends). The
//! process exits 0 within a bound, refuses new connections meanwhile, and
//! each phone's retry on the restarted server lands exactly once.

use super::support::*;
use doorstep_core::protocol::{OutboxEvent, PushRequest, PROTOCOL_VERSION};
use doorstep_core::DeviceId;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const GRACE_SECS: u64 = 2;

/// The phone's pending outbox as a push request's JSON body.
fn pending_push(phone: &Phone) -> Vec<u8> {
    let pending = phone.store.pending_outbox(100).unwrap();
    assert!(!pending.is_empty());
    let req = PushRequest {
        protocol_version: PROTOCOL_VERSION,
        device_id: DeviceId::new(&phone.device).unwrap(),
        sent_at: Some(chrono::Utc::now()),
        events: pending
            .into_iter()
            .map(|e| OutboxEvent {
                seq: e.seq as u64,
                event: e.event,
            })
            .collect(),
    };
    serde_json::to_vec(&req).unwrap()
}

/// Opens a push on a raw connection and sends its head and the first half
/// of its body; returns the connection and the rest of the body.
fn start_push(base: &str, token: &str, body: &[u8]) -> (TcpStream, Vec<u8>) {
    let addr = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let head = format!(
        "POST /api/sync/push HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    let half = body.len() / 2;
    stream.write_all(&body[..half]).unwrap();
    stream.flush().unwrap();
    (stream, body[half..].to_vec())
}

/// Reads what the server sends until it closes the connection.
fn read_all(mut stream: TcpStream) -> String {
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_push_finishes_or_cuts_it_exits_0_and_each_retry_lands_exactly_once() {
    let scratch = Scratch::new("shutdown");
    let data = scratch.path("data");
    let grace = GRACE_SECS.to_string();
    let mut server = ServerBinary::start(&data, &["--shutdown-grace-secs", &grace]).await;
    let desk = Desk::login(&server.base).await;
    let mut phones = vec![];
    for tech in ["T-slow", "T-stalled"] {
        let (device, token) = desk.technician(tech).await;
        let a = desk.assignment(tech, window(0, 0)).await;
        let phone = Phone::new(tech, &device, &token);
        phone.sync(&server.base).await.unwrap();
        for (at, cmd) in first_steps(window(0, 0)).into_iter().take(3) {
            phone.apply(&a, at, &cmd);
        }
        phones.push((phone, a));
    }
    let (slow, stalled) = (&phones[0].0, &phones[1].0);
    let (slow_conn, slow_rest) = start_push(&server.base, &slow.token, &pending_push(slow));
    let (stalled_conn, _never_sent) =
        start_push(&server.base, &stalled.token, &pending_push(stalled));
    tokio::time::sleep(Duration::from_millis(300)).await;

    let pid = server.child.id();
    let addr = server.base.trim_start_matches("http://").to_string();
    let terminated = std::thread::spawn(move || {
        let bound = Duration::from_secs(GRACE_SECS + 8);
        (server.terminate(bound), server)
    });
    // New connections are refused once the shutdown began.
    let since = Instant::now();
    while TcpStream::connect(&addr).is_ok() {
        assert!(
            since.elapsed() < Duration::from_secs(5),
            "pid {pid} still accepts connections after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The slow push's body keeps coming: it is finished and answered.
    let mut slow_conn = slow_conn;
    slow_conn.write_all(&slow_rest).unwrap();
    let answer = read_all(slow_conn);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    // The stalled push is cut when the grace period ends: no answer.
    let cut = read_all(stalled_conn);
    assert!(!cut.contains("200 OK"), "{cut}");

    let ((status, took), server) = terminated.join().unwrap();
    assert_eq!(status.code(), Some(0), "{}", server.logs());
    assert!(
        took >= Duration::from_secs(GRACE_SECS - 1),
        "waited for the stalled push: {took:?}"
    );
    assert!(took < Duration::from_secs(GRACE_SECS + 5), "{took:?}");
    let logs = server.logs();
    assert!(logs.contains("grace period over"), "{logs}");
    drop(server);

    // Restarted: each phone's retry lands exactly once.
    let restarted = ServerBinary::start(&data, &[]).await;
    let retried_slow = slow.sync(&restarted.base).await.unwrap();
    assert_eq!(
        (retried_slow.pushed, retried_slow.duplicates),
        (0, 3),
        "the finished push was stored: its retry is acknowledged as duplicates"
    );
    let retried_stalled = stalled.sync(&restarted.base).await.unwrap();
    assert_eq!(
        (retried_stalled.pushed, retried_stalled.duplicates),
        (3, 0),
        "the cut push stored nothing: its retry stores it"
    );
    let db = data.join("doorstep.db");
    for (phone, a) in &phones {
        assert_eq!(
            stored_event_ids(&db, &phone.device),
            phone.event_ids(std::slice::from_ref(a))
        );
    }
}
