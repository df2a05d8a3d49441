//! Data-lake credentials (CONTRACT §4): every call issues a new pair, earlier pairs keep working.
//! A pair is granted the tenant's KMS keys as they are when it is issued — every key the tenant
//! has had, the current one included — and never the keys of later rotations (F9): objects
//! encrypted after a rotation are `AccessDenied` to it (see `lake_bucket`), a new pair reads all.

use rusqlite::Connection;
use serde::Serialize;
use serde_json::json;

use crate::events::{self, NewEvent};
use crate::ids;
use crate::store::time::{rfc3339, to_us, Instant};
use crate::store::StoreResult;

/// `POST /api/v2/data-lake/credentials` → 201.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DataLakeCredentials {
    /// S3 access key id.
    pub access_key_id: String,
    /// S3 secret.
    pub secret_access_key: String,
    /// The S3 endpoint URL.
    pub endpoint: String,
    /// When issued.
    pub created_at: String,
}

/// Issues a new data-lake credential pair for the tenant, granted every KMS key the tenant has
/// had so far (`kms_key_id`, its current key, included).
pub fn issue(
    c: &Connection,
    s3_url: &str,
    tenant_id: &str,
    kms_key_id: &str,
    now: Instant,
) -> StoreResult<DataLakeCredentials> {
    let key = ids::access_key_id("DL");
    let secret = ids::secret(40);
    let mut granted = crate::auth::tenants::kms_keys(c, tenant_id)?;
    if !granted.iter().any(|k| k == kms_key_id) {
        granted.push(kms_key_id.to_string());
    }
    let keys = serde_json::to_string(&granted)?;
    c.execute(
        "INSERT INTO datalake_credentials(access_key_id,tenant_id,secret_access_key,kms_keys,created_at) VALUES(?1,?2,?3,?4,?5)",
        rusqlite::params![key, tenant_id, secret, keys, to_us(now)],
    )?;
    events::record(
        c,
        now,
        &NewEvent::tenant("datalake.credentials_issued", tenant_id, json!({"access_key_id": key})),
    )?;
    Ok(DataLakeCredentials {
        access_key_id: key,
        secret_access_key: secret,
        endpoint: s3_url.into(),
        created_at: rfc3339(now),
    })
}
