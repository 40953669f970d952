//! The customer's hand on the screen: signature strokes, the ratings that
//! exist only inside a sign-off, and the evidence record binding a signature
//! to the report digest, the device, the time and the place (STANDARDS §2.16).
//! Workflow vocabulary: commands and events carry these; `crate::signoff`
//! re-exports them next to the verification.

use crate::canonical;
use crate::ids::DeviceId;
use crate::location::GeoFix;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One point of a signature stroke, in device-independent units, with its
/// time offset from the start of the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StrokePoint {
    pub x: i32,
    pub y: i32,
    pub t_ms: u32,
}

/// One continuous pen-down stroke.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stroke {
    pub points: Vec<StrokePoint>,
}

/// Whether the strokes are a plausible signature: at least one stroke with
/// two or more points, time offsets non-decreasing within each stroke.
pub fn strokes_are_signature(strokes: &[Stroke]) -> bool {
    strokes.iter().any(|s| s.points.len() >= 2)
        && strokes
            .iter()
            .all(|s| s.points.windows(2).all(|w| w[0].t_ms <= w[1].t_ms))
}

/// SHA-256 over the canonical JSON of the strokes.
pub fn strokes_digest(strokes: &[Stroke]) -> String {
    canonical::sha256_hex(&strokes_canonical_json(strokes))
}

/// The strokes' canonical JSON (`crate::canonical`: keys sorted, no spaces),
/// written straight from the points: a signature of thousands of points is
/// hashed on every replay of its visit, and a JSON tree of it would cost an
/// allocation per point.
fn strokes_canonical_json(strokes: &[Stroke]) -> Vec<u8> {
    use std::io::Write;
    let points: usize = strokes.iter().map(|s| s.points.len()).sum();
    let mut out = Vec::with_capacity(16 + strokes.len() * 16 + points * 32);
    out.push(b'[');
    for (i, stroke) in strokes.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"points\":[");
        for (j, p) in stroke.points.iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            // Writing into a Vec cannot fail.
            let _ = write!(out, "{{\"t_ms\":{},\"x\":{},\"y\":{}}}", p.t_ms, p.x, p.y);
        }
        out.extend_from_slice(b"]}");
    }
    out.push(b']');
    out
}

/// The customer's ratings, 1 (poor) to 5 (excellent). They exist only inside
/// a customer sign-off: no other command or event carries them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ratings {
    /// Repair (or service) quality.
    pub quality: u8,
    /// Service attitude.
    pub attitude: u8,
}

impl Ratings {
    pub fn in_range(&self) -> bool {
        (1..=5).contains(&self.quality) && (1..=5).contains(&self.attitude)
    }
    /// Satisfied when both ratings are 4 or 5.
    pub fn satisfied(&self) -> bool {
        self.quality >= 4 && self.attitude >= 4
    }
}

/// The first 8 hex characters of a digest, as shown on the signing screen.
pub fn short_digest(digest: &str) -> &str {
    &digest[..digest.len().min(8)]
}

/// The sign-off evidence record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignOffEvidence {
    pub report_digest: String,
    pub strokes_digest: String,
    pub consent_digest: String,
    pub device_id: DeviceId,
    pub signed_at: DateTime<Utc>,
    pub location: Option<GeoFix>,
    /// Digest of this device's previous evidence record (hash chain).
    pub previous_evidence_digest: Option<String>,
    /// Optional signature over `digest()` by a key in the platform keystore.
    #[serde(default)]
    pub device_signature: Option<String>,
}

impl SignOffEvidence {
    /// Digest of the record without the device signature (what the device key signs,
    /// and what the next record chains to).
    pub fn digest(&self) -> String {
        let mut unsigned = self.clone();
        unsigned.device_signature = None;
        canonical::digest(&unsigned).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_strokes_digest_is_over_their_canonical_json() {
        let p = |x, y, t_ms| StrokePoint { x, y, t_ms };
        let cases = [
            vec![],
            vec![Stroke { points: vec![] }],
            vec![
                Stroke {
                    points: vec![p(10, -40, 0), p(i32::MIN, i32::MAX, u32::MAX)],
                },
                Stroke {
                    points: vec![p(0, 0, 7)],
                },
            ],
        ];
        for strokes in cases {
            assert_eq!(
                String::from_utf8(strokes_canonical_json(&strokes)).unwrap(),
                canonical::to_canonical_json(&strokes).unwrap()
            );
            assert_eq!(
                strokes_digest(&strokes),
                canonical::digest(&strokes).unwrap()
            );
        }
    }
}
