//! What the rules are given besides the visit state and the command: the
//! time, the device, its location fix and its evidence chain.

use crate::ids::DeviceId;
use crate::location::GeoFix;
use chrono::{DateTime, Utc};

/// What the rules are given besides the state and the command.
#[derive(Debug, Clone)]
pub struct Context {
    pub now: DateTime<Utc>,
    pub device_id: DeviceId,
    /// The phone's location fix when the command was given, if any.
    pub location: Option<GeoFix>,
    /// Digest of this device's previous sign-off evidence (hash chain).
    pub previous_evidence_digest: Option<String>,
}

impl Context {
    /// The phone's fix when it is a usable one; garbage from the platform
    /// (NaN, out of range) counts as no fix rather than being recorded.
    pub fn fix(&self) -> Option<GeoFix> {
        self.location.filter(GeoFix::is_valid)
    }

    pub fn new(now: DateTime<Utc>, device_id: DeviceId) -> Self {
        Self {
            now,
            device_id,
            location: None,
            previous_evidence_digest: None,
        }
    }
}
