//! A fault-injecting HTTP proxy for sync tests: sits between a device and the
//! server on loopback and, chosen by a seeded random generator, drops
//! requests, drops responses after the server handled them, delays,
//! duplicates requests, or truncates responses. Each connection carries one
//! request (`Connection: close` both ways), so every fault is clean.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Probabilities of each fault, per request (the rest pass untouched).
#[derive(Debug, Clone, Copy)]
pub struct Faults {
    /// The request never reaches the server.
    pub drop_request: f64,
    /// The server handles the request but the device never hears back.
    pub drop_response: f64,
    /// The request is sent to the server twice; the device hears the second answer.
    pub duplicate: f64,
    /// Only part of the response reaches the device.
    pub truncate: f64,
    /// The response is delayed up to `max_delay`.
    pub delay: f64,
    pub max_delay: Duration,
}

impl Faults {
    pub fn none() -> Self {
        Self {
            drop_request: 0.0,
            drop_response: 0.0,
            duplicate: 0.0,
            truncate: 0.0,
            delay: 0.0,
            max_delay: Duration::ZERO,
        }
    }

    /// A hostile network: about half the requests meet a fault.
    pub fn hostile() -> Self {
        Self {
            drop_request: 0.1,
            drop_response: 0.15,
            duplicate: 0.1,
            truncate: 0.1,
            delay: 0.1,
            max_delay: Duration::from_millis(50),
        }
    }
}

/// Counts of what the proxy did.
#[derive(Debug, Default)]
pub struct ProxyStats {
    pub requests: AtomicU64,
    pub dropped_requests: AtomicU64,
    pub dropped_responses: AtomicU64,
    pub duplicated: AtomicU64,
    pub truncated: AtomicU64,
    pub delayed: AtomicU64,
}

impl ProxyStats {
    pub fn faults(&self) -> u64 {
        self.dropped_requests.load(Ordering::Relaxed)
            + self.dropped_responses.load(Ordering::Relaxed)
            + self.duplicated.load(Ordering::Relaxed)
            + self.truncated.load(Ordering::Relaxed)
            + self.delayed.load(Ordering::Relaxed)
    }
}

/// A running proxy; stops when dropped.
pub struct FaultProxy {
    pub addr: SocketAddr,
    pub stats: Arc<ProxyStats>,
    task: JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

enum Fault {
    None,
    DropRequest,
    DropResponse,
    Duplicate,
    Truncate,
    Delay(Duration),
}

impl FaultProxy {
    /// Listens on an ephemeral loopback port and forwards to `upstream`.
    pub async fn start(
        upstream: SocketAddr,
        faults: Faults,
        seed: u64,
    ) -> std::io::Result<FaultProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let stats = Arc::new(ProxyStats::default());
        let rng = Arc::new(Mutex::new(StdRng::seed_from_u64(seed)));
        let st = stats.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let fault = {
                    let mut r = rng.lock().unwrap_or_else(|e| e.into_inner());
                    let x: f64 = r.random();
                    let mut edge = 0.0;
                    let mut pick = |p: f64| {
                        edge += p;
                        x < edge
                    };
                    if pick(faults.drop_request) {
                        Fault::DropRequest
                    } else if pick(faults.drop_response) {
                        Fault::DropResponse
                    } else if pick(faults.duplicate) {
                        Fault::Duplicate
                    } else if pick(faults.truncate) {
                        Fault::Truncate
                    } else if pick(faults.delay) {
                        let ms = faults.max_delay.as_millis().max(1) as u64;
                        Fault::Delay(Duration::from_millis(r.random_range(0..ms)))
                    } else {
                        Fault::None
                    }
                };
                let st = st.clone();
                tokio::spawn(async move {
                    let _ = serve(client, upstream, fault, &st).await;
                });
            }
        });
        Ok(FaultProxy { addr, stats, task })
    }
}

/// Reads one HTTP/1.1 request (head + Content-Length body) from `s`.
async fn read_request(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(8192);
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(with_connection_close(&buf[..head_end], &buf[head_end..]))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Rewrites a message head so the connection closes after this exchange.
fn with_connection_close(head: &[u8], body: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(head);
    let mut out = String::new();
    for (i, line) in text.split("\r\n").enumerate() {
        if line.is_empty() {
            continue;
        }
        if i > 0 && line.to_ascii_lowercase().starts_with("connection:") {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
        if i == 0 {
            out.push_str("connection: close\r\n");
        }
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// Sends `request` upstream and reads the whole response (the server closes).
async fn forward(upstream: SocketAddr, request: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut s = TcpStream::connect(upstream).await?;
    s.write_all(request).await?;
    let mut response = Vec::new();
    s.read_to_end(&mut response).await?;
    let head_end = find(&response, b"\r\n\r\n").map_or(response.len(), |i| i + 4);
    Ok(with_connection_close(
        &response[..head_end],
        &response[head_end..],
    ))
}

async fn serve(
    mut client: TcpStream,
    upstream: SocketAddr,
    fault: Fault,
    st: &ProxyStats,
) -> std::io::Result<()> {
    let request = read_request(&mut client).await?;
    st.requests.fetch_add(1, Ordering::Relaxed);
    match fault {
        Fault::DropRequest => {
            st.dropped_requests.fetch_add(1, Ordering::Relaxed);
            Ok(()) // closing without an answer
        }
        Fault::DropResponse => {
            st.dropped_responses.fetch_add(1, Ordering::Relaxed);
            forward(upstream, &request).await.map(|_| ())
        }
        Fault::Duplicate => {
            st.duplicated.fetch_add(1, Ordering::Relaxed);
            let _ = forward(upstream, &request).await?;
            let second = forward(upstream, &request).await?;
            client.write_all(&second).await
        }
        Fault::Truncate => {
            st.truncated.fetch_add(1, Ordering::Relaxed);
            let response = forward(upstream, &request).await?;
            client.write_all(&response[..response.len() * 2 / 3]).await
        }
        Fault::Delay(d) => {
            st.delayed.fetch_add(1, Ordering::Relaxed);
            let response = forward(upstream, &request).await?;
            tokio::time::sleep(d).await;
            client.write_all(&response).await
        }
        Fault::None => {
            let response = forward(upstream, &request).await?;
            client.write_all(&response).await
        }
    }
}
