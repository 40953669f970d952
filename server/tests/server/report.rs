//! The service report: its PDF (text, embedded CJK font, the signature
//! drawn on page 1), a declined report, the customer link and its expiry,
//! verification after a stored fact is tampered with, and a server without
//! a CJK font. The PDF checks run poppler-utils (`pdftotext`, `pdffonts`,
//! `pdftoppm`); page 1 is left as a PNG in the test output directory.

use crate::both_backends;
use crate::harness::{assignment, device, numbered, Backend, Srv};
use chrono::{Duration, Utc};
use doorstep_core::signoff::Ratings;
use doorstep_core::walkthrough::{Camera, Walkthrough};
use doorstep_core::Playbook;
use doorstep_server::app::Config;
use doorstep_server::http::error::ApiError;
use doorstep_server::store::object_storage::simulator::{S3Account, S3Simulator};
use doorstep_server::store::object_storage::{BlobStore, BlobStoreSettings};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

both_backends!(
    report_pdf_shows_customer_totals_digest_in_an_embedded_cjk_font_and_the_signature,
    a_declined_signature_yields_a_report_marked_declined,
    a_customer_link_opens_the_report_until_it_expires,
    verification_says_broken_after_a_stored_fact_is_tampered,
    without_a_cjk_font_the_pdf_is_refused_with_report_font_missing,
    only_a_closed_visit_has_a_report,
    the_report_shows_the_photos_the_customer_signed_for,
    photos_kept_in_an_s3_bucket_are_served_and_reported,
);

const GOOD: Ratings = Ratings {
    quality: 5,
    attitude: 4,
};

/// Records and syncs one appliance visit on a new technician's phone;
/// returns the visit id.
async fn visit(s: &Srv, tech: &str, build: impl FnOnce(&mut Walkthrough)) -> String {
    visit_on_phone(s, tech, None, build)
        .await
        .walk
        .visit
        .to_string()
}

/// A visit synced from a technician's phone, with what the phone holds.
struct Synced {
    walk: Walkthrough,
    /// The phone's device token.
    token: String,
}

/// [`visit`], photographing each moment with `camera` when given.
async fn visit_on_phone(
    s: &Srv,
    tech: &str,
    camera: Option<Camera>,
    build: impl FnOnce(&mut Walkthrough),
) -> Synced {
    let (dev, token) = s.technician(tech, &["appliance_repair"]).await;
    let start =
        crate::harness::past_window_start(&doorstep_core::business_time::BusinessZone::shanghai());
    let a = assignment(&s.assignment_at("appliance_repair", Some(tech), start).await);
    let pb = Playbook::shipped_by_id("appliance_repair").unwrap();
    let mut v = Walkthrough::new(&pb, &a, &device(&dev), start - Duration::hours(2));
    if let Some(camera) = camera {
        v = v.with_camera(camera);
    }
    build(&mut v);
    let (st, r) = s.push(&token, &dev, &numbered(&v.events, 1)).await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["refused"].as_array().unwrap().len(), 0, "{r}");
    Synced { walk: v, token }
}

fn signed(v: &mut Walkthrough) {
    let mut chain = None;
    v.completed(None, GOOD, &mut chain);
}

async fn get_bytes(
    s: &Srv,
    path: &str,
    token: Option<&str>,
    lang: Option<&str>,
) -> (u16, String, Vec<u8>) {
    let mut req = s.http.get(format!("{}{path}", s.base));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(l) = lang {
        req = req.header("accept-language", l);
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    let kind = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, kind, res.bytes().await.unwrap().to_vec())
}

/// Where this test's files go (kept after the run to be looked at).
fn output_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool} (poppler-utils) must be installed: {e}"));
    assert!(
        out.status.success(),
        "{tool} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The visit's signed report digest and its customer total as the API shows them.
async fn digest_and_total(s: &Srv, visit: &str) -> (String, String) {
    let (st, v) = s.get(&format!("/api/visits/{visit}"), &s.dispatcher).await;
    assert_eq!(st, 200, "{v}");
    (
        v["state"]["sign_off"]["evidence"]["report_digest"]
            .as_str()
            .unwrap()
            .to_string(),
        v["display"]["customer_total"].as_str().unwrap().to_string(),
    )
}

/// Saves a PDF of `visit` in `lang` and returns its path.
async fn save_pdf(s: &Srv, visit: &str, lang: &str, name: &str) -> PathBuf {
    let (st, kind, pdf) = get_bytes(
        s,
        &format!("/api/visits/{visit}/report.pdf?lang={lang}"),
        Some(&s.dispatcher),
        None,
    )
    .await;
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&pdf));
    assert_eq!(kind, "application/pdf");
    assert!(pdf.starts_with(b"%PDF-"));
    let path = output_dir().join(name);
    std::fs::write(&path, &pdf).unwrap();
    path
}

/// Counts the signature's ink (its dark blue, the only blue on the page) in
/// the box above the signature caption on page 1, rendered at 50 dpi.
fn signature_ink(pdf: &Path, caption_word: &str, png_name: &str) -> usize {
    let out = output_dir();
    let stem = out.join(png_name);
    run(
        "pdftoppm",
        &[
            "-png",
            "-r",
            "50",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            pdf.to_str().unwrap(),
            stem.to_str().unwrap(),
        ],
    );
    let png = stem.with_extension("png");
    // Where the caption is on page 1, in PDF points.
    let bbox = run(
        "pdftotext",
        &["-bbox", "-f", "1", "-l", "1", pdf.to_str().unwrap(), "-"],
    );
    // The caption starts with `caption_word`; it is the last such word (the
    // banner and the verification status come before it).
    let line = bbox
        .lines()
        .rev()
        .find(|l| l.contains(&format!(">{caption_word}")))
        .unwrap_or_else(|| panic!("no {caption_word:?} on page 1:\n{bbox}"));
    let attr = |name: &str| -> f64 {
        let at = line.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        line[at..].split('"').next().unwrap().parse().unwrap()
    };
    let (x0, y_caption) = (attr("xMin"), attr("yMin"));
    // The box is 30 mm (85 pt) tall, right above the caption, as wide as
    // the left column (80 mm, 227 pt).
    let scale = 50.0 / 72.0;
    let (left, right) = ((x0 * scale) as u32, ((x0 + 227.0) * scale) as u32);
    let (top, bottom) = (
        ((y_caption - 88.0) * scale) as u32,
        ((y_caption - 2.0) * scale) as u32,
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let mut ink = 0;
    for y in top..bottom.min(info.height) {
        for x in left..right.min(info.width) {
            let at = (y as usize) * info.line_size + (x as usize) * channels;
            let (r, g, b) = (buf[at] as i32, buf[at + 1] as i32, buf[at + 2] as i32);
            if b - r > 40 && b - g > 30 && (r + g + b) / 3 < 200 {
                ink += 1;
            }
        }
    }
    ink
}

async fn report_pdf_shows_customer_totals_digest_in_an_embedded_cjk_font_and_the_signature(
    b: Backend,
) {
    let s = Srv::start(b).await;
    let visit = visit(&s, "T-1", signed).await;
    let (digest, total) = digest_and_total(&s, &visit).await;
    assert!(total.starts_with('¥'), "{total}");
    let tag = format!("{b:?}").to_lowercase();
    for (lang, caption) in [("zh-CN", "签字时间"), ("en", "Signed")] {
        let pdf = save_pdf(&s, &visit, lang, &format!("report-{tag}-{lang}.pdf")).await;
        let text = run("pdftotext", &["-layout", pdf.to_str().unwrap(), "-"]);
        assert!(text.contains("Test Customer"), "{lang}: {text}");
        assert!(text.contains(&total), "{lang}: no {total} in {text}");
        assert!(
            text.contains(&digest),
            "{lang}: no digest {digest} in {text}"
        );
        let fonts = run("pdffonts", &[pdf.to_str().unwrap()]);
        let cjk = fonts
            .lines()
            .find(|l| l.contains("CJK"))
            .unwrap_or_else(|| panic!("{lang}: no CJK font in\n{fonts}"));
        let cols: Vec<&str> = cjk.split_whitespace().collect();
        // name: a subset tag `ABCDEF+`; columns emb, sub: yes yes.
        assert!(cols[0].len() > 7 && cols[0].as_bytes()[6] == b'+', "{cjk}");
        assert!(cjk.contains("yes yes"), "embedded subset expected: {cjk}");
        let ink = signature_ink(&pdf, caption, &format!("report-{tag}-{lang}-page1"));
        assert!(
            ink > 15,
            "{lang}: the signature box on page 1 is blank ({ink} ink pixels)"
        );
    }
    html_report_speaks_chinese(&s, &visit).await;
}

/// The HTML report speaks the asked language and carries the same digest.
async fn html_report_speaks_chinese(s: &Srv, visit: &str) {
    let (st, kind, html) = get_bytes(
        s,
        &format!("/api/visits/{visit}/report.html?lang=zh-CN"),
        Some(&s.dispatcher),
        None,
    )
    .await;
    let html = String::from_utf8(html).unwrap();
    assert_eq!(
        (st, kind.as_str()),
        (200, "text/html; charset=utf-8"),
        "{html}"
    );
    assert!(
        html.contains("上门服务报告") && html.contains("<svg"),
        "{html}"
    );
}

async fn a_declined_signature_yields_a_report_marked_declined(b: Backend) {
    let s = Srv::start(b).await;
    let visit = visit(&s, "T-1", |v| {
        v.go(None).repair().pay().decline("赶时间").leave();
    })
    .await;
    let tag = format!("{b:?}").to_lowercase();
    let pdf = save_pdf(&s, &visit, "zh-CN", &format!("declined-{tag}.pdf")).await;
    let text = run("pdftotext", &["-layout", pdf.to_str().unwrap(), "-"]);
    assert!(text.contains("客户拒签"), "{text}");
    assert!(text.contains("赶时间"), "{text}");
    // No signature is drawn: the box holds the stamp, not ink.
    assert_eq!(
        signature_ink(&pdf, "客户拒签：", &format!("declined-{tag}-page1")),
        0
    );
    let (_, _, html) = get_bytes(
        &s,
        &format!("/api/visits/{visit}/report.html?lang=en"),
        Some(&s.dispatcher),
        None,
    )
    .await;
    let html = String::from_utf8(html).unwrap();
    assert!(html.contains("Service report — DECLINED"), "{html}");
}

async fn a_customer_link_opens_the_report_until_it_expires(b: Backend) {
    let config = Config {
        report_link_days: 2,
        ..Config::default()
    };
    let s = Srv::start_with(b, config).await;
    let visit = visit(&s, "T-1", signed).await;
    let (st, none) = s
        .get(&format!("/api/visits/{visit}/report-link"), &s.dispatcher)
        .await;
    assert_eq!((st, &none["link"]), (200, &Value::Null), "{none}");
    let (st, link) = s
        .post(
            &format!("/api/visits/{visit}/report-link"),
            &s.dispatcher,
            Value::Null,
        )
        .await;
    assert_eq!(st, 201, "{link}");
    let token = link["token"].as_str().unwrap();
    // 256 random bits, hex.
    assert!(token.len() >= 64, "{token}");
    assert!(
        link["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/r/{token}")),
        "{link}"
    );
    let lifetime = link["expires_at"].as_i64().unwrap() - link["created_at"].as_i64().unwrap();
    assert_eq!(lifetime, 2 * 24 * 3600 * 1000);

    // The customer opens it: Chinese by default, English by Accept-Language.
    let path = format!("/r/{token}");
    let (st, _, zh) = get_bytes(&s, &path, None, Some("zh-CN,zh;q=0.9")).await;
    let zh = String::from_utf8(zh).unwrap();
    assert_eq!(st, 200, "{zh}");
    assert!(
        zh.contains("Test Customer") && zh.contains("已验证"),
        "{zh}"
    );
    assert!(zh.contains("name=\"viewport\""), "a phone-sized page");
    let (_, _, en) = get_bytes(&s, &path, None, Some("en-GB,en;q=0.8")).await;
    assert!(String::from_utf8(en).unwrap().contains("Verified"));
    let (st, kind, pdf) = get_bytes(&s, &format!("{path}/report.pdf"), None, None).await;
    assert_eq!((st, kind.as_str()), (200, "application/pdf"));
    assert!(pdf.starts_with(b"%PDF-"));

    // Only the hash is stored.
    let stored = stored_text(&s, "SELECT token_hash FROM report_links").await;
    assert_ne!(stored, token);
    assert_eq!(stored.len(), 64);

    // Two days later (the stored expiry passes): gone.
    execute(
        &s,
        "UPDATE report_links SET expires_at = $1",
        Utc::now().timestamp_millis() - 1,
    )
    .await;
    let (st, kind, page) = get_bytes(&s, &path, None, Some("zh-CN")).await;
    assert_eq!((st, kind.as_str()), (410, "text/html; charset=utf-8"));
    let page = String::from_utf8(page).unwrap();
    assert!(
        page.starts_with("<!doctype html>") && page.contains("链接已过期"),
        "the customer sees a page, not the API's error shape: {page:.200}"
    );
    let (st, _, _) = get_bytes(&s, &format!("{path}/report.pdf"), None, None).await;
    assert_eq!(st, 410);
    let (_, status) = s
        .get(&format!("/api/visits/{visit}/report-link"), &s.dispatcher)
        .await;
    assert_eq!(status["link"]["expired"], true, "{status}");
    // A token never issued opens nothing.
    let (st, kind, _) = get_bytes(&s, &format!("/r/rpt_{}", "0".repeat(64)), None, None).await;
    assert_eq!((st, kind.as_str()), (404, "text/html; charset=utf-8"));
}

async fn verification_says_broken_after_a_stored_fact_is_tampered(b: Backend) {
    let s = Srv::start(b).await;
    let visit = visit(&s, "T-1", signed).await;
    let (digest, _) = digest_and_total(&s, &visit).await;
    let (_, link) = s
        .post(
            &format!("/api/visits/{visit}/report-link"),
            &s.dispatcher,
            Value::Null,
        )
        .await;
    let customer_page = format!("/r/{}", link["token"].as_str().unwrap());
    let verify_page = format!("/v/{visit}/{digest}");
    let (st, _, page) = get_bytes(&s, &verify_page, None, Some("en")).await;
    let page = String::from_utf8(page).unwrap();
    assert_eq!(st, 200, "{page}");
    assert!(page.contains("class=\"banner verified\""), "{page}");

    // Someone edits the recorded work in the database after signing.
    execute_text(
        &s,
        "UPDATE events SET body = REPLACE(body, '更换磨损部件', '更换全部部件') WHERE visit_id = $1",
        &visit,
    )
    .await;
    let (st, _, page) = get_bytes(&s, &verify_page, None, Some("zh-CN")).await;
    let page = String::from_utf8(page).unwrap();
    assert_eq!(st, 200, "{page}");
    assert!(
        page.contains("class=\"banner broken\"") && page.contains("验证失败"),
        "{page}"
    );
    let (_, _, report) = get_bytes(&s, &customer_page, None, Some("en")).await;
    let report = String::from_utf8(report).unwrap();
    assert!(report.contains("class=\"banner broken\""), "{report}");
    assert!(
        report.contains("更换全部部件"),
        "the report shows the stored facts: {report}"
    );
    // A digest that was never signed verifies nothing.
    let (st, _, _) = get_bytes(&s, &format!("/v/{visit}/{}", "ab".repeat(32)), None, None).await;
    assert_eq!(st, 404);
}

async fn without_a_cjk_font_the_pdf_is_refused_with_report_font_missing(b: Backend) {
    let empty = std::env::temp_dir().join(format!("doorstep-no-fonts-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&empty).unwrap();
    let config = Config {
        report_font_dirs: vec![empty.clone()],
        ..Config::default()
    };
    let s = Srv::start_with(b, config).await;
    let visit = visit(&s, "T-1", signed).await;
    let (st, body) = s
        .get(&format!("/api/visits/{visit}/report.pdf"), &s.dispatcher)
        .await;
    assert_eq!(st, 503, "{body}");
    assert_eq!(body["error"]["code"], "report_font_missing", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("fonts-noto-cjk") && message.contains("中文字体"),
        "{message}"
    );
    // The HTML report needs no font on the server.
    let (st, _, _) = get_bytes(
        &s,
        &format!("/api/visits/{visit}/report.html"),
        Some(&s.dispatcher),
        None,
    )
    .await;
    assert_eq!(st, 200);
    let _ = std::fs::remove_dir_all(&empty);
}

async fn only_a_closed_visit_has_a_report(b: Backend) {
    let s = Srv::start(b).await;
    let open = visit(&s, "T-1", |v| {
        v.go(None).repair();
    })
    .await;
    let (st, body) = s
        .get(&format!("/api/visits/{open}/report.pdf"), &s.dispatcher)
        .await;
    assert_eq!(
        (st, body["error"]["code"].as_str()),
        (409, Some("report_not_ready")),
        "{body}"
    );
    let (st, body) = s
        .post(
            &format!("/api/visits/{open}/report-link"),
            &s.dispatcher,
            Value::Null,
        )
        .await;
    assert_eq!(st, 409, "{body}");
    let (st, body) = s.get("/api/visits/nope/report.html", &s.dispatcher).await;
    assert_eq!(st, 404, "{body}");
    let closed = visit(&s, "T-2", signed).await;
    let (st, body) = s
        .get(
            &format!("/api/visits/{closed}/report.pdf?lang=fr"),
            &s.dispatcher,
        )
        .await;
    assert_eq!(
        (st, body["error"]["field"].as_str()),
        (400, Some("lang")),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("zh-CN 或 en"),
        "{body}"
    );
    // A technician device is not the center.
    let (_, device_token) = s.technician("T-3", &["appliance_repair"]).await;
    let (st, _) = s
        .get(&format!("/api/visits/{closed}/report.pdf"), &device_token)
        .await;
    assert_eq!(st, 403);
}

async fn execute(s: &Srv, sql: &'static str, value: i64) {
    s.state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                tx.execute(sql, &[value.into()]).await?;
                Ok::<_, ApiError>(())
            })
        })
        .await
        .unwrap();
}

async fn execute_text(s: &Srv, sql: &'static str, value: &str) {
    let value = value.to_string();
    s.state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                let n = tx.execute(sql, &[value.into()]).await?;
                assert!(n > 0, "nothing tampered");
                Ok::<_, ApiError>(())
            })
        })
        .await
        .unwrap();
}

async fn stored_text(s: &Srv, sql: &'static str) -> String {
    s.state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                let r = tx.query_opt(sql, &[]).await?;
                Ok::<_, ApiError>(r.map(|r| r.text(0)).unwrap_or_default())
            })
        })
        .await
        .unwrap()
}

/// The phone's camera in these tests: a real 320×240 JPEG per moment (its
/// colour from the moment's name), except `after_repair`, whose bytes start
/// like a JPEG but are no picture.
fn camera(moment: &str) -> (Vec<u8>, u32, u32) {
    if moment == "after_repair" {
        let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
        bytes.extend_from_slice(b"not a picture at all");
        return (bytes, 1280, 960);
    }
    let shade = moment.bytes().fold(0u8, |a, b| a.wrapping_add(b));
    let img = image::RgbImage::from_fn(320, 240, |x, y| {
        image::Rgb([shade, (x % 256) as u8, (y % 256) as u8])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
        .encode_image(&img)
        .unwrap();
    (out, 320, 240)
}

/// Another phone's camera: other pictures of the same moments.
fn other_camera(moment: &str) -> (Vec<u8>, u32, u32) {
    camera(&format!("{moment} elsewhere"))
}

/// Uploads the bytes of the photo of `moment` from the phone.
async fn upload_photo(s: &Srv, phone: &Synced, moment: &str) -> String {
    let bytes = phone.walk.picture(moment).unwrap();
    let digest = doorstep_core::canonical::sha256_hex(&bytes);
    let res = s
        .http
        .put(format!("{}/api/sync/blobs/{digest}", s.base))
        .bearer_auth(&phone.token)
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201, "{}", res.text().await.unwrap());
    digest
}

/// The images embedded in a PDF as `pdfimages -list` lists them:
/// (width, height, encoding).
fn pdf_images(pdf: &Path) -> Vec<(u32, u32, String)> {
    run("pdfimages", &["-list", pdf.to_str().unwrap()])
        .lines()
        .skip(2)
        .map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            (
                cols[3].parse().unwrap(),
                cols[4].parse().unwrap(),
                cols[8].to_string(),
            )
        })
        .collect()
}

/// Report format 2's photos are in every copy of the report: the PDF embeds
/// the pictures the customer signed for (as JPEG, not re-encoded), the
/// console's page carries them inline, and the customer's link shows them
/// through its own address while it lives. A photo whose bytes have not
/// arrived says so; bytes that are no picture, or no longer hash to the
/// signed digest, are never shown as if they were the signed photo.
async fn the_report_shows_the_photos_the_customer_signed_for(b: Backend) {
    let s = Srv::start(b).await;
    let phone = visit_on_phone(&s, "T-1", Some(camera), signed).await;
    let visit = phone.walk.visit.to_string();
    let nameplate = upload_photo(&s, &phone, "nameplate").await;
    upload_photo(&s, &phone, "after_repair").await;
    // `fault_before` stays on the phone.
    let fault_before =
        doorstep_core::canonical::sha256_hex(&phone.walk.picture("fault_before").unwrap());
    let tag = format!("{b:?}").to_lowercase();

    let pdf = save_pdf(&s, &visit, "zh-CN", &format!("photos-{tag}.pdf")).await;
    assert_eq!(
        pdf_images(&pdf)
            .into_iter()
            .filter(|i| (i.0, i.1) == (320, 240))
            .map(|i| i.2)
            .collect::<Vec<_>>(),
        ["jpeg"],
        "the readable photo, embedded as the phone took it"
    );
    let text = run("pdftotext", &[pdf.to_str().unwrap(), "-"]);
    for expected in [
        "铭牌及序列号",
        "维修前故障部位",
        "维修后",
        "照片尚未上传",
        "此照片无法显示",
    ] {
        assert!(text.contains(expected), "{expected} in:\n{text}");
    }

    // The console's page is self-contained.
    let (st, _, html) = get_bytes(
        &s,
        &format!("/api/visits/{visit}/report.html?lang=zh-CN"),
        Some(&s.dispatcher),
        None,
    )
    .await;
    let html = String::from_utf8(html).unwrap();
    assert_eq!(st, 200);
    assert_eq!(
        html.matches("<img src=\"data:image/jpeg;base64,").count(),
        2,
        "{html:.300}"
    );
    assert!(html.contains("照片尚未上传"));

    // The customer's page links each arrived photo under its own link.
    let (_, link) = s
        .post(
            &format!("/api/visits/{visit}/report-link"),
            &s.dispatcher,
            Value::Null,
        )
        .await;
    let here = format!("/r/{}", link["token"].as_str().unwrap());
    let (_, _, page) = get_bytes(&s, &here, None, Some("zh-CN")).await;
    let page = String::from_utf8(page).unwrap();
    assert!(
        page.contains(&format!("<img src=\"{here}/photos/{nameplate}\"")),
        "{page}"
    );
    assert!(page.contains("照片尚未上传") && !page.contains(&format!("photos/{fault_before}")));
    let (st, kind, bytes) = get_bytes(&s, &format!("{here}/photos/{nameplate}"), None, None).await;
    assert_eq!((st, kind.as_str()), (200, "image/jpeg"));
    assert_eq!(bytes, phone.walk.picture("nameplate").unwrap());
    // Not a photo of this visit (another visit's, or any stored bytes).
    let other = visit_on_phone(&s, "T-2", Some(other_camera), signed).await;
    let (st, _, _) = get_bytes(
        &s,
        &format!(
            "{here}/photos/{}",
            upload_photo(&s, &other, "nameplate").await
        ),
        None,
        None,
    )
    .await;
    assert_eq!(st, 404);
    let (st, _, _) = get_bytes(&s, &format!("{here}/photos/{fault_before}"), None, None).await;
    assert_eq!(st, 404, "named by the visit, but its bytes never arrived");

    // A stored photo whose bytes no longer match the signed digest is not
    // printed as the signed photo.
    // (The default blob store: files named by digest in the blob directory.)
    std::fs::write(s.state.blobs.dir().join(&nameplate), camera("swapped").0).unwrap();
    let pdf = save_pdf(&s, &visit, "zh-CN", &format!("photos-swapped-{tag}.pdf")).await;
    assert_eq!(
        pdf_images(&pdf)
            .iter()
            .filter(|i| (i.0, i.1) == (320, 240))
            .count(),
        0
    );
    let text = run("pdftotext", &[pdf.to_str().unwrap(), "-"]);
    assert_eq!(text.matches("此照片无法显示").count(), 2, "{text}");

    // The link's photos end with the link.
    execute(
        &s,
        "UPDATE report_links SET expires_at = $1",
        Utc::now().timestamp_millis() - 1,
    )
    .await;
    let (st, _, _) = get_bytes(&s, &format!("{here}/photos/{nameplate}"), None, None).await;
    assert_eq!(st, 410);
}

/// The settings that put the whole photos into the simulated bucket under
/// `prefix`, signed with `secret`.
fn bucket_settings(sim: &S3Simulator, account: &S3Account, secret: &str) -> BlobStoreSettings {
    BlobStoreSettings {
        blob_store_url: Some(format!("s3://{}/prod/photos", account.bucket)),
        s3_endpoint: Some(sim.url()),
        s3_region: account.region.clone(),
        s3_access_key_id: Some(account.access_key_id.clone()),
        s3_secret_access_key: Some(secret.to_string()),
        s3_virtual_hosted_style: false,
    }
}

/// Issue 12, item 2: at scale the photos go to an S3-compatible bucket
/// (`--blob-store-url s3://…`, the `object_store` crate): an upload lands
/// there under its SHA-256 once whole and verified, the console's copy and
/// the report's PDF read it back from there; while the bucket is down the
/// upload fails and the verified bytes wait on the server's disk, so the
/// device's next attempt finishes it; and a server with the wrong secret is
/// refused by the bucket (its signatures are checked).
async fn photos_kept_in_an_s3_bucket_are_served_and_reported(b: Backend) {
    let account = S3Account::default();
    let sim = S3Simulator::start(account.clone()).await.unwrap();
    let s = Srv::start_with_blob_store(
        b,
        &bucket_settings(&sim, &account, &account.secret_access_key),
    )
    .await;
    let phone = visit_on_phone(&s, "T-1", Some(camera), signed).await;
    let visit = phone.walk.visit.to_string();
    let nameplate = upload_photo(&s, &phone, "nameplate").await;
    assert_eq!(sim.keys(), [format!("prod/photos/{nameplate}")]);
    assert_eq!(
        sim.object(&format!("prod/photos/{nameplate}"))
            .unwrap()
            .to_vec(),
        phone.walk.picture("nameplate").unwrap(),
        "the bucket holds the bytes the phone took"
    );
    let (st, kind, bytes) = get_bytes(
        &s,
        &format!("/api/blobs/{nameplate}"),
        Some(&s.dispatcher),
        None,
    )
    .await;
    assert_eq!((st, kind.as_str()), (200, "image/jpeg"));
    assert_eq!(bytes, phone.walk.picture("nameplate").unwrap());

    // The bucket is down: the upload fails, nothing is recorded as stored…
    sim.set_unavailable(true);
    let fault = phone.walk.picture("fault_before").unwrap();
    let digest = doorstep_core::canonical::sha256_hex(&fault);
    let put = |bytes: Vec<u8>| {
        s.http
            .put(format!("{}/api/sync/blobs/{digest}", s.base))
            .bearer_auth(&phone.token)
            .body(bytes)
            .send()
    };
    let refused = put(fault.clone()).await.unwrap();
    assert_eq!(refused.status().as_u16(), 500);
    assert!(sim
        .asked()
        .iter()
        .any(|a| a.starts_with("PUT") && a.ends_with("→ 503")));
    let (st, _, _) = get_bytes(
        &s,
        &format!("/api/blobs/{digest}"),
        Some(&s.dispatcher),
        None,
    )
    .await;
    assert_eq!(
        st, 404,
        "not a stored photo while the bucket has not got it"
    );
    // …and once it is back, the device's next attempt finishes the upload.
    sim.set_unavailable(false);
    let again = put(fault.clone()).await.unwrap();
    assert_eq!(
        again.status().as_u16(),
        201,
        "{}",
        again.text().await.unwrap()
    );
    assert_eq!(
        sim.object(&format!("prod/photos/{digest}"))
            .unwrap()
            .to_vec(),
        fault
    );

    // The report embeds the photos read back from the bucket.
    let tag = format!("{b:?}").to_lowercase();
    let pdf = save_pdf(&s, &visit, "zh-CN", &format!("photos-s3-{tag}.pdf")).await;
    let embedded = pdf_images(&pdf)
        .into_iter()
        .filter(|i| (i.0, i.1) == (320, 240))
        .count();
    assert_eq!(embedded, 2, "both photos, from the bucket");

    // A wrong secret: the bucket refuses the server's signature.
    let dir = std::env::temp_dir();
    let wrong =
        BlobStore::configured(&bucket_settings(&sim, &account, "not-the-secret"), &dir).unwrap();
    let e = wrong
        .put(&"0".repeat(64), bytes::Bytes::from_static(b"x"))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("SignatureDoesNotMatch"), "{e}");
    assert!(sim
        .object(&format!("prod/photos/{}", "0".repeat(64)))
        .is_none());
}

#[tokio::test]
async fn a_photos_facts_are_found_by_its_digest_not_by_reading_every_fact() {
    // SQLite's plans are deterministic; PostgreSQL has the same index
    // (schema_parity.rs). Each upload request and each phone's fetch of a
    // photo asks these.
    use doorstep_server::store::blobs::{PHOTO_OF_TECHNICIAN_SQL, PHOTO_SIZE_SQL};
    let s = Srv::start(Backend::Sqlite).await;
    for sql in [PHOTO_SIZE_SQL, PHOTO_OF_TECHNICIAN_SQL] {
        let plan = s
            .sqlite_plan(sql, vec!["ab".repeat(32).into(), "D-1".into()])
            .await;
        assert_eq!(
            plan,
            ["SEARCH photo_events USING INDEX photo_events_digest (digest=?)"],
            "{sql}"
        );
    }
}
