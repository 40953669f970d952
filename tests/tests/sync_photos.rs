//! Photo sync (issue 12): after the events, a phone's photos upload
//! content-addressed and resumable to a real server, which lists them per
//! visit for the console and streams them with their content type.

use chrono::{DateTime, Duration, Utc};
use doorstep_core::canonical::sha256_hex;
use doorstep_core::store::CapturedPhoto;
use doorstep_core::sync::{
    HttpRequest, ReqwestTransport, SyncClient, SyncConfig, Transport, TransportFuture,
};
use doorstep_core::AssignmentId;
use doorstep_e2e::{appliance_visit, photo_bytes, Center, Phone};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use std::sync::{Arc, Mutex};

fn monday() -> DateTime<Utc> {
    Utc::now()
        .date_naive()
        .and_hms_opt(1, 0, 0)
        .unwrap()
        .and_utc()
        + Duration::days(3)
}

async fn center_with_phone(tech: &str) -> (Center, Phone) {
    let center = Center::start().await;
    let (device, token) = center.technician(tech).await;
    let phone = Phone::new(tech, &device, &token, &center.base, Utc::now());
    (center, phone)
}

/// Runs a whole visit on the phone, offline, storing each photo's bytes
/// (`kib` KiB each) the way the shell hands them over.
fn work_visit_with_photos(phone: &Phone, a: &AssignmentId, start: DateTime<Utc>, kib: usize) {
    for (at, cmd) in appliance_visit(start) {
        if cmd["type"] == "take_photo" {
            let moment = cmd["moment"].as_str().unwrap();
            let bytes = photo_bytes(start, moment, kib);
            phone.clock.set(at);
            phone
                .store
                .store_photo(
                    a.clone(),
                    CapturedPhoto {
                        moment,
                        bytes: &bytes,
                        width: 1280,
                        height: 960,
                    },
                    at,
                    None,
                )
                .unwrap_or_else(|e| panic!("photo {moment}: {e}"));
        } else {
            phone
                .apply(a, at, cmd.clone())
                .unwrap_or_else(|e| panic!("{cmd}: {e}"));
        }
    }
}

/// A visit of T-1 worked and synced on `phone`, its facts naming the
/// photos whose bytes stay off the phone's blob area, for a test to upload
/// by hand.
async fn visit_whose_photos_wait_for_upload(center: &Center, phone: &Phone, start: DateTime<Utc>) {
    let a = center.assignment("T-1", start).await;
    phone.sync().await.unwrap();
    for (at, cmd) in appliance_visit(start) {
        phone.apply(&a, at, cmd).unwrap();
    }
    phone.sync().await.unwrap();
}

/// The server's visit id of an assignment, and its photo list.
async fn photos_of(center: &Center, a: &AssignmentId) -> Value {
    let v = center.get(&format!("/api/visits?assignment_id={a}")).await;
    let id = v[0]["visit_id"].as_str().expect("the visit").to_string();
    center.get(&format!("/api/visits/{id}/photos")).await
}

/// A dispatcher's download of a photo: status, content type, bytes.
async fn download(center: &Center, digest: &str) -> (u16, String, Vec<u8>) {
    let r = center
        .http
        .get(format!("{}/api/blobs/{digest}", center.base))
        .bearer_auth(&center.dispatcher)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ct, r.bytes().await.unwrap().to_vec())
}

/// A raw device request to the blob endpoint.
async fn blob_request(
    center: &Center,
    phone: &Phone,
    method: reqwest::Method,
    digest: &str,
    range: Option<String>,
    body: Vec<u8>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = center
        .http
        .request(method, format!("{}/api/sync/blobs/{digest}", center.base))
        .bearer_auth(&phone.token)
        .body(body);
    if let Some(r) = range {
        req = req.header("content-range", r);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap_or_default();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

async fn stored_blob_rows(center: &Center, digest: &str) -> i64 {
    let digest = digest.to_string();
    center
        .server
        .state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                let r = tx
                    .query_opt(
                        "SELECT COUNT(*) FROM blobs WHERE digest = $1",
                        &[digest.into()],
                    )
                    .await?;
                Ok::<_, doorstep_server::http::error::ApiError>(r.unwrap().int(0))
            })
        })
        .await
        .unwrap()
}

/// A network that cuts photo uploads: a `PUT` is cut after a random number
/// of its bytes reached the server (the server keeps that prefix, as one
/// storing the stream would), or its answer is lost after the server stored
/// it all. Everything else passes.
struct CuttingTransport {
    inner: ReqwestTransport,
    rng: Mutex<StdRng>,
    cuts: Arc<Mutex<u32>>,
}

impl Transport for CuttingTransport {
    fn send(&self, mut request: HttpRequest) -> TransportFuture<'_> {
        Box::pin(async move {
            if request.method != "PUT" {
                return self.inner.send(request).await;
            }
            let (roll, keep) = {
                let mut rng = self.rng.lock().unwrap();
                (
                    rng.random_range(0..10u32),
                    rng.random_range(0..request.body.len()),
                )
            };
            match roll {
                // Cut mid-body: a prefix arrives, the device hears nothing.
                0..=4 => {
                    let range = request
                        .headers
                        .iter()
                        .find(|(k, _)| k == "content-range")
                        .map(|(_, v)| v.clone())
                        .unwrap();
                    let spec = range.strip_prefix("bytes ").unwrap();
                    let (span, total) = spec.split_once('/').unwrap();
                    let first: usize = span.split_once('-').unwrap().0.parse().unwrap();
                    if keep > 0 {
                        request.body.truncate(keep);
                        let cut = format!("bytes {first}-{}/{total}", first + keep - 1);
                        for h in request.headers.iter_mut() {
                            if h.0 == "content-range" {
                                h.1 = cut.clone();
                            }
                        }
                        let _ = self.inner.send(request).await;
                    }
                    *self.cuts.lock().unwrap() += 1;
                    Err("connection reset by peer".into())
                }
                // The server stored the part; its answer is lost.
                5 => {
                    let _ = self.inner.send(request).await;
                    *self.cuts.lock().unwrap() += 1;
                    Err("connection reset by peer".into())
                }
                _ => self.inner.send(request).await,
            }
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_cut_at_random_byte_offsets_resumes_and_completes() {
    let (center, phone) = center_with_phone("T-1").await;
    let start = monday();
    let a = center.assignment("T-1", start).await;
    phone.sync().await.unwrap();
    // Three photos of 2.5 MiB: three parts each.
    work_visit_with_photos(&phone, &a, start, 2560);
    let digests: Vec<String> = phone
        .store
        .blobs()
        .unwrap()
        .into_iter()
        .map(|b| b.digest)
        .collect();
    assert_eq!(digests.len(), 3);
    let cuts = Arc::new(Mutex::new(0));
    let transport = CuttingTransport {
        inner: ReqwestTransport::new().unwrap(),
        rng: Mutex::new(StdRng::seed_from_u64(0x5EED_0012)),
        cuts: cuts.clone(),
    };
    let mut cfg = SyncConfig::new(&center.base, &phone.token);
    cfg.timeout = std::time::Duration::from_secs(5);
    let client = SyncClient::with_transport(cfg, Arc::new(transport));
    let mut attempts = 0;
    while !phone.store.blobs().unwrap().is_empty() {
        attempts += 1;
        assert!(attempts < 200, "the photos never finished uploading");
        let _ = client.sync(&phone.store, &phone.clock).await;
    }
    assert!(*cuts.lock().unwrap() >= 3, "the network cut some uploads");
    for (moment, d) in ["nameplate", "fault_before", "after_repair"]
        .iter()
        .zip(&digests)
    {
        let _ = moment;
        let (status, ct, bytes) = download(&center, d).await;
        assert_eq!((status, ct.as_str()), (200, "image/jpeg"));
        assert_eq!(sha256_hex(&bytes), *d, "the stored photo is whole");
        assert_eq!(stored_blob_rows(&center, d).await, 1);
    }
    let listed = photos_of(&center, &a).await;
    let photos = listed["photos"].as_array().unwrap();
    assert_eq!(photos.len(), 3, "{listed}");
    assert!(photos.iter().all(|p| p["uploaded"] == true), "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_photo_uploaded_twice_is_stored_once() {
    let (center, phone) = center_with_phone("T-1").await;
    let start = monday();
    let a = center.assignment("T-1", start).await;
    phone.sync().await.unwrap();
    work_visit_with_photos(&phone, &a, start, 64);
    let d = phone.store.blobs().unwrap()[0].digest.clone();
    let bytes = phone.store.blob(&d).unwrap().unwrap();
    let report = phone.sync().await.unwrap();
    assert_eq!(report.blobs_uploaded, 3);
    // The phone (or another one) sends the same bytes again.
    let range = format!("bytes 0-{}/{}", bytes.len() - 1, bytes.len());
    let (status, headers, body) = blob_request(
        &center,
        &phone,
        reqwest::Method::PUT,
        &d,
        Some(range),
        bytes.clone(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["complete"], true);
    assert_eq!(headers["upload-offset"], bytes.len().to_string().as_str());
    assert_eq!(stored_blob_rows(&center, &d).await, 1);
    let partial = center.server.state.blobs.dir().join("partial");
    assert_eq!(std::fs::read_dir(partial).unwrap().count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_that_do_not_hash_to_their_digest_are_refused() {
    let (center, phone) = center_with_phone("T-1").await;
    let start = monday();
    visit_whose_photos_wait_for_upload(&center, &phone, start).await;
    let good = photo_bytes(start, "nameplate", 8);
    let digest = sha256_hex(&good);
    let mut bad = good.clone();
    bad[100] ^= 0xFF;
    let range = format!("bytes 0-{}/{}", bad.len() - 1, bad.len());
    let (status, _, body) = blob_request(
        &center,
        &phone,
        reqwest::Method::PUT,
        &digest,
        Some(range.clone()),
        bad,
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "blob_digest_mismatch", "{body}");
    let (status, headers, _) = blob_request(
        &center,
        &phone,
        reqwest::Method::HEAD,
        &digest,
        None,
        vec![],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        headers["upload-offset"], "0",
        "nothing of the bad bytes kept"
    );
    assert_eq!(headers["blob-complete"], "false");
    assert_eq!(stored_blob_rows(&center, &digest).await, 0);
    // A photo no event names is not taken at all.
    let stranger = sha256_hex(b"not a photo of this device");
    let (status, _, body) = blob_request(
        &center,
        &phone,
        reqwest::Method::PUT,
        &stranger,
        None,
        b"not a photo of this device".to_vec(),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("unknown_blob"))
    );
    // The right bytes are taken.
    let (status, _, body) = blob_request(
        &center,
        &phone,
        reqwest::Method::PUT,
        &digest,
        Some(range),
        good,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(stored_blob_rows(&center, &digest).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_is_uploaded_only_by_the_phone_that_took_it_and_fetched_only_by_its_technician() {
    let (center, phone) = center_with_phone("T-1").await;
    let (other_device, other_token) = center.technician("T-2").await;
    let other = Phone::new("T-2", &other_device, &other_token, &center.base, Utc::now());
    let start = monday();
    visit_whose_photos_wait_for_upload(&center, &phone, start).await;
    let bytes = photo_bytes(start, "nameplate", 8);
    let digest = sha256_hex(&bytes);
    let whole = Some(format!("bytes 0-{}/{}", bytes.len() - 1, bytes.len()));
    // Another technician's phone cannot upload it: no fact of its own names it.
    let (status, _, body) = blob_request(
        &center,
        &other,
        reqwest::Method::PUT,
        &digest,
        whole.clone(),
        bytes.clone(),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("unknown_blob")),
        "{body}"
    );
    let (status, _, body) =
        blob_request(&center, &phone, reqwest::Method::PUT, &digest, whole, bytes).await;
    assert_eq!(status, 201, "{body}");
    // Its technician's phone may fetch it again; the other's may not.
    let fetch = |token: String| {
        let url = format!("{}/api/blobs/{digest}", center.base);
        let http = center.http.clone();
        async move {
            let r = http.get(url).bearer_auth(token).send().await.unwrap();
            r.status().as_u16()
        }
    };
    assert_eq!(fetch(phone.token.clone()).await, 200);
    assert_eq!(fetch(other.token.clone()).await, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_photos_of_a_week_offline_all_arrive() {
    let (center, phone) = center_with_phone("T-1").await;
    let mut assignments = vec![];
    for day in 0..7 {
        for slot in 0..2 {
            let start = monday() + Duration::days(day) + Duration::hours(4 * slot);
            assignments.push((center.assignment("T-1", start).await, start));
        }
    }
    phone.sync().await.unwrap();
    for (a, start) in &assignments {
        work_visit_with_photos(&phone, a, *start, 96);
    }
    assert_eq!(phone.store.blobs().unwrap().len(), 42);
    let report = phone.sync().await.unwrap();
    assert_eq!((report.blobs_uploaded, report.blobs_waiting), (42, 0));
    assert!(
        phone.store.blobs().unwrap().is_empty(),
        "purged once acknowledged"
    );
    for (a, start) in &assignments {
        let listed = photos_of(&center, a).await;
        let photos = listed["photos"].as_array().unwrap();
        assert_eq!(photos.len(), 3, "{listed}");
        for p in photos {
            assert_eq!(p["uploaded"], true, "{listed}");
            let moment = p["moment"].as_str().unwrap();
            assert_eq!(
                p["digest"].as_str().unwrap(),
                sha256_hex(&photo_bytes(*start, moment, 96))
            );
        }
    }
    let v = center
        .get(&format!("/api/visits?assignment_id={}", assignments[0].0))
        .await;
    assert_eq!(v[0]["signoff"], "verified", "{v}");
}
