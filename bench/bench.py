"""Small benchmarks of mock-cxone: start-up time, the SEA daily cap, and Data Download exports
(thirty simulated days of all six categories through the server, and the `export_bench` example's
generation + Parquet rates against a bare arrow-rs writer).

Also, in bench/scale.py: SEA placement of 100,000 recordings in one day's lifecycle run and the
30-day advance that expires them all, and memory (idle RSS, RSS with 1,000,000 objects of metadata).

Run with `make bench` (release build); results go to docs/benchmarks.md with the command used, and
to target/bench.json. Figures are wall-clock on whatever machine runs them: compare rows of one
run, not across runs.

Sections (`--only a,b` runs just those; then the markdown and JSON go to target/bench-partial.md
and target/bench-partial.json unless `--out` / `--json` say otherwise, so a partial run never
overwrites the full report by accident):
  startup  exec -> banner and -> health 200 (`--runs`)
  s3       S3 side by side with moto / s3s-fs / nginx (bench/s3bench.py; `--s3-seconds`, `--s3-repeat`)
  exports  Data Download over `--days` days (temp dir, and `--tmpfs`) and the export_bench example
           (`--example-rounds`)
  cap      the SEA daily cap with `--count` recordings (100,000 placed, the rest backlogged)
  sea      `--sea-count` recordings placed in one day's lifecycle run (target < 5 s), then one 30-day
           advance expiring all of them (S5), SEA listing checked empty
  memory   idle RSS (target < 30 MiB) and RSS with `--memory-count` recordings seeded and then all
           placed in SEA, after `--memory-requests-s` s of requests and `--memory-idle-s` s of quiet;
           run twice (`--memory-compare 0`: once): glibc malloc as is, and with one arena trimmed
           eagerly (GLIBC_TUNABLES), which tells heap glibc keeps after free from heap the mock holds
  load     `--load-clients` clients for `--load-seconds` s of mixed S3 GET/LIST and job polling while
           the clock advances (bench/load.py, the mixload example): errors, latency, RSS
Example, one section on a release build:
  MOCK_CXONE_BIN=$PWD/target/release/mock-cxone .venv/bin/python bench/bench.py --only sea,memory
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

import json

import requests

import load
import s3bench
import scale

BIN = os.environ.get("MOCK_CXONE_BIN", "target/release/mock-cxone")
EXPORT_BENCH_BIN = os.environ.get("EXPORT_BENCH_BIN", "target/release/examples/export_bench")

#: The guide's interval of every category (D5), as `Category::default_frequency` has it.
DEFAULT_FREQUENCY = {
    "telephony": "HOURLY",
    "workforce_management": "SIX_HOURLY",
    "speech": "HOURLY",
    "ivr": "HOURLY",
    "digital": "DAILY",
    "quality_management": "SIX_HOURLY",
}
DOWNLOADS = "/api/v2/data-downloads"


def start(data_dir, env=None):
    """Starts the mock (with `env` added to this process's environment); returns (process,
    api_url, seconds until the banner, seconds until health answered 200)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(
        [BIN, "serve", "--api-addr", "127.0.0.1:0", "--s3-addr", "127.0.0.1:0", "--data-dir", data_dir,
         "--clock", "frozen:2026-01-01T00:00:00Z"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env=None if env is None else {**os.environ, **env})
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


def rss_kb(pid):
    """(VmRSS, VmHWM) of a process in kB, from /proc/<pid>/status."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                k, v = line.split(":", 1)
                out[k] = int(v.split()[0])
    return out.get("VmRSS", 0), out.get("VmHWM", 0)


def cpu_s(pid):
    """User + system CPU seconds a process has used so far, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def io_stall_s():
    """Seconds (since boot) during which some task was stalled on I/O: `/proc/pressure/io`
    `some total`, machine-wide. None without PSI."""
    try:
        with open("/proc/pressure/io") as f:
            for line in f:
                if line.startswith("some"):
                    return int(line.split("total=")[1]) / 1e6
    except (OSError, IndexError, ValueError):
        pass
    return None


def dir_size(d):
    """(files, bytes) under `d`."""
    files = total = 0
    for r, _, fs in os.walk(d):
        for f in fs:
            try:
                total += os.path.getsize(os.path.join(r, f))
                files += 1
            except FileNotFoundError:
                pass
    return files, total


def demo_token(s, api, creds):
    """A bearer token of the demo tenant (tokens expire on the mock clock: take a new one after
    advancing it)."""
    return s.post(api + "/auth/token", auth=(creds["client_id"], creds["client_secret"]),
                  data={"grant_type": "password", "username": creds["access_key_id"],
                        "password": creds["access_key_secret"]}).json()["access_token"]


def all_jobs(s, api, hdr, download_id):
    jobs, token = [], None
    while True:
        params = {"page_size": 1000}
        if token:
            params["page_token"] = token
        r = s.get(f"{api}{DOWNLOADS}/{download_id}/jobs", headers=hdr, params=params)
        r.raise_for_status()
        body = r.json()
        jobs += body["jobs"]
        token = body.get("next_page_token")
        if not token:
            return jobs


def bench_exports(days, base=None):
    """One download per category (all data types, parquet/snappy, default frequency, platform
    bucket, offset 20 min), then `days` advances of 1 day, each timed, RSS after each. The data
    dir is a new temp dir under `base` (default: the system temp dir)."""
    d = tempfile.mkdtemp(prefix="mcx-bench-", dir=base)
    p, api, _, _ = start(d)
    try:
        s = requests.Session()
        creds = s.post(api + "/_mock/reset").json()["demo_tenant"]
        hdr = {"Authorization": f"Bearer {demo_token(s, api, creds)}"}
        schemas = s.get(api + DOWNLOADS + "/schemas", headers=hdr).json()["categories"]
        downloads = {}
        for cat, freq in DEFAULT_FREQUENCY.items():
            body = {
                "category": cat,
                "data_types": sorted(schemas[cat]["data_types"]),
                "format": "parquet",
                "compression": "snappy",
                "partitioning": {"enabled": True, "structure": "year={yyyy}/month={MM}/day={dd}/hour={HH}"},
                "schedule": {"frequency": freq, "offset_minutes": 20},
                "destination": {"type": "aws_s3", "bucket": "bench-exports", "prefix": f"{cat}/"},
            }
            r = s.post(api + DOWNLOADS, headers=hdr, json=body)
            if r.status_code != 201:
                raise RuntimeError(f"creating the {cat} download: {r.status_code} {r.text}")
            downloads[cat] = r.json()["id"]
        rss0, _ = rss_kb(p.pid)
        io0 = io_stall_s()
        steps, cpu, rss = [], [], []
        for day in range(days):
            c0 = cpu_s(p.pid)
            t0 = time.perf_counter()
            r = s.post(api + "/_mock/clock/advance", json={"by": "1d"})
            steps.append(time.perf_counter() - t0)
            r.raise_for_status()
            cpu.append(cpu_s(p.pid) - c0)
            rss.append(rss_kb(p.pid)[0])
            print(f"exports: day {day + 1}: {steps[-1]:.2f} s (CPU {cpu[-1]:.2f} s), RSS {rss[-1] / 1024:.1f} MiB",
                  file=sys.stderr)
        _, hwm = rss_kb(p.pid)
        io1 = io_stall_s()
        io_stall = None if io0 is None or io1 is None else io1 - io0
        hdr = {"Authorization": f"Bearer {demo_token(s, api, creds)}"}
        per_cat = {}
        for cat, dl in downloads.items():
            jobs = all_jobs(s, api, hdr, dl)
            done = [j for j in jobs if j["status"] == "COMPLETED"]
            per_cat[cat] = {
                "jobs": len(jobs),
                "completed": len(done),
                "failed": sum(j["status"] == "FAILED" for j in jobs),
                "files": sum(len(j["output_files"]) for j in done),
                "manifests": sum(len(j["manifests"]) for j in done),
                "rows": sum(j["record_count"] for j in done),
            }
        bucket_files, bucket_bytes = dir_size(os.path.join(d, "s3", "bench-exports"))
        data_files, data_bytes = dir_size(d)
        return {"steps": steps, "cpu": cpu, "rss": rss, "io_stall": io_stall, "rss0": rss0, "hwm": hwm, "per_cat": per_cat,
                "bucket_files": bucket_files, "bucket_bytes": bucket_bytes,
                "data_files": data_files, "data_bytes": data_bytes}
    finally:
        stop(p)
        shutil.rmtree(d, ignore_errors=True)


def run_export_example(days, rounds):
    """Runs the `export_bench` example; returns (command, its markdown output)."""
    cmd = [EXPORT_BENCH_BIN, "--days", str(days), "--rounds", str(rounds)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return " ".join(cmd), out.strip()


def exports_text(days, runs, example_cmd, example_out):
    """`runs`: [(label, result of bench_exports)], the first one on the default temp dir."""
    mib = lambda kb: f"{kb / 1024:.1f} MiB"
    head = " | ".join(label for label, _ in runs)
    sep = "|".join("---" for _ in runs)

    def row(name, f):
        return f"| {name} | " + " | ".join(f(e) for _, e in runs) + " |"

    def verdict(e):
        t = sum(e["steps"])
        return f"**{t:.2f} s** ({'met' if t < 10 else 'missed'})"

    def tot(e, k):
        return sum(v[k] for v in e["per_cat"].values())

    measures = "\n".join([
        row(f"{days} days, total wall time (target < 10 s)", verdict),
        row("per day: median / min / max",
            lambda e: f"{statistics.median(e['steps']):.2f} / {min(e['steps']):.2f} / {max(e['steps']):.2f} s"),
        row(f"server CPU (user + system) over the {days} days", lambda e: f"{sum(e['cpu']):.2f} s"),
        row("machine-wide I/O stall meanwhile (`/proc/pressure/io` some)",
            lambda e: "-" if e["io_stall"] is None else f"{e['io_stall']:.2f} s"),
        row("jobs created / completed / failed",
            lambda e: f"{tot(e, 'jobs')} / {tot(e, 'completed')} / {tot(e, 'failed')}"),
        row("data files / manifests written", lambda e: f"{tot(e, 'files')} / {tot(e, 'manifests')}"),
        row("rows exported", lambda e: f"{tot(e, 'rows'):,}"),
        row("export bucket (objects + sidecars)",
            lambda e: f"{e['bucket_files']} files, {e['bucket_bytes'] / 1e6:.1f} MB"),
        row("whole data dir (with SQLite)", lambda e: f"{e['data_files']} files, {e['data_bytes'] / 1e6:.1f} MB"),
        row("RSS before the first advance", lambda e: mib(e["rss0"])),
        row("peak RSS (`VmHWM`)", lambda e: mib(e["hwm"])),
    ])
    first = runs[0][1]
    cats = "\n".join(
        f"| {cat} | {DEFAULT_FREQUENCY[cat]} | {v['jobs']} | {v['completed']} | {v['failed']} | {v['files']} "
        f"| {v['manifests']} | {v['rows']:,} |"
        for cat, v in first["per_cat"].items())
    n = len(first["rss"])
    marks = sorted({i for i in (1, 10, 20, 30) if i <= n} | {n})
    rss_rows = "\n".join(
        f"| after day {i} | " + " | ".join(
            f"{mib(e['rss'][i - 1])} ({e['steps'][i - 1]:.2f} s, CPU {e['cpu'][i - 1]:.2f} s)" for _, e in runs) + " |"
        for i in marks)
    fs_note = ""
    if len(runs) > 1:
        d, m = sum(runs[0][1]["steps"]), sum(runs[1][1]["steps"])
        fs_note = (f"\nThe same work took {d:.2f} s with the data dir on {runs[0][0]} and {m:.2f} s on "
                   f"{runs[1][0]}: the difference, {d - m:.2f} s, is the filesystem's (file creation and "
                   f"fsync of every object and its two s3s-fs sidecars), the rest is the mock's own CPU.\n")
    return f"""
## Data Download: {days} simulated days of all six categories (through the server)

One download per category with all its data types, parquet/snappy, the category's default
frequency, platform destination (bucket `bench-exports` on the mock's own S3, prefix
`<category>/`), `offset_minutes` 20, created at the frozen start instant; then {days} ×
`POST /_mock/clock/advance {{"by":"1d"}}`, each answered once every job due in that day ran. Run
once with the data dir on the system temp dir, once on tmpfs; RSS is `VmRSS` of
`/proc/<pid>/status` after each day, CPU is the server's user + system time. Wall time well above
CPU time is time spent waiting on the disk (fsync), which other work on the machine slows down:
the I/O stall row shows how much of that there was.

| measure | {head} |
|---|{sep}|
{measures}
{fs_note}
Per category (first run; jobs whose start falls after the last day are still pending):

| category | frequency | jobs | completed | failed | data files | manifests | rows |
|---|---|---:|---:|---:|---:|---:|---:|
{cats}

Resident memory after each day (that day's advance: wall time, server CPU). Target: flat as days
go by (row groups streamed, never a whole day held).

| when | {head} |
|---|{sep}|
{rss_rows}

## Data Download: generation and Parquet writing (`export_bench` example)

`{example_cmd}` (built by `cargo build --release -p mock-cxone --example export_bench`):

{example_out}

Target: gen+write at >= 0.8x the rate of the bare writer (`ratio`). `ratio/rg` compares with a
bare writer cutting the same row groups as `writer::write_file` (one per generated hour): the gap
between `bare` and `bare/rg` is the cost of that layout, the gap between `bare/rg` and
`gen+write` the cost of generation and of the mock's own writer code.
"""


SECTIONS = ("startup", "s3", "exports", "cap", "sea", "memory", "load")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="", help="comma-separated sections to run: " + ",".join(SECTIONS))
    ap.add_argument("--out", default=None, help="markdown report (default docs/benchmarks.md, "
                    "target/bench-partial.md with --only)")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--count", type=int, default=150_000, help="recordings of the SEA daily cap section")
    ap.add_argument("--days", type=int, default=30, help="simulated days of the Data Download benchmark")
    ap.add_argument("--example-rounds", type=int, default=3, help="rounds of the export_bench example")
    ap.add_argument("--s3-seconds", type=float, default=8, help="seconds per S3 load run")
    ap.add_argument("--s3-repeat", type=int, default=3, help="runs per S3 load figure (median)")
    ap.add_argument("--sea-count", type=int, default=100_000,
                    help="recordings placed in one day, then expired by a 30-day advance")
    ap.add_argument("--memory-count", type=int, default=1_000_000,
                    help="recordings seeded, then placed in SEA, for the memory section")
    ap.add_argument("--memory-requests-s", type=float, default=10,
                    help="seconds of requests over the data before the last RSS reading")
    ap.add_argument("--memory-idle-s", type=float, default=2,
                    help="seconds of quiet before the idle RSS reading and after the requests")
    ap.add_argument("--memory-compare", type=int, default=1,
                    help="1: run the memory section a second time with one glibc malloc arena and "
                    "eager trimming (tells freed-but-kept heap from held heap); 0: skip")
    ap.add_argument("--json", default=None, help="machine-readable results (default target/bench.json, "
                    "target/bench-partial.json with --only)")
    ap.add_argument("--tmpfs", default="/dev/shm",
                    help="a tmpfs dir for second runs of the Data Download benchmark and the S3 PUTs ('' to skip)")
    load.add_args(ap)
    a = ap.parse_args()
    only = [x.strip() for x in a.only.split(",") if x.strip()]
    unknown = sorted(set(only) - set(SECTIONS))
    if unknown:
        ap.error(f"unknown section(s) {', '.join(unknown)}; known: {', '.join(SECTIONS)}")
    run = set(only or SECTIONS)
    out = a.out or ("target/bench-partial.md" if only else "docs/benchmarks.md")
    json_out = a.json or ("target/bench-partial.json" if only else "target/bench.json")
    machine, parts = {}, {}
    if "startup" in run:
        banner, health, lo, hi = bench_startup(a.runs)
        machine["startup_ms"] = {"banner": banner, "health": health}
        parts["startup"] = f"""
## Start-up (empty data dir, ports 0, {a.runs} runs)

| measure | median | min | max |
|---|---|---|---|
| exec → banner printed (both listeners bound, demo tenant created) | {banner:.1f} ms | | |
| exec → `GET /_mock/health` 200 | {health:.1f} ms | {lo:.1f} ms | {hi:.1f} ms |

Target: under 50 ms (moto's server takes about 1 s on these machines, per S3S-NOTES.md).
"""
    if "s3" in run:
        s3 = s3bench.run(BIN, a.s3_seconds, a.s3_repeat, a.runs, 10_000, a.tmpfs)
        machine["s3"] = s3
    # The Data Download runs come before the sections that remove big data dirs: ext4 skips
    # inodes freed in the last minutes when it allocates new ones, so creating files right after
    # a big `rm -r` is slower than usual.
    if "exports" in run:
        tmp = tempfile.gettempdir()
        runs = [(f"`{tmp}` ({s3bench.fs_note(tmp)})", bench_exports(a.days))]
        if a.tmpfs and os.path.isdir(a.tmpfs):
            runs.append((f"`{a.tmpfs}` ({s3bench.fs_note(a.tmpfs)})", bench_exports(a.days, a.tmpfs)))
        example_cmd, example_out = run_export_example(a.days, a.example_rounds)
        machine["exports"] = [{"dir": label, "total_s": sum(e["steps"]), "cpu_s": sum(e["cpu"]),
                               "hwm_kb": e["hwm"]} for label, e in runs]
        parts["exports"] = exports_text(a.days, runs, example_cmd, example_out)
    if "cap" in run:
        seed_s, day1, day2, data_mb = bench_cap(a.count)
        machine["sea_cap"] = {"count": a.count, "seed_s": seed_s, "day1_s": day1, "day2_s": day2}
        parts["cap"] = f"""
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
    if "sea" in run:
        sea = scale.bench_sea(a.sea_count)
        machine["sea_place_expire"] = sea
        parts["sea"] = scale.sea_markdown(sea)
    if "memory" in run:
        mem = scale.bench_memory(a.memory_count, a.memory_idle_s, a.memory_requests_s)
        machine["memory"] = mem
        mems = [("glibc malloc, defaults", mem)]
        if a.memory_compare:
            one = scale.bench_memory(a.memory_count, a.memory_idle_s, a.memory_requests_s,
                                     env={"GLIBC_TUNABLES": scale.ONE_ARENA})
            machine["memory_one_arena"] = one
            mems.append(("one malloc arena, trimmed", one))
        parts["memory"] = scale.memory_markdown(mems)
    if "load" in run:
        machine["load"] = load.run(a)
        parts["load"] = load.markdown(machine["load"])
    command = "python bench/bench.py" + (f" --only {','.join(only)}" if only else "")
    if run & {"startup", "s3"}:
        command += f" --runs {a.runs}"
    if "s3" in run:
        command += f" --s3-seconds {a.s3_seconds:g} --s3-repeat {a.s3_repeat}"
    if "exports" in run:
        command += f" --days {a.days} --example-rounds {a.example_rounds} --tmpfs '{a.tmpfs}'"
    if "cap" in run:
        command += f" --count {a.count}"
    if "sea" in run:
        command += f" --sea-count {a.sea_count}"
    if "memory" in run:
        command += (f" --memory-count {a.memory_count} --memory-requests-s {a.memory_requests_s:g}"
                    f" --memory-idle-s {a.memory_idle_s:g} --memory-compare {a.memory_compare}")
    if "load" in run:
        command += load.command_args(a)
    if "s3" in run:
        parts["s3"] = s3bench.markdown(s3, command)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = f"""# Benchmarks

Produced by `make bench` (`{command}` against `{BIN}`, release build) on {now}, {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}.
Wall-clock figures: compare within one run, machines here are noisy.
The effect of each performance change, before against after, is kept in
[benchmarks-history.md](benchmarks-history.md) (this file is rewritten whole by each run).
""" + "".join(parts[k] for k in ("startup", "cap", "sea", "memory", "load", "s3", "exports") if k in parts)
    machine["command"] = command
    os.makedirs(os.path.dirname(json_out) or ".", exist_ok=True)
    with open(json_out, "w") as f:
        json.dump(machine, f, indent=2)
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    sys.exit(main())
