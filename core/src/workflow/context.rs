//! What the rules are given besides the visit state and the command: the
//! time, the business time zone local dates are counted in, the device, its
//! location fix, its evidence chain and its discount key.

use crate::business_time::BusinessZone;
use crate::discount_approval::SharedDiscountKey;
use crate::ids::DeviceId;
use crate::location::GeoFix;
use chrono::{DateTime, NaiveDate, Utc};

/// What the rules are given besides the state and the command.
#[derive(Debug, Clone)]
pub struct Context {
    pub now: DateTime<Utc>,
    pub device_id: DeviceId,
    /// The phone's location fix when the command was given, if any.
    pub location: Option<GeoFix>,
    /// Digest of this device's previous sign-off evidence (hash chain).
    pub previous_evidence_digest: Option<String>,
    /// The company's business time zone: every local date (today, the
    /// free-adjustment month, return and receipt dates) is counted in it,
    /// never in the host's or the device's own zone.
    pub zone: BusinessZone,
    /// The device's discount key, which checks the center's offline short
    /// codes (`crate::discount_approval`); none: online approvals only.
    pub discount_key: Option<SharedDiscountKey>,
    /// Re-deciding a recorded sign-off (event admission): the consent digest
    /// it recorded, standing in for the consent text the signing screen
    /// showed, which the fact does not carry. `None` on the phone.
    pub recorded_consent_digest: Option<String>,
}

impl Context {
    /// The phone's fix when it is a usable one; garbage from the platform
    /// (NaN, out of range) counts as no fix rather than being recorded.
    pub fn fix(&self) -> Option<GeoFix> {
        self.location.filter(GeoFix::is_valid)
    }

    /// Today's date in the business time zone.
    pub fn today(&self) -> NaiveDate {
        self.zone.date_of(self.now)
    }

    pub fn new(now: DateTime<Utc>, device_id: DeviceId) -> Self {
        Self {
            now,
            device_id,
            location: None,
            previous_evidence_digest: None,
            zone: BusinessZone::default(),
            discount_key: None,
            recorded_consent_digest: None,
        }
    }
}
