//! The console map's tile source (`--map-tiles`, `--map-tiles-system`,
//! `--map-tiles-subdomains`, `--map-attribution`): an XYZ URL template such
//! as OpenStreetMap's, AMap's or Tianditu's, the coordinate system its
//! tiles are drawn in (positions are stored in WGS-84 and converted on
//! display, `console/coords.js`), and the page's Content-Security-Policy
//! widened to load images from that host only. No template: no tiles, the
//! markers stand on a blank background.

use serde::Serialize;

/// Coordinate systems an XYZ tile source can be drawn in. Baidu's BD-09
/// tiles use their own tiling scheme, which Leaflet does not draw without a
/// custom projection, so `bd09` is not offered (coords.js converts to it).
pub const TILE_SYSTEMS: [&str; 2] = ["wgs84", "gcj02"];

/// A tile URL template: http(s), with `{x}`, `{y}` and `{z}`.
pub fn parse_template(text: &str) -> Result<String, String> {
    let t = text.trim();
    let ok = (t.starts_with("https://") || t.starts_with("http://"))
        && ["{x}", "{y}", "{z}"].iter().all(|p| t.contains(p))
        && !t.contains(['"', '\'', ';', ' ']);
    if ok {
        Ok(t.to_string())
    } else {
        Err("expected an http(s) tile URL template with {x}, {y} and {z}, such as https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png / 应为含 {x}、{y}、{z} 的 http(s) 瓦片地址模板，例如 https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png".into())
    }
}

/// A tile coordinate system: one of [`TILE_SYSTEMS`].
pub fn parse_system(text: &str) -> Result<String, String> {
    let t = text.trim().to_ascii_lowercase();
    if TILE_SYSTEMS.contains(&t.as_str()) {
        Ok(t)
    } else {
        Err("expected wgs84 (OpenStreetMap, Tianditu) or gcj02 (AMap, Tencent) / 应为 wgs84（OpenStreetMap、天地图）或 gcj02（高德、腾讯）".into())
    }
}

/// The CSP source the tiles load from: scheme and host of the template, a
/// host label holding `{s}` widened to `*` (e.g. `https://*.tile.openstreetmap.org`).
pub fn image_source(template: &str) -> Option<String> {
    let (scheme, rest) = template.split_once("://")?;
    let host = rest.split(['/', '?']).next()?;
    let mut labels: Vec<String> = host.split('.').map(str::to_string).collect();
    for l in labels.iter_mut() {
        if l.contains("{s}") {
            *l = "*".into();
        }
    }
    let host = labels.join(".");
    if host.is_empty()
        || host.contains(['{', '}'])
        || (host.contains('*') && !host.starts_with("*."))
    {
        return None;
    }
    Some(format!("{scheme}://{host}"))
}

/// `policy` with `source` added to its `img-src`.
pub fn policy_with_images_from(policy: &str, source: &str) -> String {
    policy
        .split("; ")
        .map(|d| {
            if d.starts_with("img-src ") {
                format!("{d} {source}")
            } else {
                d.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// What the console's map is told (`GET /api/map`).
#[derive(Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct MapSettings {
    pub tiles: Option<String>,
    pub system: String,
    pub subdomains: String,
    pub attribution: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tile_template_needs_http_and_all_of_x_y_z() {
        assert!(parse_template("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png").is_ok());
        assert!(parse_template("https://tile.example/{z}/{x}.png").is_err());
        assert!(parse_template("ftp://tile.example/{z}/{x}/{y}.png").is_err());
        let refusal = parse_template("tiles").unwrap_err();
        assert!(refusal.contains("{x}") && refusal.contains("瓦片"));
    }

    #[test]
    fn tile_systems_are_wgs84_or_gcj02_only() {
        assert_eq!(parse_system("GCJ02").unwrap(), "gcj02");
        assert!(parse_system("bd09").unwrap_err().contains("高德"));
    }

    #[test]
    fn the_page_may_load_images_from_the_tile_host_only() {
        assert_eq!(
            image_source("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png").as_deref(),
            Some("https://*.tile.openstreetmap.org")
        );
        assert_eq!(
            image_source("https://webrd0{s}.is.autonavi.com/appmaptile?x={x}&y={y}&z={z}")
                .as_deref(),
            Some("https://*.is.autonavi.com")
        );
        assert_eq!(
            image_source("https://tiles.example:8443/{z}/{x}/{y}.png").as_deref(),
            Some("https://tiles.example:8443")
        );
        let policy = policy_with_images_from(
            "default-src 'self'; script-src 'self'; img-src 'self' data: blob:; connect-src 'self'",
            "https://*.tile.openstreetmap.org",
        );
        assert!(policy.contains("img-src 'self' data: blob: https://*.tile.openstreetmap.org;"));
        assert!(policy.contains("script-src 'self';"));
    }
}
