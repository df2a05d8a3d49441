//! What S3 answers on a bucket that never had versioning enabled — which every data-lake bucket
//! is (the mock keeps one version per key): GetBucketVersioning has no `Status`,
//! ListObjectVersions lists each current object once as version `null` with `IsLatest`, and the
//! object tagging calls address version `null` (tags themselves: `lake_tags`). Real clients ask for these behind
//! common switches (s3fs `version_aware=True`, the MinIO SDK's `include_version=True` and
//! `get_object_tags`, the AWS CLI's `--copy-props default` on multipart copies, GUI tools' bucket
//! properties); a 501 breaks them where S3 would not.

use s3s::dto::*;
use s3s::{s3_error, S3Request, S3Response, S3Result};

use crate::sea::auth::Caller;
use crate::sea::lake_bucket::LakeBuckets;

/// The version id S3 gives objects written while versioning was never enabled.
const NULL_VERSION: &str = "null";

/// GetBucketVersioning: an empty `VersioningConfiguration` (never enabled) for the owner.
pub(super) async fn get_bucket_versioning(
    lake: &LakeBuckets,
    caller: &Caller,
    req: S3Request<GetBucketVersioningInput>,
) -> S3Result<S3Response<GetBucketVersioningOutput>> {
    let bucket = req.input.bucket.clone();
    // HeadBucket checks that the bucket exists and that the caller's tenant owns it.
    lake.head_bucket(
        caller,
        req.map_input(|_| HeadBucketInput {
            bucket,
            ..Default::default()
        }),
    )
    .await?;
    Ok(S3Response::new(GetBucketVersioningOutput::default()))
}

/// ListObjectVersions: the ListObjectsV2 page starting after `key-marker`, each object as its
/// only version `null`. A `version-id-marker` other than `null` names no version here.
pub(super) async fn list_object_versions(
    lake: &LakeBuckets,
    caller: &Caller,
    req: S3Request<ListObjectVersionsInput>,
) -> S3Result<S3Response<ListObjectVersionsOutput>> {
    let input = req.input.clone();
    if let Some(v) = input.version_id_marker.as_deref().filter(|v| !v.is_empty()) {
        if v != NULL_VERSION || input.key_marker.is_none() {
            return Err(s3_error!(InvalidArgument, "Invalid version id specified"));
        }
    }
    let list = req.map_input(|i| ListObjectsV2Input {
        bucket: i.bucket,
        delimiter: i.delimiter,
        encoding_type: i.encoding_type,
        expected_bucket_owner: i.expected_bucket_owner,
        fetch_owner: Some(true),
        max_keys: i.max_keys,
        prefix: i.prefix,
        start_after: i.key_marker,
        ..Default::default()
    });
    let page = lake.list_objects_v2(caller, list).await?.output;

    let versions: Vec<ObjectVersion> = page
        .contents
        .unwrap_or_default()
        .into_iter()
        .map(|o| ObjectVersion {
            checksum_algorithm: o.checksum_algorithm,
            checksum_type: o.checksum_type,
            e_tag: o.e_tag,
            is_latest: Some(true),
            key: o.key,
            last_modified: o.last_modified,
            owner: o.owner,
            restore_status: o.restore_status,
            size: o.size,
            storage_class: o
                .storage_class
                .map(|c| ObjectVersionStorageClass::from(c.as_str().to_owned())),
            version_id: Some(NULL_VERSION.to_owned()),
        })
        .collect();
    let prefixes = page.common_prefixes.unwrap_or_default();
    let truncated = page.is_truncated == Some(true);
    // The next page starts after the greatest key or common prefix of this one (both come
    // encoded when the request asked for url encoding, as the markers must be).
    let last = versions
        .iter()
        .filter_map(|v| v.key.clone())
        .chain(prefixes.iter().filter_map(|p| p.prefix.clone()))
        .max();
    let out = ListObjectVersionsOutput {
        common_prefixes: (!prefixes.is_empty()).then_some(prefixes),
        delimiter: page.delimiter,
        encoding_type: page.encoding_type,
        is_truncated: Some(truncated),
        key_marker: input.key_marker,
        max_keys: page.max_keys,
        name: page.name,
        next_key_marker: if truncated { last } else { None },
        next_version_id_marker: truncated.then(|| NULL_VERSION.to_owned()),
        prefix: page.prefix,
        version_id_marker: input.version_id_marker,
        versions: (!versions.is_empty()).then_some(versions),
        ..Default::default()
    };
    Ok(S3Response::new(out))
}

/// `NoSuchVersion` for a version id other than `null` (the only version a data-lake object has).
fn only_null_version(version_id: Option<&str>) -> S3Result<()> {
    match version_id.filter(|v| *v != NULL_VERSION) {
        Some(v) => Err(s3_error!(NoSuchVersion, "The specified version {v:?} does not exist.")),
        None => Ok(()),
    }
}

/// GetObjectAttributes of the object (version `null`) ([`crate::sea::lake_attributes`]).
pub(super) async fn get_object_attributes(
    lake: &LakeBuckets,
    caller: &Caller,
    req: S3Request<GetObjectAttributesInput>,
) -> S3Result<S3Response<GetObjectAttributesOutput>> {
    only_null_version(req.input.version_id.as_deref())?;
    lake.get_object_attributes(caller, req).await
}

/// GetObjectTagging of the object (version `null`): its tag set ([`crate::sea::lake_tags`]).
pub(super) async fn get_object_tagging(
    lake: &LakeBuckets,
    caller: &Caller,
    req: S3Request<GetObjectTaggingInput>,
) -> S3Result<S3Response<GetObjectTaggingOutput>> {
    only_null_version(req.input.version_id.as_deref())?;
    lake.get_object_tagging(caller, req).await
}

/// PutObjectTagging of the object (version `null`): replaces its tag set.
pub(super) async fn put_object_tagging(
    lake: &LakeBuckets,
    caller: &Caller,
    req: S3Request<PutObjectTaggingInput>,
) -> S3Result<S3Response<PutObjectTaggingOutput>> {
    only_null_version(req.input.version_id.as_deref())?;
    lake.put_object_tagging(caller, req).await
}

/// DeleteObjectTagging of the object (version `null`): empties its tag set.
pub(super) async fn delete_object_tagging(
    lake: &LakeBuckets,
    caller: &Caller,
    req: S3Request<DeleteObjectTaggingInput>,
) -> S3Result<S3Response<DeleteObjectTaggingOutput>> {
    only_null_version(req.input.version_id.as_deref())?;
    lake.delete_object_tagging(caller, req).await
}
