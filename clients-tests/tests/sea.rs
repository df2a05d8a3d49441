//! Secure External Access through a real S3 client (aws-sdk-s3, path-style SigV4) and plain HTTP
//! (presigned URLs): S1, S2, S5, S6, S8, S9.

use std::time::Duration;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumMode, Delete, EncodingType, ObjectIdentifier};
use aws_sdk_s3::Client;
use clients_tests::{s3_code, sha256_hex, start, Mock, TenantCreds};
use reqwest::Method;
use serde_json::{json, Value};

const BUCKET: &str = "cxone-sea";
/// Placement instant of files copied by the first daily run after `start()`.
const PLACED: &str = "2026-01-02T00:00:00Z";

/// A tenant with SEA credentials and an S3 client on them.
struct Sea {
    m: Mock,
    t: TenantCreds,
    creds: Value,
    s3: Client,
    /// `t-x/`.
    prefix: String,
}

/// The demo tenant with SEA credentials and a zero-day copy rule; nothing placed yet.
async fn sea_tenant() -> Sea {
    let m = start().await;
    let t = m.demo();
    let tok = m.token(&t).await;
    let creds = m.sea_credentials(&tok).await;
    m.rule(&tok, json!({"name": "r", "after_days": 0, "action": "copy_to_sea"}))
        .await;
    let s3 = m.sea_client(&creds);
    let prefix = creds["prefix"].as_str().expect("prefix").to_string();
    Sea {
        m,
        t,
        creds,
        s3,
        prefix,
    }
}

/// `sea_tenant` with `count` recordings placed in SEA at [`PLACED`].
async fn placed(count: u64) -> Sea {
    let s = sea_tenant().await;
    s.m.recordings(&s.t.tenant_id, json!({ "count": count })).await;
    s.m.advance("1d").await;
    s
}

/// HTTP status of a failed S3 call (HEAD errors carry no body, so no code).
fn status<E: std::fmt::Debug>(err: &SdkError<E, HttpResponse>) -> u16 {
    match err {
        SdkError::ServiceError(se) => se.raw().status().as_u16(),
        other => panic!("not a service error: {other:?}"),
    }
}

async fn keys(s3: &Client, prefix: &str) -> Vec<String> {
    let out = s3
        .list_objects_v2()
        .bucket(BUCKET)
        .prefix(prefix)
        .send()
        .await
        .expect("list");
    out.contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect()
}

async fn body(s3: &Client, key: &str) -> Vec<u8> {
    let out = s3.get_object().bucket(BUCKET).key(key).send().await.expect("get");
    out.body.collect().await.expect("body").into_bytes().to_vec()
}

/// The tenant's SEA files as the REST API lists them.
async fn sea_files(m: &Mock, t: &TenantCreds) -> Vec<Value> {
    let tok = m.token(t).await;
    let r = m
        .api(Method::GET, "/api/v2/storage/files?tier=sea&limit=1000", &tok)
        .send()
        .await
        .expect("files");
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.expect("json");
    v["files"].as_array().cloned().unwrap_or_default()
}

async fn events(m: &Mock, kind: &str) -> Vec<Value> {
    let r = m
        .http
        .get(m.url(&format!("/_mock/events?kind={kind}")))
        .send()
        .await
        .expect("events");
    let v: Value = r.json().await.expect("json");
    v["events"].as_array().cloned().unwrap_or_default()
}

/// The documented name regex, `^t-[a-z0-9-]+/\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}_\d+_(VOICE|SCREEN|STATEMENT)_[0-9a-f-]{36}\.mp4$`,
/// written out by hand (no regex crate in this workspace).
fn is_documented_key(key: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let Some((folder, name)) = key.split_once('/') else {
        return false;
    };
    let folder_ok = folder.strip_prefix("t-").is_some_and(|f| {
        !f.is_empty()
            && f.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    });
    let Some(base) = name.strip_suffix(".mp4") else {
        return false;
    };
    let parts: Vec<&str> = base.split('_').collect();
    let [ts, contact, media, id] = parts.as_slice() else {
        return false;
    };
    let ts_ok = ts.len() == 19 && ts.split('-').map(str::len).eq([4, 2, 2, 2, 2, 2]) && ts.split('-').all(digits);
    let id_ok = id.len() == 36
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b) || b == b'-');
    folder_ok && ts_ok && digits(contact) && ["VOICE", "SCREEN", "STATEMENT"].contains(media) && id_ok
}

fn epoch(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .expect("rfc3339")
        .timestamp()
}

#[test]
fn sea_s9_name_check_matches_the_regex() {
    let ok = "t-demo/2025-12-28-13-05-09_12345678901_VOICE_0f8fad5b-d9cb-469f-a165-70867728950e.mp4";
    assert!(is_documented_key(ok));
    assert!(!is_documented_key(&ok.replace("VOICE", "AUDIO")));
    assert!(!is_documented_key(&ok.replace("t-demo", "demo")));
    assert!(!is_documented_key(&ok.replace(".mp4", ".wav")));
    assert!(!is_documented_key(&ok.replace("2025-12", "2025_12")));
}

// --- S1: credentials ---------------------------------------------------------------------------

#[tokio::test]
async fn sea_s1_regenerating_invalidates_the_previous_key_at_once() {
    let s = sea_tenant().await;
    // The old key has been used (the server caches credentials it has seen).
    s.s3.get_bucket_location()
        .bucket(BUCKET)
        .send()
        .await
        .expect("old key works");
    let tok = s.m.token(&s.t).await;
    let fresh = s.m.sea_credentials(&tok).await;
    assert_ne!(fresh["access_key_id"], s.creds["access_key_id"]);
    let err =
        s.s3.get_bucket_location()
            .bucket(BUCKET)
            .send()
            .await
            .expect_err("old key refused");
    assert_eq!(s3_code(&err), "InvalidAccessKeyId");
    let new = s.m.sea_client(&fresh);
    new.get_bucket_location()
        .bucket(BUCKET)
        .send()
        .await
        .expect("new key works");
}

#[tokio::test]
async fn sea_s1_wrong_secret_is_signature_does_not_match() {
    let s = sea_tenant().await;
    let key = s.creds["access_key_id"].as_str().expect("key");
    let bad = s.m.s3(key, "not-the-secret-not-the-secret-not-the-sec");
    let err = bad
        .get_bucket_location()
        .bucket(BUCKET)
        .send()
        .await
        .expect_err("refused");
    assert_eq!(s3_code(&err), "SignatureDoesNotMatch");
}

// --- S2: access ---------------------------------------------------------------------------------

#[tokio::test]
async fn sea_s2_file_location_and_path_style_sigv4_list_get_head() {
    let s = placed(3).await;
    assert_eq!(s.creds["bucket"], BUCKET);
    assert_eq!(s.prefix, format!("{}/", s.t.tenant_id));
    let location = format!("{}/{BUCKET}/{}", s.m.handle.s3_url(), s.prefix);
    assert_eq!(s.creds["file_location"], location.as_str());

    s.s3.head_bucket().bucket(BUCKET).send().await.expect("head bucket");
    let loc =
        s.s3.get_bucket_location()
            .bucket(BUCKET)
            .send()
            .await
            .expect("location");
    assert!(
        loc.location_constraint().is_none_or(|c| c.as_str().is_empty()),
        "{loc:?}"
    );

    let keys = keys(&s.s3, &s.prefix).await;
    assert_eq!(keys.len(), 3);
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "keys come in order");
    let head =
        s.s3.head_object()
            .bucket(BUCKET)
            .key(&keys[0])
            .send()
            .await
            .expect("head");
    assert_eq!(head.content_type(), Some("video/mp4"));
    let bytes = body(&s.s3, &keys[0]).await;
    assert_eq!(Some(bytes.len() as i64), head.content_length());
}

#[tokio::test]
async fn sea_s2_presigned_get_url_works_over_plain_http() {
    let s = placed(1).await;
    let key = keys(&s.s3, &s.prefix).await.remove(0);
    let cfg = PresigningConfig::expires_in(Duration::from_secs(300)).expect("config");
    let req =
        s.s3.get_object()
            .bucket(BUCKET)
            .key(&key)
            .presigned(cfg)
            .await
            .expect("presign");
    let r = reqwest::get(req.uri()).await.expect("GET");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-amz-server-side-encryption"], "aws:kms");
    let got = r.bytes().await.expect("bytes");
    assert_eq!(got.to_vec(), body(&s.s3, &key).await);
    // An unsigned request is refused.
    let anon = reqwest::get(format!("{}/{BUCKET}/{key}", s.m.handle.s3_url()))
        .await
        .expect("GET");
    assert_eq!(anon.status(), 403);
}

#[tokio::test]
async fn sea_s2_other_tenants_folder_and_bucket_root_are_access_denied() {
    let s = placed(2).await;
    let acme = s.m.tenant(json!({"name": "acme"})).await;
    let acme_tok = s.m.token(&acme).await;
    let acme_creds = s.m.sea_credentials(&acme_tok).await;
    s.m.rule(
        &acme_tok,
        json!({"name": "r", "after_days": 0, "action": "copy_to_sea"}),
    )
    .await;
    s.m.recordings(&acme.tenant_id, json!({"count": 2})).await;
    s.m.advance("1d").await;
    let acme_s3 = s.m.sea_client(&acme_creds);
    let acme_prefix = format!("{}/", acme.tenant_id);
    let acme_key = keys(&acme_s3, &acme_prefix).await.remove(0);

    for prefix in [
        Some(acme_prefix.as_str()),
        None,
        Some(""),
        Some("t-"),
        Some(s.t.tenant_id.as_str()),
    ] {
        let mut req = s.s3.list_objects_v2().bucket(BUCKET);
        if let Some(p) = prefix {
            req = req.prefix(p);
        }
        let err = req.send().await.expect_err("denied");
        assert_eq!(s3_code(&err), "AccessDenied", "prefix {prefix:?}");
    }
    let err =
        s.s3.list_objects()
            .bucket(BUCKET)
            .prefix(&acme_prefix)
            .send()
            .await
            .expect_err("v1 denied");
    assert_eq!(s3_code(&err), "AccessDenied");
    let err =
        s.s3.get_object()
            .bucket(BUCKET)
            .key(&acme_key)
            .send()
            .await
            .expect_err("get denied");
    assert_eq!(s3_code(&err), "AccessDenied");
    let err =
        s.s3.head_object()
            .bucket(BUCKET)
            .key(&acme_key)
            .send()
            .await
            .expect_err("head denied");
    assert_eq!(status(&err), 403);
    let err =
        s.s3.delete_object()
            .bucket(BUCKET)
            .key(&acme_key)
            .send()
            .await
            .expect_err("delete denied");
    assert_eq!(s3_code(&err), "AccessDenied");

    let own = keys(&s.s3, &s.prefix).await.remove(0);
    let ids = [own.clone(), acme_key.clone()].map(|k| ObjectIdentifier::builder().key(k).build().expect("id"));
    let delete = Delete::builder()
        .set_objects(Some(ids.to_vec()))
        .build()
        .expect("delete");
    let out =
        s.s3.delete_objects()
            .bucket(BUCKET)
            .delete(delete)
            .send()
            .await
            .expect("batch");
    assert_eq!(
        out.deleted().iter().filter_map(|d| d.key()).collect::<Vec<_>>(),
        [own.as_str()]
    );
    let errs: Vec<_> = out
        .errors()
        .iter()
        .map(|e| (e.key().unwrap_or(""), e.code().unwrap_or("")))
        .collect();
    assert_eq!(errs, [(acme_key.as_str(), "AccessDenied")]);
    // Acme's object is untouched.
    assert_eq!(keys(&acme_s3, &acme_prefix).await.len(), 2);
}

#[tokio::test]
async fn sea_s2_list_buckets_is_access_denied() {
    let s = placed(1).await;
    let err = s.s3.list_buckets().send().await.expect_err("denied");
    assert_eq!(s3_code(&err), "AccessDenied");
}

#[tokio::test]
async fn sea_s2_sea_is_read_only_put_is_access_denied() {
    let s = placed(1).await;
    let key = format!("{}upload.mp4", s.prefix);
    let err =
        s.s3.put_object()
            .bucket(BUCKET)
            .key(&key)
            .body(ByteStream::from_static(b"not allowed"))
            .send()
            .await
            .expect_err("denied");
    assert_eq!(s3_code(&err), "AccessDenied");
    assert_eq!(keys(&s.s3, &s.prefix).await.len(), 1);
}

#[tokio::test]
async fn sea_s2_range_and_suffix_range_requests() {
    let s = placed(1).await;
    let key = keys(&s.s3, &s.prefix).await.remove(0);
    let full = body(&s.s3, &key).await;
    let n = full.len();
    let get = |range: String| {
        let s3 = s.s3.clone();
        let key = key.clone();
        async move { s3.get_object().bucket(BUCKET).key(key).range(range).send().await }
    };
    let out = get("bytes=0-7".into()).await.expect("range");
    assert_eq!(out.content_range(), Some(format!("bytes 0-7/{n}").as_str()));
    assert_eq!(out.content_length(), Some(8));
    assert_eq!(
        out.body.collect().await.expect("body").into_bytes().as_ref(),
        &full[..8]
    );

    let out = get("bytes=100-".into()).await.expect("open range");
    assert_eq!(
        out.body.collect().await.expect("body").into_bytes().as_ref(),
        &full[100..]
    );

    let out = get("bytes=-16".into()).await.expect("suffix");
    assert_eq!(
        out.content_range(),
        Some(format!("bytes {}-{}/{n}", n - 16, n - 1).as_str())
    );
    assert_eq!(
        out.body.collect().await.expect("body").into_bytes().as_ref(),
        &full[n - 16..]
    );

    // polars asks for a suffix larger than the object: 206 with all of it.
    let out = get(format!("bytes=-{}", n * 4)).await.expect("large suffix");
    assert_eq!(out.content_range(), Some(format!("bytes 0-{}/{n}", n - 1).as_str()));
    assert_eq!(out.body.collect().await.expect("body").into_bytes().as_ref(), &full[..]);

    let head =
        s.s3.head_object()
            .bucket(BUCKET)
            .key(&key)
            .range("bytes=0-9")
            .send()
            .await
            .expect("ranged head");
    assert_eq!(head.content_length(), Some(10));
    assert_eq!(head.content_range(), Some(format!("bytes 0-9/{n}").as_str()));

    let err = get(format!("bytes={n}-")).await.expect_err("unsatisfiable");
    assert_eq!(s3_code(&err), "InvalidRange");
    assert_eq!(status(&err), 416);
}

#[tokio::test]
async fn sea_s2_conditional_get_if_none_match_304_if_match_412() {
    let s = placed(1).await;
    let key = keys(&s.s3, &s.prefix).await.remove(0);
    let head = s.s3.head_object().bucket(BUCKET).key(&key).send().await.expect("head");
    let etag = head.e_tag().expect("etag").to_string();
    assert!(
        etag.len() == 34 && etag.starts_with('"') && etag.ends_with('"'),
        "ETag is a quoted MD5: {etag}"
    );
    let listed =
        s.s3.list_objects_v2()
            .bucket(BUCKET)
            .prefix(&s.prefix)
            .send()
            .await
            .expect("list");
    assert_eq!(
        listed.contents()[0].e_tag(),
        Some(etag.as_str()),
        "listing and HEAD agree"
    );

    let err =
        s.s3.get_object()
            .bucket(BUCKET)
            .key(&key)
            .if_none_match(&etag)
            .send()
            .await
            .expect_err("304");
    assert_eq!(status(&err), 304);
    let err =
        s.s3.head_object()
            .bucket(BUCKET)
            .key(&key)
            .if_none_match(&etag)
            .send()
            .await
            .expect_err("304");
    assert_eq!(status(&err), 304);
    s.s3.get_object()
        .bucket(BUCKET)
        .key(&key)
        .if_none_match("\"0000\"")
        .send()
        .await
        .expect("changed etag: 200");

    s.s3.get_object()
        .bucket(BUCKET)
        .key(&key)
        .if_match(&etag)
        .send()
        .await
        .expect("matching: 200");
    let err =
        s.s3.get_object()
            .bucket(BUCKET)
            .key(&key)
            .if_match("\"0000\"")
            .send()
            .await
            .expect_err("412");
    assert_eq!(status(&err), 412);

    let placed_at = aws_sdk_s3::primitives::DateTime::from_secs(epoch(PLACED));
    let later = aws_sdk_s3::primitives::DateTime::from_secs(epoch(PLACED) + 60);
    let err =
        s.s3.get_object()
            .bucket(BUCKET)
            .key(&key)
            .if_modified_since(later)
            .send()
            .await
            .expect_err("304");
    assert_eq!(status(&err), 304);
    let earlier = aws_sdk_s3::primitives::DateTime::from_secs(epoch(PLACED) - 60);
    let err =
        s.s3.get_object()
            .bucket(BUCKET)
            .key(&key)
            .if_unmodified_since(earlier)
            .send()
            .await
            .expect_err("412");
    assert_eq!(status(&err), 412);
    s.s3.get_object()
        .bucket(BUCKET)
        .key(&key)
        .if_unmodified_since(placed_at)
        .send()
        .await
        .expect("unmodified: 200");
}

#[tokio::test]
async fn sea_s2_list_pagination_max_keys_2_over_5() {
    let s = placed(5).await;
    let all = keys(&s.s3, &s.prefix).await;
    assert_eq!(all.len(), 5);

    // v2: continuation tokens.
    let (mut seen, mut token, mut pages) = (Vec::new(), None::<String>, 0);
    loop {
        let out =
            s.s3.list_objects_v2()
                .bucket(BUCKET)
                .prefix(&s.prefix)
                .max_keys(2)
                .set_continuation_token(token.clone())
                .send()
                .await
                .expect("page");
        pages += 1;
        assert_eq!(out.key_count(), Some(out.contents().len() as i32));
        seen.extend(out.contents().iter().filter_map(|o| o.key().map(str::to_string)));
        token = out.next_continuation_token().map(str::to_string);
        assert_eq!(out.is_truncated(), Some(token.is_some()));
        if token.is_none() {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, all);

    // v2: start-after.
    let out =
        s.s3.list_objects_v2()
            .bucket(BUCKET)
            .prefix(&s.prefix)
            .start_after(&all[1])
            .send()
            .await
            .expect("sa");
    assert_eq!(
        out.contents().iter().filter_map(|o| o.key()).collect::<Vec<_>>(),
        all[2..].to_vec()
    );

    // v1: markers.
    let (mut seen, mut marker) = (Vec::new(), None::<String>);
    loop {
        let out =
            s.s3.list_objects()
                .bucket(BUCKET)
                .prefix(&s.prefix)
                .max_keys(2)
                .set_marker(marker.clone())
                .send()
                .await
                .expect("v1 page");
        seen.extend(out.contents().iter().filter_map(|o| o.key().map(str::to_string)));
        assert!(out.contents().iter().all(|o| o.owner().is_some()), "v1 shows the owner");
        if out.is_truncated() != Some(true) {
            break;
        }
        marker = out.next_marker().map(str::to_string);
        assert_eq!(marker.as_deref(), seen.last().map(String::as_str));
    }
    assert_eq!(seen, all);
}

#[tokio::test]
async fn sea_s2_listing_fields_delimiter_and_url_encoding() {
    let s = placed(4).await;
    let out =
        s.s3.list_objects_v2()
            .bucket(BUCKET)
            .prefix(&s.prefix)
            .fetch_owner(true)
            .send()
            .await
            .expect("list");
    let files = sea_files(&s.m, &s.t).await;
    for o in out.contents() {
        let key = o.key().expect("key");
        let f = files.iter().find(|f| f["sea"]["key"] == key).expect("file for key");
        assert_eq!(o.size(), f["size"].as_i64());
        let etag = o.e_tag().expect("etag");
        assert!(
            etag.len() == 34 && etag.starts_with('"') && etag.ends_with('"'),
            "{etag}"
        );
        assert_eq!(o.last_modified().map(|t| t.secs()), Some(epoch(PLACED)));
        assert_eq!(o.storage_class().map(|c| c.as_str()), Some("STANDARD"));
        assert!(o.owner().is_some());
    }

    // A '/' delimiter under the folder groups nothing (keys have no subfolders).
    let out =
        s.s3.list_objects_v2()
            .bucket(BUCKET)
            .prefix(&s.prefix)
            .delimiter("/")
            .send()
            .await
            .expect("list");
    assert_eq!(out.contents().len(), 4);
    assert!(out.common_prefixes().is_empty());

    // '_' groups by the timestamp part of the name.
    let out =
        s.s3.list_objects_v2()
            .bucket(BUCKET)
            .prefix(&s.prefix)
            .delimiter("_")
            .send()
            .await
            .expect("list");
    assert!(out.contents().is_empty());
    let cps: Vec<&str> = out.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
    assert!(
        !cps.is_empty() && cps.iter().all(|p| p.starts_with(&s.prefix) && p.ends_with('_')),
        "{cps:?}"
    );
    assert_eq!(out.key_count(), Some(cps.len() as i32));

    // Paging one entry at a time walks the same CommonPrefixes, each once (v2 tokens and v1 markers).
    let (mut walked, mut token) = (Vec::new(), None::<String>);
    loop {
        let out =
            s.s3.list_objects_v2()
                .bucket(BUCKET)
                .prefix(&s.prefix)
                .delimiter("_")
                .max_keys(1)
                .set_continuation_token(token)
                .send()
                .await
                .expect("page");
        walked.extend(
            out.common_prefixes()
                .iter()
                .filter_map(|p| p.prefix().map(str::to_string)),
        );
        token = out.next_continuation_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(walked, cps);
    let (mut walked, mut marker) = (Vec::new(), None::<String>);
    loop {
        let out =
            s.s3.list_objects()
                .bucket(BUCKET)
                .prefix(&s.prefix)
                .delimiter("_")
                .max_keys(1)
                .set_marker(marker)
                .send()
                .await
                .expect("v1 page");
        walked.extend(
            out.common_prefixes()
                .iter()
                .filter_map(|p| p.prefix().map(str::to_string)),
        );
        marker = out.next_marker().map(str::to_string);
        if out.is_truncated() != Some(true) {
            break;
        }
    }
    assert_eq!(walked, cps);

    // max-keys=0: an empty page that is not truncated (as S3).
    let out =
        s.s3.list_objects_v2()
            .bucket(BUCKET)
            .prefix(&s.prefix)
            .max_keys(0)
            .send()
            .await
            .expect("list");
    assert!(out.contents().is_empty() && out.is_truncated() == Some(false));

    // DuckDB lists with encoding-type=url; these keys need no escaping, so they come back equal.
    let out =
        s.s3.list_objects_v2()
            .bucket(BUCKET)
            .prefix(&s.prefix)
            .encoding_type(EncodingType::Url)
            .send()
            .await
            .expect("list");
    assert_eq!(out.encoding_type(), Some(&EncodingType::Url));
    assert_eq!(
        out.contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_string))
            .collect::<Vec<_>>(),
        keys(&s.s3, &s.prefix).await
    );
}

#[tokio::test]
async fn sea_s2_checksum_mode_returns_the_sha256() {
    let s = placed(1).await;
    let key = keys(&s.s3, &s.prefix).await.remove(0);
    let file = sea_files(&s.m, &s.t).await.remove(0);
    let sha_hex = file["sha256"].as_str().expect("sha256");
    let out =
        s.s3.get_object()
            .bucket(BUCKET)
            .key(&key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .expect("get");
    let b64 = out.checksum_sha256().expect("checksum").to_string();
    let bytes = out
        .body
        .collect()
        .await
        .expect("body (the SDK validates the checksum)")
        .into_bytes();
    assert_eq!(sha256_hex(&bytes), sha_hex);
    assert_eq!(hex_of_base64(&b64), sha_hex);
    // A range is not the whole object: no whole-object checksum.
    let out =
        s.s3.get_object()
            .bucket(BUCKET)
            .key(&key)
            .range("bytes=0-9")
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .expect("range");
    assert!(out.checksum_sha256().is_none());
}

/// Hex of a standard-alphabet base64 string (decoded by hand: no base64 crate here).
fn hex_of_base64(s: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes().filter(|&c| c != b'=') {
        let v = ALPHABET.iter().position(|&a| a == c).expect("base64 char") as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    hex::encode(out)
}

// --- S5: expiry and early deletion -------------------------------------------------------------

#[tokio::test]
async fn sea_s5_expiry_is_exact_to_the_second() {
    let s = placed(2).await;
    let first = keys(&s.s3, &s.prefix).await;
    // A second batch, placed a day later, keeps the folder non-empty when the first expires.
    s.m.recordings(&s.t.tenant_id, json!({"count": 1})).await;
    s.m.advance("1d").await;
    let all = keys(&s.s3, &s.prefix).await;
    assert_eq!(all.len(), 3);
    let later: Vec<_> = all.iter().filter(|k| !first.contains(k)).cloned().collect();

    let head =
        s.s3.head_object()
            .bucket(BUCKET)
            .key(&first[0])
            .send()
            .await
            .expect("head");
    assert_eq!(head.last_modified().map(|t| t.secs()), Some(epoch(PLACED)));
    assert_eq!(
        head.expiration(),
        Some("expiry-date=\"Sun, 01 Feb 2026 00:00:00 GMT\", rule-id=\"sea-30-day-expiry\"")
    );

    s.m.advance_to("2026-01-31T23:59:59Z").await;
    assert_eq!(keys(&s.s3, &s.prefix).await.len(), 3);
    s.s3.head_object()
        .bucket(BUCKET)
        .key(&first[0])
        .send()
        .await
        .expect("present 1 s before");
    body(&s.s3, &first[0]).await;

    s.m.advance_to("2026-02-01T00:00:00Z").await;
    assert_eq!(keys(&s.s3, &s.prefix).await, later);
    let err =
        s.s3.get_object()
            .bucket(BUCKET)
            .key(&first[0])
            .send()
            .await
            .expect_err("expired");
    assert_eq!(s3_code(&err), "NoSuchKey");
    let err =
        s.s3.head_object()
            .bucket(BUCKET)
            .key(&first[0])
            .send()
            .await
            .expect_err("expired");
    assert_eq!(status(&err), 404);
    let expired = events(&s.m, "sea.expired").await;
    assert_eq!(expired.len(), 2, "{expired:?}");
}

#[tokio::test]
async fn sea_s5_tenant_may_delete_earlier() {
    let s = placed(3).await;
    let all = keys(&s.s3, &s.prefix).await;
    s.s3.delete_object()
        .bucket(BUCKET)
        .key(&all[0])
        .send()
        .await
        .expect("delete");
    assert_eq!(keys(&s.s3, &s.prefix).await, all[1..].to_vec());
    let err =
        s.s3.get_object()
            .bucket(BUCKET)
            .key(&all[0])
            .send()
            .await
            .expect_err("deleted");
    assert_eq!(s3_code(&err), "NoSuchKey");
    // Deleting a missing key in a non-empty folder succeeds, as S3 does.
    s.s3.delete_object()
        .bucket(BUCKET)
        .key(&all[0])
        .send()
        .await
        .expect("idempotent delete");
    s.s3.delete_object()
        .bucket(BUCKET)
        .key(format!("{}nope.mp4", s.prefix))
        .send()
        .await
        .expect("missing");

    let deleted = events(&s.m, "sea.deleted").await;
    assert_eq!(deleted.len(), 1, "{deleted:?}");
    assert_eq!(deleted[0]["detail"]["key"], all[0].as_str());
    assert_eq!(deleted[0]["tenant_id"], s.t.tenant_id.as_str());
    assert_eq!(deleted[0]["objects"][0], format!("{BUCKET}/{}", all[0]).as_str());

    // Batch delete empties the folder; then S6 applies to deletes too.
    let ids: Vec<_> = all[1..]
        .iter()
        .map(|k| ObjectIdentifier::builder().key(k).build().expect("id"))
        .collect();
    let delete = Delete::builder().set_objects(Some(ids)).build().expect("delete");
    let out =
        s.s3.delete_objects()
            .bucket(BUCKET)
            .delete(delete)
            .send()
            .await
            .expect("batch");
    assert_eq!(out.deleted().len(), 2);
    assert!(out.errors().is_empty());
    assert_eq!(events(&s.m, "sea.deleted").await.len(), 3);
    let err =
        s.s3.delete_object()
            .bucket(BUCKET)
            .key(&all[0])
            .send()
            .await
            .expect_err("empty folder");
    assert_eq!(s3_code(&err), "AccessDenied");
}

// --- S6: empty folder ----------------------------------------------------------------------------

async fn assert_folder_denied(s: &Sea, key: &str) {
    let err =
        s.s3.list_objects_v2()
            .bucket(BUCKET)
            .prefix(&s.prefix)
            .send()
            .await
            .expect_err("list");
    assert_eq!(s3_code(&err), "AccessDenied");
    let err =
        s.s3.list_objects()
            .bucket(BUCKET)
            .prefix(&s.prefix)
            .send()
            .await
            .expect_err("list v1");
    assert_eq!(s3_code(&err), "AccessDenied");
    let err = s.s3.get_object().bucket(BUCKET).key(key).send().await.expect_err("get");
    assert_eq!(s3_code(&err), "AccessDenied");
    let err =
        s.s3.head_object()
            .bucket(BUCKET)
            .key(key)
            .send()
            .await
            .expect_err("head");
    assert_eq!(status(&err), 403);
    // The bucket itself stays reachable.
    s.s3.head_bucket().bucket(BUCKET).send().await.expect("head bucket");
}

#[tokio::test]
async fn sea_s6_empty_folder_is_access_denied() {
    let s = sea_tenant().await;
    let key = format!(
        "{}2025-12-28-13-05-09_12345678901_VOICE_0f8fad5b-d9cb-469f-a165-70867728950e.mp4",
        s.prefix
    );
    assert_folder_denied(&s, &key).await;
    // Files exist in active storage but none is placed yet.
    s.m.recordings(&s.t.tenant_id, json!({"count": 2})).await;
    assert_folder_denied(&s, &key).await;
    s.m.advance("1d").await;
    assert_eq!(keys(&s.s3, &s.prefix).await.len(), 2);
    let err =
        s.s3.get_object()
            .bucket(BUCKET)
            .key(&key)
            .send()
            .await
            .expect_err("missing key");
    assert_eq!(s3_code(&err), "NoSuchKey", "a missing key in a non-empty folder");
    let err =
        s.s3.head_object()
            .bucket(BUCKET)
            .key(&key)
            .send()
            .await
            .expect_err("missing key");
    assert_eq!(status(&err), 404);
}

#[tokio::test]
async fn sea_s6_folder_emptied_by_expiry_is_access_denied() {
    let s = placed(2).await;
    let key = keys(&s.s3, &s.prefix).await.remove(0);
    s.m.advance_to("2026-02-01T00:00:00Z").await;
    assert_folder_denied(&s, &key).await;
}

// --- S8: encryption ------------------------------------------------------------------------------

async fn tenant_kms_key(m: &Mock, tenant_id: &str) -> String {
    let v: Value = m
        .http
        .get(m.url(&format!("/_mock/tenants/{tenant_id}")))
        .send()
        .await
        .expect("tenant")
        .json()
        .await
        .expect("json");
    v["kms_key_id"].as_str().expect("kms_key_id").to_string()
}

async fn assert_sse(s3: &Client, key: &str, kms: &str) {
    let head = s3.head_object().bucket(BUCKET).key(key).send().await.expect("head");
    assert_eq!(head.server_side_encryption().map(|e| e.as_str()), Some("aws:kms"));
    assert_eq!(head.ssekms_key_id(), Some(kms));
    let get = s3.get_object().bucket(BUCKET).key(key).send().await.expect("get");
    assert_eq!(get.server_side_encryption().map(|e| e.as_str()), Some("aws:kms"));
    assert_eq!(get.ssekms_key_id(), Some(kms));
}

#[tokio::test]
async fn sea_s8_sse_kms_headers_with_the_system_key() {
    let s = placed(1).await;
    let key = keys(&s.s3, &s.prefix).await.remove(0);
    let kms = tenant_kms_key(&s.m, &s.t.tenant_id).await;
    assert!(kms.starts_with("arn:aws:kms:us-east-1:"), "{kms}");
    assert_sse(&s.s3, &key, &kms).await;
}

#[tokio::test]
async fn sea_s8_sse_kms_headers_with_a_custom_key() {
    let m = start().await;
    let custom = "arn:aws:kms:us-east-1:111122223333:key/custom-1";
    let t = m.tenant(json!({"name": "acme", "kms_key_id": custom})).await;
    let tok = m.token(&t).await;
    let creds = m.sea_credentials(&tok).await;
    m.rule(&tok, json!({"name": "r", "after_days": 0, "action": "copy_to_sea"}))
        .await;
    m.recordings(&t.tenant_id, json!({"count": 1})).await;
    m.advance("1d").await;
    let s3 = m.sea_client(&creds);
    let key = keys(&s3, &format!("{}/", t.tenant_id)).await.remove(0);
    assert_sse(&s3, &key, custom).await;
}

// --- S9: names and bytes -----------------------------------------------------------------------

#[tokio::test]
async fn sea_s9_keys_follow_the_documented_names_and_bytes_match_the_files_api() {
    let s = sea_tenant().await;
    s.m.recordings(
        &s.t.tenant_id,
        json!({"count": 6, "media_types": ["VOICE", "SCREEN", "STATEMENT"]}),
    )
    .await;
    s.m.advance("1d").await;
    let files = sea_files(&s.m, &s.t).await;
    let listed = keys(&s.s3, &s.prefix).await;
    assert_eq!(listed.len(), 6);
    for key in &listed {
        assert!(is_documented_key(key), "{key}");
        let f = files
            .iter()
            .find(|f| f["sea"]["key"] == key.as_str())
            .expect("file for key");
        assert_eq!(key, &format!("{}{}", s.prefix, f["name"].as_str().expect("name")));
        let bytes = body(&s.s3, key).await;
        assert_eq!(sha256_hex(&bytes), f["sha256"].as_str().expect("sha256"), "{key}");
        assert_eq!(bytes.len() as i64, f["size"].as_i64().expect("size"));
        assert_eq!(&bytes[4..8], b"ftyp", "MP4 starts with an ftyp box");
    }
    for media in ["VOICE", "SCREEN", "STATEMENT"] {
        assert!(listed.iter().any(|k| k.contains(&format!("_{media}_"))), "{media}");
    }
}
