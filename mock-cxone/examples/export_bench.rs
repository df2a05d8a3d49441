//! Speed of Data Download exports without the server: record generation, Parquet writing, and
//! the two together, against a bare arrow-rs `ArrowWriter` writing the same batches.
//!
//! ```sh
//! cargo run --release -p mock-cxone --example export_bench -- --days 30
//! ```
//!
//! For every category and data type, over `--days` days from `--start` at the category's default
//! frequency (one file per interval and data type, as the scheduler makes them), it times:
//!
//! - `gen`: generation alone (`generate::batches` collected into a Vec);
//! - `bare`: a bare `parquet::arrow::ArrowWriter` (default properties plus the same compression)
//!   writing the pre-generated batches of each file into a `Vec<u8>`;
//! - `bare/rg`: the same bare writer cutting one row group per batch (`flush` after each), the
//!   layout `writer::write_file` produces (one row group per generated hour), to tell the cost of
//!   that layout from the cost of the mock's own code;
//! - `write_file`: `writer::write_file` on the same pre-generated batches (null-column check,
//!   projection, one row group per hourly batch, fixed `created_by`);
//! - `gen+write`: generation streamed into `writer::write_file`, what an export does per file;
//! - `disk`: what the platform destination then does per file, on a sample of each category's
//!   files (`--disk-sample`, default 60) written to a temp dir: `lake_platform::write_object` makes
//!   three atomic writes per object (the data, its metadata sidecar, its internal-info sidecar; each
//!   `lake_fs::write_atomic_sync`: create, write, fsync, rename) plus an MD5, `export.rs` adds a
//!   SHA-256 and a manifest object (three more atomic writes). Timed with the fsyncs and without
//!   them, reported per file and extrapolated to all files.
//!
//! Each measurement is repeated `--rounds` times, interleaved (round 1 of every measure of every
//! category, then round 2, ...) and the median is reported, since the machine is noisy. The
//! ratio is rate(`gen+write`) / rate(`bare`) in rows per second (the issue's target: >= 0.8).
//! Output is a markdown table on stdout; progress goes to stderr.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;
use std::time::Instant as WallClock;

use arrow_array::RecordBatch;
use chrono::Duration;
use mock_cxone::download::catalog::{Category, DataTypeSchema};
use mock_cxone::download::generate::{batches, Scope};
use mock_cxone::download::writer::{write_file, Compression, Format};
use mock_cxone::store::time::{parse_rfc3339, Instant};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression as ParquetCompression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use sha2::{Digest as _, Sha256};

struct Args {
    days: i64,
    rounds: usize,
    start: Instant,
    seed: u64,
    tenant: String,
    compression: Compression,
    disk: bool,
    disk_sample: usize,
}

fn usage() -> ! {
    eprintln!(
        "usage: export_bench [--days N (30)] [--rounds R (3)] [--start RFC3339 (2026-01-01T00:00:00Z)] \
         [--seed S (42)] [--tenant ID (t-demo)] [--compression snappy|zstd|none (snappy)] [--disk-sample N (60)] \
         [--no-disk]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut a = Args {
        days: 30,
        rounds: 3,
        start: parse_rfc3339("2026-01-01T00:00:00Z").unwrap_or_default(),
        seed: 42,
        tenant: "t-demo".to_string(),
        compression: Compression::Snappy,
        disk: true,
        disk_sample: 60,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--no-disk" {
            a.disk = false;
            continue;
        }
        let Some(v) = it.next() else { usage() };
        match flag.as_str() {
            "--days" => a.days = v.parse().unwrap_or_else(|_| usage()),
            "--rounds" => a.rounds = v.parse().unwrap_or_else(|_| usage()),
            "--start" => a.start = parse_rfc3339(&v).unwrap_or_else(|| usage()),
            "--seed" => a.seed = v.parse().unwrap_or_else(|_| usage()),
            "--tenant" => a.tenant = v,
            "--compression" => a.compression = Compression::parse(&v).unwrap_or_else(|| usage()),
            "--disk-sample" => a.disk_sample = v.parse().unwrap_or_else(|_| usage()),
            _ => usage(),
        }
    }
    if a.days < 1 || a.rounds < 1 {
        usage()
    }
    a
}

/// One file to write: a data type over one interval.
struct FileJob {
    schema: DataTypeSchema,
    start: Instant,
    end: Instant,
}

/// Every file of `category` over the run, in scheduler order (interval, then data type).
fn files_of(category: Category, a: &Args) -> Vec<FileJob> {
    let step = category.default_frequency().hours();
    let intervals = a.days * 24 / step;
    let types = category.data_types();
    let mut out = Vec::new();
    for i in 0..intervals {
        let start = a.start + Duration::hours(i * step);
        for schema in &types {
            out.push(FileJob {
                schema: schema.clone(),
                start,
                end: start + Duration::hours(step),
            });
        }
    }
    out
}

/// Seconds taken by each measure in one round.
#[derive(Default, Clone, Copy)]
struct Times {
    gen: f64,
    bare: f64,
    bare_rg: f64,
    write_file: f64,
    gen_write: f64,
    /// Seconds per file, platform write pattern with fsync.
    disk_sync: f64,
    /// Seconds per file, same without fsync.
    disk_nosync: f64,
}

/// What a category's files hold (the same every round).
#[derive(Default, Clone, Copy)]
struct Volume {
    files: usize,
    rows: u64,
    bytes: u64,
    bare_bytes: u64,
}

fn parquet_compression(c: Compression) -> ParquetCompression {
    match c {
        Compression::Snappy => ParquetCompression::SNAPPY,
        Compression::Zstd => ParquetCompression::ZSTD(ZstdLevel::default()),
        Compression::None => ParquetCompression::UNCOMPRESSED,
    }
}

fn bare_write(
    compression: Compression,
    schema: &arrow_schema::SchemaRef,
    batches: &[RecordBatch],
    flush_each: bool,
) -> Vec<u8> {
    let props = WriterProperties::builder()
        .set_compression(parquet_compression(compression))
        .build();
    let run = || -> Result<Vec<u8>, parquet::errors::ParquetError> {
        let mut w = ArrowWriter::try_new(Vec::new(), schema.clone(), Some(props))?;
        for b in batches {
            w.write(b)?;
            if flush_each {
                w.flush()?;
            }
        }
        w.into_inner()
    };
    run().unwrap_or_else(|e| panic!("bare ArrowWriter failed: {e}"))
}

/// `lake_fs::write_atomic_sync`: temp file, write, (fsync), rename.
fn atomic_write(dir: &Path, name: &str, bytes: &[u8], sync: bool) -> std::io::Result<()> {
    let tmp = dir.join(format!(".tmp-{name}"));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    if sync {
        f.sync_all()?;
    }
    drop(f);
    std::fs::rename(&tmp, dir.join(name))
}

/// What the platform destination does for one data file and its manifest: per object, the MD5
/// (ETag) and three atomic writes (data, metadata sidecar, internal-info sidecar); the SHA-256
/// `export.rs` takes of the data file; the manifest JSON.
fn platform_write(dir: &Path, n: usize, bytes: &[u8], sync: bool) -> std::io::Result<()> {
    let sha = hex::encode(Sha256::digest(bytes));
    let manifest = serde_json::to_vec_pretty(&serde_json::json!({
        "job_id": format!("job-{n}"), "files": [{"key": format!("part-{n:06}.parquet"), "sha256": sha}],
    }))?;
    for (name, body) in [
        (format!("part-{n:06}.parquet"), bytes),
        (format!("_manifest-{n:06}.json"), &manifest[..]),
    ] {
        let etag = hex::encode(md5::Md5::digest(body));
        atomic_write(dir, &name, body, sync)?;
        let meta = serde_json::json!({"content_type": "application/vnd.apache.parquet"}).to_string();
        atomic_write(dir, &format!(".{name}.metadata.json"), meta.as_bytes(), sync)?;
        let info = serde_json::json!({"e_tag": etag, "kms": "k"}).to_string();
        atomic_write(dir, &format!(".{name}.internal.json"), info.as_bytes(), sync)?;
    }
    Ok(())
}

/// One round of every measure for one category.
fn round(category: Category, a: &Args, scope: Scope<'_>, dir: Option<&Path>) -> (Times, Volume) {
    let files = files_of(category, a);
    let mut t = Times::default();
    let mut v = Volume {
        files: files.len(),
        ..Volume::default()
    };

    // (i) generation alone; keeps the batches for (ii) and (iv).
    let t0 = WallClock::now();
    let generated: Vec<Vec<RecordBatch>> = files
        .iter()
        .map(|f| batches(scope, &f.schema, f.start, f.end).collect())
        .collect();
    t.gen = t0.elapsed().as_secs_f64();
    let schemas: Vec<_> = files.iter().map(|f| f.schema.arrow_schema()).collect();

    // (ii) bare ArrowWriter on the pre-generated batches.
    let t0 = WallClock::now();
    for (bs, schema) in generated.iter().zip(&schemas) {
        v.bare_bytes += std::hint::black_box(bare_write(a.compression, schema, bs, false)).len() as u64;
    }
    t.bare = t0.elapsed().as_secs_f64();

    // (ii b) the same, one row group per batch.
    let t0 = WallClock::now();
    for (bs, schema) in generated.iter().zip(&schemas) {
        std::hint::black_box(bare_write(a.compression, schema, bs, true));
    }
    t.bare_rg = t0.elapsed().as_secs_f64();

    // (iv) writer::write_file on the same batches.
    let t0 = WallClock::now();
    for (bs, schema) in generated.iter().zip(&schemas) {
        let w = write_file(Format::Parquet, a.compression, schema, bs.iter().cloned())
            .unwrap_or_else(|e| panic!("write_file failed: {e}"));
        std::hint::black_box(&w);
    }
    t.write_file = t0.elapsed().as_secs_f64();
    drop(generated);

    // (iii) generation streamed into write_file, as an export does; keeps the files for (v).
    let t0 = WallClock::now();
    let mut written = Vec::with_capacity(files.len());
    for (f, schema) in files.iter().zip(&schemas) {
        let w = write_file(
            Format::Parquet,
            a.compression,
            schema,
            batches(scope, &f.schema, f.start, f.end),
        )
        .unwrap_or_else(|e| panic!("write_file failed: {e}"));
        v.rows += w.rows;
        v.bytes += w.bytes.len() as u64;
        written.push(w.bytes);
    }
    t.gen_write = t0.elapsed().as_secs_f64();

    // (v) a sample of the files to disk the platform's way, with and without fsync.
    if let Some(dir) = dir {
        let sample = &written[..written.len().min(a.disk_sample)];
        for sync in [true, false] {
            let sub = dir.join(format!("{}-{sync}", category.as_str()));
            let _ = std::fs::remove_dir_all(&sub);
            std::fs::create_dir_all(&sub).unwrap_or_else(|e| panic!("temp dir: {e}"));
            let t0 = WallClock::now();
            for (n, bytes) in sample.iter().enumerate() {
                platform_write(&sub, n, bytes, sync).unwrap_or_else(|e| panic!("disk write: {e}"));
            }
            let per_file = t0.elapsed().as_secs_f64() / sample.len().max(1) as f64;
            if sync {
                t.disk_sync = per_file;
            } else {
                t.disk_nosync = per_file;
            }
        }
    }
    (t, v)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn mb(b: u64) -> f64 {
    b as f64 / 1e6
}

fn main() {
    let a = parse_args();
    let scope = Scope {
        seed: a.seed,
        tenant_id: &a.tenant,
    };
    let tmp = a
        .disk
        .then(|| tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}")));
    let dir = tmp.as_ref().map(|t| t.path());

    // Warm-up (page cache, allocator, lazy statics): one day of every category, not timed.
    let warm = Args {
        days: 1,
        rounds: 1,
        tenant: a.tenant.clone(),
        disk: false,
        ..a
    };
    for c in Category::ALL {
        round(c, &warm, scope, None);
    }

    let mut times: BTreeMap<usize, Vec<Times>> = BTreeMap::new();
    let mut volumes: BTreeMap<usize, Volume> = BTreeMap::new();
    let mut totals: Vec<Times> = Vec::new();
    for r in 0..a.rounds {
        let mut total = Times::default();
        for (i, c) in Category::ALL.into_iter().enumerate() {
            eprintln!("round {}/{}: {}", r + 1, a.rounds, c.as_str());
            let (t, v) = round(c, &a, scope, dir);
            total.gen += t.gen;
            total.bare += t.bare;
            total.bare_rg += t.bare_rg;
            total.write_file += t.write_file;
            total.gen_write += t.gen_write;
            // Totals of the disk measures are extrapolated seconds for every file.
            total.disk_sync += t.disk_sync * v.files as f64;
            total.disk_nosync += t.disk_nosync * v.files as f64;
            times.entry(i).or_default().push(t);
            volumes.insert(i, v);
        }
        totals.push(total);
    }

    let med = |ts: &[Times]| Times {
        gen: median(ts.iter().map(|t| t.gen).collect()),
        bare: median(ts.iter().map(|t| t.bare).collect()),
        bare_rg: median(ts.iter().map(|t| t.bare_rg).collect()),
        write_file: median(ts.iter().map(|t| t.write_file).collect()),
        gen_write: median(ts.iter().map(|t| t.gen_write).collect()),
        disk_sync: median(ts.iter().map(|t| t.disk_sync).collect()),
        disk_nosync: median(ts.iter().map(|t| t.disk_nosync).collect()),
    };
    let ratio = |base: f64, t: &Times| {
        if t.gen_write > 0.0 {
            base / t.gen_write
        } else {
            f64::NAN
        }
    };
    let rate = |rows: u64, s: f64| if s > 0.0 { rows as f64 / s / 1e3 } else { f64::NAN };
    let disk = |per_file: f64, files: usize| {
        if a.disk {
            format!("{:.2} ({:.1})", per_file * 1e3, per_file * files as f64)
        } else {
            "-".into()
        }
    };

    println!(
        "{} days from {} at each category's default frequency, seed {}, tenant `{}`, parquet/{}; median of {} \
         interleaved rounds (totals: median of the rounds' sums). `gen`: generation alone; `bare`: a bare \
         `ArrowWriter` (default properties, same codec) writing the pre-generated batches; \
         `bare/rg`: the same with one row group per batch (flush after each), the layout `write_file` makes; \
         `write_file`: `writer::write_file` on the same batches; `gen+write`: generation streamed into `write_file`, as an \
         export does; ratio = rate(gen+write) / rate(bare) in rows/s (target >= 0.8), ratio/rg the same against \
         bare/rg. `disk`: ms per file for \
         the platform destination's writes of a data file and its manifest (6 atomic writes, MD5s, SHA-256; \
         sample of {} files per category), with and without fsync, and in brackets the seconds that makes for \
         all the files.\n",
        a.days,
        mock_cxone::store::time::rfc3339(a.start),
        a.seed,
        a.tenant,
        a.compression.as_str(),
        a.rounds,
        a.disk_sample,
    );
    println!(
        "| category | data types | files | rows | MB (bare) | gen s | bare s | bare/rg s | write_file s \
         | gen+write s | bare k rows/s | gen+write k rows/s | ratio | ratio/rg | disk ms/file fsync (s) | no fsync (s) |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut sum = Volume::default();
    for (i, c) in Category::ALL.into_iter().enumerate() {
        let t = med(&times[&i]);
        let v = volumes[&i];
        sum.files += v.files;
        sum.rows += v.rows;
        sum.bytes += v.bytes;
        sum.bare_bytes += v.bare_bytes;
        let types: Vec<&str> = c.data_types().iter().map(|d| d.name).collect();
        println!(
            "| {} | {} | {} | {} | {:.2} ({:.2}) | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.0} | {:.0} | {:.2} | {:.2} | {} | {} |",
            c.as_str(),
            types.join(", "),
            v.files,
            v.rows,
            mb(v.bytes),
            mb(v.bare_bytes),
            t.gen,
            t.bare,
            t.bare_rg,
            t.write_file,
            t.gen_write,
            rate(v.rows, t.bare),
            rate(v.rows, t.gen_write),
            ratio(t.bare, &t),
            ratio(t.bare_rg, &t),
            disk(t.disk_sync, v.files),
            disk(t.disk_nosync, v.files),
        );
    }
    let t = med(&totals);
    let per_file = |s: f64| s / sum.files.max(1) as f64;
    println!(
        "| **total** | | {} | {} | {:.2} ({:.2}) | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.0} | {:.0} | **{:.2}** | **{:.2}** | {} | {} |",
        sum.files,
        sum.rows,
        mb(sum.bytes),
        mb(sum.bare_bytes),
        t.gen,
        t.bare,
        t.bare_rg,
        t.write_file,
        t.gen_write,
        rate(sum.rows, t.bare),
        rate(sum.rows, t.gen_write),
        ratio(t.bare, &t),
        ratio(t.bare_rg, &t),
        disk(per_file(t.disk_sync), sum.files),
        disk(per_file(t.disk_nosync), sum.files),
    );
}
