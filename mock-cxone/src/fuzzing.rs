//! Fuzz harnesses: one function per input surface, each taking arbitrary bytes, returning
//! nothing, and panicking only when a property is broken. They are public so that the cargo-fuzz
//! targets in `fuzz/` (libFuzzer, `make fuzz`) and the corpus test run by `make test`
//! (`tests/fuzz_corpus.rs`, no libFuzzer) call the very same code (docs/reliability.md, Fuzzing).
//!
//! - [`scenario`] — scenario text (`scenario::parse`, then `plan` against the default start):
//!   every input is refused with a positioned error or planned; none panics.
//! - [`partition_template`] — the partition template parser (D4): an accepted template renders,
//!   at any instant, to a relative path whose part and manifest keys the data-lake key policy
//!   accepts (an export never writes a key S3 would refuse).
//! - [`lake_key`] — the data-lake key/bucket policy and where it puts an object: an accepted key
//!   maps inside its bucket's directory, to the path spelled by the key itself (no `..`, no
//!   absolute path, no two keys sharing a file), and its sidecars stay at the s3s-fs root.

use std::path::{Component, Path};

use crate::app::{App, Urls};
use crate::clock::ClockSpec;
use crate::download::partition::{self, Template};
use crate::scenario::{self, DEFAULT_START};
use crate::sea::lake_fs::{check_key, Layout};
use crate::sea::lake_owner::check_bucket_name;
use crate::store::time::{from_us, parse_rfc3339};
use crate::store::{Store, StoreResult};

/// A mock state in `dir` (emptied first) for [`lake_key`]: no listener, only its data-dir layout
/// is used.
pub fn scratch_app(dir: &Path) -> StoreResult<App> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
        _ => {}
    }
    let urls = Urls {
        api: "http://127.0.0.1:0".into(),
        s3: "http://127.0.0.1:0".into(),
    };
    App::open(Store::open(dir)?, 42, ClockSpec::Frozen(None), urls, None)
}

/// Scenario text: parse, then plan when it parses. Errors must point inside the text.
pub fn scenario(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match scenario::parse(text) {
        Err(e) => {
            let lines = text.split('\n').count();
            assert!(
                e.pos.line >= 1 && e.pos.line <= lines + 1 && e.pos.column >= 1,
                "error position {} outside a text of {lines} lines: {e}",
                e.pos
            );
        }
        Ok(s) => {
            let base = parse_rfc3339(DEFAULT_START).unwrap_or_default();
            // Ok or a positioned error: either is fine, a panic is not.
            let _ = s.plan(base);
        }
    }
}

/// Partition templates: an accepted template renders to keys the lake accepts, at any instant.
pub fn partition_template(data: &[u8]) {
    // The first 8 bytes pick the instant (microseconds, folded into years 1..9999), the rest is
    // the template.
    let (at, rest) = match data.split_first_chunk::<8>() {
        Some((head, rest)) => {
            const SPAN_US: i64 = 315_537_897_600_000_000; // 0001-01-01 .. 9999-12-31, in µs
            const FIRST_US: i64 = -62_135_596_800_000_000; // 0001-01-01T00:00:00Z
            (FIRST_US + i64::from_le_bytes(*head).rem_euclid(SPAN_US), rest)
        }
        None => (0, data),
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let Ok(template) = Template::parse(text) else {
        return;
    };
    let rendered = template.render(from_us(at));
    assert!(!rendered.is_empty() && !rendered.starts_with('/') && !rendered.ends_with('/'));
    for seg in rendered.split('/') {
        assert!(
            !seg.is_empty() && seg != "." && seg != "..",
            "{text:?} rendered {rendered:?}"
        );
    }
    let folder = partition::folder("exports/", "cdr", Some(&template), from_us(at));
    for key in [
        partition::part_key(&folder, 0, "parquet"),
        partition::manifest_key(&folder, "job-1"),
    ] {
        assert!(
            check_key(&key).is_ok(),
            "template {text:?} gives the key {key:?}, which the lake refuses: {:?}",
            check_key(&key)
        );
    }
}

/// Data-lake keys: the first byte (mod 64) is the bucket name's length, then the bucket name,
/// then the key. A fixed valid bucket is tried too, so every input exercises the key rules.
pub fn lake_key(app: &App, data: &[u8]) {
    let split = usize::from(data.first().copied().unwrap_or(0) % 64);
    let rest = data.get(1..).unwrap_or_default();
    let (bucket, key) = rest.split_at(split.min(rest.len()));
    let key = String::from_utf8_lossy(key);
    let layout = Layout::of(app);
    check_one(&layout, "fuzz-bucket", &key);
    if let Ok(bucket) = std::str::from_utf8(bucket) {
        if check_bucket_name(bucket).is_ok() {
            check_one(&layout, bucket, &key);
        }
    }
}

fn check_one(layout: &Layout, bucket: &str, key: &str) {
    if check_key(key).is_err() {
        return;
    }
    let bucket_dir = layout.bucket_dir(bucket);
    assert!(
        bucket_dir.parent() == Some(layout.root()),
        "bucket {bucket:?} outside the root"
    );
    let path = layout.object_path(bucket, key);
    let rel = path
        .strip_prefix(&bucket_dir)
        .unwrap_or_else(|_| panic!("key {key:?} maps to {path:?}, outside {bucket_dir:?}"));
    assert!(
        rel.components().count() > 0 && rel.components().all(|c| matches!(c, Component::Normal(_))),
        "key {key:?} maps to {path:?}: not a plain path under the bucket"
    );
    // One key, one file: the path relative to the bucket spells the key (less a folder
    // marker's trailing '/'), so two accepted keys never alias one file.
    assert_eq!(
        rel.to_str(),
        Some(key.trim_end_matches('/')),
        "key {key:?} maps to {path:?}"
    );
    for sidecar in [layout.metadata_path(bucket, key), layout.internal_path(bucket, key)] {
        assert_eq!(sidecar.parent(), Some(layout.root()), "sidecar {sidecar:?} of {key:?}");
        assert!(is_plain_name(&sidecar), "sidecar {sidecar:?} of {key:?}");
    }
}

fn is_plain_name(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| !n.contains('/') && n != "." && n != "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_harness_accepts_the_guide_template_at_extreme_instants() {
        for head in [[0u8; 8], [0xff; 8], [0x7f; 8]] {
            let mut data = head.to_vec();
            data.extend_from_slice(b"year={yyyy}/month={MM}/day={dd}/hour={HH}");
            partition_template(&data);
        }
    }
}
