//! The S3 front on the S3 listener: the SEA bucket `cxone-sea` (tenant folders, read and delete
//! only, expiry, empty-folder denial, SSE-KMS headers) and the tenants' data-lake buckets (full
//! S3 semantics over s3s-fs, owner only). Behaviour is layered over s3s-fs as a wrapper
//! implementing the same `s3s::S3` trait.

pub mod auth;
pub mod credentials;
pub mod datalake;
pub mod expect_continue;
pub mod front;
pub mod lake_attributes;
pub mod lake_bucket;
pub mod lake_fs;
pub mod lake_list;
pub mod lake_owner;
pub mod lake_platform;
pub mod lake_read;
pub mod lake_tags;
pub mod lake_upload;
pub mod lake_upload_list;
pub mod lake_write;
pub mod request_id;
pub mod sea_bucket;

use std::sync::Arc;

use s3s::service::{S3Service, S3ServiceBuilder};

use crate::app::App;

/// Builds the S3 service for the S3 listener.
pub fn service(app: Arc<App>) -> std::io::Result<Service> {
    let fs = s3s_fs::FileSystem::new(app.store.s3_root()).map_err(|e| std::io::Error::other(format!("{e:?}")))?;
    let mut builder = S3ServiceBuilder::new(front::S3Front::new(app.clone(), fs));
    builder.set_auth(auth::StoreAuth::new(app.clone()));
    builder.set_access(auth::NoteAccess::new(app.clone()));
    Ok(crate::observe::ObserveS3::new(
        app,
        expect_continue::CloseAfterBodilessExpect::new(request_id::RequestIds::new(builder.build())),
    ))
}

/// The S3 listener's service: counted and logged ([`crate::observe`]), `Expect: 100-continue`
/// without a body handled, request ids added, over s3s.
pub type Service =
    crate::observe::ObserveS3<expect_continue::CloseAfterBodilessExpect<request_id::RequestIds<S3Service>>>;
