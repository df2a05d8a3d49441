//! The S3 operations, routed by bucket and caller: `cxone-sea` is served by [`super::sea_bucket`]
//! from SEA metadata with derived bytes (tenants may only read and delete in their own folder);
//! every other bucket is a tenant's data-lake bucket, served by [`super::lake_bucket`] over
//! s3s-fs for its owner only; [`unversioned`] adds what S3 answers about versions on such a
//! (never versioned) bucket and routes object tagging (SEA refuses it: AccessDenied).

mod unversioned;

use std::sync::Arc;

use s3s::dto::*;
use s3s::{s3_error, S3Request, S3Response, S3Result, S3};

use super::auth::{self, Caller};
use super::lake_bucket::LakeBuckets;
use super::sea_bucket;
use crate::app::App;
use crate::storage::daily_cap::SEA_BUCKET;

/// The S3 front: SEA rules and data-lake ownership over s3s-fs.
pub struct S3Front {
    app: Arc<App>,
    lake: LakeBuckets,
}

impl std::fmt::Debug for S3Front {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Front").finish_non_exhaustive()
    }
}

impl S3Front {
    /// A front over `fs` (the data-lake bytes).
    pub fn new(app: Arc<App>, fs: s3s_fs::FileSystem) -> Self {
        Self {
            lake: LakeBuckets::new(app.clone(), fs),
            app,
        }
    }

    /// Who signed the request (s3s has verified the signature already).
    fn caller<T>(&self, req: &S3Request<T>) -> S3Result<Caller> {
        let creds = req
            .credentials
            .as_ref()
            .ok_or_else(|| s3_error!(AccessDenied, "Anonymous access is not allowed"))?;
        match auth::cached_lookup(&self.app, &creds.access_key) {
            Ok(Some((caller, _))) => Ok(caller),
            Ok(None) => Err(s3_error!(
                InvalidAccessKeyId,
                "The AWS Access Key Id you provided does not exist in our records."
            )),
            Err(e) => {
                tracing::error!("s3 caller lookup: {e}");
                Err(s3_error!(InternalError))
            }
        }
    }
}

/// Whether `bucket` is the SEA bucket.
fn is_sea(bucket: &str) -> bool {
    bucket == SEA_BUCKET
}

/// Refusal for an operation the caller's credential does not allow on that bucket.
fn denied() -> s3s::S3Error {
    s3_error!(AccessDenied, "Access Denied")
}

/// Routes an operation on a named bucket: SEA credentials reach only `cxone-sea` through
/// `$sea`, data-lake credentials only other buckets through `$lake`.
macro_rules! route {
    ($self:ident, $req:ident, $bucket:expr, sea: $sea:expr, lake: $lake:expr) => {{
        let caller = $self.caller(&$req)?;
        match (&caller, is_sea($bucket)) {
            (Caller::Sea { .. }, true) => $sea(&$self.app, &caller, $req).await,
            (Caller::DataLake { .. }, false) => $lake(&$self.lake, &caller, $req).await,
            _ => Err(denied()),
        }
    }};
}

/// The SEA side of an operation tenants may not perform there (SEA is not writable by tenants).
async fn sea_refuses<T, O>(_app: &Arc<App>, _caller: &Caller, _req: S3Request<T>) -> S3Result<S3Response<O>> {
    Err(denied())
}

/// The SEA side of a read CXone's SEA does not offer here: NotImplemented, naming what does.
async fn sea_not_implemented<T, O>(_app: &Arc<App>, _caller: &Caller, _req: S3Request<T>) -> S3Result<S3Response<O>> {
    Err(s3_error!(
        NotImplemented,
        "This operation is not implemented on the SEA bucket; HeadObject gives the size, ETag and checksum"
    ))
}

#[async_trait::async_trait]
impl S3 for S3Front {
    async fn list_buckets(&self, req: S3Request<ListBucketsInput>) -> S3Result<S3Response<ListBucketsOutput>> {
        // SEA credentials cannot list buckets ("Add External Bucket" in S3 Browser, S2).
        match self.caller(&req)? {
            caller @ Caller::DataLake { .. } => self.lake.list_buckets(&caller, req).await,
            Caller::Sea { .. } => Err(denied()),
        }
    }

    async fn create_bucket(&self, req: S3Request<CreateBucketInput>) -> S3Result<S3Response<CreateBucketOutput>> {
        let bucket = req.input.bucket.clone();
        route!(self, req, &bucket, sea: sea_refuses, lake: LakeBuckets::create_bucket)
    }

    async fn delete_bucket(&self, req: S3Request<DeleteBucketInput>) -> S3Result<S3Response<DeleteBucketOutput>> {
        let bucket = req.input.bucket.clone();
        route!(self, req, &bucket, sea: sea_refuses, lake: LakeBuckets::delete_bucket)
    }

    async fn head_bucket(&self, req: S3Request<HeadBucketInput>) -> S3Result<S3Response<HeadBucketOutput>> {
        let bucket = req.input.bucket.clone();
        route!(self, req, &bucket, sea: sea_bucket::head_bucket, lake: LakeBuckets::head_bucket)
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        let bucket = req.input.bucket.clone();
        route!(self, req, &bucket, sea: sea_bucket::get_bucket_location, lake: LakeBuckets::get_bucket_location)
    }

    async fn list_objects(&self, req: S3Request<ListObjectsInput>) -> S3Result<S3Response<ListObjectsOutput>> {
        let bucket = req.input.bucket.clone();
        route!(self, req, &bucket, sea: sea_bucket::list_objects, lake: LakeBuckets::list_objects)
    }

    async fn list_objects_v2(&self, req: S3Request<ListObjectsV2Input>) -> S3Result<S3Response<ListObjectsV2Output>> {
        let bucket = req.input.bucket.clone();
        route!(self, req, &bucket, sea: sea_bucket::list_objects_v2, lake: LakeBuckets::list_objects_v2)
    }

    async fn get_object(&self, req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> {
        let bucket = req.input.bucket.clone();
        route!(self, req, &bucket, sea: sea_bucket::get_object, lake: LakeBuckets::get_object)
    }

    async fn head_object(&self, req: S3Request<HeadObjectInput>) -> S3Result<S3Response<HeadObjectOutput>> {
        let bucket = req.input.bucket.clone();
        route!(self, req, &bucket, sea: sea_bucket::head_object, lake: LakeBuckets::head_object)
    }

    async fn delete_object(&self, req: S3Request<DeleteObjectInput>) -> S3Result<S3Response<DeleteObjectOutput>> {
        let bucket = req.input.bucket.clone();
        route!(self, req, &bucket, sea: sea_bucket::delete_object, lake: LakeBuckets::delete_object)
    }

    async fn delete_objects(&self, req: S3Request<DeleteObjectsInput>) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let bucket = req.input.bucket.clone();
        route!(self, req, &bucket, sea: sea_bucket::delete_objects, lake: LakeBuckets::delete_objects)
    }

    async fn put_object(&self, req: S3Request<PutObjectInput>) -> S3Result<S3Response<PutObjectOutput>> {
        let bucket = req.input.bucket.clone();
        route!(self, req, &bucket, sea: sea_refuses, lake: LakeBuckets::put_object)
    }

    async fn copy_object(&self, req: S3Request<CopyObjectInput>) -> S3Result<S3Response<CopyObjectOutput>> {
        let bucket = req.input.bucket.clone();
        route!(self, req, &bucket, sea: sea_refuses, lake: LakeBuckets::copy_object)
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let bucket = req.input.bucket.clone();
        route!(self, req, &bucket, sea: sea_refuses, lake: LakeBuckets::create_multipart_upload)
    }

    async fn upload_part(&self, req: S3Request<UploadPartInput>) -> S3Result<S3Response<UploadPartOutput>> {
        let bucket = req.input.bucket.clone();
        route!(self, req, &bucket, sea: sea_refuses, lake: LakeBuckets::upload_part)
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        let bucket = req.input.bucket.clone();
        route!(self, req, &bucket, sea: sea_refuses, lake: LakeBuckets::upload_part_copy)
    }

    async fn list_multipart_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        let bucket = req.input.bucket.clone();
        route!(self, req, &bucket, sea: sea_refuses, lake: LakeBuckets::list_multipart_uploads)
    }

    async fn list_parts(&self, req: S3Request<ListPartsInput>) -> S3Result<S3Response<ListPartsOutput>> {
        let bucket = req.input.bucket.clone();
        route!(self, req, &bucket, sea: sea_refuses, lake: LakeBuckets::list_parts)
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let bucket = req.input.bucket.clone();
        route!(self, req, &bucket, sea: sea_refuses, lake: LakeBuckets::complete_multipart_upload)
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let bucket = req.input.bucket.clone();
        route!(self, req, &bucket, sea: sea_refuses, lake: LakeBuckets::abort_multipart_upload)
    }

    async fn get_bucket_versioning(
        &self,
        req: S3Request<GetBucketVersioningInput>,
    ) -> S3Result<S3Response<GetBucketVersioningOutput>> {
        let bucket = req.input.bucket.clone();
        route!(self, req, &bucket, sea: sea_refuses, lake: unversioned::get_bucket_versioning)
    }

    async fn list_object_versions(
        &self,
        req: S3Request<ListObjectVersionsInput>,
    ) -> S3Result<S3Response<ListObjectVersionsOutput>> {
        let bucket = req.input.bucket.clone();
        route!(self, req, &bucket, sea: sea_refuses, lake: unversioned::list_object_versions)
    }

    async fn get_object_attributes(
        &self,
        req: S3Request<GetObjectAttributesInput>,
    ) -> S3Result<S3Response<GetObjectAttributesOutput>> {
        let bucket = req.input.bucket.clone();
        route!(self, req, &bucket, sea: sea_not_implemented, lake: unversioned::get_object_attributes)
    }

    async fn get_object_tagging(
        &self,
        req: S3Request<GetObjectTaggingInput>,
    ) -> S3Result<S3Response<GetObjectTaggingOutput>> {
        let bucket = req.input.bucket.clone();
        route!(self, req, &bucket, sea: sea_refuses, lake: unversioned::get_object_tagging)
    }

    async fn put_object_tagging(
        &self,
        req: S3Request<PutObjectTaggingInput>,
    ) -> S3Result<S3Response<PutObjectTaggingOutput>> {
        let bucket = req.input.bucket.clone();
        route!(self, req, &bucket, sea: sea_refuses, lake: unversioned::put_object_tagging)
    }

    async fn delete_object_tagging(
        &self,
        req: S3Request<DeleteObjectTaggingInput>,
    ) -> S3Result<S3Response<DeleteObjectTaggingOutput>> {
        let bucket = req.input.bucket.clone();
        route!(self, req, &bucket, sea: sea_refuses, lake: unversioned::delete_object_tagging)
    }
}
