//! `GET /_mock/truth` (CONTRACT §5; docs/truth.md): the ground truth of one data type of one
//! download over an event-time range, as records or as a `{"count","checksum"}` summary.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use super::blocking;
use crate::app::App;
use crate::error::{ApiError, ApiResult};
use crate::store::time::parse_rfc3339;
use crate::truth::{self, TruthError};

/// Route of the ground truth (behind the control API's admin gate).
pub fn router() -> Router<Arc<App>> {
    Router::new().route("/_mock/truth", get(truth_get))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct TruthParams {
    download_id: Option<String>,
    data_type: Option<String>,
    start_time: Option<String>,
    end_time: Option<String>,
    as_of: Option<String>,
    format: Option<String>,
}

impl From<TruthError> for ApiError {
    fn from(e: TruthError) -> Self {
        match e {
            TruthError::BadRequest(m) => ApiError::BadRequest(m),
            TruthError::NotFound(m) => ApiError::NotFound(m),
            TruthError::Store(s) => s.into(),
        }
    }
}

fn required(name: &str, v: Option<String>) -> ApiResult<String> {
    match v {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(ApiError::BadRequest(format!("query parameter {name} is required"))),
    }
}

fn instant(name: &str, v: &str) -> ApiResult<crate::store::time::Instant> {
    parse_rfc3339(v).ok_or_else(|| ApiError::BadRequest(format!("{name} {v:?} is not an RFC3339 instant")))
}

#[utoipa::path(get, path = "/_mock/truth", tag = "control", params(TruthParams),
    responses((status = 200, description = "The ground truth", body = crate::api::openapi::Truth),
        (status = 404, description = "No such download or data type", body = crate::api::openapi::ErrorBody)))]
async fn truth_get(
    State(app): State<Arc<App>>,
    q: Result<Query<TruthParams>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let Query(p) = q.map_err(|e| ApiError::BadRequest(format!("invalid query: {}", e.body_text())))?;
    let summary = match p.format.as_deref() {
        None | Some("records") => false,
        Some("summary") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "format {other:?} is not records or summary"
            )))
        }
    };
    let download_id = required("download_id", p.download_id)?;
    let data_type = required("data_type", p.data_type)?;
    let start = instant("start_time", &required("start_time", p.start_time)?)?;
    let end = instant("end_time", &required("end_time", p.end_time)?)?;
    let as_of = match p.as_of.as_deref() {
        None | Some("") => app.now(),
        Some(s) => instant("as_of", s)?,
    };
    let query = truth::Query {
        download_id,
        data_type,
        start,
        end,
        as_of,
    };
    blocking(move || {
        let t = truth::compute(&app, &query)?;
        Ok(if summary {
            Json(t.summary()).into_response()
        } else {
            ([(header::CONTENT_TYPE, "application/json")], t.to_json_string()).into_response()
        })
    })
    .await
}
