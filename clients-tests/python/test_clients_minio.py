"""The MinIO Python SDK (`minio.Minio`) against mock-cxone's S3 endpoint, configured as its docs
show for any S3 service: `Minio("host:port", access_key, secret_key, secure=False,
region="us-east-1")`. `secure=False` only because the mock speaks plain HTTP here; `region` so the
SDK does not first ask GetBucketLocation (it would work, it is just one more request). The SDK
always uses path-style for an IP endpoint.

Covered on the data lake: bucket_exists/make_bucket (and BucketAlreadyExists for another tenant's
name, D8), list_objects (delimited and recursive — the SDK sends `delimiter=` empty for recursive),
put_object of unknown length (multipart, 5 MiB parts), fput/fget, get_object with ranges,
stat_object, remove_objects, presigned_get_object fetched with requests. On SEA (S2): listing,
get, stat, presigned GET, delete; put is AccessDenied (read-only), as is the bucket root.
"""

from __future__ import annotations

CLIENT = "minio"

import hashlib
import io
import os
from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

import pytest
import requests
from minio import Minio
from minio.deleteobjects import DeleteObject
from minio.error import S3Error

from conftest import REGION, SEA_BUCKET, Mock
from test_download_pyarrow import BUCKET, PREFIX, create_download, iso, lake_credentials, poll_completed, rfc, \
    telephony_body

BUSY = "2026-01-05T09:00:00Z"
HOURS = 2
DATA_TYPES = ["cdr", "acd"]
MIB = 1024 * 1024


def client(endpoint: str, key: str, secret: str) -> Minio:
    u = urlparse(endpoint)
    assert u.scheme == "http", endpoint
    return Minio(u.netloc, access_key=key, secret_key=secret, secure=False, region=REGION)


def lake_client(creds: dict[str, Any]) -> Minio:
    return client(creds["endpoint"], creds["access_key_id"], creds["secret_access_key"])


def http_get(url: str) -> requests.Response:
    with requests.Session() as s:
        s.trust_env = False
        return s.get(url, timeout=60)


def exported(mock: Mock):
    """Tenant `acme` with two exported hours of telephony; its and another tenant's lake creds."""
    mock.advance(to=BUSY)
    t = mock.tenant("acme")
    token = mock.token(t)
    d = create_download(mock, token, telephony_body(DATA_TYPES))
    starts = [iso(rfc(BUSY) + timedelta(hours=h)) for h in range(HOURS)]
    mock.advance(by=f"{HOURS}h")
    jobs = poll_completed(mock, t, d["id"], starts)
    creds = lake_credentials(mock, mock.token(t))
    other = lake_credentials(mock, mock.token(mock.tenant("other")))
    return jobs, creds, other


# ------------------------------------------------------------------------------------------


def test_minio_lists_and_reads_the_exports(mock):
    jobs, creds, _ = exported(mock)
    m = lake_client(creds)
    assert m.bucket_exists(BUCKET)
    assert not m.bucket_exists("no-such-bucket-here")

    # Delimited listing: one level of "folders".
    top = list(m.list_objects(BUCKET, prefix=PREFIX))
    assert sorted(o.object_name for o in top) == sorted(f"{PREFIX}{t}/" for t in DATA_TYPES)
    assert all(o.is_dir for o in top)

    # Recursive: every data file and manifest, with sizes and ETags.
    expected = {u.removeprefix(f"s3://{BUCKET}/") for j in jobs for u in j["output_files"] + j["manifests"]}
    objs = list(m.list_objects(BUCKET, prefix=PREFIX, recursive=True))
    assert {o.object_name for o in objs} == expected
    assert all(not o.is_dir and o.size > 0 and o.etag for o in objs)

    checksums = {u.removeprefix(f"s3://{BUCKET}/"): c for j in jobs for u, c in j["checksums"].items()}
    for o in objs:
        if o.object_name not in checksums:
            continue
        resp = m.get_object(BUCKET, o.object_name)
        try:
            data = resp.read()
        finally:
            resp.close()
            resp.release_conn()
        assert checksums[o.object_name] == "sha256:" + hashlib.sha256(data).hexdigest()
        st = m.stat_object(BUCKET, o.object_name)
        assert st.size == len(data) == o.size and st.etag == o.etag
        assert data[:4] == b"PAR1"
        # Ranged read of the footer's magic, as Parquet readers do.
        tail = m.get_object(BUCKET, o.object_name, offset=len(data) - 4, length=4)
        try:
            assert tail.read() == b"PAR1"
        finally:
            tail.close()
            tail.release_conn()


def test_minio_multipart_put_fput_fget_presigned_and_remove_objects(mock, tmp_path):
    _, creds, _ = exported(mock)
    m = lake_client(creds)
    data = os.urandom(12 * MIB + 12345)
    digest = hashlib.sha256(data).hexdigest()

    # Unknown length: the SDK streams 5 MiB parts through a multipart upload.
    r = m.put_object(BUCKET, "minio/stream.bin", io.BytesIO(data), length=-1, part_size=5 * MIB)
    assert r.etag.endswith("-3"), r.etag
    st = m.stat_object(BUCKET, "minio/stream.bin")
    assert st.size == len(data) and st.etag == r.etag

    src = tmp_path / "big.bin"
    src.write_bytes(data)
    r2 = m.fput_object(BUCKET, "minio/file.bin", str(src), part_size=5 * MIB)
    assert r2.etag == r.etag, "same bytes, same parts: same multipart ETag"
    dest = tmp_path / "back.bin"
    m.fget_object(BUCKET, "minio/file.bin", str(dest))
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == digest

    part = m.get_object(BUCKET, "minio/stream.bin", offset=5 * MIB - 10, length=20)
    try:
        assert part.read() == data[5 * MIB - 10:5 * MIB + 10], "a range across a part boundary"
    finally:
        part.close()
        part.release_conn()

    url = m.presigned_get_object(BUCKET, "minio/stream.bin", expires=timedelta(minutes=5))
    assert "X-Amz-Signature=" in url and url.startswith(f"{creds['endpoint']}/{BUCKET}/minio/stream.bin?"), url
    got = http_get(url)
    assert got.status_code == 200 and hashlib.sha256(got.content).hexdigest() == digest
    sig = url.split("X-Amz-Signature=", 1)[1][:64]
    bad = http_get(url.replace(sig, ("1" if sig[0] != "1" else "2") + sig[1:]))
    assert bad.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in bad.text, bad.text

    # Small put with a known length, then a batch delete (a missing key is not an error in S3).
    m.put_object(BUCKET, "minio/small.txt", io.BytesIO(b"hello"), length=5, content_type="text/plain")
    assert m.stat_object(BUCKET, "minio/small.txt").content_type == "text/plain"
    errors = list(m.remove_objects(BUCKET, [DeleteObject(k) for k in
                                            ("minio/stream.bin", "minio/file.bin", "minio/small.txt", "minio/none")]))
    assert errors == []
    assert list(m.list_objects(BUCKET, prefix="minio/", recursive=True)) == []
    with pytest.raises(S3Error) as e:
        m.stat_object(BUCKET, "minio/stream.bin")
    assert e.value.code in ("NoSuchKey", "ResponseCode404"), e.value


def test_d8_minio_make_bucket_and_another_tenants_bucket(mock):
    jobs, creds, other = exported(mock)
    m = lake_client(creds)
    m.make_bucket("acme-scratch")
    assert m.bucket_exists("acme-scratch")
    assert {b.name for b in m.list_buckets()} == {BUCKET, "acme-scratch"}

    o = lake_client(other)
    with pytest.raises(S3Error) as e:
        o.make_bucket(BUCKET)
    assert e.value.code == "BucketAlreadyExists", e.value
    export = jobs[0]["output_files"][0].removeprefix(f"s3://{BUCKET}/")
    with pytest.raises(S3Error) as e:
        o.stat_object(BUCKET, export)
    assert e.value.response.status == 403, e.value
    with pytest.raises(S3Error) as e:
        o.put_object(BUCKET, "intruder", io.BytesIO(b"x"), 1)
    assert e.value.code == "AccessDenied", e.value
    with pytest.raises(S3Error) as e:
        list(o.list_objects(BUCKET, recursive=True))
    assert e.value.code == "AccessDenied", e.value
    assert {b.name for b in o.list_buckets()} == set(), "ListBuckets shows only the tenant's buckets"


def test_s2_s5_minio_on_sea_read_only_folder(mock, tmp_path):
    sea = mock.sea_tenant("acme", count=4)
    c = sea.creds
    m = client(mock.s3, c.access_key_id, c.secret_access_key)
    files = {f["sea"]["key"]: f for f in mock.files(sea.token, tier="sea")}
    assert len(files) == 4
    assert m.bucket_exists(SEA_BUCKET)

    listed = {o.object_name: o for o in m.list_objects(SEA_BUCKET, prefix=c.prefix)}
    assert set(listed) == set(files)
    assert {o.object_name for o in m.list_objects(SEA_BUCKET, prefix=c.prefix, recursive=True)} == set(files)
    key = sorted(files)[0]
    assert listed[key].size == files[key]["size"]
    st = m.stat_object(SEA_BUCKET, key)
    assert st.size == files[key]["size"]
    dest = tmp_path / "rec.mp4"
    m.fget_object(SEA_BUCKET, key, str(dest))
    whole = dest.read_bytes()
    assert hashlib.sha256(whole).hexdigest() == files[key]["sha256"]
    part = m.get_object(SEA_BUCKET, key, offset=8, length=64)
    try:
        assert part.read() == whole[8:72], "ranged GET"
    finally:
        part.close()
        part.release_conn()
    url = m.presigned_get_object(SEA_BUCKET, key, expires=timedelta(minutes=5))
    got = http_get(url)
    assert got.status_code == 200 and hashlib.sha256(got.content).hexdigest() == files[key]["sha256"]

    # Read-only: put (small and multipart) is refused and leaves nothing behind.
    with pytest.raises(S3Error) as e:
        m.put_object(SEA_BUCKET, f"{c.prefix}upload.bin", io.BytesIO(b"x"), 1)
    assert e.value.code == "AccessDenied", e.value
    with pytest.raises(S3Error) as e:
        m.put_object(SEA_BUCKET, f"{c.prefix}upload.bin", io.BytesIO(os.urandom(6 * MIB)), length=-1,
                     part_size=5 * MIB)
    assert e.value.code == "AccessDenied", e.value
    # Outside the folder and bucket-level calls are refused.
    for call in (lambda: list(m.list_objects(SEA_BUCKET, prefix="", recursive=True)),
                 lambda: m.list_buckets(),
                 lambda: m.make_bucket("sea-user-bucket")):
        with pytest.raises(S3Error) as e:
            call()
        assert e.value.code == "AccessDenied", e.value

    # The tenant may delete early (S5).
    m.remove_object(SEA_BUCKET, key)
    assert {o.object_name for o in m.list_objects(SEA_BUCKET, prefix=c.prefix)} == set(files) - {key}
    errors = list(m.remove_objects(SEA_BUCKET, [DeleteObject(k) for k in sorted(files)[1:3]]))
    assert errors == []
    assert {o.object_name for o in m.list_objects(SEA_BUCKET, prefix=c.prefix)} == {sorted(files)[3]}


def test_s2_minio_over_tls_with_a_ca_bundle(mock_tls):
    """TLS endpoint (self-signed): `secure=True` and an urllib3 pool that trusts the mock's CA;
    the default pool (system roots) refuses the certificate."""
    import urllib3

    sea = mock_tls.sea_tenant("acme", count=2)
    c = sea.creds
    u = urlparse(mock_tls.s3)
    assert u.scheme == "https", mock_tls.s3
    pool = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=str(mock_tls.ca_bundle), retries=False)
    m = Minio(u.netloc, access_key=c.access_key_id, secret_key=c.secret_access_key, secure=True,
              region=REGION, http_client=pool)
    files = {f["sea"]["key"]: f for f in mock_tls.files(sea.token, tier="sea")}
    assert {o.object_name for o in m.list_objects(SEA_BUCKET, prefix=c.prefix)} == set(files)
    for key, f in files.items():
        resp = m.get_object(SEA_BUCKET, key)
        try:
            assert hashlib.sha256(resp.read()).hexdigest() == f["sha256"]
        finally:
            resp.close()
            resp.release_conn()
    strict = Minio(u.netloc, access_key=c.access_key_id, secret_key=c.secret_access_key, secure=True,
                   region=REGION, http_client=urllib3.PoolManager(cert_reqs="CERT_REQUIRED", retries=False))
    with pytest.raises(urllib3.exceptions.SSLError):
        strict.stat_object(SEA_BUCKET, sorted(files)[0])


def test_minio_versions_and_tags_on_an_unversioned_lake_bucket(mock):
    """`include_version=True` listings, `get_bucket_versioning` and `get_object_tags` get what S3
    gives for a bucket that never had versioning (each was 501 NotImplemented before)."""
    jobs, creds, other = exported(mock)
    m = lake_client(creds)
    assert m.get_bucket_versioning(BUCKET).status in (None, "Off"), "never enabled: no Status"
    expected = {u.removeprefix(f"s3://{BUCKET}/") for j in jobs for u in j["output_files"] + j["manifests"]}
    versions = list(m.list_objects(BUCKET, prefix=PREFIX, recursive=True, include_version=True))
    assert sorted(o.object_name for o in versions) == sorted(expected), "one version per object"
    assert all(o.is_latest == "true" or o.is_latest is True for o in versions), [o.is_latest for o in versions]
    assert {o.version_id for o in versions} <= {"null", None}
    # Paged: two keys per ListObjectVersions page, markers carried over.
    m.put_object(BUCKET, "v/a", io.BytesIO(b"a"), 1)
    m.put_object(BUCKET, "v/b", io.BytesIO(b"b"), 1)
    m.put_object(BUCKET, "v/c", io.BytesIO(b"c"), 1)
    s3 = mock.s3_client(creds["access_key_id"], creds["secret_access_key"])
    pages = list(s3.get_paginator("list_object_versions").paginate(
        Bucket=BUCKET, Prefix="v/", PaginationConfig={"PageSize": 2}))
    assert [[v["Key"] for v in p.get("Versions", [])] for p in pages] == [["v/a", "v/b"], ["v/c"]]
    assert all(v["VersionId"] == "null" and v["IsLatest"] for p in pages for v in p["Versions"])
    assert m.get_object_tags(BUCKET, "v/a") is None, "no tags"
    with pytest.raises(S3Error) as e:
        m.get_object_tags(BUCKET, "v/none")
    assert e.value.code == "NoSuchKey", e.value
    o = lake_client(other)
    for call in (lambda: o.get_bucket_versioning(BUCKET), lambda: o.get_object_tags(BUCKET, "v/a"),
                 lambda: list(o.list_objects(BUCKET, include_version=True))):
        with pytest.raises(S3Error) as e:
            call()
        assert e.value.code == "AccessDenied", e.value
