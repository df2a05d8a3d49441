"""Shared fixtures for the Python client tests: a real `mock-cxone` process per test, and helpers
that drive it the way users do (requests for REST, boto3 and the AWS CLI for S3).

The binary comes from `$MOCK_CXONE_BIN` (the Makefile sets it), else `target/debug/mock-cxone`
under the repository root. Every server starts with a frozen clock at T0 and seed 42 in a fresh
temporary data dir, so tests never depend on each other or on wall time: time only moves
through `POST /_mock/clock/advance`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent

#: The instant every test's clock starts at.
T0 = "2026-01-01T00:00:00Z"
#: The first daily lifecycle run after T0: files of zero-day rules are placed in SEA then.
FIRST_RUN = "2026-01-02T00:00:00Z"
#: ... and they expire 30 days later.
FIRST_EXPIRY = "2026-02-01T00:00:00Z"
SEA_BUCKET = "cxone-sea"
REGION = "us-east-1"

STARTUP_TIMEOUT_S = 30.0
HTTP_TIMEOUT_S = 60.0

# Keep every AWS client hermetic: no user config, profile, endpoint or checksum opt-outs from the
# environment of whoever runs the tests. (Checksums stay at the SDK defaults on purpose.)
for _var in [v for v in os.environ if v.startswith("AWS_")]:
    del os.environ[_var]
os.environ["AWS_CONFIG_FILE"] = "/nonexistent/mock-cxone-tests/aws-config"
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent/mock-cxone-tests/aws-credentials"
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
_no_proxy = "127.0.0.1,localhost"
os.environ["NO_PROXY"] = os.environ["no_proxy"] = _no_proxy


def mock_binary() -> Path:
    """The server binary under test."""
    path = Path(os.environ.get("MOCK_CXONE_BIN") or REPO_ROOT / "target" / "debug" / "mock-cxone")
    if not path.is_absolute():
        path = REPO_ROOT / path
    if not path.exists():
        pytest.fail(f"mock-cxone binary not found at {path}: run `cargo build -p mock-cxone` or `make test-python`")
    return path


# --------------------------------------------------------------------------------------------
# The server process
# --------------------------------------------------------------------------------------------


class MockProcess:
    """One `mock-cxone serve` subprocess on free ports, stopped by `stop()`."""

    def __init__(self, data_dir: Path, log_path: Path, extra_args: list[str] | None = None,
                 ca_bundle: Path | None = None):
        self.data_dir = data_dir
        self.log_path = log_path
        self.ca_bundle = ca_bundle
        self.banner: list[str] = []
        args = [
            str(mock_binary()),
            "serve",
            "--api-addr", "127.0.0.1:0",
            "--s3-addr", "127.0.0.1:0",
            "--data-dir", str(data_dir),
            "--clock", f"frozen:{T0}",
            "--seed", "42",
            *(extra_args or []),
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("MOCK_CXONE_")}
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=env,
            cwd=str(data_dir.parent),
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        # Drain stdout for the life of the process so the server can never block on a full pipe.
        self._reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._reader.start()
        try:
            self.api_url, self.s3_url = self._wait_for_banner()
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self._lines.put(raw.decode("utf-8", "replace").rstrip("\n"))
        self._lines.put(None)

    def _wait_for_banner(self) -> tuple[str, str]:
        api = s3 = None
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while api is None or s3 is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RuntimeError(f"mock-cxone printed no api/s3 URLs in {STARTUP_TIMEOUT_S}s; {self.describe()}")
            try:
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise RuntimeError(f"mock-cxone exited before printing its URLs; {self.describe()}")
            self.banner.append(line)
            if m := re.match(r"^  api: (https?://\S+)$", line):
                api = m.group(1)
            elif m := re.match(r"^  s3: (https?://\S+)$", line):
                s3 = m.group(1)
        return api, s3

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        last = None
        with requests.Session() as s:
            s.trust_env = False
            if self.ca_bundle is not None:
                s.verify = str(self.ca_bundle)
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"mock-cxone exited during start-up; {self.describe()}")
                try:
                    r = s.get(f"{self.api_url}/_mock/health", timeout=5)
                    if r.status_code == 200:
                        return
                    last = f"{r.status_code} {r.text}"
                except requests.RequestException as e:  # not accepting yet
                    last = repr(e)
                time.sleep(0.02)  # start-up polling only; tests never sleep for mock time
        raise RuntimeError(f"/_mock/health never answered 200 (last: {last}); {self.describe()}")

    def log_tail(self, n: int = 40) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])

    def describe(self) -> str:
        return f"exit code {self.proc.poll()}; stderr tail:\n{self.log_tail()}"

    def stop(self) -> int | None:
        """Terminates the process and waits for it; kills it if it lingers."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._reader.join(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._log.close()
        return self.proc.returncode


# --------------------------------------------------------------------------------------------
# Helpers over one running server
# --------------------------------------------------------------------------------------------


@dataclass
class Tenant:
    """`POST /_mock/tenants`' response."""

    tenant_id: str
    name: str
    client_id: str
    client_secret: str
    access_key_id: str
    access_key_secret: str
    scopes: list[str]
    kms_key_id: str | None
    raw: dict[str, Any]


@dataclass
class SeaCreds:
    """`POST /api/v2/sea/credentials`' response."""

    access_key_id: str
    secret_access_key: str
    file_location: str
    bucket: str
    prefix: str
    raw: dict[str, Any]


class Mock:
    """A running mock and the calls tests make on it."""

    def __init__(self, process: MockProcess):
        self.process = process
        self.api = process.api_url
        self.s3 = process.s3_url
        self.ca_bundle = process.ca_bundle
        self.http = requests.Session()
        self.http.trust_env = False  # never route loopback calls through a proxy
        if self.ca_bundle is not None:
            self.http.verify = str(self.ca_bundle)

    def close(self) -> None:
        self.http.close()

    # -- plain HTTP -----------------------------------------------------------------------
    def request(self, method: str, path: str, token: str | None = None, **kw: Any) -> requests.Response:
        headers = dict(kw.pop("headers", None) or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        kw.setdefault("timeout", HTTP_TIMEOUT_S)
        return self.http.request(method, f"{self.api}{path}", headers=headers, **kw)

    def get(self, path: str, token: str | None = None, **kw: Any) -> requests.Response:
        return self.request("GET", path, token, **kw)

    def post(self, path: str, token: str | None = None, **kw: Any) -> requests.Response:
        return self.request("POST", path, token, **kw)

    def control(self, path: str, body: Any, expect: int | tuple[int, ...] = (200, 201)) -> Any:
        """POSTs JSON to the control API and checks the status."""
        r = self.post(path, json=body)
        expected = (expect,) if isinstance(expect, int) else expect
        assert r.status_code in expected, f"POST {path} {body!r} -> {r.status_code}: {r.text}"
        return r.json()

    # -- tenants and tokens ---------------------------------------------------------------
    def tenant(self, name: str, **extra: Any) -> Tenant:
        v = self.control("/_mock/tenants", {"name": name, **extra}, expect=201)
        return Tenant(
            tenant_id=v["tenant_id"],
            name=v["name"],
            client_id=v["client_id"],
            client_secret=v["client_secret"],
            access_key_id=v["access_key_id"],
            access_key_secret=v["access_key_secret"],
            scopes=v["scopes"],
            kms_key_id=v.get("kms_key_id"),
            raw=v,
        )

    def token_response(self, t: Tenant, client_secret: str | None = None, **form: str) -> requests.Response:
        """The password grant: Basic client_id:client_secret, username/password = API access key."""
        data = {"grant_type": "password", "username": t.access_key_id, "password": t.access_key_secret, **form}
        secret = t.client_secret if client_secret is None else client_secret
        return self.post("/auth/token", auth=(t.client_id, secret), data=data)

    def token_body(self, t: Tenant) -> dict[str, Any]:
        r = self.token_response(t)
        assert r.status_code == 200, f"token for {t.tenant_id}: {r.status_code} {r.text}"
        return r.json()

    def token(self, t: Tenant) -> str:
        return self.token_body(t)["access_token"]

    # -- SEA and storage ------------------------------------------------------------------
    def sea_credentials(self, token: str) -> SeaCreds:
        r = self.post("/api/v2/sea/credentials", token)
        assert r.status_code == 201, f"POST /api/v2/sea/credentials -> {r.status_code}: {r.text}"
        v = r.json()
        return SeaCreds(
            access_key_id=v["access_key_id"],
            secret_access_key=v["secret_access_key"],
            file_location=v["file_location"],
            bucket=v["bucket"],
            prefix=v["prefix"],
            raw=v,
        )

    def seed_recordings(self, tenant_id: str, count: int, **extra: Any) -> int:
        v = self.control(f"/_mock/tenants/{tenant_id}/recordings", {"count": count, **extra}, expect=201)
        return v["created"]

    def rule(self, token: str, name: str = "to SEA", after_days: int = 0, action: str = "copy_to_sea",
             **extra: Any) -> dict[str, Any]:
        body = {"name": name, "after_days": after_days, "action": action, **extra}
        r = self.post("/api/v2/storage/lifecycle-rules", token, json=body)
        assert r.status_code == 201, f"rule {body!r} -> {r.status_code}: {r.text}"
        return r.json()

    def advance(self, by: str | None = None, to: str | None = None) -> dict[str, Any]:
        body = {"by": by} if by is not None else {"to": to}
        return self.control("/_mock/clock/advance", body, expect=200)

    def now(self) -> str:
        r = self.get("/_mock/clock")
        assert r.status_code == 200, r.text
        return r.json()["now"]

    def files(self, token: str, tier: str | None = None, **params: Any) -> list[dict[str, Any]]:
        """Every page of `GET /api/v2/storage/files`."""
        out: list[dict[str, Any]] = []
        cursor = None
        q = dict(params)
        if tier is not None:
            q["tier"] = tier
        for _ in range(10_000):
            if cursor:
                q["cursor"] = cursor
            r = self.get("/api/v2/storage/files", token, params=q)
            assert r.status_code == 200, f"GET /api/v2/storage/files {q} -> {r.status_code}: {r.text}"
            v = r.json()
            out.extend(v["files"])
            cursor = v.get("next_cursor")
            if not cursor:
                return out
        raise AssertionError("files listing never ended")

    def events(self, **params: Any) -> list[dict[str, Any]]:
        r = self.get("/_mock/events", params={"limit": 100000, **params})
        assert r.status_code == 200, r.text
        return r.json()["events"]

    def tenants(self) -> list[dict[str, Any]]:
        r = self.get("/_mock/tenants")
        assert r.status_code == 200, r.text
        return r.json()["tenants"]

    # -- S3 clients -----------------------------------------------------------------------
    def s3_client(self, access_key_id: str, secret: str, **config: Any):
        """boto3 S3 client: path-style, us-east-1, SDK-default checksums, no retries (errors surface)."""
        cfg = Config(
            s3={"addressing_style": "path"},
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=10,
            read_timeout=60,
            **config,
        )
        session = boto3.session.Session(
            aws_access_key_id=access_key_id, aws_secret_access_key=secret, region_name=REGION
        )
        verify = str(self.ca_bundle) if self.ca_bundle is not None else None
        return session.client("s3", endpoint_url=self.s3, config=cfg, verify=verify)

    def sea_client(self, creds: SeaCreds, **config: Any):
        return self.s3_client(creds.access_key_id, creds.secret_access_key, **config)

    def aws(self, creds: SeaCreds | tuple[str, str], *args: str, cwd: Path | None = None,
            timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """Runs the AWS CLI from the venv against the S3 listener."""
        key, secret = (creds.access_key_id, creds.secret_access_key) if isinstance(creds, SeaCreds) else creds
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ACCESS_KEY_ID=key,
            AWS_SECRET_ACCESS_KEY=secret,
            AWS_DEFAULT_REGION=REGION,
            AWS_CONFIG_FILE="/nonexistent/mock-cxone-tests/aws-config",
            AWS_SHARED_CREDENTIALS_FILE="/nonexistent/mock-cxone-tests/aws-credentials",
            AWS_EC2_METADATA_DISABLED="true",
            AWS_PAGER="",
            AWS_MAX_ATTEMPTS="1",
            NO_PROXY=_no_proxy,
            no_proxy=_no_proxy,
        )
        for p in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
            env.pop(p, None)
        cmd = [str(VENV_BIN / "aws"), "--endpoint-url", self.s3]
        if self.ca_bundle is not None:
            cmd += ["--ca-bundle", str(self.ca_bundle)]
        cmd += list(args)
        return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)

    # -- scenarios ------------------------------------------------------------------------
    def sea_tenant(self, name: str, count: int = 6, **tenant_extra: Any) -> "SeaSetup":
        """A tenant with `count` recordings copied into SEA by the daily run at FIRST_RUN."""
        assert self.now() == T0, "sea_tenant expects a fresh mock at T0"
        t = self.tenant(name, **tenant_extra)
        token = self.token(t)
        creds = self.sea_credentials(token)
        assert self.seed_recordings(t.tenant_id, count) == count
        rule = self.rule(token)
        self.advance(to=FIRST_RUN)
        return SeaSetup(mock=self, tenant=t, creds=creds, rule=rule)


@dataclass
class SeaSetup:
    mock: Mock
    tenant: Tenant
    creds: SeaCreds
    rule: dict[str, Any]

    @property
    def token(self) -> str:
        """A fresh bearer token (tokens live an hour of mock time, and tests move the clock)."""
        return self.mock.token(self.tenant)


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


def _start(tmp_path_factory: pytest.TempPathFactory, name: str) -> MockProcess:
    base = tmp_path_factory.mktemp(name)
    return MockProcess(base / "data", base / "mock-cxone.log")


@pytest.fixture
def mock(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """A fresh server (own data dir, clock frozen at T0) for one test, stopped afterwards."""
    process = _start(tmp_path_factory, "mock")
    m = Mock(process)
    try:
        yield m
    finally:
        m.close()
        crashed = process.proc.poll()
        rc = process.stop()
        rep = getattr(request.node, "rep_call", None)
        if crashed is not None:
            pytest.fail(f"mock-cxone died during the test (exit {crashed}); stderr tail:\n{process.log_tail()}")
        if rep is not None and rep.failed:
            print(f"--- mock-cxone stderr tail (exit {rc}) ---\n{process.log_tail()}")


def self_signed_cert(dirpath: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1 (openssl CLI)."""
    cert, key = dirpath / "cert.pem", dirpath / "key.pem"
    cp = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-addext", "basicConstraints=critical,CA:FALSE"],
        capture_output=True, text=True,
    )
    if cp.returncode != 0:
        pytest.skip(f"openssl cannot make a test certificate: {cp.stderr.strip()}")
    return cert, key


@pytest.fixture
def mock_tls(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """A fresh server with TLS on both listeners (self-signed, URLs on `localhost`)."""
    import shutil

    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    base = tmp_path_factory.mktemp("mock-tls")
    cert, key = self_signed_cert(base)
    process = MockProcess(
        base / "data", base / "mock-cxone.log",
        extra_args=["--tls-cert", str(cert), "--tls-key", str(key), "--public-host", "localhost"],
        ca_bundle=cert,
    )
    m = Mock(process)
    try:
        yield m
    finally:
        m.close()
        crashed = process.proc.poll()
        process.stop()
        if crashed is not None:
            pytest.fail(f"mock-cxone died during the test (exit {crashed}); stderr tail:\n{process.log_tail()}")


# --------------------------------------------------------------------------------------------
# Assertion helpers
# --------------------------------------------------------------------------------------------


def s3_error_code(err: ClientError) -> str:
    """The S3 error code, or the HTTP status for bodiless (HEAD) errors."""
    return str(err.response.get("Error", {}).get("Code"))


def s3_status(err: ClientError) -> int:
    return int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def assert_api_error(r: requests.Response, status: int | tuple[int, ...], code: str | None = None) -> dict:
    """A REST error in the contract's shape: JSON `{"error":{"code","message","request_id"}}`."""
    expected = (status,) if isinstance(status, int) else status
    assert r.status_code in expected, f"expected {expected}, got {r.status_code}: {r.text[:500]}"
    ctype = r.headers.get("Content-Type", "")
    assert ctype.startswith("application/json"), f"error Content-Type {ctype!r}: {r.text[:500]}"
    body = r.json()
    err = body.get("error")
    assert isinstance(err, dict), f"no error object: {body}"
    for field in ("code", "message", "request_id"):
        assert isinstance(err.get(field), str) and err[field], f"error.{field} missing or empty: {body}"
    if code is not None:
        assert err["code"] == code, body
    return err


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def jwt_claims(jwt: str) -> dict[str, Any]:
    parts = jwt.split(".")
    assert len(parts) == 3, f"not a compact JWT: {jwt!r}"
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    return json.loads(base64.urlsafe_b64decode(payload))


def mp4_top_level_boxes(data: bytes) -> list[str]:
    """Top-level ISO BMFF box types; fails on a truncated or malformed box."""
    boxes, pos = [], 0
    while pos < len(data):
        assert pos + 8 <= len(data), f"truncated box header at {pos}"
        size = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8].decode("latin-1")
        header = 8
        if size == 1:
            assert pos + 16 <= len(data), "truncated largesize"
            size = int.from_bytes(data[pos + 8:pos + 16], "big")
            header = 16
        elif size == 0:
            size = len(data) - pos
        assert size >= header and pos + size <= len(data), f"bad box {kind!r} size {size} at {pos}"
        boxes.append(kind)
        pos += size
    return boxes


# --------------------------------------------------------------------------------------------
# One line per client (and per scenario) at the end of the run
# --------------------------------------------------------------------------------------------

#: Lines tests add with `summary_line` (e.g. one per scenario of the pipeline proof).
_SUMMARY_LINES: list[str] = []


def summary_line(text: str) -> None:
    """Adds a line to the end-of-run summary (printed even with `-q`)."""
    _SUMMARY_LINES.append(text)


def _client_of(report) -> str:
    """The client a test drives: its module's `CLIENT` (e.g. "polars"), else the module name."""
    module = report.nodeid.split("::", 1)[0].rsplit("/", 1)[-1].removesuffix(".py")
    return _CLIENT_BY_MODULE.get(module, module.removeprefix("test_"))


_CLIENT_BY_MODULE: dict[str, str] = {}


def pytest_collection_modifyitems(session, config, items):
    for item in items:
        client = getattr(item.module, "CLIENT", None)
        if client:
            _CLIENT_BY_MODULE[item.module.__name__.rsplit(".", 1)[-1]] = client


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    counts: dict[str, dict[str, int]] = {}
    for outcome in ("passed", "failed", "error", "skipped"):
        for rep in terminalreporter.stats.get(outcome, []):
            if getattr(rep, "when", "call") != "call" and outcome == "passed":
                continue
            c = counts.setdefault(_client_of(rep), {})
            c[outcome] = c.get(outcome, 0) + 1
    terminalreporter.section("clients")
    for client in sorted(counts):
        parts = ", ".join(f"{n} {o}" for o, n in counts[client].items())
        terminalreporter.write_line(f"client {client}: {parts}")
    if _SUMMARY_LINES:
        terminalreporter.section("scenarios")
        for line in _SUMMARY_LINES:
            terminalreporter.write_line(line)
