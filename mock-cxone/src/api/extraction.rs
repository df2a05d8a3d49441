//! CXone's Data Extraction API (CONTRACT §4): `POST /data-extraction/v1/jobs`, `GET
//! /data-extraction/v1/jobs[/{id}]`, and the presigned CSV result behind `result.url`.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::blocking;
use super::json::ApiJson;
use crate::app::App;
use crate::auth::principal::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extraction::entities::{self, JobBody};
use crate::extraction::jobs::{self, CreateError, Job, Status};
use crate::extraction::presign;
use crate::store::time::rfc3339;

/// The scope every Data Extraction call needs (results are presigned instead).
const READ: &str = "data-download:read";

/// Routes of the Data Extraction API.
pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/data-extraction/v1/jobs", post(jobs_create).get(jobs_list))
        .route("/data-extraction/v1/jobs/{id}", get(jobs_get))
        .route("/data-extraction/v1/results/{id}/{file}", get(results_get))
}

/// A refused POST: an ordinary API error, or the 30-second rule (403 with `Retry-After`).
#[derive(Debug)]
enum Refused {
    Api(ApiError),
    TooSoon { message: String, retry_after_s: i64 },
}

impl From<ApiError> for Refused {
    fn from(e: ApiError) -> Self {
        Refused::Api(e)
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Refused::Api(e) => e.into_response(),
            Refused::TooSoon { message, retry_after_s } => {
                let mut resp = ApiError::Forbidden(message).into_response();
                if let Ok(v) = HeaderValue::from_str(&retry_after_s.to_string()) {
                    resp.headers_mut().insert(header::RETRY_AFTER, v);
                }
                resp
            }
        }
    }
}

#[utoipa::path(post, path = "/data-extraction/v1/jobs", tag = "data-extraction", request_body = crate::extraction::entities::JobBody,
    responses((status = 202, description = "The new job's id (a JSON string)", body = String),
        (status = 403, description = "Scope missing, or a job was created less than 30 s ago (Retry-After)", body = crate::api::openapi::ErrorBody)))]
async fn jobs_create(
    State(app): State<Arc<App>>,
    p: Principal,
    ApiJson(body): ApiJson<JobBody>,
) -> Result<(StatusCode, Json<String>), Refused> {
    p.require(READ)?;
    let now = app.now();
    let req = entities::validate(&body, now.date_naive()).map_err(ApiError::BadRequest)?;
    let created = app
        .store
        .tx(|tx| match jobs::create(tx, app.seed, now, p.tenant_id(), &req) {
            Ok(job) => Ok(Ok(job)),
            Err(CreateError::Store(e)) => Err(e),
            Err(too_soon) => Ok(Err(too_soon)),
        });
    match created.map_err(ApiError::from)? {
        Ok(job) => Ok((StatusCode::ACCEPTED, Json(job.id))),
        Err(e) => {
            let retry_after_s = match e {
                CreateError::TooSoon { retry_after_s, .. } => retry_after_s,
                CreateError::Store(_) => 1,
            };
            Err(Refused::TooSoon {
                message: e.to_string(),
                retry_after_s,
            })
        }
    }
}

fn summary(job: &Job, status: Status) -> Value {
    json!({
        "id": job.id,
        "status": status.as_str(),
        "entityName": job.entity.name(),
        "version": job.entity.version(),
        "startDate": job.start_date.to_string(),
        "endDate": job.end_date.to_string(),
        "createdAt": rfc3339(job.created_at),
    })
}

#[utoipa::path(get, path = "/data-extraction/v1/jobs", tag = "data-extraction",
    responses((status = 200, description = "The tenant's jobs", body = crate::api::openapi::ExtractionJobList)))]
async fn jobs_list(State(app): State<Arc<App>>, p: Principal) -> ApiResult<Json<Value>> {
    p.require(READ)?;
    let now = app.now();
    let jobs = app.store.with(|c| jobs::list(c, p.tenant_id()))?;
    let jobs: Vec<Value> = jobs.iter().map(|j| summary(j, j.status(now))).collect();
    Ok(Json(json!({ "jobs": jobs })))
}

#[utoipa::path(get, path = "/data-extraction/v1/jobs/{id}", tag = "data-extraction",
    params(("id" = String, Path, description = "Job id")),
    responses((status = 200, description = "The job and, once SUCCEEDED, its presigned result URL", body = crate::api::openapi::ExtractionJobView)))]
async fn jobs_get(State(app): State<Arc<App>>, p: Principal, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    p.require(READ)?;
    let now = app.now();
    let job = app
        .store
        .with(|c| jobs::get(c, p.tenant_id(), &id))?
        .ok_or_else(|| ApiError::NotFound(format!("no extraction job {id:?} for this tenant")))?;
    let status = job.status(now);
    let url = (status == Status::Succeeded).then(|| {
        let file = job.extract(app.seed).file_name();
        presign::url(&app.urls.api, &app.jwt_key, &job.id, &file, presign::wall_now_secs())
    });
    let error_message = match status {
        Status::Failed | Status::Cancelled => job.error_message.clone(),
        _ => None,
    };
    let mut view = summary(&job, status);
    view["result"] = json!({"url": url, "errorMessage": error_message});
    if status != Status::Running {
        view["completedAt"] = json!(rfc3339(job.completed_at()));
    }
    if status == Status::Succeeded || status == Status::Expired {
        view["expiresAt"] = json!(rfc3339(job.expires_at()));
    }
    Ok(Json(json!({ "jobStatus": view })))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ResultQuery {
    expires: Option<String>,
    signature: Option<String>,
}

/// The CSV behind `result.url`. No bearer token (it is presigned, as an S3 URL would be): the
/// signature proves the URL came from `GET /jobs/{id}` of the job's owner.
#[utoipa::path(get, path = "/data-extraction/v1/results/{id}/{file}", tag = "data-extraction",
    params(("id" = String, Path, description = "Job id"), ("file" = String, Path, description = "Result file name"), ResultQuery),
    security(()),
    responses((status = 200, description = "The CSV (presigned: no bearer token)", content_type = "text/csv", body = String),
        (status = 403, description = "Missing, bad or expired signature", body = crate::api::openapi::ErrorBody)))]
async fn results_get(
    State(app): State<Arc<App>>,
    Path((id, file)): Path<(String, String)>,
    q: Result<Query<ResultQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let Query(q) = q.map_err(|e| ApiError::BadRequest(format!("invalid query: {}", e.body_text())))?;
    presign::verify(
        &app.jwt_key,
        &id,
        q.expires.as_deref(),
        q.signature.as_deref(),
        presign::wall_now_secs(),
    )
    .map_err(|e| ApiError::Forbidden(e.to_string()))?;
    let gone = || ApiError::NotFound(format!("extraction job {id:?} has no result at this URL"));
    let job = app.store.with(|c| jobs::get_any(c, &id))?.ok_or_else(gone)?;
    match job.status(app.now()) {
        Status::Succeeded => {}
        Status::Expired => {
            return Err(ApiError::NotFound(format!(
                "the result of extraction job {id} expired at {} (results are kept {} h)",
                rfc3339(job.expires_at()),
                jobs::RESULT_TTL_HOURS
            )))
        }
        _ => return Err(gone()),
    }
    let seed = app.seed;
    let name = job.extract(seed).file_name();
    if name != file {
        return Err(ApiError::NotFound(format!(
            "extraction job {id}'s result is {name}, not {file}"
        )));
    }
    let body = blocking(move || Ok(job.extract(seed).csv().finish())).await?;
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}
