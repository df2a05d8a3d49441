//! SEA credentials (S1): one set per tenant; generating again replaces the pair, and S3 looks
//! secrets up per request, so the previous pair is refused at once.

use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use serde_json::json;

use crate::events::{self, NewEvent};
use crate::ids;
use crate::storage::daily_cap::SEA_BUCKET;
use crate::store::time::{from_us, rfc3339, to_us, Instant};
use crate::store::StoreResult;

/// `POST/GET /api/v2/sea/credentials`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SeaCredentials {
    /// S3 access key id.
    pub access_key_id: String,
    /// S3 secret; only in the POST response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_access_key: Option<String>,
    /// `<s3 endpoint>/<bucket>/<prefix>`.
    pub file_location: String,
    /// Always `cxone-sea`.
    pub bucket: String,
    /// `<tenant folder>/`.
    pub prefix: String,
    /// When generated.
    pub created_at: String,
}

/// The tenant's SEA folder prefix (`t-acme/`).
pub fn prefix(tenant_id: &str) -> String {
    format!("{tenant_id}/")
}

fn view(s3_url: &str, tenant_id: &str, key: String, secret: Option<String>, at: Instant) -> SeaCredentials {
    let prefix = prefix(tenant_id);
    SeaCredentials {
        access_key_id: key,
        secret_access_key: secret,
        file_location: format!("{s3_url}/{SEA_BUCKET}/{prefix}"),
        bucket: SEA_BUCKET.into(),
        prefix,
        created_at: rfc3339(at),
    }
}

/// Generates (or regenerates) the tenant's one SEA credential set.
pub fn generate(c: &Connection, s3_url: &str, tenant_id: &str, now: Instant) -> StoreResult<SeaCredentials> {
    let key = ids::access_key_id("SEA");
    let secret = ids::secret(40);
    let replaced: Option<String> = c
        .query_row(
            "SELECT access_key_id FROM sea_credentials WHERE tenant_id=?1",
            [tenant_id],
            |r| r.get(0),
        )
        .optional()?;
    c.execute(
        "INSERT INTO sea_credentials(tenant_id,access_key_id,secret_access_key,created_at) VALUES(?1,?2,?3,?4)
         ON CONFLICT(tenant_id) DO UPDATE SET access_key_id=excluded.access_key_id,
         secret_access_key=excluded.secret_access_key, created_at=excluded.created_at",
        rusqlite::params![tenant_id, key, secret, to_us(now)],
    )?;
    let detail = json!({"access_key_id": key, "replaced_access_key_id": replaced});
    events::record(
        c,
        now,
        &NewEvent::tenant("sea.credentials_generated", tenant_id, detail),
    )?;
    Ok(view(s3_url, tenant_id, key, Some(secret), now))
}

/// The tenant's current SEA credentials, without the secret.
pub fn current(c: &Connection, s3_url: &str, tenant_id: &str) -> StoreResult<Option<SeaCredentials>> {
    let row: Option<(String, i64)> = c
        .query_row(
            "SELECT access_key_id, created_at FROM sea_credentials WHERE tenant_id=?1",
            [tenant_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(row.map(|(key, at)| view(s3_url, tenant_id, key, None, from_us(at))))
}
