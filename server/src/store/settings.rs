//! The `settings` table: the server's own persistent values.

use super::sql::Tx;
use crate::failure::Fallible;

/// A setting's value.
pub async fn get(tx: &mut dyn Tx, key: &str) -> Fallible<Option<String>> {
    Ok(tx
        .query_opt("SELECT value FROM settings WHERE key = $1", &[key.into()])
        .await?
        .map(|r| r.text("value")))
}

/// Sets a value unless the key already has one.
pub async fn insert_if_absent(tx: &mut dyn Tx, key: &str, value: &str) -> Fallible<()> {
    tx.execute(
        "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        &[key.into(), value.into()],
    )
    .await?;
    Ok(())
}
