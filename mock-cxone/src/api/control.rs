//! The control API (`/_mock`, CONTRACT §5) for tests and demos: health, clock, tenants,
//! recordings, events, reset.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::blocking;
use super::json::ApiJson;
use crate::app::App;
use crate::auth::tenants::{self, NewTenant};
use crate::auth::ALL_SCOPES;
use crate::error::{ApiError, ApiResult};
use crate::events;
use crate::storage::recordings::{self, NewRecordings};
use crate::storage::{lifecycle, CREATABLE_TIERS, MEDIA_TYPES};
use crate::store::time::{parse_rfc3339, rfc3339, Instant};

/// Routes of the control API.
pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/_mock/health", get(health_get))
        .route("/_mock/clock", get(clock_get))
        .route("/_mock/clock/advance", post(clock_advance))
        .route("/_mock/tenants", post(tenants_create).get(tenants_list))
        .route("/_mock/tenants/{tenant}", get(tenants_get))
        .route("/_mock/tenants/{tenant}/recordings", post(recordings_create))
        .route("/_mock/events", get(events_list))
        .route("/_mock/reset", post(reset))
}

#[utoipa::path(get, path = "/_mock/health", tag = "control",
    responses((status = 200, description = "Ready", body = crate::api::openapi::Health),
        (status = 503, description = "Still starting", body = crate::api::openapi::Health)))]
async fn health_get(State(app): State<Arc<App>>) -> (StatusCode, Json<Value>) {
    let ready = app.ready();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({"status": if ready { "ok" } else { "starting" }, "api": app.urls.api, "s3": app.urls.s3,
                      "now": rfc3339(app.now()), "seed": app.seed});
    (status, Json(body))
}

fn clock_view(app: &App) -> Json<Value> {
    Json(json!({"now": rfc3339(app.now()), "mode": app.clock.mode().as_str()}))
}

#[utoipa::path(get, path = "/_mock/clock", tag = "control",
    responses((status = 200, description = "The mock clock", body = crate::api::openapi::ClockView)))]
async fn clock_get(State(app): State<Arc<App>>) -> Json<Value> {
    clock_view(&app)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct AdvanceBody {
    by: Option<String>,
    to: Option<String>,
}

fn advance_target(app: &App, body: &AdvanceBody) -> ApiResult<Instant> {
    let now = app.now();
    match (&body.by, &body.to) {
        (Some(by), None) => {
            let secs = crate::duration::parse_seconds(by).map_err(|e| ApiError::BadRequest(format!("by: {e}")))?;
            now.checked_add_signed(chrono::Duration::seconds(secs))
                .ok_or_else(|| ApiError::BadRequest(format!("by: {by:?} goes past the end of time")))
        }
        (None, Some(to)) => {
            let t = parse_rfc3339(to)
                .ok_or_else(|| ApiError::BadRequest(format!("to: {to:?} is not an RFC3339 timestamp")))?;
            if t < now {
                return Err(ApiError::BadRequest(format!(
                    "to: {to} is before the mock's now ({}); the clock never goes back",
                    rfc3339(now)
                )));
            }
            Ok(t)
        }
        _ => Err(ApiError::BadRequest(
            "give exactly one of \"by\" (e.g. \"30d\") or \"to\" (RFC3339)".into(),
        )),
    }
}

#[utoipa::path(post, path = "/_mock/clock/advance", tag = "control", request_body = AdvanceBody,
    responses((status = 200, description = "The clock after everything due ran", body = crate::api::openapi::ClockView)))]
async fn clock_advance(State(app): State<Arc<App>>, ApiJson(body): ApiJson<AdvanceBody>) -> ApiResult<Json<Value>> {
    let target = advance_target(&app, &body)?;
    let a = app.clone();
    blocking(move || a.advance_to(target).map_err(ApiError::from)).await?;
    Ok(clock_view(&app))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct TenantBody {
    name: String,
    scopes: Option<Vec<String>>,
    #[serde(default)]
    faster_sea: bool,
    kms_key_id: Option<String>,
}

fn validate_tenant(body: TenantBody) -> ApiResult<NewTenant> {
    let name = body.name.trim().to_string();
    if name.is_empty() || name.len() > 100 {
        return Err(ApiError::BadRequest("name must be 1-100 characters".into()));
    }
    let scopes = body
        .scopes
        .unwrap_or_else(|| ALL_SCOPES.iter().map(|s| s.to_string()).collect());
    if let Some(bad) = scopes.iter().find(|s| !ALL_SCOPES.contains(&s.as_str())) {
        return Err(ApiError::BadRequest(format!(
            "unknown scope {bad:?}; scopes are {}",
            ALL_SCOPES.join(", ")
        )));
    }
    if body.kms_key_id.as_deref().is_some_and(|k| k.trim().is_empty()) {
        return Err(ApiError::BadRequest(
            "kms_key_id must not be empty (omit it for the system key)".into(),
        ));
    }
    Ok(NewTenant {
        name,
        scopes,
        faster_sea: body.faster_sea,
        kms_key_id: body.kms_key_id,
    })
}

#[utoipa::path(post, path = "/_mock/tenants", tag = "control", request_body = TenantBody,
    responses((status = 201, description = "The tenant with its secrets", body = crate::api::openapi::TenantCreated),
        (status = 409, description = "The name is taken", body = crate::api::openapi::ErrorBody)))]
async fn tenants_create(
    State(app): State<Arc<App>>,
    ApiJson(body): ApiJson<TenantBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let new = validate_tenant(body)?;
    let now = app.now();
    let t = app.store.tx(|c| {
        if tenants::name_taken(c, &new.name)? {
            return Ok(None);
        }
        tenants::create(c, app.seed, now, &new).map(Some)
    })?;
    let t = t.ok_or_else(|| ApiError::Conflict(format!("a tenant named {:?} already exists", new.name)))?;
    Ok((
        StatusCode::CREATED,
        Json(
            json!({"tenant_id": t.tenant_id, "name": t.name, "client_id": t.client_id, "client_secret": t.client_secret,
                    "access_key_id": t.access_key_id, "access_key_secret": t.access_key_secret, "scopes": t.scopes,
                    "faster_sea": t.faster_sea, "kms_key_id": t.kms_key_id}),
        ),
    ))
}

#[utoipa::path(get, path = "/_mock/tenants", tag = "control",
    responses((status = 200, description = "Every tenant (no secrets)", body = crate::api::openapi::TenantList)))]
async fn tenants_list(State(app): State<Arc<App>>) -> ApiResult<Json<Value>> {
    let list = app.store.with(tenants::list)?;
    Ok(Json(json!({"tenants": list})))
}

#[utoipa::path(get, path = "/_mock/tenants/{tenant}", tag = "control",
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, description = "The tenant (no secrets)", body = crate::auth::tenants::Tenant)))]
async fn tenants_get(State(app): State<Arc<App>>, Path(tenant): Path<String>) -> ApiResult<Json<Value>> {
    let t = app
        .store
        .with(|c| tenants::find(c, &tenant))?
        .ok_or_else(|| ApiError::NotFound(format!("no tenant {tenant:?}")))?;
    Ok(Json(json!(t)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RecordingsBody {
    count: i64,
    media_types: Option<Vec<String>>,
    start: Option<String>,
    end: Option<String>,
    tier: Option<String>,
}

/// Most recordings one call may create (keeps one transaction bounded).
const MAX_RECORDINGS_PER_CALL: i64 = 1_000_000;

fn validate_recordings(body: RecordingsBody, now: Instant) -> ApiResult<NewRecordings> {
    if !(1..=MAX_RECORDINGS_PER_CALL).contains(&body.count) {
        return Err(ApiError::BadRequest(format!(
            "count must be between 1 and {MAX_RECORDINGS_PER_CALL}, got {}",
            body.count
        )));
    }
    let media_types = body
        .media_types
        .unwrap_or_else(|| MEDIA_TYPES.iter().map(|m| m.to_string()).collect());
    if media_types.is_empty() {
        return Err(ApiError::BadRequest("media_types must not be empty".into()));
    }
    if let Some(bad) = media_types.iter().find(|m| !MEDIA_TYPES.contains(&m.as_str())) {
        return Err(ApiError::BadRequest(format!(
            "unknown media type {bad:?}; use VOICE, SCREEN or STATEMENT"
        )));
    }
    let parse = |field: &str, v: &Option<String>| -> ApiResult<Option<Instant>> {
        v.as_ref()
            .map(|s| {
                parse_rfc3339(s)
                    .ok_or_else(|| ApiError::BadRequest(format!("{field}: {s:?} is not an RFC3339 timestamp")))
            })
            .transpose()
    };
    let end = parse("end", &body.end)?.unwrap_or(now);
    let start = parse("start", &body.start)?.unwrap_or(end - chrono::Duration::days(7));
    if start >= end {
        return Err(ApiError::BadRequest(format!(
            "start ({}) must be before end ({})",
            rfc3339(start),
            rfc3339(end)
        )));
    }
    if end > now {
        return Err(ApiError::BadRequest(format!(
            "end ({}) is after the mock's now ({}): recordings cannot come from the future",
            rfc3339(end),
            rfc3339(now)
        )));
    }
    let tier = body.tier.unwrap_or_else(|| "active".into());
    if !CREATABLE_TIERS.contains(&tier.as_str()) {
        return Err(ApiError::BadRequest(format!(
            "tier {tier:?} is not one of active, long_term, custom"
        )));
    }
    Ok(NewRecordings {
        count: body.count as u64,
        media_types,
        start,
        end,
        tier,
    })
}

#[utoipa::path(post, path = "/_mock/tenants/{tenant}/recordings", tag = "control", request_body = RecordingsBody,
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 201, description = "How many were made", body = crate::api::openapi::RecordingsCreated)))]
async fn recordings_create(
    State(app): State<Arc<App>>,
    Path(tenant): Path<String>,
    ApiJson(body): ApiJson<RecordingsBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let t = app
        .store
        .with(|c| tenants::find(c, &tenant))?
        .ok_or_else(|| ApiError::NotFound(format!("no tenant {tenant:?}")))?;
    let req = validate_recordings(body, app.now())?;
    let a = app.clone();
    let tenant_id = t.tenant_id.clone();
    let created = blocking(move || {
        let now = a.now();
        a.store
            .tx(|c| recordings::create(c, a.seed, now, &tenant_id, &req))
            .map_err(ApiError::from)
    })
    .await?;
    lifecycle::nudge_faster_sea(&app, &t.tenant_id, t.faster_sea);
    Ok((
        StatusCode::CREATED,
        Json(json!({"created": created, "tenant_id": t.tenant_id})),
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct EventsQuery {
    since: Option<i64>,
    kind: Option<String>,
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/_mock/events", tag = "control", params(EventsQuery),
    responses((status = 200, description = "Events after `since`", body = crate::api::openapi::EventPage)))]
async fn events_list(
    State(app): State<Arc<App>>,
    q: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(q) = q.map_err(|e| ApiError::BadRequest(format!("invalid query: {}", e.body_text())))?;
    let since = q.since.unwrap_or(0);
    if since < 0 {
        return Err(ApiError::BadRequest("since must be 0 or more".into()));
    }
    let limit = q.limit.unwrap_or(1000).clamp(1, 100_000);
    let list = app.store.with(|c| events::list(c, since, q.kind.as_deref(), limit))?;
    let next_since = list.last().map_or(since, |e| e.seq);
    Ok(Json(json!({"events": list, "next_since": next_since})))
}

#[utoipa::path(post, path = "/_mock/reset", tag = "control",
    responses((status = 200, description = "Everything deleted; the clock back at its start", body = crate::api::openapi::ResetDone)))]
async fn reset(State(app): State<Arc<App>>) -> ApiResult<Json<Value>> {
    let a = app.clone();
    blocking(move || a.reset().map_err(ApiError::from)).await?;
    let demo = app.demo_tenant()?;
    Ok(Json(
        json!({"reset": true, "now": rfc3339(app.now()), "demo_tenant": demo.map(|t| json!({
        "tenant_id": t.tenant_id, "client_id": t.client_id, "client_secret": t.client_secret,
        "access_key_id": t.access_key_id, "access_key_secret": t.access_key_secret}))}),
    ))
}
