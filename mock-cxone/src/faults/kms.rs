//! `kms_key_rotation` (F9, the guide's "Silent IAM Denials & Cross-Account KMS Rotation"): at
//! `params.at` the tenant's current KMS key changes. Objects written afterwards (exports and S3
//! uploads) are encrypted under the new key; a data-lake credential issued before the rotation
//! was granted only the keys current then, so its reads of those objects are `AccessDenied`
//! with KMS's message while the jobs that wrote them say COMPLETED. A credential issued after
//! the rotation is granted every key and reads both. Listing needs no key.
//!
//! - The rotation is an engine task at `at` (`Task::Fault`), rebuilt from the stored rules at
//!   start-up; a rule whose `at` has already passed rotates at once. A rule rotates once: the
//!   `meta` table remembers it (`kms_rotated.<fault id>`).
//! - Target: `tenant_id`, or every tenant existing at `at` when absent; `probability` draws per
//!   tenant. `download_id`, `category`, `data_type`, `from`/`until` and `next_jobs` play no
//!   part (a key belongs to the tenant).
//! - The new key id is `arn:aws:kms:…:key/<uuid>` derived from the seed, the rule and the tenant,
//!   in the account and region of the previous key when that one is an ARN.
//! - Ledger: one `fault` event per rotated tenant (`old_kms_key_id`, `new_kms_key_id`), and one
//!   per (credential, object) the first time that credential is refused that object, with the
//!   object's `s3://bucket/key` in `objects` and the fault of the rotation that introduced the
//!   object's key.

use rusqlite::Connection;
use serde_json::json;

use super::params::Params;
use super::rules::{self, Rule};
use super::Target;
use crate::app::App;
use crate::auth::tenants;
use crate::engine::Task;
use crate::events::{self, NewEvent};
use crate::ids;
use crate::store::time::{rfc3339, Instant};
use crate::store::{meta_get, meta_set, StoreResult};

/// S3's message when the object's key is one the caller may not use (KMS AccessDeniedException
/// surfaced through S3 as `AccessDenied`).
pub const DENIED_MESSAGE: &str = "The ciphertext refers to a customer master key that does not exist, \
     does not exist in this region, or you are not allowed to access.";

const DEFAULT_ARN_PREFIX: &str = "arn:aws:kms:us-east-1:000000000000:key/";

fn applied_key(fault_id: &str) -> String {
    format!("kms_rotated.{fault_id}")
}

/// The instant a rotation rule acts at, if it is one.
fn rotation_at(rule: &Rule) -> Option<Instant> {
    match rule.params {
        Params::KmsKeyRotation { at } if rule.spec.kind == "kms_key_rotation" => Some(at),
        _ => None,
    }
}

/// Plans a rotation rule: at once when its instant has passed, else an engine task at it.
pub fn schedule(app: &App, rule: &Rule) -> StoreResult<()> {
    let Some(at) = rotation_at(rule) else {
        return Ok(());
    };
    if app.store.with(|c| meta_get(c, &applied_key(&rule.id)))?.is_some() {
        return Ok(());
    }
    let now = app.now();
    if at <= now {
        rotate(app, now, rule)
    } else {
        app.engine.schedule(
            at,
            Task::Fault {
                fault_id: rule.id.clone(),
            },
        );
        Ok(())
    }
}

/// Re-plans every rotation not yet applied (start-up and reset).
pub fn schedule_from_state(app: &App) -> StoreResult<()> {
    for rule in app.store.with(|c| rules::of_kind(c, "kms_key_rotation"))? {
        schedule(app, &rule)?;
    }
    Ok(())
}

/// `Task::Fault` at `at`: rotates if the rule is a rotation due by then and not yet applied.
pub fn run_due(app: &App, at: Instant, fault_id: &str) -> StoreResult<()> {
    let Some(rule) = app.store.with(|c| rules::get(c, fault_id))? else {
        return Ok(()); // deleted before its instant: nothing rotates
    };
    match rotation_at(&rule) {
        Some(due) if due <= at => rotate(app, at, &rule),
        _ => Ok(()),
    }
}

/// The key id that replaces `old` for `tenant_id` under `rule`.
fn next_key_id(seed: u64, rule: &Rule, tenant_id: &str, old: &str) -> String {
    let prefix = match old.find(":key/") {
        Some(i) if old.starts_with("arn:") => &old[..i + ":key/".len()],
        _ => DEFAULT_ARN_PREFIX,
    };
    let n = ids::derive_u64(seed, &[b"kms-rotation", rule.id.as_bytes(), tenant_id.as_bytes()]);
    format!("{prefix}{}", ids::uuid(seed, "kms-rotated-key", n))
}

/// Rotates the targeted tenants' keys at `at`, once per rule.
fn rotate(app: &App, at: Instant, rule: &Rule) -> StoreResult<()> {
    let seed = app.seed;
    app.store.tx(|c| {
        let applied = applied_key(&rule.id);
        if meta_get(c, &applied)?.is_some() {
            return Ok(());
        }
        let targets: Vec<String> = match &rule.spec.tenant_id {
            Some(t) => tenants::find(c, t)?
                .filter(|found| &found.tenant_id == t)
                .map(|found| found.tenant_id)
                .into_iter()
                .collect(),
            None => tenants::list(c)?.into_iter().map(|t| t.tenant_id).collect(),
        };
        for tenant_id in targets {
            if !rule.draw(seed, &tenant_id) {
                continue;
            }
            let Some(old) = tenants::kms_history(c, &tenant_id)?.last().map(|k| k.key_id.clone()) else {
                continue;
            };
            let new = next_key_id(seed, rule, &tenant_id, &old);
            tenants::rotate_kms_key(c, &tenant_id, &new, at, Some(&rule.id))?;
            let t = Target {
                tenant_id: &tenant_id,
                download_id: None,
                category: None,
                data_type: None,
                start: at,
                end: at,
                subject: &tenant_id,
            };
            let detail = json!({
                "effect": "kms_key_rotated",
                "at": rfc3339(at),
                "old_kms_key_id": old,
                "new_kms_key_id": new,
            });
            super::record_firing(c, at, rule, &t, None, Vec::new(), detail, false)?;
        }
        meta_set(c, &applied, &rfc3339(at))
    })
}

/// An object read refused for lack of its key (F9).
#[derive(Debug, Clone, Copy)]
pub struct Denial<'a> {
    /// The reader's tenant.
    pub tenant_id: &'a str,
    /// The reader's data-lake access key id.
    pub access_key_id: &'a str,
    /// The keys the reader was granted.
    pub granted: &'a [String],
    /// Bucket of the object.
    pub bucket: &'a str,
    /// Key of the object.
    pub key: &'a str,
    /// The key the object is encrypted under.
    pub object_kms_key_id: &'a str,
    /// The S3 operation (`GetObject`, `HeadObject`, `CopyObject`, `UploadPartCopy`).
    pub operation: &'a str,
}

/// Records a refused read once per (credential, object): a `fault` event of the rotation that
/// made the object's key current (none when no rotation did: the refusal is then not a fault).
pub fn record_denial(app: &App, d: &Denial<'_>) -> StoreResult<()> {
    let now = app.now();
    app.store.tx(|c| record_denial_in(c, now, d))
}

fn record_denial_in(c: &Connection, now: Instant, d: &Denial<'_>) -> StoreResult<()> {
    let once = format!("kms_denied.{}.{}/{}", d.access_key_id, d.bucket, d.key);
    if meta_get(c, &once)?.is_some() {
        return Ok(());
    }
    let history = tenants::kms_history(c, d.tenant_id)?;
    let Some(fault_id) = history
        .iter()
        .find(|k| k.key_id == d.object_kms_key_id)
        .and_then(|k| k.fault_id.clone())
    else {
        return Ok(());
    };
    meta_set(c, &once, &rfc3339(now))?;
    let object = format!("s3://{}/{}", d.bucket, d.key);
    let detail = json!({
        "effect": "kms_access_denied",
        "operation": d.operation,
        "bucket": d.bucket,
        "key": d.key,
        "object_kms_key_id": d.object_kms_key_id,
        "granted_kms_key_ids": d.granted,
    });
    match rules::get(c, &fault_id)? {
        Some(rule) => {
            let t = Target {
                tenant_id: d.tenant_id,
                download_id: None,
                category: None,
                data_type: None,
                start: now,
                end: now,
                subject: &object,
            };
            super::record_firing(c, now, &rule, &t, None, vec![object.clone()], detail, false)
        }
        // The rule was deleted after it rotated: the key stays, and so does the refusal.
        None => {
            let mut detail = detail;
            detail["kind"] = json!("kms_key_rotation");
            let ev = NewEvent {
                kind: "fault".into(),
                tenant_id: Some(d.tenant_id.to_string()),
                fault_id: Some(fault_id),
                objects: Some(vec![object]),
                detail,
                ..NewEvent::default()
            };
            events::record(c, now, &ev)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(id: &str) -> Rule {
        Rule {
            id: id.into(),
            spec: rules::RuleSpec {
                kind: "kms_key_rotation".into(),
                ..Default::default()
            },
            from: None,
            until: None,
            params: Params::KmsKeyRotation { at: Instant::default() },
            remaining: None,
            fired: 0,
            created_at: Instant::default(),
        }
    }

    #[test]
    fn f9_new_key_keeps_account_and_region_and_is_seeded() {
        let r = rule("fault-1");
        let old = "arn:aws:kms:eu-west-1:123456789012:key/abc";
        let a = next_key_id(7, &r, "t-a", old);
        assert!(a.starts_with("arn:aws:kms:eu-west-1:123456789012:key/"), "{a}");
        assert_ne!(a, old);
        assert_eq!(a, next_key_id(7, &r, "t-a", old));
        assert_ne!(a, next_key_id(7, &r, "t-b", old));
        assert_ne!(a, next_key_id(8, &r, "t-a", old));
        assert!(next_key_id(7, &r, "t-a", "alias/custom").starts_with(DEFAULT_ARN_PREFIX));
    }
}
