//! `POST /api/export?format=csv|xlsx`: a table of the console, as the
//! dispatcher sees it, back as a CSV or Excel file to save.

use crate::domain::export::{self, ExportFormat, Table};
use crate::http::auth::Auth;
use crate::http::error::{ApiError, ApiJson, ApiQuery, ApiResult};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct ExportQuery {
    pub format: ExportFormat,
}

#[utoipa::path(
    post, path = "/api/export", tag = "center", security(("session" = [])),
    params(("format" = ExportFormat, Query, description = "`csv` or `xlsx`")),
    request_body = Table,
    responses((status = 200, description = "The table as a file to save (Content-Disposition names it)",
               content((String = "text/csv"), (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))))
)]
pub async fn export_table(
    Auth(who): Auth,
    ApiQuery(q): ApiQuery<ExportQuery>,
    ApiJson(table): ApiJson<Table>,
) -> ApiResult<Response> {
    who.dispatcher()?;
    export::check(&table)?;
    let name = export::file_name(&table.title, q.format);
    let (bytes, content_type) = match q.format {
        ExportFormat::Csv => (export::csv(&table), "text/csv; charset=utf-8"),
        ExportFormat::Xlsx => {
            let t = tokio::task::spawn_blocking(move || export::xlsx(&table))
                .await
                .map_err(|_| ApiError::internal("writing the Excel file"))??;
            (
                t,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
        }
    };
    let encoded: String = form_urlencoded::byte_serialize(name.as_bytes()).collect();
    let ascii = match q.format {
        ExportFormat::Csv => "export.csv",
        ExportFormat::Xlsx => "export.xlsx",
    };
    let disposition = format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        encoded.replace('+', "%20")
    );
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}
