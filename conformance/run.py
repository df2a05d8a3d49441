#!/usr/bin/env python3
"""S3 conformance against peer suites (docs/reliability.md, "S3 conformance against peer suites").

Runs, side by side on this machine, against the data-lake side of mock-cxone's S3 endpoint and
against plain s3s-fs 0.14.1 (the S3 library mock-cxone builds on, as a server):

1. s3s-e2e 0.14.1 (crates.io): every suite it has (Basic, ListPagination, PresignedUrl,
   Multipart, ...).
2. ceph/s3-tests (never part of this repository: give its checkout as --s3tests-dir or
   S3TESTS_DIR), categories list / range / object / multipart / copy, selected by test name, with
   the tests of features the mock does not claim left out (SELECTION below). Both servers run the
   very same selection.

The mock runs as `mock-cxone serve` on loopback ports with the real clock (s3-tests compares
Last-Modified and presigned expiry with the wall clock) in a fresh data dir; s3-tests' main,
alt and tenant users are three tenants' data-lake credentials (POST /api/v2/data-lake/credentials).
s3s-fs has one user: main, alt and tenant are all that user there.

    make conformance              # installs s3s-e2e, builds the mock, runs this
    python3 conformance/run.py --help

Output: a Markdown summary on stdout and in target/conformance/results.md, per-test outcomes in
target/conformance/results.json. Exit 0 when the suites ran (whatever they found), 2 when a
prerequisite is missing.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT_DIR = REPO / "target" / "conformance"

# ---------------------------------------------------------------------------------------------
# The s3-tests selection: category by test name (first match wins), then exclusions.
# ---------------------------------------------------------------------------------------------

CATEGORIES: list[tuple[str, re.Pattern[str]]] = [
    ("multipart", re.compile(r"multipart")),
    ("copy", re.compile(r"copy")),
    ("range", re.compile(r"^test_ranged_")),
    ("list", re.compile(r"^test_bucket_list")),
    ("object", re.compile(r"^test_(object|get|put)")),
]

# Markers of features mock-cxone does not claim (CONTRACT: the data lake is plain S3 storage with
# SSE-KMS headers; no ACLs, policies, lifecycle configuration, website, CORS, SSE-C, object lock,
# logging, versioning, IAM/STS, S3 Select, append, storage-class configuration), and tests AWS
# itself fails.
EXCLUDED_MARKERS = {
    "abac_test", "appendobject", "bucket_encryption", "bucket_logging", "bucket_logging_cleanup",
    "bucket_policy", "cloud_restore", "cloud_transition", "delete_marker", "encryption",
    "fails_on_aws", "fails_without_logging_rollover", "group_policy", "iam_account",
    "iam_cross_account", "iam_role", "iam_tenant", "iam_user", "lifecycle", "lifecycle_expiration",
    "lifecycle_transition", "object_lock", "object_ownership", "role_policy", "s3select",
    "s3website", "s3website_redirect_location", "s3website_routing_rules", "session_policy", "sns",
    "sse_s3", "storage_class", "target_by_bucket", "test_of_sts", "user_policy", "versioning",
    "webidentity_test",
}
# The same features, for tests that carry no marker.
EXCLUDED_NAMES = re.compile(
    r"acl|policy|lifecycle|website|cors|sse_c|sse_kms|encrypt|object_lock|logging|versioning|"
    r"versioned|ownership|torrent|append|public_access|legal_hold|retention|restore|grant|"
    r"storage_class"
)

S3_TESTS_FILE = "s3tests/functional/test_s3.py"


def select_tests(s3tests_dir: Path) -> dict[str, list[str]]:
    """Test names of test_s3.py by category, as SELECTION says (read from the source, so the
    selection does not depend on which server is up)."""
    src = (s3tests_dir / S3_TESTS_FILE).read_text()
    out: dict[str, list[str]] = {name: [] for name, _ in CATEGORIES}
    for m in re.finditer(r"((?:@pytest\.mark\.\w+[^\n]*\n)*)def (test_\w+)\(", src):
        name = m.group(2)
        markers = set(re.findall(r"@pytest\.mark\.(\w+)", m.group(1)))
        if markers & EXCLUDED_MARKERS or EXCLUDED_NAMES.search(name):
            continue
        for cat, rx in CATEGORIES:
            if rx.search(name):
                out[cat].append(name)
                break
    return out


# ---------------------------------------------------------------------------------------------
# Servers
# ---------------------------------------------------------------------------------------------


@dataclass
class User:
    access_key: str
    secret_key: str
    display_name: str
    user_id: str


@dataclass
class Server:
    name: str
    proc: subprocess.Popen
    s3_url: str
    main: User
    alt: User
    tenant: User
    workdir: Path
    log: Path
    extra: dict = field(default_factory=dict)

    @property
    def host_port(self) -> tuple[str, int]:
        m = re.match(r"^https?://([^:/]+):(\d+)", self.s3_url)
        assert m, self.s3_url
        return m.group(1), int(m.group(2))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def http_json(method: str, url: str, body: dict | None = None, headers: dict | None = None,
              form: dict | None = None) -> dict:
    data = None
    hdrs = dict(headers or {})
    if body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    elif form is not None:
        data = "&".join(f"{k}={urllib.parse.quote(v)}" for k, v in form.items()).encode()
        hdrs["Content-Type"] = "application/x-www-form-urlencoded"
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"{}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_mock(binary: Path, workdir: Path) -> Server:
    data = workdir / "data"
    log = workdir / "mock-cxone.log"
    proc = subprocess.Popen(
        [str(binary), "serve", "--api-addr", "127.0.0.1:0", "--s3-addr", "127.0.0.1:0",
         "--data-dir", str(data), "--clock", "real", "--seed", "42"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=open(log, "wb"),
        env={k: v for k, v in os.environ.items() if not k.startswith("MOCK_CXONE_")},
    )
    api = s3 = None
    deadline = time.monotonic() + 60
    assert proc.stdout is not None
    while (api is None or s3 is None) and time.monotonic() < deadline:
        line = proc.stdout.readline().decode("utf-8", "replace")
        if not line:
            break
        if m := re.match(r"^  api: (https?://\S+)$", line.rstrip("\n")):
            api = m.group(1)
        elif m := re.match(r"^  s3: (https?://\S+)$", line.rstrip("\n")):
            s3 = m.group(1)
    if api is None or s3 is None:
        proc.kill()
        raise RuntimeError(f"mock-cxone printed no URLs; see {log}")
    # Keep draining stdout so the server never blocks on a full pipe.
    subprocess.Popen(["cat"], stdin=proc.stdout, stdout=subprocess.DEVNULL)
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{api}/_mock/health", timeout=5) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.05)
    users = []
    for role in ("main", "alt", "tenant"):
        t = http_json("POST", f"{api}/_mock/tenants", {"name": f"conformance-{role}"})
        basic = base64.b64encode(f"{t['client_id']}:{t['client_secret']}".encode()).decode()
        tok = http_json("POST", f"{api}/auth/token", headers={"Authorization": f"Basic {basic}"},
                        form={"grant_type": "password", "username": t["access_key_id"],
                              "password": t["access_key_secret"]})["access_token"]
        c = http_json("POST", f"{api}/api/v2/data-lake/credentials",
                      headers={"Authorization": f"Bearer {tok}"})
        users.append(User(c["access_key_id"], c["secret_access_key"], f"conformance-{role}", t["tenant_id"]))
    return Server("mock-cxone", proc, s3, users[0], users[1], users[2], workdir, log, {"api": api})


def start_s3sfs(binary: Path, workdir: Path) -> Server:
    root = workdir / "root"
    root.mkdir(parents=True)
    log = workdir / "s3s-fs.log"
    port = free_port()
    ak, sk = "AKCONFORMANCE", "SKCONFORMANCESECRET"
    proc = subprocess.Popen(
        [str(binary), "--host", "127.0.0.1", "--port", str(port), "--access-key", ak, "--secret-key", sk,
         str(root)],
        stdin=subprocess.DEVNULL, stdout=open(log, "wb"), stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"s3s-fs exited; see {log}")
            time.sleep(0.05)
    u = User(ak, sk, "s3s-fs", "s3s-fs")
    return Server("s3s-fs", proc, f"http://127.0.0.1:{port}", u, u, u, workdir, log)


# ---------------------------------------------------------------------------------------------
# s3s-e2e
# ---------------------------------------------------------------------------------------------


def run_e2e(binary: Path, server: Server) -> dict:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "AWS_ACCESS_KEY_ID": server.main.access_key,
        "AWS_SECRET_ACCESS_KEY": server.main.secret_key,
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": server.s3_url,
        "AWS_CONFIG_FILE": "/nonexistent/conformance/aws-config",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/conformance/aws-credentials",
        "NO_COLOR": "1",
        "RUST_LOG": os.environ.get("CONFORMANCE_E2E_LOG", "s3s_test=info"),
    }
    t0 = time.monotonic()
    p = subprocess.run([str(binary)], env=env, capture_output=True, timeout=900)
    out = p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace")
    (server.workdir / "s3s-e2e.log").write_text(out)
    return {"exit": p.returncode, "seconds": round(time.monotonic() - t0, 1), **parse_e2e(out)}


ANSI = re.compile(r"\x1b\[[0-9;]*m")


def parse_e2e(out: str) -> dict:
    """Case outcomes from s3s-test's closing report: `PASSED  12.3ms [Suite/Fixture/case]`."""
    cases: dict[str, str] = {}
    for line in ANSI.sub("", out).splitlines():
        m = re.match(r"^(PASSED|FAILED)\s+\S+\s+\[(\w+/\w+/\w+)\]", line)
        if m:
            cases[m.group(2)] = m.group(1).lower()
    fixtures: dict[str, dict[str, int]] = {}
    for name, outcome in cases.items():
        fx = "/".join(name.split("/")[:2])
        d = fixtures.setdefault(fx, {"passed": 0, "failed": 0})
        d["passed" if outcome == "passed" else "failed"] += 1
    return {"cases": cases, "fixtures": fixtures}


# ---------------------------------------------------------------------------------------------
# ceph/s3-tests
# ---------------------------------------------------------------------------------------------


def s3tests_venv(s3tests_dir: Path, venv: Path) -> Path:
    py = venv / "bin" / "python"
    stamp = venv / ".installed"
    if not stamp.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "--quiet", "-r", str(s3tests_dir / "requirements.txt"),
                        "pytest-timeout"], check=True)
        stamp.touch()
    return py


def s3tests_conf(server: Server, path: Path) -> None:
    host, port = server.host_port

    def user(section: str, u: User, extra: str = "") -> str:
        return (f"[{section}]\ndisplay_name = {u.display_name}\nuser_id = {u.user_id}\n"
                f"email = {u.display_name}@example.com\naccess_key = {u.access_key}\n"
                f"secret_key = {u.secret_key}\n{extra}\n")

    # Bucket names: 3-63 lowercase letters, digits, hyphens (the mock checks them as S3 does);
    # the SEA bucket name (cxone-sea) is reserved, which no prefix below can produce.
    iam = User("IAMUNUSED", "iamunused", "iam", "iam")
    path.write_text(
        f"[DEFAULT]\nhost = {host}\nport = {port}\nis_secure = False\nssl_verify = False\n\n"
        "[fixtures]\nbucket prefix = s3t-{random}-\n\n"
        + user("s3 main", server.main, "api_name = default\n")
        + user("s3 alt", server.alt)
        + user("s3 tenant", server.tenant, "tenant = testx\n")
        + user("iam", iam) + user("iam root", iam) + user("iam alt root", iam)
    )


def run_s3tests(py: Path, s3tests_dir: Path, server: Server, selection: dict[str, list[str]],
                timeout_per_test: int) -> dict:
    conf = server.workdir / "s3tests.conf"
    s3tests_conf(server, conf)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("AWS_")}, "S3TEST_CONF": str(conf),
           "AWS_CONFIG_FILE": "/nonexistent/conformance/aws-config",
           "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/conformance/aws-credentials",
           # s3tests_shim.py: bucket clean-up without ListObjectVersions (see its docstring).
           "PYTHONPATH": str(Path(__file__).resolve().parent)}
    t0 = time.monotonic()
    outcomes: dict[str, tuple[str, str]] = {}
    exits = {}
    log = open(server.workdir / "s3tests.log", "wb")
    # One pytest run per category: an internal error of pytest in one (seen: a traceback entry
    # without a line number) cannot lose the others' results. --tb=native avoids that formatter.
    for cat, names in selection.items():
        if not names:
            continue
        junit = server.workdir / f"s3tests-junit-{cat}.xml"
        args = [str(py), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "s3tests_shim", "--tb=native",
                "--timeout", str(timeout_per_test), f"--junitxml={junit}", "-o", "junit_family=xunit1"]
        args += [f"{S3_TESTS_FILE}::{n}" for n in names]
        log.write(f"== {cat}\n".encode())
        log.flush()
        p = subprocess.run(args, cwd=s3tests_dir, env=env, stdout=log, stderr=subprocess.STDOUT)
        exits[cat] = p.returncode
        outcomes.update(junit_outcomes(junit))
    log.close()
    per_cat = {}
    for cat, tests in selection.items():
        passed = [t for t in tests if outcomes.get(t, ("missing", ""))[0] == "passed"]
        per_cat[cat] = {"passed": len(passed), "total": len(tests)}
    return {"exit": exits, "seconds": round(time.monotonic() - t0, 1), "categories": per_cat,
            "outcomes": {k: v[0] for k, v in outcomes.items()},
            "messages": {k: v[1] for k, v in outcomes.items() if v[0] != "passed"}}


def junit_outcomes(path: Path) -> dict[str, tuple[str, str]]:
    """test name -> (passed|failed|error|skipped, first line of the message). A test whose
    set-up or tear-down errs is not counted as passed."""
    out: dict[str, tuple[str, str]] = {}
    if not path.exists():
        return out
    for tc in ET.parse(path).getroot().iter("testcase"):
        name = tc.get("name", "").split("[")[0]
        state, msg = "passed", ""
        for child in tc:
            if child.tag in ("failure", "error", "skipped"):
                state = {"failure": "failed"}.get(child.tag, child.tag)
                msg = (child.get("message") or child.text or "").strip().splitlines()[0:1]
                msg = msg[0][:300] if msg else ""
                break
        prev = out.get(name)
        if prev is None or prev[0] == "passed":
            out[name] = (state, msg)
    return out


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def report(results: dict, selection: dict[str, list[str]] | None) -> str:
    servers = list(results)
    lines = ["# S3 conformance (conformance/run.py)", ""]
    if any("e2e" in r for r in results.values()):
        lines += ["## s3s-e2e 0.14.1", "", "| fixture | " + " | ".join(servers) + " |",
                  "|---|" + "---|" * len(servers)]
        fixtures = sorted({fx for r in results.values() for fx in r.get("e2e", {}).get("fixtures", {})})
        for fx in fixtures:
            cells = []
            for s in servers:
                d = results[s].get("e2e", {}).get("fixtures", {}).get(fx)
                cells.append("-" if d is None else f"{d['passed']}/{d['passed'] + d['failed']}"
                             + (" pass" if d["failed"] == 0 else " FAIL"))
            lines.append(f"| {fx} | " + " | ".join(cells) + " |")
        lines.append("")
    if selection is not None and any("s3tests" in r for r in results.values()):
        lines += ["## ceph/s3-tests (test_s3.py, selection in conformance/run.py)", "",
                  "| category | " + " | ".join(servers) + " |", "|---|" + "---|" * len(servers)]
        totals = {s: [0, 0] for s in servers}
        for cat in selection:
            cells = []
            for s in servers:
                d = results[s].get("s3tests", {}).get("categories", {}).get(cat)
                if d is None:
                    cells.append("-")
                    continue
                totals[s][0] += d["passed"]
                totals[s][1] += d["total"]
                cells.append(f"{d['passed']}/{d['total']}")
            lines.append(f"| {cat} | " + " | ".join(cells) + " |")
        lines.append("| **all** | " + " | ".join(f"**{p}/{t}**" for p, t in totals.values()) + " |")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mock-bin", type=Path, default=REPO / "target/debug/mock-cxone")
    ap.add_argument("--s3sfs-bin", type=Path, default=REPO / "target/bench-tools/bin/s3s-fs")
    ap.add_argument("--e2e-bin", type=Path, default=REPO / "target/bench-tools/bin/s3s-e2e")
    ap.add_argument("--s3tests-dir", type=Path, default=os.environ.get("S3TESTS_DIR"),
                    help="a checkout of github.com/ceph/s3-tests, outside this repository (env S3TESTS_DIR)")
    ap.add_argument("--venv", type=Path, default=OUT_DIR / "s3tests-venv",
                    help="scratch virtualenv for s3-tests' requirements (made when missing)")
    ap.add_argument("--servers", default="mock-cxone,s3s-fs")
    ap.add_argument("--suites", default="e2e,s3tests")
    ap.add_argument("--only", default="", help="comma-separated s3-tests names to run instead of the selection")
    ap.add_argument("--timeout", type=int, default=60, help="seconds per s3-tests test")
    a = ap.parse_args()

    servers = [s for s in a.servers.split(",") if s]
    suites = [s for s in a.suites.split(",") if s]
    missing = []
    if "mock-cxone" in servers and not a.mock_bin.exists():
        missing.append(f"{a.mock_bin} (cargo build -p mock-cxone)")
    if "s3s-fs" in servers and not a.s3sfs_bin.exists():
        missing.append(f"{a.s3sfs_bin} (make bench-tools)")
    if "e2e" in suites and not a.e2e_bin.exists():
        missing.append(f"{a.e2e_bin} (make conformance installs it)")
    if "s3tests" in suites and (a.s3tests_dir is None or not (Path(a.s3tests_dir) / S3_TESTS_FILE).exists()):
        missing.append("S3TESTS_DIR: a checkout of github.com/ceph/s3-tests outside this repository, e.g.\n"
                       "    git clone https://github.com/ceph/s3-tests /tmp/s3-tests && S3TESTS_DIR=/tmp/s3-tests make conformance")
    if missing:
        print("conformance: missing prerequisites:\n  " + "\n  ".join(missing), file=sys.stderr)
        return 2

    selection = None
    py = None
    if "s3tests" in suites:
        s3tests_dir = Path(a.s3tests_dir).resolve()
        selection = select_tests(s3tests_dir)
        if a.only:
            wanted = set(a.only.split(","))
            selection = {c: [t for t in ts if t in wanted] for c, ts in selection.items()}
        py = s3tests_venv(s3tests_dir, a.venv)

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {name: {} for name in servers}

    def run_server(name: str) -> None:
        for suite in suites:
            work = Path(tempfile.mkdtemp(prefix=f"conformance-{name}-{suite}-"))
            server = (start_mock(a.mock_bin, work) if name == "mock-cxone" else start_s3sfs(a.s3sfs_bin, work))
            try:
                print(f"== {suite} against {name} ({server.s3_url})", file=sys.stderr, flush=True)
                if suite == "e2e":
                    results[name]["e2e"] = run_e2e(a.e2e_bin, server)
                else:
                    assert py is not None and selection is not None
                    results[name]["s3tests"] = run_s3tests(py, s3tests_dir, server, selection, a.timeout)
                results[name].setdefault("crashed", []).append(server.proc.poll() is not None)
            finally:
                server.stop()
                logs = OUT_DIR / f"{name}-{suite}"
                shutil.rmtree(logs, ignore_errors=True)
                logs.mkdir(parents=True)
                for f in work.iterdir():
                    if f.is_file():
                        shutil.copy(f, logs / f.name)
                shutil.rmtree(work, ignore_errors=True)

    # The servers side by side (each its own data dir, ports and s3-tests bucket prefix).
    threads = [threading.Thread(target=run_server, args=(n,)) for n in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    md = report(results, selection)
    (OUT_DIR / "results.md").write_text(md + "\n")
    (OUT_DIR / "results.json").write_text(json.dumps({"selection": selection, "results": results}, indent=1))
    print(md)
    print(f"(per-test outcomes: {OUT_DIR / 'results.json'}; logs: {OUT_DIR}/<server>-<suite>/)")
    return 0


if __name__ == "__main__":
    import urllib.parse  # noqa: F401  (http_json's form encoding)

    sys.exit(main())
