//! The `sessions` table: dispatchers' login sessions, stored by token hash.

use super::sql::{Tx, Value};
use crate::failure::{Failure, Fallible};
use crate::model::Role;

/// Stores a new session, dropping the user's expired ones.
pub async fn open_session(
    tx: &mut dyn Tx,
    token_hash: &str,
    username: &str,
    now: i64,
    expires_at: i64,
) -> Fallible<()> {
    tx.execute(
        "DELETE FROM sessions WHERE username = $1 AND expires_at <= $2",
        &[username.into(), now.into()],
    )
    .await?;
    tx.execute(
        "INSERT INTO sessions (token_hash, username, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        &[token_hash.into(), username.into(), now.into(), expires_at.into()],
    )
    .await?;
    Ok(())
}

/// Ends a session.
pub async fn close_session(tx: &mut dyn Tx, token_hash: &str) -> Fallible<()> {
    tx.execute(
        "DELETE FROM sessions WHERE token_hash = $1",
        &[token_hash.into()],
    )
    .await?;
    Ok(())
}

/// Ends every session of a user; returns how many were live or expired.
pub async fn end_all_sessions(tx: &mut dyn Tx, username: &str) -> Fallible<u64> {
    let n = tx
        .execute(
            "DELETE FROM sessions WHERE username = $1",
            &[username.into()],
        )
        .await?;
    Ok(n)
}

/// The user (name and role) of a live session of an enabled account.
pub async fn session_user(
    tx: &mut dyn Tx,
    token_hash: &str,
    now: i64,
) -> Fallible<Option<(String, Role)>> {
    let Some(r) = tx
        .query_opt(
            "SELECT u.username AS username, u.role AS role
             FROM sessions s JOIN users u ON u.username = s.username
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL",
            &[Value::from(token_hash), now.into()],
        )
        .await?
    else {
        return Ok(None);
    };
    let role = r
        .text("role")
        .parse()
        .map_err(|e| Failure::corrupt("reading a session's user", e))?;
    Ok(Some((r.text("username"), role)))
}
