//! The store's blob area: the bytes of photos, in a directory beside the
//! database (`<db file>.blobs/`), one file per blob named by the SHA-256 of
//! its bytes. A blob is written to a temporary file, fsynced, renamed to its
//! digest and the directory fsynced, so a name always holds complete bytes
//! (a crash leaves at most a temporary file, removed at the next open); a
//! photo's `photo_taken` event is recorded only after its blob is in place.
//! The area is bounded (`Store::set_blob_limit`): a blob that does not fit
//! is refused before anything is written. A blob is deleted once the server
//! has acknowledged it (`Store::blob_acknowledged`), like other personal data.

use super::error::{Result, StoreError};
use super::{Store, VisitRef};
use crate::canonical::sha256_hex;
use crate::location::GeoFix;
use crate::workflow::{is_sha256_hex, VisitCommand, VisitEvent};
use chrono::{DateTime, Utc};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The default bound of the blob area: 512 MiB (a week offline of a busy
/// technician, 8 visits a day with 4 photos of about 1 MB, is about 224 MB).
pub const DEFAULT_BLOB_LIMIT_BYTES: u64 = 512 * 1024 * 1024;

/// Prefix of blobs being written; never a digest (digests are hex).
const TEMP_PREFIX: &str = "tmp-";

/// A blob no event names is dropped at open once it is this old: a crash
/// between the blob's rename and its event's commit leaves one, and another
/// process may be between the two right now.
pub(super) const ORPHAN_AGE: std::time::Duration = std::time::Duration::from_secs(600);

/// A photo the store holds: its digest and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBlob {
    pub digest: String,
    pub size_bytes: u64,
}

/// What a shell hands over when it has captured a photo: the final bytes
/// (watermark burned in) and the dimensions it knows from encoding them.
#[derive(Debug, Clone, Copy)]
pub struct CapturedPhoto<'a> {
    pub moment: &'a str,
    pub bytes: &'a [u8],
    pub width: u32,
    pub height: u32,
}

/// The blob directory and its bound.
#[derive(Debug)]
pub(super) struct BlobArea {
    dir: PathBuf,
    limit_bytes: AtomicU64,
}

impl BlobArea {
    /// The area beside the database at `db_path`; removes the temporary
    /// files a crash left (never a complete blob).
    pub(super) fn open(db_path: &Path) -> Result<BlobArea> {
        let mut name = db_path.file_name().unwrap_or_default().to_os_string();
        name.push(".blobs");
        let dir = db_path.with_file_name(name);
        fs::create_dir_all(&dir)?;
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                fs::remove_file(entry.path())?;
            }
        }
        Ok(BlobArea {
            dir,
            limit_bytes: AtomicU64::new(DEFAULT_BLOB_LIMIT_BYTES),
        })
    }

    pub(super) fn dir(&self) -> &Path {
        &self.dir
    }

    fn path_of(&self, digest: &str) -> PathBuf {
        self.dir.join(digest)
    }

    /// Every complete blob, by digest, smallest name first.
    pub(super) fn list(&self) -> Result<Vec<StoredBlob>> {
        let mut out = vec![];
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().to_string();
            if is_sha256_hex(&name) {
                out.push(StoredBlob {
                    digest: name,
                    size_bytes: entry.metadata()?.len(),
                });
            }
        }
        out.sort_by(|a, b| a.digest.cmp(&b.digest));
        Ok(out)
    }

    fn used_bytes(&self) -> Result<u64> {
        Ok(self.list()?.iter().map(|b| b.size_bytes).sum())
    }

    /// Writes `bytes` under their digest (temp file, fsync, rename, fsync
    /// the directory). Returns the digest and whether the blob is new.
    pub(super) fn put(&self, bytes: &[u8]) -> Result<(String, bool)> {
        let digest = sha256_hex(bytes);
        let target = self.path_of(&digest);
        if target.exists() {
            return Ok((digest, false));
        }
        let limit = self.limit_bytes.load(Ordering::Relaxed);
        let used = self.used_bytes()?;
        let needed = bytes.len() as u64;
        if used.saturating_add(needed) > limit {
            return Err(StoreError::BlobAreaFull {
                used_bytes: used,
                limit_bytes: limit,
                needed_bytes: needed,
            });
        }
        let temp = self.dir.join(format!(
            "{TEMP_PREFIX}{}-{}",
            std::process::id(),
            &digest[..16]
        ));
        let written = (|| -> std::io::Result<()> {
            let mut f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(&temp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            drop(f);
            fs::rename(&temp, &target)?;
            File::open(&self.dir)?.sync_all()
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&temp);
            return Err(e.into());
        }
        Ok((digest, true))
    }

    pub(super) fn read(&self, digest: &str) -> Result<Option<Vec<u8>>> {
        if !is_sha256_hex(digest) {
            return Ok(None);
        }
        match fs::read(self.path_of(digest)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub(super) fn remove(&self, digest: &str) -> Result<bool> {
        if !is_sha256_hex(digest) {
            return Ok(false);
        }
        match fs::remove_file(self.path_of(digest)) {
            Ok(()) => {
                File::open(&self.dir)?.sync_all()?;
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    pub(super) fn set_limit(&self, bytes: u64) {
        self.limit_bytes.store(bytes, Ordering::Relaxed);
    }

    /// Complete blobs last written more than `age` ago.
    fn older_than(&self, age: std::time::Duration) -> Result<Vec<String>> {
        let now = std::time::SystemTime::now();
        let mut out = vec![];
        for b in self.list()? {
            let modified = fs::metadata(self.path_of(&b.digest))?.modified()?;
            if now.duration_since(modified).unwrap_or_default() > age {
                out.push(b.digest);
            }
        }
        Ok(out)
    }
}

/// Whether a photo fact names the digest `?1`, through the index on the
/// digest its text names (schema v13, `visit_events_photo_digest`: the same
/// expression).
pub(super) const PHOTO_FACT_NAMING: &str = "SELECT EXISTS (SELECT 1 FROM visit_events
     WHERE kind = 'photo_taken' AND substr(json, instr(json, '\"digest\":\"') + 10, 64) = ?1)";

impl Store {
    /// Stores a captured photo and records it: the bytes go to the blob
    /// area under their SHA-256 (durably, before anything refers to them),
    /// then `take_photo` runs through the workflow like any command. If the
    /// workflow refuses, a blob written for this call alone is removed again.
    /// Returns the digest and the new events.
    pub fn store_photo(
        &self,
        target: impl Into<VisitRef>,
        photo: CapturedPhoto,
        now: DateTime<Utc>,
        location: Option<GeoFix>,
    ) -> Result<(String, Vec<VisitEvent>)> {
        let (digest, new) = self.shared.blobs.put(photo.bytes)?;
        let command = VisitCommand::TakePhoto {
            moment: photo.moment.to_string(),
            digest: digest.clone(),
            size_bytes: photo.bytes.len() as u64,
            width: photo.width,
            height: photo.height,
        };
        match self.apply_command(target, &command, now, location) {
            Ok(events) => Ok((digest, events)),
            Err(e) => {
                if new {
                    self.shared.blobs.remove(&digest)?;
                }
                Err(e)
            }
        }
    }

    /// Writes bytes to the blob area without recording anything (what
    /// `store_photo` does first); the digest.
    pub fn put_blob(&self, bytes: &[u8]) -> Result<String> {
        self.shared.blobs.put(bytes).map(|(digest, _)| digest)
    }

    /// The bytes of a blob, if the device still holds it.
    pub fn blob(&self, digest: &str) -> Result<Option<Vec<u8>>> {
        self.shared.blobs.read(digest)
    }

    /// Every blob the device holds: what is still to upload.
    pub fn blobs(&self) -> Result<Vec<StoredBlob>> {
        self.shared.blobs.list()
    }

    /// The blob area's directory (beside the database file).
    pub fn blob_dir(&self) -> &Path {
        self.shared.blobs.dir()
    }

    /// Bounds the blob area to `bytes` (default [`DEFAULT_BLOB_LIMIT_BYTES`]).
    pub fn set_blob_limit(&self, bytes: u64) {
        self.shared.blobs.set_limit(bytes);
    }

    /// Deletes the blobs no `photo_taken` event names that were written
    /// more than `age` ago (a crash between a blob and its event); the
    /// number deleted. `Store::open` runs it with ten minutes.
    pub fn purge_orphan_blobs(&self, age: std::time::Duration) -> Result<usize> {
        let mut purged = 0;
        for digest in self.shared.blobs.older_than(age)? {
            let named: bool = self.shared.db.read(|tx| {
                Ok(tx
                    .prepare_cached(PHOTO_FACT_NAMING)?
                    .query_row([&digest], |r| r.get(0))?)
            })?;
            if !named && self.shared.blobs.remove(&digest)? {
                purged += 1;
            }
        }
        Ok(purged)
    }

    /// The server holds the blob whole: the device deletes its copy.
    /// Returns whether a copy was deleted.
    pub fn blob_acknowledged(&self, digest: &str) -> Result<bool> {
        self.shared.blobs.remove(digest)
    }
}
