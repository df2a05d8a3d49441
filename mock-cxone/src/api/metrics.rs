//! `GET /metrics`: Prometheus text format 0.0.4 (docs/observability.md lists every family).
//!
//! Requests come from the running counters ([`crate::metrics`]); the state (SEA objects and
//! bytes, backlog, today's placements, jobs by status and category, faults fired by kind, per
//! tenant) is read from the store at scrape time ([`crate::stats`]), so it survives a restart
//! and never drifts from the dashboard. Served without authentication, as scrapers expect: it
//! holds counts and tenant ids, no secret, and is not `/api/v2`, so it answers through a
//! maintenance window.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::blocking;
use crate::app::App;
use crate::error::ApiResult;
use crate::metrics::{escape, family};
use crate::stats::{self, TenantOverview};
use crate::store::time::{to_us, Instant};

/// The Prometheus exposition format's content type.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `GET /metrics`.
pub fn router() -> Router<Arc<App>> {
    Router::new().route("/metrics", get(metrics_get))
}

#[utoipa::path(get, path = "/metrics", tag = "meta",
    responses((status = 200, description = "Requests, S3 operations, jobs, SEA objects and bytes, backlog and faults fired, in Prometheus text format 0.0.4 (docs/observability.md)",
        content_type = "text/plain", body = String)))]
pub(crate) async fn metrics_get(State(app): State<Arc<App>>) -> ApiResult<Response> {
    let a = app.clone();
    let text = blocking(move || {
        let now = a.now();
        let (tenants, untenanted) = a
            .store
            .with(|c| Ok((stats::tenants(c, now)?, stats::faults_fired(c, None)?)))?;
        let mut out = String::with_capacity(4096);
        a.metrics.write(&mut out);
        write_state(&mut out, now, &tenants, &untenanted);
        Ok(out)
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))], text).into_response())
}

/// The families read from the store.
fn write_state(out: &mut String, now: Instant, tenants: &[TenantOverview], untenanted: &BTreeMap<String, u64>) {
    family(
        out,
        "mock_cxone_clock_seconds",
        "gauge",
        "The mock clock's now, in Unix seconds.",
    );
    let _ = writeln!(out, "mock_cxone_clock_seconds {}", to_us(now) as f64 / 1e6);
    family(out, "mock_cxone_tenants", "gauge", "Tenants.");
    let _ = writeln!(out, "mock_cxone_tenants {}", tenants.len());
    type Field = fn(&TenantOverview) -> i64;
    let sea: [(&str, &str, Field); 5] = [
        (
            "mock_cxone_sea_objects",
            "Live objects in the tenant's SEA folder (placed, not expired or deleted).",
            |t| t.sea.objects,
        ),
        ("mock_cxone_sea_bytes", "Bytes of those objects.", |t| t.sea.bytes),
        (
            "mock_cxone_sea_backlog_files",
            "Files waiting for a later day because of the daily cap (S7).",
            |t| t.sea.backlog,
        ),
        (
            "mock_cxone_sea_placed_today",
            "Files placed in SEA on the mock's current UTC day.",
            |t| t.sea.placed_today,
        ),
        (
            "mock_cxone_sea_cap_per_day",
            "Files per tenant per UTC day that may enter SEA.",
            |t| t.sea.cap_per_day,
        ),
    ];
    for (name, help, field) in sea {
        family(out, name, "gauge", help);
        for t in tenants {
            let _ = writeln!(out, "{name}{{tenant=\"{}\"}} {}", escape(&t.tenant_id), field(t));
        }
    }
    family(
        out,
        "mock_cxone_jobs",
        "gauge",
        "Data Download jobs by tenant, category and status.",
    );
    for t in tenants {
        for (status, by_category) in &t.jobs {
            for (category, n) in by_category {
                let l = format!(
                    "tenant=\"{}\",category=\"{}\",status=\"{}\"",
                    escape(&t.tenant_id),
                    escape(category),
                    escape(status)
                );
                let _ = writeln!(out, "mock_cxone_jobs{{{l}}} {n}");
            }
        }
    }
    family(
        out,
        "mock_cxone_faults_fired_total",
        "counter",
        "Fault firings by tenant (empty: every tenant) and fault kind.",
    );
    let rows = tenants
        .iter()
        .map(|t| (t.tenant_id.as_str(), &t.faults_fired))
        .chain([("", untenanted)]);
    for (tenant, by_kind) in rows {
        for (kind, n) in by_kind {
            let _ = writeln!(
                out,
                "mock_cxone_faults_fired_total{{tenant=\"{}\",kind=\"{}\"}} {n}",
                escape(tenant),
                escape(kind)
            );
        }
    }
}
