//! CXone authentication: tenants and their API users, OAuth tokens, the JWT `id_token`, scopes.

pub mod jwt;
pub mod principal;
pub mod tenants;
pub mod tokens;

/// The four scopes CXone's documents name (D1). A tenant has a set; a token carries at most those.
pub const ALL_SCOPES: [&str; 4] = [
    "data-download:read",
    "data-download:write",
    "storage:manage",
    "organization:read",
];

/// The CXone area reported in discovery and tokens.
pub const AREA: &str = "na1";
