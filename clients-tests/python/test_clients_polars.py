"""polars against mock-cxone's S3 endpoint, configured as a user would (`storage_options` with the
endpoint, credentials and region; polars' own Rust object-store client, not fsspec):

- the hourly Parquet exports of a Data Download, read as one hive-partitioned dataset with
  `scan_parquet(".../**/*.parquet", hive_partitioning=True)` (D4), rows per partition = the jobs'
  `record_counts` (D6);
- the tenant's data lake written by polars itself (`write_parquet`, single file large enough for a
  multipart upload, and `partition_by` hive folders), read back equal;
- SEA (S2): listing and reading under the folder work, writing is AccessDenied. polars has no
  reader for raw bytes (every reader parses a format), so the SEA test proves the list and the
  footer's ranged GET by asking polars to read an MP4 as Parquet and checking the error is the
  Parquet magic one, not an S3 one.

Each test gets its own server (clock frozen at T0): SEA files are placed at FIRST_RUN, then the
clock goes to a busy Monday morning and a telephony download exports three hours.
"""

from __future__ import annotations

CLIENT = "polars"

import hashlib
import os
import re
from typing import Any

import polars as pl
import pytest

from conftest import REGION, SEA_BUCKET
from exports_world import DATA_TYPES, HIVE, World, make_world
from test_download_pyarrow import BUCKET, PREFIX, lake_credentials, rfc


def storage_options(endpoint: str, key: str, secret: str) -> dict[str, str]:
    """polars' object-store settings: endpoint + credentials + region; `aws_allow_http` only
    because the mock listens on plain HTTP (polars refuses http:// endpoints otherwise).
    Path-style is object_store's default when an endpoint is set."""
    return {
        "aws_endpoint_url": endpoint,
        "aws_access_key_id": key,
        "aws_secret_access_key": secret,
        "aws_region": REGION,
        "aws_allow_http": "true",
    }


def lake_options(w: World, creds: dict[str, Any] | None = None) -> dict[str, str]:
    c = creds or w.lake
    return storage_options(c["endpoint"], c["access_key_id"], c["secret_access_key"])


# ------------------------------------------------------------------------------------------


def test_d4_d6_polars_scan_parquet_hive_over_exports_counts_equal_jobs(mock):
    w = make_world(mock)
    so = lake_options(w)
    for data_type in DATA_TYPES:
        lf = pl.scan_parquet(f"s3://{BUCKET}/{PREFIX}{data_type}/**/*.parquet", hive_partitioning=True,
                             storage_options=so)
        df = lf.collect()
        assert df.columns[-4:] == HIVE, df.columns
        for c in HIVE:
            assert df.schema[c].is_integer(), (c, df.schema[c])
        per_hour = {(r["year"], r["month"], r["day"], r["hour"]): r["len"]
                    for r in df.group_by(HIVE).len().to_dicts()}
        expected = {}
        for job in w.jobs:
            t = rfc(job["interval_start"])
            expected[(t.year, t.month, t.day, t.hour)] = job["record_counts"][data_type]
        assert per_hour == {k: v for k, v in expected.items() if v}, data_type
        assert df.height == sum(j["record_counts"][data_type] for j in w.jobs) > 0
        # Predicate pushdown on a hive column reads one partition only: same count as the job.
        first = rfc(w.jobs[0]["interval_start"])
        n = lf.filter(pl.col("hour") == first.hour).select(pl.len()).collect().item()
        assert n == w.jobs[0]["record_counts"][data_type]


def test_polars_write_parquet_to_lake_multipart_and_partitioned_read_back(mock):
    w = make_world(mock)
    so = lake_options(w)
    s3 = mock.s3_client(w.lake["access_key_id"], w.lake["secret_access_key"])

    # ~40 MiB of incompressible bytes: polars 2.1 sends up to 32 MiB as one PUT, more as a
    # multipart upload (its parts carry CRC64NVME checksums with UNSIGNED-PAYLOAD).
    n = 40 * 1024
    df = pl.DataFrame({
        "id": list(range(n)),
        "blob": [os.urandom(1024) for _ in range(n)],
        "p": [i % 3 for i in range(n)],
    })
    url = f"s3://{BUCKET}/polars/one.parquet"
    df.write_parquet(url, storage_options=so)
    back = pl.read_parquet(url, storage_options=so)
    assert back.equals(df)
    head = s3.head_object(Bucket=BUCKET, Key="polars/one.parquet")
    assert head["ContentLength"] > 40 * 1024 * 1024
    got = s3.get_object(Bucket=BUCKET, Key="polars/one.parquet")["Body"].read()
    etag = head["ETag"].strip('"')
    assert re.fullmatch(r"[0-9a-f]{32}-[2-9]", etag), f"a multipart upload's ETag: {etag}"
    assert pl.read_parquet(got).equals(df)

    # Hive-partitioned write, then a hive scan of the folder.
    small = df.select("id", "p").with_columns(pl.col("id").cast(pl.Int64))
    small.write_parquet(f"s3://{BUCKET}/polars/parts/", partition_by=["p"], storage_options=so)
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="polars/parts/")["Contents"])
    assert {k.split("/")[2] for k in keys} == {"p=0", "p=1", "p=2"}, keys
    read = pl.scan_parquet(f"s3://{BUCKET}/polars/parts/**/*.parquet", hive_partitioning=True,
                           storage_options=so).collect()
    assert read.sort("id").select("id", "p").equals(small.sort("id")), "rows and hive column p"


def test_d8_polars_other_tenants_bucket_and_sea_writes_are_access_denied(mock):
    w = make_world(mock)
    export = w.jobs[0]["output_files"][0]
    other = lake_options(w, w.other_lake)
    with pytest.raises(PermissionError, match="AccessDenied"):
        pl.read_parquet(export, storage_options=other)
    with pytest.raises(PermissionError, match="AccessDenied"):
        pl.DataFrame({"a": [1]}).write_parquet(f"s3://{BUCKET}/intruder.parquet", storage_options=other)
    c = w.sea.creds
    sea = storage_options(mock.s3, c.access_key_id, c.secret_access_key)
    with pytest.raises(PermissionError, match="AccessDenied"):
        pl.DataFrame({"a": [1]}).write_parquet(f"s3://{SEA_BUCKET}/{c.prefix}x.parquet", storage_options=sea)
    s3 = mock.sea_client(c)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=SEA_BUCKET, Prefix=c.prefix)["Contents"]]
    assert len(keys) == 4 and not any(k.endswith(".parquet") for k in keys)


def test_s2_polars_lists_and_reads_sea_but_an_mp4_is_not_parquet(mock):
    """polars reads formats, not bytes: a glob over the SEA folder lists the recordings and
    fetches the first one's footer (a ranged GET); the error is Parquet's, so S3 let it through."""
    w = make_world(mock)
    c = w.sea.creds
    so = storage_options(mock.s3, c.access_key_id, c.secret_access_key)
    with pytest.raises(pl.exceptions.ComputeError, match="(?i)parquet"):
        pl.scan_parquet(f"s3://{SEA_BUCKET}/{c.prefix}*.mp4", storage_options=so).collect()
    # Another tenant's lake credentials get nothing from the SEA folder.
    other = lake_options(w, w.other_lake)
    with pytest.raises(OSError, match="AccessDenied"):  # a refused listing is a generic OSError
        pl.scan_parquet(f"s3://{SEA_BUCKET}/{c.prefix}*.mp4", storage_options=other).collect()
    # The bytes polars saw are the recordings the storage API describes (checked with boto3).
    files = {f["sea"]["key"]: f for f in mock.files(w.sea.token, tier="sea")}
    s3 = mock.sea_client(c)
    for key, f in files.items():
        body = s3.get_object(Bucket=SEA_BUCKET, Key=key)["Body"].read()
        assert hashlib.sha256(body).hexdigest() == f["sha256"]


def test_s2_polars_over_tls_with_the_mocks_certificate(mock_tls, monkeypatch):
    """TLS endpoint (self-signed): polars' Rust client trusts the system roots plus `SSL_CERT_FILE`
    (rustls-native-certs); no `aws_allow_http`."""
    m = mock_tls
    t = m.tenant("acme")
    creds = lake_credentials(m, m.token(t))
    assert creds["endpoint"].startswith("https://localhost:"), creds
    s3 = m.s3_client(creds["access_key_id"], creds["secret_access_key"])
    s3.create_bucket(Bucket="acme-tls")
    monkeypatch.setenv("SSL_CERT_FILE", str(m.ca_bundle))
    so = storage_options(creds["endpoint"], creds["access_key_id"], creds["secret_access_key"])
    del so["aws_allow_http"]
    df = pl.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    df.write_parquet("s3://acme-tls/t.parquet", storage_options=so)
    assert pl.read_parquet("s3://acme-tls/t.parquet", storage_options=so).equals(df)
    body = s3.get_object(Bucket="acme-tls", Key="t.parquet")["Body"].read()
    assert pl.read_parquet(body).equals(df)
