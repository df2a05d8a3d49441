//! The SEA bucket `cxone-sea`: each tenant's folder, read and delete only, served from SEA
//! metadata with bytes derived from the seed (S2, S5, S6, S8).
//!
//! TODO(helper): the real operations. Until then every call is refused.

use std::sync::Arc;

use s3s::dto::*;
use s3s::{s3_error, S3Request, S3Response, S3Result};

use super::auth::Caller;
use crate::app::App;

macro_rules! not_yet {
    ($($op:ident: $input:ty => $output:ty;)*) => {
        $(
            /// SEA side of the operation.
            pub async fn $op(_app: &Arc<App>, _caller: &Caller, _req: S3Request<$input>) -> S3Result<S3Response<$output>> {
                Err(s3_error!(AccessDenied, "Access Denied"))
            }
        )*
    };
}

not_yet! {
    head_bucket: HeadBucketInput => HeadBucketOutput;
    get_bucket_location: GetBucketLocationInput => GetBucketLocationOutput;
    list_objects: ListObjectsInput => ListObjectsOutput;
    list_objects_v2: ListObjectsV2Input => ListObjectsV2Output;
    get_object: GetObjectInput => GetObjectOutput;
    head_object: HeadObjectInput => HeadObjectOutput;
    delete_object: DeleteObjectInput => DeleteObjectOutput;
    delete_objects: DeleteObjectsInput => DeleteObjectsOutput;
}
