//! Report renditions of photos. A phone camera's picture (12 MP, several
//! MB) is printed about 60 mm wide in the report, so the PDF and the
//! console's page embed a copy at most [`LONG_EDGE`] pixels on its long
//! side, made once per photo and kept beside the original
//! (`<blob dir>/renditions/<sha256>.jpg`). The original, whose digest the
//! customer signed, is what the customer link serves and what the report's
//! caption names; a picture already that small is embedded as it is.

use crate::store::blobs::BlobFiles;
use image::ImageReader;
use std::io::{Cursor, Write};
use std::path::PathBuf;

/// The long side of a report rendition, in pixels (about 600 dpi at the
/// report's 60 mm photo width, so a printed report loses nothing).
pub const LONG_EDGE: u32 = 1600;

/// JPEG quality of a rendition.
const QUALITY: u8 = 85;

/// A smaller copy of `original` for the report, or None when it is already
/// at most [`LONG_EDGE`] on its long side. Err when the bytes are not a
/// picture this build reads (JPEG or PNG).
pub fn rendition(original: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let reader = ImageReader::new(Cursor::new(original))
        .with_guessed_format()
        .map_err(|e| e.to_string())?;
    let (width, height) = reader.into_dimensions().map_err(|e| e.to_string())?;
    if width.max(height) <= LONG_EDGE {
        return Ok(None);
    }
    let picture = ImageReader::new(Cursor::new(original))
        .with_guessed_format()
        .map_err(|e| e.to_string())?
        .decode()
        .map_err(|e| e.to_string())?;
    let smaller = picture
        .resize(LONG_EDGE, LONG_EDGE, image::imageops::FilterType::Triangle)
        .into_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, QUALITY)
        .encode_image(&smaller)
        .map_err(|e| e.to_string())?;
    Ok(Some(out))
}

fn rendition_path(blobs: &BlobFiles, digest: &str) -> PathBuf {
    blobs.dir().join("renditions").join(format!("{digest}.jpg"))
}

/// The kept rendition of the photo `digest`, if one was made. It was made
/// from bytes that hashed to the digest, so a report can embed it without
/// reading and hashing the original again.
pub fn kept(blobs: &BlobFiles, digest: &str) -> Option<Vec<u8>> {
    std::fs::read(rendition_path(blobs, digest)).ok()
}

/// The bytes the report embeds for the photo `digest` whose original bytes
/// are `original`: its kept rendition, made and kept now if there is none
/// yet, or the original itself when it is small enough or cannot be read
/// (typst then decides whether it can show it). Blocking: call it from a
/// blocking thread.
pub fn report_copy(blobs: &BlobFiles, digest: &str, original: Vec<u8>) -> Vec<u8> {
    if let Some(copy) = kept(blobs, digest) {
        return copy;
    }
    let path = rendition_path(blobs, digest);
    match rendition(&original) {
        Ok(Some(copy)) => {
            if let Err(e) = keep(&path, &copy) {
                tracing::warn!(%digest, error = %e, "a report rendition could not be kept; it is made again next time");
            }
            copy
        }
        Ok(None) | Err(_) => original,
    }
}

/// Writes a rendition whole or not at all (a temporary file renamed).
fn keep(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().expect("renditions have a directory");
    std::fs::create_dir_all(dir)?;
    let partial = path.with_extension("partial");
    let mut f = std::fs::File::create(&partial)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&partial, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(width: u32, height: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
        });
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
            .encode_image(&img)
            .unwrap();
        out
    }

    fn size_of(bytes: &[u8]) -> (u32, u32) {
        ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()
            .unwrap()
            .into_dimensions()
            .unwrap()
    }

    #[test]
    fn a_camera_sized_photo_is_embedded_at_the_long_edge_keeping_its_shape() {
        let copy = rendition(&jpeg(2000, 1500))
            .unwrap()
            .expect("a smaller copy");
        assert_eq!(size_of(&copy), (1600, 1200));
        let portrait = rendition(&jpeg(1500, 2000)).unwrap().unwrap();
        assert_eq!(size_of(&portrait), (1200, 1600));
    }

    #[test]
    fn a_photo_at_most_the_long_edge_is_embedded_as_it_is() {
        assert_eq!(rendition(&jpeg(1600, 900)).unwrap(), None);
        assert_eq!(rendition(&jpeg(320, 240)).unwrap(), None);
    }

    #[test]
    fn bytes_that_are_no_picture_are_refused() {
        assert!(rendition(b"\xFF\xD8\xFF\xE0 not a picture").is_err());
    }

    #[test]
    fn a_rendition_is_made_once_and_kept() {
        let dir = std::env::temp_dir().join(format!("doorstep-renditions-{}", std::process::id()));
        let blobs = BlobFiles::open(&dir).unwrap();
        let original = jpeg(2000, 1500);
        let first = report_copy(&blobs, "abc", original.clone());
        assert_eq!(size_of(&first), (1600, 1200));
        assert!(rendition_path(&blobs, "abc").exists());
        // Kept: the next report reads it instead of decoding the original.
        assert_eq!(report_copy(&blobs, "abc", b"unused".to_vec()), first);
        // Small or unreadable originals are used as they are, and nothing is kept.
        assert_eq!(report_copy(&blobs, "small", jpeg(320, 240)), jpeg(320, 240));
        assert_eq!(report_copy(&blobs, "junk", b"junk".to_vec()), b"junk");
        assert!(!rendition_path(&blobs, "junk").exists());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
