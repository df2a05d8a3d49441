//! Recording files as CXone Recording names them (S9):
//! `<UTC YYYY-MM-DD-HH-MM-SS>_<contact id>_<MEDIA>_<segment/recording/statement id>.mp4`.
//! Bytes are a valid MP4 derived from the seed and the file id, never stored: placing 100,000
//! files in SEA copies no bytes.

use chrono::Duration;
use md5::Md5;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rusqlite::Connection;
use sha2::{Digest, Sha256};

use super::mp4::recording_mp4;
use crate::events::{self, NewEvent};
use crate::ids;
use crate::store::time::{to_us, Instant};
use crate::store::{reserve_counter, StoreResult};

/// What `POST /_mock/tenants/{t}/recordings` asks for, validated.
#[derive(Debug, Clone)]
pub struct NewRecordings {
    /// How many files.
    pub count: u64,
    /// Media types to draw from (round-robin over the seeded sequence).
    pub media_types: Vec<String>,
    /// Recording times spread over `[start, end)`.
    pub start: Instant,
    /// Exclusive end of the spread.
    pub end: Instant,
    /// Tier the files are created in.
    pub tier: String,
}

/// The seed of one file's bytes.
fn bytes_seed(seed: u64, file_id: &str) -> u64 {
    ids::derive_u64(seed, &[b"recording-bytes", file_id.as_bytes()])
}

/// Recording length: 3-30 s, from the file's seed.
fn duration_ms(bytes_seed: u64) -> u32 {
    3_000 + (bytes_seed % 27_001) as u32
}

/// The bytes of a recording: a few seconds of silent AAC in MP4, deterministic from the seed.
pub fn recording_bytes(seed: u64, file_id: &str) -> Vec<u8> {
    let s = bytes_seed(seed, file_id);
    recording_mp4(s, duration_ms(s))
}

/// The file name CXone gives a recording.
pub fn file_name(recorded_at: Instant, contact_id: u64, media: &str, id: &str) -> String {
    format!(
        "{}_{contact_id}_{media}_{id}.mp4",
        recorded_at.format("%Y-%m-%d-%H-%M-%S")
    )
}

/// Creates `req.count` recordings for `tenant_id`. Deterministic from (seed, tenant, batch number).
pub fn create(c: &Connection, seed: u64, now: Instant, tenant_id: &str, req: &NewRecordings) -> StoreResult<u64> {
    let batch = reserve_counter(c, &format!("recordings.{tenant_id}"), 1)?;
    let first = reserve_counter(c, &format!("file.{tenant_id}"), req.count)?;
    let mut rng = ChaCha8Rng::seed_from_u64(ids::derive_u64(
        seed,
        &[b"recordings", tenant_id.as_bytes(), &batch.to_le_bytes()],
    ));
    let span_s = (req.end - req.start).num_seconds().max(1);
    let mut insert = c.prepare_cached(
        "INSERT INTO files(id,tenant_id,name,media_type,tier,initial_tier,size,sha256,md5,recorded_at,created_at,tier_changed_at)
         VALUES(?1,?2,?3,?4,?5,?5,?6,?7,?8,?9,?10,?10)",
    )?;
    for i in 0..req.count {
        let id = ids::uuid(seed, &format!("file.{tenant_id}"), first + i);
        let media = &req.media_types[(i as usize) % req.media_types.len()];
        let recorded_at = req.start + Duration::seconds(rng.random_range(0..span_s));
        let contact_id: u64 = rng.random_range(10_000_000_000..100_000_000_000);
        let bytes = recording_bytes(seed, &id);
        let sha = hex::encode(Sha256::digest(&bytes));
        let md5 = hex::encode(Md5::digest(&bytes));
        let name = file_name(recorded_at, contact_id, media, &id);
        insert.execute(rusqlite::params![
            id,
            tenant_id,
            name,
            media,
            req.tier,
            bytes.len() as i64,
            sha,
            md5,
            to_us(recorded_at),
            to_us(now)
        ])?;
    }
    let detail =
        serde_json::json!({"count": req.count, "tier": req.tier, "media_types": req.media_types, "batch": batch});
    events::record(c, now, &NewEvent::tenant("recordings.created", tenant_id, detail))?;
    Ok(req.count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::time::parse_rfc3339;

    #[test]
    fn s9_names_follow_cxone_format() {
        let t = parse_rfc3339("2021-10-09T07:49:13Z").unwrap_or_default();
        let n = file_name(t, 12345678903, "VOICE", "12f9305e-8763-4b3a-9098-5dab64752554");
        assert_eq!(
            n,
            "2021-10-09-07-49-13_12345678903_VOICE_12f9305e-8763-4b3a-9098-5dab64752554.mp4"
        );
    }

    #[test]
    fn bytes_are_deterministic_mp4() {
        let a = recording_bytes(42, "f1");
        assert_eq!(a, recording_bytes(42, "f1"));
        assert_ne!(a, recording_bytes(43, "f1"));
        assert_eq!(&a[4..8], b"ftyp");
    }
}
