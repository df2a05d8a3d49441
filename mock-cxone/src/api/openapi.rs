//! The OpenAPI 3.1 document of the REST listener, generated from the code: every handler carries
//! a `#[utoipa::path]` (method, path, parameters, body, success answers), the request and
//! response types derive `ToSchema`, and [`ApiDoc`] lists them. What every operation of a kind
//! shares is added here once, by [`Common`], from the same rules the middleware and extractors
//! apply (so the error answers cannot drift per handler):
//!
//! - bearer-token operations (`/api/v2`, `/data-extraction`, except the presigned result) answer
//!   401 (no, bad or expired token), 403 (scope missing) and 503 (maintenance window, F10);
//! - `/_mock` answers 401 when an admin token is configured (CONTRACT §5) and it is missing;
//! - a JSON request body can be refused with 400 (malformed, wrong field), 413 (over 1 MiB) and
//!   415 (not `application/json`); a path parameter names something that may not exist (404);
//!   query parameters can be malformed (400).
//!
//! Served at `GET /openapi.json`, with a self-contained page at `GET /docs` (`docs.html`, no
//! framework, no CDN: the mock runs where there is no network) that lists the operations by tag
//! and sends requests with a bearer or admin token.

use std::sync::{Arc, OnceLock};

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, Response as OaResponse, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToSchema};

use super::{auth, control, dashboard, downloads, extraction, faults, metrics, scenarios, storage, truth};
use crate::app::App;

/// Routes of the document and of its page (no authentication: nothing secret is in them).
pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/openapi.json", get(openapi_json))
        .route("/docs", get(docs_page))
}

/// The document.
#[utoipa::path(get, path = "/openapi.json", tag = "meta",
    responses((status = 200, description = "This OpenAPI 3.1 document", content_type = "application/json", body = Object)))]
async fn openapi_json() -> Response {
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        spec_json(),
    )
        .into_response()
}

/// The interactive page.
#[utoipa::path(get, path = "/docs", tag = "meta",
    responses((status = 200, description = "The interactive API page (HTML, self-contained)", content_type = "text/html", body = String)))]
async fn docs_page() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        DOCS_HTML,
    )
        .into_response()
}

/// The page behind `/docs` (embedded: nothing is fetched at build or run time).
const DOCS_HTML: &str = include_str!("docs.html");

/// The document as JSON, built once.
pub fn spec_json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        ApiDoc::openapi()
            .to_json()
            .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    })
}

/// The whole REST API, as OpenAPI 3.1.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "mock-cxone REST API",
        description = "The NICE CXone API surface mock-cxone serves (OAuth token, SEA and data-lake credentials, \
cloud storage, Data Download, Data Extraction) and its control API (`/_mock`: tenants, clock, faults, scenarios, \
ground truth, events, reset). The S3 endpoint is another listener and is not described here.",
        license(name = "MIT OR Apache-2.0")
    ),
    paths(
        openapi_json, docs_page,
        auth::openid_configuration, auth::cxone_configuration, auth::token_create,
        storage::sea_credentials_create, storage::sea_credentials_get, storage::files_list,
        storage::backlog_get, storage::usage_get, storage::rules_create, storage::rules_list,
        storage::rules_get, storage::rules_update, storage::rules_delete,
        storage::datalake_credentials_create,
        downloads::downloads_create, downloads::downloads_list, downloads::schemas_get,
        downloads::downloads_get, downloads::downloads_replace, downloads::downloads_delete,
        downloads::jobs_list, downloads::jobs_get, downloads::manual_export_create,
        extraction::jobs_create, extraction::jobs_list, extraction::jobs_get, extraction::results_get,
        control::health_get, control::clock_get, control::clock_advance, control::tenants_create,
        control::tenants_list, control::tenants_get, control::recordings_create, control::events_list,
        control::reset,
        faults::faults_create, faults::faults_list, faults::faults_get, faults::faults_delete,
        scenarios::scenarios_load,
        truth::truth_get,
        dashboard::index_html, dashboard::app_js, dashboard::style_css, dashboard::overview_get,
        dashboard::sea_get, dashboard::jobs_get, dashboard::object_get,
        metrics::metrics_get,
    ),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&Common),
    tags(
        (name = "auth", description = "Discovery documents and the OAuth token endpoint (CONTRACT §2)"),
        (name = "storage", description = "SEA credentials, cloud storage files, usage, lifecycle rules, data-lake credentials (CONTRACT §3-4)"),
        (name = "data-downloads", description = "Data Download configurations, jobs and manual exports (CONTRACT §4)"),
        (name = "data-extraction", description = "CXone Data Extraction jobs and their presigned CSV results (CONTRACT §4)"),
        (name = "control", description = "The mock's control API (CONTRACT §5): needs the admin token when one is configured"),
        (name = "meta", description = "This document, its interactive page, the dashboard page with its assets, and the Prometheus metrics"),
    )
)]
pub struct ApiDoc;

/// Every error of the REST API: `{"error":{"code","message","request_id"}}` (the OAuth endpoint
/// adds `error_description`; a refused scenario adds `line` and `column` to `error`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
    /// RFC 6749 description (token endpoint only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

/// The `error` object.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable code, e.g. `bad_request`, `not_found`, `unauthorized`, `invalid_grant`.
    pub code: String,
    /// Human explanation naming the problem.
    pub message: String,
    /// `req-<n>`, also in the mock's log.
    pub request_id: String,
    /// Line of a refused scenario file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Column of a refused scenario file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u64>,
}

/// The bearer-token security scheme's name.
pub const BEARER: &str = "bearer";
/// The HTTP Basic scheme of `/auth/token`.
pub const BASIC: &str = "basic";
/// The control API's admin token.
pub const ADMIN: &str = "admin_token";

/// Adds the security schemes, and what every operation of a kind shares (module doc).
struct Common;

impl Modify for Common {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("access_token from POST /auth/token"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            BASIC,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some("client_id:client_secret of the tenant's API application"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            ADMIN,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "x-mock-admin-token",
                "The admin token printed at start; needed when the API listens beyond loopback \
                 (`Authorization: Bearer <token>` works too)",
            ))),
        );
        for (path, item) in doc.paths.paths.iter_mut() {
            for_each_operation(item, |op| add_common(path, op));
        }
    }
}

fn for_each_operation(item: &mut PathItem, mut f: impl FnMut(&mut Operation)) {
    for op in [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .flatten()
    {
        f(op);
    }
}

/// Whether `path` is behind the bearer token (what `Principal` guards).
fn needs_bearer(path: &str) -> bool {
    (path.starts_with("/api/v2/") || path.starts_with("/data-extraction/")) && !path.contains("/results/")
}

/// Whether `path` closes in a maintenance window (`maintenance::gate`).
fn closes_for_maintenance(path: &str) -> bool {
    path.starts_with("/api/v2/") || path.starts_with("/data-extraction/")
}

fn error(description: &str) -> RefOr<OaResponse> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                Content::new(Some(RefOr::Ref(Ref::from_schema_name("ErrorBody")))),
            )
            .build(),
    )
}

fn add_error(op: &mut Operation, status: &str, description: &str) {
    op.responses
        .responses
        .entry(status.to_string())
        .or_insert_with(|| error(description));
}

fn add_common(path: &str, op: &mut Operation) {
    let json_body = op
        .request_body
        .as_ref()
        .is_some_and(|b| b.content.contains_key("application/json"));
    if json_body {
        add_error(op, "400", "Malformed JSON, an unknown or invalid field");
        add_error(op, "413", "Body over 1 MiB");
        add_error(op, "415", "Body is not Content-Type: application/json");
    }
    if op.request_body.is_some() {
        add_error(op, "413", "Body over 1 MiB");
    }
    let params = op.parameters.as_deref().unwrap_or_default();
    let has = |place: ParameterIn| params.iter().any(|p| p.parameter_in == place);
    let (in_path, in_query) = (has(ParameterIn::Path), has(ParameterIn::Query));
    if in_path {
        add_error(op, "404", "No such resource (for this tenant)");
    }
    if in_query {
        add_error(op, "400", "A malformed or invalid query parameter");
    }
    if needs_bearer(path) {
        add_error(op, "401", "No, malformed, invalid or expired bearer token");
        add_error(op, "403", "The token lacks the scope this operation needs");
        op.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new::<
            &str,
            [&str; 0],
            &str,
        >(BEARER, [])]);
    }
    if closes_for_maintenance(path) {
        add_error(op, "503", "A maintenance window is open (F10); see Retry-After");
    }
    if path.starts_with("/_mock/") {
        if path != "/_mock/health" {
            add_error(op, "401", "An admin token is configured and was not given");
        }
        op.security = Some(vec![
            utoipa::openapi::security::SecurityRequirement::default(),
            utoipa::openapi::security::SecurityRequirement::new::<&str, [&str; 0], &str>(ADMIN, []),
        ]);
    }
}

// ---------------------------------------------------------------------------------------------
// Shapes of the answers the handlers build with `json!` (the handlers' own types are used
// wherever they have one).
// Only the documentation uses them; their fields are the JSON's names, so they carry docs
// where a name alone does not say enough (missing_docs is allowed on them).
// ---------------------------------------------------------------------------------------------

/// `GET /.well-known/openid-configuration`.
#[allow(missing_docs)]
#[derive(Serialize, ToSchema)]
pub struct OpenIdConfiguration {
    pub issuer: String,
    pub token_endpoint: String,
    pub grant_types_supported: Vec<String>,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    pub scopes_supported: Vec<String>,
    pub response_types_supported: Vec<String>,
    pub id_token_signing_alg_values_supported: Vec<String>,
    pub claims_supported: Vec<String>,
}

/// `GET /.well-known/cxone-configuration`.
#[allow(missing_docs)]
#[derive(Serialize, ToSchema)]
pub struct CxoneConfiguration {
    pub api_endpoint: String,
    pub area: String,
    pub cluster: String,
    pub domain: String,
}

/// The form of `POST /auth/token` (client credentials may come in HTTP Basic instead).
#[allow(missing_docs)]
#[derive(Serialize, ToSchema)]
pub struct TokenForm {
    /// `password`, `client_credentials` or `refresh_token`.
    pub grant_type: String,
    /// The API access key id (password grant).
    pub username: Option<String>,
    /// The API access key secret (password grant).
    pub password: Option<String>,
    /// Space-separated scopes; all the tenant holds when absent.
    pub scope: Option<String>,
    /// The refresh token (refresh_token grant).
    pub refresh_token: Option<String>,
    /// Client id, when not in HTTP Basic.
    pub client_id: Option<String>,
    /// Client secret, when not in HTTP Basic.
    pub client_secret: Option<String>,
}

/// `GET /_mock/health`.
#[allow(missing_docs)]
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`, or `starting` (503).
    pub status: String,
    pub api: String,
    pub s3: String,
    pub now: String,
    pub seed: u64,
}

/// The mock clock.
#[allow(missing_docs)]
#[derive(Serialize, ToSchema)]
pub struct ClockView {
    /// RFC3339.
    pub now: String,
    /// `frozen` or `running`.
    pub mode: String,
}

/// `POST /_mock/tenants` → 201: the tenant with its secrets.
#[allow(missing_docs)]
#[derive(Serialize, ToSchema)]
pub struct TenantCreated {
    pub tenant_id: String,
    pub name: String,
    pub client_id: String,
    pub client_secret: String,
    pub access_key_id: String,
    pub access_key_secret: String,
    pub scopes: Vec<String>,
    pub faster_sea: bool,
    pub kms_key_id: String,
}

/// `GET /_mock/tenants`.
#[allow(missing_docs)]
#[derive(Serialize, ToSchema)]
pub struct TenantList {
    pub tenants: Vec<crate::auth::tenants::Tenant>,
}

/// `POST /_mock/tenants/{tenant}/recordings` → 201.
#[allow(missing_docs)]
#[derive(Serialize, ToSchema)]
pub struct RecordingsCreated {
    pub created: u64,
    pub tenant_id: String,
}

/// `GET /_mock/events`.
#[allow(missing_docs)]
#[derive(Serialize, ToSchema)]
pub struct EventPage {
    pub events: Vec<crate::events::Event>,
    /// Pass as `since` for the next page.
    pub next_since: i64,
}

/// `POST /_mock/reset`.
#[allow(missing_docs)]
#[derive(Serialize, ToSchema)]
pub struct ResetDone {
    pub reset: bool,
    pub now: String,
    /// The demo tenant's credentials, when `serve --demo` made one.
    pub demo_tenant: Option<Value>,
}

/// A fault rule as served: the rule as given, plus its state.
#[allow(missing_docs)]
#[derive(Serialize, ToSchema)]
pub struct FaultRule {
    pub id: String,
    pub kind: String,
    pub tenant_id: Option<String>,
    pub download_id: Option<String>,
    pub category: Option<String>,
    pub data_type: Option<String>,
    pub from: Option<String>,
    pub until: Option<String>,
    pub next_jobs: Option<u32>,
    pub probability: Option<f64>,
    pub params: Option<Value>,
    /// Jobs it may still fire on; null for unlimited.
    pub remaining_jobs: Option<u32>,
    pub fired: u64,
    pub created_at: String,
}

/// `GET /_mock/faults`.
#[allow(missing_docs)]
#[derive(Serialize, ToSchema)]
pub struct FaultList {
    pub faults: Vec<FaultRule>,
}

/// `POST /_mock/scenarios` → 201: what was loaded (tenants with credentials, recordings, rules,
/// downloads, fault ids, the timeline entries performed, the clock after).
#[allow(missing_docs)]
#[derive(Serialize, ToSchema)]
pub struct ScenarioLoaded(pub std::collections::HashMap<String, Value>);

/// `GET /_mock/truth`: the records (`format=records`) or `{"count","checksum"}` (`format=summary`).
#[allow(missing_docs)]
#[derive(Serialize, ToSchema)]
pub struct Truth {
    pub key_columns: Option<Vec<String>>,
    pub event_time_column: Option<String>,
    pub records: Option<Vec<Value>>,
    pub count: Option<u64>,
    pub checksum: Option<String>,
}

/// A Data Download configuration as served: the body with defaults filled in (the external
/// secret masked), plus its state.
#[allow(missing_docs)]
#[derive(Serialize, ToSchema)]
pub struct DataDownload {
    pub id: String,
    /// `ACTIVE` or `SUSPENDED`.
    pub status: String,
    pub status_reason: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub next_interval_start: String,
    pub name: Option<String>,
    pub category: String,
    pub data_types: Vec<String>,
    pub format: String,
    pub compression: Option<String>,
    pub partitioning: crate::download::config::Partitioning,
    pub schedule: Option<crate::download::config::Schedule>,
    pub destination: crate::download::config::Destination,
    pub retention: Option<crate::download::config::Retention>,
}

/// `GET /api/v2/data-downloads`.
#[allow(missing_docs)]
#[derive(Serialize, ToSchema)]
pub struct DataDownloadList {
    pub data_downloads: Vec<DataDownload>,
}

/// `GET /api/v2/data-downloads/schemas`: per category, its default frequency and data types
/// (columns, key columns, event-time column).
#[allow(missing_docs)]
#[derive(Serialize, ToSchema)]
pub struct Schemas {
    pub categories: std::collections::HashMap<String, Value>,
}

/// A Data Download job (CONTRACT §4 JOB).
#[allow(missing_docs)]
#[derive(Serialize, ToSchema)]
pub struct DownloadJob {
    pub id: String,
    pub download_id: String,
    pub category: String,
    /// PENDING, RUNNING, COMPLETED, FAILED or TIMED_OUT.
    pub status: String,
    /// `scheduled` or `manual`.
    pub kind: String,
    pub start_time: String,
    /// Set once the job has ended.
    pub end_time: Option<String>,
    pub interval_start: String,
    pub interval_end: String,
    pub output_files: Vec<String>,
    pub manifests: Vec<String>,
    pub record_count: u64,
    pub record_counts: std::collections::BTreeMap<String, u64>,
    pub checksums: std::collections::BTreeMap<String, String>,
    pub error_details: Option<String>,
}

/// A page of jobs.
#[allow(missing_docs)]
#[derive(Serialize, ToSchema)]
pub struct JobPage {
    pub jobs: Vec<DownloadJob>,
    /// Pass as `page_token` for the next page; null on the last.
    pub next_page_token: Option<String>,
}

/// `POST .../manual-export` → 202: the jobs made.
#[allow(missing_docs)]
#[derive(Serialize, ToSchema)]
pub struct ManualExportJobs {
    pub jobs: Vec<DownloadJob>,
}

/// An extraction job in a listing.
#[allow(missing_docs)]
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExtractionJobSummary {
    pub id: String,
    /// RUNNING, SUCCEEDED, FAILED, CANCELLED or EXPIRED.
    pub status: String,
    pub entity_name: String,
    pub version: String,
    pub start_date: String,
    pub end_date: String,
    pub created_at: String,
}

/// `GET /data-extraction/v1/jobs`.
#[allow(missing_docs)]
#[derive(Serialize, ToSchema)]
pub struct ExtractionJobList {
    pub jobs: Vec<ExtractionJobSummary>,
}

/// `result` of an extraction job.
#[allow(missing_docs)]
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExtractionResult {
    /// Presigned CSV URL once SUCCEEDED.
    pub url: Option<String>,
    pub error_message: Option<String>,
}

/// `jobStatus` of `GET /data-extraction/v1/jobs/{id}`.
#[allow(missing_docs)]
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExtractionJobStatus {
    pub id: String,
    pub status: String,
    pub entity_name: String,
    pub version: String,
    pub start_date: String,
    pub end_date: String,
    pub created_at: String,
    pub result: ExtractionResult,
    pub completed_at: Option<String>,
    pub expires_at: Option<String>,
}

/// `GET /data-extraction/v1/jobs/{id}`.
#[allow(missing_docs)]
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExtractionJobView {
    pub job_status: ExtractionJobStatus,
}

/// `GET /api/v2/storage/sea/backlog`.
#[allow(missing_docs)]
#[derive(Serialize, ToSchema)]
pub struct SeaBacklog {
    pub backlog: i64,
    pub cap_per_day: i64,
    pub placed_today: i64,
}

/// `GET /api/v2/storage/lifecycle-rules`.
#[allow(missing_docs)]
#[derive(Serialize, ToSchema)]
pub struct LifecycleRuleList {
    pub rules: Vec<crate::storage::rules::Rule>,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The REST routers' source: every route call in them (path, then the method routers) is
    /// read by `routes_in`, so a route added without a `#[utoipa::path]` listed in [`ApiDoc`] fails `every_route_is_in_the_spec`.
    const ROUTER_SOURCES: [(&str, &str); 12] = [
        ("auth.rs", include_str!("auth.rs")),
        ("control.rs", include_str!("control.rs")),
        ("dashboard.rs", include_str!("dashboard.rs")),
        ("downloads.rs", include_str!("downloads.rs")),
        ("extraction.rs", include_str!("extraction.rs")),
        ("faults.rs", include_str!("faults.rs")),
        ("metrics.rs", include_str!("metrics.rs")),
        ("scenarios.rs", include_str!("scenarios.rs")),
        ("storage.rs", include_str!("storage.rs")),
        ("truth.rs", include_str!("truth.rs")),
        ("openapi.rs", include_str!("openapi.rs")),
        ("mod.rs", include_str!("mod.rs")),
    ];

    /// (METHOD, path) of every route in `src`.
    fn routes_in(src: &str) -> Vec<(String, String)> {
        let mut out = vec![];
        let needle = concat!(".route", "(");
        let mut rest = src;
        while let Some(at) = rest.find(needle) {
            rest = &rest[at + needle.len()..];
            // The call's argument text, up to its closing parenthesis.
            let mut depth = 1usize;
            let mut end = rest.len();
            for (i, ch) in rest.char_indices() {
                match ch {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let args = &rest[..end];
            let Some(q0) = args.find('"') else { continue };
            let Some(q1) = args[q0 + 1..].find('"') else { continue };
            let path = &args[q0 + 1..q0 + 1 + q1];
            let methods = &args[q0 + 2 + q1..];
            for m in ["get", "post", "put", "delete", "patch"] {
                let call = format!("{m}(");
                let hit = methods
                    .match_indices(&call)
                    .any(|(i, _)| i == 0 || !methods[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_'));
                if hit {
                    out.push((m.to_uppercase(), path.to_string()));
                }
            }
        }
        out
    }

    fn spec_operations() -> BTreeSet<(String, String)> {
        let doc: Value = serde_json::from_str(spec_json()).expect("the document is JSON");
        let mut ops = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for m in item.as_object().expect("path item").keys() {
                if ["get", "post", "put", "delete", "patch"].contains(&m.as_str()) {
                    ops.insert((m.to_uppercase(), path.clone()));
                }
            }
        }
        ops
    }

    #[test]
    fn every_route_is_in_the_spec_and_back() {
        let mut routed = BTreeSet::new();
        for (file, src) in ROUTER_SOURCES {
            for r in routes_in(src) {
                assert!(routed.insert(r.clone()), "{file}: {r:?} routed twice");
            }
        }
        assert!(routed.len() > 40, "the route scan found only {routed:?}");
        let spec = spec_operations();
        let missing: Vec<_> = routed.difference(&spec).collect();
        assert!(missing.is_empty(), "routes without an OpenAPI operation: {missing:?}");
        let extra: Vec<_> = spec.difference(&routed).collect();
        assert!(extra.is_empty(), "OpenAPI operations no router serves: {extra:?}");
    }

    #[test]
    fn document_is_openapi_3_1_with_security_and_error_bodies() {
        let doc: Value = serde_json::from_str(spec_json()).expect("the document is JSON");
        assert!(
            doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")),
            "{}",
            doc["openapi"]
        );
        let schemes = &doc["components"]["securitySchemes"];
        for s in [BEARER, BASIC, ADMIN] {
            assert!(schemes.get(s).is_some(), "security scheme {s} missing");
        }
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("path item") {
                let responses = op["responses"].as_object().expect("responses");
                for (status, r) in responses {
                    if status.starts_with('4') {
                        let schema = &r["content"]["application/json"]["schema"]["$ref"];
                        assert_eq!(
                            schema, "#/components/schemas/ErrorBody",
                            "{method} {path} {status} has no error body"
                        );
                    }
                }
                if needs_bearer(path) {
                    assert_eq!(op["security"][0][BEARER], serde_json::json!([]), "{method} {path}");
                    assert!(responses.contains_key("401") && responses.contains_key("403"));
                }
            }
        }
    }

    #[test]
    fn the_docs_page_is_self_contained() {
        assert!(DOCS_HTML.contains("/openapi.json"));
        for outside in ["http://", "https://", "<link", "src=\"http"] {
            assert!(
                !DOCS_HTML.contains(outside),
                "docs.html loads something from outside: {outside}"
            );
        }
    }
}
