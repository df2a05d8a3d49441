//! Reading a data-lake object for GET and HEAD without s3s-fs's reader: the object's attributes
//! sidecar and its body, read on the request's own thread up to 1 MiB and in 4 MiB chunks
//! otherwise.
//!
//! Why: s3s-fs goes through tokio's blocking pool for every file step (open, stat, each sidecar,
//! the seek) and streams bodies in 4 KiB chunks, each a hand-off to another thread and back. For a
//! 1 KiB object those hops were most of a GET's cost; for 1 MiB, 256 of them (docs/benchmarks.md,
//! "S3 side by side"). Reading a small file the page cache holds takes microseconds, far less
//! than one hop. The caller (`lake_bucket`) holds the key's read lock, so the stat it made, the
//! sidecars and the bytes read here all belong to one version of the object.

use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range as Span;
use std::path::Path;

use bytes::Bytes;
use futures::stream;
use s3s::dto::{Checksum, Metadata, Range, StreamingBlob, Timestamp, TimestampFormat};
use s3s::{S3Error, S3Result};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::lake_fs::InternalInfo;

/// Bodies up to this size are read at once, on the request's thread: copying 1 MiB out of the
/// page cache takes about 100 µs, less than the three blocking-pool hops (open, seek, read) of
/// the streamed path; 1 MiB GETs went 1.5x faster with it (docs/benchmarks.md).
const INLINE_MAX: u64 = 1 << 20;
/// Larger bodies are streamed in chunks of this size (one blocking-pool hop each).
const CHUNK: u64 = 4 << 20;

/// What s3s-fs keeps in an object's metadata sidecar (its `ObjectAttributes`; files of older
/// s3s-fs versions hold only the user metadata). Written by `lake_write` in the same shape.
#[derive(Debug, Default, serde::Deserialize, serde::Serialize)]
pub(crate) struct Attributes {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) user_metadata: Option<Metadata>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) content_encoding: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) content_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) content_disposition: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) content_language: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) cache_control: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) website_redirect_location: Option<String>,
}

impl Attributes {
    /// Sets `Expires`, stored as s3s-fs stores it (an HTTP date-time string).
    pub(crate) fn set_expires(&mut self, t: Option<Timestamp>) {
        self.expires = t.and_then(|t| {
            let mut buf = Vec::new();
            t.format(TimestampFormat::DateTime, &mut buf).ok()?;
            String::from_utf8(buf).ok()
        });
    }

    /// Whether no attribute is set (then no sidecar is kept).
    pub(crate) fn is_empty(&self) -> bool {
        self.user_metadata.is_none()
            && self.content_encoding.is_none()
            && self.content_type.is_none()
            && self.content_disposition.is_none()
            && self.content_language.is_none()
            && self.cache_control.is_none()
            && self.expires.is_none()
            && self.website_redirect_location.is_none()
    }

    /// `Expires`, stored as an HTTP date-time string.
    pub(crate) fn expires(&self) -> Option<Timestamp> {
        let s = self.expires.as_deref()?;
        Timestamp::parse(TimestampFormat::DateTime, s).ok()
    }
}

/// The attributes in the sidecar at `path` (none when there is no sidecar), read as s3s-fs does:
/// the current format first, then the older user-metadata-only one.
pub(crate) fn attributes(path: &Path) -> io::Result<Attributes> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Attributes::default()),
        Err(e) => return Err(e),
    };
    if let Ok(a) = serde_json::from_slice::<Attributes>(&bytes) {
        return Ok(a);
    }
    Ok(serde_json::from_slice::<Metadata>(&bytes)
        .map(|m| Attributes {
            user_metadata: Some(m),
            ..Attributes::default()
        })
        .unwrap_or_default())
}

/// The stored checksums of an object, from its internal-info sidecar.
pub(crate) fn checksums(info: Option<&InternalInfo>) -> Checksum {
    let get = |k: &str| info.and_then(|i| i.get(k)).and_then(|v| v.as_str()).map(str::to_owned);
    Checksum {
        checksum_crc32: get("checksum_crc32"),
        checksum_crc32c: get("checksum_crc32c"),
        checksum_sha1: get("checksum_sha1"),
        checksum_sha256: get("checksum_sha256"),
        checksum_crc64nvme: get("checksum_crc64nvme"),
        ..Checksum::default()
    }
}

/// The bytes a request for `range` of an object of `size` bytes gets, and its `Content-Range`
/// (only for ranged requests). An unsatisfiable range is S3's 416 `InvalidRange`.
pub(crate) fn span(range: Option<Range>, size: u64) -> S3Result<(Span<u64>, Option<String>)> {
    match range {
        None => Ok((0..size, None)),
        Some(r) => {
            let s = r.check(size).map_err(S3Error::from)?;
            let content_range = format!("bytes {}-{}/{size}", s.start, s.end - 1);
            Ok((s, Some(content_range)))
        }
    }
}

/// The body of `span` of the file at `path`.
pub(crate) async fn body(path: &Path, span: Span<u64>) -> io::Result<StreamingBlob> {
    let len = span.end - span.start;
    if len <= INLINE_MAX {
        let mut f = std::fs::File::open(path)?;
        f.seek(SeekFrom::Start(span.start))?;
        let mut buf = vec![0u8; usize::try_from(len).map_err(io::Error::other)?];
        f.read_exact(&mut buf)?;
        return Ok(StreamingBlob::from(s3s::Body::from(Bytes::from(buf))));
    }
    let mut f = tokio::fs::File::open(path).await?;
    f.seek(SeekFrom::Start(span.start)).await?;
    let chunks = stream::try_unfold((f, len), |(mut f, left)| async move {
        if left == 0 {
            return Ok::<_, io::Error>(None);
        }
        let n = left.min(CHUNK);
        let mut buf = vec![0u8; usize::try_from(n).map_err(io::Error::other)?];
        f.read_exact(&mut buf).await?;
        Ok(Some((Bytes::from(buf), (f, left - n))))
    });
    Ok(StreamingBlob::wrap(chunks))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_follow_s3() {
        assert_eq!(span(None, 10).expect("test setup"), (0..10, None));
        let r = Range::Int {
            first: 2,
            last: Some(100),
        };
        assert_eq!(
            span(Some(r), 10).expect("test setup"),
            (2..10, Some("bytes 2-9/10".into()))
        );
        let r = Range::Suffix { length: 3 };
        assert_eq!(
            span(Some(r), 10).expect("test setup"),
            (7..10, Some("bytes 7-9/10".into()))
        );
        assert!(span(Some(Range::Int { first: 10, last: None }), 10).is_err());
    }

    #[test]
    fn attributes_read_both_sidecar_formats() {
        let dir = tempfile::tempdir().expect("test setup");
        let p = dir.path().join("m.json");
        assert!(attributes(&p).expect("test setup").content_type.is_none(), "no sidecar");
        std::fs::write(&p, br#"{"content_type":"text/csv","user_metadata":{"a":"b"}}"#).expect("test setup");
        let a = attributes(&p).expect("test setup");
        assert_eq!(a.content_type.as_deref(), Some("text/csv"));
        assert_eq!(
            a.user_metadata.expect("test setup").get("a").map(String::as_str),
            Some("b")
        );
    }

    #[tokio::test]
    async fn bodies_small_and_streamed_are_the_bytes_of_the_span() {
        use futures::StreamExt;
        let dir = tempfile::tempdir().expect("test setup");
        let p = dir.path().join("o");
        // Inline (up to INLINE_MAX), one chunk, and several chunks of CHUNK.
        let data: Vec<u8> = (0..9_000_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&p, &data).expect("test setup");
        for span in [0..10u64, 5..1_048_581, 100..1_500_000, 1..9_000_000] {
            let mut blob = body(&p, span.clone()).await.expect("test setup");
            let mut got = Vec::new();
            while let Some(chunk) = blob.next().await {
                got.extend_from_slice(&chunk.expect("test setup"));
            }
            assert_eq!(got, data[span.start as usize..span.end as usize]);
        }
    }
}
