//! ListMultipartUploads on a data-lake bucket: the uploads started and neither completed nor
//! aborted, as S3 pages them. A pipeline's clean-up step (`aws s3api list-multipart-uploads`,
//! boto3's paginator, rclone `cleanup`) lists them to abort the ones a crash left behind.
//!
//! Order: by key, then by initiation (the mock clock; ties by upload id, so the order is total).
//! `key-marker` resumes after that key; with `upload-id-marker` too, after that upload of the
//! key. With a delimiter, the keys under one common prefix are one entry, and `max-uploads`
//! (at most 1,000) counts uploads and prefixes alike, as ListObjects counts keys.

use s3s::dto::{
    ChecksumAlgorithm, ChecksumType, CommonPrefix, Initiator, ListMultipartUploadsInput, ListMultipartUploadsOutput,
    MultipartUpload, Owner, StorageClass, Timestamp,
};
use s3s::{s3_error, S3Result};

use super::lake_upload::Started;
use crate::store::time::from_us;

/// S3 answers at most 1,000 uploads per page.
pub(crate) const MAX_UPLOADS: usize = 1000;

/// What a listing asks for.
#[derive(Debug, Default)]
pub(crate) struct Query<'a> {
    pub prefix: &'a str,
    pub delimiter: Option<&'a str>,
    pub key_marker: Option<&'a str>,
    pub upload_id_marker: Option<&'a str>,
    pub max: usize,
}

/// One page.
#[derive(Debug, Default)]
pub(crate) struct Page {
    pub uploads: Vec<(String, Started)>,
    pub prefixes: Vec<String>,
    pub truncated: bool,
    /// Where the next page starts (`key-marker`, `upload-id-marker`), when truncated.
    pub next_key: Option<String>,
    pub next_upload_id: Option<String>,
}

/// The page of `all` (one bucket's uploads in progress, in any order) that `q` asks for.
pub(crate) fn page(mut all: Vec<(String, Started)>, q: &Query<'_>) -> Page {
    all.retain(|(_, s)| s.key.starts_with(q.prefix));
    all.sort_by(|(a_id, a), (b_id, b)| (&a.key, a.initiated_us, a_id).cmp(&(&b.key, b.initiated_us, b_id)));
    let resume = resume_index(&all, q);
    let mut out = Page::default();
    let max = q.max.min(MAX_UPLOADS);
    let mut count = 0;
    for (i, (id, s)) in all.into_iter().enumerate() {
        let group = common_prefix(&s.key, q);
        if skipped(i, &s.key, id.as_str(), group.as_deref(), resume, q) {
            continue;
        }
        if group.is_some() && out.prefixes.last() == group.as_ref() {
            continue; // already listed on this page
        }
        if count == max {
            out.truncated = max > 0;
            break;
        }
        count += 1;
        match group {
            Some(p) => {
                out.next_key = Some(p.clone());
                out.next_upload_id = None;
                out.prefixes.push(p);
            }
            None => {
                out.next_key = Some(s.key.clone());
                out.next_upload_id = Some(id.clone());
                out.uploads.push((id, s));
            }
        }
    }
    if !out.truncated {
        out.next_key = None;
        out.next_upload_id = None;
    }
    out
}

/// The common prefix `key` rolls into under the query's delimiter, if any.
fn common_prefix(key: &str, q: &Query<'_>) -> Option<String> {
    let d = q.delimiter.filter(|d| !d.is_empty())?;
    let rest = &key[q.prefix.len()..];
    rest.find(d)
        .map(|pos| format!("{}{}", q.prefix, &rest[..pos + d.len()]))
}

/// The index of the upload `upload-id-marker` names under `key-marker`, when it is listed.
fn resume_index(all: &[(String, Started)], q: &Query<'_>) -> Option<usize> {
    let (key, id) = (q.key_marker?, q.upload_id_marker?);
    all.iter().position(|(i, s)| s.key == key && i == id)
}

/// Whether the entry at `index` comes at or before the markers.
fn skipped(index: usize, key: &str, id: &str, group: Option<&str>, resume: Option<usize>, q: &Query<'_>) -> bool {
    let Some(marker) = q.key_marker.filter(|m| !m.is_empty()) else {
        return false;
    };
    if let Some(g) = group {
        return g <= marker;
    }
    match (key.cmp(marker), q.upload_id_marker.filter(|m| !m.is_empty())) {
        (std::cmp::Ordering::Less, _) => true,
        (std::cmp::Ordering::Greater, _) => false,
        (std::cmp::Ordering::Equal, None) => true,
        // An upload id that is no longer listed: S3 compares ids as strings.
        (std::cmp::Ordering::Equal, Some(m)) => resume.map_or(id <= m, |r| index <= r),
    }
}

/// `max-uploads` as asked: 1,000 when absent; a negative number is refused.
pub(crate) fn max_uploads(asked: Option<i32>) -> S3Result<usize> {
    match asked {
        None => Ok(MAX_UPLOADS),
        Some(n) => usize::try_from(n).map_err(|_| {
            s3_error!(
                InvalidArgument,
                "Argument max-uploads must be an integer between 0 and 2147483647"
            )
        }),
    }
}

/// The S3 answer for `page` (keys still plain: the caller URL-encodes them when asked).
pub(crate) fn output(
    input: &ListMultipartUploadsInput,
    page: Page,
    owner: &Owner,
    max: usize,
) -> ListMultipartUploadsOutput {
    let uploads = page.uploads.into_iter().map(|(id, s)| upload(id, s, owner)).collect();
    ListMultipartUploadsOutput {
        bucket: Some(input.bucket.clone()),
        prefix: Some(input.prefix.clone().unwrap_or_default()),
        delimiter: input.delimiter.clone(),
        encoding_type: input.encoding_type.clone(),
        key_marker: Some(input.key_marker.clone().unwrap_or_default()),
        upload_id_marker: Some(input.upload_id_marker.clone().unwrap_or_default()),
        next_key_marker: page.next_key,
        next_upload_id_marker: page.next_upload_id,
        max_uploads: Some(i32::try_from(max).unwrap_or(i32::MAX)),
        is_truncated: Some(page.truncated),
        uploads: Some(uploads),
        common_prefixes: Some(
            page.prefixes
                .into_iter()
                .map(|p| CommonPrefix { prefix: Some(p) })
                .collect(),
        ),
        ..Default::default()
    }
}

fn upload(id: String, s: Started, owner: &Owner) -> MultipartUpload {
    MultipartUpload {
        upload_id: Some(id),
        key: Some(s.key),
        initiated: Some(Timestamp::from(std::time::SystemTime::from(from_us(s.initiated_us)))),
        initiator: Some(Initiator {
            id: owner.id.clone(),
            display_name: owner.display_name.clone(),
        }),
        owner: Some(owner.clone()),
        storage_class: Some(StorageClass::from_static(StorageClass::STANDARD)),
        checksum_algorithm: s.checksum_algorithm.map(ChecksumAlgorithm::from),
        checksum_type: s.checksum_type.map(ChecksumType::from),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn started(key: &str, at: i64) -> Started {
        Started {
            tenant: "t".into(),
            bucket: "b".into(),
            key: key.into(),
            initiated_us: at,
            checksum_algorithm: None,
            checksum_type: None,
        }
    }

    fn all() -> Vec<(String, Started)> {
        vec![
            ("u3".into(), started("b/x", 5)),
            ("u1".into(), started("a", 9)),
            ("u2".into(), started("a", 1)),
            ("u4".into(), started("b/y", 2)),
            ("u5".into(), started("c", 3)),
        ]
    }

    fn ids(p: &Page) -> Vec<&str> {
        p.uploads.iter().map(|(i, _)| i.as_str()).collect()
    }

    #[test]
    fn sorted_by_key_then_initiation() {
        let p = page(
            all(),
            &Query {
                max: 1000,
                ..Query::default()
            },
        );
        assert_eq!(ids(&p), ["u2", "u1", "u3", "u4", "u5"]);
        assert!(!p.truncated && p.next_key.is_none());
    }

    #[test]
    fn pages_resume_after_the_markers() {
        let q = Query {
            max: 1,
            ..Query::default()
        };
        let first = page(all(), &q);
        assert_eq!(ids(&first), ["u2"]);
        assert!(first.truncated);
        assert_eq!(
            (first.next_key.as_deref(), first.next_upload_id.as_deref()),
            (Some("a"), Some("u2"))
        );
        let mut seen = ids(&first).iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (mut key, mut id) = (first.next_key, first.next_upload_id);
        while let Some(k) = key {
            let q = Query {
                key_marker: Some(&k),
                upload_id_marker: id.as_deref(),
                max: 2,
                ..Query::default()
            };
            let p = page(all(), &q);
            seen.extend(ids(&p).iter().map(|s| s.to_string()));
            (key, id) = (p.next_key, p.next_upload_id);
        }
        assert_eq!(seen, ["u2", "u1", "u3", "u4", "u5"]);
    }

    #[test]
    fn a_key_marker_alone_skips_every_upload_of_that_key() {
        let q = Query {
            key_marker: Some("a"),
            max: 1000,
            ..Query::default()
        };
        assert_eq!(ids(&page(all(), &q)), ["u3", "u4", "u5"]);
    }

    #[test]
    fn delimiter_rolls_keys_into_common_prefixes_that_count() {
        let q = Query {
            delimiter: Some("/"),
            max: 2,
            ..Query::default()
        };
        let p = page(all(), &q);
        assert_eq!(ids(&p), ["u2", "u1"]);
        assert!(p.prefixes.is_empty() && p.truncated);
        let q = Query {
            delimiter: Some("/"),
            key_marker: Some("a"),
            upload_id_marker: Some("u1"),
            max: 2,
            ..Query::default()
        };
        let p = page(all(), &q);
        assert_eq!(p.prefixes, ["b/"]);
        assert_eq!(ids(&p), ["u5"]);
        assert!(!p.truncated);
    }

    #[test]
    fn prefix_filters_and_zero_max_lists_nothing() {
        let q = Query {
            prefix: "b/",
            max: 1000,
            ..Query::default()
        };
        assert_eq!(ids(&page(all(), &q)), ["u3", "u4"]);
        let p = page(
            all(),
            &Query {
                max: 0,
                ..Query::default()
            },
        );
        assert!(p.uploads.is_empty() && !p.truncated);
    }
}
