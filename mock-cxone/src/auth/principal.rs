//! The bearer-token extractor: 401 without a valid token, 403 without the scope (D1).

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::tokens::{self, Grant};
use crate::app::App;
use crate::error::ApiError;

/// An authenticated caller of the CXone API.
#[derive(Debug, Clone)]
pub struct Principal(pub Grant);

impl Principal {
    /// The caller's tenant.
    pub fn tenant_id(&self) -> &str {
        &self.0.tenant_id
    }

    /// 403 unless the token carries `scope`.
    pub fn require(&self, scope: &str) -> Result<(), ApiError> {
        if self.0.scopes.iter().any(|s| s == scope) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "this token lacks the scope {scope:?} that this endpoint needs"
            )))
        }
    }
}

impl FromRequestParts<Arc<App>> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| ApiError::Unauthorized("missing Authorization: Bearer <token>".into()))?;
        let value = header.to_str().unwrap_or_default();
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::Unauthorized("Authorization must be 'Bearer <token>'".into()))?;
        let now = app.clock.now();
        let grant = app
            .store
            .with(|c| tokens::lookup(c, token, "access", now))?
            .ok_or_else(|| ApiError::Unauthorized("the bearer token is invalid or has expired".into()))?;
        if let Some(note) = parts.extensions.get::<crate::observe::RequestNote>() {
            note.set_tenant(&grant.tenant_id);
        }
        Ok(Principal(grant))
    }
}
