//! The access log's writer (PIPL): which staff user was shown an order's
//! full contact, when and why. Called by the detail endpoints of both the
//! desk (`http::center`) and the after-the-visit screens (`http::after`), and
//! by the search, the customer history and the callbacks due for each order
//! they show.

use crate::app::AppState;
use crate::auth::Principal;
use crate::http::error::ApiResult;
use crate::store::personal_data as store;
use crate::time::now_ms;

/// Why a user was shown an order's full contact (the access log's purpose).
pub mod purpose {
    pub const ASSIGNMENT_DETAIL: &str = "assignment_detail";
    pub const VISIT_DETAIL: &str = "visit_detail";
    /// Found by a search (`/api/search`): each order on the answer.
    pub const SEARCH: &str = "search";
    /// A customer's history by phone (`/api/customers/history`).
    pub const CUSTOMER_HISTORY: &str = "customer_history";
    /// The callbacks due (`/api/callbacks`): who to call, each order listed.
    pub const CALLBACK: &str = "callback";
}

/// Records that a staff user was shown the order's full contact details
/// (a technician's device reading its own work is not logged).
pub async fn record_contact_view(
    state: &AppState,
    who: &Principal,
    assignment: &str,
    purpose: &'static str,
) -> ApiResult<()> {
    record_contact_views(state, who, vec![assignment.to_string()], purpose).await
}

/// [`record_contact_view`] for every order an answer showed (a search's or a
/// customer history's), in one transaction.
pub async fn record_contact_views(
    state: &AppState,
    who: &Principal,
    assignments: Vec<String>,
    purpose: &'static str,
) -> ApiResult<()> {
    let Principal::User { username, .. } = who else {
        return Ok(());
    };
    if assignments.is_empty() {
        return Ok(());
    }
    let (user, now) = (username.clone(), now_ms());
    state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                for order in &assignments {
                    store::record_access(tx, &user, now, order, purpose).await?;
                }
                Ok::<_, crate::failure::Failure>(())
            })
        })
        .await?;
    Ok(())
}
