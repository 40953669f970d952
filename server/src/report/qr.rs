//! The QR code printed on the report: it opens the report's verification
//! page. Drawn in Rust (the `qrcode` crate) as an SVG that both the HTML page
//! and the PDF embed as vector art.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// An SVG QR code of `url` (error correction M, with its quiet zone), or
/// `None` for a text too long to encode.
pub fn qr_svg(url: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(url.as_bytes(), EcLevel::M).ok()?;
    Some(
        code.render::<svg::Color<'_>>()
            .min_dimensions(200, 200)
            .dark_color(svg::Color("#000000"))
            .light_color(svg::Color("#ffffff"))
            .quiet_zone(true)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_becomes_an_svg_qr_code() {
        let svg = qr_svg("https://service.example/v/0190/abcdef").unwrap();
        assert!(svg.contains("<svg") && svg.contains("#000000"), "{svg}");
    }

    #[test]
    fn a_text_beyond_qr_capacity_has_no_code() {
        assert_eq!(qr_svg(&"x".repeat(5000)), None);
    }
}
