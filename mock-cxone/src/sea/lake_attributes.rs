//! GetObjectAttributes on a data-lake object: only the attributes asked for in
//! `x-amz-object-attributes` (ETag, Checksum, ObjectParts, StorageClass, ObjectSize), the parts of
//! a multipart object paged by `x-amz-part-number-marker` / `x-amz-max-parts`. Checksum tools and
//! newer SDK helpers use it to verify an upload without downloading it.
//!
//! One S3 quirk is kept: this operation's `<ETag>` is not quoted (every other S3 answer quotes
//! it). s3s always quotes, so [`unquote_etag`] rewrites the serialised body (`sea::request_id`).

use s3s::dto::{Checksum, GetObjectAttributesParts, ObjectAttributes, ObjectPart};
use s3s::{s3_error, S3Result};

/// S3 lists at most 1,000 parts per answer.
pub(crate) const MAX_PARTS: i32 = 1000;

/// Which attributes the request asked for.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Wanted {
    pub etag: bool,
    pub checksum: bool,
    pub parts: bool,
    pub storage_class: bool,
    pub size: bool,
}

/// The `x-amz-object-attributes` list, checked: at least one, each a known name. SDKs send the
/// names comma-separated in one header, which s3s hands over as one element: split here.
pub(crate) fn wanted(list: &[ObjectAttributes]) -> S3Result<Wanted> {
    let mut w = Wanted::default();
    let names = list.iter().flat_map(|a| a.as_str().split(',')).map(str::trim);
    let mut any = false;
    for name in names.filter(|n| !n.is_empty()) {
        any = true;
        match name {
            ObjectAttributes::ETAG => w.etag = true,
            ObjectAttributes::CHECKSUM => w.checksum = true,
            ObjectAttributes::OBJECT_PARTS => w.parts = true,
            ObjectAttributes::STORAGE_CLASS => w.storage_class = true,
            ObjectAttributes::OBJECT_SIZE => w.size = true,
            other => {
                return Err(s3_error!(
                    InvalidArgument,
                    "Invalid attribute name specified: {other:?}; use ETag, Checksum, ObjectParts, StorageClass or ObjectSize"
                ))
            }
        }
    }
    if !any {
        return Err(s3_error!(
            InvalidArgument,
            "x-amz-object-attributes must name at least one attribute"
        ));
    }
    Ok(w)
}

/// The `ObjectParts` page of a multipart object whose parts have `sizes` (and, when the upload
/// gave them, per-part `sums`), after part `marker`, at most `max` parts.
pub(crate) fn parts(
    sizes: &[u64],
    sums: &[Checksum],
    marker: Option<i32>,
    max: Option<i32>,
) -> S3Result<GetObjectAttributesParts> {
    let marker = marker.unwrap_or(0);
    let max = max.unwrap_or(MAX_PARTS);
    if marker < 0 || max < 0 {
        return Err(s3_error!(
            InvalidArgument,
            "Part number marker and max-parts must not be negative"
        ));
    }
    let max = max.min(MAX_PARTS);
    let total = i32::try_from(sizes.len()).unwrap_or(i32::MAX);
    let listed: Vec<ObjectPart> = (marker + 1..=total)
        .take(usize::try_from(max).unwrap_or(0))
        .map(|n| part(n, sizes, sums))
        .collect();
    let last = listed.last().and_then(|p| p.part_number).unwrap_or(marker);
    let truncated = last < total && max > 0;
    Ok(GetObjectAttributesParts {
        total_parts_count: Some(total),
        part_number_marker: Some(marker),
        next_part_number_marker: truncated.then_some(last),
        max_parts: Some(max),
        is_truncated: Some(truncated),
        parts: Some(listed),
    })
}

fn part(n: i32, sizes: &[u64], sums: &[Checksum]) -> ObjectPart {
    let i = usize::try_from(n - 1).unwrap_or(0);
    let sum = sums.get(i).cloned().unwrap_or_default();
    ObjectPart {
        part_number: Some(n),
        size: sizes.get(i).map(|s| i64::try_from(*s).unwrap_or(i64::MAX)),
        checksum_crc32: sum.checksum_crc32,
        checksum_crc32c: sum.checksum_crc32c,
        checksum_crc64nvme: sum.checksum_crc64nvme,
        checksum_sha1: sum.checksum_sha1,
        checksum_sha256: sum.checksum_sha256,
    }
}

/// The root element s3s writes for this operation's answer.
const ROOT: &str = "<GetObjectAttributesResponse";

/// A serialised GetObjectAttributes answer with its `<ETag>` unquoted, as S3 writes it; `None`
/// for any other body (checked on the first bytes only: other answers pay nothing).
pub(crate) fn unquote_etag(body: &[u8]) -> Option<Vec<u8>> {
    let head = &body[..body.len().min(128)];
    let head = std::str::from_utf8(head).ok().or_else(|| {
        // A cut in the middle of a character: the root element is ASCII, so look before it.
        std::str::from_utf8(&head[..head.len().saturating_sub(3)]).ok()
    })?;
    if !head.contains(ROOT) {
        return None;
    }
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find("<ETag>\"")? + "<ETag>".len();
    let end = start + text[start..].find("\"</ETag>")?;
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..start]);
    out.push_str(&text[start + 1..end]);
    out.push_str(&text[end + 1..]);
    Some(out.into_bytes())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn attrs(names: &[&str]) -> Vec<ObjectAttributes> {
        names.iter().map(|n| ObjectAttributes::from(n.to_string())).collect()
    }

    #[test]
    fn attribute_names_are_checked() {
        let w = wanted(&attrs(&["ETag", "ObjectSize"])).unwrap();
        assert!(w.etag && w.size && !w.checksum && !w.parts && !w.storage_class);
        assert!(wanted(&attrs(&["Etag"])).is_err());
        let w = wanted(&attrs(&["ETag,Checksum, ObjectParts"])).unwrap();
        assert!(w.etag && w.checksum && w.parts && !w.size);
        assert!(wanted(&attrs(&["ETag,Colour"])).is_err());
        assert!(wanted(&attrs(&[""])).is_err());
        assert!(wanted(&[]).is_err());
    }

    #[test]
    fn parts_page_after_the_marker() {
        let sizes = [5, 5, 5, 5, 5, 3];
        let p = parts(&sizes, &[], Some(3), Some(1)).unwrap();
        let listed: Vec<i32> = p.parts.unwrap().iter().filter_map(|p| p.part_number).collect();
        assert_eq!(listed, [4]);
        assert_eq!(
            (p.is_truncated, p.next_part_number_marker, p.total_parts_count),
            (Some(true), Some(4), Some(6))
        );
        let p = parts(&sizes, &[], Some(4), Some(10)).unwrap();
        let listed: Vec<(i32, i64)> = p
            .parts
            .unwrap()
            .iter()
            .map(|p| (p.part_number.unwrap(), p.size.unwrap()))
            .collect();
        assert_eq!(listed, [(5, 5), (6, 3)]);
        assert_eq!((p.is_truncated, p.next_part_number_marker), (Some(false), None));
        assert!(parts(&sizes, &[], Some(-1), None).is_err());
    }

    #[test]
    fn only_this_operations_etag_is_unquoted() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?><GetObjectAttributesResponse xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><ETag>"abc-2"</ETag><ObjectSize>3</ObjectSize></GetObjectAttributesResponse>"#;
        let out = String::from_utf8(unquote_etag(body).unwrap()).unwrap();
        assert!(out.contains("<ETag>abc-2</ETag><ObjectSize>3</ObjectSize>"), "{out}");
        assert!(
            unquote_etag(br#"<?xml version="1.0"?><ListBucketResult><ETag>"x"</ETag></ListBucketResult>"#).is_none()
        );
        let no_etag = br#"<?xml version="1.0"?><GetObjectAttributesResponse><ObjectSize>3</ObjectSize></GetObjectAttributesResponse>"#;
        assert!(unquote_etag(no_etag).is_none());
    }
}
