"""Load test of `make bench` (issue 7, part 5), run by bench.py as the section `load`.

A bounded loopback load against one release mock-cxone: `mixload` (mock-cxone/examples/mixload.rs)
runs `--load-clients` concurrent clients for `--load-seconds`, each mixing S3 GET and
ListObjectsV2 of the tenant's SEA folder and of a data-lake bucket (SigV4 header-signed and
presigned, alternately) with Data Download job polling as a pipeline does it (bearer token, job
list pages, one job, its file checked against the job's checksum, its Parquet footer by range,
its manifest), while a control client advances the mock clock every `--load-advance-every` s by
`--load-advance-by`, so jobs appear while polled and tokens expire and are renewed.

This module builds the world first (the demo tenant; a zero-day copy-to-SEA rule, recordings, and
the day's lifecycle run that places them in SEA; a data-lake bucket with objects of several sizes
put by boto3; two hourly downloads with their first jobs done), writes it to a JSON file for
mixload (every object with its size and sha256), then runs mixload while sampling the mock's RSS
(`VmRSS` of /proc/<pid>/status) every second.

Errors: whatever mixload counts (any status the workload does not expect, any connection error,
any body or listing that is not what was put) plus whether the mock is still alive after the run.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import boto3
import requests
from botocore.config import Config

import bench
import scale

MIXLOAD_BIN = os.environ.get("MIXLOAD_BIN", "target/release/examples/mixload")
LAKE_BUCKET = "load-lake"
EXPORT_BUCKET = "load-exports"
#: Sizes of the data-lake objects, in turn: empty, small, the 8 KiB chunk edges, up to just over 1 MiB.
LAKE_SIZES = (0, 1024, 8191, 65_536, 300_000, 1_048_593)
#: The downloads polled: two hourly categories, so a 10-minute advance often completes a job.
CATEGORIES = ("telephony", "ivr")


def add_args(ap):
    """The section's options on bench.py's parser."""
    ap.add_argument("--load-clients", "--clients", dest="load_clients", type=int, default=32,
                    help="load: concurrent clients")
    ap.add_argument("--load-seconds", "--seconds", dest="load_seconds", type=float, default=60,
                    help="load: seconds of load")
    ap.add_argument("--load-warmup", type=float, default=10,
                    help="load: seconds of warm-up before the reference RSS reading")
    ap.add_argument("--load-advance-every", type=float, default=2,
                    help="load: seconds between two clock advances of the control client")
    ap.add_argument("--load-advance-by", default="10m", help="load: mock time of one clock advance")
    ap.add_argument("--load-sea", type=int, default=300, help="load: recordings placed in SEA")
    ap.add_argument("--load-lake", type=int, default=60, help="load: data-lake objects")


def command_args(a):
    """The section's options as bench.py's report shows the command."""
    return (f" --load-clients {a.load_clients} --load-seconds {a.load_seconds:g} --load-warmup {a.load_warmup:g}"
            f" --load-advance-every {a.load_advance_every:g} --load-advance-by {a.load_advance_by}"
            f" --load-sea {a.load_sea} --load-lake {a.load_lake}")


def _ok(r, what):
    if r.status_code >= 300:
        raise RuntimeError(f"{what}: {r.status_code} {r.text[:500]}")
    return r


def build_world(s, api, s3, sea_count, lake_count):
    """The world mixload reads (see the module's doc); returns it as a dict."""
    creds = _ok(s.post(api + "/_mock/reset"), "reset").json()["demo_tenant"]
    hdr = {"Authorization": f"Bearer {bench.demo_token(s, api, creds)}"}
    _ok(s.post(api + "/api/v2/storage/lifecycle-rules", headers=hdr,
               json={"name": "copy", "after_days": 0, "action": "copy_to_sea"}), "lifecycle rule")
    _ok(s.post(api + "/_mock/tenants/demo/recordings", json={"count": sea_count}), "recordings")
    _ok(s.post(api + "/_mock/clock/advance", json={"by": "1d"}), "advance 1d")
    hdr = {"Authorization": f"Bearer {bench.demo_token(s, api, creds)}"}
    sea_objects, cursor = [], None
    while True:
        params = {"tier": "sea", "limit": 1000, **({"cursor": cursor} if cursor else {})}
        body = _ok(s.get(api + "/api/v2/storage/files", headers=hdr, params=params), "SEA files").json()
        sea_objects += [{"key": f["sea"]["key"], "size": f["size"], "sha256": f["sha256"].removeprefix("sha256:")}
                        for f in body["files"]]
        cursor = body.get("next_cursor")
        if not cursor:
            break
    if len(sea_objects) != sea_count:
        raise RuntimeError(f"{len(sea_objects)} SEA files placed, {sea_count} recordings seeded")
    sea = _ok(s.post(api + "/api/v2/sea/credentials", headers=hdr), "SEA credentials").json()
    lake = _ok(s.post(api + "/api/v2/data-lake/credentials", headers=hdr), "data-lake credentials").json()
    client = boto3.client("s3", endpoint_url=s3, region_name="us-east-1",
                          aws_access_key_id=lake["access_key_id"], aws_secret_access_key=lake["secret_access_key"],
                          config=Config(s3={"addressing_style": "path"}))
    client.create_bucket(Bucket=LAKE_BUCKET)
    rnd = random.Random(7)
    lake_objects = []
    for i in range(lake_count):
        body = rnd.randbytes(LAKE_SIZES[i % len(LAKE_SIZES)])
        key = f"load/part-{i:04d}.bin"
        client.put_object(Bucket=LAKE_BUCKET, Key=key, Body=body)
        lake_objects.append({"key": key, "size": len(body), "sha256": hashlib.sha256(body).hexdigest()})
    schemas = _ok(s.get(api + "/api/v2/data-downloads/schemas", headers=hdr), "schemas").json()["categories"]
    downloads = []
    for cat in CATEGORIES:
        r = _ok(s.post(api + "/api/v2/data-downloads", headers=hdr, json={
            "category": cat, "data_types": sorted(schemas[cat]["data_types"]), "format": "parquet",
            "compression": "snappy",
            "partitioning": {"enabled": True, "structure": "year={yyyy}/month={MM}/day={dd}/hour={HH}"},
            "schedule": {"frequency": "HOURLY", "offset_minutes": 20},
            "destination": {"type": "aws_s3", "bucket": EXPORT_BUCKET, "prefix": f"{cat}/"}}), f"{cat} download")
        downloads.append(r.json()["id"])
    # The first jobs done before the load starts: the pollers have files to fetch from the start.
    _ok(s.post(api + "/_mock/clock/advance", json={"by": "3h"}), "advance 3h")
    return {
        "api": api, "s3": s3, "region": "us-east-1",
        "sea": {"access_key": sea["access_key_id"], "secret_key": sea["secret_access_key"],
                "bucket": sea["bucket"], "prefix": sea["prefix"], "objects": sea_objects},
        "lake": {"access_key": lake["access_key_id"], "secret_key": lake["secret_access_key"],
                 "bucket": LAKE_BUCKET, "prefix": "load/", "objects": lake_objects},
        "client_id": creds["client_id"], "client_secret": creds["client_secret"],
        "username": creds["access_key_id"], "password": creds["access_key_secret"],
        "downloads": downloads,
    }


def completed_jobs(s, api, creds, downloads):
    """Jobs of the downloads: (completed, all)."""
    hdr = {"Authorization": f"Bearer {bench.demo_token(s, api, creds)}"}
    jobs = [j for dl in downloads for j in bench.all_jobs(s, api, hdr, dl)]
    return sum(j["status"] == "COMPLETED" for j in jobs), len(jobs)


class RssSampler(threading.Thread):
    """VmRSS of `pid` every `every` s: [(seconds since start, kB)]."""

    def __init__(self, pid, every=1.0):
        super().__init__(daemon=True)
        self.pid, self.every, self.samples, self.anon = pid, every, [], []
        self._done = threading.Event()

    def run(self):
        t0 = time.perf_counter()
        while True:
            m = scale.mem_kb(self.pid)
            self.samples.append((time.perf_counter() - t0, m["VmRSS"]))
            self.anon.append(m.get("RssAnon", 0))
            if self._done.wait(self.every):
                return

    def stop(self):
        self._done.set()
        self.join()
        m = scale.mem_kb(self.pid)
        self.samples.append((self.samples[-1][0] if self.samples else 0.0, m["VmRSS"]))
        self.anon.append(m.get("RssAnon", 0))


def slope_mib_per_min(samples):
    """Least-squares slope of RSS over time, MiB per minute."""
    if len(samples) < 2:
        return 0.0
    n = len(samples)
    mt = sum(t for t, _ in samples) / n
    mr = sum(r for _, r in samples) / n
    den = sum((t - mt) ** 2 for t, _ in samples)
    return 0.0 if den == 0 else sum((t - mt) * (r - mr) for t, r in samples) / den * 60 / 1024


def run(a):
    """The section: world, load, RSS; returns the result dict (bench.json's `load`)."""
    d = tempfile.mkdtemp(prefix="mcx-bench-")
    p, api, _, _ = bench.start(d)
    try:
        s = requests.Session()
        s3 = s.get(api + "/_mock/health").json()["s3"].rstrip("/")
        t0 = time.perf_counter()
        world = build_world(s, api, s3, a.load_sea, a.load_lake)
        world_s = time.perf_counter() - t0
        creds = {"client_id": world["client_id"], "client_secret": world["client_secret"],
                 "access_key_id": world["username"], "access_key_secret": world["password"]}
        jobs_before = completed_jobs(s, api, creds, world["downloads"])
        fd, world_file = tempfile.mkstemp(prefix="mcx-load-world-", suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(world, f)
        cmd = [MIXLOAD_BIN, "--world", world_file, "--clients", str(a.load_clients),
               "--seconds", f"{a.load_seconds:g}", "--advance-every", f"{a.load_advance_every:g}",
               "--advance-by", a.load_advance_by]
        sampler = RssSampler(p.pid)
        cpu0 = bench.cpu_s(p.pid)
        sampler.start()
        try:
            out = subprocess.run(cmd, capture_output=True, text=True)
        finally:
            sampler.stop()
            os.remove(world_file)  # it holds the run's secrets
        cpu = bench.cpu_s(p.pid) - cpu0
        if out.returncode != 0:
            raise RuntimeError(f"mixload failed ({out.returncode}): {out.stderr[-2000:]}")
        res = json.loads(out.stdout)
        alive = p.poll() is None and s.get(api + "/_mock/health").status_code == 200
        jobs_after = completed_jobs(s, api, creds, world["downloads"])
        samples = sampler.samples
        start_kb = samples[0][1]
        warm = [x for x in samples if x[0] >= a.load_warmup] or samples[-1:]
        warm_kb, end_kb = warm[0][1], samples[-1][1]
        anon = sampler.anon
        anon_warm = anon[samples.index(warm[0])]
        res.update({
            "command": " ".join(cmd[:1] + ["--world", "world.json"] + cmd[3:]),
            "world_s": world_s, "sea_objects": len(world["sea"]["objects"]),
            "lake_objects": len(world["lake"]["objects"]),
            "lake_bytes": sum(o["size"] for o in world["lake"]["objects"]),
            "downloads": len(world["downloads"]),
            "jobs_completed_before": jobs_before[0], "jobs_completed_after": jobs_after[0],
            "jobs_after": jobs_after[1],
            "server_alive_after": alive, "server_cpu_s": cpu,
            "rss_kb": {"start": start_kb, "after_warmup": warm_kb, "end": end_kb,
                       "max": max(r for _, r in samples), "growth_after_warmup": end_kb - warm_kb,
                       "slope_after_warmup_mib_per_min": slope_mib_per_min(warm),
                       "warmup_s": a.load_warmup, "samples": [[round(t, 1), r] for t, r in samples],
                       "anon_start": anon[0], "anon_after_warmup": anon_warm, "anon_end": anon[-1],
                       "anon_samples": anon},
        })
        if not alive:
            res["errors"] += 1
            res["first_errors"].append("the mock was not alive after the load")
        print(f"load: {res['requests']} requests, {res['errors']} errors, RSS {start_kb / 1024:.1f} -> "
              f"{warm_kb / 1024:.1f} -> {end_kb / 1024:.1f} MiB", file=sys.stderr)
        return res
    finally:
        bench.stop(p)
        shutil.rmtree(d, ignore_errors=True)


def markdown(r):
    """The "Load test" part of docs/benchmarks.md."""
    mib = lambda kb: f"{kb / 1024:.1f} MiB"
    m = r["rss_kb"]
    rows = "\n".join(
        f"| {k} | {v['requests']:,} | {v['errors']} | {v['req_per_s']:,.1f} | {v['p50_ms']:.2f} | {v['p99_ms']:.2f} "
        f"| {v['max_ms']:.1f} | {v['mb']:,.1f} |"
        for k, v in r["kinds"].items() if v["requests"] or v["errors"])
    growth = m["growth_after_warmup"]
    flat = abs(growth) <= max(4096, m["after_warmup"] * 0.05)
    errors = "\n".join(f"- `{e}`" for e in r["first_errors"]) or "none"
    return f"""
## Load test: {r['clients']} clients for {r['seconds']:.0f} s, mixed S3 and REST (bench/load.py, `mixload`)

One release mock, loopback. Each client has its own connection pool and loops without pause over a
mix (of every ten steps: three GETs of SEA recordings, three GETs of data-lake objects, one full
ListObjectsV2 walk of the SEA folder ({r['sea_objects']} keys, 100 a page) and one of the data-lake
prefix ({r['lake_objects']} objects, {r['lake_bytes'] / 1e6:.1f} MB, sizes 0 B to 1 MiB + 17, 25 a page),
two polls of the {r['downloads']} hourly Data Downloads as a pipeline does them: job list pages of 5,
one job, one of its files with the job's sha256, its Parquet footer by range, its manifest). S3
requests alternate between Authorization-header SigV4 and presigned URLs. A control client
advances the clock by {r['advance_by']} every {r['advance_every_s']:g} s (clock at the end:
{r['clock_end']}): completed jobs went from {r['jobs_completed_before']} to {r['jobs_completed_after']}
while polled, and bearer tokens expired on the mock clock ({r['expected_401']} expected 401 answers, each
followed by a new token and one retry). Every GET body is checked against the size and sha256 put,
every listing walk against the keys and sizes that exist. Command: `{r['command']}`; world built
in {r['world_s']:.1f} s.

| kind | requests | errors | req/s | p50 ms | p99 ms | max ms | MB read |
|---|---:|---:|---:|---:|---:|---:|---:|
{rows}
| **all** | **{r['requests']:,}** | **{r['errors']}** | **{r['req_per_s']:,.1f}** | | | | |

Errors: {r['errors']} (mock alive and healthy after the run: {'yes' if r['server_alive_after'] else '**no**'}).
First errors: {errors}

Memory (mock's `VmRSS`, sampled every second; server CPU over the run {r['server_cpu_s']:.1f} s):

| start (world built) | after {m['warmup_s']:g} s warm-up | end | max | growth after warm-up | slope after warm-up |
|---:|---:|---:|---:|---:|---:|
| {mib(m['start'])} | {mib(m['after_warmup'])} | {mib(m['end'])} | {mib(m['max'])} | {growth / 1024:+.1f} MiB | {m['slope_after_warmup_mib_per_min']:+.2f} MiB/min |

Of which heap and stacks (`RssAnon`): {mib(m['anon_start'])} at the start, {mib(m['anon_after_warmup'])} after
warm-up, {mib(m['anon_end'])} at the end; the rest is mapped files (the binary, SQLite's shared WAL index).

Memory flat (growth after warm-up within max(4 MiB, 5%)): **{'yes' if flat else 'no'}**.
"""
