//! Report PDF render time (docs/PERFORMANCE.md, "Service report"): one
//! appliance visit walked through the real workflow (diagnosis, quote,
//! work, test run, payment, signature), its report built and typeset into a
//! PDF again and again, typst's memo cache emptied before each round. The
//! first render (font loading) is reported apart.
//!
//! `cargo bench --profile server-bench -p doorstep-server --bench report_pdf`
//! (`DOORSTEP_BENCH_ROUNDS`, default 30).

use chrono::{Duration, FixedOffset, Utc};
use doorstep_core::messages::Lang;
use doorstep_core::signoff::Ratings;
use doorstep_core::walkthrough::Walkthrough;
use doorstep_core::{Assignment, DeviceId, Playbook};
use doorstep_server::report::document::ReportDocument;
use doorstep_server::report::pdf::render_pdf;
use std::time::Instant;

fn main() {
    let rounds: usize = std::env::var("DOORSTEP_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let pb = Playbook::shipped_by_id("appliance_repair").expect("a shipped trade");
    let start = Utc::now() - Duration::hours(4);
    let assignment: Assignment = serde_json::from_value(serde_json::json!({
        "id": "A-20261201-0001", "version": 2, "trade": "appliance_repair", "technician": "T-1",
        "customer": {"name": "黄梅", "phone": "138 0013 8001", "address": "上海市静安区武定路 12 号",
                     "location": {"lat": 31.23, "lon": 121.47}},
        "product": {"model": "BCD-520W", "purchase_date": "2024-05-02", "warranty": "out_of_warranty"},
        "fault_description": "冰箱不制冷",
        "requested_window": {"start": start, "end": start + Duration::hours(2)},
        "received_at": start - Duration::hours(3),
    }))
    .expect("an assignment");
    let device = DeviceId::new("phone-T-1").expect("a device id");
    let mut visit = Walkthrough::new(&pb, &assignment, &device, start - Duration::hours(2));
    let mut chain = None;
    visit.completed(
        None,
        Ratings {
            quality: 5,
            attitude: 5,
        },
        &mut chain,
    );
    let document = ReportDocument::build(
        &visit.visit.to_string(),
        "T-1",
        &visit.events,
        visit.state.clone(),
        None,
        "https://service.example",
    );
    let offset = FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    let view = document.view(Lang::ZhCn, offset);

    let first = Instant::now();
    let pdf = render_pdf(&view, &[]).expect("a CJK font is installed (fonts-noto-cjk)");
    let first = first.elapsed();
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        // Each round starts from an empty typst memo cache, as a report of
        // another visit would (the same input would be served from it).
        typst::comemo::evict(0);
        let t = Instant::now();
        let out = render_pdf(&view, &[]).expect("renders");
        times.push(t.elapsed());
        assert!(out.len() > 1000);
    }
    times.sort();
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    let mean = times.iter().map(|d| ms(*d)).sum::<f64>() / times.len() as f64;
    let pick = |q: f64| ms(times[((times.len() as f64 - 1.0) * q).round() as usize]);
    println!(
        "report PDF (zh-CN, {} bytes): first render {:.1} ms (fonts loaded); then {rounds} renders: mean {mean:.1} ms, p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        pdf.len(),
        ms(first),
        pick(0.5),
        pick(0.95),
        pick(1.0)
    );
}
