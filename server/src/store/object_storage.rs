//! The blob store: where whole photos are kept, by their SHA-256, through
//! the `object_store` crate — files in the blob directory by default
//! (`<blob dir>/<sha256>`, fsynced once written), or an S3-compatible bucket
//! (Amazon S3, Alibaba Cloud OSS, Tencent Cloud COS, MinIO) by
//! configuration: `--blob-store-url s3://BUCKET[/PREFIX]` with the `--s3-*`
//! settings. The uploads in progress stay on the server's disk
//! (`store::blobs`); only verified, whole photos reach the store.

use crate::failure::{Failure, Fallible};
use bytes::Bytes;
use futures_util::stream::BoxStream;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{BackoffConfig, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub mod simulator;

/// Where the whole photos go: the flags of the server binary.
#[derive(Clone, clap::Args)]
pub struct BlobStoreSettings {
    /// Where whole photos are kept: s3://BUCKET[/PREFIX] for an S3-compatible bucket (default: files in --blob-dir)
    #[arg(long, env = "DOORSTEP_BLOB_STORE_URL")]
    pub blob_store_url: Option<String>,
    /// The S3-compatible service's address, e.g. https://oss-cn-hangzhou.aliyuncs.com (default: Amazon S3 of --s3-region); http:// is allowed for a service on the same host or network
    #[arg(long, env = "DOORSTEP_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// The bucket's region (signing region), e.g. cn-hangzhou or us-east-1
    #[arg(long, env = "DOORSTEP_S3_REGION", default_value = "us-east-1")]
    pub s3_region: String,
    /// The access key id the server signs its requests with
    #[arg(long, env = "DOORSTEP_S3_ACCESS_KEY_ID")]
    pub s3_access_key_id: Option<String>,
    /// The secret access key (prefer the environment variable)
    #[arg(long, env = "DOORSTEP_S3_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub s3_secret_access_key: Option<String>,
    /// Address the bucket as BUCKET.ENDPOINT (Alibaba Cloud OSS, Tencent Cloud COS) rather than ENDPOINT/BUCKET
    #[arg(long, env = "DOORSTEP_S3_VIRTUAL_HOSTED_STYLE")]
    pub s3_virtual_hosted_style: bool,
}

impl Default for BlobStoreSettings {
    fn default() -> Self {
        Self {
            blob_store_url: None,
            s3_endpoint: None,
            s3_region: "us-east-1".into(),
            s3_access_key_id: None,
            s3_secret_access_key: None,
            s3_virtual_hosted_style: false,
        }
    }
}

/// Never the secret.
impl std::fmt::Debug for BlobStoreSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobStoreSettings")
            .field("blob_store_url", &self.blob_store_url)
            .field("s3_endpoint", &self.s3_endpoint)
            .field("s3_region", &self.s3_region)
            .field("s3_access_key_id", &self.s3_access_key_id)
            .field(
                "s3_secret_access_key",
                &self.s3_secret_access_key.as_ref().map(|_| "…"),
            )
            .field("s3_virtual_hosted_style", &self.s3_virtual_hosted_style)
            .finish()
    }
}

/// A bucket and the key prefix inside it, from `s3://BUCKET[/PREFIX]`.
fn bucket_of(url: &str) -> Result<(String, String), String> {
    let refused = || {
        format!(
            "--blob-store-url: expected s3://BUCKET or s3://BUCKET/PREFIX, e.g. s3://doorstep-photos/prod, not {url:?} / 应为 s3://存储桶 或 s3://存储桶/前缀"
        )
    };
    let rest = url.trim().strip_prefix("s3://").ok_or_else(refused)?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let valid = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.';
    if bucket.len() < 3 || bucket.len() > 63 || !bucket.chars().all(valid) {
        return Err(refused());
    }
    Ok((bucket.to_string(), prefix.trim_matches('/').to_string()))
}

/// The blob store of a running server.
#[derive(Debug, Clone)]
pub struct BlobStore {
    inner: Arc<dyn ObjectStore>,
    prefix: Option<ObjectPath>,
    /// The directory of a file store: what is written is fsynced there.
    files: Option<PathBuf>,
    /// Where it is, for people (never a secret).
    place: String,
}

fn failed(context: &str, e: impl std::fmt::Display) -> Failure {
    Failure::Internal {
        context: format!("{context}: {e}"),
    }
}

impl BlobStore {
    /// Files in `dir` (created if missing).
    pub fn files(dir: &Path) -> std::io::Result<BlobStore> {
        std::fs::create_dir_all(dir)?;
        let local = LocalFileSystem::new_with_prefix(dir).map_err(std::io::Error::other)?;
        Ok(BlobStore {
            inner: Arc::new(local),
            prefix: None,
            files: Some(dir.to_path_buf()),
            place: dir.display().to_string(),
        })
    }

    /// The store `settings` name: its bucket, or files in `dir` without one.
    /// A setting missing or malformed is refused, naming the flag.
    pub fn configured(settings: &BlobStoreSettings, dir: &Path) -> Result<BlobStore, String> {
        let Some(url) = settings.blob_store_url.as_deref() else {
            return Self::files(dir).map_err(|e| format!("{}: {e}", dir.display()));
        };
        let (bucket, prefix) = bucket_of(url)?;
        let key_id = settings.s3_access_key_id.as_deref().ok_or(
            "--s3-access-key-id (DOORSTEP_S3_ACCESS_KEY_ID) is required with an s3:// blob store / 使用 s3:// 存储时必须设置访问密钥 ID",
        )?;
        let secret = settings.s3_secret_access_key.as_deref().ok_or(
            "--s3-secret-access-key (DOORSTEP_S3_SECRET_ACCESS_KEY) is required with an s3:// blob store / 使用 s3:// 存储时必须设置访问密钥",
        )?;
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&bucket)
            .with_region(&settings.s3_region)
            .with_access_key_id(key_id)
            .with_secret_access_key(secret)
            .with_virtual_hosted_style_request(settings.s3_virtual_hosted_style)
            // A photo's last part waits on this put: a few quick retries, then
            // the device's own retry (the verified bytes stay on disk).
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(100),
                    max_backoff: Duration::from_secs(2),
                    base: 2.0,
                },
                max_retries: 3,
                retry_timeout: Duration::from_secs(20),
            });
        if let Some(endpoint) = settings.s3_endpoint.as_deref() {
            if !endpoint.starts_with("https://") && !endpoint.starts_with("http://") {
                return Err(format!(
                    "--s3-endpoint: expected an http:// or https:// address, e.g. https://oss-cn-hangzhou.aliyuncs.com, not {endpoint:?} / 应为 http:// 或 https:// 地址"
                ));
            }
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        let s3 = builder
            .build()
            .map_err(|e| format!("--blob-store-url {url}: {e}"))?;
        Ok(BlobStore {
            inner: Arc::new(s3),
            prefix: (!prefix.is_empty()).then(|| ObjectPath::from(prefix.as_str())),
            files: None,
            place: url.to_string(),
        })
    }

    /// Where the blobs are, for the log.
    pub fn place(&self) -> &str {
        &self.place
    }

    fn path(&self, digest: &str) -> ObjectPath {
        match &self.prefix {
            Some(prefix) => prefix.clone().join(digest),
            None => ObjectPath::from(digest),
        }
    }

    /// Puts the whole blob `digest`; durable when it returns.
    pub async fn put(&self, digest: &str, bytes: Bytes) -> Fallible<()> {
        self.inner
            .put(&self.path(digest), PutPayload::from_bytes(bytes))
            .await
            .map_err(|e| failed("putting a photo into the blob store", e))?;
        if let Some(dir) = self.files.clone() {
            let file = dir.join(digest);
            tokio::task::spawn_blocking(move || {
                std::fs::File::open(&file)?.sync_all()?;
                std::fs::File::open(&dir)?.sync_all()
            })
            .await
            .map_err(|e| failed("syncing a stored photo", e))?
            .map_err(|e| failed("syncing a stored photo", e))?;
        }
        Ok(())
    }

    /// The whole blob `digest`, None if the store has no such blob.
    pub async fn read(&self, digest: &str) -> Fallible<Option<Bytes>> {
        match self.inner.get(&self.path(digest)).await {
            Ok(got) => got
                .bytes()
                .await
                .map(Some)
                .map_err(|e| failed("reading a photo from the blob store", e)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(failed("reading a photo from the blob store", e)),
        }
    }

    /// The whole blob `digest` as a stream, with its size; None if the store
    /// has no such blob.
    pub async fn stream(
        &self,
        digest: &str,
    ) -> Fallible<Option<(u64, BoxStream<'static, object_store::Result<Bytes>>)>> {
        match self.inner.get(&self.path(digest)).await {
            Ok(got) => Ok(Some((got.meta.size, got.into_stream()))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(failed("reading a photo from the blob store", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_s3_url_names_a_bucket_and_maybe_a_prefix() {
        assert_eq!(
            bucket_of("s3://doorstep-photos").unwrap(),
            ("doorstep-photos".into(), String::new())
        );
        assert_eq!(
            bucket_of("s3://doorstep-photos/prod/2026/").unwrap(),
            ("doorstep-photos".into(), "prod/2026".into())
        );
        for bad in [
            "doorstep-photos",
            "s3://",
            "s3://ab",
            "s3://Photos",
            "file:///x",
        ] {
            let e = bucket_of(bad).unwrap_err();
            assert!(
                e.starts_with("--blob-store-url: expected s3://BUCKET"),
                "{e}"
            );
        }
    }

    #[test]
    fn an_s3_store_needs_its_keys_and_an_http_address() {
        let dir = std::env::temp_dir();
        let mut s = BlobStoreSettings {
            blob_store_url: Some("s3://doorstep-photos".into()),
            ..Default::default()
        };
        let e = BlobStore::configured(&s, &dir).unwrap_err();
        assert!(e.starts_with("--s3-access-key-id"), "{e}");
        s.s3_access_key_id = Some("AKID".into());
        let e = BlobStore::configured(&s, &dir).unwrap_err();
        assert!(e.starts_with("--s3-secret-access-key"), "{e}");
        s.s3_secret_access_key = Some("wJalrXUtnFEMI-never-shown".into());
        s.s3_endpoint = Some("oss-cn-hangzhou.aliyuncs.com".into());
        let e = BlobStore::configured(&s, &dir).unwrap_err();
        assert!(
            e.starts_with("--s3-endpoint: expected an http:// or https://"),
            "{e}"
        );
        s.s3_endpoint = Some("http://127.0.0.1:9000".into());
        let store = BlobStore::configured(&s, &dir).unwrap();
        assert_eq!(store.place(), "s3://doorstep-photos");
        assert!(
            !format!("{s:?}").contains("never-shown"),
            "the secret is never printed"
        );
    }
}
