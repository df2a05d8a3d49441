//! OAuth tokens: opaque access and refresh tokens stored with their expiry (mock clock), plus a
//! JWT `id_token` carrying `tenantId` as CXone's does.

use chrono::Duration;
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use serde_json::json;

use super::tenants::Tenant;
use super::{jwt, AREA};
use crate::ids;
use crate::store::time::{from_us, to_us, Instant};
use crate::store::StoreResult;

/// Access tokens live an hour (`expires_in: 3600`), on the mock clock.
pub const ACCESS_TTL_SECONDS: i64 = 3600;
/// Refresh tokens live a week.
pub const REFRESH_TTL_SECONDS: i64 = 7 * 86_400;

/// The token endpoint's success body.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    /// Bearer token for `/api/v2` and `/data-extraction`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until `access_token` expires.
    pub expires_in: i64,
    /// Trade for a new access token with `grant_type=refresh_token`.
    pub refresh_token: String,
    /// JWT with `tenantId`, `area`, `iss`, `aud`, `sub`, `iat`, `exp`.
    pub id_token: String,
    /// Space-separated scopes granted.
    pub scope: String,
}

/// Who a valid token speaks for.
#[derive(Debug, Clone)]
pub struct Grant {
    /// Tenant the token belongs to.
    pub tenant_id: String,
    /// Subject (the API user).
    pub subject: String,
    /// Scopes it carries.
    pub scopes: Vec<String>,
}

/// Issues an access + refresh token pair for `tenant` with `scopes`.
pub fn issue(
    c: &Connection,
    issuer: &str,
    jwt_key: &[u8],
    tenant: &Tenant,
    subject: &str,
    scopes: &[String],
    now: Instant,
) -> StoreResult<TokenResponse> {
    let access_token = ids::secret(48);
    let refresh_token = ids::secret(48);
    let scope = scopes.join(" ");
    let insert = "INSERT INTO tokens(token,kind,tenant_id,subject,scopes,expires_at) VALUES(?1,?2,?3,?4,?5,?6)";
    let access_exp = now + Duration::seconds(ACCESS_TTL_SECONDS);
    let refresh_exp = now + Duration::seconds(REFRESH_TTL_SECONDS);
    c.execute(
        insert,
        rusqlite::params![
            access_token,
            "access",
            tenant.tenant_id,
            subject,
            scope,
            to_us(access_exp)
        ],
    )?;
    c.execute(
        insert,
        rusqlite::params![
            refresh_token,
            "refresh",
            tenant.tenant_id,
            subject,
            scope,
            to_us(refresh_exp)
        ],
    )?;
    let claims = json!({
        "iss": issuer, "aud": tenant.client_id, "sub": subject,
        "iat": now.timestamp(), "exp": access_exp.timestamp(),
        "tenantId": tenant.tenant_id, "area": AREA, "name": tenant.name,
    });
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: ACCESS_TTL_SECONDS,
        refresh_token,
        id_token: jwt::sign(&claims, jwt_key),
        scope,
    })
}

/// Looks up a token of `kind` that has not expired at `now`.
pub fn lookup(c: &Connection, token: &str, kind: &str, now: Instant) -> StoreResult<Option<Grant>> {
    let row = c
        .query_row(
            "SELECT tenant_id,subject,scopes,expires_at FROM tokens WHERE token=?1 AND kind=?2",
            [token, kind],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            },
        )
        .optional()?;
    Ok(row.and_then(|(tenant_id, subject, scopes, exp)| {
        (from_us(exp) > now).then(|| Grant {
            tenant_id,
            subject,
            scopes: scopes.split_whitespace().map(str::to_string).collect(),
        })
    }))
}

/// Revokes a refresh token once it has been traded (rotation, as OAuth servers do).
pub fn revoke(c: &Connection, token: &str) -> StoreResult<()> {
    c.execute("DELETE FROM tokens WHERE token=?1", [token])?;
    Ok(())
}

/// Drops tokens expired before `now` (housekeeping during lifecycle runs).
pub fn purge_expired(c: &Connection, now: Instant) -> StoreResult<usize> {
    Ok(c.execute("DELETE FROM tokens WHERE expires_at <= ?1", [to_us(now)])?)
}
