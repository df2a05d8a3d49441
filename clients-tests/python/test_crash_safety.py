"""Crash safety (issue 7, part 4): `kill -9` the real binary in the middle of a large export and in
the middle of a daily lifecycle run, restart it on the same data dir, and check that nothing
half-written is visible, nothing committed is lost, interrupted jobs resume, and the engine goes
on where it stopped (D5, D6, S3, S7).

The kill moment varies with wall time; what is checked does not: every run checks the same
invariants, whatever instant the kill lands on. Runs are seeded (delay after the first new files
appear on disk), so the same three moments are aimed at on every machine.
"""

from __future__ import annotations

CLIENT = "crash-safety"

import hashlib
import io
import json
import random
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import T0, Mock, MockProcess, summary_line

LAKE_BUCKET = "lake-acme"
#: Two HOURLY categories: each mock hour writes 5 data files (2 ivr + 3 telephony data types) and 5 manifests.
CATEGORIES = ("ivr", "telephony")
#: Recordings the daily run places in SEA after the first kill (one SQLite transaction).
LIFECYCLE_RECORDINGS = 5000
#: (seed of the kill moments, upper bound of their spread) per run: three different moments. The
#: export kill comes 0..bound seconds after the first new files are on disk; the lifecycle kill
#: (LIFECYCLE_KILL_LEAD + 0..bound) x the time it took to insert the recordings after the
#: advance to midnight is sent (that advance is the daily run of LIFECYCLE_RECORDINGS files).
RUNS = [(1, 0.05), (2, 0.15), (3, 0.3)]
LIFECYCLE_KILL_LEAD = 0.2

_TOTALS = {"runs": 0, "objects": 0}


def _ts(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def _z(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Run:
    """One data dir, one server process at a time."""

    def __init__(self, base: Path):
        self.base = base
        self.data = base / "data"
        self.starts = 0
        self.proc: MockProcess | None = None
        self.m: Mock | None = None

    def start(self) -> Mock:
        self.starts += 1
        self.proc = MockProcess(self.data, self.base / f"mock-cxone-{self.starts}.log")
        self.m = Mock(self.proc)
        return self.m

    def kill_during(self, body: dict, ready, delay: float) -> bool:
        """POSTs a clock advance from a thread, waits for `ready()`, sleeps `delay`, then SIGKILLs
        the server. Returns whether the advance was still in flight when the kill landed."""
        assert self.m is not None and self.proc is not None
        done = threading.Event()
        outcome: dict = {}

        def advance() -> None:
            try:
                outcome["status"] = self.m.post("/_mock/clock/advance", json=body).status_code
            except Exception as e:  # the kill cuts the connection: that is the point
                outcome["error"] = repr(e)
            done.set()

        th = threading.Thread(target=advance, daemon=True)
        th.start()
        deadline = time.monotonic() + 30
        while not ready() and not done.is_set():
            assert time.monotonic() < deadline, "the advance never reached the kill point"
            time.sleep(0.005)  # wall-time polling of the data dir, not mock time
        time.sleep(delay)
        in_flight = not done.is_set()
        self.proc.proc.kill()  # SIGKILL
        self.proc.proc.wait(timeout=10)
        th.join(timeout=30)
        self.m.close()
        self.proc.stop()
        self.m = self.proc = None
        return in_flight

    def stop(self) -> None:
        if self.m is not None:
            self.m.close()
        if self.proc is not None:
            crashed = self.proc.proc.poll()
            self.proc.stop()
            assert crashed is None, f"mock-cxone died on its own (exit {crashed}): {self.proc.log_tail()}"


def _parquet_on_disk(data: Path) -> int:
    root = data / "s3" / LAKE_BUCKET
    return sum(1 for _ in root.rglob("*.parquet")) if root.exists() else 0


def _jobs(m: Mock, token: str, download_id: str) -> list[dict]:
    out, page = [], None
    while True:
        params = {"page_size": 1000, **({"page_token": page} if page else {})}
        r = m.get(f"/api/v2/data-downloads/{download_id}/jobs", token, params=params)
        assert r.status_code == 200, r.text
        v = r.json()
        out += v["jobs"]
        page = v.get("next_page_token")
        if not page:
            return out


def _list(s3, bucket: str, prefix: str = "") -> dict[str, dict]:
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for o in page.get("Contents", []):
            assert o["Key"] not in out, f"key listed twice: {o['Key']}"
            out[o["Key"]] = o
    return out


def _partition(job: dict) -> tuple[str, str]:
    t = _ts(job["interval_start"])
    return job["category"] + "/", f"/year={t:%Y}/month={t:%m}/day={t:%d}/hour={t:%H}/"


def _verify_lake(s3, jobs_by_id: dict[str, dict], cache: dict[str, tuple[str, bytes]]) -> int:
    """(a): every listed object is whole. Every Parquet file opens, and its bytes match the sha256
    and row count of the one manifest that lists it; every manifest's files exist; no temp names;
    each COMPLETED job's checksums match the bytes. Returns the number of objects verified.

    A file no manifest lists is allowed only in the partition of a job still RUNNING (the crash
    stopped it between a data file and its manifest; it resumes and writes the manifest)."""
    running = [_partition(j) for j in jobs_by_id.values() if j["status"] == "RUNNING"]
    listed = _list(s3, LAKE_BUCKET)
    for key in listed:
        name = key.rsplit("/", 1)[-1]
        assert not name.startswith(".") and "tmp" not in name and not name.endswith(".part"), f"temp file listed: {key}"
        assert name.endswith(".parquet") or (name.startswith("_manifest-job-") and name.endswith(".json")), key
    # Bodies are read once per (key, ETag): a second pass re-checks only what is new or changed.
    for k, o in listed.items():
        if cache.get(k, ("", b""))[0] != o["ETag"]:
            got = s3.get_object(Bucket=LAKE_BUCKET, Key=k)
            assert got["ETag"] == o["ETag"], f"{k}: ETag of GET differs from the listing's"
            cache[k] = (o["ETag"], got["Body"].read())
    bodies = {k: cache[k][1] for k in listed}
    for k, o in listed.items():
        assert len(bodies[k]) == o["Size"], f"{k}: listed {o['Size']} bytes, got {len(bodies[k])}"
    in_manifest: dict[str, tuple[str, int]] = {}
    for k in (k for k in listed if k.endswith(".json")):
        man = json.loads(bodies[k])
        assert man["job_id"] in jobs_by_id, f"{k}: manifest of an unknown job"
        assert man["record_count"] == sum(f["rows"] for f in man["files"]), k
        for f in man["files"]:
            assert f["key"] not in in_manifest, f"{f['key']} in two manifests"
            assert f["key"] in listed, f"{k} lists {f['key']}, which is not there"
            in_manifest[f["key"]] = (f["sha256"], f["rows"])
    for k in (k for k in listed if k.endswith(".parquet")):
        # No orphan: a file no manifest lists would be read twice by a folder-reading pipeline.
        if k not in in_manifest:
            assert any(k.startswith(c) and p in k for c, p in running), f"orphan data file (in no manifest): {k}"
            pq.read_table(io.BytesIO(bodies[k]))  # whole all the same: it opens
            continue
        sha, rows = in_manifest[k]
        assert hashlib.sha256(bodies[k]).hexdigest() == sha, f"{k}: bytes differ from its manifest's sha256"
        assert pq.read_table(io.BytesIO(bodies[k])).num_rows == rows, f"{k}: row count differs from its manifest"
    for job in jobs_by_id.values():
        if job["status"] != "COMPLETED":
            continue
        for uri, sha in job["checksums"].items():
            key = uri.removeprefix(f"s3://{LAKE_BUCKET}/")
            assert key in bodies, f"{job['id']}: {uri} not listed"
            assert "sha256:" + hashlib.sha256(bodies[key]).hexdigest() == sha, f"{job['id']}: {uri}"
        for uri in job["manifests"]:
            assert uri.removeprefix(f"s3://{LAKE_BUCKET}/") in listed, f"{job['id']}: {uri} not listed"
    return len(listed)


def _expected_intervals(now: datetime) -> list[str]:
    """HOURLY from T0: a job exists for every interval that has ended by `now`."""
    t, out = _ts(T0), []
    while t + timedelta(hours=1) <= now:
        out.append(_z(t))
        t += timedelta(hours=1)
    return out


def _check_engine(m: Mock, token: str, downloads: list[str]) -> dict[str, dict]:
    """(c) + (d): no job stuck RUNNING past its end, intervals contiguous, none twice."""
    now = _ts(m.now())
    all_jobs = {}
    for d in downloads:
        jobs = _jobs(m, token, d)
        starts = [j["interval_start"].replace(".000000", "") for j in jobs]
        dups = [s for s, n in Counter(starts).items() if n > 1]
        assert not dups, f"{d}: intervals exported twice: {dups}"
        assert sorted(starts) == _expected_intervals(now), f"{d}: a gap or an extra interval: {sorted(starts)}"
        for j in jobs:
            assert j["status"] in ("PENDING", "RUNNING", "COMPLETED"), f"{j['id']}: {j['status']} {j['error_details']}"
            if j["status"] != "COMPLETED":
                # Only the latest intervals may still wait for their start or end.
                assert _ts(j["interval_end"]) > now - timedelta(hours=3), f"{j['id']} stuck {j['status']}"
            all_jobs[j["id"]] = j
    return all_jobs


def _stored(data: Path, sql: str) -> list[tuple]:
    """Rows of `sql` over a copy of the killed server's SQLite files (for the report only: what
    the kill interrupted; nothing is asserted on the mock's internals)."""
    import shutil
    import sqlite3
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for f in data.glob("mock-cxone.sqlite3*"):
            shutil.copy(f, tmp)
        c = sqlite3.connect(Path(tmp) / "mock-cxone.sqlite3")
        try:
            return c.execute(sql).fetchall()
        finally:
            c.close()


def _lifecycle_committed(data: Path, midnight: datetime) -> bool:
    """Whether the daily run at `midnight` had committed when the process died."""
    rows = _stored(data, "SELECT value FROM meta WHERE key = 'lifecycle.last_run'")
    return bool(rows) and int(rows[0][0]) >= int(midnight.timestamp() * 1_000_000)


def _sea_state(m: Mock, token: str) -> tuple[list[dict], list[str]]:
    files = m.files(token, tier="sea", limit=1000)
    keys = [f["sea"]["key"] for f in files]
    return files, keys


@pytest.mark.parametrize("seed,max_delay", RUNS, ids=[f"run{s}" for s, _ in RUNS])
def test_kill_9_during_export_and_lifecycle_then_restart(tmp_path, seed, max_delay):
    rng = random.Random(seed)
    run = Run(tmp_path)
    objects = 0
    try:
        m = run.start()
        t = m.tenant("acme")
        tok = m.token(t)
        downloads = []
        for cat in CATEGORIES:
            r = m.post("/api/v2/data-downloads", tok, json={
                "category": cat, "destination": {"type": "aws_s3", "bucket": LAKE_BUCKET, "prefix": f"{cat}/"}})
            assert r.status_code == 201, r.text
            downloads.append(r.json()["id"])
        r = m.post("/api/v2/data-lake/credentials", tok)
        assert r.status_code == 201, r.text
        lake_key = (r.json()["access_key_id"], r.json()["secret_access_key"])
        sea = m.sea_credentials(tok)
        assert m.seed_recordings(t.tenant_id, 40) == 40
        m.rule(tok)
        m.advance(by="1d")  # day 1 exported, 40 recordings placed in SEA at 2026-01-02T00:00Z

        # What was committed before the kill, as a user sees it through REST and S3.
        tok = m.token(t)
        before_jobs = {j["id"]: j for d in downloads for j in _jobs(m, tok, d) if j["status"] == "COMPLETED"}
        assert len(before_jobs) >= 2 * 20, len(before_jobs)
        _, before_sea = _sea_state(m, tok)
        assert len(before_sea) == 40
        before_sea_listing = set(_list(m.sea_client(sea), sea.bucket, sea.prefix))
        assert before_sea_listing == set(before_sea)

        # Kill 1: during a two-day export, after its first new files reached the disk.
        n0 = _parquet_on_disk(run.data)
        delay = rng.uniform(0.0, max_delay)
        assert run.kill_during({"by": "2d"}, lambda: _parquet_on_disk(run.data) >= n0 + 4, delay), \
            "the export advance ended before the kill: nothing was tested"

        interrupted = _stored(run.data, "SELECT count(*) FROM jobs WHERE status = 'RUNNING'")[0][0]
        m = run.start()
        tok = m.token(t)
        lake = m.s3_client(*lake_key)
        after_jobs = {j["id"]: j for d in downloads for j in _jobs(m, tok, d)}
        # (b) nothing committed is lost.
        for jid, j in before_jobs.items():
            assert after_jobs.get(jid) == j, f"{jid} changed across the crash: {after_jobs.get(jid)} vs {j}"
        assert set(_sea_state(m, tok)[1]) >= set(before_sea)
        # The clock resumes no earlier than the last instant whose work was committed.
        ended = [_ts(j["end_time"]) for j in after_jobs.values() if j["end_time"]]
        assert _ts(m.now()) >= max(ended), f"clock {m.now()} behind committed work ending {_z(max(ended))}"
        running = [jid for jid, j in after_jobs.items() if j["status"] == "RUNNING"]
        kill1 = (f"{interrupted} job(s) RUNNING at the kill; clock {m.now()}, {len(after_jobs)} jobs, "
                 f"{len(running)} RUNNING after restart")
        # (a) on what the crash left.
        cache: dict[str, tuple[str, bytes]] = {}
        objects += _verify_lake(lake, after_jobs, cache)

        # (c) + (d): the engine goes on; interrupted jobs resume and complete.
        m.advance(by="8h")
        tok = m.token(t)
        jobs = _check_engine(m, tok, downloads)
        for jid in running:
            assert jobs[jid]["status"] == "COMPLETED", f"interrupted job {jid}: {jobs[jid]}"
        objects += _verify_lake(lake, jobs, cache)

        # Kill 2: during the daily lifecycle run that places LIFECYCLE_RECORDINGS files at once.
        now = _ts(m.now())
        midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0)
        m.advance(to=_z(midnight - timedelta(minutes=1)))
        tok = m.token(t)
        _, sea_before_run = _sea_state(m, tok)
        seeding = time.monotonic()
        assert m.seed_recordings(t.tenant_id, LIFECYCLE_RECORDINGS) == LIFECYCLE_RECORDINGS
        # The run takes about 1.5x as long as inserting the recordings did, on any machine: aim
        # the kill inside it, at a seeded fraction.
        seed_s = time.monotonic() - seeding
        started = time.monotonic()
        lead = seed_s * (LIFECYCLE_KILL_LEAD + rng.uniform(0.0, max_delay))
        assert run.kill_during({"to": _z(midnight)}, lambda: time.monotonic() - started > lead, 0.0), \
            f"the lifecycle advance ended before the kill ({lead:.2f} s after it was sent)"

        committed = _lifecycle_committed(run.data, midnight)
        m = run.start()
        tok = m.token(t)
        files, sea_now = _sea_state(m, tok)
        kill2 = (f"the day's run had {'' if committed else 'not '}committed at the kill; clock {m.now()}, "
                 f"{len(sea_now) - len(sea_before_run)} of {LIFECYCLE_RECORDINGS} placed at restart")
        # The run is one transaction: all of the day's placements or none of them.
        assert len(sea_now) in (len(sea_before_run), len(sea_before_run) + LIFECYCLE_RECORDINGS), len(sea_now)
        assert set(sea_now) >= set(sea_before_run)
        sea_keys = sea_now
        if _ts(m.now()) < midnight:
            m.advance(to=_z(midnight))
            files, sea_keys = _sea_state(m, m.token(t))
        # Every recording is matched by the zero-day rule: each one in SEA, exactly once.
        assert len(sea_keys) == len(set(sea_keys)) == len(sea_before_run) + LIFECYCLE_RECORDINGS
        sea_s3 = m.sea_client(sea)
        listed = _list(sea_s3, sea.bucket, sea.prefix)
        assert set(listed) == set(sea_keys), "S3 listing of the SEA folder differs from the placements"
        # A sample of SEA objects read whole, against the sha256 recorded on the file.
        for f in random.Random(seed).sample(files, 20):
            body = sea_s3.get_object(Bucket=sea.bucket, Key=f["sea"]["key"])["Body"].read()
            assert len(body) == f["size"] and hashlib.sha256(body).hexdigest() == f["sha256"], f["sea"]["key"]
        objects += 20
        # The engine still goes on after the second crash.
        m.advance(by="2h")
        _check_engine(m, m.token(t), downloads)
    finally:
        run.stop()
    _TOTALS["runs"] += 1
    _TOTALS["objects"] += objects
    print(f"crash run {seed}: {objects} objects verified; export kill: {kill1}; lifecycle kill: {kill2}")


def test_crash_safety_summary():
    """Prints the figures of the runs above (issue 7 asks for them)."""
    line = f"crash safety: {_TOTALS['runs']} runs, {_TOTALS['objects']} objects verified"
    print(line)
    summary_line(line)
    assert _TOTALS["runs"] == len(RUNS), line
