//! Object tags on data-lake objects, as S3 keeps them: a set of at most 10 key/value pairs per
//! object (keys 1–128 characters, values 0–256, unique keys, no `aws:` prefix, letters, digits,
//! spaces and `+ - = . _ : / @`), replaced whole by PutObjectTagging or by `x-amz-tagging` on
//! PutObject and CreateMultipartUpload (and CopyObject with `x-amz-tagging-directive: REPLACE`; `COPY`, the default, keeps
//! the source's), emptied by DeleteObjectTagging, gone with the object.
//!
//! Tags live in the object's internal-info sidecar ([`super::lake_fs`]) next to its ETag and KMS
//! key: durable like the bytes, removed with the other sidecars, and GET/HEAD — which read that
//! sidecar anyway — learn `x-amz-tagging-count` without another read.

use s3s::dto::{Tag, TaggingHeader};
use s3s::{s3_error, S3Error, S3Result};

use super::lake_fs::{InternalInfo, Layout};

/// Key of the tag set (`[[key, value], …]`, in the order given) in the internal-info sidecar.
pub(crate) const INFO_TAGS: &str = "tags";
/// Most tags an object may carry.
const MAX_TAGS: usize = 10;
/// Longest tag key and value, in Unicode characters.
const MAX_KEY_CHARS: usize = 128;
const MAX_VALUE_CHARS: usize = 256;

/// An object's tag set, in the order it was given.
pub(crate) type Tags = Vec<(String, String)>;

fn invalid_tag(msg: &str) -> S3Error {
    S3Error::with_message(s3s::S3ErrorCode::InvalidTag, msg.to_string())
}

/// The characters S3 accepts in tag keys and values.
fn allowed(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_alphanumeric() || c.is_whitespace() || "+-=._:/@".contains(c))
}

/// Checks a tag set as S3 does (`InvalidTag`, 400).
pub(crate) fn validate(tags: &Tags) -> S3Result<()> {
    if tags.len() > MAX_TAGS {
        return Err(invalid_tag("Object tags cannot be greater than 10"));
    }
    for (i, (k, v)) in tags.iter().enumerate() {
        if k.is_empty() || k.chars().count() > MAX_KEY_CHARS {
            return Err(invalid_tag("The TagKey you have provided is too long, max 128"));
        }
        if v.chars().count() > MAX_VALUE_CHARS {
            return Err(invalid_tag("The TagValue you have provided is too long, max 256"));
        }
        if k.to_ascii_lowercase().starts_with("aws:") {
            return Err(invalid_tag("Your TagKey cannot be prefixed with aws:"));
        }
        if !allowed(k) {
            return Err(invalid_tag("The TagKey you have provided is invalid"));
        }
        if !allowed(v) {
            return Err(invalid_tag("The TagValue you have provided is invalid"));
        }
        if tags[..i].iter().any(|(other, _)| other == k) {
            return Err(invalid_tag("Cannot provide multiple Tags with the same key"));
        }
    }
    Ok(())
}

/// The tag set of a PutObjectTagging body.
pub(crate) fn from_tag_set(set: &[Tag]) -> S3Result<Tags> {
    let tags: Tags = set
        .iter()
        .map(|t| {
            let key = t.key.clone().unwrap_or_default();
            (key, t.value.clone().unwrap_or_default())
        })
        .collect();
    validate(&tags)?;
    Ok(tags)
}

/// The tag set of an `x-amz-tagging` header (URL query form: `k1=v1&k2=v2`).
pub(crate) fn from_header(header: Option<&TaggingHeader>) -> S3Result<Tags> {
    let Some(h) = header.filter(|h| !h.is_empty()) else {
        return Ok(Tags::new());
    };
    let decode = |s: &str| -> S3Result<String> {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| s3_error!(InvalidArgument, "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates."))
    };
    let mut tags = Tags::new();
    for pair in h.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        tags.push((decode(k)?, decode(v)?));
    }
    validate(&tags)?;
    Ok(tags)
}

/// The tags recorded in an object's sidecar.
pub(crate) fn of(info: Option<&InternalInfo>) -> Tags {
    let Some(arr) = info.and_then(|i| i.get(INFO_TAGS)).and_then(|v| v.as_array()) else {
        return Tags::new();
    };
    arr.iter()
        .filter_map(|p| {
            let p = p.as_array()?;
            Some((p.first()?.as_str()?.to_string(), p.get(1)?.as_str()?.to_string()))
        })
        .collect()
}

/// How many tags an object's sidecar records (`x-amz-tagging-count`; S3 omits it at zero).
pub(crate) fn count(info: Option<&InternalInfo>) -> Option<i32> {
    let n = info
        .and_then(|i| i.get(INFO_TAGS))
        .and_then(|v| v.as_array())
        .map_or(0, Vec::len);
    (n > 0).then(|| i32::try_from(n).unwrap_or(i32::MAX))
}

/// Records `tags` in a sidecar (an empty set removes the entry).
/// Kept sorted by key: S3 answers a tag set by key, not in the order it was given (ceph/s3-tests
/// `test_put_obj_with_tags`).
pub(crate) fn set(info: &mut InternalInfo, tags: &Tags) {
    if tags.is_empty() {
        info.remove(INFO_TAGS);
    } else {
        let mut sorted: Vec<_> = tags.iter().collect();
        sorted.sort();
        let v = sorted.iter().map(|(k, v)| serde_json::json!([k, v])).collect();
        info.insert(INFO_TAGS.into(), serde_json::Value::Array(v));
    }
}

/// Where the tags of a pending multipart upload wait for CompleteMultipartUpload (next to
/// s3s-fs's `.upload-<id>.json`; bucket deletion wipes neither, an abort or Complete removes it).
fn upload_tags_path(layout: &Layout, upload_id: &str) -> std::path::PathBuf {
    layout.root().join(format!(".upload-{upload_id}.tags.json"))
}

/// Records the tags `x-amz-tagging` gave on CreateMultipartUpload (nothing when there are none).
pub(crate) async fn save_upload_tags(layout: &Layout, upload_id: &str, tags: &Tags) -> std::io::Result<()> {
    if tags.is_empty() {
        return Ok(());
    }
    let bytes = serde_json::to_vec(tags).map_err(std::io::Error::other)?;
    super::lake_fs::write_atomic(layout, &upload_tags_path(layout, upload_id), &bytes).await
}

/// The tags recorded for an upload (empty when none), removing the record.
pub(crate) async fn take_upload_tags(layout: &Layout, upload_id: &str) -> Tags {
    let path = upload_tags_path(layout, upload_id);
    let Ok(bytes) = tokio::fs::read(&path).await else {
        return Tags::new();
    };
    let _ = tokio::fs::remove_file(&path).await;
    serde_json::from_slice(&bytes).unwrap_or_default()
}

/// The S3 tag set of `tags`.
pub(crate) fn to_tag_set(tags: Tags) -> Vec<Tag> {
    tags.into_iter()
        .map(|(k, v)| Tag {
            key: Some(k),
            value: Some(v),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_without_value_is_empty_and_the_set_is_kept_by_key() {
        let tags = from_header(Some(&"foo=bar&bar".to_string())).expect("test value");
        let mut info = InternalInfo::new();
        set(&mut info, &tags);
        assert_eq!(
            of(Some(&info)),
            vec![("bar".into(), String::new()), ("foo".into(), "bar".into())]
        );
    }

    #[test]
    fn header_form_is_url_query() {
        let h = "team=data%20lake&stage=raw+zone&empty=".to_string();
        assert_eq!(
            from_header(Some(&h)).expect("test value"),
            vec![
                ("team".into(), "data lake".into()),
                ("stage".into(), "raw zone".into()),
                ("empty".into(), String::new())
            ]
        );
        assert!(from_header(None).expect("test value").is_empty());
    }

    #[test]
    fn s3_limits() {
        let many: Tags = (0..11).map(|i| (format!("k{i}"), String::new())).collect();
        assert!(validate(&many).is_err());
        assert!(validate(&many[..10].to_vec()).is_ok());
        assert!(validate(&vec![("k".repeat(129), String::new())]).is_err());
        assert!(validate(&vec![("k".repeat(128), "v".repeat(256))]).is_ok());
        assert!(validate(&vec![("k".into(), "v".repeat(257))]).is_err());
        assert!(validate(&vec![("a".into(), "1".into()), ("a".into(), "2".into())]).is_err());
        assert!(validate(&vec![("aws:x".into(), String::new())]).is_err());
        assert!(validate(&vec![("k".into(), "a<b".into())]).is_err());
    }

    #[test]
    fn sidecar_round_trip() {
        let mut info = InternalInfo::new();
        assert_eq!(count(Some(&info)), None);
        set(&mut info, &vec![("a".into(), "1".into()), ("b".into(), "2".into())]);
        assert_eq!(count(Some(&info)), Some(2));
        assert_eq!(of(Some(&info))[1], ("b".into(), "2".into()));
        set(&mut info, &Tags::new());
        assert!(!info.contains_key(INFO_TAGS));
    }
}
