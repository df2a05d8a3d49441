//! Tenants: each has a name, a folder in SEA (its id), an API user with scopes, a KMS key.

use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::events::{self, NewEvent};
use crate::ids;
use crate::store::time::{rfc3339, to_us, Instant};
use crate::store::StoreResult;

/// A tenant as stored (secrets included: this is a mock, and `make run` prints them).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Tenant {
    /// Stable id, also the SEA folder name (`t-<slug>`).
    pub tenant_id: String,
    /// Display name, unique.
    pub name: String,
    /// OAuth client id of the tenant's API application.
    pub client_id: String,
    /// OAuth client secret.
    #[serde(skip_serializing)]
    pub client_secret: String,
    /// API user's access key id (the password grant's username).
    pub access_key_id: String,
    /// API user's access key secret (the password grant's password).
    #[serde(skip_serializing)]
    pub access_key_secret: String,
    /// Scopes the API user holds.
    pub scopes: Vec<String>,
    /// Faster SEA licence (S10).
    pub faster_sea: bool,
    /// KMS key that encrypts the tenant's objects (S8).
    pub kms_key_id: String,
    /// Whether `kms_key_id` is a custom key the tenant set.
    pub custom_kms: bool,
    /// Creation instant.
    pub created_at: String,
}

/// What `POST /_mock/tenants` asks for, already validated.
#[derive(Debug, Clone)]
pub struct NewTenant {
    /// Display name.
    pub name: String,
    /// Scopes (subset of the four).
    pub scopes: Vec<String>,
    /// Faster SEA licence.
    pub faster_sea: bool,
    /// Custom KMS key id, if any.
    pub kms_key_id: Option<String>,
}

/// Turns a display name into a folder-safe slug: lower-case alphanumerics and dashes.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for ch in name.chars() {
        if ch.is_ascii_alphanumeric() {
            out.push(ch.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let trimmed = out.trim_end_matches('-');
    if trimmed.is_empty() {
        "tenant".into()
    } else {
        trimmed.chars().take(40).collect()
    }
}

fn row_to_tenant(r: &rusqlite::Row<'_>) -> rusqlite::Result<Tenant> {
    let scopes: String = r.get(6)?;
    Ok(Tenant {
        tenant_id: r.get(0)?,
        name: r.get(1)?,
        client_id: r.get(2)?,
        client_secret: r.get(3)?,
        access_key_id: r.get(4)?,
        access_key_secret: r.get(5)?,
        scopes: serde_json::from_str(&scopes).unwrap_or_default(),
        faster_sea: r.get(7)?,
        kms_key_id: r.get(8)?,
        custom_kms: r.get(9)?,
        created_at: rfc3339(crate::store::time::from_us(r.get(10)?)),
    })
}

const COLUMNS: &str = "tenant_id,name,client_id,client_secret,access_key_id,access_key_secret,scopes,\
                       faster_sea,kms_key_id,custom_kms,created_at";

/// Finds a tenant by id, or else by name (so `/_mock/tenants/demo/...` works as well as `t-demo`).
pub fn find(c: &Connection, id_or_name: &str) -> StoreResult<Option<Tenant>> {
    let sql = format!("SELECT {COLUMNS} FROM tenants WHERE tenant_id=?1 OR name=?1 ORDER BY tenant_id=?1 DESC LIMIT 1");
    Ok(c.query_row(&sql, [id_or_name], row_to_tenant).optional()?)
}

/// Finds the tenant whose OAuth client id is `client_id`.
pub fn find_by_client(c: &Connection, client_id: &str) -> StoreResult<Option<Tenant>> {
    let sql = format!("SELECT {COLUMNS} FROM tenants WHERE client_id=?1");
    Ok(c.query_row(&sql, [client_id], row_to_tenant).optional()?)
}

/// Every tenant in creation order.
pub fn list(c: &Connection) -> StoreResult<Vec<Tenant>> {
    let sql = format!("SELECT {COLUMNS} FROM tenants ORDER BY seq");
    let mut st = c.prepare(&sql)?;
    let rows = st.query_map([], row_to_tenant)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Whether a tenant with this name exists.
pub fn name_taken(c: &Connection, name: &str) -> StoreResult<bool> {
    Ok(c.query_row("SELECT 1 FROM tenants WHERE name=?1", [name], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Creates a tenant (caller checked the name is free) and records the event.
pub fn create(c: &Connection, seed: u64, now: Instant, new: &NewTenant) -> StoreResult<Tenant> {
    let n = crate::store::next_counter(c, "tenant")?;
    let base = format!("t-{}", slug(&new.name));
    let mut tenant_id = base.clone();
    let mut suffix = 2;
    while find(c, &tenant_id)?.is_some_and(|t| t.tenant_id == tenant_id) {
        tenant_id = format!("{base}-{suffix}");
        suffix += 1;
    }
    let system_key = format!(
        "arn:aws:kms:us-east-1:000000000000:key/{}",
        ids::uuid(seed, "kms-key", n)
    );
    let tenant = Tenant {
        tenant_id,
        name: new.name.clone(),
        client_id: ids::uuid(seed, "client", n),
        client_secret: ids::secret(40),
        access_key_id: ids::access_key_id("CX"),
        access_key_secret: ids::secret(40),
        scopes: new.scopes.clone(),
        faster_sea: new.faster_sea,
        kms_key_id: new.kms_key_id.clone().unwrap_or(system_key),
        custom_kms: new.kms_key_id.is_some(),
        created_at: rfc3339(now),
    };
    c.execute(
        &format!("INSERT INTO tenants({COLUMNS},seq) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)"),
        rusqlite::params![
            tenant.tenant_id,
            tenant.name,
            tenant.client_id,
            tenant.client_secret,
            tenant.access_key_id,
            tenant.access_key_secret,
            serde_json::to_string(&tenant.scopes)?,
            tenant.faster_sea,
            tenant.kms_key_id,
            tenant.custom_kms,
            to_us(now),
            n as i64
        ],
    )?;
    let detail = serde_json::json!({"name": tenant.name, "faster_sea": tenant.faster_sea, "scopes": tenant.scopes});
    events::record(c, now, &NewEvent::tenant("tenant.created", &tenant.tenant_id, detail))?;
    Ok(tenant)
}

/// One KMS key a tenant has had (S8, F9): keys rotate, old ones stay enabled for decryption.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KmsKey {
    /// Key id (an ARN, or the custom id the tenant set).
    pub key_id: String,
    /// When it became the tenant's current key (RFC3339).
    pub since: String,
    /// The `kms_key_rotation` fault rule that made it current, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault_id: Option<String>,
}

/// Where a tenant's key history is kept (the `meta` table; absent until the first rotation).
fn kms_history_key(tenant_id: &str) -> String {
    format!("kms_keys.{tenant_id}")
}

/// Every key the tenant has had, oldest first; the last is its current key. Empty when there is
/// no such tenant.
pub fn kms_history(c: &Connection, tenant_id: &str) -> StoreResult<Vec<KmsKey>> {
    if let Some(s) = crate::store::meta_get(c, &kms_history_key(tenant_id))? {
        return Ok(serde_json::from_str(&s)?);
    }
    Ok(find(c, tenant_id)?
        .filter(|t| t.tenant_id == tenant_id)
        .map(|t| KmsKey {
            key_id: t.kms_key_id,
            since: t.created_at,
            fault_id: None,
        })
        .into_iter()
        .collect())
}

/// The key ids of [`kms_history`]: what a data-lake credential issued now is granted (F9).
pub fn kms_keys(c: &Connection, tenant_id: &str) -> StoreResult<Vec<String>> {
    Ok(kms_history(c, tenant_id)?.into_iter().map(|k| k.key_id).collect())
}

/// Rotates the tenant's current KMS key to `new_key_id` at `at` (F9), keeping the history.
/// Returns the previous key, or `None` when there is no such tenant.
pub fn rotate_kms_key(
    c: &Connection,
    tenant_id: &str,
    new_key_id: &str,
    at: Instant,
    fault_id: Option<&str>,
) -> StoreResult<Option<String>> {
    let mut history = kms_history(c, tenant_id)?;
    let Some(old) = history.last().map(|k| k.key_id.clone()) else {
        return Ok(None);
    };
    c.execute(
        "UPDATE tenants SET kms_key_id=?2 WHERE tenant_id=?1",
        [tenant_id, new_key_id],
    )?;
    history.push(KmsKey {
        key_id: new_key_id.to_string(),
        since: rfc3339(at),
        fault_id: fault_id.map(str::to_string),
    });
    crate::store::meta_set(c, &kms_history_key(tenant_id), &serde_json::to_string(&history)?)?;
    Ok(Some(old))
}

#[cfg(test)]
mod tests {
    use super::slug;

    #[test]
    fn slugs_are_folder_safe() {
        assert_eq!(slug("Acme Corp."), "acme-corp");
        assert_eq!(slug("demo"), "demo");
        assert_eq!(slug("!!!"), "tenant");
    }
}
