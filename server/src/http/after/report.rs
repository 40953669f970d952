//! The service report over HTTP: the dispatcher's PDF and HTML of a closed
//! visit (`/api/visits/{id}/report.pdf`, `.html`, `?lang=zh-CN|en`), its
//! customer link (`/api/visits/{id}/report-link`: POST creates, GET shows
//! the latest), the signature as SVG (`/api/visits/{id}/signature.svg`),
//! and the public pages — the customer's report `/r/{token}`
//! (with `/r/{token}/report.pdf` and its photos `/r/{token}/photos/{sha256}`)
//! and the verification page
//! `/v/{visit}/{digest}` the QR code opens.

use crate::app::AppState;
use crate::domain::projection::replay;
use crate::failure::Fallible;
use crate::http::after::photos::blob_response;
use crate::http::auth::Auth;
use crate::http::error::{ApiError, ApiQuery, ApiResult};
use crate::http::sync_blobs::checked_digest;
use crate::report::document::{gather, signed_strokes, ReportDocument};
use crate::report::html::{render_html, render_notice, PageLinks};
use crate::report::links::{self, CreatedLink, LinkLookup, LinkStatus};
use crate::report::pdf::{render_pdf, PdfError};
use crate::report::renditions;
use crate::report::signature::signature_svg;
use crate::report::verify::Verification;
use crate::store::visits;
use crate::time::now_ms;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::FixedOffset;
use doorstep_core::canonical::sha256_hex;
use doorstep_core::messages::Lang;
use doorstep_core::photos::content_type_of;
use doorstep_core::VisitState;
use serde::Deserialize;
use serde_json::{json, Value};

/// `?lang=` of the report endpoints.
#[derive(Deserialize)]
pub struct LangQuery {
    pub lang: Option<String>,
}

/// The requested language: `?lang=` if given (zh, zh-CN or en), else the
/// first language of `Accept-Language`, else Chinese.
fn language(query: &LangQuery, headers: &HeaderMap) -> ApiResult<Lang> {
    if let Some(l) = &query.lang {
        return match l.to_ascii_lowercase().as_str() {
            "zh" | "zh-cn" => Ok(Lang::ZhCn),
            "en" => Ok(Lang::En),
            _ => Err(ApiError::field(
                "lang",
                format!("{l:?} is not a report language: use zh-CN or en / 报告语言只能是 zh-CN 或 en。"),
            )),
        };
    }
    let first = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .unwrap_or("zh-CN");
    Ok(Lang::from_tag(first.trim()))
}

/// Where customers reach this server: `--public-url`, else the request's host.
fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.config.public_url {
        return url.trim_end_matches('/').to_string();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// Reports print times in the business time zone (`--business-time-zone`),
/// at its offset of today.
fn offset(state: &AppState) -> FixedOffset {
    state.zone.offset_at(chrono::Utc::now())
}

async fn load(state: &AppState, visit_id: String, base: String) -> ApiResult<ReportDocument> {
    let company = state.config.company_name.clone();
    let shelf = state.playbooks.clone();
    Ok(state
        .db
        .tx(move |tx| {
            Box::pin(async move { gather(tx, &shelf, &visit_id, company.as_deref(), &base).await })
        })
        .await?)
}

fn pdf_failure(e: PdfError) -> ApiError {
    match e {
        PdfError::FontMissing(m) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "report_font_missing",
            format!(
                "no CJK font is installed on the server (searched {}): install Debian's fonts-noto-cjk or point --report-font-dirs at a Chinese font / 服务器没有安装中文字体（已查找：{}）：请安装 Debian 软件包 fonts-noto-cjk，或用 --report-font-dirs 指定中文字体所在目录。",
                m.searched.join(", "),
                m.searched.join("、")
            ),
        )
        .with("searched", m.searched),
        PdfError::Typeset(reason) => {
            tracing::error!(%reason, "report typesetting failed");
            ApiError::internal("typesetting the report")
        }
    }
}

/// Typesetting is CPU-bound: at most two PDFs are made at once, so a burst
/// of downloads queues instead of starving sync on a 2-core server.
static TYPESETTING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// The bytes the report embeds for its photos, in its order (each photo's
/// report rendition, `report::renditions`, read as kept when there is one):
/// None for a photo that has not
/// reached the server, or whose file is missing or no longer hashes to the
/// digest the customer signed (printing other bytes than those signed would
/// misrepresent the record; the report says the photo cannot be shown).
async fn photo_bytes(state: &AppState, doc: &ReportDocument) -> Vec<Option<Vec<u8>>> {
    let mut out = Vec::with_capacity(doc.photos.len());
    for p in &doc.photos {
        if !p.stored {
            out.push(None);
            continue;
        }
        // A kept rendition was made from the verified bytes: no need to read
        // and hash a camera-sized original on every report.
        let (blobs, digest) = (state.blobs.clone(), p.digest.clone());
        if let Ok(Some(copy)) =
            tokio::task::spawn_blocking(move || renditions::kept(&blobs, &digest)).await
        {
            out.push(Some(copy));
            continue;
        }
        let bytes = state.blobs.store().read(&p.digest).await.ok().flatten();
        let Some(whole) = bytes
            .filter(|b| sha256_hex(b) == p.digest)
            .map(|b| b.to_vec())
        else {
            tracing::error!(digest = %p.digest, visit = %doc.visit_id, "a stored photo is missing or does not match its digest");
            out.push(None);
            continue;
        };
        let (blobs, digest) = (state.blobs.clone(), p.digest.clone());
        let copy =
            tokio::task::spawn_blocking(move || renditions::report_copy(&blobs, &digest, whole))
                .await
                .ok();
        out.push(copy);
    }
    out
}

/// The photos as `data:` URIs, for the console's self-contained page.
fn inline_photos(photos: Vec<Option<Vec<u8>>>) -> Vec<Option<String>> {
    use base64::Engine as _;
    photos
        .into_iter()
        .map(|bytes| {
            let bytes = bytes?;
            let content_type = content_type_of(&bytes);
            content_type.starts_with("image/").then(|| {
                format!(
                    "data:{content_type};base64,{}",
                    base64::engine::general_purpose::STANDARD.encode(&bytes)
                )
            })
        })
        .collect()
}

/// The report document rendered as a PDF response.
async fn pdf_response(state: &AppState, doc: ReportDocument, lang: Lang) -> ApiResult<Response> {
    let view = doc.view(lang, offset(state));
    let photos = photo_bytes(state, &doc).await;
    let dirs = state.config.report_font_dirs.clone();
    let _turn = TYPESETTING
        .acquire()
        .await
        .map_err(|_| ApiError::internal("typesetting the report"))?;
    let bytes = tokio::task::spawn_blocking(move || render_pdf(&view, &photos, &dirs))
        .await
        .map_err(|_| ApiError::internal("typesetting the report"))?
        .map_err(pdf_failure)?;
    let name = format!(
        "service-report-{}-{}.pdf",
        doc.state
            .assignment
            .as_ref()
            .map_or_else(|| doc.visit_id.clone(), |a| a.id.to_string()),
        if lang == Lang::En { "en" } else { "zh-CN" }
    );
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response())
}

fn html_response(status: StatusCode, html: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        html,
    )
        .into_response()
}

fn lang_tag(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "en",
        Lang::ZhCn => "zh-CN",
    }
}

/// `GET /api/visits/{id}/report.pdf`
#[utoipa::path(
    get, path = "/api/visits/{id}/report.pdf", tag = "after", security(("session" = [])),
    params(("id" = String, Path, description = "The visit's id"), ("lang" = Option<String>, Query, description = "`zh-CN` or `en` (default: Accept-Language, else zh-CN)")),
    responses((status = 200, description = "The service report", content_type = "application/pdf", body = String))
)]
pub async fn visit_report_pdf(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<LangQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    who.dispatcher()?;
    let lang = language(&q, &headers)?;
    let doc = load(&state, id, base_url(&state, &headers)).await?;
    pdf_response(&state, doc, lang).await
}

/// `GET /api/visits/{id}/report.html`
#[utoipa::path(
    get, path = "/api/visits/{id}/report.html", tag = "after", security(("session" = [])),
    params(("id" = String, Path, description = "The visit's id"), ("lang" = Option<String>, Query, description = "`zh-CN` or `en` (default: Accept-Language, else zh-CN)")),
    responses((status = 200, description = "The service report as a page", content_type = "text/html", body = String))
)]
pub async fn visit_report_html(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<LangQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    who.dispatcher()?;
    let lang = language(&q, &headers)?;
    let doc = load(&state, id, base_url(&state, &headers)).await?;
    let view = doc.view(lang, offset(&state));
    let page_links = PageLinks {
        photo_src: inline_photos(photo_bytes(&state, &doc).await),
        ..PageLinks::default()
    };
    Ok(html_response(
        StatusCode::OK,
        render_html(&view, &page_links),
    ))
}

/// `POST /api/visits/{id}/report-link`: a new customer link (its token is
/// shown only in this answer).
#[utoipa::path(
    post, path = "/api/visits/{id}/report-link", tag = "after", security(("session" = [])),
    params(("id" = String, Path, description = "The visit's id")),
    responses((status = 201, description = "A new customer link (its token is shown only here)", body = CreatedLink))
)]
pub async fn create_report_link(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<(StatusCode, Json<CreatedLink>)> {
    let actor = who.actor();
    who.dispatcher()?;
    let days = state.config.report_link_days;
    let base = base_url(&state, &headers);
    let link = state
        .db
        .tx(move |tx| {
            Box::pin(async move { links::create(tx, &id, &actor, now_ms(), days, &base).await })
        })
        .await?;
    Ok((StatusCode::CREATED, Json(link)))
}

/// `GET /api/visits/{id}/report-link`: the latest link's dates (`link` is
/// null when the visit has none).
#[utoipa::path(
    get, path = "/api/visits/{id}/report-link", tag = "after", security(("session" = [])),
    params(("id" = String, Path, description = "The visit's id")),
    responses((status = 200, description = "The latest link's dates", body = crate::api_schema::ReportLinkState))
)]
pub async fn get_report_link(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    who.dispatcher()?;
    let link: Option<LinkStatus> = state
        .db
        .read(move |tx| Box::pin(async move { links::status(tx, &id, now_ms()).await }))
        .await?;
    Ok(Json(json!({ "link": link })))
}

/// What a customer's token opens now.
async fn open_link(state: &AppState, token: String) -> Fallible<LinkLookup> {
    state
        .db
        .tx(move |tx| Box::pin(async move { links::resolve(tx, &token, now_ms()).await }))
        .await
}

/// The page for a link that does not (or no longer) open a report.
fn closed_link_page(lookup: &LinkLookup, lang: Lang) -> Response {
    let (status, en, zh) = match lookup {
        LinkLookup::Expired { .. } => (
            StatusCode::GONE,
            "This report link has expired. Ask the service center for a new one.",
            "此报告链接已过期，请联系服务中心获取新链接。",
        ),
        _ => (
            StatusCode::NOT_FOUND,
            "This report link is not valid. Check that it was copied whole.",
            "此报告链接无效，请确认链接完整。",
        ),
    };
    let (title, line) = match lang {
        Lang::En => ("Service report", en),
        Lang::ZhCn => ("上门服务报告", zh),
    };
    html_response(
        status,
        render_notice(lang_tag(lang), title, "broken", &[line.to_string()]),
    )
}

/// `GET /r/{token}`: the customer's report, phone-sized, with the other
/// language, the PDF and the verification page one tap away.
#[utoipa::path(
    get, path = "/r/{token}", tag = "public", security(()),
    params(("token" = String, Path, description = "The customer link's token"), ("lang" = Option<String>, Query, description = "`zh-CN` or `en` (default: Accept-Language, else zh-CN)")),
    responses((status = 200, description = "The customer's report page", content_type = "text/html", body = String),
              (status = 404, description = "Not a valid link (a page)", content_type = "text/html", body = String),
              (status = 410, description = "An expired link (a page)", content_type = "text/html", body = String))
)]
pub async fn customer_report(
    State(state): State<AppState>,
    Path(token): Path<String>,
    ApiQuery(q): ApiQuery<LangQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let lang = language(&q, &headers)?;
    let lookup = open_link(&state, token.clone()).await?;
    let LinkLookup::Live { visit_id } = lookup else {
        return Ok(closed_link_page(&lookup, lang));
    };
    let doc = load(&state, visit_id, base_url(&state, &headers)).await?;
    let view = doc.view(lang, offset(&state));
    let here = links::link_path(&token);
    let (other, other_label, pdf_label, verify_label) = match lang {
        Lang::ZhCn => ("en", "English", "下载 PDF", "验证"),
        Lang::En => ("zh-CN", "中文", "Download PDF", "Verify"),
    };
    let page_links = PageLinks {
        other_language: Some((other_label.into(), format!("{here}?lang={other}"))),
        pdf: Some((
            pdf_label.into(),
            format!("{here}/report.pdf?lang={}", lang_tag(lang)),
        )),
        verify: doc.verify_url.clone().map(|u| (verify_label.into(), u)),
        photo_src: doc
            .photos
            .iter()
            .map(|p| p.stored.then(|| format!("{here}/photos/{}", p.digest)))
            .collect(),
    };
    Ok(html_response(
        StatusCode::OK,
        render_html(&view, &page_links),
    ))
}

/// `GET /r/{token}/report.pdf`: the customer's PDF.
#[utoipa::path(
    get, path = "/r/{token}/report.pdf", tag = "public", security(()),
    params(("token" = String, Path, description = "The customer link's token"), ("lang" = Option<String>, Query, description = "`zh-CN` or `en` (default: Accept-Language, else zh-CN)")),
    responses((status = 200, description = "The customer's report PDF", content_type = "application/pdf", body = String),
              (status = 404, description = "Not a valid link (a page)", content_type = "text/html", body = String),
              (status = 410, description = "An expired link (a page)", content_type = "text/html", body = String))
)]
pub async fn customer_report_pdf(
    State(state): State<AppState>,
    Path(token): Path<String>,
    ApiQuery(q): ApiQuery<LangQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let lang = language(&q, &headers)?;
    let lookup = open_link(&state, token).await?;
    let LinkLookup::Live { visit_id } = lookup else {
        return Ok(closed_link_page(&lookup, lang));
    };
    let doc = load(&state, visit_id, base_url(&state, &headers)).await?;
    pdf_response(&state, doc, lang).await
}

/// `GET /r/{token}/photos/{sha256}`: one photo of the customer's report,
/// while the link is live, and only a photo of that visit.
#[utoipa::path(
    get, path = "/r/{token}/photos/{sha256}", tag = "public", security(()),
    params(("token" = String, Path, description = "The customer link's token"), ("sha256" = String, Path, description = "The photo's SHA-256, as the report page links it")),
    responses((status = 200, description = "The photo's bytes", content_type = "image/jpeg", body = String),
              (status = 404, description = "Not a valid link, or not a photo of this report", content_type = "text/html", body = String),
              (status = 410, description = "An expired link (a page)", content_type = "text/html", body = String))
)]
pub async fn customer_photo(
    State(state): State<AppState>,
    Path((token, digest)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    checked_digest(&digest)?;
    let lang = language(&LangQuery { lang: None }, &headers)?;
    let lookup = open_link(&state, token).await?;
    let LinkLookup::Live { visit_id } = lookup else {
        return Ok(closed_link_page(&lookup, lang));
    };
    let key = visit_id.clone();
    let visit = state
        .db
        .read(move |tx| Box::pin(async move { visits::load_visit_with_state(tx, &key).await }))
        .await?
        .ok_or_else(|| ApiError::not_found("visit", &visit_id))?;
    let visit: VisitState = serde_json::from_str(&visit.1)
        .map_err(|_| ApiError::internal("reading a visit's state"))?;
    if !visit.photos.iter().any(|p| p.digest == digest) {
        return Err(ApiError::not_found("photo", &digest));
    }
    blob_response(&state, &digest, "private, max-age=300").await
}

/// `GET /v/{visit}/{digest}`: the public verification page the QR code
/// opens. It recomputes the report from the stored facts and says whether
/// the digest printed on the paper is the one signed and still holds; it
/// shows no personal data.
#[utoipa::path(
    get, path = "/v/{visit}/{digest}", tag = "public", security(()),
    params(("visit" = String, Path, description = "The visit's id"), ("digest" = String, Path, description = "The report digest printed on the paper"), ("lang" = Option<String>, Query, description = "`zh-CN` or `en` (default: Accept-Language, else zh-CN)")),
    responses((status = 200, description = "Whether the printed digest is the signed one and still holds", content_type = "text/html", body = String),
              (status = 404, description = "No signed report of this visit has this digest (a page)", content_type = "text/html", body = String))
)]
pub async fn verify_page(
    State(state): State<AppState>,
    Path((visit_id, digest)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<LangQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let lang = language(&q, &headers)?;
    let base = base_url(&state, &headers);
    let found = load(&state, visit_id.clone(), base).await;
    let verification = match found {
        Ok(doc) if doc.verification.digest() == Some(digest.as_str()) => Some(doc.verification),
        Ok(_) => None,
        Err(e) if e.status == StatusCode::NOT_FOUND || e.status == StatusCode::CONFLICT => None,
        Err(e) => return Err(e),
    };
    let (title, class, line) = match &verification {
        Some(v) => (
            match lang {
                Lang::En => "Report verification",
                Lang::ZhCn => "报告验证",
            },
            v.code(),
            v.label().get(lang).to_string(),
        ),
        None => (
            match lang {
                Lang::En => "Report verification",
                Lang::ZhCn => "报告验证",
            },
            "broken",
            match lang {
                Lang::En => "Unknown: no signed report of this visit has this digest".to_string(),
                Lang::ZhCn => "无法确认：本次上门没有摘要与此一致的已签报告".to_string(),
            },
        ),
    };
    let mut lines = vec![line];
    if let Some(Verification::Broken { problem, .. }) = &verification {
        lines.push(problem.get(lang).to_string());
    }
    lines.push(visit_id);
    lines.push(digest);
    let status = if verification.is_some() {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    Ok(html_response(
        status,
        render_notice(lang_tag(lang), title, class, &lines),
    ))
}

/// `GET /api/visits/{id}/signature.svg`: the customer's signature redrawn
/// from its strokes (404 when the visit has none), for the console.
#[utoipa::path(
    get, path = "/api/visits/{id}/signature.svg", tag = "after", security(("session" = [])),
    params(("id" = String, Path, description = "The visit's id")),
    responses((status = 200, description = "The customer's signature redrawn", content_type = "image/svg+xml", body = String))
)]
pub async fn visit_signature_svg(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    who.dispatcher()?;
    let key = id.clone();
    let (events, _) = state
        .db
        .tx(move |tx| Box::pin(async move { replay(tx, &key).await }))
        .await?;
    let svg = signature_svg(&signed_strokes(&events)).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no_signature",
            format!("visit {id} has no customer signature / 上门 {id} 没有客户签字。"),
        )
    })?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        svg,
    )
        .into_response())
}
