//! Long-lived responses (the console's live stream) and the connection
//! limits: a stream gives back its connection's place under
//! `--max-connections` ([`ConnectionSlot`], which `serve` hands to every
//! request) and is counted per user instead ([`LiveStreams`]). At a
//! graceful shutdown every stream is told to end ([`LiveStreams::close_all`]),
//! so an open console never holds the server up for the whole grace period:
//! its browser reconnects to whichever server answers next.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{watch, OwnedSemaphorePermit};

/// Open live streams one user may hold (a few tabs); more are refused (429).
pub const STREAMS_PER_USER: usize = 4;

/// A connection's place under `--max-connections`, given to each of its
/// requests: a long-lived response (a live stream) releases it, so the
/// stream does not hold one of the places short requests need.
#[derive(Clone)]
pub struct ConnectionSlot(Arc<Mutex<Option<OwnedSemaphorePermit>>>);

impl ConnectionSlot {
    pub fn new(permit: OwnedSemaphorePermit) -> Self {
        Self(Arc::new(Mutex::new(Some(permit))))
    }

    /// Gives the place back now (the connection stays open).
    pub fn release(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
}

/// Open live streams per user, shared by every connection of a server, and
/// the signal that ends them all at shutdown.
#[derive(Clone)]
pub struct LiveStreams {
    open: Arc<Mutex<HashMap<String, usize>>>,
    closing: Arc<watch::Sender<bool>>,
}

impl Default for LiveStreams {
    fn default() -> Self {
        Self {
            open: Arc::default(),
            closing: Arc::new(watch::channel(false).0),
        }
    }
}

/// One open stream, counted until dropped.
pub struct StreamTicket {
    streams: LiveStreams,
    user: String,
    closing: watch::Receiver<bool>,
}

impl StreamTicket {
    /// Returns once the server is shutting down: the stream then ends.
    pub async fn closing(&mut self) {
        // An error means the sender is gone: nothing keeps the stream then.
        let _ = self.closing.wait_for(|closing| *closing).await;
    }
}

impl LiveStreams {
    /// Counts a new stream of `user`, or None when they hold the maximum.
    pub fn open(&self, user: &str) -> Option<StreamTicket> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(user.to_string()).or_insert(0);
        if *n >= STREAMS_PER_USER {
            return None;
        }
        *n += 1;
        Some(StreamTicket {
            streams: self.clone(),
            user: user.to_string(),
            closing: self.closing.subscribe(),
        })
    }

    /// Tells every open stream, and every stream opened from now on, to end
    /// (the server is shutting down).
    pub fn close_all(&self) {
        self.closing.send_replace(true);
    }

    /// Streams `user` holds now.
    pub fn count(&self, user: &str) -> usize {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.get(user).copied().unwrap_or(0)
    }
}

impl Drop for StreamTicket {
    fn drop(&mut self) {
        let mut open = self.streams.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.user) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_may_hold_only_so_many_live_streams_and_a_closed_one_frees_its_place() {
        let streams = LiveStreams::default();
        let mut held: Vec<_> = (0..STREAMS_PER_USER)
            .map(|_| streams.open("li.na").expect("within the limit"))
            .collect();
        assert!(streams.open("li.na").is_none(), "one too many");
        assert!(
            streams.open("wang.fang").is_some(),
            "another user is counted apart"
        );
        drop(held.pop());
        assert_eq!(streams.count("li.na"), STREAMS_PER_USER - 1);
        assert!(streams.open("li.na").is_some());
    }

    #[tokio::test]
    async fn closing_all_reaches_open_streams_and_later_ones() {
        let streams = LiveStreams::default();
        let mut before = streams.open("li.na").unwrap();
        streams.close_all();
        let mut after = streams.open("wang.fang").unwrap();
        for ticket in [&mut before, &mut after] {
            tokio::time::timeout(std::time::Duration::from_secs(5), ticket.closing())
                .await
                .expect("told to close");
        }
    }

    #[tokio::test]
    async fn an_open_stream_is_not_told_to_close_before_the_shutdown() {
        let streams = LiveStreams::default();
        let mut ticket = streams.open("li.na").unwrap();
        let waited =
            tokio::time::timeout(std::time::Duration::from_millis(50), ticket.closing()).await;
        assert!(waited.is_err(), "closing before close_all");
    }
}
