//! Deterministic ids: the same seed and the same sequence of operations give the same ids.
//! Secrets are the exception: they are random (`secret`).

use sha2::{Digest, Sha256};

/// A UUID-shaped id derived from the seed, a namespace and a sequence number.
pub fn uuid(seed: u64, namespace: &str, n: u64) -> String {
    let mut h = Sha256::new();
    h.update(seed.to_le_bytes());
    h.update(namespace.as_bytes());
    h.update(n.to_le_bytes());
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    uuid::Builder::from_random_bytes(b).into_uuid().to_string()
}

/// A 64-bit value derived from the seed and parts (seeds for per-object generators).
pub fn derive_u64(seed: u64, parts: &[&[u8]]) -> u64 {
    let mut h = Sha256::new();
    h.update(seed.to_le_bytes());
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    let d = h.finalize();
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    u64::from_le_bytes(b)
}

/// A random secret (not derived from the seed: secrets must not be guessable).
pub fn secret(len: usize) -> String {
    let mut s = String::with_capacity(len + 32);
    while s.len() < len {
        s.push_str(&uuid::Uuid::new_v4().simple().to_string());
    }
    s.truncate(len);
    s
}

/// A random access-key-shaped id: `PREFIX` + upper-case alphanumerics, 20 characters like AWS.
pub fn access_key_id(prefix: &str) -> String {
    let body = secret(40).to_ascii_uppercase();
    let mut id = prefix.to_string();
    id.push_str(&body[..20 - prefix.len()]);
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_deterministic_per_seed() {
        assert_eq!(uuid(42, "file", 1), uuid(42, "file", 1));
        assert_ne!(uuid(42, "file", 1), uuid(43, "file", 1));
        assert_ne!(uuid(42, "file", 1), uuid(42, "file", 2));
        assert_eq!(access_key_id("AKIA").len(), 20);
    }
}
