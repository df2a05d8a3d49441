//! The Data Download API (CONTRACT §4): download configurations, schemas, jobs, manual export.
//! Handlers parse and authenticate; `download::*` decides.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::blocking;
use super::json::ApiJson;
use crate::app::App;
use crate::auth::principal::Principal;
use crate::download::catalog::Category;
use crate::download::config::{self, Spec};
use crate::download::jobs::{self, Filter, STATUSES};
use crate::download::manage::{self, ManageError};
use crate::download::manual::{self, ManualSpec};
use crate::error::{ApiError, ApiResult};
use crate::store::time::parse_rfc3339;

const READ: &str = "data-download:read";
const WRITE: &str = "data-download:write";

/// Routes of the Data Download surface.
pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/api/v2/data-downloads", post(downloads_create).get(downloads_list))
        .route("/api/v2/data-downloads/schemas", get(schemas_get))
        .route(
            "/api/v2/data-downloads/{id}",
            get(downloads_get).put(downloads_replace).delete(downloads_delete),
        )
        .route("/api/v2/data-downloads/{id}/jobs", get(jobs_list))
        .route("/api/v2/data-downloads/{id}/jobs/{job_id}", get(jobs_get))
        .route("/api/v2/data-downloads/{id}/manual-export", post(manual_export_create))
}

impl From<ManageError> for ApiError {
    fn from(e: ManageError) -> Self {
        match e {
            ManageError::Invalid(i) => ApiError::BadRequest(i.0),
            ManageError::NotFound(id) => not_found(&id),
            ManageError::Store(s) => s.into(),
        }
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("no data download {id:?} for this tenant"))
}

#[utoipa::path(post, path = "/api/v2/data-downloads", tag = "data-downloads", request_body = crate::download::config::Spec,
    responses((status = 201, description = "The configuration, defaults filled in", body = crate::api::openapi::DataDownload)))]
async fn downloads_create(
    State(app): State<Arc<App>>,
    p: Principal,
    ApiJson(spec): ApiJson<Spec>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    p.require(WRITE)?;
    let d = blocking(move || Ok(manage::create(&app, p.tenant_id(), spec)?)).await?;
    Ok((StatusCode::CREATED, Json(d.to_json())))
}

#[utoipa::path(get, path = "/api/v2/data-downloads", tag = "data-downloads",
    responses((status = 200, description = "The tenant's configurations", body = crate::api::openapi::DataDownloadList)))]
async fn downloads_list(State(app): State<Arc<App>>, p: Principal) -> ApiResult<Json<Value>> {
    p.require(READ)?;
    let all = app.store.with(|c| config::list(c, p.tenant_id()))?;
    let list: Vec<Value> = all.iter().map(config::Download::to_json).collect();
    Ok(Json(json!({ "data_downloads": list })))
}

#[utoipa::path(get, path = "/api/v2/data-downloads/{id}", tag = "data-downloads",
    params(("id" = String, Path, description = "Data download id")),
    responses((status = 200, description = "The configuration", body = crate::api::openapi::DataDownload)))]
async fn downloads_get(State(app): State<Arc<App>>, p: Principal, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    p.require(READ)?;
    let d = app.store.with(|c| config::get(c, p.tenant_id(), &id))?;
    d.map(|d| Json(d.to_json())).ok_or_else(|| not_found(&id))
}

#[utoipa::path(put, path = "/api/v2/data-downloads/{id}", tag = "data-downloads", request_body = crate::download::config::Spec,
    params(("id" = String, Path, description = "Data download id")),
    responses((status = 200, description = "The configuration as replaced", body = crate::api::openapi::DataDownload)))]
async fn downloads_replace(
    State(app): State<Arc<App>>,
    p: Principal,
    Path(id): Path<String>,
    ApiJson(spec): ApiJson<Spec>,
) -> ApiResult<Json<Value>> {
    p.require(WRITE)?;
    let d = blocking(move || Ok(manage::replace(&app, p.tenant_id(), &id, spec)?)).await?;
    Ok(Json(d.to_json()))
}

#[utoipa::path(delete, path = "/api/v2/data-downloads/{id}", tag = "data-downloads",
    params(("id" = String, Path, description = "Data download id")),
    responses((status = 204, description = "Deleted (its jobs stop)")))]
async fn downloads_delete(State(app): State<Arc<App>>, p: Principal, Path(id): Path<String>) -> ApiResult<StatusCode> {
    p.require(WRITE)?;
    blocking(move || Ok(manage::remove(&app, p.tenant_id(), &id)?)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v2/data-downloads/schemas", tag = "data-downloads",
    responses((status = 200, description = "Categories, their data types and columns", body = crate::api::openapi::Schemas)))]
async fn schemas_get(p: Principal) -> ApiResult<Json<Value>> {
    p.require(READ)?;
    let mut categories = Map::new();
    for c in Category::ALL {
        let mut types = Map::new();
        for d in c.data_types() {
            types.insert(d.name.to_string(), d.to_json());
        }
        categories.insert(
            c.as_str().into(),
            json!({"default_frequency": c.default_frequency().as_str(), "data_types": types}),
        );
    }
    Ok(Json(json!({ "categories": categories })))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct JobsQuery {
    category: Option<String>,
    status: Option<String>,
    start_time: Option<String>,
    end_time: Option<String>,
    page_size: Option<String>,
    page_token: Option<String>,
}

fn time_param(name: &str, v: Option<String>) -> ApiResult<Option<chrono::DateTime<chrono::Utc>>> {
    match v.as_deref() {
        None | Some("") => Ok(None),
        Some(s) => parse_rfc3339(s)
            .map(Some)
            .ok_or_else(|| ApiError::BadRequest(format!("{name} {s:?} is not an RFC3339 instant"))),
    }
}

fn jobs_filter(q: JobsQuery) -> ApiResult<Filter> {
    if let Some(c) = q.category.as_deref().filter(|c| Category::parse(c).is_none()) {
        return Err(ApiError::BadRequest(format!("unknown category {c:?}")));
    }
    if let Some(s) = q.status.as_deref().filter(|s| !STATUSES.contains(s)) {
        return Err(ApiError::BadRequest(format!(
            "status {s:?} is not one of {}",
            STATUSES.join(", ")
        )));
    }
    let start_time = time_param("start_time", q.start_time)?;
    let end_time = time_param("end_time", q.end_time)?;
    if let (Some(s), Some(e)) = (start_time, end_time) {
        if s > e {
            return Err(ApiError::BadRequest("start_time is after end_time".into()));
        }
    }
    let limit = match q.page_size.as_deref() {
        None | Some("") => 100,
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| ApiError::BadRequest(format!("page_size {s:?} must be an integer 1-1000")))?,
    };
    let after_seq = match q.page_token.as_deref() {
        None | Some("") => 0,
        Some(t) => decode_token(t)
            .ok_or_else(|| ApiError::BadRequest(format!("page_token {t:?} is not one this API returned")))?,
    };
    Ok(Filter {
        category: q.category.filter(|c| !c.is_empty()),
        status: q.status.filter(|s| !s.is_empty()),
        start_time,
        end_time,
        after_seq,
        limit,
    })
}

fn encode_token(seq: i64) -> String {
    format!("p{seq:x}")
}

fn decode_token(t: &str) -> Option<i64> {
    i64::from_str_radix(t.strip_prefix('p')?, 16).ok().filter(|n| *n > 0)
}

#[utoipa::path(get, path = "/api/v2/data-downloads/{id}/jobs", tag = "data-downloads",
    params(("id" = String, Path, description = "Data download id"), JobsQuery),
    responses((status = 200, description = "A page of jobs, newest first", body = crate::api::openapi::JobPage)))]
async fn jobs_list(
    State(app): State<Arc<App>>,
    p: Principal,
    Path(id): Path<String>,
    q: Result<Query<JobsQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    p.require(READ)?;
    let Query(q) = q.map_err(|e| ApiError::BadRequest(format!("invalid query: {}", e.body_text())))?;
    let filter = jobs_filter(q)?;
    let (page, next) = app
        .store
        .with(|c| {
            if config::get(c, p.tenant_id(), &id)?.is_none() {
                return Ok(None);
            }
            jobs::list(c, &id, &filter).map(Some)
        })?
        .ok_or_else(|| not_found(&id))?;
    let list: Vec<Value> = page.iter().map(jobs::Job::to_json).collect();
    Ok(Json(json!({"jobs": list, "next_page_token": next.map(encode_token)})))
}

#[utoipa::path(get, path = "/api/v2/data-downloads/{id}/jobs/{job_id}", tag = "data-downloads",
    params(("id" = String, Path, description = "Data download id"), ("job_id" = String, Path, description = "Job id")),
    responses((status = 200, description = "The job", body = crate::api::openapi::DownloadJob)))]
async fn jobs_get(
    State(app): State<Arc<App>>,
    p: Principal,
    Path((id, job_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    p.require(READ)?;
    let job = app.store.with(|c| {
        if config::get(c, p.tenant_id(), &id)?.is_none() {
            return Ok(None);
        }
        jobs::get(c, &job_id)
    })?;
    match job {
        Some(j) if j.download_id == id => Ok(Json(j.to_json())),
        _ => Err(ApiError::NotFound(format!("no job {job_id:?} in data download {id:?}"))),
    }
}

#[utoipa::path(post, path = "/api/v2/data-downloads/{id}/manual-export", tag = "data-downloads", request_body = crate::download::manual::ManualSpec,
    params(("id" = String, Path, description = "Data download id")),
    responses((status = 202, description = "The jobs made, one per interval", body = crate::api::openapi::ManualExportJobs)))]
async fn manual_export_create(
    State(app): State<Arc<App>>,
    p: Principal,
    Path(id): Path<String>,
    ApiJson(spec): ApiJson<ManualSpec>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    p.require(WRITE)?;
    let jobs = blocking(move || Ok(manual::create(&app, p.tenant_id(), &id, spec)?)).await?;
    let list: Vec<Value> = jobs.iter().map(jobs::Job::to_json).collect();
    Ok((StatusCode::ACCEPTED, Json(json!({ "jobs": list }))))
}
