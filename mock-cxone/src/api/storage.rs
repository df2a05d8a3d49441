//! Cloud Storage and SEA endpoints of the CXone API (CONTRACT §3) and data-lake credentials (§4).

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::json::ApiJson;
use crate::app::App;
use crate::auth::principal::Principal;
use crate::auth::tenants;
use crate::error::{ApiError, ApiResult};
use crate::sea::{credentials, datalake};
use crate::storage::files::{self, FilePage, FileQuery};
use crate::storage::rules::{self, Filters, Rule, RuleSpec, ACTIONS, DEFAULT_PRIORITY};
use crate::storage::{daily_cap, lifecycle, usage, MEDIA_TYPES};

const STORAGE: &str = "storage:manage";

/// Routes of the storage surface.
pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route(
            "/api/v2/sea/credentials",
            post(sea_credentials_create).get(sea_credentials_get),
        )
        .route("/api/v2/storage/files", get(files_list))
        .route("/api/v2/storage/sea/backlog", get(backlog_get))
        .route("/api/v2/storage/usage", get(usage_get))
        .route("/api/v2/storage/lifecycle-rules", post(rules_create).get(rules_list))
        .route(
            "/api/v2/storage/lifecycle-rules/{id}",
            get(rules_get).put(rules_update).delete(rules_delete),
        )
        .route("/api/v2/data-lake/credentials", post(datalake_credentials_create))
}

#[utoipa::path(post, path = "/api/v2/sea/credentials", tag = "storage",
    responses((status = 201, description = "New SEA key pair (the secret only here); the previous pair stops working", body = crate::sea::credentials::SeaCredentials)))]
async fn sea_credentials_create(
    State(app): State<Arc<App>>,
    p: Principal,
) -> ApiResult<(StatusCode, Json<credentials::SeaCredentials>)> {
    p.require(STORAGE)?;
    let now = app.now();
    let creds = app
        .store
        .tx(|c| credentials::generate(c, &app.urls.s3, p.tenant_id(), now))?;
    Ok((StatusCode::CREATED, Json(creds)))
}

#[utoipa::path(get, path = "/api/v2/sea/credentials", tag = "storage",
    responses((status = 200, description = "The current SEA key (no secret)", body = crate::sea::credentials::SeaCredentials),
        (status = 404, description = "No SEA credentials generated yet", body = crate::api::openapi::ErrorBody)))]
async fn sea_credentials_get(
    State(app): State<Arc<App>>,
    p: Principal,
) -> ApiResult<Json<credentials::SeaCredentials>> {
    p.require(STORAGE)?;
    let creds = app
        .store
        .with(|c| credentials::current(c, &app.urls.s3, p.tenant_id()))?;
    creds
        .map(Json)
        .ok_or_else(|| ApiError::NotFound("no SEA credentials yet: POST /api/v2/sea/credentials generates them".into()))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct FilesQuery {
    tier: Option<String>,
    media_type: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v2/storage/files", tag = "storage", params(FilesQuery),
    responses((status = 200, description = "A page of the tenant's recording files", body = crate::storage::files::FilePage)))]
async fn files_list(
    State(app): State<Arc<App>>,
    p: Principal,
    q: Result<Query<FilesQuery>, QueryRejection>,
) -> ApiResult<Json<FilePage>> {
    p.require(STORAGE)?;
    let Query(q) = q.map_err(|e| ApiError::BadRequest(format!("invalid query: {}", e.body_text())))?;
    if let Some(t) = q.tier.as_deref() {
        if !["active", "long_term", "custom", "sea", "deleted"].contains(&t) {
            return Err(ApiError::BadRequest(format!(
                "tier {t:?} is not one of active, long_term, custom, sea, deleted"
            )));
        }
    }
    if let Some(m) = q.media_type.as_deref() {
        if !MEDIA_TYPES.contains(&m) {
            return Err(ApiError::BadRequest(format!(
                "media_type {m:?} is not one of VOICE, SCREEN, STATEMENT"
            )));
        }
    }
    let after_seq = match q.cursor.as_deref() {
        None | Some("") => 0,
        Some(c) => c
            .parse::<i64>()
            .map_err(|_| ApiError::BadRequest(format!("cursor {c:?} is not one this API returned")))?,
    };
    let query = FileQuery {
        tier: q.tier,
        media_type: q.media_type,
        limit: q.limit.unwrap_or(100),
        after_seq,
    };
    let now = app.now();
    Ok(Json(app.store.with(|c| files::list(c, p.tenant_id(), &query, now))?))
}

#[utoipa::path(get, path = "/api/v2/storage/sea/backlog", tag = "storage",
    responses((status = 200, description = "Files waiting for SEA placement under the daily cap", body = crate::api::openapi::SeaBacklog)))]
async fn backlog_get(State(app): State<Arc<App>>, p: Principal) -> ApiResult<Json<Value>> {
    p.require(STORAGE)?;
    let now = app.now();
    let (backlog, placed) = app.store.with(|c| {
        Ok((
            daily_cap::backlog(c, p.tenant_id())?,
            daily_cap::placed_on_day(c, p.tenant_id(), now)?,
        ))
    })?;
    Ok(Json(
        json!({"backlog": backlog, "cap_per_day": daily_cap::CAP_PER_DAY, "placed_today": placed}),
    ))
}

#[utoipa::path(get, path = "/api/v2/storage/usage", tag = "storage",
    responses((status = 200, description = "Storage usage now", body = crate::storage::usage::Usage)))]
async fn usage_get(State(app): State<Arc<App>>, p: Principal) -> ApiResult<Json<usage::Usage>> {
    p.require(STORAGE)?;
    let now = app.now();
    Ok(Json(app.store.with(|c| usage::compute(c, p.tenant_id(), now))?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RuleBody {
    name: String,
    media_type: Option<String>,
    after_days: i64,
    action: String,
    priority: Option<i64>,
    filters: Option<Filters>,
}

fn validate_rule(b: RuleBody) -> ApiResult<RuleSpec> {
    let name = b.name.trim().to_string();
    if name.is_empty() || name.len() > 200 {
        return Err(ApiError::BadRequest("name must be 1-200 characters".into()));
    }
    if let Some(m) = b.media_type.as_deref() {
        if !MEDIA_TYPES.contains(&m) {
            return Err(ApiError::BadRequest(format!(
                "media_type {m:?} is not one of VOICE, SCREEN, STATEMENT (omit it for all)"
            )));
        }
    }
    if !(0..=36_500).contains(&b.after_days) {
        return Err(ApiError::BadRequest(format!(
            "after_days must be between 0 and 36500, got {}",
            b.after_days
        )));
    }
    if !ACTIONS.contains(&b.action.as_str()) {
        return Err(ApiError::BadRequest(format!(
            "action {:?} is not one of {}",
            b.action,
            ACTIONS.join(", ")
        )));
    }
    let priority = b.priority.unwrap_or(DEFAULT_PRIORITY);
    if !(0..=1_000_000).contains(&priority) {
        return Err(ApiError::BadRequest(format!(
            "priority must be between 0 and 1000000, got {priority}"
        )));
    }
    Ok(RuleSpec {
        name,
        media_type: b.media_type,
        after_days: b.after_days,
        action: b.action,
        priority,
        filters: b.filters,
    })
}

/// New or edited zero-day SEA rules let a Faster SEA tenant's files move within minutes (S10).
fn after_rule_change(app: &App, tenant_id: &str, rule: &Rule) -> ApiResult<()> {
    if rule.is_sea() && rule.after_days == 0 {
        let faster = app
            .store
            .with(|c| tenants::find(c, tenant_id))?
            .is_some_and(|t| t.faster_sea);
        lifecycle::nudge_faster_sea(app, tenant_id, faster);
    }
    Ok(())
}

#[utoipa::path(post, path = "/api/v2/storage/lifecycle-rules", tag = "storage", request_body = RuleBody,
    responses((status = 201, description = "The rule", body = crate::storage::rules::Rule)))]
async fn rules_create(
    State(app): State<Arc<App>>,
    p: Principal,
    ApiJson(b): ApiJson<RuleBody>,
) -> ApiResult<(StatusCode, Json<Rule>)> {
    p.require(STORAGE)?;
    let spec = validate_rule(b)?;
    let now = app.now();
    let rule = app
        .store
        .tx(|c| rules::create(c, app.seed, now, p.tenant_id(), &spec))?;
    after_rule_change(&app, p.tenant_id(), &rule)?;
    Ok((StatusCode::CREATED, Json(rule)))
}

#[utoipa::path(get, path = "/api/v2/storage/lifecycle-rules", tag = "storage",
    responses((status = 200, description = "The tenant's rules", body = crate::api::openapi::LifecycleRuleList)))]
async fn rules_list(State(app): State<Arc<App>>, p: Principal) -> ApiResult<Json<Value>> {
    p.require(STORAGE)?;
    let list = app.store.with(|c| rules::list(c, p.tenant_id()))?;
    Ok(Json(json!({"rules": list})))
}

fn no_rule(id: &str) -> ApiError {
    ApiError::NotFound(format!("no lifecycle rule {id:?}"))
}

#[utoipa::path(get, path = "/api/v2/storage/lifecycle-rules/{id}", tag = "storage",
    params(("id" = String, Path, description = "Rule id")),
    responses((status = 200, description = "The rule", body = crate::storage::rules::Rule)))]
async fn rules_get(State(app): State<Arc<App>>, p: Principal, Path(id): Path<String>) -> ApiResult<Json<Rule>> {
    p.require(STORAGE)?;
    app.store
        .with(|c| rules::get(c, p.tenant_id(), &id))?
        .map(Json)
        .ok_or_else(|| no_rule(&id))
}

#[utoipa::path(put, path = "/api/v2/storage/lifecycle-rules/{id}", tag = "storage", request_body = RuleBody,
    params(("id" = String, Path, description = "Rule id")),
    responses((status = 200, description = "The rule as edited", body = crate::storage::rules::Rule)))]
async fn rules_update(
    State(app): State<Arc<App>>,
    p: Principal,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<RuleBody>,
) -> ApiResult<Json<Rule>> {
    p.require(STORAGE)?;
    let spec = validate_rule(b)?;
    let now = app.now();
    let rule = app
        .store
        .tx(|c| rules::update(c, now, p.tenant_id(), &id, &spec))?
        .ok_or_else(|| no_rule(&id))?;
    after_rule_change(&app, p.tenant_id(), &rule)?;
    Ok(Json(rule))
}

#[utoipa::path(delete, path = "/api/v2/storage/lifecycle-rules/{id}", tag = "storage",
    params(("id" = String, Path, description = "Rule id")),
    responses((status = 204, description = "Deleted")))]
async fn rules_delete(State(app): State<Arc<App>>, p: Principal, Path(id): Path<String>) -> ApiResult<StatusCode> {
    p.require(STORAGE)?;
    if app.store.tx(|c| rules::delete(c, p.tenant_id(), &id))? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(no_rule(&id))
    }
}

#[utoipa::path(post, path = "/api/v2/data-lake/credentials", tag = "storage",
    responses((status = 201, description = "A new data-lake S3 key pair", body = crate::sea::datalake::DataLakeCredentials)))]
async fn datalake_credentials_create(
    State(app): State<Arc<App>>,
    p: Principal,
) -> ApiResult<(StatusCode, Json<datalake::DataLakeCredentials>)> {
    p.require("data-download:read")?;
    let now = app.now();
    let creds = app.store.tx(|c| {
        let kms = tenants::find(c, p.tenant_id())?
            .map(|t| t.kms_key_id)
            .unwrap_or_default();
        datalake::issue(c, &app.urls.s3, p.tenant_id(), &kms, now)
    })?;
    Ok((StatusCode::CREATED, Json(creds)))
}
