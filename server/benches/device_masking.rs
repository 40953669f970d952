//! The privacy masking of a download page (docs/PERFORMANCE.md, "Sync"):
//! a pull answer of 2 000 orders, as the server writes it (real
//! `Assignment`s, customers' phones, notes naming a number, Chinese
//! addresses), masked for a technician's device again and again
//! (`domain::privacy_numbers::mask_for_device`: every customer's number
//! masked, one order's virtual). Prints the median and the answer's size.
//!
//! `cargo bench --profile server-bench -p doorstep-server --bench device_masking`
//! (`DOORSTEP_BENCH_ROUNDS`, default 60; `DOORSTEP_BENCH_ORDERS`, default 2000).

use doorstep_core::Assignment;
use doorstep_server::domain::privacy_numbers::mask_for_device;
use serde_json::json;
use std::collections::HashMap;
use std::time::Instant;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A pull answer of `orders` orders, as `/api/sync/pull` writes it.
fn page(orders: usize) -> Vec<u8> {
    let changes: Vec<_> = (0..orders)
        .map(|i| {
            let assignment: Assignment = serde_json::from_value(json!({
                "id": format!("A-20261206-{i:04}"),
                "version": 1,
                "trade": "appliance_repair",
                "technician": "T-1",
                "customer": {
                    "name": "王伟",
                    "phone": format!("139{i:08}"),
                    "address": format!("上海市浦东新区世纪大道{}号{}室", 88 + i % 50, 100 + i % 900),
                    "location": {"lat": 31.2304, "lon": 121.4737},
                    "time_zone": "Asia/Shanghai"
                },
                "product": {"model": "海尔 BCD-452WDPF", "serial": format!("SN{i:010}"),
                            "purchase_date": "2024-05-01"},
                "fault_description": "冰箱不制冷，压缩机启动后约 3 分钟停机",
                "requested_window": {"start": "2026-12-07T01:00:00Z", "end": "2026-12-07T03:00:00Z"},
                "received_at": "2026-12-06T08:00:00Z",
                "notes": format!("上门前请致电 139 {:04} {:04}，小区 2 号门进", i / 10_000, i % 10_000),
            }))
            .expect("an assignment");
            json!({"seq": i + 1, "type": "assignment", "assignment": assignment})
        })
        .collect();
    serde_json::to_vec(&json!({
        "protocol_version": 1, "changes": changes, "next_cursor": orders,
        "more": true, "server_time": "2026-12-06T08:00:00Z",
    }))
    .expect("the page")
}

fn main() {
    let rounds = setting("DOORSTEP_BENCH_ROUNDS", 60);
    let orders = setting("DOORSTEP_BENCH_ORDERS", 2000);
    let answer = page(orders);
    let mut virtuals = HashMap::new();
    virtuals.insert("A-20261206-0007".to_string(), "17000000007".to_string());
    let once = mask_for_device(&answer, &virtuals, true).expect("JSON");
    assert!(!String::from_utf8_lossy(&once).contains("13900000012"));
    let mut times: Vec<f64> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            let out = mask_for_device(&answer, &virtuals, true).expect("JSON");
            std::hint::black_box(out);
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "masking a page of {orders} orders ({} bytes): median {median:.2} ms, min {:.2}, max {:.2} ({rounds} rounds; {:.0} MB/s)",
        answer.len(),
        times[0],
        times[times.len() - 1],
        answer.len() as f64 / median / 1000.0
    );
}
