"""Security matrix (issue 7, part 3): every way in that must be refused is tried, one case each,
and refused — and a refused write or delete changes nothing (listings and sha256 compared before
and after). The end of the module prints `security matrix: N tried, N refused`.

S3 requests that boto3 would never send (tampered signatures, dot segments, NUL, a 5 GiB
Content-Length with no body) are signed here with a small SigV4 signer and sent over `http.client`,
which sends the path exactly as given (requests/urllib3 would normalise `..` away). Each signed
case has a positive control: the same signer, correctly used, is accepted.

Most cases share one server (module fixture `world`: two tenants, SEA files, data-lake buckets,
downloads with jobs) because a refused request changes nothing, which every case checks. Cases
that must move the clock, regenerate a key or listen beyond loopback start their own server.
"""

from __future__ import annotations

CLIENT = "security-matrix"

import datetime as dt
import hashlib
import hmac
import http.client
import json
import os
import socket
import subprocess
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest
import requests

from conftest import REGION, SEA_BUCKET, Mock, MockProcess, SeaCreds, Tenant, summary_line

#: Cases tried / refused over the whole module (each parametrized case adds one).
TALLY: dict[str, list[str]] = {"tried": [], "refused": [], "through": []}

# --------------------------------------------------------------------------------------------
# A minimal SigV4 signer (header and presigned-query forms), to hand-craft what SDKs never send
# --------------------------------------------------------------------------------------------

EMPTY_SHA = hashlib.sha256(b"").hexdigest()


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def _signing_key(secret: str, date: str) -> bytes:
    k = _hmac(("AWS4" + secret).encode(), date)
    for part in (REGION, "s3", "aws4_request"):
        k = _hmac(k, part)
    return k


def _canonical_query(query: list[tuple[str, str]]) -> str:
    enc = lambda s: urllib.parse.quote(s, safe="-_.~")  # noqa: E731
    return "&".join(f"{enc(k)}={enc(v)}" for k, v in sorted(query))


def signed_headers(method: str, host: str, path: str, key: str, secret: str, *,
                   query: list[tuple[str, str]] | None = None, headers: dict[str, str] | None = None,
                   payload_sha: str = EMPTY_SHA, when: dt.datetime | None = None) -> dict[str, str]:
    """Headers (with Authorization) for `method path?query`; `path` is sent and signed as is."""
    now = when or dt.datetime.now(dt.timezone.utc)
    amz_date, date = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    h = {k.lower(): v for k, v in (headers or {}).items()}
    h.update({"host": host, "x-amz-date": amz_date, "x-amz-content-sha256": payload_sha})
    names = sorted(h)
    canonical = "\n".join([
        method, path, _canonical_query(query or []),
        "".join(f"{n}:{str(h[n]).strip()}\n" for n in names), ";".join(names), payload_sha,
    ])
    scope = f"{date}/{REGION}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    sig = hmac.new(_signing_key(secret, date), to_sign.encode(), hashlib.sha256).hexdigest()
    h["authorization"] = (f"AWS4-HMAC-SHA256 Credential={key}/{scope}, SignedHeaders={';'.join(names)}, "
                          f"Signature={sig}")
    return h


def presign(method: str, host: str, path: str, key: str, secret: str, expires: int = 300,
            when: dt.datetime | None = None) -> str:
    """A presigned URL's path and query (`X-Amz-*`), signed over `host` only, unsigned payload."""
    now = when or dt.datetime.now(dt.timezone.utc)
    amz_date, date = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    scope = f"{date}/{REGION}/s3/aws4_request"
    query = [("X-Amz-Algorithm", "AWS4-HMAC-SHA256"), ("X-Amz-Credential", f"{key}/{scope}"),
             ("X-Amz-Date", amz_date), ("X-Amz-Expires", str(expires)), ("X-Amz-SignedHeaders", "host")]
    canonical = "\n".join([method, path, _canonical_query(query), f"host:{host}\n", "host", "UNSIGNED-PAYLOAD"])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    sig = hmac.new(_signing_key(secret, date), to_sign.encode(), hashlib.sha256).hexdigest()
    return f"{path}?{_canonical_query(query)}&X-Amz-Signature={sig}"


@dataclass
class Answer:
    status: int
    body: bytes

    @property
    def code(self) -> str:
        """The S3 error code of an XML error body ("" when none)."""
        text = self.body.decode("utf-8", "replace")
        start = text.find("<Code>")
        return text[start + 6:text.find("</Code>")] if start >= 0 else ""


def raw(url: str, method: str, target: str, headers: dict[str, str] | None = None,
        body: bytes | None = None, timeout: float = 30) -> Answer:
    """One request over http.client: `target` (path + query) goes on the wire byte for byte."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        hs = dict(headers or {})
        hs.setdefault("host", u.netloc)
        if body is not None:
            hs.setdefault("content-length", str(len(body)))
        for k, v in hs.items():
            conn.putheader(k, v)
        conn.endheaders(body)
        r = conn.getresponse()
        return Answer(r.status, r.read())
    finally:
        conn.close()


def s3_signed(m: Mock, creds: tuple[str, str], method: str, path: str, body: bytes | None = None,
              query: list[tuple[str, str]] | None = None, headers: dict[str, str] | None = None,
              payload_sha: str | None = None) -> Answer:
    host = urllib.parse.urlsplit(m.s3).netloc
    sha = payload_sha or hashlib.sha256(body or b"").hexdigest()
    # S3's canonical URI is the decoded path encoded again (so `%2e` signs as `.`); the path on the
    # wire stays as given.
    canonical = urllib.parse.quote(urllib.parse.unquote(path), safe="/-_.~")
    h = signed_headers(method, host, canonical, *creds, query=query, headers=headers, payload_sha=sha)
    target = path + (f"?{_canonical_query(query)}" if query else "")
    return raw(m.s3, method, target, h, body)


# --------------------------------------------------------------------------------------------
# The shared world: two tenants with SEA files, data-lake buckets and downloads
# --------------------------------------------------------------------------------------------


@dataclass
class Side:
    tenant: Tenant
    token: str
    sea: SeaCreds
    lake: tuple[str, str]
    bucket: str
    download_id: str
    job_id: str
    extraction_id: str

    @property
    def sea_pair(self) -> tuple[str, str]:
        return (self.sea.access_key_id, self.sea.secret_access_key)


@dataclass
class World:
    m: Mock
    base: Path
    a: Side
    b: Side
    reader: Tenant  # a tenant with `data-download:read` only
    reader_token: str
    org_token: str  # a tenant with `organization:read` only

    def lake_client(self, side: Side):
        return self._client(side.lake)

    def sea_client(self, side: Side):
        return self._client(side.sea_pair)

    def _client(self, pair: tuple[str, str]):
        """boto3 clients are slow to make: one per credential for the module."""
        cache = self.__dict__.setdefault("_clients", {})
        if pair not in cache:
            cache[pair] = self.m.s3_client(*pair)
        return cache[pair]

    def snapshot(self) -> dict[str, Any]:
        """What a refused write or delete must leave as it was: both lake buckets (keys, sizes,
        sha256 of every body) and both SEA folders (as S3 lists them)."""
        out: dict[str, Any] = {}
        for side in (self.a, self.b):
            s3 = self.lake_client(side)
            objs = {}
            for o in s3.list_objects_v2(Bucket=side.bucket).get("Contents", []):
                body = s3.get_object(Bucket=side.bucket, Key=o["Key"])["Body"].read()
                objs[o["Key"]] = (o["Size"], hashlib.sha256(body).hexdigest())
            out[side.bucket] = objs
            sea = self.sea_client(side)
            out[side.sea.prefix] = sorted(
                (o["Key"], o["ETag"]) for o in sea.list_objects_v2(Bucket=SEA_BUCKET, Prefix=side.sea.prefix)["Contents"])
        return out

    def files_outside(self, allowed: Callable[[Path], bool]) -> set[str]:
        """Every file under the server's temp base (data dir and its parent) that `allowed` refuses."""
        out = set()
        for p in self.base.rglob("*"):
            if p.is_file() and not allowed(p):
                out.add(str(p.relative_to(self.base)))
        return out


def _side(m: Mock, name: str) -> Side:
    t = m.tenant(name)
    tok = m.token(t)
    sea = m.sea_credentials(tok)
    assert m.seed_recordings(t.tenant_id, 3) == 3
    m.rule(tok)
    r = m.post("/api/v2/data-lake/credentials", tok)
    assert r.status_code == 201, r.text
    lake = (r.json()["access_key_id"], r.json()["secret_access_key"])
    bucket = f"lake-{name}"
    s3 = m.s3_client(*lake)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="private/data.csv", Body=f"{name} secret\n".encode())
    r = m.post("/api/v2/data-downloads", tok, json={
        "category": "ivr", "destination": {"type": "aws_s3", "bucket": f"exports-{name}", "prefix": ""}})
    assert r.status_code == 201, r.text
    dl = r.json()["id"]
    r = m.post("/data-extraction/v1/jobs", tok, json={
        "entityName": "recording-interaction-metadata", "version": "7", "startDate": "2025-12-20",
        "endDate": "2025-12-21"})
    assert r.status_code == 202, r.text
    return Side(t, tok, sea, lake, bucket, dl, "", r.json())


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    base = tmp_path_factory.mktemp("security")
    proc = MockProcess(base / "data", base / "mock-cxone.log")
    m = Mock(proc)
    try:
        a, b = _side(m, "acme"), _side(m, "globex")
        m.advance(by="1d")  # SEA placement at the first midnight; ivr jobs for the first day
        for side in (a, b):
            side.token = m.token(side.tenant)
            r = m.get(f"/api/v2/data-downloads/{side.download_id}/jobs", side.token)
            assert r.status_code == 200 and r.json()["jobs"], r.text
            side.job_id = r.json()["jobs"][0]["id"]
        reader = m.tenant("reader", scopes=["data-download:read"])
        org = m.tenant("org-only", scopes=["organization:read"])
        yield World(m, base, a, b, reader, m.token(reader), m.token(org))
        assert proc.proc.poll() is None, f"mock-cxone died: {proc.log_tail()}"
    finally:
        m.close()
        proc.stop()


def _record(case: str, ok: bool) -> None:
    TALLY["tried"].append(case)
    (TALLY["refused"] if ok else TALLY["through"]).append(case)


def _refused(case: str, answer: Answer | requests.Response, status: int | tuple[int, ...],
             code: str | tuple[str, ...] | None = None) -> None:
    statuses = (status,) if isinstance(status, int) else status
    codes = (code,) if isinstance(code, str) else code
    got_status = answer.status if isinstance(answer, Answer) else answer.status_code
    if isinstance(answer, Answer):
        got_code = answer.code
    else:
        try:
            got_code = answer.json()["error"]["code"]
        except (ValueError, KeyError, TypeError):
            got_code = ""
    ok = got_status in statuses and (codes is None or got_code in codes)
    _record(case, ok)
    body = answer.body[:300] if isinstance(answer, Answer) else answer.text[:300]
    assert ok, f"{case}: expected {statuses} {codes}, got {got_status} {got_code!r}: {body!r}"


def _boto_refused(case: str, call: Callable[[], Any], status: int | tuple[int, ...], code: str | tuple[str, ...]) -> None:
    from botocore.exceptions import ClientError
    try:
        out = call()
    except ClientError as e:
        got = (e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"])
    else:
        _record(case, False)
        pytest.fail(f"{case}: got through: {str(out)[:300]}")
    statuses = (status,) if isinstance(status, int) else status
    codes = (code,) if isinstance(code, str) else code
    ok = got[0] in statuses and got[1] in codes
    _record(case, ok)
    assert ok, f"{case}: expected {statuses} {codes}, got {got}"


# --------------------------------------------------------------------------------------------
# S3: signatures, keys and presigned URLs
# --------------------------------------------------------------------------------------------


def test_positive_controls(world):
    """The hand-made signer is right: correctly signed requests (header and presigned) pass, so the
    refusals below are about what each case changes, not about the signer."""
    m, a = world.m, world.a
    assert s3_signed(m, a.lake, "GET", f"/{a.bucket}/private/data.csv").status == 200
    body = b"control"
    r = s3_signed(m, a.lake, "PUT", f"/{a.bucket}/control.txt", body)
    assert r.status == 200, r.body
    assert s3_signed(m, a.lake, "DELETE", f"/{a.bucket}/control.txt").status == 204
    host = urllib.parse.urlsplit(m.s3).netloc
    assert raw(m.s3, "GET", presign("GET", host, f"/{a.bucket}/private/data.csv", *a.lake)).status == 200
    key = world.m.sea_client(a.sea).list_objects_v2(Bucket=SEA_BUCKET, Prefix=a.sea.prefix)["Contents"][0]["Key"]
    assert s3_signed(m, a.sea_pair, "GET", f"/{SEA_BUCKET}/{urllib.parse.quote(key)}").status == 200


SIG_CASES = ["bad-signature", "wrong-secret", "unknown-access-key", "tampered-body",
             "content-sha256-mismatch", "tampered-signed-header", "unsigned-header-swap-date"]


@pytest.mark.parametrize("case", SIG_CASES)
def test_sigv4_refused(world, case):
    m, a = world.m, world.a
    before = world.snapshot()
    host = urllib.parse.urlsplit(m.s3).netloc
    path = f"/{a.bucket}/private/data.csv"
    body = b"overwritten!\n"
    sha = hashlib.sha256(body).hexdigest()
    if case == "bad-signature":
        h = signed_headers("PUT", host, path, *a.lake, payload_sha=sha)
        h["authorization"] = h["authorization"][:-8] + "00000000"
        _refused(case, raw(m.s3, "PUT", path, h, body), 403, "SignatureDoesNotMatch")
    elif case == "wrong-secret":
        _refused(case, s3_signed(m, (a.lake[0], "x" * 40), "PUT", path, body), 403, "SignatureDoesNotMatch")
    elif case == "unknown-access-key":
        _refused(case, s3_signed(m, ("AKIANOSUCHKEY0000000", "x" * 40), "PUT", path, body), 403, "InvalidAccessKeyId")
    elif case == "tampered-body":
        # Signed over one body (its sha256 in the header), another body sent.
        h = signed_headers("PUT", host, path, *a.lake, payload_sha=hashlib.sha256(b"signed body").hexdigest())
        _refused(case, raw(m.s3, "PUT", path, h, body), 400, ("XAmzContentSHA256Mismatch", "BadDigest"))
    elif case == "content-sha256-mismatch":
        # The signature covers the header, the header is swapped afterwards.
        h = signed_headers("PUT", host, path, *a.lake, payload_sha=sha)
        h["x-amz-content-sha256"] = EMPTY_SHA
        _refused(case, raw(m.s3, "PUT", path, h, body), (400, 403), ("SignatureDoesNotMatch", "XAmzContentSHA256Mismatch"))
    elif case == "tampered-signed-header":
        h = signed_headers("PUT", host, path, *a.lake, payload_sha=sha, headers={"x-amz-meta-owner": "acme"})
        h["x-amz-meta-owner"] = "mallory"
        _refused(case, raw(m.s3, "PUT", path, h, body), 403, "SignatureDoesNotMatch")
    elif case == "unsigned-header-swap-date":
        h = signed_headers("PUT", host, path, *a.lake, payload_sha=sha)
        h["x-amz-date"] = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=5)).strftime("%Y%m%dT%H%M%SZ")
        _refused(case, raw(m.s3, "PUT", path, h, body), 403, "SignatureDoesNotMatch")
    assert world.snapshot() == before, f"{case} changed state"


PRESIGN_CASES = ["expired", "future-dated-too-far", "changed-key", "changed-method-put", "changed-method-delete",
                 "changed-expires"]


@pytest.mark.parametrize("case", PRESIGN_CASES)
def test_presigned_refused(world, case):
    """Presigned URLs are checked against the wall clock (CONTRACT: clients sign with it), so an
    expired one is signed with an X-Amz-Date in the past rather than waited for."""
    m, a = world.m, world.a
    before = world.snapshot()
    host = urllib.parse.urlsplit(m.s3).netloc
    path = f"/{a.bucket}/private/data.csv"
    now = dt.datetime.now(dt.timezone.utc)
    if case == "expired":
        url = presign("GET", host, path, *a.lake, expires=60, when=now - dt.timedelta(minutes=10))
        _refused(case, raw(m.s3, "GET", url), 403, "AccessDenied")
    elif case == "future-dated-too-far":
        url = presign("GET", host, path, *a.lake, expires=60, when=now + dt.timedelta(hours=2))
        _refused(case, raw(m.s3, "GET", url), 403, ("AccessDenied", "RequestTimeTooSkewed", "SignatureDoesNotMatch"))
    elif case == "changed-key":
        url = presign("GET", host, path, *a.lake)
        _refused(case, raw(m.s3, "GET", url.replace("data.csv", "other.csv")), 403, "SignatureDoesNotMatch")
    elif case == "changed-method-put":
        url = presign("GET", host, path, *a.lake)
        _refused(case, raw(m.s3, "PUT", url, body=b"replaced"), 403, "SignatureDoesNotMatch")
    elif case == "changed-method-delete":
        url = presign("GET", host, path, *a.lake)
        _refused(case, raw(m.s3, "DELETE", url), 403, "SignatureDoesNotMatch")
    elif case == "changed-expires":
        url = presign("GET", host, path, *a.lake, expires=60, when=now - dt.timedelta(minutes=10))
        _refused(case, raw(m.s3, "GET", url.replace("X-Amz-Expires=60", "X-Amz-Expires=604800")), 403,
                 "SignatureDoesNotMatch")
    assert world.snapshot() == before, f"{case} changed state"


# Another tenant's data-lake bucket and SEA folder (D8, S2), and writes into SEA.
CROSS_CASES = [
    "lake-get-other", "lake-head-other", "lake-list-other", "lake-put-other", "lake-delete-other",
    "lake-batch-delete-other", "lake-copy-from-other", "lake-copy-into-other", "lake-multipart-into-other",
    "lake-list-uploads-other",
    "lake-delete-bucket-other", "lake-acl-other", "lake-creds-on-sea-bucket",
    "sea-list-other-folder", "sea-list-whole-bucket", "sea-get-other", "sea-head-other", "sea-delete-other",
    "sea-put-own-folder", "sea-multipart-own-folder", "sea-copy-into-own-folder", "sea-put-other-folder",
    "sea-on-lake-bucket", "sea-list-buckets", "sea-create-bucket",
]


@pytest.mark.parametrize("case", CROSS_CASES)
def test_other_tenant_and_sea_writes_refused(world, case):
    a, b = world.a, world.b
    before = world.snapshot()
    lake = world.lake_client(a)
    sea = world.sea_client(a)
    b_sea_key = world.sea_client(b).list_objects_v2(Bucket=SEA_BUCKET, Prefix=b.sea.prefix)["Contents"][0]["Key"]
    a_sea_key = sea.list_objects_v2(Bucket=SEA_BUCKET, Prefix=a.sea.prefix)["Contents"][0]["Key"]
    denied = "AccessDenied"
    calls: dict[str, tuple[Callable[[], Any], Any, Any]] = {
        "lake-get-other": (lambda: lake.get_object(Bucket=b.bucket, Key="private/data.csv"), 403, denied),
        "lake-head-other": (lambda: lake.head_object(Bucket=b.bucket, Key="private/data.csv"), 403, "403"),
        "lake-list-other": (lambda: lake.list_objects_v2(Bucket=b.bucket), 403, denied),
        "lake-put-other": (lambda: lake.put_object(Bucket=b.bucket, Key="private/data.csv", Body=b"x"), 403, denied),
        "lake-delete-other": (lambda: lake.delete_object(Bucket=b.bucket, Key="private/data.csv"), 403, denied),
        "lake-batch-delete-other": (lambda: _batch_delete(lake, b.bucket, "private/data.csv"), 403, denied),
        "lake-copy-from-other": (lambda: lake.copy_object(Bucket=a.bucket, Key="stolen.csv",
                                                          CopySource={"Bucket": b.bucket, "Key": "private/data.csv"}),
                                 403, denied),
        "lake-copy-into-other": (lambda: lake.copy_object(Bucket=b.bucket, Key="planted.csv",
                                                          CopySource={"Bucket": a.bucket, "Key": "private/data.csv"}),
                                 403, denied),
        "lake-multipart-into-other": (lambda: lake.create_multipart_upload(Bucket=b.bucket, Key="mp.bin"), 403, denied),
        "lake-list-uploads-other": (lambda: lake.list_multipart_uploads(Bucket=b.bucket), 403, denied),
        "lake-delete-bucket-other": (lambda: lake.delete_bucket(Bucket=b.bucket), 403, denied),
        "lake-acl-other": (lambda: lake.get_bucket_acl(Bucket=b.bucket), (403, 501), (denied, "NotImplemented")),
        "lake-creds-on-sea-bucket": (lambda: lake.list_objects_v2(Bucket=SEA_BUCKET, Prefix=a.sea.prefix), 403, denied),
        "sea-list-other-folder": (lambda: sea.list_objects_v2(Bucket=SEA_BUCKET, Prefix=b.sea.prefix), 403, denied),
        "sea-list-whole-bucket": (lambda: sea.list_objects_v2(Bucket=SEA_BUCKET), 403, denied),
        "sea-get-other": (lambda: sea.get_object(Bucket=SEA_BUCKET, Key=b_sea_key), 403, denied),
        "sea-head-other": (lambda: sea.head_object(Bucket=SEA_BUCKET, Key=b_sea_key), 403, "403"),
        "sea-delete-other": (lambda: sea.delete_object(Bucket=SEA_BUCKET, Key=b_sea_key), 403, denied),
        "sea-put-own-folder": (lambda: sea.put_object(Bucket=SEA_BUCKET, Key=a.sea.prefix + "x.mp4", Body=b"x"),
                               403, denied),
        "sea-multipart-own-folder": (lambda: sea.create_multipart_upload(Bucket=SEA_BUCKET, Key=a.sea.prefix + "m.mp4"),
                                     403, denied),
        "sea-copy-into-own-folder": (lambda: sea.copy_object(Bucket=SEA_BUCKET, Key=a.sea.prefix + "copy.mp4",
                                                             CopySource={"Bucket": SEA_BUCKET, "Key": a_sea_key}),
                                     403, denied),
        "sea-put-other-folder": (lambda: sea.put_object(Bucket=SEA_BUCKET, Key=b.sea.prefix + "x.mp4", Body=b"x"),
                                 403, denied),
        "sea-on-lake-bucket": (lambda: sea.list_objects_v2(Bucket=a.bucket), 403, denied),
        "sea-list-buckets": (lambda: sea.list_buckets(), 403, denied),
        "sea-create-bucket": (lambda: sea.create_bucket(Bucket="sea-made-bucket"), 403, denied),
    }
    call, status, code = calls[case]
    _boto_refused(case, call, status, code)
    assert world.snapshot() == before, f"{case} changed state"


def _batch_delete(s3, bucket: str, key: str) -> Any:
    """DeleteObjects answers 200 with per-key errors; a refused key must come back as an error."""
    from botocore.exceptions import ClientError
    out = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key}]})
    errors = out.get("Errors", [])
    if errors and not out.get("Deleted"):
        raise ClientError({"Error": {"Code": errors[0]["Code"], "Message": errors[0].get("Message", "")},
                           "ResponseMetadata": {"HTTPStatusCode": 403}}, "DeleteObjects")
    return out


# --------------------------------------------------------------------------------------------
# Keys that try to leave the bucket
# --------------------------------------------------------------------------------------------

TRAVERSAL = {
    "dotdot": "/{b}/../escape-dotdot",
    "dotdot-only": "/{b}/..",
    "pct-2e2e": "/{b}/%2e%2e/escape-pct",
    "pct-2E2E-slash": "/{b}/%2E%2E/%2E%2E/escape-pct-upper",
    "nested-dotdot": "/{b}/a/../../escape-nested",
    "deep-dotdot": "/{b}/a/b/../../../../escape-deep",
    "absolute": "/{b}/{abs}",
    "backslash": "/{b}/..%5C..%5Cescape-backslash",
    "nul": "/{b}/nul%00escape",
    "overlong": "/{b}/" + "k" * 1100,
}


@pytest.mark.parametrize("case", sorted(TRAVERSAL))
def test_key_traversal_refused_or_contained(world, case):
    """Each key is either refused (4xx) or stored as a plain key of the bucket: listed under it,
    readable back, and nothing lands on disk outside the bucket's own files."""
    m, a = world.m, world.a
    data = world.base / "data"
    escape_target = world.base / "escape-abs"
    path = TRAVERSAL[case].format(b=a.bucket, abs=str(escape_target).lstrip("/"))
    if case == "absolute":
        path = f"/{a.bucket}/" + str(escape_target)  # a key starting with '/': /bucket//tmp/.../escape-abs
    s3_root = data / "s3"

    def allowed(p: Path) -> bool:
        if p.name.startswith("mock-cxone") and p.parent in (world.base, data):
            return True  # the log, the SQLite database and its WAL
        if p.parent == s3_root and (p.name.startswith(".bucket-") or p.name.startswith(".tmp")):
            return True  # sidecars of objects (any bucket: they are named by base64 of bucket/key)
        try:
            rel = p.relative_to(s3_root)
        except ValueError:
            return False
        return rel.parts[0] in {a.bucket, b.bucket, f"exports-{a.tenant.name}", f"exports-{b.tenant.name}"} \
            if (b := world.b) else False

    outside_before = world.files_outside(allowed)
    snap_b = world.snapshot()[world.b.bucket]
    body = f"traversal {case}".encode()
    r = s3_signed(m, a.lake, "PUT", path, body)
    new_outside = world.files_outside(allowed) - outside_before
    assert not new_outside, f"{case}: a write escaped the bucket: {new_outside}"
    assert not escape_target.exists(), f"{case}: wrote {escape_target}"
    assert world.snapshot()[world.b.bucket] == snap_b, f"{case}: touched the other tenant's bucket"
    if r.status == 200:
        # Stored: it must be a plain key of this bucket, listed and read back whole.
        lake = world.lake_client(a)
        keys = [o["Key"] for o in lake.list_objects_v2(Bucket=a.bucket).get("Contents", [])]
        stored = [k for k in keys if k not in ("private/data.csv",) and lake.get_object(Bucket=a.bucket, Key=k)["Body"].read() == body]
        ok = len(stored) == 1
        _record(f"traversal-{case} (stored as plain key {stored!r})", ok)
        assert ok, f"{case}: 200 but the object is not a plain key of the bucket: {keys}"
        lake.delete_object(Bucket=a.bucket, Key=stored[0])
    else:
        ok = 400 <= r.status < 500
        _record(f"traversal-{case} ({r.status} {r.code})", ok)
        assert ok, f"{case}: {r.status} {r.code} {r.body[:300]!r}"
    assert m.get("/_mock/health").status_code == 200


# --------------------------------------------------------------------------------------------
# Oversized headers and bodies: an error, and the server stays up
# --------------------------------------------------------------------------------------------


def _raw_status(url: str, request: bytes, timeout: float = 10) -> int:
    """Sends raw bytes; the HTTP status answered, or 0 if the server closed without one."""
    u = urllib.parse.urlsplit(url)
    with socket.create_connection((u.hostname, u.port), timeout=timeout) as s:
        s.sendall(request)
        data = b""
        try:
            while b"\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except (ConnectionResetError, socket.timeout):
            pass
    line = data.split(b"\r\n", 1)[0].split()
    return int(line[1]) if len(line) >= 2 and line[1].isdigit() else 0


OVERSIZE_CASES = ["s3-64k-header", "rest-64k-header", "s3-put-over-5gib", "rest-json-over-limit",
                  "rest-json-over-limit-declared", "s3-many-headers"]


@pytest.mark.parametrize("case", OVERSIZE_CASES)
def test_oversized_refused_and_server_stays_up(world, case):
    m, a = world.m, world.a
    before = world.snapshot()
    s3_host = urllib.parse.urlsplit(m.s3).netloc
    api_host = urllib.parse.urlsplit(m.api).netloc
    big = "v" * (64 * 1024)
    if case == "s3-64k-header":
        h = signed_headers("GET", s3_host, f"/{a.bucket}/private/data.csv", *a.lake)
        h["x-amz-meta-big"] = big
        status = _raw_status(m.s3, (f"GET /{a.bucket}/private/data.csv HTTP/1.1\r\n"
                                    + "".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n").encode())
        ok = status in (0, 400, 431)
    elif case == "s3-many-headers":
        h = signed_headers("GET", s3_host, f"/{a.bucket}/private/data.csv", *a.lake)
        extra = "".join(f"x-junk-{i}: {i}\r\n" for i in range(2000))
        status = _raw_status(m.s3, (f"GET /{a.bucket}/private/data.csv HTTP/1.1\r\n"
                                    + "".join(f"{k}: {v}\r\n" for k, v in h.items()) + extra + "\r\n").encode())
        ok = status in (0, 400, 431)
    elif case == "rest-64k-header":
        status = _raw_status(m.api, (f"GET /api/v2/data-downloads HTTP/1.1\r\nhost: {api_host}\r\n"
                                     f"authorization: Bearer {a.token}\r\nx-big: {big}\r\n\r\n").encode())
        ok = status in (0, 400, 431)
    elif case == "s3-put-over-5gib":
        # Declared, never sent: the answer must come before the body (S3: EntityTooLarge).
        size = 5 * 1024**3 + 1
        path = f"/{a.bucket}/huge.bin"
        h = signed_headers("PUT", s3_host, path, *a.lake, payload_sha="UNSIGNED-PAYLOAD",
                           headers={"content-length": str(size)})
        status = _raw_status(m.s3, (f"PUT {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items())
                                    + "\r\n").encode() + b"x" * 1024)
        ok = status in (400, 413)
    elif case == "rest-json-over-limit":
        body = json.dumps({"name": "x" * (2 * 1024 * 1024), "after_days": 0, "action": "keep"})
        r = m.post("/api/v2/storage/lifecycle-rules", a.token, data=body, headers={"Content-Type": "application/json"})
        status, ok = r.status_code, r.status_code == 413
    elif case == "rest-json-over-limit-declared":
        status = _raw_status(m.api, (f"POST /api/v2/data-downloads HTTP/1.1\r\nhost: {api_host}\r\n"
                                     f"authorization: Bearer {a.token}\r\ncontent-type: application/json\r\n"
                                     f"content-length: {10 * 1024**3}\r\n\r\n{{").encode())
        ok = status == 413
    _record(f"{case} ({status})", ok)
    assert ok, f"{case}: answered {status}"
    assert m.get("/_mock/health").status_code == 200, "the server did not stay up"
    assert m.get("/api/v2/data-downloads", a.token).status_code == 200
    assert world.snapshot() == before, f"{case} changed state"


# --------------------------------------------------------------------------------------------
# REST: bearer tokens, tenants and scopes
# --------------------------------------------------------------------------------------------

REST_CASES = [
    "missing-bearer", "malformed-bearer", "basic-instead-of-bearer", "tampered-bearer", "id-token-as-bearer",
    "foreign-download", "foreign-jobs", "foreign-job", "foreign-manual-export", "foreign-download-delete",
    "foreign-extraction-job", "scope-write-download", "scope-sea-credentials", "scope-lake-credentials",
    "scope-rules", "scope-read-downloads", "scope-storage-files", "token-wrong-client-secret", "token-wrong-user-password", "token-unknown-client",
    "token-other-tenants-user",
]


@pytest.mark.parametrize("case", REST_CASES)
def test_rest_refused(world, case):
    m, a, b = world.m, world.a, world.b
    dl_b = f"/api/v2/data-downloads/{b.download_id}"
    cases: dict[str, Callable[[], tuple[requests.Response, Any, Any]]] = {
        "missing-bearer": lambda: (m.get("/api/v2/data-downloads"), 401, None),
        "malformed-bearer": lambda: (m.get("/api/v2/data-downloads", "not-a-jwt"), 401, None),
        "basic-instead-of-bearer": lambda: (m.get("/api/v2/data-downloads", auth=(a.tenant.client_id,
                                                                                  a.tenant.client_secret)), 401, None),
        "tampered-bearer": lambda: (m.get("/api/v2/data-downloads", _tamper(a.token)), 401, None),
        "id-token-as-bearer": lambda: (m.get("/api/v2/data-downloads", m.token_body(a.tenant)["id_token"]), 401, None),
        "foreign-download": lambda: (m.get(dl_b, a.token), 404, None),
        "foreign-jobs": lambda: (m.get(f"{dl_b}/jobs", a.token), 404, None),
        "foreign-job": lambda: (m.get(f"/api/v2/data-downloads/{a.download_id}/jobs/{b.job_id}", a.token), 404, None),
        "foreign-manual-export": lambda: (m.post(f"{dl_b}/manual-export", a.token, json={
            "category": "ivr", "start_time": "2026-01-01T00:00:00Z", "end_time": "2026-01-01T01:00:00Z"}), 404, None),
        "foreign-download-delete": lambda: (m.request("DELETE", dl_b, a.token), 404, None),
        "foreign-extraction-job": lambda: (m.get(f"/data-extraction/v1/jobs/{b.extraction_id}", a.token), 404, None),
        "scope-write-download": lambda: (m.post("/api/v2/data-downloads", world.reader_token, json={
            "category": "ivr", "destination": {"type": "aws_s3", "bucket": "reader-b", "prefix": ""}}), 403, None),
        "scope-sea-credentials": lambda: (m.post("/api/v2/sea/credentials", world.reader_token), 403, None),
        "scope-lake-credentials": lambda: (m.post("/api/v2/data-lake/credentials", world.org_token), 403, None),
        "scope-read-downloads": lambda: (m.get("/api/v2/data-downloads", world.org_token), 403, None),
        "scope-storage-files": lambda: (m.get("/api/v2/storage/files", world.reader_token), 403, None),
        "scope-rules": lambda: (m.post("/api/v2/storage/lifecycle-rules", world.reader_token, json={
            "name": "r", "after_days": 0, "action": "delete"}), 403, None),
        "token-wrong-client-secret": lambda: (m.token_response(a.tenant, client_secret="wrong"), 401, None),
        "token-wrong-user-password": lambda: (m.token_response(a.tenant, password="wrong"), (400, 401), None),
        "token-unknown-client": lambda: (m.post("/auth/token", auth=("no-such-client", "x"), data={
            "grant_type": "client_credentials"}), 401, None),
        "token-other-tenants-user": lambda: (m.token_response(a.tenant, username=b.tenant.access_key_id,
                                                              password=b.tenant.access_key_secret), (400, 401), None),
    }
    before = _rest_state(world)
    r, status, code = cases[case]()
    _refused(case, r, status, code)
    if status in (401,) and case.startswith(("missing", "malformed", "tampered", "id-token", "basic")):
        assert "Bearer" in r.headers.get("WWW-Authenticate", ""), r.headers
    assert _rest_state(world) == before, f"{case} changed state"


def _tamper(token: str) -> str:
    """The same bearer token with one character changed (the mock's tokens are opaque)."""
    i = len(token) // 2
    return token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]


def _rest_state(world: World) -> Any:
    m = world.m
    out = []
    for side in (world.a, world.b):
        tok = side.token
        out.append(m.get("/api/v2/data-downloads", tok).json())
        out.append(m.get(f"/api/v2/data-downloads/{side.download_id}/jobs", tok).json())
        out.append(m.get("/api/v2/storage/lifecycle-rules", tok).json())
        out.append({k: v for k, v in m.get("/api/v2/sea/credentials", tok).json().items()})
    return out


# --------------------------------------------------------------------------------------------
# Cases with a server of their own: clock, regenerated keys, a non-loopback listener
# --------------------------------------------------------------------------------------------


def test_expired_token_refused(mock):
    """A token dies `expires_in` seconds of mock time after it was issued (D1)."""
    t = mock.tenant("acme")
    body = mock.token_body(t)
    assert mock.get("/api/v2/data-downloads", body["access_token"]).status_code == 200
    mock.advance(by=f"{body['expires_in'] + 1}s")
    r = mock.get("/api/v2/data-downloads", body["access_token"])
    _refused("expired-bearer", r, 401)
    assert "Bearer" in r.headers.get("WWW-Authenticate", "")
    # A refresh token outlives the access token; the expired access token is no refresh token.
    r = mock.post("/auth/token", auth=(t.client_id, t.client_secret),
                  data={"grant_type": "refresh_token", "refresh_token": body["access_token"]})
    _refused("access-token-as-refresh-token", r, (400, 401))


def test_regenerated_sea_key_refused(mock):
    """CONTRACT §3: generating SEA credentials again stops the previous pair at once."""
    s = mock.sea_tenant("acme", count=2)
    old = s.creds
    old_client = mock.sea_client(old)
    keys = [o["Key"] for o in old_client.list_objects_v2(Bucket=SEA_BUCKET, Prefix=old.prefix)["Contents"]]
    new = mock.sea_credentials(s.token)
    assert new.access_key_id != old.access_key_id
    _boto_refused("regenerated-sea-key-list", lambda: old_client.list_objects_v2(Bucket=SEA_BUCKET, Prefix=old.prefix),
                  403, "InvalidAccessKeyId")
    _boto_refused("regenerated-sea-key-get", lambda: old_client.get_object(Bucket=SEA_BUCKET, Key=keys[0]),
                  403, "InvalidAccessKeyId")
    _boto_refused("regenerated-sea-key-delete", lambda: old_client.delete_object(Bucket=SEA_BUCKET, Key=keys[0]),
                  403, "InvalidAccessKeyId")
    host = urllib.parse.urlsplit(mock.s3).netloc
    url = presign("GET", host, f"/{SEA_BUCKET}/{keys[0]}", old.access_key_id, old.secret_access_key)
    _refused("regenerated-sea-key-presigned", raw(mock.s3, "GET", url), 403, "InvalidAccessKeyId")
    # Nothing was deleted, and the new pair works.
    listed = mock.sea_client(new).list_objects_v2(Bucket=SEA_BUCKET, Prefix=new.prefix)["Contents"]
    assert sorted(o["Key"] for o in listed) == sorted(keys)


def _own_ip() -> str | None:
    """A non-loopback IPv4 address of this machine (`hostname -I`), or None."""
    try:
        out = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=5).stdout.split()
    except (OSError, subprocess.SubprocessError):
        out = []
    for ip in out:
        if "." in ip and not ip.startswith("127."):
            return ip
    try:  # no `hostname -I`: the address a UDP socket would use (nothing is sent)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))
            ip = s.getsockname()[0]
            return None if ip.startswith("127.") else ip
    except OSError:
        return None


@pytest.mark.parametrize("bind", ["own-ip", "wildcard"])
def test_control_api_beyond_loopback_needs_admin_token(tmp_path, bind):
    """CONTRACT §5: the control API needs the admin token printed at start when the API listens on
    anything but loopback. Without it, or with a wrong one: refused (and nothing changes); with it:
    allowed. `/_mock/health` stays open (it is how tools wait for the server)."""
    ip = _own_ip()
    if ip is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    addr = f"{ip}:0" if bind == "own-ip" else "0.0.0.0:0"
    proc, api_url, token = _serve_beyond_loopback(tmp_path, addr)
    try:
        port = urllib.parse.urlsplit(api_url).port
        base = f"http://{ip}:{port}"
        http = requests.Session()
        http.trust_env = False
        assert http.get(f"{base}/_mock/health", timeout=10).status_code == 200
        clock = lambda h=None: http.get(f"{base}/_mock/clock", headers=h or {}, timeout=10)  # noqa: E731
        adv = lambda h: http.post(f"{base}/_mock/clock/advance", json={"by": "1d"}, headers=h, timeout=30)  # noqa: E731
        _refused(f"control-{bind}-no-token", clock(), 401)
        _refused(f"control-{bind}-no-token-advance", adv({}), 401)
        _refused(f"control-{bind}-wrong-token", clock({"Authorization": "Bearer wrong"}), 401)
        _refused(f"control-{bind}-wrong-token-header", adv({"x-mock-admin-token": token[:-1]}), 401)
        _refused(f"control-{bind}-tenant-create-no-token",
                 http.post(f"{base}/_mock/tenants", json={"name": "evil"}, timeout=10), 401)
        _refused(f"control-{bind}-reset-no-token", http.post(f"{base}/_mock/reset", timeout=10), 401)
        ok = clock({"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200, ok.text
        assert ok.json()["now"] == "2026-01-01T00:00:00Z", "a refused advance moved the clock"
        tenants = http.get(f"{base}/_mock/tenants", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert tenants.status_code == 200 and [t["name"] for t in tenants.json()["tenants"]] == ["demo"], tenants.text
        assert adv({"x-mock-admin-token": token}).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _serve_beyond_loopback(tmp_path: Path, api_addr: str) -> tuple[subprocess.Popen, str, str]:
    """`mock-cxone serve --api-addr <api_addr>` (conftest's launcher binds loopback only); returns
    the process, the API URL and the admin token it printed."""
    import queue
    import threading
    import time

    from conftest import T0, mock_binary

    env = {k: v for k, v in os.environ.items() if not k.startswith("MOCK_CXONE_")}
    (tmp_path / "data").mkdir()
    proc = subprocess.Popen(
        [str(mock_binary()), "serve", "--api-addr", api_addr, "--s3-addr", "127.0.0.1:0",
         "--data-dir", str(tmp_path / "data"), "--clock", f"frozen:{T0}", "--seed", "42"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=open(tmp_path / "mock-cxone.log", "wb"), env=env)
    lines: queue.Queue = queue.Queue()

    def drain() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.decode("utf-8", "replace").strip())
        lines.put(None)

    threading.Thread(target=drain, daemon=True).start()
    api = token = None
    deadline = time.monotonic() + 30
    try:
        while (api is None or token is None) and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            if line is None:
                break
            if line.startswith("api: "):
                api = line.split(": ", 1)[1]
            elif line.startswith("admin token: "):
                token = line.split(": ", 1)[1]
        assert api and token, f"no API URL / admin token printed (exit {proc.poll()})"
    except BaseException:
        proc.kill()
        proc.wait(timeout=10)
        raise
    return proc, api, token


def test_security_matrix_summary():
    """`security matrix: N tried, N refused` (issue 7 asks for the count)."""
    tried, refused = len(TALLY["tried"]), len(TALLY["refused"])
    line = f"security matrix: {tried} tried, {refused} refused"
    print(line)
    summary_line(line)
    for case in TALLY["refused"]:
        print(f"  refused: {case}")
    for case in TALLY["through"]:
        print(f"  got through: {case}")
    assert tried == refused, f"{line}; through: {TALLY['through']}"
    assert tried >= 90, f"{line}: fewer cases than the matrix has (were some skipped?)"
