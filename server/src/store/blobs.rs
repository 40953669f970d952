//! Photo blobs: the bytes and the `blobs` table. Devices upload a photo's
//! bytes content-addressed and resumably; the bytes go to a partial file on
//! the server's own disk (`<blob dir>/partial/<sha256>`) appended at the
//! offset the device names, and when the last byte arrives the file is
//! hashed: bytes that hash to their name are put whole into the blob store
//! under their SHA-256 and get a row here (a row means whole and verified);
//! any others are deleted. The same digest is stored once, whoever uploads
//! it again.
//!
//! The blob store is an `object_store` (`store::object_storage`): files in
//! the blob directory by default (`<blob dir>/<sha256>`, fsynced), or an
//! S3-compatible bucket by configuration (`--blob-store-url s3://…`).
//!
//! The `photo_events` table (migration 0031) finds the stored `photo_taken`
//! facts naming a photo by its digest: which device may upload it and at
//! what size, and which technician's phone may fetch it.

use super::object_storage::BlobStore;
use super::sql::Tx;
use crate::failure::{Failure, Fallible};
use bytes::Bytes;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A whole, verified blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRow {
    pub digest: String,
    pub size_bytes: u64,
    pub content_type: String,
    pub device_id: String,
    pub stored_at: i64,
}

/// What appending a part did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Appended {
    /// Stored; `stored_bytes` of the blob are on disk so far.
    Partial { stored_bytes: u64 },
    /// The last byte arrived, the bytes hash to their name and are in the
    /// blob store: here they are (to sniff their type, make a rendition).
    Whole { bytes: Bytes },
    /// The part does not start where the stored bytes end.
    OffsetMismatch { stored_bytes: u64 },
    /// All bytes arrived but they hash to `actual`: deleted, start again.
    DigestMismatch { actual: String },
}

/// The photos' bytes: the uploads in progress on the server's disk, the
/// whole blobs in the blob store.
#[derive(Debug)]
pub struct BlobFiles {
    /// The partial uploads (`partial/`) and the report renditions
    /// (`renditions/`, a cache made again when missing).
    dir: PathBuf,
    store: BlobStore,
    /// One writer at a time (uploads of one device come one after another;
    /// this keeps two devices uploading the same digest from interleaving).
    write_lock: tokio::sync::Mutex<()>,
    /// A scratch directory of its own (tests, benchmarks): removed with the
    /// last handle, so test runs leave no blob directories behind.
    scratch: bool,
}

impl Drop for BlobFiles {
    fn drop(&mut self) {
        if self.scratch {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

fn internal(context: &str, e: impl std::fmt::Display) -> Failure {
    Failure::Internal {
        context: format!("{context}: {e}"),
    }
}

impl BlobFiles {
    /// The blob directory at `dir` (created with its `partial/` directory),
    /// whole blobs as files in it.
    pub fn open(dir: impl Into<PathBuf>) -> std::io::Result<BlobFiles> {
        let dir = dir.into();
        fs::create_dir_all(dir.join("partial"))?;
        let store = BlobStore::files(&dir)?;
        Ok(Self::with_store(dir, store))
    }

    /// Uploads in progress in `dir`, whole blobs in `store`.
    pub fn with_store(dir: PathBuf, store: BlobStore) -> BlobFiles {
        BlobFiles {
            dir,
            store,
            write_lock: tokio::sync::Mutex::new(()),
            scratch: false,
        }
    }

    /// Uploads in progress in a fresh directory `dir`, removed when the last
    /// handle goes; whole blobs in `store` (tests: a simulated bucket).
    pub fn scratch_with_store(dir: PathBuf, store: BlobStore) -> std::io::Result<BlobFiles> {
        fs::create_dir_all(dir.join("partial"))?;
        let mut blobs = Self::with_store(dir, store);
        blobs.scratch = true;
        Ok(blobs)
    }

    /// A fresh directory at `dir` that is removed, with every blob in it,
    /// when the last handle goes.
    pub fn scratch(dir: impl Into<PathBuf>) -> std::io::Result<BlobFiles> {
        let mut blobs = Self::open(dir)?;
        blobs.scratch = true;
        Ok(blobs)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the whole blobs are kept (read them there).
    pub fn store(&self) -> &BlobStore {
        &self.store
    }

    fn partial_of(&self, digest: &str) -> PathBuf {
        self.dir.join("partial").join(digest)
    }

    /// Bytes stored so far of a blob being uploaded (0 if none).
    pub fn partial_len(&self, digest: &str) -> u64 {
        fs::metadata(self.partial_of(digest)).map_or(0, |m| m.len())
    }

    /// Appends `bytes` at `offset` to the partial blob of `digest`, whose
    /// whole is `total` bytes (fsynced before it answers); once whole and
    /// verified, puts it into the blob store. A partial blob already whole
    /// (the server stopped between its last part and the store) is finished
    /// first, whatever part comes.
    pub async fn append(
        &self,
        digest: &str,
        offset: u64,
        bytes: Bytes,
        total: u64,
    ) -> Fallible<Appended> {
        let _guard = self.write_lock.lock().await;
        let partial = self.partial_of(digest);
        let mut stored = self.partial_len(digest);
        if stored < total {
            if offset != stored {
                return Ok(Appended::OffsetMismatch {
                    stored_bytes: stored,
                });
            }
            let (path, part) = (partial.clone(), bytes.clone());
            blocking(move || {
                let mut f = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .map_err(|e| internal("opening a partial blob", e))?;
                f.write_all(&part)
                    .and_then(|()| f.sync_all())
                    .map_err(|e| internal("writing a partial blob", e))
            })
            .await?;
            stored += bytes.len() as u64;
            if stored < total {
                return Ok(Appended::Partial {
                    stored_bytes: stored,
                });
            }
        }
        let path = partial.clone();
        let whole =
            blocking(move || fs::read(&path).map_err(|e| internal("reading a blob", e))).await?;
        let actual = sha256_hex(&whole);
        if actual != digest {
            fs::remove_file(&partial).map_err(|e| internal("removing a bad blob", e))?;
            return Ok(Appended::DigestMismatch { actual });
        }
        let whole = Bytes::from(whole);
        self.store.put(digest, whole.clone()).await?;
        fs::remove_file(&partial).map_err(|e| internal("removing a stored partial blob", e))?;
        Ok(Appended::Whole { bytes: whole })
    }
}

/// Runs blocking file work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Fallible<T> + Send + 'static,
) -> Fallible<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| internal("a blob file task", e))?
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

/// The whole blob `digest`, if stored.
pub async fn stored_blob(tx: &mut dyn Tx, digest: &str) -> Fallible<Option<BlobRow>> {
    Ok(tx
        .query_opt(
            "SELECT digest, size_bytes, content_type, device_id, stored_at FROM blobs WHERE digest = $1",
            &[digest.into()],
        )
        .await?
        .map(|r| BlobRow {
            digest: r.text("digest"),
            size_bytes: r.int("size_bytes") as u64,
            content_type: r.text("content_type"),
            device_id: r.text("device_id"),
            stored_at: r.int("stored_at"),
        }))
}

/// Records a whole, verified blob (once: a second upload changes nothing).
pub async fn insert_blob(tx: &mut dyn Tx, row: &BlobRow) -> Fallible<()> {
    tx.execute(
        "INSERT INTO blobs (digest, size_bytes, content_type, device_id, stored_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (digest) DO NOTHING",
        &[
            row.digest.as_str().into(),
            row.size_bytes.into(),
            row.content_type.as_str().into(),
            row.device_id.as_str().into(),
            row.stored_at.into(),
        ],
    )
    .await?;
    Ok(())
}

/// A stored `photo_taken` fact, as `photo_events` finds it by its digest.
pub struct PhotoEvent<'a> {
    pub event_id: &'a str,
    pub digest: &'a str,
    pub device: &'a str,
    pub technician: &'a str,
    pub size_bytes: u64,
}

/// Records a stored `photo_taken` fact under its photo's digest (the push
/// writes it beside the fact).
pub async fn record_photo_event(tx: &mut dyn Tx, p: &PhotoEvent<'_>) -> Fallible<()> {
    tx.execute(
        "INSERT INTO photo_events (event_id, digest, device_id, technician_id, size_bytes)
         VALUES ($1, $2, $3, $4, $5)",
        &[
            p.event_id.into(),
            p.digest.into(),
            p.device.into(),
            p.technician.into(),
            p.size_bytes.into(),
        ],
    )
    .await?;
    Ok(())
}

/// How many stored facts one transaction of [`fill_photo_events`] copies.
const FILL_BATCH: i64 = 500;

/// Copies the `photo_taken` facts stored before migration 0031 that come
/// after `after` (in event-id order), at most [`FILL_BATCH`], into
/// `photo_events`; the last event id read, or `None` when none is left.
/// A fact whose body names no digest or size is no photo an upload can
/// match, as before (it is left out).
pub async fn fill_photo_events(tx: &mut dyn Tx, after: &str) -> Fallible<Option<String>> {
    let rows = tx
        .query(
            "SELECT event_id, device_id, technician_id, body FROM events
             WHERE kind = 'photo_taken' AND event_id > $1 ORDER BY event_id LIMIT $2",
            &[after.into(), FILL_BATCH.into()],
        )
        .await?;
    let mut last = None;
    for r in &rows {
        let event_id = r.text("event_id");
        let body: serde_json::Value = serde_json::from_str(&r.text("body"))
            .map_err(|e| Failure::corrupt(&format!("reading fact {event_id}"), e))?;
        if let (Some(digest), Some(size_bytes)) =
            (body["digest"].as_str(), body["size_bytes"].as_u64())
        {
            tx.execute(
                "INSERT INTO photo_events (event_id, digest, device_id, technician_id, size_bytes)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (event_id) DO NOTHING",
                &[
                    event_id.as_str().into(),
                    digest.into(),
                    r.text("device_id").into(),
                    r.text("technician_id").into(),
                    size_bytes.into(),
                ],
            )
            .await?;
        }
        last = Some(event_id);
    }
    Ok(last)
}

/// The query of [`photo_size_recorded_by`].
pub const PHOTO_SIZE_SQL: &str =
    "SELECT size_bytes FROM photo_events WHERE digest = $1 AND device_id = $2 LIMIT 1";

/// The size a `photo_taken` event of `device` gives the photo `digest`:
/// a device uploads only the photos it recorded, after their events.
pub async fn photo_size_recorded_by(
    tx: &mut dyn Tx,
    device: &str,
    digest: &str,
) -> Fallible<Option<u64>> {
    Ok(tx
        .query_opt(PHOTO_SIZE_SQL, &[digest.into(), device.into()])
        .await?
        .map(|r| r.int("size_bytes").max(0) as u64))
}

/// The query of [`photo_of_technician`].
pub const PHOTO_OF_TECHNICIAN_SQL: &str =
    "SELECT event_id FROM photo_events WHERE digest = $1 AND technician_id = $2 LIMIT 1";

/// Whether a visit of `technician` names the photo `digest`.
pub async fn photo_of_technician(
    tx: &mut dyn Tx,
    technician: &str,
    digest: &str,
) -> Fallible<bool> {
    Ok(tx
        .query_opt(PHOTO_OF_TECHNICIAN_SQL, &[digest.into(), technician.into()])
        .await?
        .is_some())
}

#[cfg(test)]
mod tests {
    use super::BlobFiles;

    #[test]
    fn a_scratch_blob_directory_goes_with_its_last_handle_and_a_server_one_stays() {
        let base = std::env::temp_dir().join(format!("doorstep-blobs-test-{}", std::process::id()));
        let scratch = std::sync::Arc::new(BlobFiles::scratch(base.join("scratch")).unwrap());
        std::fs::write(scratch.dir().join("ab"), b"x").unwrap();
        let second = scratch.clone();
        drop(scratch);
        assert!(base.join("scratch").exists(), "still held");
        drop(second);
        assert!(!base.join("scratch").exists());
        drop(BlobFiles::open(base.join("kept")).unwrap());
        assert!(base.join("kept/partial").exists());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
