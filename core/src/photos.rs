//! Photos as evidence, outside the workflow's rules: the watermark the shell
//! burns into a photo (the core gives the text and the layout; the shell
//! draws it with the platform's fonts, so no image code is in the phone's
//! library) and the content type of stored bytes, read from their magic
//! numbers (never decoded). The rules live in `workflow::rules::photos`, the
//! bytes in the store's blob area.

use crate::assignment::district_of;
use crate::location::GeoFix;
use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::{Deserialize, Serialize};

/// What the watermark says: the moment the photo is taken and where, by
/// whom, for which work order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatermarkInput {
    pub taken_at: DateTime<Utc>,
    /// The business's offset from UTC in minutes (China: 480): the time is
    /// shown as the customer's wall clock reads it.
    pub utc_offset_minutes: i32,
    /// The customer's address, when known: only its district is shown, and
    /// only when the phone has no location fix.
    pub address: Option<String>,
    pub location: Option<GeoFix>,
    pub technician: String,
    pub work_order: String,
    /// The photo's size in pixels, as the shell will encode it.
    pub width: u32,
    pub height: u32,
}

/// Where the watermark's box sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WatermarkAnchor {
    BottomLeft,
}

/// The watermark to burn in: lines of text, top to bottom, in a box at
/// `anchor`, `margin_px` from the photo's edges, each line `line_height_px`
/// tall in a font of `font_px`; white text (`text_rgba`) on a translucent
/// dark box (`box_rgba`) so it reads on any picture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Watermark {
    pub lines: Vec<String>,
    pub anchor: WatermarkAnchor,
    pub font_px: u32,
    pub line_height_px: u32,
    pub margin_px: u32,
    pub padding_px: u32,
    pub text_rgba: [u8; 4],
    pub box_rgba: [u8; 4],
}

/// The watermark of a photo: the local time with its offset, the coordinates
/// and their accuracy (or the address's district, or "no location"), the technician
/// and the work order, each on its own line, bilingual labels kept short.
/// The font scales with the photo: 1/36 of its shorter side, at least 12 px.
pub fn watermark(input: &WatermarkInput) -> Watermark {
    let minutes = input.utc_offset_minutes.clamp(-1439, 1439);
    let local = (input.taken_at + chrono::Duration::minutes(i64::from(minutes))).naive_utc();
    // Written out rather than with chrono's `format`: its format-string
    // machinery would add to the phone's library.
    let sign = if minutes < 0 { '-' } else { '+' };
    let time = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} {sign}{:02}:{:02}",
        local.year(),
        local.month(),
        local.day(),
        local.hour(),
        local.minute(),
        local.second(),
        minutes.abs() / 60,
        minutes.abs() % 60
    );
    // The coordinates when the phone has a fix, else the address only up to
    // its district: burned into the picture, the street and house number
    // could never be masked when the order's contact is (PIPL retention).
    let district = input
        .address
        .as_deref()
        .map(district_of)
        .unwrap_or_default();
    let place = match &input.location {
        Some(fix) => format!(
            "{:.5}, {:.5} ±{:.0} m",
            fix.point.lat, fix.point.lon, fix.accuracy_m
        ),
        None if !district.is_empty() => district,
        None => "位置不可用 / no location".to_string(),
    };
    let shorter = input.width.min(input.height).max(1);
    let font_px = (shorter / 36).max(12);
    Watermark {
        lines: vec![
            time,
            place,
            format!("技术员 Technician: {}", input.technician),
            format!("工单 Work order: {}", input.work_order),
        ],
        anchor: WatermarkAnchor::BottomLeft,
        font_px,
        line_height_px: font_px * 5 / 4,
        margin_px: font_px,
        padding_px: font_px / 2,
        text_rgba: [255, 255, 255, 255],
        box_rgba: [0, 0, 0, 115],
    }
}

/// The content type of image bytes by their magic number: `image/jpeg`,
/// `image/png`, else `application/octet-stream`.
pub fn content_type_of(bytes: &[u8]) -> &'static str {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        "image/jpeg"
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        "image/png"
    } else {
        "application/octet-stream"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::location::GeoPoint;
    use chrono::TimeZone;

    fn input() -> WatermarkInput {
        WatermarkInput {
            taken_at: Utc.with_ymd_and_hms(2026, 11, 25, 2, 5, 0).unwrap(),
            utc_offset_minutes: 480,
            address: None,
            location: Some(GeoFix {
                point: GeoPoint {
                    lat: 31.2304,
                    lon: 121.4737,
                },
                accuracy_m: 8.0,
            }),
            technician: "张师傅".into(),
            work_order: "A-1001".into(),
            width: 1440,
            height: 1080,
        }
    }

    #[test]
    fn the_watermark_shows_local_time_coordinates_technician_and_work_order() {
        let w = watermark(&input());
        assert_eq!(
            w.lines,
            vec![
                "2026-11-25 10:05:00 +08:00",
                "31.23040, 121.47370 ±8 m",
                "技术员 Technician: 张师傅",
                "工单 Work order: A-1001",
            ]
        );
        assert_eq!(w.font_px, 30);
    }

    #[test]
    fn the_watermark_never_shows_the_street_and_keeps_a_readable_font_on_small_photos() {
        let mut i = input();
        i.address = Some("上海市黄浦区南京东路1号".into());
        i.width = 100;
        i.height = 80;
        let w = watermark(&i);
        assert_eq!(
            w.lines[1], "31.23040, 121.47370 ±8 m",
            "the fix, not the address"
        );
        assert_eq!(w.font_px, 12);
        i.location = None;
        assert_eq!(watermark(&i).lines[1], "上海市黄浦区", "the district only");
        i.address = Some("南京东路1号".into());
        assert_eq!(watermark(&i).lines[1], "位置不可用 / no location");
    }

    #[test]
    fn content_type_comes_from_the_magic_number() {
        assert_eq!(content_type_of(&[0xFF, 0xD8, 0xFF, 0xE0]), "image/jpeg");
        assert_eq!(content_type_of(b"\x89PNG\r\n\x1a\n...."), "image/png");
        assert_eq!(content_type_of(b"GIF89a"), "application/octet-stream");
    }
}
