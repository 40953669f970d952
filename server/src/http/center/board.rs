//! What the dispatch board, the technician picker and the map read:
//! `GET /api/board` (one business day's orders, the orders waiting for a
//! technician, and their visits), `GET /api/assignments/{id}/candidates`
//! (ranked by [`crate::domain::candidates`]), `GET /api/positions`
//! (technicians' last known WGS-84 positions from their phones' location
//! facts) and `GET /api/map` (the map's tile source, [`crate::map_tiles`]).

use crate::app::AppState;
use crate::domain::candidates::{rank, Booking, Candidate, Job, TechnicianDay};
use crate::failure::Failure;
use crate::http::after::display::LabelledVisit;
use crate::http::auth::Auth;
use crate::http::center::assignments::ListedAssignment;
use crate::http::error::{ApiError, ApiQuery, ApiResult};
use crate::map_tiles::MapSettings;
use crate::model::AssignmentStatus;
use crate::store::positions::{last_positions, LastPosition, LAST_KNOWN_DAYS};
use crate::store::{assignments, technicians, visits};
use axum::extract::{Path, State};
use axum::Json;
use chrono::{Duration, NaiveDate, Utc};
use doorstep_core::assignment::TimeWindow;
use doorstep_core::location::GeoPoint;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

#[derive(Serialize, utoipa::ToSchema)]
pub struct CandidatesView {
    pub assignment_id: String,
    pub trade: String,
    pub requested_window: Option<TimeWindow>,
    pub candidates: Vec<Candidate>,
}

/// At most this many orders of each waiting status are on the board's side list.
const WAITING_LIMIT: i64 = 2_000;

#[derive(Deserialize)]
pub struct BoardQuery {
    /// The business day (default: today in the business time zone).
    pub day: Option<NaiveDate>,
}

/// One business day of the dispatch board.
#[derive(Serialize, utoipa::ToSchema)]
pub struct BoardView {
    /// The business day shown, `YYYY-MM-DD`.
    #[schema(value_type = String)]
    pub day: NaiveDate,
    /// The orders whose requested window overlaps the day (any status),
    /// then those waiting for a technician (open or handed back) whatever
    /// their window, each once; customer phones masked.
    pub assignments: Vec<ListedAssignment>,
    /// The visits of those orders.
    pub visits: Vec<LabelledVisit>,
}

#[utoipa::path(
    get, path = "/api/board", tag = "center", security(("session" = [])),
    params(("day" = Option<String>, Query, description = "The business day, YYYY-MM-DD (default: today in the business time zone)")),
    responses((status = 200, description = "The day's orders (window overlapping the day, any status), the orders waiting for a technician, and their visits", body = BoardView))
)]
pub async fn board(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiQuery(q): ApiQuery<BoardQuery>,
) -> ApiResult<Json<BoardView>> {
    who.dispatcher()?;
    let day = q.day.unwrap_or_else(|| state.zone.date_of(Utc::now()));
    let (start, end) = state.zone.day_bounds(day);
    let (orders, visits, names) = state
        .db
        .read(move |tx| {
            Box::pin(async move {
                let mut orders =
                    assignments::on_day(tx, start.timestamp_millis(), end.timestamp_millis())
                        .await?;
                let mut listed: HashSet<String> =
                    orders.iter().map(|o| o.assignment.id.to_string()).collect();
                for waiting in [AssignmentStatus::Open, AssignmentStatus::HandedBack] {
                    let more = assignments::list_assignments(
                        tx,
                        None,
                        Some(waiting.as_str().into()),
                        WAITING_LIMIT,
                    )
                    .await?;
                    orders.extend(
                        more.into_iter()
                            .filter(|m| listed.insert(m.assignment.id.to_string())),
                    );
                }
                let ids: Vec<String> = orders.iter().map(|o| o.assignment.id.to_string()).collect();
                let visits = visits::of_assignments(tx, &ids).await?;
                Ok::<_, Failure>((orders, visits, technicians::names(tx).await?))
            })
        })
        .await?;
    Ok(Json(BoardView {
        day,
        assignments: orders
            .into_iter()
            .map(|a| ListedAssignment::for_staff(a, &names))
            .collect(),
        visits: visits
            .into_iter()
            .map(|v| LabelledVisit::named(v, &names))
            .collect(),
    }))
}

#[utoipa::path(
    get, path = "/api/assignments/{id}/candidates", tag = "center", security(("session" = [])),
    params(("id" = String, Path, description = "The assignment's id")),
    responses((status = 200, description = "Technicians ranked for the job: trade, workload, free time around the window, distance", body = CandidatesView))
)]
pub async fn candidates(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<CandidatesView>> {
    who.dispatcher()?;
    let zone = state.zone.clone();
    let key = id.clone();
    let since = (Utc::now() - Duration::days(LAST_KNOWN_DAYS)).timestamp_millis();
    let today = super::roster::start_of_today(&state.zone);
    let read = state
        .db
        .read(move |tx| {
            Box::pin(async move {
                let Some(job) = assignments::load_assignment(tx, &key).await? else {
                    return Ok::<_, Failure>(None);
                };
                // The job's business day: its window's, else today.
                let window = job.assignment.requested_window.map(|w| w.start);
                let (day_start, day_end) =
                    zone.day_bounds(zone.date_of(window.unwrap_or_else(Utc::now)));
                let roster = technicians::roster(tx, today).await?;
                let booked = assignments::on_day(
                    tx,
                    day_start.timestamp_millis(),
                    day_end.timestamp_millis(),
                )
                .await?;
                let positions = last_positions(tx, since).await?;
                Ok(Some((job, roster, booked, positions)))
            })
        })
        .await?;
    let (job, roster, booked, positions) =
        read.ok_or_else(|| ApiError::not_found("assignment", &id))?;
    let a = &job.assignment;
    let window = a.requested_window.as_ref().map(|w| (w.start, w.end));
    let technicians: Vec<TechnicianDay> = roster
        .into_iter()
        .map(|t| {
            let bookings = booked
                .iter()
                .filter(|o| {
                    matches!(
                        o.status,
                        AssignmentStatus::Assigned | AssignmentStatus::Done
                    ) && o.assignment.technician.as_ref().map(|x| x.as_str()) == Some(&t.id)
                })
                .filter_map(|o| {
                    let w = o.assignment.requested_window.as_ref()?;
                    Some(Booking {
                        assignment_id: o.assignment.id.to_string(),
                        start: w.start,
                        end: w.end,
                    })
                })
                .collect();
            let position = positions.get(&t.id).map(|p| GeoPoint {
                lat: p.lat,
                lon: p.lon,
            });
            TechnicianDay {
                id: t.id,
                name: t.name,
                trades: t.trades,
                active: t.active,
                bookings,
                position,
            }
        })
        .collect();
    let ranked = rank(
        &Job {
            assignment_id: a.id.as_str(),
            trade: a.trade.as_str(),
            window,
            location: a.customer.location,
        },
        &technicians,
    );
    Ok(Json(CandidatesView {
        assignment_id: a.id.to_string(),
        trade: a.trade.to_string(),
        requested_window: a.requested_window,
        candidates: ranked,
    }))
}

/// A technician's last known position, with the name the map shows.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PositionView {
    #[serde(flatten)]
    pub position: LastPosition,
    pub name: String,
}

#[utoipa::path(
    get, path = "/api/positions", tag = "center", security(("session" = [])),
    responses((status = 200, description = "Technicians' last known positions (WGS-84, at most two days old)", body = Vec<PositionView>))
)]
pub async fn positions(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> ApiResult<Json<Vec<PositionView>>> {
    who.dispatcher()?;
    let since = (Utc::now() - Duration::days(LAST_KNOWN_DAYS)).timestamp_millis();
    let today = super::roster::start_of_today(&state.zone);
    let (roster, positions) = state
        .db
        .read(move |tx| {
            Box::pin(async move {
                Ok::<_, Failure>((
                    technicians::roster(tx, today).await?,
                    last_positions(tx, since).await?,
                ))
            })
        })
        .await?;
    Ok(Json(
        roster
            .into_iter()
            .filter_map(|t| {
                positions.get(&t.id).map(|p| PositionView {
                    position: p.clone(),
                    name: t.name,
                })
            })
            .collect(),
    ))
}

#[utoipa::path(
    get, path = "/api/map", tag = "center", security(("session" = [])),
    responses((status = 200, description = "The map's tile source", body = MapSettings))
)]
pub async fn map_settings(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> ApiResult<Json<MapSettings>> {
    who.dispatcher()?;
    let c = &state.config;
    Ok(Json(MapSettings {
        tiles: c.map_tiles.clone(),
        system: c.map_tiles_system.clone(),
        subdomains: c.map_tiles_subdomains.clone(),
        attribution: c.map_attribution.clone(),
    }))
}
