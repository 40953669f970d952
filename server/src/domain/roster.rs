//! The roster: technicians (trades, work phone), staff accounts' input
//! rules, and device enrolment.

use crate::app::AppState;
use crate::auth;
use crate::failure::{Failure, Fallible};
use crate::store::technicians::{self, TechnicianRow};
use crate::store::{devices, Tx};
use crate::time::now_ms;
use doorstep_core::{Playbook, TechnicianId, TradeId};
use serde::Deserialize;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewTechnician {
    #[schema(value_type = String)]
    pub id: TechnicianId,
    pub name: String,
    #[schema(value_type = Vec<String>)]
    pub trades: Vec<TradeId>,
    /// The company work phone given to customers (never a private number).
    #[serde(default)]
    pub phone: Option<String>,
}

/// Whether a trade is one of the shipped playbooks; the error lists them
/// (and does not repeat what was sent: a refusal names the field, never
/// echoes the value, which may be a customer's number typed in the wrong box).
pub fn known_trade(state: &AppState, trade: &TradeId) -> Result<(), String> {
    if state.playbook(trade.as_str()).is_some() {
        Ok(())
    } else {
        let mut known: Vec<&str> = Playbook::shipped().iter().map(|p| p.id.as_str()).collect();
        known.sort_unstable();
        let known = known.join(", ");
        Err(format!(
            "not a known trade; known trades: {known} / 不是已知的服务类型，可选：{known}。"
        ))
    }
}

/// Inserts a technician after checking the trades exist, the name is given
/// and the phone looks like a phone number.
pub async fn insert_technician(
    tx: &mut dyn Tx,
    state: &AppState,
    t: &NewTechnician,
) -> Fallible<()> {
    for (i, trade) in t.trades.iter().enumerate() {
        known_trade(state, trade).map_err(|e| Failure::field(&format!("trades[{i}]"), e))?;
    }
    if t.name.trim().is_empty() {
        return Err(Failure::field("name", "must not be empty"));
    }
    if let Some(p) = &t.phone {
        let digits = p.chars().filter(char::is_ascii_digit).count();
        let allowed = p
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ' | '(' | ')'));
        if !(5..=15).contains(&digits) || !allowed {
            return Err(Failure::field(
                "phone",
                "expected a phone number: 5-15 digits, with + - ( ) or spaces",
            ));
        }
    }
    let trades: Vec<String> = t.trades.iter().map(|t| t.to_string()).collect();
    technicians::insert_technician(
        tx,
        &TechnicianRow {
            id: t.id.as_str(),
            name: &t.name,
            trades: &trades,
            phone: t.phone.as_deref(),
        },
    )
    .await
}

/// Checks a new staff account's username and password.
pub fn check_new_user(username: &str, password: &str) -> Fallible<()> {
    if TechnicianId::new(username.to_string()).is_err() {
        return Err(Failure::field(
            "username",
            "expected 1-64 characters of A-Z a-z 0-9 - _ . :",
        ));
    }
    if password.chars().count() < 8 {
        return Err(Failure::field("password", "must be at least 8 characters"));
    }
    Ok(())
}

/// Enrols (or, with `rotate`, re-keys) a technician's device; returns its
/// token, shown once (only its hash is stored).
pub async fn enrol(
    tx: &mut dyn Tx,
    technician: &str,
    device: &str,
    rotate: bool,
    actor: &str,
) -> Fallible<String> {
    if !technicians::exists(tx, technician).await? {
        return Err(Failure::not_found("technician", technician));
    }
    let token = auth::new_token("d");
    let hash = auth::token_hash(&token);
    match devices::owner(tx, device).await? {
        Some(owner) if rotate && owner == technician => {
            devices::rekey_device(tx, device, &hash, actor, now_ms()).await?;
        }
        Some(_) => {
            return Err(Failure::conflict(
                "exists",
                format!("device {device} is already enrolled; send \"rotate\": true to give the same technician's device a new token"),
            ))
        }
        None => {
            devices::insert_device(tx, device, technician, &hash, actor, now_ms()).await?;
        }
    }
    Ok(token)
}
