//! The log scan every test server goes through (PIPL; docs/PIPL.md, "Logs
//! and error texts"): one global `tracing` subscriber per test process
//! writes what the in-process servers log — at the production level and
//! more (`info`, `debug` for `doorstep_server`), formatted as the server's
//! text log prints it, fields and spans included — into a shared buffer;
//! server processes' output is added to it. Each harness server, when it is
//! dropped, scans what was written since the last scan for mainland mobile
//! numbers (contiguous or spaced/dashed: `138 0013 8000`, `+86 186-0021-3344`)
//! and for every customer phone and address the harnesses sent, and fails,
//! naming each leaking line. Tests run in parallel threads of one process:
//! the test that fails may not be the one whose server wrote the line.
//!
//! Shared: `server/tests/server` (harness, log_privacy) and the
//! `doorstep-e2e` harness (`tests/src/lib.rs`) include this file.

use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard, Once};

/// What the test subscriber lets through: the server's production default
/// (`info`, `ops::logging::DEFAULT_FILTER`) and its own debug lines.
pub const SCAN_FILTER: &str = "info,doorstep_server=debug";

/// The log lines written since the last scan.
static LOG: Mutex<String> = Mutex::new(String::new());

/// The customers the harnesses sent to a server.
static CUSTOMERS: Mutex<Customers> = Mutex::new(Customers {
    phones: BTreeSet::new(),
    addresses: BTreeSet::new(),
});

/// Known customers' phones (normalised digits) and addresses.
#[derive(Debug, Default)]
pub struct Customers {
    pub phones: BTreeSet<String>,
    pub addresses: BTreeSet<String>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The writer of the test subscriber: appends to [`LOG`]. The formatter
/// writes each event in one call, so lines of parallel tests never mix.
struct Sink;

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        lock(&LOG).push_str(&String::from_utf8_lossy(buf));
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The test subscriber writing to `writer`: [`SCAN_FILTER`], the server's
/// text format (`ops::logging`) without colours.
fn subscriber<W>(writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(SCAN_FILTER))
        .with_ansi(false)
        .with_writer(writer)
        .finish()
}

/// Installs the test subscriber, once per process (later calls do nothing;
/// a subscriber some other code installed first is left alone).
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = tracing::subscriber::set_global_default(subscriber(|| Sink));
    });
}

/// Adds output of a server process (its stdout and stderr lines).
pub fn append(text: &str) {
    let mut log = lock(&LOG);
    log.push_str(text);
    if !text.ends_with('\n') {
        log.push('\n');
    }
}

/// Records a customer's phone and address (either may be absent) as data
/// no log may hold. Too short to mean anything (an address under three
/// characters, a phone under seven digits) is left out.
pub fn note_customer(phone: Option<&str>, address: Option<&str>) {
    let mut c = lock(&CUSTOMERS);
    if let Some(p) = phone.map(normalised_phone).filter(|d| d.len() >= 7) {
        c.phones.insert(p);
    }
    if let Some(a) = address.map(str::trim).filter(|a| a.chars().count() >= 3) {
        c.addresses.insert(a.to_string());
    }
}

/// Records the customers of a request body: every `customer` or `caller`
/// object's `phone` and `address`, at any depth.
pub fn note_request(body: &Value) {
    match body {
        Value::Object(fields) => {
            for (key, v) in fields {
                if key == "customer" || key == "caller" {
                    note_customer(v["phone"].as_str(), v["address"].as_str());
                }
                note_request(v);
            }
        }
        Value::Array(items) => items.iter().for_each(note_request),
        _ => {}
    }
}

/// Scans the lines written since the last scan; `server` names the server
/// whose end triggered it. Panics naming each leaking line, unless the
/// thread is already panicking (the lines then wait for the next scan).
pub fn check(server: &str) {
    if std::thread::panicking() {
        return;
    }
    let text = std::mem::take(&mut *lock(&LOG));
    if text.is_empty() {
        return;
    }
    let found = leaks(&text, &lock(&CUSTOMERS));
    if found.is_empty() {
        return;
    }
    let mut report = String::new();
    for leak in found.iter().take(20) {
        report.push_str(&format!("  {}: {}\n", leak.what, leak.line));
    }
    if found.len() > 20 {
        report.push_str(&format!("  ... and {} more\n", found.len() - 20));
    }
    panic!(
        "server logs leak personal data (PIPL, docs/PIPL.md), found when {server} ended \
         (tests run in parallel: the line may come from another test's server):\n{report}"
    );
}

/// A leaking log line and what it leaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leak {
    pub what: String,
    pub line: String,
}

/// The lines of `text` that hold a mainland mobile number, or one of
/// `customers`' phones or addresses.
pub fn leaks(text: &str, customers: &Customers) -> Vec<Leak> {
    // Addresses first over the whole text (the common case: none), then
    // line by line only where one is.
    let present: Vec<&String> = customers
        .addresses
        .iter()
        .filter(|a| text.contains(a.as_str()))
        .collect();
    let mut found = Vec::new();
    for line in text.lines() {
        let mut what = BTreeSet::new();
        for n in numbers(line) {
            if let Some(m) = mobile(&n) {
                what.insert(format!("mobile number {m}"));
            } else if customers.phones.contains(&n) {
                what.insert(format!("customer phone {n}"));
            }
        }
        for a in &present {
            if line.contains(a.as_str()) {
                what.insert(format!("customer address {a:?}"));
            }
        }
        if !what.is_empty() {
            found.push(Leak {
                what: what.into_iter().collect::<Vec<_>>().join(", "),
                line: line.to_string(),
            });
        }
    }
    found
}

/// The mainland mobile numbers in `text` (11 digits from `13` to `19`,
/// after an optional `86`/`0086`), as digits, in the order they come.
pub fn mobile_numbers(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for line in text.lines() {
        let mut in_line = BTreeSet::new();
        for n in numbers(line) {
            if let Some(m) = mobile(&n) {
                if in_line.insert(m.to_string()) {
                    found.push(m.to_string());
                }
            }
        }
    }
    found
}

/// `phone` as the scan compares it: its digits, a mobile number without
/// its country code.
pub fn normalised_phone(phone: &str) -> String {
    let d: String = phone.chars().filter(char::is_ascii_digit).collect();
    mobile(&d).map_or(d.clone(), str::to_string)
}

/// The mobile number `digits` is, if it is one.
fn mobile(digits: &str) -> Option<&str> {
    let d = digits
        .strip_prefix("0086")
        .or_else(|| digits.strip_prefix("86"))
        .filter(|rest| rest.len() == 11)
        .unwrap_or(digits);
    let b = d.as_bytes();
    (b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1])).then_some(d)
}

/// Whether `b` continues a word (an id, a hex token, a name).
fn wordy(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Every number that could be a phone in `line`: each run of digits that
/// stands alone (no letter, digit-dot or underscore touching it: digits
/// inside a hex id, an order number's word or a decimal fraction are no
/// phone), and each sequence of up to four such runs of two or more digits
/// joined by single spaces or dashes (`138 0013 8000`, `86 186-0021-3344`),
/// as their digits.
fn numbers(line: &str) -> Vec<String> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut chain: Vec<(usize, usize)> = Vec::new();
    let flush = |chain: &mut Vec<(usize, usize)>, out: &mut Vec<String>| {
        for i in 0..chain.len() {
            let mut digits = String::new();
            for (k, &(s, e)) in chain[i..].iter().take(4).enumerate() {
                if k > 0 && (e - s < 2 || chain[i].1 - chain[i].0 < 2) {
                    break;
                }
                digits.push_str(&line[s..e]);
                out.push(digits.clone());
            }
        }
        chain.clear();
    };
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let s = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let e = i;
        let decimal_before = s >= 2 && b[s - 1] == b'.' && b[s - 2].is_ascii_digit();
        let decimal_after = e + 1 < b.len() && b[e] == b'.' && b[e + 1].is_ascii_digit();
        let alone = (s == 0 || !wordy(b[s - 1]))
            && (e == b.len() || !wordy(b[e]))
            && !decimal_before
            && !decimal_after;
        if !alone {
            flush(&mut chain, &mut out);
            continue;
        }
        let joined = chain
            .last()
            .is_some_and(|&(_, pe)| pe + 1 == s && matches!(b[pe], b' ' | b'-'));
        if !joined {
            flush(&mut chain, &mut out);
        }
        chain.push((s, e));
    }
    flush(&mut chain, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contiguous_spaced_and_dashed_mobile_numbers_are_found() {
        assert_eq!(mobile_numbers("call 13812345678."), ["13812345678"]);
        assert_eq!(mobile_numbers("phone=\"138 0013 8000\""), ["13800138000"]);
        assert_eq!(mobile_numbers("(+86 186-0021-3344)"), ["18600213344"]);
        assert_eq!(mobile_numbers("(+86 13912345678)"), ["13912345678"]);
        assert_eq!(mobile_numbers("+8615012345678"), ["15012345678"]);
        assert_eq!(mobile_numbers("电话1591234 5678请回电"), ["15912345678"]);
        assert_eq!(mobile_numbers("seq 12 138 0013 8000 ok"), ["13800138000"]);
    }

    #[test]
    fn ids_order_numbers_times_and_amounts_are_not_mobile_numbers() {
        for text in [
            "at 1764601234567 ms and 12345678901",
            "token d_3fa15355672129bc and a15355672129",
            "device=phone-13800138000x sha256=9f13800138000e2d",
            "order A-20261118-0004 visit 019a7e3c-1391-7876-8123-4abcdef01234",
            "2026-12-01T06:50:34.138001380Z INFO latency_ms=2.13912345678 status=201",
            "receipt R-2026-1 fen 14500 at 2026-12-01 13:45",
            "ids 138 0013 8000a and b138 0013 8000",
        ] {
            assert!(mobile_numbers(text).is_empty(), "{text}");
        }
    }

    #[test]
    fn a_known_customers_phone_and_address_are_found_on_their_line() {
        let customers = Customers {
            phones: BTreeSet::from([normalised_phone("021 6234 5678")]),
            addresses: BTreeSet::from(["上海市徐汇区漕溪北路 1 号".to_string()]),
        };
        let text = "ok line\n INFO caller=021-6234-5678 request answered\n\
                    DEBUG customer address=\"上海市徐汇区漕溪北路 1 号\"\nINFO 2162345678\n";
        let found = leaks(text, &customers);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].what, "customer phone 02162345678");
        assert!(found[0].line.contains("caller="));
        assert!(found[1].what.starts_with("customer address"));
        assert!(leaks("ok\n A-20261118-0004 fen 14500\n", &customers).is_empty());
    }

    #[test]
    fn the_subscriber_writes_what_production_logs_with_its_fields() {
        #[derive(Clone, Default)]
        struct Local(std::sync::Arc<Mutex<String>>);
        impl std::io::Write for Local {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                lock(&self.0).push_str(&String::from_utf8_lossy(buf));
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let local = Local::default();
        let writer = local.clone();
        tracing::subscriber::with_default(subscriber(move || writer.clone()), || {
            let span = tracing::info_span!("request", route = "/api/assignments");
            let _in = span.enter();
            tracing::debug!(target: "doorstep_server::center", phone = "138 0013 8000", "debug of the server");
            tracing::info!(target: "hyper::proto", address = "测试路 9 号", "info of a library");
            tracing::debug!(target: "hyper::proto", "debug of a library: not written");
        });
        let text = lock(&local.0).clone();
        assert!(!text.contains("not written"), "{text}");
        let customers = Customers {
            phones: BTreeSet::new(),
            addresses: BTreeSet::from(["测试路 9 号".to_string()]),
        };
        let found = leaks(&text, &customers);
        assert_eq!(found.len(), 2, "{text}");
        assert_eq!(found[0].what, "mobile number 13800138000");
        assert!(
            found[0]
                .line
                .contains("request{route=\"/api/assignments\"}"),
            "{text}"
        );
        assert!(found[1].what.starts_with("customer address"));
    }

    #[test]
    fn a_request_body_names_its_customers() {
        note_request(&serde_json::json!({
            "trade": "x",
            "customer": {"name": "n", "phone": "+86 131-0000-1111", "address": "测试路 7 号"},
            "items": [{"caller": {"phone": "021 5555 1234", "address": "ab"}}],
        }));
        let c = lock(&CUSTOMERS);
        assert!(c.phones.contains("13100001111") && c.phones.contains("02155551234"));
        assert!(c.addresses.contains("测试路 7 号") && !c.addresses.contains("ab"));
    }
}
