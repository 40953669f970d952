//! The device token a sync sends, and its rotation. The server replaces a
//! device's token on a schedule: a sync answer then carries the new one in
//! the `Doorstep-Device-Token` header. The client sends the new token from
//! its next request on and keeps it in the store (one SQLite write, so it
//! is there whole or not at all); later syncs, and a client built again
//! from the enrolment token after a restart, use the stored one. The
//! replaced token keeps working on the server for a grace period, so a
//! token lost before it was stored costs nothing: the next sync with the
//! old token is answered with another new one.

use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use std::sync::Mutex;

/// The answer header that carries a device's new token.
pub const NEW_TOKEN_HEADER: &str = "doorstep-device-token";

/// The token in use: the enrolment's, or the latest one the server sent.
pub(super) struct TokenCell {
    /// The token the client was configured with (from enrolment): the
    /// stored rotation is used only while it descends from this one, so a
    /// re-enrolled phone uses its new enrolment token.
    enrolled: String,
    current: Mutex<String>,
    /// Received and not stored yet.
    unsaved: Mutex<Option<String>>,
}

impl TokenCell {
    pub(super) fn new(enrolled: String) -> Self {
        Self {
            current: Mutex::new(enrolled.clone()),
            enrolled,
            unsaved: Mutex::new(None),
        }
    }

    /// The token to send.
    pub(super) fn current(&self) -> String {
        self.current
            .lock()
            .map_or_else(|p| p.into_inner().clone(), |t| t.clone())
    }

    /// Takes up the token the store kept from an earlier rotation, if it
    /// descends from the enrolment token.
    pub(super) fn adopt_stored(&self, store: &Store) -> Result<(), StoreError> {
        if let Some(token) = store.rotated_device_token(&self.enrolled)? {
            self.set_current(token);
        }
        Ok(())
    }

    /// A new token arrived in an answer: sent from the next request on.
    pub(super) fn received(&self, token: &str) {
        let token = token.trim();
        if token.is_empty() || token == self.current() {
            return;
        }
        self.set_current(token.to_string());
        if let Ok(mut unsaved) = self.unsaved.lock() {
            *unsaved = Some(token.to_string());
        }
    }

    /// Stores a token received in this sync; true when there was one.
    pub(super) fn save(&self, store: &Store, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let token = self.unsaved.lock().ok().and_then(|mut u| u.take());
        match token {
            Some(token) => {
                store.keep_rotated_device_token(&self.enrolled, &token, now)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn set_current(&self, token: String) {
        match self.current.lock() {
            Ok(mut t) => *t = token,
            Err(p) => *p.into_inner() = token,
        }
    }
}
