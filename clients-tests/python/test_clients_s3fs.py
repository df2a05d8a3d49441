"""s3fs (fsspec, over aiobotocore) and pandas against mock-cxone's S3 endpoint.

Runs in its own virtualenv, `.venv-s3fs` (aiobotocore pins botocore, which clashes with the main
venv's boto3/awscli): `.venv-s3fs/bin/pytest -q clients-tests/python/test_clients_s3fs.py`. It only
imports what that venv has (s3fs, pandas, pyarrow, boto3, requests, pytest).

Settings as s3fs documents them: `S3FileSystem(key=, secret=, client_kwargs={"endpoint_url": ...,
"region_name": "us-east-1"})`; pandas takes the same dict as `storage_options`. botocore picks
path-style for an IP endpoint by itself.

Covered on the data lake: ls/glob/find/info/open/cat_file (ranges)/pipe/rm, `pd.read_parquet` of
one export partition and of the whole hive-partitioned folder (rows per hour = the jobs'
`record_counts`, D4/D6), `to_parquet`/`to_csv` to the lake and back, a multipart write through
`open("wb")`, another tenant refused (D8). On SEA (S2, S5): listing, reading, early delete;
writes AccessDenied.
"""

from __future__ import annotations

CLIENT = "s3fs"

import hashlib
import io
from datetime import timedelta
from typing import Any

import pandas as pd
import pytest
import requests
import s3fs

from conftest import REGION, SEA_BUCKET, Mock
from test_download_pyarrow import (
    BUCKET,
    PREFIX,
    create_download,
    iso,
    lake_credentials,
    poll_completed,
    rfc,
    telephony_body,
)

BUSY = "2026-01-05T09:00:00Z"
HOURS = 3
DATA_TYPES = ["cdr", "acd"]
MIB = 1024 * 1024


def options(endpoint: str, key: str, secret: str) -> dict[str, Any]:
    """The same dict for `s3fs.S3FileSystem(**options)` and pandas' `storage_options=`."""
    return {"key": key, "secret": secret, "client_kwargs": {"endpoint_url": endpoint, "region_name": REGION}}


def lake_options(creds: dict[str, Any]) -> dict[str, Any]:
    return options(creds["endpoint"], creds["access_key_id"], creds["secret_access_key"])


def exported(mock: Mock):
    mock.advance(to=BUSY)
    t = mock.tenant("acme")
    d = create_download(mock, mock.token(t), telephony_body(DATA_TYPES))
    starts = [iso(rfc(BUSY) + timedelta(hours=h)) for h in range(HOURS)]
    mock.advance(by=f"{HOURS}h")
    jobs = poll_completed(mock, t, d["id"], starts)
    creds = lake_credentials(mock, mock.token(t))
    other = lake_credentials(mock, mock.token(mock.tenant("other")))
    return jobs, creds, other


def no_scheme(uri: str) -> str:
    return uri.removeprefix("s3://")


# ------------------------------------------------------------------------------------------


def test_s3fs_ls_glob_find_info_and_reads_of_the_exports(mock):
    jobs, creds, _ = exported(mock)
    fs = s3fs.S3FileSystem(**lake_options(creds))
    assert sorted(fs.ls(f"{BUCKET}/{PREFIX}")) == sorted(f"{BUCKET}/{PREFIX}{t}" for t in DATA_TYPES)

    data_files = {no_scheme(u) for j in jobs for u in j["output_files"]}
    manifests = {no_scheme(u) for j in jobs for u in j["manifests"]}
    # find = a recursive listing (`delimiter=` empty on the wire): files only, every one.
    assert set(fs.find(f"{BUCKET}/{PREFIX}")) == data_files | manifests
    assert set(fs.glob(f"{BUCKET}/{PREFIX}*/**/*.parquet")) == data_files
    assert set(fs.glob(f"{BUCKET}/{PREFIX}cdr/year=2026/month=01/day=05/hour=*/_manifest-*.json")) == \
        {m for m in manifests if "/cdr/" in m}

    checksums = {no_scheme(u): c for j in jobs for u, c in j["checksums"].items()}
    for path in sorted(data_files):
        info = fs.info(path)
        assert info["type"] == "file"
        body = fs.cat_file(path)
        assert len(body) == info["size"] and checksums[path] == "sha256:" + hashlib.sha256(body).hexdigest()
        assert fs.cat_file(path, start=-4) == b"PAR1" == fs.cat_file(path, start=0, end=4)
        with fs.open(path, "rb", block_size=1024) as f:  # small blocks: many ranged GETs
            f.seek(len(body) // 2)
            assert f.read(100) == body[len(body) // 2:len(body) // 2 + 100]
    d = fs.info(f"{BUCKET}/{PREFIX}cdr/year=2026")
    assert d["type"] == "directory"
    assert not fs.exists(f"{BUCKET}/{PREFIX}nothing/here.parquet")


def test_d4_d6_pandas_read_parquet_partition_and_hive_dataset(mock):
    jobs, creds, _ = exported(mock)
    so = lake_options(creds)
    for data_type in DATA_TYPES:
        job = jobs[0]
        [one] = [u for u in job["output_files"] if f"/{data_type}/" in u]
        df = pd.read_parquet(one, storage_options=so)
        assert len(df) == job["record_counts"][data_type]

        # The whole folder as one dataset: pyarrow (under pandas) adds the hive columns.
        whole = pd.read_parquet(f"s3://{BUCKET}/{PREFIX}{data_type}/", storage_options=so)
        assert list(whole.columns[-4:]) == ["year", "month", "day", "hour"]
        per_hour = whole.groupby(["year", "month", "day", "hour"], observed=True).size().to_dict()
        expected = {}
        for j in jobs:
            t = rfc(j["interval_start"])
            if j["record_counts"][data_type]:
                expected[(t.year, t.month, t.day, t.hour)] = j["record_counts"][data_type]
        assert {tuple(int(v) for v in k): n for k, n in per_hour.items()} == expected, data_type


def test_s3fs_pandas_writes_to_the_lake_and_read_back(mock):
    jobs, creds, _ = exported(mock)
    so = lake_options(creds)
    fs = s3fs.S3FileSystem(**so)
    src = pd.read_parquet(f"s3://{BUCKET}/{PREFIX}cdr/", storage_options=so)
    src = src.drop(columns=["year", "month", "day", "hour"]).sort_values(list(src.columns[:1])).reset_index(drop=True)

    src.to_parquet(f"s3://{BUCKET}/pandas/cdr.parquet", storage_options=so, index=False)
    back = pd.read_parquet(f"s3://{BUCKET}/pandas/cdr.parquet", storage_options=so)
    pd.testing.assert_frame_equal(back, src)

    src.to_csv(f"s3://{BUCKET}/pandas/cdr.csv", storage_options=so, index=False)
    raw = fs.cat_file(f"{BUCKET}/pandas/cdr.csv")
    assert raw == src.to_csv(index=False).encode()
    assert len(pd.read_csv(f"s3://{BUCKET}/pandas/cdr.csv", storage_options=so)) == len(src)

    fs.pipe(f"{BUCKET}/pandas/hello.txt", b"hello, lake")
    assert fs.cat_file(f"{BUCKET}/pandas/hello.txt") == b"hello, lake"
    assert fs.cat_file(f"{BUCKET}/pandas/hello.txt", start=7, end=11) == b"lake"

    # A 12 MiB stream through open("wb") with 5 MiB blocks: a multipart upload.
    blob = bytes(range(256)) * (12 * MIB // 256)
    with fs.open(f"{BUCKET}/pandas/big.bin", "wb", block_size=5 * MIB) as f:
        for i in range(0, len(blob), MIB):
            f.write(blob[i:i + MIB])
    info = fs.info(f"{BUCKET}/pandas/big.bin")
    assert info["size"] == len(blob) and "-" in info["ETag"], info
    assert hashlib.sha256(fs.cat_file(f"{BUCKET}/pandas/big.bin")).digest() == hashlib.sha256(blob).digest()

    fs.rm(f"{BUCKET}/pandas/", recursive=True)
    fs.invalidate_cache()
    assert fs.find(f"{BUCKET}/pandas/") == []
    assert len(fs.find(f"{BUCKET}/{PREFIX}")) == 2 * len(DATA_TYPES) * HOURS, "exports untouched"


def test_d8_s3fs_another_tenants_bucket_is_refused(mock):
    jobs, creds, other = exported(mock)
    fs = s3fs.S3FileSystem(**lake_options(other))
    export = no_scheme(jobs[0]["output_files"][0])
    with pytest.raises(PermissionError):
        fs.cat_file(export)
    with pytest.raises(PermissionError):
        fs.pipe(f"{BUCKET}/intruder.txt", b"x")
    with pytest.raises(PermissionError):
        fs.find(f"{BUCKET}/{PREFIX}")
    with pytest.raises(PermissionError):
        pd.DataFrame({"a": [1]}).to_parquet(f"s3://{BUCKET}/intruder.parquet", storage_options=lake_options(other))
    own = s3fs.S3FileSystem(**lake_options(creds))
    assert not own.exists(f"{BUCKET}/intruder.txt") and not own.exists(f"{BUCKET}/intruder.parquet")


def test_s2_s5_s3fs_sea_listing_reading_and_delete(mock):
    sea = mock.sea_tenant("acme", count=4)
    c = sea.creds
    fs = s3fs.S3FileSystem(**options(mock.s3, c.access_key_id, c.secret_access_key))
    files = {f"{SEA_BUCKET}/{f['sea']['key']}": f for f in mock.files(sea.token, tier="sea")}
    assert len(files) == 4
    assert set(fs.ls(f"{SEA_BUCKET}/{c.prefix}")) == set(files)
    assert set(fs.find(f"{SEA_BUCKET}/{c.prefix}")) == set(files)
    assert set(fs.glob(f"{SEA_BUCKET}/{c.prefix}*_VOICE_*.mp4")) == {k for k in files if "_VOICE_" in k}
    for path, f in files.items():
        assert fs.info(path)["size"] == f["size"]
        assert hashlib.sha256(fs.cat_file(path)).hexdigest() == f["sha256"]
    path = sorted(files)[0]
    with fs.open(path, "rb") as fh:
        assert fh.read(8)[4:8] == b"ftyp", "an MP4 starts with its ftyp box"
    whole = fs.cat_file(path)
    assert fs.cat_file(path, start=100, end=300) == whole[100:300], "ranged GET"
    # fs.url: a presigned GET, fetched without credentials (botocore's default presigner for a
    # custom endpoint signs with query-string SigV2; the mock checks V2 and V4 alike).
    url = fs.url(path, expires=300)
    assert "Signature=" in url, url
    with requests.Session() as http:
        http.trust_env = False
        r = http.get(url, timeout=60)
    assert r.status_code == 200 and r.content == whole

    with pytest.raises(PermissionError):
        fs.pipe(f"{SEA_BUCKET}/{c.prefix}upload.bin", b"x")
    with pytest.raises(PermissionError):
        fs.ls(f"{SEA_BUCKET}/")

    fs.rm(path)
    fs.invalidate_cache()
    assert set(fs.ls(f"{SEA_BUCKET}/{c.prefix}")) == set(files) - {path}
    fs.rm(sorted(files)[1:])
    fs.invalidate_cache()
    # The folder is now empty: S6 says it cannot be accessed at all.
    with pytest.raises(PermissionError):
        fs.ls(f"{SEA_BUCKET}/{c.prefix}")


def test_s2_s3fs_over_tls_with_verify(mock_tls):
    """TLS endpoint (self-signed): `client_kwargs={"verify": <CA bundle>}`."""
    sea = mock_tls.sea_tenant("acme", count=2)
    c = sea.creds
    assert mock_tls.s3.startswith("https://localhost:"), mock_tls.s3
    so = options(mock_tls.s3, c.access_key_id, c.secret_access_key)
    so["client_kwargs"]["verify"] = str(mock_tls.ca_bundle)
    fs = s3fs.S3FileSystem(**so)
    files = {f"{SEA_BUCKET}/{f['sea']['key']}": f for f in mock_tls.files(sea.token, tier="sea")}
    assert set(fs.ls(f"{SEA_BUCKET}/{c.prefix}")) == set(files)
    for path, f in files.items():
        assert hashlib.sha256(fs.cat_file(path)).hexdigest() == f["sha256"]
    unverified = s3fs.S3FileSystem(**options(mock_tls.s3, c.access_key_id, c.secret_access_key),
                                   config_kwargs={"retries": {"max_attempts": 1}})
    with pytest.raises(Exception, match="(?i)ssl|certificate"):
        unverified.ls(f"{SEA_BUCKET}/{c.prefix}")


def test_s3fs_version_aware_and_tags_on_an_unversioned_lake_bucket(mock):
    """What S3 answers for a bucket that never had versioning: s3fs' `version_aware=True` lists
    versions (ListObjectVersions: one `null` version per object) and `get_tags` is an empty set.
    Both were 501 NotImplemented before the mock answered them."""
    jobs, creds, other = exported(mock)
    so = lake_options(creds)
    fs = s3fs.S3FileSystem(version_aware=True, **so)
    data_files = {no_scheme(u) for j in jobs for u in j["output_files"]}
    manifests = {no_scheme(u) for j in jobs for u in j["manifests"]}
    assert set(fs.find(f"{BUCKET}/{PREFIX}")) == data_files | manifests
    path = sorted(data_files)[0]
    versions = fs.object_version_info(path)
    assert len(versions) == 1, versions
    assert versions[0]["VersionId"] == "null" and versions[0]["IsLatest"] is True, versions
    assert versions[0]["Size"] == fs.info(path)["size"]
    body = fs.cat_file(path)
    assert "sha256:" + hashlib.sha256(body).hexdigest() in {c for j in jobs for c in j["checksums"].values()}
    assert fs.get_tags(path) == {}
    with pytest.raises(FileNotFoundError):
        fs.get_tags(f"{BUCKET}/{PREFIX}no-such-file")
    # Another tenant gets nothing, versions or tags.
    ofs = s3fs.S3FileSystem(version_aware=True, **lake_options(other))
    with pytest.raises(PermissionError):
        ofs.object_version_info(path)
    with pytest.raises(PermissionError):
        ofs.get_tags(path)
