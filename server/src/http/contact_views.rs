//! The access log's writer (PIPL): which staff user was shown an order's
//! full contact, when and why. Called by the detail endpoints of both the
//! desk (`http::center`) and the after-the-visit screens (`http::after`).

use crate::app::AppState;
use crate::auth::Principal;
use crate::http::error::ApiResult;
use crate::store::personal_data as store;
use crate::time::now_ms;

/// Why a user was shown an order's full contact (the access log's purpose).
pub mod purpose {
    pub const ASSIGNMENT_DETAIL: &str = "assignment_detail";
    pub const VISIT_DETAIL: &str = "visit_detail";
}

/// Records that a staff user was shown the order's full contact details
/// (a technician's device reading its own work is not logged).
pub async fn record_contact_view(
    state: &AppState,
    who: &Principal,
    assignment: &str,
    purpose: &'static str,
) -> ApiResult<()> {
    let Principal::User { username, .. } = who else {
        return Ok(());
    };
    let (user, order, now) = (username.clone(), assignment.to_string(), now_ms());
    state
        .db
        .tx(move |tx| {
            Box::pin(async move { store::record_access(tx, &user, now, &order, purpose).await })
        })
        .await?;
    Ok(())
}
