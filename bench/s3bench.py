"""S3 side by side (issue 6): mock-cxone's data-lake endpoint against the anchors, in one run, with
the same load from the same generator (`s3load`, mock-cxone/examples/s3load.rs: presigned SigV4
requests, verified by every server but nginx).

Anchors, each installed by `make bench` itself:
- moto's server (PyPI, in the Makefile's virtualenv): the Python emulator most suites use;
- the s3s-fs reference server (`cargo install s3s-fs --version 0.14.1 --features binary`), the
  library our S3 layer builds on, so the ratio shows what mock-cxone's own layer costs;
- nginx (Debian) serving the same bytes as static files: the practical upper bound for GET.

Every figure is a median of `--repeat` runs; ratios compare rows of this one run.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

import boto3
import requests
from botocore.config import Config

LOAD_BIN = os.environ.get("S3LOAD_BIN", "target/release/examples/s3load")
S3SFS_BIN = os.environ.get("S3SFS_BIN", "target/bench-tools/bin/s3s-fs")
MOTO_BIN = os.environ.get("MOTO_BIN", ".venv/bin/moto_server")
NGINX_BIN = shutil.which("nginx") or "/usr/sbin/nginx"
BUCKET = "bench"
REGION = "us-east-1"
#: Credentials the anchors accept (moto takes any; s3s-fs is started with these).
ANCHOR_KEY, ANCHOR_SECRET = "AKIABENCHBENCHBENCH0", "bench-secret-key-bench-secret-key-000000"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Server:
    """One S3 server under load."""

    name: str
    endpoint: str
    access_key: str
    secret_key: str
    proc: subprocess.Popen | None = None
    root: str | None = None  # nginx / s3s-fs: the directory holding `<bucket>/<key>` files
    signed: bool = True
    extra: dict = field(default_factory=dict)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def presigned_list(endpoint: str, key: str, secret: str) -> str:
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=key,
                      aws_secret_access_key=secret,
                      config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))
    return s3.generate_presigned_url("list_objects_v2", Params={"Bucket": BUCKET}, ExpiresIn=3600)


def first_s3_answer(cmd: list[str], url: str, env=None, cwd=None, timeout=30.0):
    """Execs `cmd` and polls `url` (a presigned ListObjectsV2) until the S3 stack answers with an
    XML body (200, or 403/404 for a bucket or credentials it does not know yet). Returns
    (process, seconds from exec)."""
    s = requests.Session()
    s.trust_env = False
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=cwd, text=True)
    while time.perf_counter() - t0 < timeout:
        try:
            r = s.get(url, timeout=2)
            if r.text.lstrip().startswith("<?xml") or r.text.lstrip().startswith("<"):
                return p, time.perf_counter() - t0
        except requests.RequestException:
            pass
        if p.poll() is not None:
            raise RuntimeError(f"{cmd[0]} exited with {p.returncode} before answering")
    p.kill()
    raise RuntimeError(f"{cmd[0]} never answered in {timeout}s")


# ---- starting each server -----------------------------------------------------------------------


def start_mock(bin_path: str, base: str | None = None) -> tuple[Server, float, float]:
    """mock-cxone with a fresh data dir (under `base`, default the temp dir); its data-lake
    credentials through REST (CONTRACT §4). Returns the server, seconds to the first S3 answer, and
    seconds to the first 200 ListObjectsV2 with fresh credentials (exec → banner → token →
    credentials → CreateBucket → list)."""
    d = tempfile.mkdtemp(prefix="s3bench-mock-", dir=base)
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    url = presigned_list(endpoint, ANCHOR_KEY, ANCHOR_SECRET)
    cmd = [bin_path, "serve", "--api-addr", "127.0.0.1:0", "--s3-addr", f"127.0.0.1:{port}",
           "--data-dir", os.path.join(d, "data")]
    t0 = time.perf_counter()
    p, answer_s = first_s3_answer(cmd, url)
    banner = {}
    for line in p.stdout:
        m = re.match(r"^\s+(api|client_id|client_secret|access_key_id|access_key_secret): (\S+)$", line)
        if m:
            banner[m.group(1)] = m.group(2)
        if "access_key_secret" in banner:
            break
    # Keep draining stdout so the server never blocks on a full pipe.
    subprocess.Popen(["cat"], stdin=p.stdout, stdout=subprocess.DEVNULL)
    s = requests.Session()
    s.trust_env = False
    tok = s.post(banner["api"] + "/auth/token", auth=(banner["client_id"], banner["client_secret"]),
                 data={"grant_type": "password", "username": banner["access_key_id"],
                       "password": banner["access_key_secret"]}).json()["access_token"]
    creds = s.post(banner["api"] + "/api/v2/data-lake/credentials",
                   headers={"Authorization": f"Bearer {tok}"}).json()
    srv = Server("mock-cxone", endpoint, creds["access_key_id"], creds["secret_access_key"], proc=p,
                 root=d, extra={"api": banner["api"]})
    load(srv, "mkbucket", 0, 1, 0)
    s3 = presigned_list(endpoint, srv.access_key, srv.secret_key)
    r = s.get(s3)
    assert r.status_code == 200, r.text
    ok_s = time.perf_counter() - t0
    return srv, answer_s, ok_s


def start_s3sfs(base: str | None = None) -> tuple[Server, float]:
    root = tempfile.mkdtemp(prefix="s3bench-s3sfs-", dir=base)
    os.makedirs(os.path.join(root, BUCKET))
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    cmd = [S3SFS_BIN, "--host", "127.0.0.1", "--port", str(port), "--access-key", ANCHOR_KEY,
           "--secret-key", ANCHOR_SECRET, root]
    p, ready_s = first_s3_answer(cmd, presigned_list(endpoint, ANCHOR_KEY, ANCHOR_SECRET))
    return Server("s3s-fs 0.14.1", endpoint, ANCHOR_KEY, ANCHOR_SECRET, proc=p, root=root), ready_s


def start_moto() -> tuple[Server, float]:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    env = {**os.environ, "AWS_ACCESS_KEY_ID": ANCHOR_KEY, "AWS_SECRET_ACCESS_KEY": ANCHOR_SECRET}
    p, ready_s = first_s3_answer([MOTO_BIN, "-H", "127.0.0.1", "-p", str(port)],
                                 presigned_list(endpoint, ANCHOR_KEY, ANCHOR_SECRET), env=env)
    srv = Server("moto server", endpoint, ANCHOR_KEY, ANCHOR_SECRET, proc=p)
    load(srv, "mkbucket", 0, 1, 0)
    return srv, ready_s


def start_nginx(root: str) -> Server:
    """nginx serving `root` (holding `<bucket>/<key>` files) as static files, with sendfile."""
    # nginx's workers run as an unprivileged user: the (0700) temp dirs must be readable by it.
    for d, _, files in os.walk(root):
        os.chmod(d, 0o755)
        for f in files:
            os.chmod(os.path.join(d, f), 0o644)
    port = free_port()
    conf_dir = tempfile.mkdtemp(prefix="s3bench-nginx-")
    conf = os.path.join(conf_dir, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""worker_processes 2;
error_log {conf_dir}/error.log;
pid {conf_dir}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  client_body_temp_path {conf_dir}/body;
  proxy_temp_path {conf_dir}/proxy;
  fastcgi_temp_path {conf_dir}/fastcgi;
  uwsgi_temp_path {conf_dir}/uwsgi;
  scgi_temp_path {conf_dir}/scgi;
  server {{ listen 127.0.0.1:{port}; root {root}; }}
}}
""")
    p = subprocess.Popen([NGINX_BIN, "-c", conf, "-p", conf_dir, "-g", "daemon off;"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.02)
    return Server("nginx (static files)", f"http://127.0.0.1:{port}", "", "", proc=p, root=root, signed=False)


# ---- load ---------------------------------------------------------------------------------------


def load(srv: Server, op: str, size: int, concurrency: int, seconds: float, **kw) -> dict:
    cmd = [LOAD_BIN, "--endpoint", srv.endpoint, "--bucket", BUCKET, "--op", op, "--size", str(size),
           "--concurrency", str(concurrency), "--seconds", str(seconds)]
    if srv.signed:
        cmd += ["--access-key", srv.access_key, "--secret-key", srv.secret_key]
    else:
        cmd += ["--no-sign"]
    for k, v in kw.items():
        cmd += [f"--{k}", str(v)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 600)
    if out.returncode != 0:
        raise RuntimeError(f"s3load {op} on {srv.name}: {out.stderr}")
    r = json.loads(out.stdout.strip().splitlines()[-1])
    if r["errors"]:
        raise RuntimeError(f"s3load {op} on {srv.name}: {r['errors']} errors, first: {r['first_error']}")
    return r


WRK_BIN = shutil.which("wrk")


def get_url(srv: Server, key: str) -> str:
    """A URL any HTTP load tool can GET: presigned (1 h) for the S3 servers, plain for nginx."""
    if not srv.signed:
        return f"{srv.endpoint}/{BUCKET}/{key}"
    s3 = boto3.client("s3", endpoint_url=srv.endpoint, region_name=REGION, aws_access_key_id=srv.access_key,
                      aws_secret_access_key=srv.secret_key,
                      config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))
    return s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=3600)


def wrk_get(srv: Server, key: str, size: int, seconds: float) -> dict | None:
    """The issue's own measure: wrk (2 threads, 16 connections) on one presigned GET URL. Every
    request is still verified (SigV4 of the presigned query) by every server but nginx. None when
    wrk is missing (`make bench-tools` installs it)."""
    if not WRK_BIN:
        return None
    out = subprocess.run([WRK_BIN, "-t2", "-c16", f"-d{max(1, round(seconds))}s", get_url(srv, key)],
                         capture_output=True, text=True, timeout=seconds + 120)
    m = re.search(r"Requests/sec:\s+([\d.]+)", out.stdout)
    if out.returncode != 0 or not m:
        raise RuntimeError(f"wrk on {srv.name}: {out.stdout}{out.stderr}")
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out.stdout)
    if bad:
        raise RuntimeError(f"wrk on {srv.name}: {bad.group(1)} error answers")
    rps = float(m.group(1))
    return {"req_per_s": rps, "mb_per_s": rps * size / 1_000_000}


def wrk_rows(srv: Server, seconds: float, repeat: int) -> dict:
    res = {}
    for size, label in [(1024, "1KiB"), (1 << 20, "1MiB")]:
        runs = [wrk_get(srv, f"g{label}/00000000", size, seconds) for _ in range(repeat)]
        if all(runs):
            res[f"wrk_get_{label}_c16"] = {k: median_of(runs, k) for k in ("req_per_s", "mb_per_s")}
    return res


def median_of(runs: list[dict], k: str) -> float:
    return statistics.median(r[k] for r in runs)


def throughput(srv: Server, seconds: float, repeat: int) -> dict:
    """PUT and GET of 1 KiB and 1 MiB objects at concurrency 1 and 16."""
    res = {}
    for size, label in [(1024, "1KiB"), (1 << 20, "1MiB")]:
        load(srv, "seed", size, 1, 0, prefix=f"g{label}/", count=1)
        for c in (1, 16):
            puts = [load(srv, "put", size, c, seconds, prefix=f"p{label}c{c}r{i}/") for i in range(repeat)]
            gets = [load(srv, "get", size, c, seconds, key=f"g{label}/00000000") for i in range(repeat)]
            res[f"put_{label}_c{c}"] = {"req_per_s": median_of(puts, "req_per_s"), "mb_per_s": median_of(puts, "mb_per_s"),
                                        "p50_ms": median_of(puts, "p50_ms"), "p99_ms": median_of(puts, "p99_ms")}
            res[f"get_{label}_c{c}"] = {"req_per_s": median_of(gets, "req_per_s"), "mb_per_s": median_of(gets, "mb_per_s"),
                                        "p50_ms": median_of(gets, "p50_ms"), "p99_ms": median_of(gets, "p99_ms")}
    res.update(wrk_rows(srv, seconds, repeat))
    return res


def get_only(srv: Server, seconds: float, repeat: int) -> dict:
    res = {}
    for label in ("1KiB", "1MiB"):
        for c in (1, 16):
            gets = [load(srv, "get", 0, c, seconds, key=f"g{label}/00000000") for _ in range(repeat)]
            res[f"get_{label}_c{c}"] = {"req_per_s": median_of(gets, "req_per_s"), "mb_per_s": median_of(gets, "mb_per_s"),
                                        "p50_ms": median_of(gets, "p50_ms"), "p99_ms": median_of(gets, "p99_ms")}
    res.update(wrk_rows(srv, seconds, repeat))
    return res


def puts_1kib(srv: Server, seconds: float, repeat: int) -> dict:
    res = {}
    for c in (1, 16):
        puts = [load(srv, "put", 1024, c, seconds, prefix=f"t1KiBc{c}r{i}/") for i in range(repeat)]
        res[f"put_1KiB_c{c}"] = {k: median_of(puts, k) for k in ("req_per_s", "mb_per_s", "p50_ms", "p99_ms")}
    return res


def puts_on(base: str, mock_bin: str, seconds: float, repeat: int) -> dict:
    """PUT 1 KiB on mock-cxone and s3s-fs with their data under `base` (a tmpfs): the servers' own
    cost, without the filesystem's. See `fs_note` for why the temp dir's figure can be far lower."""
    out = {}
    for start in (lambda: start_mock(mock_bin, base), lambda: start_s3sfs(base)):
        srv = start()[0]
        try:
            out[srv.name] = puts_1kib(srv, seconds, repeat)
        finally:
            srv.stop()
            shutil.rmtree(srv.root, ignore_errors=True)
    return out


def fs_type(path: str) -> tuple[str, str]:
    """The filesystem type and device `path` lives on (the longest mount point that holds it)."""
    path, best, kind, dev = os.path.realpath(path), "", "?", ""
    try:
        with open("/proc/mounts") as f:
            for line in f:
                device, mnt, typ = line.split()[:3]
                if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best):
                    best, kind, dev = mnt, typ, device
    except OSError:
        pass
    return kind, dev


def fs_note(path: str) -> str:
    """`ext4 without a journal` when that is so: such an ext4 checks each free inode it is about to
    allocate for having been freed in the last 1-6 minutes (`recently_deleted`), and skips it, so
    after a big `rm -r` every file created costs a scan — PUT 1 KiB x16 fell from ~8,000 to ~1,500/s
    on a fresh loop-mounted ext4 after 200,000 files were deleted in it, while a journaled one kept
    ~11,000/s (docs/benchmarks-history.md)."""
    kind, dev = fs_type(path)
    if kind != "ext4":
        return kind
    name = os.path.basename(dev)
    try:
        journaled = any(j.startswith(name + "-") for j in os.listdir("/proc/fs/jbd2"))
    except OSError:
        journaled = False
    return "ext4" if journaled else "ext4 without a journal"


def listing(srv: Server, keys: int, seconds: float) -> dict:
    """ListObjectsV2 of a `keys`-object prefix, 1,000 per page, whole listings per second."""
    t0 = time.perf_counter()
    load(srv, "seed", 16, 16, 0, prefix="list/", count=keys)
    seed_s = time.perf_counter() - t0
    r = load(srv, "list", 0, 1, seconds, prefix="list/")
    assert r["keys_per_list"] == keys, f"{srv.name} listed {r['keys_per_list']} of {keys} keys"
    return {"seed_s": seed_s, "lists_per_s": r["req_per_s"], "list_ms": 1000 / r["req_per_s"] if r["req_per_s"] else 0}


def ready_times(start_fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        got = start_fn()
        srv, ready = got[0], got[1]
        srv.stop()
        if srv.root:
            shutil.rmtree(srv.root, ignore_errors=True)
        out.append(ready)
    return out


def run(mock_bin: str, seconds: float, repeat: int, ready_runs: int, list_keys: int,
        tmpfs: str = "/dev/shm") -> dict:
    """Everything, in one process tree. Returns the machine-readable results."""
    tmp = tempfile.gettempdir()
    results: dict = {"seconds_per_run": seconds, "repeat": repeat, "servers": {},
                     "data_dir_fs": f"{tmp} ({fs_note(tmp)})"}
    # Ready-to-serve first, on an idle machine.
    mock_ready = [start_mock(mock_bin) for _ in range(ready_runs)]
    for srv, _, _ in mock_ready:
        srv.stop()
        shutil.rmtree(srv.root, ignore_errors=True)
    results["ready_ms"] = {
        "mock-cxone": statistics.median(r[1] for r in mock_ready) * 1000,
        "mock-cxone (200 with fresh REST credentials)": statistics.median(r[2] for r in mock_ready) * 1000,
        "s3s-fs 0.14.1": statistics.median(ready_times(start_s3sfs, ready_runs)) * 1000,
        "moto server": statistics.median(ready_times(start_moto, max(3, ready_runs // 4))) * 1000,
    }
    servers = []
    try:
        mock, _, _ = start_mock(mock_bin)
        servers.append(mock)
        s3sfs, _ = start_s3sfs()
        servers.append(s3sfs)
        moto, _ = start_moto()
        servers.append(moto)
        for srv in servers:
            r = {"idle_rss_mib": rss_mib(srv.proc.pid)}
            r.update(throughput(srv, seconds, repeat))
            r["list"] = listing(srv, list_keys, seconds)
            r["rss_after_mib"] = rss_mib(srv.proc.pid)
            results["servers"][srv.name] = r
        # nginx serves the very bytes the GETs above read, from s3s-fs's directory.
        nginx = start_nginx(s3sfs.root)
        servers.append(nginx)
        results["servers"][nginx.name] = get_only(nginx, seconds, repeat)
        if tmpfs and os.path.isdir(tmpfs):
            results["tmpfs"] = {"dir": f"{tmpfs} ({fs_note(tmpfs)})",
                                "servers": puts_on(tmpfs, mock_bin, seconds, repeat)}
    finally:
        for srv in servers:
            srv.stop()
            if srv.root and srv.name != "mock-cxone":
                shutil.rmtree(srv.root, ignore_errors=True)
        for srv in servers:
            if srv.name == "mock-cxone":
                shutil.rmtree(srv.root, ignore_errors=True)
    return results


def tmpfs_text(r: dict) -> str:
    """The PUT rows again with the data on tmpfs, and why they can differ from the table's."""
    t = r.get("tmpfs")
    if not t or "mock-cxone" not in t["servers"]:
        return ""
    s = t["servers"]
    names = list(s)
    rows = []
    for k, label in [("put_1KiB_c1", "PUT 1 KiB, 1 client"), ("put_1KiB_c16", "PUT 1 KiB, 16 clients")]:
        m = s["mock-cxone"][k]["req_per_s"]
        cells = [f"{s[n][k]['req_per_s']:,.0f}" + (f" ({m / s[n][k]['req_per_s']:.2f}x)" if n != "mock-cxone" else "")
                 for n in names]
        rows.append(f"| {label} (req/s) | " + " | ".join(cells) + " |")
    return f"""
The same PUTs with each server's data in {t['dir']} (the table above: {r.get('data_dir_fs', '?')}).
A PUT creates two files (the object and its sidecar), so its rate is bound by how fast the
filesystem creates inodes. On ext4 without a journal, as on these machines, that is slow for
minutes after any big delete (the kernel skips recently freed inodes one by one), which is what
the temp-dir rows can show; tmpfs shows the servers' own cost.

| load | {' | '.join(names)} |
|---|{'---|' * len(names)}
{chr(10).join(rows)}
"""


def markdown(r: dict, command: str) -> str:
    s = r["servers"]
    names = [n for n in ("mock-cxone", "s3s-fs 0.14.1", "moto server", "nginx (static files)") if n in s]
    mock = s["mock-cxone"]

    def cell(name, k, unit):
        v = s[name].get(k)
        if v is None:
            return "—"
        x = v["req_per_s"] if unit == "req/s" else v["mb_per_s"]
        return f"{x:,.0f}" if unit == "req/s" else f"{x:,.1f}"

    def ratio(name, k, unit):
        v, m = s[name].get(k), mock.get(k)
        if not v or not m or name == "mock-cxone":
            return ""
        a = m["req_per_s"] if unit == "req/s" else m["mb_per_s"]
        b = v["req_per_s"] if unit == "req/s" else v["mb_per_s"]
        return f" ({a / b:.2f}x)" if b else ""

    rows = []
    for k, label, unit in [
        ("get_1KiB_c1", "GET 1 KiB, 1 client", "req/s"), ("get_1KiB_c16", "GET 1 KiB, 16 clients", "req/s"),
        ("put_1KiB_c1", "PUT 1 KiB, 1 client", "req/s"), ("put_1KiB_c16", "PUT 1 KiB, 16 clients", "req/s"),
        ("get_1MiB_c1", "GET 1 MiB, 1 client", "MB/s"), ("get_1MiB_c16", "GET 1 MiB, 16 clients", "MB/s"),
        ("put_1MiB_c1", "PUT 1 MiB, 1 client", "MB/s"), ("put_1MiB_c16", "PUT 1 MiB, 16 clients", "MB/s"),
        ("wrk_get_1KiB_c16", "GET 1 KiB, wrk 16 connections", "req/s"),
        ("wrk_get_1MiB_c16", "GET 1 MiB, wrk 16 connections", "MB/s"),
    ]:
        if not any(k in s[n] for n in names):
            continue
        rows.append(f"| {label} ({unit}) | " + " | ".join(cell(n, k, unit) + ratio(n, k, unit) for n in names) + " |")
    lat = []
    for k, label in [("get_1KiB_c16", "GET 1 KiB, 16 clients"), ("put_1KiB_c16", "PUT 1 KiB, 16 clients")]:
        lat.append(f"| {label} p50 / p99 (ms) | " + " | ".join(
            f"{s[n][k]['p50_ms']:.2f} / {s[n][k]['p99_ms']:.2f}" if k in s[n] else "—" for n in names) + " |")
    lists = "| ListObjectsV2, 10,000 keys in pages of 1,000 (ms per whole listing) | " + " | ".join(
        f"{s[n]['list']['list_ms']:.0f}" if "list" in s[n] else "—" for n in names) + " |"
    rss = "| RSS idle / after the runs (MiB) | " + " | ".join(
        f"{s[n]['idle_rss_mib']:.1f} / {s[n]['rss_after_mib']:.1f}" if "idle_rss_mib" in s[n] else "—" for n in names) + " |"
    ready = "\n".join(f"| {k} | {v:.1f} ms |" for k, v in r["ready_ms"].items())
    ng = s.get("nginx (static files)", {})
    g1 = mock["get_1KiB_c16"]["req_per_s"]
    targets = []
    # Against nginx the issue measured with wrk; s3load tops out below what nginx serves.
    gen = "wrk_" if "wrk_get_1KiB_c16" in ng and "wrk_get_1KiB_c16" in mock else ""
    how = "wrk" if gen else "s3load"
    if ng:
        targets.append(f"- 1 KiB GET >= 0.25x nginx ({how}): "
                       f"{mock[gen + 'get_1KiB_c16']['req_per_s'] / ng[gen + 'get_1KiB_c16']['req_per_s']:.3f}x")
        targets.append(f"- 1 MiB GET >= 0.5x nginx ({how}): "
                       f"{mock[gen + 'get_1MiB_c16']['mb_per_s'] / ng[gen + 'get_1MiB_c16']['mb_per_s']:.3f}x")
    targets.append(f"- 1 KiB GET >= 25x s3s-fs: {g1 / s['s3s-fs 0.14.1']['get_1KiB_c16']['req_per_s']:.2f}x")
    targets.append(f"- 1 KiB GET >= 100x moto: {g1 / s['moto server']['get_1KiB_c16']['req_per_s']:.2f}x")
    put = f"- 1 KiB PUT >= 5,000/s: {mock['put_1KiB_c16']['req_per_s']:,.0f}/s in {r.get('data_dir_fs', 'the temp dir')}"
    tm = r.get("tmpfs", {}).get("servers", {})
    if "mock-cxone" in tm:
        put += f", {tm['mock-cxone']['put_1KiB_c16']['req_per_s']:,.0f}/s in {r['tmpfs']['dir']}"
    targets.append(put)
    targets.append(f"- ready < 50 ms: {r['ready_ms']['mock-cxone']:.1f} ms")
    return f"""## S3 side by side: mock-cxone vs s3s-fs, moto and nginx

`{command}` — the load generator is `mock-cxone/examples/s3load.rs` (presigned SigV4 on every
request, `UNSIGNED-PAYLOAD`; nginx gets plain URLs to the same bytes), and for the "wrk" rows wrk
(2 threads, 16 connections) on one presigned GET URL, as the issue measured; {r['seconds_per_run']:g} s per
run, median of {r['repeat']}. mock-cxone is measured on its data-lake bucket with data-lake
credentials. In parentheses: mock-cxone's figure divided by that server's.

| load | {' | '.join(names)} |
|---|{'---|' * len(names)}
{chr(10).join(rows)}
{chr(10).join(lat)}
{lists}
{rss}

{tmpfs_text(r)}
Ready to serve (exec → first S3 answer to a presigned ListObjectsV2; median):

| server | ready |
|---|---|
{ready}

Targets (issue 6):
{chr(10).join(targets)}
"""


if __name__ == "__main__":
    import argparse
    import sys

    ap = argparse.ArgumentParser(description="S3 side by side only (make bench runs it with the rest)")
    ap.add_argument("--mock-bin", default=os.environ.get("MOCK_CXONE_BIN", "target/release/mock-cxone"))
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--ready-runs", type=int, default=20)
    ap.add_argument("--list-keys", type=int, default=10_000)
    ap.add_argument("--json", default="target/bench-s3.json")
    a = ap.parse_args()
    res = run(a.mock_bin, a.seconds, a.repeat, a.ready_runs, a.list_keys)
    with open(a.json, "w") as f:
        json.dump(res, f, indent=2)
    print(markdown(res, "python bench/s3bench.py " + " ".join(sys.argv[1:])))
