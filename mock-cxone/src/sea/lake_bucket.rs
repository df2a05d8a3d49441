//! Tenants' data-lake buckets on the S3 endpoint: full S3 semantics over s3s-fs, for the bucket's
//! owner only. Bucket names are global as in S3: another tenant's bucket refuses (D8).
//!
//! TODO(helper): ownership checks, ListBuckets filtered to the owner, SSE-KMS headers, and the
//! s3s-fs 0.14.1 defect fixes listed in S3S-NOTES.md.

use std::sync::Arc;

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, S3};

use super::auth::Caller;
use crate::app::App;

/// The data-lake side of the S3 front.
pub struct LakeBuckets {
    #[allow(dead_code)]
    app: Arc<App>,
    fs: s3s_fs::FileSystem,
}

impl LakeBuckets {
    /// Data-lake buckets stored by `fs`.
    pub fn new(app: Arc<App>, fs: s3s_fs::FileSystem) -> Self {
        Self { app, fs }
    }
}

/// Emits `pub async fn op(&self, caller, req)` passing straight through to s3s-fs.
macro_rules! pass_through {
    ($($op:ident: $input:ty => $output:ty;)*) => {
        impl LakeBuckets {
            $(
                /// Passes the operation to s3s-fs.
                pub async fn $op(&self, _caller: &Caller, req: S3Request<$input>) -> S3Result<S3Response<$output>> {
                    self.fs.$op(req).await
                }
            )*
        }
    };
}

pass_through! {
    create_bucket: CreateBucketInput => CreateBucketOutput;
    delete_bucket: DeleteBucketInput => DeleteBucketOutput;
    head_bucket: HeadBucketInput => HeadBucketOutput;
    get_bucket_location: GetBucketLocationInput => GetBucketLocationOutput;
    list_buckets: ListBucketsInput => ListBucketsOutput;
    list_objects: ListObjectsInput => ListObjectsOutput;
    list_objects_v2: ListObjectsV2Input => ListObjectsV2Output;
    put_object: PutObjectInput => PutObjectOutput;
    get_object: GetObjectInput => GetObjectOutput;
    head_object: HeadObjectInput => HeadObjectOutput;
    delete_object: DeleteObjectInput => DeleteObjectOutput;
    delete_objects: DeleteObjectsInput => DeleteObjectsOutput;
    copy_object: CopyObjectInput => CopyObjectOutput;
    create_multipart_upload: CreateMultipartUploadInput => CreateMultipartUploadOutput;
    upload_part: UploadPartInput => UploadPartOutput;
    upload_part_copy: UploadPartCopyInput => UploadPartCopyOutput;
    list_parts: ListPartsInput => ListPartsOutput;
    complete_multipart_upload: CompleteMultipartUploadInput => CompleteMultipartUploadOutput;
    abort_multipart_upload: AbortMultipartUploadInput => AbortMultipartUploadOutput;
}
