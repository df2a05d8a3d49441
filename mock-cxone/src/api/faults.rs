//! `/_mock/faults` (CONTRACT §5-6): add, list, read and delete fault rules.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::json::ApiJson;
use crate::app::App;
use crate::error::{ApiError, ApiResult};
use crate::faults::rules::{self, RuleError, RuleSpec};

/// Routes of the fault rules (behind the control API's admin gate).
pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/_mock/faults", post(faults_create).get(faults_list))
        .route("/_mock/faults/{id}", get(faults_get).delete(faults_delete))
}

impl From<RuleError> for ApiError {
    fn from(e: RuleError) -> Self {
        match e {
            RuleError::Invalid(i) => ApiError::BadRequest(i.0),
            RuleError::Store(s) => s.into(),
        }
    }
}

#[utoipa::path(post, path = "/_mock/faults", tag = "control", request_body = crate::faults::rules::RuleSpec,
    responses((status = 201, description = "The rule", body = crate::api::openapi::FaultRule)))]
async fn faults_create(
    State(app): State<Arc<App>>,
    ApiJson(spec): ApiJson<RuleSpec>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let now = app.now();
    let seed = app.seed;
    let rule = app.store.tx(|c| Ok(rules::insert(c, seed, now, spec)))??;
    crate::faults::on_rule_added(&app, &rule);
    Ok((StatusCode::CREATED, Json(rule.to_json())))
}

#[utoipa::path(get, path = "/_mock/faults", tag = "control",
    responses((status = 200, description = "Every fault rule", body = crate::api::openapi::FaultList)))]
async fn faults_list(State(app): State<Arc<App>>) -> ApiResult<Json<Value>> {
    let all = app.store.with(rules::list)?;
    let list: Vec<Value> = all.iter().map(rules::Rule::to_json).collect();
    Ok(Json(json!({ "faults": list })))
}

#[utoipa::path(get, path = "/_mock/faults/{id}", tag = "control",
    params(("id" = String, Path, description = "Fault rule id")),
    responses((status = 200, description = "The rule", body = crate::api::openapi::FaultRule)))]
async fn faults_get(State(app): State<Arc<App>>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let rule = app.store.with(|c| rules::get(c, &id))?;
    rule.map(|r| Json(r.to_json()))
        .ok_or_else(|| ApiError::NotFound(format!("no fault rule {id:?}")))
}

#[utoipa::path(delete, path = "/_mock/faults/{id}", tag = "control",
    params(("id" = String, Path, description = "Fault rule id")),
    responses((status = 204, description = "Deleted")))]
async fn faults_delete(State(app): State<Arc<App>>, Path(id): Path<String>) -> ApiResult<StatusCode> {
    if app.store.with(|c| rules::delete(c, &id))? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("no fault rule {id:?}")))
    }
}
