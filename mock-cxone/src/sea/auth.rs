//! S3 request authentication backed by the store. Secrets are cached in memory, keyed by access
//! key and tagged with the store's access epoch: any change to a credential or tenant row
//! moves the epoch, so a regenerated SEA key is refused at once (S1) with `InvalidAccessKeyId`,
//! while an unchanged credential costs no SQLite query per request (the S3 hot path).

use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension};
use s3s::auth::{S3Auth, SecretKey};
use s3s::{s3_error, S3Result};

use crate::app::App;
use crate::store::StoreResult;

/// Who signed an S3 request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A tenant's SEA credential: its folder in `cxone-sea`, read and delete only.
    Sea {
        /// The tenant (and SEA folder).
        tenant_id: String,
    },
    /// A tenant's data-lake credential: its own buckets, full S3.
    DataLake {
        /// The tenant.
        tenant_id: String,
        /// KMS keys granted at issue time (F9): objects encrypted under any other key are
        /// `AccessDenied` to this credential.
        kms_keys: Vec<String>,
        /// The credential's access key id (F9 records one denial per credential and object).
        access_key_id: String,
    },
}

impl Caller {
    /// The tenant behind the credential.
    pub fn tenant_id(&self) -> &str {
        match self {
            Caller::Sea { tenant_id } | Caller::DataLake { tenant_id, .. } => tenant_id,
        }
    }
}

/// [`lookup`] through `app`'s cache (unknown keys too: issuing a key moves the store's epoch).
pub fn cached_lookup(app: &App, access_key: &str) -> StoreResult<Option<(Caller, String)>> {
    app.s3_callers.get(&app.store, access_key, |c| lookup(c, access_key))
}

/// Finds the caller and secret for an access key.
pub fn lookup(c: &Connection, access_key: &str) -> StoreResult<Option<(Caller, String)>> {
    let sea = c
        .prepare_cached("SELECT tenant_id, secret_access_key FROM sea_credentials WHERE access_key_id=?1")?
        .query_row([access_key], |r| Ok((Caller::Sea { tenant_id: r.get(0)? }, r.get(1)?)))
        .optional()?;
    if sea.is_some() {
        return Ok(sea);
    }
    Ok(c.prepare_cached(
        "SELECT tenant_id, secret_access_key, kms_keys FROM datalake_credentials WHERE access_key_id=?1",
    )?
    .query_row([access_key], |r| {
        let keys: String = r.get(2)?;
        let caller = Caller::DataLake {
            tenant_id: r.get(0)?,
            kms_keys: serde_json::from_str(&keys).unwrap_or_default(),
            access_key_id: access_key.to_string(),
        };
        Ok((caller, r.get(1)?))
    })
    .optional()?)
}

/// `S3Auth` over the store.
#[derive(Debug)]
pub struct StoreAuth {
    app: Arc<App>,
}

impl StoreAuth {
    /// Auth for `app`'s store.
    pub fn new(app: Arc<App>) -> Self {
        Self { app }
    }
}

#[async_trait::async_trait]
impl S3Auth for StoreAuth {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        match cached_lookup(&self.app, access_key) {
            Ok(Some((_, secret))) => Ok(SecretKey::from(secret)),
            Ok(None) => Err(s3_error!(
                InvalidAccessKeyId,
                "The AWS Access Key Id you provided does not exist in our records."
            )),
            Err(e) => {
                tracing::error!("s3 auth lookup: {e}");
                Err(s3_error!(InternalError))
            }
        }
    }
}

/// The access check s3s runs on every request once its signature is checked: s3s's own rule (a
/// signature is required), and, for the request's log line and metrics
/// ([`crate::observe::RequestNote`]), the operation's name and the caller's tenant.
#[derive(Debug)]
pub struct NoteAccess {
    app: Arc<App>,
}

impl NoteAccess {
    /// The check for `app`'s S3 listener.
    pub fn new(app: Arc<App>) -> Self {
        Self { app }
    }
}

#[async_trait::async_trait]
impl s3s::access::S3Access for NoteAccess {
    async fn check(&self, cx: &mut s3s::access::S3AccessContext<'_>) -> S3Result<()> {
        let note = cx.extensions_mut().get::<crate::observe::RequestNote>().cloned();
        if let Some(note) = &note {
            note.set_operation(cx.s3_op().name());
        }
        let Some(creds) = cx.credentials() else {
            return Err(s3_error!(AccessDenied, "Signature is required"));
        };
        if let (Some(note), Ok(Some((caller, _)))) = (&note, cached_lookup(&self.app, &creds.access_key)) {
            note.set_tenant(caller.tenant_id());
        }
        Ok(())
    }
}
