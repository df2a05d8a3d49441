//! Data-lake listings as S3 answers them (ListObjects v1 and v2, ListObjectVersions).
//!
//! s3s-fs 0.14.1 lists only files, so a folder marker someone PUT (`a/`, zero bytes: pyarrow
//! `create_dir`, the S3 console's "Create folder", rclone `mkdir` in a bucket) — which s3s-fs keeps
//! as a bare folder — was missing from every listing. S3 lists it as the key `a/` (size 0) and,
//! with a delimiter, rolls it into its parent listing's CommonPrefix like any other key. This
//! module walks the bucket's folder tree itself, taking a folder as a key only when its sidecar
//! says a marker was PUT there (`INFO_MARKER_AT`, see [`super::lake_fs`]), and pages the sorted
//! keys as S3 does: keys and common prefixes in one byte-wise order, `max-keys` counting both,
//! resuming strictly after the marker / start-after / continuation token, and skipping the keys
//! of a common prefix the previous page ended on.

use std::path::{Path, PathBuf};

use s3s::dto::{Object, Timestamp};
use s3s::S3Result;

use super::lake_fs::{self, Layout, INFO_MARKER_AT};
use super::lake_owner::internal;
use crate::store::time::from_us;

/// S3 returns at most 1,000 keys per page whatever `max-keys` asks.
pub(crate) const MAX_KEYS: usize = 1000;

/// What a listing asks for (prefix and resume point already decoded).
#[derive(Debug, Default)]
pub(crate) struct Query<'a> {
    pub prefix: &'a str,
    pub delimiter: Option<&'a str>,
    /// Only keys (and common prefixes) strictly greater than this.
    pub after: Option<&'a str>,
    pub max_keys: usize,
}

/// One page of a listing.
#[derive(Debug, Default)]
pub(crate) struct Page {
    /// Objects in key order (ETag, storage class and owner still to fill in).
    pub objects: Vec<Object>,
    /// Common prefixes in order.
    pub prefixes: Vec<String>,
    pub truncated: bool,
    /// The last key or common prefix of the page (the resume point), when truncated.
    pub next: Option<String>,
}

/// A key found in the bucket: a file, or a folder marker someone PUT.
struct Entry {
    key: String,
    size: u64,
    last_modified: Timestamp,
    marker: bool,
}

/// Lists `bucket` (which must exist) as S3 would answer `q`.
pub(crate) async fn list(layout: &Layout, bucket: &str, q: Query<'_>) -> S3Result<Page> {
    let (layout2, bucket2, prefix) = (layout.clone(), bucket.to_string(), q.prefix.to_string());
    let mut entries = tokio::task::spawn_blocking(move || scan(&layout2, &bucket2, &prefix))
        .await
        .map_err(internal)?
        .map_err(internal)?;
    entries.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(page(entries, &q))
}

/// Every key under `prefix`: files, and folders whose marker sidecar records a PUT.
fn scan(layout: &Layout, bucket: &str, prefix: &str) -> std::io::Result<Vec<Entry>> {
    let root = layout.bucket_dir(bucket);
    let mut out = Vec::new();
    let mut stack: Vec<(PathBuf, String)> = vec![(root, String::new())];
    while let Some((dir, dir_key)) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            // A folder removed while we walk (a concurrent delete): its keys are gone.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue; // not UTF-8: no S3 key maps to it
            };
            let Ok(ft) = entry.file_type() else { continue };
            let key = format!("{dir_key}{name}");
            if ft.is_dir() {
                let folder = format!("{key}/");
                // Only folders that hold or are keys under the prefix.
                if !(folder.starts_with(prefix) || prefix.starts_with(&folder)) {
                    continue;
                }
                if folder.starts_with(prefix) {
                    if let Some(at) = marker_at(layout, bucket, &folder) {
                        out.push(Entry {
                            key: folder.clone(),
                            size: 0,
                            last_modified: Timestamp::from(std::time::SystemTime::from(from_us(at))),
                            marker: true,
                        });
                    }
                }
                stack.push((entry.path(), folder));
            } else if ft.is_file() && key.starts_with(prefix) {
                let Ok(meta) = entry.metadata() else { continue };
                out.push(Entry {
                    key,
                    size: meta.len(),
                    last_modified: Timestamp::from(meta.modified()?),
                    marker: false,
                });
            }
        }
    }
    Ok(out)
}

/// When the folder `folder` (`a/b/`) is a marker someone PUT: its sidecar's instant.
fn marker_at(layout: &Layout, bucket: &str, folder: &str) -> Option<i64> {
    let path: &Path = &layout.internal_path(bucket, folder);
    let bytes = std::fs::read(path).ok()?;
    let info: lake_fs::InternalInfo = serde_json::from_slice(&bytes).ok()?;
    info.get(INFO_MARKER_AT)?.as_i64()
}

/// The page of sorted `entries` that `q` asks for.
fn page(entries: Vec<Entry>, q: &Query<'_>) -> Page {
    let mut out = Page::default();
    let max = q.max_keys.min(MAX_KEYS);
    let mut count = 0usize;
    let mut last_prefix: Option<String> = None;
    for e in entries {
        // The group the key falls in: a common prefix, or the key itself.
        let group = q.delimiter.filter(|d| !d.is_empty()).and_then(|d| {
            let rest = &e.key[q.prefix.len()..];
            rest.find(d)
                .map(|pos| format!("{}{}", q.prefix, &rest[..pos + d.len()]))
        });
        let id = group.as_deref().unwrap_or(&e.key);
        if q.after.is_some_and(|after| id <= after) {
            continue;
        }
        if group.is_some() && last_prefix.as_deref() == group.as_deref() {
            continue; // already listed on this page
        }
        if count == max {
            out.truncated = max > 0;
            break;
        }
        count += 1;
        match group {
            Some(p) => {
                out.next = Some(p.clone());
                out.prefixes.push(p.clone());
                last_prefix = Some(p);
            }
            None => {
                out.next = Some(e.key.clone());
                out.objects.push(Object {
                    key: Some(e.key),
                    size: Some(i64::try_from(e.size).unwrap_or(i64::MAX)),
                    last_modified: Some(e.last_modified),
                    e_tag: e
                        .marker
                        .then(|| s3s::dto::ETag::Strong(super::lake_bucket::EMPTY_MD5.into())),
                    ..Default::default()
                });
            }
        }
    }
    if !out.truncated {
        out.next = None;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(key: &str) -> Entry {
        Entry {
            key: key.into(),
            size: 0,
            last_modified: Timestamp::from(std::time::SystemTime::UNIX_EPOCH),
            marker: key.ends_with('/'),
        }
    }

    fn keys(p: &Page) -> Vec<String> {
        let mut v: Vec<String> = p.objects.iter().filter_map(|o| o.key.clone()).collect();
        v.extend(p.prefixes.iter().map(|p| format!("CP:{p}")));
        v
    }

    fn all() -> Vec<Entry> {
        ["a/", "a/b/", "a/b/c", "a/d", "e/", "f"].into_iter().map(e).collect()
    }

    #[test]
    fn markers_are_keys_and_common_prefixes() {
        let q = Query {
            max_keys: 1000,
            ..Default::default()
        };
        assert_eq!(keys(&page(all(), &q)), ["a/", "a/b/", "a/b/c", "a/d", "e/", "f"]);
        let q = Query {
            delimiter: Some("/"),
            max_keys: 1000,
            ..Default::default()
        };
        assert_eq!(keys(&page(all(), &q)), ["f", "CP:a/", "CP:e/"]);
        let q = Query {
            prefix: "a/",
            delimiter: Some("/"),
            max_keys: 1000,
            ..Default::default()
        };
        let entries: Vec<Entry> = all().into_iter().filter(|x| x.key.starts_with("a/")).collect();
        assert_eq!(keys(&page(entries, &q)), ["a/", "a/d", "CP:a/b/"]);
    }

    #[test]
    fn pages_resume_after_the_last_key_or_prefix() {
        let q = Query {
            delimiter: Some("/"),
            max_keys: 1,
            ..Default::default()
        };
        let p1 = page(all(), &q);
        assert_eq!(
            (keys(&p1), p1.truncated, p1.next.as_deref()),
            (vec!["CP:a/".to_string()], true, Some("a/"))
        );
        let q2 = Query { after: Some("a/"), ..q };
        let p2 = page(all(), &q2);
        assert_eq!((keys(&p2), p2.next.as_deref()), (vec!["CP:e/".to_string()], Some("e/")));
        let q3 = Query {
            after: Some("e/"),
            ..q2
        };
        let p3 = page(all(), &q3);
        assert_eq!((keys(&p3), p3.truncated, p3.next), (vec!["f".to_string()], false, None));
        let q = Query {
            max_keys: 2,
            after: Some("a/"),
            ..Default::default()
        };
        assert_eq!(keys(&page(all(), &q)), ["a/b/", "a/b/c"]);
    }
}
