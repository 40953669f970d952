//! An emulated weak mobile link for the sync benchmark: a loopback TCP proxy
//! with a round-trip time, a bandwidth per direction shared by every
//! connection through it, and loss emulated as the delay a TCP
//! retransmission adds (a fraction of segments held back one RTO).
//!
//! Each direction is one queue of MSS-sized segments: a segment leaves when
//! the link is free (`bytes · 8 / bandwidth` after the one before it,
//! whichever connection sent it), arrives half an RTT later, or an RTO
//! later still when it is "lost"; a connection delivers its segments in
//! order (a held-back segment holds back those behind it, as TCP does). A
//! new connection costs one RTT before its first byte (the handshake).
//! Losses are chosen by a seeded generator, so a run is repeatable.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// A TCP segment's payload (Ethernet MSS).
pub const SEGMENT_BYTES: usize = 1460;

/// What the link is like.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkShape {
    pub rtt: Duration,
    /// Bits per second, each direction.
    pub bandwidth_bps: u64,
    /// Fraction of segments held back one RTO (0.01 = 1 %).
    pub loss: f64,
    /// The retransmission timeout a lost segment costs.
    pub rto: Duration,
}

impl LinkShape {
    /// A 3G link in a basement: RTT 300 ms, 1 Mbit/s, 1 % loss.
    pub fn weak_3g() -> Self {
        Self::new(Duration::from_millis(300), 1_000_000, 0.01)
    }

    /// A fair 4G link: RTT 80 ms, 10 Mbit/s, 1 % loss.
    pub fn fair_4g() -> Self {
        Self::new(Duration::from_millis(80), 10_000_000, 0.01)
    }

    /// A link that only counts: no delay, no bandwidth limit, no loss (the
    /// TCP bytes of a run whose time is taken without it).
    pub fn unshaped() -> Self {
        Self::new(Duration::ZERO, u64::MAX, 0.0)
    }

    /// A link with Linux's RTO for a steady RTT: RTT + 200 ms (at least).
    pub fn new(rtt: Duration, bandwidth_bps: u64, loss: f64) -> Self {
        Self {
            rtt,
            bandwidth_bps,
            loss,
            rto: rtt + Duration::from_millis(200),
        }
    }

    /// How long `bytes` occupy the link.
    pub fn serialisation(&self, bytes: usize) -> Duration {
        Duration::from_secs_f64(bytes as f64 * 8.0 / self.bandwidth_bps as f64)
    }

    /// The physical floor of moving `up` and `down` bytes (DESIGN.md):
    /// the bytes at the bandwidth, plus two round trips (connect and one
    /// exchange).
    pub fn floor(&self, up: u64, down: u64) -> Duration {
        self.serialisation(up as usize) + self.serialisation(down as usize) + self.rtt * 2
    }

    /// `"RTT 300 ms, 1 Mbit/s, 1 % loss"`.
    pub fn describe(&self) -> String {
        format!(
            "RTT {} ms, {} Mbit/s, {} % loss",
            self.rtt.as_millis(),
            self.bandwidth_bps as f64 / 1e6,
            self.loss * 100.0
        )
    }
}

/// One direction of the link: when it is next free, and its loss draws.
struct Direction {
    free_at: Mutex<Instant>,
}

impl Direction {
    fn new() -> Self {
        Self {
            free_at: Mutex::new(Instant::now()),
        }
    }

    /// When a segment of `bytes` handed over now has crossed the link.
    fn schedule(&self, shape: &LinkShape, bytes: usize, lost: bool) -> Instant {
        let mut free = self.free_at.lock().unwrap_or_else(|e| e.into_inner());
        let start = (*free).max(Instant::now());
        let done = start + shape.serialisation(bytes);
        *free = done;
        let mut arrival = done + shape.rtt / 2;
        if lost {
            arrival += shape.rto;
        }
        arrival
    }
}

/// The running link: connect the device to [`WeakLink::addr`].
pub struct WeakLink {
    pub addr: SocketAddr,
    /// Bytes device → server and server → device (TCP payload).
    up: Arc<AtomicU64>,
    down: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl WeakLink {
    /// A link in front of `target`.
    pub async fn start(target: SocketAddr, shape: LinkShape, seed: u64) -> WeakLink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let up = Arc::new(AtomicU64::new(0));
        let down = Arc::new(AtomicU64::new(0));
        let ways = Arc::new((Direction::new(), Direction::new()));
        let rng = Arc::new(Mutex::new(StdRng::seed_from_u64(seed)));
        let (u, d) = (up.clone(), down.clone());
        let task = tokio::spawn(async move {
            while let Ok((device, _)) = listener.accept().await {
                let (ways, rng, u, d) = (ways.clone(), rng.clone(), u.clone(), d.clone());
                tokio::spawn(async move {
                    // The handshake: one round trip before the first byte.
                    tokio::time::sleep(shape.rtt).await;
                    let Ok(server) = TcpStream::connect(target).await else {
                        return;
                    };
                    let _ = device.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    let (dr, dw) = device.into_split();
                    let (sr, sw) = server.into_split();
                    let upward = carry(dr, sw, shape, ways.clone(), true, rng.clone(), u);
                    let downward = carry(sr, dw, shape, ways, false, rng, d);
                    tokio::join!(upward, downward);
                });
            }
        });
        WeakLink {
            addr,
            up,
            down,
            task,
        }
    }

    /// The base URL through the link.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Bytes carried so far: (device → server, server → device).
    pub fn bytes(&self) -> (u64, u64) {
        (
            self.up.load(Ordering::Relaxed),
            self.down.load(Ordering::Relaxed),
        )
    }
}

impl Drop for WeakLink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Carries one direction of one connection: segments scheduled on the
/// shared direction, delivered in order at their arrival times.
async fn carry(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    shape: LinkShape,
    ways: Arc<(Direction, Direction)>,
    upward: bool,
    rng: Arc<Mutex<StdRng>>,
    counted: Arc<AtomicU64>,
) {
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let reader = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            counted.fetch_add(n as u64, Ordering::Relaxed);
            for segment in buf[..n].chunks(SEGMENT_BYTES) {
                let lost = {
                    let mut r = rng.lock().unwrap_or_else(|e| e.into_inner());
                    r.random::<f64>() < shape.loss
                };
                let way = if upward { &ways.0 } else { &ways.1 };
                let arrival = way.schedule(&shape, segment.len(), lost);
                if tx.send((arrival, segment.to_vec())).is_err() {
                    return;
                }
            }
        }
    };
    let writer = async move {
        let mut last = Instant::now();
        while let Some((arrival, bytes)) = rx.recv().await {
            // In order: nothing overtakes a held-back segment.
            last = last.max(arrival);
            tokio::time::sleep_until(last).await;
            if to.write_all(&bytes).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(reader, writer);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_floor_is_the_bytes_at_the_bandwidth_plus_two_round_trips() {
        let link = LinkShape::new(Duration::from_millis(300), 1_000_000, 0.0);
        let floor = link.floor(125_000, 0);
        assert_eq!(floor, Duration::from_millis(1_600));
    }
}
