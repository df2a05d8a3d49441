//! The fuzz targets' harnesses (`mock_cxone::fuzzing`) without libFuzzer, in `make test`: each
//! harness gets its committed seeds (`fuzz/seeds/<target>/`, the scenario library, the crash
//! inputs kept in `fuzz/regressions/<target>/`) and a few thousand inputs generated from them by
//! a seeded mutator (bit flips, byte edits, splices, dictionary tokens, truncation). libFuzzer's
//! coverage-guided runs are `make fuzz` / `make fuzz-long` (docs/reliability.md, "Fuzzing"):
//! building them costs more than CI can spend, this test keeps the same properties checked on
//! every run.

use std::path::{Path, PathBuf};

/// Generated inputs per target.
const GENERATED: usize = 3000;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("clients-tests sits in the repository")
        .to_path_buf()
}

/// Files of `dir` (none when it does not exist), sorted for a stable order.
fn files(dir: &Path) -> Vec<Vec<u8>> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| std::fs::read(p).expect("a readable seed file"))
        .collect()
}

fn seeds(target: &str, extra: &[&str]) -> Vec<Vec<u8>> {
    let mut out = files(&repo().join("fuzz/seeds").join(target));
    out.extend(files(&repo().join("fuzz/regressions").join(target)));
    for dir in extra {
        out.extend(files(&repo().join(dir)));
    }
    assert!(!out.is_empty(), "no seeds for {target}");
    out
}

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// One mutated input: one to eight edits of a seed, sometimes spliced with another.
fn mutate(rng: &mut Rng, seeds: &[Vec<u8>], dict: &[&[u8]]) -> Vec<u8> {
    let mut v = seeds[rng.below(seeds.len())].clone();
    for _ in 0..=rng.below(8) {
        let at = rng.below(v.len() + 1);
        match rng.below(8) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = rng.next() as u8;
            }
            2 => v.insert(at, rng.next() as u8),
            3 if !v.is_empty() => {
                let end = (at + 1 + rng.below(16)).min(v.len());
                v.drain(at.min(end)..end);
            }
            4 => {
                let tok = dict[rng.below(dict.len())];
                v.splice(at..at, tok.iter().copied());
            }
            5 => {
                let other = &seeds[rng.below(seeds.len())];
                let from = rng.below(other.len() + 1);
                v.truncate(at);
                v.extend_from_slice(&other[from..]);
            }
            6 => v.truncate(at),
            _ => {
                // Duplicate a slice (long values, repeated tables).
                let end = (at + rng.below(64)).min(v.len());
                let dup = v[at..end].to_vec();
                v.splice(at..at, dup);
            }
        }
    }
    v
}

fn run(target: &str, seeds: &[Vec<u8>], dict: &[&[u8]], harness: impl Fn(&[u8])) {
    for s in seeds {
        harness(s);
    }
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ target.len() as u64);
    for _ in 0..GENERATED {
        let input = mutate(&mut rng, seeds, dict);
        harness(&input);
    }
    println!(
        "{target}: {} seeds + {GENERATED} generated inputs, no property broken",
        seeds.len()
    );
}

#[test]
fn fuzz_scenario_seeds_and_mutations() {
    let seeds = seeds("scenario", &["scenarios"]);
    let dict: &[&[u8]] = &[
        b"\n[[timeline]]\nat = \"+1h\"\naction = \"advance\"\n",
        b"\n[[recordings]]\ncount = 2\n",
        b"\n[[faults]]\nkind = \"job_failed\"\n",
        b"run_for = \"99999999999d\"\n",
        b"end = \"-1s\"\n",
        b"start = 9999-12-31T23:59:59Z\n",
        b"\"+9223372036854775807s\"",
        b"\"-2562047788015d\"",
        b"1e308",
        b"-9223372036854775808",
        b"{ }",
        b"[]",
        b"\"\"",
        b"\xc3\xa9",
    ];
    run("scenario", &seeds, dict, mock_cxone::fuzzing::scenario);
}

#[test]
fn fuzz_partition_template_seeds_and_mutations() {
    let seeds = seeds("partition_template", &[]);
    let dict: &[&[u8]] = &[
        b"{yyyy}",
        b"{MM}",
        b"{dd}",
        b"{HH}",
        b"/",
        b"..",
        b".",
        b"=",
        b"{",
        b"}",
        b"\xff\xff\xff\x7f",
    ];
    run(
        "partition_template",
        &seeds,
        dict,
        mock_cxone::fuzzing::partition_template,
    );
}

#[test]
fn fuzz_lake_key_seeds_and_mutations() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = mock_cxone::fuzzing::scratch_app(dir.path()).expect("a scratch mock state");
    let seeds = seeds("lake_key", &[]);
    let dict: &[&[u8]] = &[
        b"/",
        b"..",
        b".",
        b"//",
        b"\0",
        b"%2e%2e",
        b"\\",
        b"\xc3\xa9",
        b"~",
        b"\n",
    ];
    run("lake_key", &seeds, dict, |d| mock_cxone::fuzzing::lake_key(&app, d));
}
