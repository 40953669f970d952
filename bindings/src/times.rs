//! `LocalTimes`: the times and windows the shells show, formatted by the
//! core (`doorstep_core::business_time`) in the business time zone, never
//! the phone's own, in both languages. The shells hold one and format no
//! time themselves.

use crate::types::{LocalizedText, Timestamp, Window};
use doorstep_core::business_time::BusinessZone;
use doorstep_core::messages::Lang;
use std::sync::Arc;

/// Times as people read them in one business time zone.
#[derive(Debug, uniffi::Object)]
pub struct LocalTimes {
    zone: BusinessZone,
}

impl LocalTimes {
    pub(crate) fn of(zone: BusinessZone) -> Arc<Self> {
        Arc::new(Self { zone })
    }

    fn both(&self, text: impl Fn(Lang) -> String) -> LocalizedText {
        LocalizedText {
            en: text(Lang::En),
            zh: text(Lang::ZhCn),
        }
    }
}

#[uniffi::export]
impl LocalTimes {
    /// Times in the default business zone (Asia/Shanghai): what a screen
    /// shows before the phone has a store, and what the store holds until
    /// the first sync brings the company's zone.
    #[uniffi::constructor]
    pub fn in_default_zone() -> Arc<Self> {
        Self::of(BusinessZone::default())
    }

    /// The zone's IANA name (`Asia/Shanghai`).
    pub fn zone_name(&self) -> String {
        self.zone.name.clone()
    }

    /// The local clock time, `10:25`.
    pub fn clock_time(&self, at: Timestamp) -> String {
        self.zone.format_time(at)
    }

    /// The local date and time: `12月1日 10:25` / `2026-12-01 10:25`.
    pub fn date_time(&self, at: Timestamp) -> LocalizedText {
        self.both(|lang| self.zone.format_date_time(at, lang))
    }

    /// A window with its date: `12月1日 10:00–12:00` / `2026-12-01 10:00–12:00`.
    pub fn window(&self, window: Window) -> LocalizedText {
        self.both(|lang| self.zone.format_window(window.start, window.end, lang))
    }

    /// A window's clock times, for a list of one day: `10:00–12:00` (a
    /// window ending on a later day names that day).
    pub fn clock_window(&self, window: Window) -> LocalizedText {
        self.both(|lang| {
            self.zone
                .format_clock_window(window.start, window.end, lang)
        })
    }
}
