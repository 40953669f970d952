//! The customer's acceptance code at the center (验收码, issue 19). A new
//! work order whose trade walks the acceptance step gets six random digits;
//! the assignment carries only the argon2id check the phones use, bound to
//! the order's id. The code is sent to the customer when the order is
//! dispatched (a notice, with the customer's consent: `outbox::fanout`).
//! The center checks the codes a phone sent after five wrong ones stopped
//! its offline check, and records what it found. The desk can issue a new
//! code for an open order (the customer lost the first, or it never came):
//! `domain::assignments::reissue_acceptance_code_tx`.

use crate::failure::Fallible;
use crate::store::acceptance_codes as store;
use crate::store::Tx;
use doorstep_core::acceptance_code::{AcceptanceCheck, HashCost};
use doorstep_core::playbook::{Playbook, Step};
use doorstep_core::workflow::event::EventKind;
use doorstep_core::{AssignmentId, TradeId, VisitEvent};
use rand::Rng;

/// A code issued for a new work order.
#[derive(Debug, Clone)]
pub struct Issued {
    pub code: String,
    pub check: AcceptanceCheck,
}

/// The code for a new work order `id`, when its trade asks for one.
pub fn issue(trade: &TradeId, id: &AssignmentId) -> Option<Issued> {
    let pb = Playbook::shipped_ref(trade.as_str())?;
    if !pb.has(Step::Acceptance) {
        return None;
    }
    let mut rng = rand::rng();
    let code = format!("{:06}", rng.random_range(0..1_000_000u32));
    let mut salt = [0u8; 16];
    rng.fill(&mut salt);
    let check = AcceptanceCheck::issue(id.as_str(), &code, salt, HashCost::ISSUED);
    Some(Issued { code, check })
}

/// Keeps a code issued at the desk in place of the order's earlier one (the
/// center's check of the earlier one is forgotten with it).
pub async fn replace(tx: &mut dyn Tx, id: &AssignmentId, code: &str, at: i64) -> Fallible<()> {
    store::replace(tx, id.as_str(), code, at).await
}

/// Whether the center found the order's code accepted (the phone's check or
/// its own): a new code would change nothing the customer confirmed.
pub async fn accepted(tx: &mut dyn Tx, id: &AssignmentId) -> Fallible<bool> {
    Ok(store::of_assignment(tx, id.as_str())
        .await?
        .is_some_and(|r| r.center_result.as_deref() == Some("accepted")))
}

/// Keeps an issued code (to send it to the customer).
pub async fn record(tx: &mut dyn Tx, id: &AssignmentId, code: &str, at: i64) -> Fallible<()> {
    store::insert(tx, id.as_str(), code, at).await
}

/// What the center finds for an admitted acceptance-code fact: a code the
/// phone accepted is accepted; a code the phone no longer checked is
/// compared with the one issued; a wrong code the phone checked changes
/// nothing.
pub async fn check_fact(tx: &mut dyn Tx, e: &VisitEvent) -> Fallible<()> {
    let EventKind::AcceptanceCodeEntered { code, matched } = &e.kind else {
        return Ok(());
    };
    let id = e.assignment_id.as_str();
    let Some(issued) = store::of_assignment(tx, id).await? else {
        return Ok(());
    };
    let result = match matched {
        Some(true) => "accepted",
        Some(false) => return Ok(()),
        None if same_code(&issued.code, code) => "accepted",
        None => "wrong",
    };
    store::record_center_result(tx, id, result, e.recorded_at.timestamp_millis()).await
}

fn same_code(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_issued_only_where_the_trade_walks_the_acceptance_step() {
        let id = AssignmentId::new("A-20261202-0001").unwrap();
        let issued = issue(&TradeId::new("computer_repair").unwrap(), &id).expect("a code");
        assert!(doorstep_core::acceptance_code::well_formed(&issued.code));
        assert!(issued.check.matches(id.as_str(), &issued.code));
        assert!(issue(&TradeId::new("appliance_repair").unwrap(), &id).is_none());
    }

    #[test]
    fn codes_are_compared_whole() {
        assert!(same_code("482913", "482913"));
        assert!(!same_code("482913", "482914"));
        assert!(!same_code("482913", "48291"));
    }
}
