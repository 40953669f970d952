//! Time as the server stores it: integer Unix milliseconds (UTC). Local
//! days and months are the business time zone's (`zone`).

/// Now, in Unix milliseconds (the storage format of every time).
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Unix milliseconds to a UTC time.
pub fn from_ms(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}
