//! Photo upload, after the events: every blob the store holds goes to
//! `PUT /api/sync/blobs/{sha256}` in parts with `Content-Range`, starting
//! where the server's copy ends (`HEAD` → `Upload-Offset` for a blob of
//! several parts; a one-part blob is sent at once and the server's 409 says
//! where to resume), so an upload cut off by the network goes on from the
//! last stored byte. Three uploads run at once (`UPLOAD_LANES`). A blob the server
//! holds whole (now or already) is deleted from the device
//! (`Store::blob_acknowledged`). A blob whose event the server does not know
//! yet (`unknown_blob`) waits for a later sync.

use super::transport::{HttpRequest, HttpResponse};
use super::{error_detail, SyncClient, SyncError, SyncReport};
use crate::store::Store;

/// Bytes per upload request: well under the server's body limit, and what a
/// cut connection loses at most.
pub const BLOB_PART_BYTES: usize = 1024 * 1024;

/// Photo uploads in flight at once.
pub const UPLOAD_LANES: usize = 3;

/// What one upload lane did.
#[derive(Default)]
struct LaneReport {
    uploaded: u64,
    bytes_sent: u64,
    waiting: u64,
}

/// What happened to one blob.
enum BlobOutcome {
    Stored { bytes_sent: u64 },
    NotYetKnown,
}

fn header_u64(r: &HttpResponse, name: &str) -> Option<u64> {
    r.header(name).and_then(|v| v.trim().parse().ok())
}

impl SyncClient {
    fn blob_request(
        &self,
        method: &'static str,
        digest: &str,
        range: Option<String>,
        body: Vec<u8>,
    ) -> HttpRequest {
        let mut headers = vec![(
            "authorization".to_string(),
            format!("Bearer {}", self.token.current()),
        )];
        if let Some(r) = range {
            headers.push(("content-range".into(), r));
            headers.push(("content-type".into(), "application/octet-stream".into()));
        }
        HttpRequest {
            method,
            url: format!("{}/api/sync/blobs/{digest}", self.config.server_url),
            headers,
            body,
            timeout: self.config.timeout,
        }
    }

    async fn send_blob_request(&self, request: HttpRequest) -> Result<HttpResponse, SyncError> {
        self.transport
            .send(request)
            .await
            .map_err(SyncError::Network)
    }

    fn blob_failure(response: &HttpResponse) -> SyncError {
        let detail = error_detail(&response.body);
        match response.status {
            401 | 403 => SyncError::Unauthorized {
                status: response.status,
                message: detail.message,
            },
            429 | 500..=599 => SyncError::ServerBusy {
                status: response.status,
                message: detail.message,
                retry_after: response.retry_after(),
            },
            status => SyncError::Refused {
                status,
                code: detail.code,
                message: detail.message,
                message_zh: detail.message_zh,
            },
        }
    }

    /// Uploads one blob from where the server's copy ends. A blob of one
    /// part is sent at once (one round trip instead of two: the server
    /// answers 409 with what it holds if an earlier attempt stored some,
    /// 200 if it holds it whole, 404 if it does not know it yet); a larger
    /// one asks first (`HEAD`), so a resumed upload sends only the rest.
    async fn upload_blob(
        &self,
        store: &Store,
        digest: &str,
        size: u64,
    ) -> Result<BlobOutcome, SyncError> {
        let mut offset = 0u64;
        if size as usize > BLOB_PART_BYTES {
            let head = self
                .send_blob_request(self.blob_request("HEAD", digest, None, vec![]))
                .await?;
            if head.status == 404 {
                return Ok(BlobOutcome::NotYetKnown);
            }
            if head.status != 200 {
                return Err(Self::blob_failure(&head));
            }
            if head.header("blob-complete") == Some("true") {
                return Ok(BlobOutcome::Stored { bytes_sent: 0 });
            }
            offset = header_u64(&head, "upload-offset").unwrap_or(0);
        }
        let Some(bytes) = store.blob(digest)? else {
            return Ok(BlobOutcome::Stored { bytes_sent: 0 });
        };
        let total = bytes.len() as u64;
        offset = offset.min(total);
        let mut sent = 0u64;
        loop {
            let end = (offset as usize + BLOB_PART_BYTES).min(bytes.len());
            let part = bytes[offset as usize..end].to_vec();
            let range = format!("bytes {offset}-{}/{total}", end as u64 - 1);
            sent += part.len() as u64;
            let r = self
                .send_blob_request(self.blob_request("PUT", digest, Some(range), part))
                .await?;
            match r.status {
                200 | 201 if r.header("blob-complete") == Some("true") => {
                    return Ok(BlobOutcome::Stored { bytes_sent: sent })
                }
                200 | 201 => offset = header_u64(&r, "upload-offset").unwrap_or(end as u64),
                409 => {
                    // Another attempt stored more (or less) than we thought.
                    let stored = serde_json::from_slice::<serde_json::Value>(&r.body)
                        .ok()
                        .and_then(|v| v["error"]["stored_bytes"].as_u64());
                    match stored {
                        Some(s) if s <= total => offset = s,
                        _ => return Err(Self::blob_failure(&r)),
                    }
                }
                404 => return Ok(BlobOutcome::NotYetKnown),
                _ => return Err(Self::blob_failure(&r)),
            }
            if offset >= total {
                // Every byte sent but the server does not call it whole.
                return Err(SyncError::Decode(format!(
                    "the server took every byte of photo {digest} but did not mark it complete"
                )));
            }
        }
    }

    /// Uploads every blob the store holds whose event the server knows,
    /// deleting each from the device once the server holds it whole.
    /// [`UPLOAD_LANES`] uploads run at once, so one photo's round trips
    /// overlap another's bytes on a slow link.
    pub(super) async fn upload_blobs(
        &self,
        store: &Store,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        let blobs = store.blobs()?;
        let lane = |n: usize| {
            let mine: Vec<_> = blobs.iter().skip(n).step_by(UPLOAD_LANES).collect();
            async move {
                let mut done = LaneReport::default();
                for blob in mine {
                    let digest = &blob.digest;
                    match self.upload_blob(store, digest, blob.size_bytes).await? {
                        BlobOutcome::Stored { bytes_sent } => {
                            store.blob_acknowledged(digest)?;
                            done.uploaded += 1;
                            done.bytes_sent += bytes_sent;
                        }
                        BlobOutcome::NotYetKnown => done.waiting += 1,
                    }
                }
                Ok::<_, SyncError>(done)
            }
        };
        let lanes = tokio::join!(lane(0), lane(1), lane(2));
        // Every lane's work counts, even when another failed.
        let mut failure = None;
        for result in [lanes.0, lanes.1, lanes.2] {
            match result {
                Ok(done) => {
                    report.blobs_uploaded += done.uploaded;
                    report.blob_bytes_sent += done.bytes_sent;
                    report.blobs_waiting += done.waiting;
                }
                Err(e) => failure = failure.or(Some(e)),
            }
        }
        if let Some(e) = failure {
            return Err(e);
        }
        if report.blobs_uploaded > 0 {
            log::info!(
                target: "doorstep::sync",
                "photos: {} uploaded ({} bytes), {} waiting for their events",
                report.blobs_uploaded,
                report.blob_bytes_sent,
                report.blobs_waiting
            );
        }
        Ok(())
    }
}
