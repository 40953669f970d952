//! A company's own playbooks, published from the server to the phones
//! (core `playbook::published`): an administrator publishes a version of a
//! trade's playbook; the server validates it, signs it with its playbook
//! key and keeps it; each phone's next download brings the newest version
//! of every trade it does not hold yet. A visit keeps the version it
//! started with, and the server judges what a phone uploads by that
//! version (`crate::playbook_shelf`, which the handler tells of a version
//! once its transaction committed).

use crate::failure::{Failure, Fallible};
use crate::store::playbooks;
use crate::store::Tx;
use doorstep_core::playbook::{Playbook, PublishedPlaybook};

/// Publishes `playbook` (parsed and validated by the caller) as its
/// trade's next version, signed; refused naming the field when its trade is
/// not one this server walks, or when its version is not newer than every
/// version of that trade (shipped or published).
pub async fn publish_tx(
    tx: &mut dyn Tx,
    playbook: &Playbook,
    by: &str,
    now: i64,
) -> Fallible<PublishedPlaybook> {
    let trade = playbook.id.as_str().to_string();
    let Some(shipped) = Playbook::shipped_ref(&trade) else {
        let known: Vec<&str> = Playbook::shipped().iter().map(|p| p.id.as_str()).collect();
        return Err(Failure::field(
            "playbook.id",
            format!(
                "is {trade:?}, not a trade this server walks; expected one of {}",
                known.join(", ")
            ),
        ));
    };
    let newest = playbooks::newest_version(tx, &trade)
        .await?
        .unwrap_or(0)
        .max(shipped.version);
    if playbook.version <= newest {
        return Err(Failure::conflict(
            "version_not_newer",
            format!(
                "playbook {trade} version {} is not newer than version {newest} in force: publish version {} or later",
                playbook.version,
                newest + 1
            ),
        )
        .with("newest_version", newest));
    }
    let key = playbooks::signing_key(tx).await?;
    let signed = key.sign(playbook);
    if !playbooks::insert(tx, &signed, by, now).await? {
        return Err(Failure::conflict(
            "version_not_newer",
            format!(
                "playbook {trade} version {} was just published",
                playbook.version
            ),
        )
        .with("newest_version", playbook.version));
    }
    Ok(signed)
}

/// The public half of the playbook key, for phones to pin.
pub async fn public_key_tx(tx: &mut dyn Tx) -> Fallible<String> {
    Ok(playbooks::signing_key(tx).await?.public_key_hex())
}
