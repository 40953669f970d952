//! The `users` table: the center's staff and their password hashes.

use super::sql::Tx;
use crate::failure::{Failure, Fallible};
use crate::model::Role;
use crate::time::now_ms;

/// Creates a user with an already hashed password. Used by the admin
/// endpoint, first-run set-up and the demo.
pub async fn insert_user(
    tx: &mut dyn Tx,
    username: &str,
    password_hash: &str,
    role: Role,
) -> Fallible<()> {
    let r = tx
        .execute(
            "INSERT INTO users (username, password_hash, role, created_at) VALUES ($1, $2, $3, $4)",
            &[
                username.into(),
                password_hash.into(),
                role.as_str().into(),
                now_ms().into(),
            ],
        )
        .await;
    match r {
        Ok(_) => Ok(()),
        Err(e) if e.is_unique() => Err(Failure::conflict(
            "exists",
            format!("user {username:?} already exists; choose another username"),
        )),
        Err(e) => Err(e.into()),
    }
}

/// Whether any user exists (first run creates the admin when none does).
pub async fn any_user(tx: &mut dyn Tx) -> Fallible<bool> {
    Ok(tx
        .query_opt("SELECT 1 AS found FROM users LIMIT 1", &[])
        .await?
        .is_some())
}

/// What a login is checked against.
pub struct Credentials {
    pub password_hash: String,
    pub role: Role,
    /// An admin disabled the account: it may not log in.
    pub disabled: bool,
}

/// The stored password hash and role of a user.
pub async fn credentials(tx: &mut dyn Tx, username: &str) -> Fallible<Option<Credentials>> {
    let Some(r) = tx
        .query_opt(
            "SELECT password_hash, role, disabled_at FROM users WHERE username = $1",
            &[username.into()],
        )
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(Credentials {
        password_hash: r.text("password_hash"),
        role: r
            .text("role")
            .parse()
            .map_err(|e| Failure::corrupt("reading a user", e))?,
        disabled: r.opt_int("disabled_at").is_some(),
    }))
}

/// Disables (`Some(actor)`) or enables (`None`) an account, keeping who
/// did it and when. `false` when there is no such user.
pub async fn set_disabled(
    tx: &mut dyn Tx,
    username: &str,
    disabled_by: Option<&str>,
    now: i64,
) -> Fallible<bool> {
    let n = match disabled_by {
        Some(actor) => {
            tx.execute(
                "UPDATE users SET disabled_at = $1, disabled_by = $2 WHERE username = $3",
                &[now.into(), actor.into(), username.into()],
            )
            .await?
        }
        None => {
            tx.execute(
                "UPDATE users SET disabled_at = NULL, disabled_by = NULL WHERE username = $1",
                &[username.into()],
            )
            .await?
        }
    };
    Ok(n > 0)
}

/// Replaces an account's password hash (an admin's reset). `false` when
/// there is no such user.
pub async fn set_password(tx: &mut dyn Tx, username: &str, password_hash: &str) -> Fallible<bool> {
    let n = tx
        .execute(
            "UPDATE users SET password_hash = $1 WHERE username = $2",
            &[password_hash.into(), username.into()],
        )
        .await?;
    Ok(n > 0)
}

/// A staff account as the admin screen lists it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct UserListing {
    pub username: String,
    pub role: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub disabled: bool,
}

/// Every staff account, by name.
pub async fn list_users(tx: &mut dyn Tx) -> Fallible<Vec<UserListing>> {
    Ok(tx
        .query(
            "SELECT username, role, created_at, disabled_at FROM users ORDER BY username",
            &[],
        )
        .await?
        .iter()
        .map(|r| UserListing {
            username: r.text("username"),
            role: r.text("role"),
            created_at: crate::time::from_ms(r.int("created_at")),
            disabled: r.opt_int("disabled_at").is_some(),
        })
        .collect())
}
