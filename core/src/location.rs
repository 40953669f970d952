//! Locations as the caller reports them (GPS fix with accuracy) and the
//! geofence check against the customer's address, using `geo`'s haversine.

use geo::{Distance, Haversine, Point};
use serde::{Deserialize, Serialize};

/// A point on earth in WGS-84 degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

impl GeoPoint {
    pub fn is_valid(&self) -> bool {
        self.lat.is_finite()
            && self.lon.is_finite()
            && (-90.0..=90.0).contains(&self.lat)
            && (-180.0..=180.0).contains(&self.lon)
    }

    /// Great-circle distance in metres.
    pub fn distance_m(&self, other: &GeoPoint) -> f64 {
        Haversine.distance(
            Point::new(self.lon, self.lat),
            Point::new(other.lon, other.lat),
        )
    }
}

/// A location fix from the phone: where, and how sure.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GeoFix {
    #[serde(flatten)]
    pub point: GeoPoint,
    /// Horizontal accuracy radius in metres, as the OS reports it.
    pub accuracy_m: f64,
}

impl GeoFix {
    /// A usable fix: finite coordinates in range and a finite, non-negative
    /// accuracy. (A NaN cannot even be stored: JSON writes it as null.)
    pub fn is_valid(&self) -> bool {
        self.point.is_valid() && self.accuracy_m.is_finite() && self.accuracy_m >= 0.0
    }
}

/// Why the phone gave no location: recorded as such, never a silent null.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LocationUnavailable {
    /// The technician (or the OS) refused the location permission.
    PermissionDenied,
    /// Permission granted, but no fix came (indoors, no signal, timeout).
    NoFix,
}

/// The outcome of a geofence check.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GeofenceCheck {
    /// Whole metres between the fix and the customer's location.
    pub distance_m: u32,
    pub radius_m: u32,
    pub inside: bool,
}

/// Inside when the distance, less the fix's accuracy, is within the radius:
/// a poor fix is given the benefit of its own error bar, never more.
pub fn geofence(fix: &GeoFix, target: &GeoPoint, radius_m: u32) -> GeofenceCheck {
    let d = fix.point.distance_m(target);
    let slack = fix.accuracy_m.clamp(0.0, 500.0);
    GeofenceCheck {
        distance_m: d.round().min(u32::MAX as f64) as u32,
        radius_m,
        inside: d - slack <= f64::from(radius_m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geofence_uses_haversine_metres() {
        let home = GeoPoint {
            lat: 31.2304,
            lon: 121.4737,
        };
        let near = GeoFix {
            point: GeoPoint {
                lat: 31.2310,
                lon: 121.4737,
            },
            accuracy_m: 10.0,
        };
        let far = GeoFix {
            point: GeoPoint {
                lat: 31.2504,
                lon: 121.4737,
            },
            accuracy_m: 10.0,
        };
        let c = geofence(&near, &home, 150);
        assert!(c.inside && (60..72).contains(&c.distance_m), "{c:?}");
        assert!(!geofence(&far, &home, 150).inside);
    }
}
