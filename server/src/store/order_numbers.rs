//! The `order_numbers` table: the last number given to an order of each
//! day (`A-YYYYMMDD-NNNN`), read and moved on by every intake under the
//! assignments lock.

use super::sql::Tx;
use crate::failure::Fallible;

/// The last number given on `day` (`YYYYMMDD`), if one was recorded.
pub async fn last(tx: &mut dyn Tx, day: &str) -> Fallible<Option<i64>> {
    Ok(tx
        .query_opt(
            "SELECT last FROM order_numbers WHERE day = $1",
            &[day.into()],
        )
        .await?
        .map(|r| r.int("last")))
}

/// Records `number` as the last given on `day`.
pub async fn record(tx: &mut dyn Tx, day: &str, number: i64) -> Fallible<()> {
    tx.execute(
        "INSERT INTO order_numbers (day, last) VALUES ($1, $2)
         ON CONFLICT (day) DO UPDATE SET last = excluded.last",
        &[day.into(), number.into()],
    )
    .await?;
    Ok(())
}
