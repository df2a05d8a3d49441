//! The dashboard (issue 8): a page at `GET /` for demos and debugging, showing the tenants, each
//! tenant's SEA folder with expiry countdowns, backlog and daily cap, the downloads' jobs on a
//! timeline coloured by status, the fault ledger with links to the objects it touched, the
//! clock with advance buttons, and a scenario loader. docs/dashboard.md describes each panel.
//!
//! - The page and its two assets (`index.html`, `app.js`, `style.css` in `dashboard/`) are
//!   embedded: no CDN, no build step, nothing fetched from the network (the mock runs where
//!   there is none). They are served without authentication: nothing secret is in them.
//! - The page reads and acts only through `/_mock` (the control API and the read-only
//!   `/_mock/dashboard/...` views below), never `/api/v2`, so it needs no bearer token and keeps
//!   working through a `maintenance_window` fault. When an admin token is configured, `/_mock`
//!   answers 401 and the page asks for the token (kept in the tab's sessionStorage).
//! - The views give what no other endpoint gives in one call: the overview (every tenant's
//!   SEA objects, bytes, backlog, cap used, jobs by status and category, faults fired), a
//!   tenant's SEA folder in expiry order, every download's jobs over a window, and an object's
//!   bytes (so a fault's or a job's `s3://bucket/key` is a link that opens).

pub mod views;

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::blocking;
use crate::app::App;
use crate::auth::tenants;
use crate::error::{ApiError, ApiResult};
use crate::stats::{self, TenantOverview};
use crate::store::time::{parse_rfc3339, rfc3339, Instant};
use views::ObjectError;

/// The page and its assets (no authentication).
pub fn page_router() -> Router<Arc<App>> {
    Router::new()
        .route("/", get(index_html))
        .route("/dashboard/app.js", get(app_js))
        .route("/dashboard/style.css", get(style_css))
}

/// The read-only views (behind the control API's admin gate).
pub fn control_router() -> Router<Arc<App>> {
    Router::new()
        .route("/_mock/dashboard/overview", get(overview_get))
        .route("/_mock/dashboard/tenants/{tenant}/sea", get(sea_get))
        .route("/_mock/dashboard/jobs", get(jobs_get))
        .route("/_mock/dashboard/object", get(object_get))
}

// ---- The page -------------------------------------------------------------------------------

const INDEX_HTML: &str = include_str!("dashboard/index.html");
const APP_JS: &str = include_str!("dashboard/app.js");
const STYLE_CSS: &str = include_str!("dashboard/style.css");

/// The page may load only its own assets and call only its own origin: a strict policy, so
/// that no injected markup could run script or send the admin token anywhere else.
/// `media-src blob:`: an object opened with the admin token is a blob URL, whose document inherits
/// this policy (a SEA recording then plays in it).
const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
     img-src 'self' data:; media-src 'self' blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_CSP)),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            // Assets change with the binary: revalidate, never a stale page after an upgrade.
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}

/// The dashboard page.
#[utoipa::path(get, path = "/", tag = "meta",
    responses((status = 200, description = "The dashboard (HTML, self-contained; docs/dashboard.md)", content_type = "text/html", body = String)))]
async fn index_html() -> Response {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

/// The dashboard's script (an ES module).
#[utoipa::path(get, path = "/dashboard/app.js", tag = "meta",
    responses((status = 200, description = "The dashboard's script", content_type = "text/javascript", body = String)))]
async fn app_js() -> Response {
    asset("text/javascript; charset=utf-8", APP_JS)
}

/// The dashboard's style sheet.
#[utoipa::path(get, path = "/dashboard/style.css", tag = "meta",
    responses((status = 200, description = "The dashboard's style sheet", content_type = "text/css", body = String)))]
async fn style_css() -> Response {
    asset("text/css; charset=utf-8", STYLE_CSS)
}

// ---- Overview -------------------------------------------------------------------------------

/// `GET /_mock/dashboard/overview`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Overview {
    /// The mock clock's now.
    pub now: String,
    /// `frozen`, `real` or `offset`.
    pub mode: String,
    /// The seed.
    pub seed: u64,
    /// REST base URL.
    pub api: String,
    /// S3 endpoint URL.
    pub s3: String,
    /// Every tenant, in creation order.
    pub tenants: Vec<TenantOverview>,
    /// Every download, in creation order.
    pub downloads: Vec<views::DownloadSummary>,
}

#[utoipa::path(get, path = "/_mock/dashboard/overview", tag = "control",
    responses((status = 200, description = "Clock, tenants with SEA numbers, jobs and faults fired, downloads", body = Overview)))]
async fn overview_get(State(app): State<Arc<App>>) -> ApiResult<Json<Overview>> {
    let a = app.clone();
    let overview = blocking(move || {
        let now = a.now();
        let (tenants, downloads) = a.store.with(|c| Ok((stats::tenants(c, now)?, views::downloads(c)?)))?;
        Ok(Overview {
            now: rfc3339(now),
            mode: a.clock.mode().as_str().to_string(),
            seed: a.seed,
            api: a.urls.api.clone(),
            s3: a.urls.s3.clone(),
            tenants,
            downloads,
        })
    })
    .await?;
    Ok(Json(overview))
}

// ---- SEA folder -----------------------------------------------------------------------------

/// Most objects one SEA listing returns.
const MAX_SEA_LIMIT: u32 = 1000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct SeaQuery {
    /// Objects to return (1-1000, default 200), soonest expiry first.
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/_mock/dashboard/tenants/{tenant}/sea", tag = "control",
    params(("tenant" = String, Path, description = "Tenant id (or name)"), SeaQuery),
    responses((status = 200, description = "The tenant's live SEA objects, soonest expiry first", body = views::SeaFolder)))]
async fn sea_get(
    State(app): State<Arc<App>>,
    Path(tenant): Path<String>,
    q: Result<Query<SeaQuery>, QueryRejection>,
) -> ApiResult<Json<views::SeaFolder>> {
    let Query(q) = q.map_err(|e| ApiError::BadRequest(format!("invalid query: {}", e.body_text())))?;
    let limit = q.limit.unwrap_or(200);
    if !(1..=MAX_SEA_LIMIT).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be between 1 and {MAX_SEA_LIMIT}, got {limit}"
        )));
    }
    let a = app.clone();
    let folder = blocking(move || {
        let now = a.now();
        a.store
            .with(|c| match tenants::find(c, &tenant)? {
                Some(t) => views::sea_folder(c, &t.tenant_id, now, limit).map(Some),
                None => Ok(None),
            })?
            .ok_or_else(|| ApiError::NotFound(format!("no tenant {tenant:?}")))
    })
    .await?;
    Ok(Json(folder))
}

// ---- Jobs timeline --------------------------------------------------------------------------

/// Longest window one timeline request covers.
const MAX_WINDOW: chrono::Duration = chrono::Duration::days(31);
/// Most jobs per download one timeline request returns.
const MAX_JOBS_PER_DOWNLOAD: usize = 2000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct JobsQuery {
    /// Start of the window, RFC3339 (default: 48 hours before now).
    from: Option<String>,
    /// End of the window, RFC3339 (default: 6 hours after now); at most 31 days after `from`.
    until: Option<String>,
    /// Only this tenant's downloads (id or name).
    tenant: Option<String>,
}

fn window(q: &JobsQuery, now: Instant) -> ApiResult<(Instant, Instant)> {
    let parse = |field: &str, v: &Option<String>| -> ApiResult<Option<Instant>> {
        v.as_ref()
            .map(|s| {
                parse_rfc3339(s)
                    .ok_or_else(|| ApiError::BadRequest(format!("{field}: {s:?} is not an RFC3339 timestamp")))
            })
            .transpose()
    };
    let from = parse("from", &q.from)?.unwrap_or(now - chrono::Duration::hours(48));
    let until = parse("until", &q.until)?.unwrap_or(now + chrono::Duration::hours(6));
    if from >= until {
        return Err(ApiError::BadRequest(format!(
            "from ({}) must be before until ({})",
            rfc3339(from),
            rfc3339(until)
        )));
    }
    if until - from > MAX_WINDOW {
        return Err(ApiError::BadRequest(
            "the window (until - from) is at most 31 days".into(),
        ));
    }
    Ok((from, until))
}

#[utoipa::path(get, path = "/_mock/dashboard/jobs", tag = "control", params(JobsQuery),
    responses((status = 200, description = "Every download's jobs whose interval overlaps the window", body = views::Timeline),
        (status = 404, description = "No such tenant", body = crate::api::openapi::ErrorBody)))]
async fn jobs_get(
    State(app): State<Arc<App>>,
    q: Result<Query<JobsQuery>, QueryRejection>,
) -> ApiResult<Json<views::Timeline>> {
    let Query(q) = q.map_err(|e| ApiError::BadRequest(format!("invalid query: {}", e.body_text())))?;
    let now = app.now();
    let (from, until) = window(&q, now)?;
    let a = app.clone();
    let timeline = blocking(move || {
        a.store
            .with(|c| {
                let tenant = match &q.tenant {
                    Some(t) => match tenants::find(c, t)? {
                        Some(t) => Some(t.tenant_id),
                        None => return Ok(None),
                    },
                    None => None,
                };
                views::timeline(c, from, until, now, tenant.as_deref(), MAX_JOBS_PER_DOWNLOAD).map(Some)
            })?
            .ok_or_else(|| ApiError::NotFound(format!("no tenant {:?}", q.tenant.unwrap_or_default())))
    })
    .await?;
    Ok(Json(timeline))
}

// ---- Objects --------------------------------------------------------------------------------

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ObjectQuery {
    /// Bucket: `cxone-sea` or a data-lake bucket on this mock.
    bucket: String,
    /// Object key.
    key: String,
}

impl From<ObjectError> for ApiError {
    fn from(e: ObjectError) -> Self {
        match e {
            ObjectError::NotHere(_) | ObjectError::NoSuchKey { .. } => ApiError::NotFound(e.to_string()),
            ObjectError::InvalidKey(_) | ObjectError::TooLarge(_) => ApiError::BadRequest(e.to_string()),
            ObjectError::Store(e) => e.into(),
            ObjectError::Io(e) => ApiError::Internal(format!("reading an object: {e}")),
        }
    }
}

/// Objects are tenants' data: served as an isolated, script-less document (a `sandbox` policy
/// gives it an opaque origin), so an uploaded HTML object cannot act on the dashboard's origin.
const OBJECT_CSP: &str = "sandbox; default-src 'none'; img-src data:; media-src 'self'; style-src 'unsafe-inline'";

#[utoipa::path(get, path = "/_mock/dashboard/object", tag = "control", params(ObjectQuery),
    responses((status = 200, description = "The object's bytes with its content type (manifests are JSON, data files Parquet or CSV, SEA recordings MP4)",
            content((String = "application/octet-stream"), (String = "application/json"), (String = "text/csv"),
                (String = "application/vnd.apache.parquet"), (String = "video/mp4"))),
        (status = 404, description = "No such object here (an external destination's bucket, a deleted or expired object)", body = crate::api::openapi::ErrorBody)))]
async fn object_get(State(app): State<Arc<App>>, q: Result<Query<ObjectQuery>, QueryRejection>) -> ApiResult<Response> {
    let Query(q) = q.map_err(|e| ApiError::BadRequest(format!("invalid query: {}", e.body_text())))?;
    let obj = views::object(&app, &q.bucket, &q.key).await?;
    let content_type = HeaderValue::from_str(&obj.content_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    let safe_name: String = obj
        .file_name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = HeaderValue::from_str(&format!("inline; filename=\"{safe_name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("inline"));
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(OBJECT_CSP)),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        obj.bytes,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Instant {
        parse_rfc3339(s).expect("a valid instant")
    }

    #[test]
    fn window_defaults_and_limits() {
        let now = at("2026-01-02T00:00:00Z");
        let q = |from: Option<&str>, until: Option<&str>| JobsQuery {
            from: from.map(str::to_string),
            until: until.map(str::to_string),
            tenant: None,
        };
        let (f, u) = window(&q(None, None), now).expect("defaults");
        assert_eq!(
            (rfc3339(f), rfc3339(u)),
            ("2025-12-31T00:00:00Z".into(), "2026-01-02T06:00:00Z".into())
        );
        assert!(window(&q(Some("2026-01-02T00:00:00Z"), Some("2026-01-01T00:00:00Z")), now).is_err());
        assert!(window(&q(Some("2026-01-01T00:00:00Z"), Some("2026-03-01T00:00:00Z")), now).is_err());
        assert!(window(&q(Some("yesterday"), None), now).is_err());
    }

    #[test]
    fn the_page_is_self_contained() {
        for (name, text) in [("index.html", INDEX_HTML), ("app.js", APP_JS), ("style.css", STYLE_CSS)] {
            for outside in ["http://", "https://", "//cdn", "@import"] {
                assert!(!text.contains(outside), "{name} refers to something outside: {outside}");
            }
        }
        assert!(INDEX_HTML.contains("/dashboard/app.js") && INDEX_HTML.contains("/dashboard/style.css"));
    }
}
