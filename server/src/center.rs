//! The center (服务中心/调度): staff login, roster and device enrolment,
//! intake with classification (受理, seed 002), assignments and their change
//! log, and the 1-hour rule (001).
//!
//! Every change to an assignment's center-owned fields increments its
//! version and appends one row per affected technician to the change log,
//! whose sequence is the devices' download cursor. Writers take the
//! assignments lock so that sequence order is commit order: a device reading
//! up to a cursor can never miss a change that commits later with a smaller
//! number.

use crate::auth::{self, Auth, Principal, Role};
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::projection;
use crate::store::{LockKey, Row, Tx, Value};
use crate::{from_ms, now_ms, AppState};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use chrono::{DateTime, Duration, Utc};
use doorstep_core::assignment::{Customer, OrderLine, Product};
use doorstep_core::protocol::ChangeKind;
use doorstep_core::{Assignment, AssignmentId, TechnicianId, TimeWindow, TradeId};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json_};

// ---------------------------------------------------------------- health, login

pub async fn health(State(state): State<AppState>) -> Json<Json_> {
    Json(json!({ "ok": true, "backend": state.db.backend() }))
}

#[derive(Deserialize)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Serialize, Deserialize)]
pub struct LoginResponse {
    pub token: String,
    pub username: String,
    pub role: Role,
    pub expires_at: DateTime<Utc>,
}

pub async fn login(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    let username = req.username.clone();
    let stored = state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                tx.query_opt(
                    "SELECT password_hash, role FROM users WHERE username = $1",
                    &[username.into()],
                )
                .await
                .map_err(ApiError::from)
            })
        })
        .await?;
    let refused = || ApiError::unauthorized("wrong username or password");
    let row = stored.ok_or_else(refused)?;
    let (phc, role) = (
        row.text(0),
        Role::parse(&row.text(1)).unwrap_or(Role::Dispatcher),
    );
    let password = req.password;
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&password, &phc))
        .await
        .unwrap_or(false);
    if !ok {
        return Err(refused());
    }
    let token = auth::new_token("s");
    let now = now_ms();
    let expires = now + state.config.session_hours * 3_600_000;
    let (hash, username) = (auth::token_hash(&token), req.username.clone());
    state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                tx.execute(
                    "DELETE FROM sessions WHERE username = $1 AND expires_at <= $2",
                    &[username.clone().into(), now.into()],
                )
                .await?;
                tx.execute(
                    "INSERT INTO sessions (token_hash, username, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                    &[hash.into(), username.into(), now.into(), expires.into()],
                )
                .await
                .map_err(ApiError::from)
            })
        })
        .await?;
    tracing::info!(user = %req.username, "login");
    Ok(Json(LoginResponse {
        token,
        username: req.username,
        role,
        expires_at: from_ms(expires),
    }))
}

pub async fn logout(
    State(state): State<AppState>,
    Auth(_who): Auth,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .trim()
        .to_string();
    let hash = auth::token_hash(&token);
    state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                tx.execute("DELETE FROM sessions WHERE token_hash = $1", &[hash.into()])
                    .await
                    .map_err(ApiError::from)
            })
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn me(Auth(who): Auth) -> Json<Principal> {
    Json(who)
}

/// Creates a user; the password is hashed. Used by the admin endpoint,
/// first-run set-up and the demo.
pub async fn insert_user(
    tx: &mut dyn Tx,
    username: &str,
    password_hash: &str,
    role: Role,
) -> ApiResult<()> {
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
        Err(e) if e.is_unique() => Err(ApiError::conflict(
            "exists",
            format!("user {username:?} already exists; choose another username"),
        )),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct NewUser {
    pub username: String,
    pub password: String,
    pub role: Role,
}

pub async fn create_user(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiJson(req): ApiJson<NewUser>,
) -> ApiResult<(StatusCode, Json<Json_>)> {
    who.admin()?;
    if TechnicianId::new(req.username.clone()).is_err() {
        return Err(ApiError::field(
            "username",
            "expected 1-64 characters of A-Z a-z 0-9 - _ . :",
        ));
    }
    if req.password.chars().count() < 8 {
        return Err(ApiError::field("password", "must be at least 8 characters"));
    }
    let password = req.password.clone();
    let phc = tokio::task::spawn_blocking(move || auth::hash_password(&password))
        .await
        .map_err(|_| ApiError::internal("hashing the password"))?;
    let (username, role) = (req.username.clone(), req.role);
    state
        .db
        .tx(move |tx| Box::pin(async move { insert_user(tx, &username, &phc, role).await }))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "username": req.username, "role": req.role })),
    ))
}

// ---------------------------------------------------------------- roster, devices

#[derive(Deserialize)]
pub struct NewTechnician {
    pub id: TechnicianId,
    pub name: String,
    pub trades: Vec<TradeId>,
    /// The company work phone given to customers (never a private number).
    #[serde(default)]
    pub phone: Option<String>,
}

/// Inserts a technician after checking the trades exist.
pub async fn insert_technician(
    tx: &mut dyn Tx,
    state: &AppState,
    t: &NewTechnician,
) -> ApiResult<()> {
    for (i, trade) in t.trades.iter().enumerate() {
        known_trade(state, trade).map_err(|e| ApiError::field(&format!("trades[{i}]"), e))?;
    }
    if t.name.trim().is_empty() {
        return Err(ApiError::field("name", "must not be empty"));
    }
    if let Some(p) = &t.phone {
        let digits = p.chars().filter(char::is_ascii_digit).count();
        let allowed = p
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ' | '(' | ')'));
        if !(5..=15).contains(&digits) || !allowed {
            return Err(ApiError::field(
                "phone",
                "expected a phone number: 5-15 digits, with + - ( ) or spaces",
            ));
        }
    }
    let trades = serde_json::to_string(&t.trades).unwrap_or_else(|_| "[]".into());
    match tx
        .execute(
            "INSERT INTO technicians (id, name, trades, active, created_at, phone) VALUES ($1, $2, $3, 1, $4, $5)",
            &[t.id.as_str().into(), t.name.clone().into(), trades.into(), now_ms().into(), t.phone.clone().into()],
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.is_unique() => Err(ApiError::conflict(
            "exists",
            format!("technician {} already exists", t.id),
        )),
        Err(e) => Err(e.into()),
    }
}

pub async fn create_technician(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiJson(req): ApiJson<NewTechnician>,
) -> ApiResult<(StatusCode, Json<Json_>)> {
    who.dispatcher()?;
    let st = state.clone();
    let id = req.id.clone();
    state
        .db
        .tx(move |tx| Box::pin(async move { insert_technician(tx, &st, &req).await }))
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))))
}

fn known_trade(state: &AppState, trade: &TradeId) -> Result<(), String> {
    if state.playbook(trade.as_str()).is_some() {
        Ok(())
    } else {
        Err(format!(
            "unknown trade {trade}; known trades: {}",
            state
                .playbooks
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

#[derive(Serialize, Deserialize)]
pub struct TechnicianView {
    pub id: String,
    pub name: String,
    pub phone: Option<String>,
    pub trades: Vec<String>,
    pub active: bool,
    pub devices: i64,
    /// Assignments given to the technician and not yet finished.
    pub open_assignments: i64,
    /// Visits the technician closed today (UTC).
    pub closed_today: i64,
}

pub async fn roster(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> ApiResult<Json<Vec<TechnicianView>>> {
    who.dispatcher()?;
    let day_start = Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map(|d| d.and_utc().timestamp_millis())
        .unwrap_or(0);
    let rows = state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                tx.query(
                    "SELECT t.id, t.name, t.trades, t.active,
                        (SELECT COUNT(*) FROM devices d WHERE d.technician_id = t.id AND d.revoked_at IS NULL),
                        (SELECT COUNT(*) FROM assignments a WHERE a.technician_id = t.id AND a.status = 'assigned'),
                        (SELECT COUNT(*) FROM visits v WHERE v.technician_id = t.id AND v.closed_at >= $1),
                        t.phone
                     FROM technicians t ORDER BY t.id",
                    &[day_start.into()],
                )
                .await
                .map_err(ApiError::from)
            })
        })
        .await?;
    Ok(Json(
        rows.iter()
            .map(|r| TechnicianView {
                id: r.text(0),
                name: r.text(1),
                phone: r.opt_text(7),
                trades: serde_json::from_str(&r.text(2)).unwrap_or_default(),
                active: r.flag(3),
                devices: r.int(4),
                open_assignments: r.int(5),
                closed_today: r.int(6),
            })
            .collect(),
    ))
}

#[derive(Deserialize)]
pub struct EnrolRequest {
    pub device_id: doorstep_core::DeviceId,
    /// Re-enrol an existing device of the same technician with a new token
    /// (the old token stops working; its sync position is kept).
    #[serde(default)]
    pub rotate: bool,
}

#[derive(Serialize, Deserialize)]
pub struct EnrolResponse {
    pub device_id: String,
    pub technician_id: String,
    /// Shown once; only its hash is stored.
    pub token: String,
}

/// Enrols (or re-keys) a device; returns its token.
pub async fn enrol(
    tx: &mut dyn Tx,
    technician: &str,
    device: &str,
    rotate: bool,
    actor: &str,
) -> ApiResult<String> {
    if tx
        .query_opt(
            "SELECT 1 FROM technicians WHERE id = $1",
            &[technician.into()],
        )
        .await?
        .is_none()
    {
        return Err(ApiError::not_found("technician", technician));
    }
    let token = auth::new_token("d");
    let hash = auth::token_hash(&token);
    let existing = tx
        .query_opt(
            "SELECT technician_id FROM devices WHERE id = $1",
            &[device.into()],
        )
        .await?;
    match existing {
        Some(r) if rotate && r.text(0) == technician => {
            tx.execute(
                "UPDATE devices SET token_hash = $1, revoked_at = NULL, enrolled_by = $2, enrolled_at = $3 WHERE id = $4",
                &[hash.into(), actor.into(), now_ms().into(), device.into()],
            )
            .await?;
        }
        Some(_) => {
            return Err(ApiError::conflict(
                "exists",
                format!("device {device} is already enrolled; send \"rotate\": true to give the same technician's device a new token"),
            ))
        }
        None => {
            tx.execute(
                "INSERT INTO devices (id, technician_id, token_hash, enrolled_by, enrolled_at) VALUES ($1, $2, $3, $4, $5)",
                &[device.into(), technician.into(), hash.into(), actor.into(), now_ms().into()],
            )
            .await?;
        }
    }
    Ok(token)
}

pub async fn enrol_device(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(technician): Path<String>,
    ApiJson(req): ApiJson<EnrolRequest>,
) -> ApiResult<(StatusCode, Json<EnrolResponse>)> {
    let actor = who.dispatcher()?.to_string();
    let (t, d) = (technician.clone(), req.device_id.to_string());
    let token = state
        .db
        .tx(move |tx| Box::pin(async move { enrol(tx, &t, &d, req.rotate, &actor).await }))
        .await?;
    tracing::info!(technician = %technician, device = %req.device_id, "device enrolled");
    Ok((
        StatusCode::CREATED,
        Json(EnrolResponse {
            device_id: req.device_id.to_string(),
            technician_id: technician,
            token,
        }),
    ))
}

/// Revokes a device (lost or replaced phone): its token stops working at
/// once. Its stored events and sync position stay.
pub async fn revoke_device(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(device): Path<String>,
) -> ApiResult<StatusCode> {
    who.dispatcher()?;
    let key = device.clone();
    let changed = state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                tx.execute(
                    "UPDATE devices SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                    &[now_ms().into(), key.into()],
                )
                .await
                .map_err(ApiError::from)
            })
        })
        .await?;
    if changed == 0 {
        return Err(ApiError::not_found("enrolled device", &device));
    }
    tracing::info!(device = %device, "device revoked");
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- assignments

/// Intake classes (受理分类, seed 002).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Classification {
    /// Answered directly; no visit.
    Consultation,
    /// Dispatch now.
    Urgent,
    General,
    /// Dispatch order the same day.
    Complex,
    /// Repeat request or complaint: escalate.
    #[serde(alias = "repeat")]
    Complaint,
}

impl Classification {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Consultation => "consultation",
            Self::Urgent => "urgent",
            Self::General => "general",
            Self::Complex => "complex",
            Self::Complaint => "complaint",
        }
    }
    /// The dispatch priority this class gives.
    pub fn priority(self) -> &'static str {
        match self {
            Self::Urgent => "urgent",
            Self::Complaint => "escalated",
            Self::Complex => "same_day",
            Self::General | Self::Consultation => "normal",
        }
    }
}

/// An assignment with the center's bookkeeping.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AssignmentView {
    #[serde(flatten)]
    pub assignment: Assignment,
    /// `open` (no technician), `assigned`, `done`, `handed_back`, `cancelled`.
    pub status: String,
    pub priority: String,
    pub classification: String,
    /// A visit time is confirmed (by the center, or by the technician's call).
    pub window_confirmed: bool,
    pub cancel_reason: Option<String>,
    pub updated_at: DateTime<Utc>,
}

const ASSIGNMENT_COLUMNS: &str =
    "body, status, priority, classification, window_confirmed, cancel_reason, updated_at";

fn assignment_from_row(r: &Row) -> ApiResult<AssignmentView> {
    let assignment: Assignment = serde_json::from_str(&r.text(0)).map_err(|e| {
        tracing::error!(error = %e, "stored assignment does not parse");
        ApiError::internal("reading an assignment")
    })?;
    Ok(AssignmentView {
        assignment,
        status: r.text(1),
        priority: r.text(2),
        classification: r.text(3),
        window_confirmed: r.flag(4),
        cancel_reason: r.opt_text(5),
        updated_at: from_ms(r.int(6)),
    })
}

pub async fn load_assignment(tx: &mut dyn Tx, id: &str) -> ApiResult<Option<AssignmentView>> {
    let sql = format!("SELECT {ASSIGNMENT_COLUMNS} FROM assignments WHERE id = $1");
    match tx.query_opt(&sql, &[id.into()]).await? {
        Some(r) => Ok(Some(assignment_from_row(&r)?)),
        None => Ok(None),
    }
}

/// Writes the assignment row and appends its changes to the change log.
/// Call with the assignments lock held.
pub(crate) async fn store_assignment(
    tx: &mut dyn Tx,
    v: &AssignmentView,
    changes: &[(Option<String>, ChangeKind)],
    actor: &str,
    insert: bool,
) -> ApiResult<()> {
    let a = &v.assignment;
    let body = serde_json::to_string(a).map_err(|_| ApiError::internal("encoding"))?;
    let now = now_ms();
    let received = a.received_at.map_or(now, |t| t.timestamp_millis());
    let params: Vec<Value> = vec![
        a.id.as_str().into(),
        a.version.into(),
        a.trade.as_str().into(),
        a.technician.as_ref().map(|t| t.to_string()).into(),
        v.status.clone().into(),
        v.priority.clone().into(),
        v.classification.clone().into(),
        received.into(),
        v.window_confirmed.into(),
        v.cancel_reason.clone().into(),
        body.into(),
        now.into(),
    ];
    if insert {
        tx.execute(
            "INSERT INTO assignments (id, version, trade, technician_id, status, priority, classification,
                received_at, window_confirmed, cancel_reason, body, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            &params,
        )
        .await?;
    } else {
        tx.execute(
            "UPDATE assignments SET version = $2, trade = $3, technician_id = $4, status = $5, priority = $6,
                classification = $7, received_at = $8, window_confirmed = $9, cancel_reason = $10,
                body = $11, updated_at = $12
             WHERE id = $1",
            &params,
        )
        .await?;
    }
    if let Some(t) = &a.technician {
        tx.execute(
            "INSERT INTO assignment_holders (assignment_id, technician_id, since_version) VALUES ($1, $2, $3)
             ON CONFLICT (assignment_id, technician_id) DO NOTHING",
            &[a.id.as_str().into(), t.as_str().into(), a.version.into()],
        )
        .await?;
    }
    for (technician, change) in changes {
        let kind = match change {
            ChangeKind::Assignment { .. } => "assignment",
            ChangeKind::Cancelled { .. } => "cancelled",
            ChangeKind::Reassigned { .. } => "reassigned",
        };
        let payload = serde_json::to_string(change).map_err(|_| ApiError::internal("encoding"))?;
        tx.execute(
            "INSERT INTO assignment_changes (assignment_id, version, technician_id, kind, payload, at, actor)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                a.id.as_str().into(),
                a.version.into(),
                technician.clone().into(),
                kind.into(),
                payload.into(),
                now.into(),
                actor.into(),
            ],
        )
        .await?;
    }
    Ok(())
}

pub(crate) fn upsert_change(a: &Assignment) -> (Option<String>, ChangeKind) {
    (
        a.technician.as_ref().map(|t| t.to_string()),
        ChangeKind::Assignment {
            assignment: Box::new(a.clone()),
        },
    )
}

/// The fields of a new assignment.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct NewAssignment {
    pub trade: TradeId,
    #[serde(default)]
    pub customer: Customer,
    #[serde(default)]
    pub product: Product,
    #[serde(default)]
    pub fault_description: Option<String>,
    #[serde(default)]
    pub requested_window: Option<TimeWindow>,
    /// When the center received the request (default: now).
    #[serde(default)]
    pub received_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub order: Vec<OrderLine>,
    #[serde(default)]
    pub service_items: Vec<String>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub classification: Option<Classification>,
}

/// Creates an assignment with the next id of its day (`A-YYYYMMDD-NNNN`).
pub async fn insert_assignment(
    tx: &mut dyn Tx,
    state: &AppState,
    new: NewAssignment,
    actor: &str,
) -> ApiResult<AssignmentView> {
    known_trade(state, &new.trade).map_err(|e| ApiError::field("trade", e))?;
    if let Some(w) = &new.requested_window {
        if !w.is_valid() {
            return Err(ApiError::field(
                "requested_window",
                "the window ends before it starts; send start < end",
            ));
        }
    }
    tx.lock(LockKey::Assignments).await?;
    let received = new.received_at.unwrap_or_else(Utc::now);
    let prefix = format!("A-{}-", received.format("%Y%m%d"));
    let n = tx
        .query_opt(
            "SELECT COUNT(*) FROM assignments WHERE id LIKE $1",
            &[format!("{prefix}%").into()],
        )
        .await?
        .map_or(0, |r| r.int(0));
    let mut id = None;
    for k in n + 1.. {
        let candidate = format!("{prefix}{k:04}");
        if tx
            .query_opt(
                "SELECT 1 FROM assignments WHERE id = $1",
                &[candidate.clone().into()],
            )
            .await?
            .is_none()
        {
            id = Some(candidate);
            break;
        }
    }
    let id =
        AssignmentId::new(id.unwrap_or_default()).map_err(|_| ApiError::internal("numbering"))?;
    let classification = new.classification.unwrap_or(Classification::General);
    let view = AssignmentView {
        assignment: Assignment {
            id,
            version: 1,
            trade: new.trade,
            technician: None,
            customer: new.customer,
            product: new.product,
            fault_description: new.fault_description,
            requested_window: new.requested_window,
            received_at: Some(received),
            order: new.order,
            service_items: new.service_items,
            notes: new.notes,
        },
        status: "open".into(),
        priority: classification.priority().into(),
        classification: classification.as_str().into(),
        window_confirmed: false,
        cancel_reason: None,
        updated_at: Utc::now(),
    };
    let change = upsert_change(&view.assignment);
    store_assignment(tx, &view, &[change], actor, true).await?;
    Ok(view)
}

pub async fn create_assignment(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiJson(req): ApiJson<NewAssignment>,
) -> ApiResult<(StatusCode, Json<AssignmentView>)> {
    let actor = who.actor();
    who.dispatcher()?;
    let st = state.clone();
    let v = state
        .db
        .tx(move |tx| Box::pin(async move { insert_assignment(tx, &st, req, &actor).await }))
        .await?;
    Ok((StatusCode::CREATED, Json(v)))
}

#[derive(Deserialize)]
pub struct ListQuery {
    pub status: Option<String>,
    pub limit: Option<i64>,
}

pub async fn list_assignments(
    State(state): State<AppState>,
    Auth(who): Auth,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Vec<AssignmentView>>> {
    let technician = who.technician().map(str::to_string);
    let limit = q.limit.unwrap_or(500).clamp(1, 2000);
    let rows = state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                let sql = format!(
                    "SELECT {ASSIGNMENT_COLUMNS} FROM assignments
                     WHERE (CAST($1 AS TEXT) IS NULL OR technician_id = $1) AND (CAST($2 AS TEXT) IS NULL OR status = $2)
                     ORDER BY received_at DESC, id DESC LIMIT $3"
                );
                tx.query(&sql, &[technician.into(), q.status.into(), limit.into()])
                    .await
                    .map_err(ApiError::from)
            })
        })
        .await?;
    rows.iter()
        .map(assignment_from_row)
        .collect::<ApiResult<_>>()
        .map(Json)
}

pub async fn get_assignment(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<AssignmentView>> {
    let key = id.clone();
    let v = state
        .db
        .tx(move |tx| Box::pin(async move { load_assignment(tx, &key).await }))
        .await?
        .ok_or_else(|| ApiError::not_found("assignment", &id))?;
    if let Some(me) = who.technician() {
        if v.assignment.technician.as_ref().map(|t| t.as_str()) != Some(me) {
            return Err(ApiError::forbidden(format!(
                "assignment {id} is not assigned to technician {me}"
            )));
        }
    }
    Ok(Json(v))
}

/// Center-owned fields to change; absent fields stay as they are.
#[derive(Debug, Default, Deserialize)]
pub struct AssignmentPatch {
    /// Refuse the change (409) unless the assignment is at this version.
    pub expected_version: Option<u64>,
    pub customer: Option<Customer>,
    pub product: Option<Product>,
    pub fault_description: Option<String>,
    pub requested_window: Option<TimeWindow>,
    pub order: Option<Vec<OrderLine>>,
    pub service_items: Option<Vec<String>>,
    pub notes: Option<String>,
    /// The visit time is confirmed with the customer (1-hour rule).
    pub window_confirmed: Option<bool>,
}

async fn editable(tx: &mut dyn Tx, id: &str, expected: Option<u64>) -> ApiResult<AssignmentView> {
    tx.lock(LockKey::Assignments).await?;
    let v = load_assignment(tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("assignment", id))?;
    if let Some(e) = expected {
        if e != v.assignment.version {
            return Err(ApiError::conflict(
                "version_mismatch",
                format!(
                    "assignment {id} is at version {}, not {e}: reload it and apply the change again",
                    v.assignment.version
                ),
            )
            .with("current_version", v.assignment.version));
        }
    }
    if v.status == "cancelled" {
        return Err(ApiError::conflict(
            "cancelled",
            format!("assignment {id} is cancelled; create a new assignment instead"),
        ));
    }
    Ok(v)
}

pub async fn update_assignment(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<AssignmentPatch>,
) -> ApiResult<Json<AssignmentView>> {
    let actor = who.actor();
    who.dispatcher()?;
    if let Some(w) = &patch.requested_window {
        if !w.is_valid() {
            return Err(ApiError::field(
                "requested_window",
                "the window ends before it starts; send start < end",
            ));
        }
    }
    let v = state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                let mut v = editable(tx, &id, patch.expected_version).await?;
                let a = &mut v.assignment;
                let before = a.clone();
                if let Some(c) = patch.customer {
                    a.customer = c;
                }
                if let Some(p) = patch.product {
                    a.product = p;
                }
                if let Some(f) = patch.fault_description {
                    a.fault_description = Some(f);
                }
                if let Some(w) = patch.requested_window {
                    a.requested_window = Some(w);
                }
                if let Some(o) = patch.order {
                    a.order = o;
                }
                if let Some(s) = patch.service_items {
                    a.service_items = s;
                }
                if let Some(n) = patch.notes {
                    a.notes = Some(n);
                }
                let changed = *a != before;
                if changed {
                    a.version += 1;
                }
                let confirm_changed = patch
                    .window_confirmed
                    .is_some_and(|c| c != v.window_confirmed);
                if let Some(c) = patch.window_confirmed {
                    v.window_confirmed = c;
                }
                if changed || confirm_changed {
                    let changes = if changed {
                        vec![upsert_change(&v.assignment)]
                    } else {
                        vec![]
                    };
                    store_assignment(tx, &v, &changes, &actor, false).await?;
                }
                Ok::<_, ApiError>(v)
            })
        })
        .await?;
    Ok(Json(v))
}

#[derive(Debug, Deserialize)]
pub struct AssignRequest {
    pub technician: TechnicianId,
    #[serde(default)]
    pub window_confirmed: Option<bool>,
    #[serde(default)]
    pub expected_version: Option<u64>,
}

async fn qualified(tx: &mut dyn Tx, technician: &str, trade: &str) -> ApiResult<()> {
    let row = tx
        .query_opt(
            "SELECT trades, active FROM technicians WHERE id = $1",
            &[technician.into()],
        )
        .await?
        .ok_or_else(|| ApiError::not_found("technician", technician))?;
    let trades: Vec<String> = serde_json::from_str(&row.text(0)).unwrap_or_default();
    if !row.flag(1) {
        return Err(ApiError::conflict(
            "inactive",
            format!("technician {technician} is not active"),
        ));
    }
    if !trades.iter().any(|t| t == trade) {
        return Err(ApiError::conflict(
            "not_qualified",
            format!(
                "technician {technician} does not work in trade {trade} (their trades: {})",
                trades.join(", ")
            ),
        ));
    }
    Ok(())
}

/// Assigns an open assignment (push to a technician).
pub async fn assign_tx(
    tx: &mut dyn Tx,
    id: &str,
    req: &AssignRequest,
    actor: &str,
) -> ApiResult<AssignmentView> {
    let mut v = editable(tx, id, req.expected_version).await?;
    if let Some(current) = &v.assignment.technician {
        if current != &req.technician {
            return Err(ApiError::conflict(
                "already_assigned",
                format!(
                    "assignment {id} is assigned to {current}; use /reassign to change technician"
                ),
            ));
        }
    }
    qualified(tx, req.technician.as_str(), v.assignment.trade.as_str()).await?;
    if v.assignment.technician.is_none() {
        v.assignment.technician = Some(req.technician.clone());
        v.assignment.version += 1;
        v.status = "assigned".into();
    }
    if let Some(c) = req.window_confirmed {
        v.window_confirmed = c;
    }
    let change = upsert_change(&v.assignment);
    store_assignment(tx, &v, &[change], actor, false).await?;
    Ok(v)
}

pub async fn assign(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<AssignRequest>,
) -> ApiResult<Json<AssignmentView>> {
    let actor = who.actor();
    who.dispatcher()?;
    let v = state
        .db
        .tx(move |tx| Box::pin(async move { assign_tx(tx, &id, &req, &actor).await }))
        .await?;
    Ok(Json(v))
}

/// Gives an assigned assignment to another technician. The old technician's
/// device is told (`reassigned`), the new one receives the assignment; a visit
/// the old technician already started is kept and marked `conflict`.
pub async fn reassign_tx(
    tx: &mut dyn Tx,
    state: &AppState,
    id: &str,
    req: &AssignRequest,
    actor: &str,
) -> ApiResult<AssignmentView> {
    let mut v = editable(tx, id, req.expected_version).await?;
    let Some(old) = v.assignment.technician.clone() else {
        return Err(ApiError::conflict(
            "not_assigned",
            format!("assignment {id} has no technician yet; use /assign"),
        ));
    };
    if old == req.technician {
        return Err(ApiError::conflict(
            "same_technician",
            format!("assignment {id} is already assigned to {old}"),
        ));
    }
    qualified(tx, req.technician.as_str(), v.assignment.trade.as_str()).await?;
    v.assignment.version += 1;
    v.assignment.technician = Some(req.technician.clone());
    v.status = "assigned".into();
    v.window_confirmed = req.window_confirmed.unwrap_or(false);
    let changes = vec![
        (
            Some(old.to_string()),
            ChangeKind::Reassigned {
                assignment_id: v.assignment.id.clone(),
                version: v.assignment.version,
                to: req.technician.clone(),
            },
        ),
        upsert_change(&v.assignment),
    ];
    store_assignment(tx, &v, &changes, actor, false).await?;
    projection::reproject_assignment(tx, state, id).await?;
    Ok(v)
}

pub async fn reassign(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<AssignRequest>,
) -> ApiResult<Json<AssignmentView>> {
    let actor = who.actor();
    who.dispatcher()?;
    let st = state.clone();
    let v = state
        .db
        .tx(move |tx| Box::pin(async move { reassign_tx(tx, &st, &id, &req, &actor).await }))
        .await?;
    Ok(Json(v))
}

#[derive(Debug, Deserialize)]
pub struct CancelRequest {
    pub reason: String,
    #[serde(default)]
    pub expected_version: Option<u64>,
}

pub async fn cancel_tx(
    tx: &mut dyn Tx,
    state: &AppState,
    id: &str,
    req: &CancelRequest,
    actor: &str,
) -> ApiResult<AssignmentView> {
    if req.reason.trim().is_empty() {
        return Err(ApiError::field(
            "reason",
            "say why the assignment is cancelled",
        ));
    }
    let mut v = editable(tx, id, req.expected_version).await?;
    v.assignment.version += 1;
    v.status = "cancelled".into();
    v.cancel_reason = Some(req.reason.clone());
    let change = (
        v.assignment.technician.as_ref().map(|t| t.to_string()),
        ChangeKind::Cancelled {
            assignment_id: v.assignment.id.clone(),
            version: v.assignment.version,
            reason: req.reason.clone(),
        },
    );
    store_assignment(tx, &v, &[change], actor, false).await?;
    projection::reproject_assignment(tx, state, id).await?;
    Ok(v)
}

pub async fn cancel(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<CancelRequest>,
) -> ApiResult<Json<AssignmentView>> {
    let actor = who.actor();
    who.dispatcher()?;
    let st = state.clone();
    let v = state
        .db
        .tx(move |tx| Box::pin(async move { cancel_tx(tx, &st, &id, &req, &actor).await }))
        .await?;
    Ok(Json(v))
}

// ---------------------------------------------------------------- intake

/// A request as the desk takes it.
#[derive(Debug, Deserialize)]
pub struct IntakeRequest {
    pub classification: Classification,
    /// Caller name, phone, address (and location if known).
    pub caller: Customer,
    /// What the caller asked or reported.
    pub content: String,
    /// Required unless the request is a consultation.
    #[serde(default)]
    pub trade: Option<TradeId>,
    #[serde(default)]
    pub product: Product,
    #[serde(default)]
    pub requested_window: Option<TimeWindow>,
    /// When the call came in (default: now).
    #[serde(default)]
    pub received_at: Option<DateTime<Utc>>,
    /// A consultation's answer, given directly.
    #[serde(default)]
    pub answer: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct IntakeView {
    pub id: String,
    pub classification: Classification,
    pub received_at: DateTime<Utc>,
    pub escalated: bool,
    pub answer: Option<String>,
    pub assignment_id: Option<String>,
    /// Complex requests: dispatch by the end of the day they came in.
    pub dispatch_by: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct IntakeResponse {
    pub intake: IntakeView,
    pub assignment: Option<AssignmentView>,
}

pub async fn intake(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiJson(req): ApiJson<IntakeRequest>,
) -> ApiResult<(StatusCode, Json<IntakeResponse>)> {
    let actor = who.actor();
    who.dispatcher()?;
    if req.content.trim().is_empty() {
        return Err(ApiError::field(
            "content",
            "record what the caller asked or reported",
        ));
    }
    let c = req.classification;
    if c == Classification::Consultation
        && req.answer.as_deref().is_none_or(|a| a.trim().is_empty())
    {
        return Err(ApiError::field(
            "answer",
            "a consultation is answered directly: record the answer given",
        ));
    }
    if matches!(
        c,
        Classification::Urgent | Classification::General | Classification::Complex
    ) && req.trade.is_none()
    {
        return Err(ApiError::field(
            "trade",
            "a repair request needs the trade to dispatch to",
        ));
    }
    let st = state.clone();
    let resp = state
        .db
        .tx(move |tx| Box::pin(async move { intake_tx(tx, &st, req, &actor).await }))
        .await?;
    Ok((StatusCode::CREATED, Json(resp)))
}

pub async fn intake_tx(
    tx: &mut dyn Tx,
    state: &AppState,
    req: IntakeRequest,
    actor: &str,
) -> ApiResult<IntakeResponse> {
    let received = req.received_at.unwrap_or_else(Utc::now);
    let c = req.classification;
    let assignment = match (&req.trade, c) {
        (Some(trade), c) if c != Classification::Consultation => Some(
            insert_assignment(
                tx,
                state,
                NewAssignment {
                    trade: trade.clone(),
                    customer: req.caller.clone(),
                    product: req.product.clone(),
                    fault_description: Some(req.content.clone()),
                    requested_window: req.requested_window,
                    received_at: Some(received),
                    order: vec![],
                    service_items: vec![],
                    notes: None,
                    classification: Some(c),
                },
                actor,
            )
            .await?,
        ),
        _ => None,
    };
    let id = format!("I-{}", uuid::Uuid::now_v7().simple());
    let escalated = c == Classification::Complaint;
    let caller = serde_json::to_string(&req.caller).map_err(|_| ApiError::internal("encoding"))?;
    let assignment_id = assignment.as_ref().map(|a| a.assignment.id.to_string());
    tx.execute(
        "INSERT INTO intakes (id, classification, received_at, caller, content, answer, assignment_id, escalated, recorded_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            id.clone().into(),
            c.as_str().into(),
            received.timestamp_millis().into(),
            caller.into(),
            req.content.into(),
            req.answer.clone().into(),
            assignment_id.clone().into(),
            escalated.into(),
            actor.into(),
        ],
    )
    .await?;
    let dispatch_by = (c == Classification::Complex).then(|| {
        received
            .date_naive()
            .and_hms_opt(23, 59, 59)
            .map_or(received, |d| d.and_utc())
    });
    Ok(IntakeResponse {
        intake: IntakeView {
            id,
            classification: c,
            received_at: received,
            escalated,
            answer: req.answer,
            assignment_id,
            dispatch_by,
        },
        assignment,
    })
}

#[derive(Deserialize)]
pub struct IntakeQuery {
    pub escalated: Option<bool>,
}

pub async fn list_intakes(
    State(state): State<AppState>,
    Auth(who): Auth,
    Query(q): Query<IntakeQuery>,
) -> ApiResult<Json<Vec<Json_>>> {
    who.dispatcher()?;
    let rows = state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                tx.query(
                    "SELECT id, classification, received_at, content, answer, assignment_id, escalated
                     FROM intakes WHERE (CAST($1 AS BIGINT) IS NULL OR escalated = $1) ORDER BY received_at DESC LIMIT 500",
                    &[q.escalated.into()],
                )
                .await
                .map_err(ApiError::from)
            })
        })
        .await?;
    Ok(Json(
        rows.iter()
            .map(|r| {
                json!({
                    "id": r.text(0), "classification": r.text(1), "received_at": from_ms(r.int(2)),
                    "content": r.text(3), "answer": r.opt_text(4), "assignment_id": r.opt_text(5),
                    "escalated": r.flag(6),
                })
            })
            .collect(),
    ))
}

// ---------------------------------------------------------------- 1-hour rule

/// An overdue assignment (催办).
#[derive(Debug, Serialize, Deserialize)]
pub struct Reminder {
    pub assignment_id: String,
    pub trade: String,
    pub priority: String,
    pub status: String,
    pub technician: Option<String>,
    pub received_at: DateTime<Utc>,
    pub overdue_minutes: i64,
    /// `reminder` after 1 h; `escalate` after 2 h.
    pub level: String,
    /// What is still missing: `technician`, `confirmed_window`,
    /// `technician_phone` (the technician has no work phone on record).
    pub missing: Vec<String>,
}

/// 001: the branch must set the visit time, technician id and phone within
/// one hour of receiving the order; overdue orders get reminder notices and
/// escalate. (The phone is the technician's work phone on the roster.)
pub fn reminder_for(
    v: &AssignmentView,
    technician: Option<String>,
    technician_has_phone: bool,
    received_ms: i64,
    now: DateTime<Utc>,
) -> Option<Reminder> {
    let deadline = from_ms(received_ms) + Duration::hours(1);
    let mut missing = vec![];
    if technician.is_none() {
        missing.push("technician".to_string());
    } else if !technician_has_phone {
        missing.push("technician_phone".to_string());
    }
    if !v.window_confirmed {
        missing.push("confirmed_window".to_string());
    }
    if missing.is_empty() || now < deadline {
        return None;
    }
    let overdue = (now - deadline).num_minutes();
    Some(Reminder {
        assignment_id: v.assignment.id.to_string(),
        trade: v.assignment.trade.to_string(),
        priority: v.priority.clone(),
        status: v.status.clone(),
        technician,
        received_at: from_ms(received_ms),
        overdue_minutes: overdue,
        level: if overdue >= 60 {
            "escalate"
        } else {
            "reminder"
        }
        .into(),
        missing,
    })
}

pub async fn reminders(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> ApiResult<Json<Vec<Reminder>>> {
    who.dispatcher()?;
    let cutoff = now_ms() - 3_600_000;
    let rows = state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                let sql =
                    "SELECT a.body, a.status, a.priority, a.classification, a.window_confirmed,
                        a.cancel_reason, a.updated_at, a.technician_id, a.received_at, t.phone
                     FROM assignments a LEFT JOIN technicians t ON t.id = a.technician_id
                     WHERE a.status IN ('open', 'assigned', 'handed_back') AND a.received_at <= $1
                       AND (a.technician_id IS NULL OR a.window_confirmed = 0 OR t.phone IS NULL)
                     ORDER BY a.received_at";
                tx.query(sql, &[cutoff.into()])
                    .await
                    .map_err(ApiError::from)
            })
        })
        .await?;
    let now = Utc::now();
    let mut out = vec![];
    for r in &rows {
        let v = assignment_from_row(r)?;
        let has_phone = r.opt_text(9).is_some();
        if let Some(rem) = reminder_for(&v, r.opt_text(7), has_phone, r.int(8), now) {
            out.push(rem);
        }
    }
    Ok(Json(out))
}
