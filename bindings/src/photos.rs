//! Photos over the FFI: the shell captures a picture, asks the core for the
//! watermark (text and layout) to burn in with the platform's fonts, and
//! hands the final bytes to `DeviceStore::store_photo`, which stores them in
//! the store's blob area under their SHA-256 and records `photo_taken`. No
//! image code crosses into the native library: the dimensions come from the
//! shell. The sync uploads the photos after the events.

use crate::device_store::DeviceStore;
use crate::error::{guard, DoorstepError};
use crate::types::{CommandResult, Location, Timestamp};
use doorstep_core::photos::{watermark, WatermarkInput};
use doorstep_core::store::CapturedPhoto;
use doorstep_core::AssignmentId;

/// The watermark to burn into a photo before storing it: lines of text top
/// to bottom in a box at the bottom-left corner, `margin_px` from the edges,
/// `padding_px` inside the box; colours as 0xAARRGGBB.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PhotoWatermark {
    pub lines: Vec<String>,
    pub font_px: u32,
    pub line_height_px: u32,
    pub margin_px: u32,
    pub padding_px: u32,
    pub text_argb: u32,
    pub box_argb: u32,
}

/// A picture as the shell hands it over: the final bytes (watermark burned
/// in) of the photo of `moment`, and its size in pixels.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ShellPhoto {
    pub moment: String,
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// A photo stored and recorded: its digest and the visit afterwards.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct StoredPhoto {
    pub digest: String,
    pub result: CommandResult,
}

fn argb([r, g, b, a]: [u8; 4]) -> u32 {
    u32::from_be_bytes([a, r, g, b])
}

#[uniffi::export]
impl DeviceStore {
    /// The watermark of a photo about to be taken on this visit: the local
    /// time (`utc_offset_minutes`, China 480), the customer's address (or
    /// the coordinates), the technician and the work order, laid out for a
    /// picture of `width` × `height` pixels.
    pub fn photo_watermark(
        &self,
        assignment_id: String,
        now: Timestamp,
        location: Option<Location>,
        width: u32,
        height: u32,
        utc_offset_minutes: i32,
    ) -> Result<PhotoWatermark, DoorstepError> {
        guard(|| {
            let store = self.store()?;
            let id = AssignmentId::new(assignment_id)?;
            let state = store.state(&id)?;
            let device = store.device()?;
            let w = watermark(&WatermarkInput {
                taken_at: now,
                utc_offset_minutes,
                address: state
                    .assignment
                    .as_ref()
                    .and_then(|a| a.customer.address.clone()),
                location: location.map(Into::into),
                technician: device.technician_name,
                work_order: id.to_string(),
                width,
                height,
            });
            Ok(PhotoWatermark {
                lines: w.lines,
                font_px: w.font_px,
                line_height_px: w.line_height_px,
                margin_px: w.margin_px,
                padding_px: w.padding_px,
                text_argb: argb(w.text_rgba),
                box_argb: argb(w.box_rgba),
            })
        })
    }

    /// Stores a photo's final bytes (watermark burned in) and records it for
    /// its moment. The bytes are durable under their SHA-256 before the event
    /// is written; a full photo storage (`store_blob_area_full`) or a
    /// refusal writes nothing.
    pub fn store_photo(
        &self,
        assignment_id: String,
        photo: ShellPhoto,
        now: Timestamp,
        location: Option<Location>,
    ) -> Result<StoredPhoto, DoorstepError> {
        guard(|| {
            let store = self.store()?;
            let id = AssignmentId::new(assignment_id)?;
            let (digest, events) = store.store_photo(
                &id,
                CapturedPhoto {
                    moment: &photo.moment,
                    bytes: &photo.bytes,
                    width: photo.width,
                    height: photo.height,
                },
                now,
                location.map(Into::into),
            )?;
            Ok(StoredPhoto {
                digest,
                result: CommandResult {
                    events: events
                        .iter()
                        .map(|e| crate::session::event_type(&e.kind))
                        .collect(),
                    screen: Self::screen_of(&store, &id, now)?,
                },
            })
        })
    }

    /// Bounds the photo storage to `bytes` (default 512 MiB).
    pub fn set_photo_storage_limit(&self, bytes: u64) -> Result<(), DoorstepError> {
        guard(|| {
            self.store()?.set_blob_limit(bytes);
            Ok(())
        })
    }

    /// How many photos wait for upload (deleted once the server has them).
    pub fn pending_photo_count(&self) -> Result<u64, DoorstepError> {
        guard(|| Ok(self.store()?.blobs()?.len() as u64))
    }
}
