"""Small benchmarks of mock-cxone (issue 2): start-up time and the SEA daily cap.

Run with `make bench` (release build); results go to docs/benchmarks.md with the command used.
Figures are wall-clock on whatever machine runs them: compare rows of one run, not across runs.
"""
import argparse
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import requests

BIN = os.environ.get("MOCK_CXONE_BIN", "target/release/mock-cxone")


def start(data_dir):
    """Starts the mock; returns (process, api_url, seconds until health answered 200)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(
        [BIN, "serve", "--api-addr", "127.0.0.1:0", "--s3-addr", "127.0.0.1:0", "--data-dir", data_dir,
         "--clock", "frozen:2026-01-01T00:00:00Z"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    api = None
    for line in p.stdout:
        if line.strip().startswith("api: "):
            api = line.split("api: ", 1)[1].strip()
            break
    banner = time.perf_counter() - t0
    s = requests.Session()
    while True:
        try:
            if s.get(api + "/_mock/health", timeout=1).status_code == 200:
                break
        except requests.ConnectionError:
            pass
    return p, api, banner, time.perf_counter() - t0


def stop(p):
    p.terminate()
    p.wait(timeout=10)


def bench_startup(runs):
    banners, healths = [], []
    for _ in range(runs):
        d = tempfile.mkdtemp(prefix="mcx-bench-")
        p, _, banner, health = start(d)
        stop(p)
        shutil.rmtree(d, ignore_errors=True)
        banners.append(banner * 1000)
        healths.append(health * 1000)
    return statistics.median(banners), statistics.median(healths), min(healths), max(healths)


def bench_cap(count):
    d = tempfile.mkdtemp(prefix="mcx-bench-")
    p, api, _, _ = start(d)
    try:
        s = requests.Session()
        # The reset answer carries the demo tenant's secrets (the tenant listing shows none).
        creds = s.post(api + "/_mock/reset").json()["demo_tenant"]
        t0 = time.perf_counter()
        s.post(api + "/_mock/tenants/demo/recordings", json={"count": count}).raise_for_status()
        seed_s = time.perf_counter() - t0
        tok = s.post(api + "/auth/token", auth=(creds["client_id"], creds["client_secret"]),
                     data={"grant_type": "password", "username": creds["access_key_id"],
                           "password": creds["access_key_secret"]}).json()["access_token"]
        s.post(api + "/api/v2/storage/lifecycle-rules", headers={"Authorization": f"Bearer {tok}"},
               json={"name": "copy", "after_days": 0, "action": "copy_to_sea"}).raise_for_status()
        t0 = time.perf_counter()
        s.post(api + "/_mock/clock/advance", json={"by": "1d"}).raise_for_status()
        day1 = time.perf_counter() - t0
        t0 = time.perf_counter()
        s.post(api + "/_mock/clock/advance", json={"by": "1d"}).raise_for_status()
        day2 = time.perf_counter() - t0
        data_mb = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(d) for f in fs) / 1e6
        return seed_s, day1, day2, data_mb
    finally:
        stop(p)
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="docs/benchmarks.md")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--count", type=int, default=150_000)
    a = ap.parse_args()
    banner, health, lo, hi = bench_startup(a.runs)
    seed_s, day1, day2, data_mb = bench_cap(a.count)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = f"""# Benchmarks

Produced by `make bench` (`python bench/bench.py --runs {a.runs} --count {a.count}` against
`{BIN}`, release build) on {now}, {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}.
Wall-clock figures: compare within one run, machines here are noisy.

## Start-up (empty data dir, ports 0, {a.runs} runs)

| measure | median | min | max |
|---|---|---|---|
| exec → banner printed (both listeners bound, demo tenant created) | {banner:.1f} ms | | |
| exec → `GET /_mock/health` 200 | {health:.1f} ms | {lo:.1f} ms | {hi:.1f} ms |

Target: under 50 ms (moto's server takes about 1 s on these machines, per S3S-NOTES.md).

## SEA daily cap ({a.count:,} recordings, one zero-day copy rule)

| step | seconds |
|---|---|
| seed {a.count:,} recordings (MP4 bytes generated and hashed, not stored) | {seed_s:.2f} |
| advance 1 day: lifecycle run claims all, places 100,000 in SEA, backlog the rest | {day1:.2f} |
| advance 1 more day: the backlog drains | {day2:.2f} |
| data dir size afterwards | {data_mb:.1f} MB |

Placement copies no bytes: SEA objects are metadata rows; GET derives the bytes from the seed.
Target: a day's cap in well under 5 s.
"""
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    sys.exit(main())
