//! Report PDF render time (docs/PERFORMANCE.md, "Service report"): one
//! appliance visit walked through the real workflow (diagnosis, quote,
//! work, test run, payment, signature), its report built and typeset into a
//! PDF again and again, typst's memo cache emptied before each round so each
//! render decodes its photos again. The first render (font loading) is
//! reported apart. The visit carries six photos, real JPEGs of a phone's
//! evidence size (`DOORSTEP_BENCH_PHOTO`, default `1600x1200`; `4000x3000`
//! for a phone camera's full size), and the run is repeated without photos
//! for comparison. Photos are embedded as the server does, as their report
//! renditions (at most 1600 px on the long side), whose making is timed
//! apart: the server makes each once, when its upload completes.
//!
//! `cargo bench --profile server-bench -p doorstep-server --bench report_pdf`
//! (`DOORSTEP_BENCH_ROUNDS`, default 30).

use chrono::{Duration, FixedOffset, Utc};
use doorstep_core::messages::{Lang, Text};
use doorstep_core::signoff::Ratings;
use doorstep_core::walkthrough::Walkthrough;
use doorstep_core::{Assignment, DeviceId, Playbook};
use doorstep_server::report::document::{ReportDocument, ReportPhoto};
use doorstep_server::report::pdf::render_pdf;
use doorstep_server::report::renditions::rendition;
use doorstep_server::report::view::ReportView;
use std::time::Instant;

/// A photo-like JPEG: smooth light with fine noise, so it compresses as a
/// camera picture does (about 0.2 bytes per pixel at quality 85), not as a
/// flat test card.
fn photo_jpeg(width: u32, height: u32, seed: u32) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let noise = (state % 24) as i32 - 12;
        let base = |v: u32, span: u32| (v * 200 / span.max(1)) as i32;
        let c = |v: i32| (v + noise).clamp(0, 255) as u8;
        image::Rgb([
            c(40 + base(x, width)),
            c(60 + base(y, height) / 2),
            c(90 + base(x + y, width + height) / 2),
        ])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&img)
        .expect("encodes");
    out
}

fn measure(label: &str, view: &ReportView, photos: &[Option<Vec<u8>>], rounds: usize) {
    let first = Instant::now();
    let pdf = render_pdf(view, photos, &[]).expect("a CJK font is installed (fonts-noto-cjk)");
    let first = first.elapsed();
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        // Each round starts from an empty typst memo cache, as a report of
        // another visit would (the same input would be served from it).
        typst::comemo::evict(0);
        let t = Instant::now();
        let out = render_pdf(view, photos, &[]).expect("renders");
        times.push(t.elapsed());
        assert!(out.len() > 1000);
    }
    times.sort();
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    let mean = times.iter().map(|d| ms(*d)).sum::<f64>() / times.len() as f64;
    let pick = |q: f64| ms(times[((times.len() as f64 - 1.0) * q).round() as usize]);
    println!(
        "report PDF (zh-CN, {label}, {} bytes): first render {:.1} ms; then {rounds} renders: mean {mean:.1} ms, p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        pdf.len(),
        ms(first),
        pick(0.5),
        pick(0.95),
        pick(1.0)
    );
}

fn main() {
    let rounds: usize = std::env::var("DOORSTEP_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let size = std::env::var("DOORSTEP_BENCH_PHOTO").unwrap_or_else(|_| "1600x1200".into());
    let (width, height) = size
        .split_once('x')
        .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
        .expect("DOORSTEP_BENCH_PHOTO is WIDTHxHEIGHT");
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
    let mut document = ReportDocument::build(
        &visit.visit.to_string(),
        "T-1",
        &visit.events,
        visit.state.clone(),
        doorstep_core::Playbook::shipped_by_id("appliance_repair"),
        None,
        "https://service.example",
    );
    let offset = FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    let without = document.view(Lang::ZhCn, offset);

    let jpegs: Vec<Vec<u8>> = (0..6).map(|i| photo_jpeg(width, height, i + 1)).collect();
    document.photos = jpegs
        .iter()
        .enumerate()
        .map(|(i, bytes)| ReportPhoto {
            moment: format!("moment_{i}"),
            name: Text::new(format!("Photo {}", i + 1), format!("照片 {}", i + 1)),
            digest: doorstep_core::canonical::sha256_hex(bytes),
            width,
            height,
            stored: true,
        })
        .collect();
    let with = document.view(Lang::ZhCn, offset);
    let each = jpegs.iter().map(Vec::len).sum::<usize>() / jpegs.len();
    // What the server embeds: each photo's report rendition (made once per
    // photo, when its upload completes), or the photo itself when small.
    let made = Instant::now();
    let photos: Vec<Option<Vec<u8>>> = jpegs
        .into_iter()
        .map(|j| Some(rendition(&j).expect("a picture").unwrap_or(j)))
        .collect();
    println!(
        "report renditions of 6 photos of {width}x{height} ({each} bytes each): {:.1} ms per photo, made once",
        made.elapsed().as_secs_f64() * 1000.0 / 6.0
    );
    measure(
        &format!("6 photos of {width}x{height}, {each} bytes each, as embedded"),
        &with,
        &photos,
        rounds,
    );
    measure("no photos", &without, &[], rounds);
}
