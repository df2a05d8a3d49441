"""pyarrow's own S3 filesystem (the AWS C++ SDK) **writing** to mock-cxone's data lake, and reading
SEA. Reading a Data Download's exports with pyarrow is `test_download_pyarrow.py`'s job.

Settings as a user writes them: `pyarrow.fs.S3FileSystem(access_key=, secret_key=,
endpoint_override="host:port", scheme="http", region="us-east-1")`. `scheme="http"` only because
the mock speaks plain HTTP here; pyarrow uses path-style whenever `endpoint_override` is set.

What pyarrow does on the wire that other clients do not: every write is a multipart upload
(`CreateMultipartUpload` + parts + `CompleteMultipartUpload`, whose XML root it parses); "directories"
are probed with a HEAD on the key without slash (expects 404) and a `max-keys=1&delimiter=/`
listing; `delete_dir` lists then batch-deletes; `create_dir` PUTs an empty `dir/` marker.
"""

from __future__ import annotations

CLIENT = "pyarrow-write"

import hashlib
import os
from typing import Any
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from conftest import REGION, SEA_BUCKET, Mock
from test_download_pyarrow import BUCKET, lake_credentials

MIB = 1024 * 1024


def arrow_fs(endpoint: str, key: str, secret: str, **extra: Any) -> pafs.S3FileSystem:
    u = urlparse(endpoint)
    assert u.scheme == "http", endpoint
    return pafs.S3FileSystem(access_key=key, secret_key=secret, endpoint_override=u.netloc,
                             scheme="http", region=REGION, connect_timeout=10, request_timeout=60, **extra)


def lake(mock: Mock, name: str = "acme") -> tuple[dict[str, Any], pafs.S3FileSystem, Any]:
    """A tenant's data-lake credentials, pyarrow and boto3 on them. Tests create the bucket with
    pyarrow's `create_dir(bucket)` (CreateBucket), which needs `allow_bucket_creation=True`."""
    t = mock.tenant(name)
    creds = lake_credentials(mock, mock.token(t))
    fs = arrow_fs(creds["endpoint"], creds["access_key_id"], creds["secret_access_key"],
                  allow_bucket_creation=True)
    s3 = mock.s3_client(creds["access_key_id"], creds["secret_access_key"])
    return creds, fs, s3


def events(n: int, seed: int = 7) -> pa.Table:
    """A table whose Parquet file is several MiB (random payload: incompressible)."""
    rnd = [os.urandom(48) for _ in range(n)]
    return pa.table({
        "id": pa.array(range(n), pa.int64()),
        "day": pa.array([f"2026-01-0{1 + i % 3}" for i in range(n)]),
        "hour": pa.array([(i // 3) % 24 for i in range(n)], pa.int32()),
        "payload": pa.array(rnd, pa.binary()),
        "ts": pa.array([1_767_225_600_000_000 + i for i in range(n)], pa.timestamp("us", tz="UTC")),
    })


def keys(s3, prefix: str) -> list[str]:
    out = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        out += [o["Key"] for o in page.get("Contents", [])]
    return sorted(out)


# ------------------------------------------------------------------------------------------


def test_pyarrow_write_dataset_hive_partitioned_and_read_back(mock):
    _, fs, s3 = lake(mock)
    fs.create_dir(BUCKET)  # a bucket name: CreateBucket (allow_bucket_creation=True)
    table = events(60_000)
    base = f"{BUCKET}/arrow/events"
    ds.write_dataset(table, base, filesystem=fs, format="parquet",
                     partitioning=ds.partitioning(pa.schema([("day", pa.string()), ("hour", pa.int32())]),
                                                  flavor="hive"))
    listed = keys(s3, "arrow/events/")
    # pyarrow create_dir()s every partition folder on the way (zero-byte `dir/` markers), which
    # S3 lists as keys like any other; the data files are the rest.
    markers = [k for k in listed if k.endswith("/")]
    written = [k for k in listed if not k.endswith("/")]
    assert len(written) == 3 * 24, written[:5]
    assert markers and all(m.startswith("arrow/events/") for m in markers), markers[:5]
    assert all(k.startswith("arrow/events/day=2026-01-0") and "/hour=" in k and k.endswith(".parquet")
               for k in written)

    back = ds.dataset(base, filesystem=fs, format="parquet", partitioning="hive")
    assert set(back.files) == {f"{BUCKET}/{k}" for k in written}
    got = back.to_table().select(table.column_names).sort_by("id")
    assert got.column("id").equals(table.column("id"))
    assert got.column("payload").equals(table.column("payload"))
    assert got.column("day").to_pylist() == table.column("day").to_pylist()
    assert got.column("hour").to_pylist() == table.column("hour").to_pylist()
    assert back.count_rows(filter=(ds.field("day") == "2026-01-02") & (ds.field("hour") == 5)) == \
        sum(1 for i in range(60_000) if i % 3 == 1 and (i // 3) % 24 == 5)

    # Selector listing (recursive and not) sees the hive folders.
    top = fs.get_file_info(pafs.FileSelector(base))
    assert sorted(i.base_name for i in top) == ["day=2026-01-01", "day=2026-01-02", "day=2026-01-03"]
    assert all(i.type == pafs.FileType.Directory for i in top)
    deep = fs.get_file_info(pafs.FileSelector(base, recursive=True))
    assert {i.path for i in deep if i.type == pafs.FileType.File} == {f"{BUCKET}/{k}" for k in written}


def test_pyarrow_write_table_multipart_read_back_and_compare(mock):
    _, fs, s3 = lake(mock)
    fs.create_dir(BUCKET)
    table = events(200_000)  # ~13 MiB of Parquet: three 5 MiB+ parts at pyarrow's default part size
    path = f"{BUCKET}/arrow/big.parquet"
    pq.write_table(table, path, filesystem=fs, compression="snappy")

    info = fs.get_file_info(path)
    assert info.type == pafs.FileType.File and info.size > 10 * MIB
    head = s3.head_object(Bucket=BUCKET, Key="arrow/big.parquet")
    assert head["ContentLength"] == info.size
    assert head["ETag"].strip('"').rsplit("-", 1)[-1].isdigit() and "-" in head["ETag"], \
        f"pyarrow writes with multipart: {head['ETag']}"
    assert head["ServerSideEncryption"] == "aws:kms", "lake objects carry SSE-KMS"

    back = pq.read_table(path, filesystem=fs)
    assert back.equals(table)
    # Byte-for-byte: what pyarrow streamed = what boto3 downloads = what pyarrow reads.
    via_boto = s3.get_object(Bucket=BUCKET, Key="arrow/big.parquet")["Body"].read()
    with fs.open_input_file(path) as f:
        via_arrow = f.read()
    assert hashlib.sha256(via_boto).digest() == hashlib.sha256(via_arrow).digest()
    assert pq.ParquetFile(pa.BufferReader(via_boto)).metadata.num_rows == 200_000

    # An output stream written in small pieces, also multipart.
    blob = os.urandom(11 * MIB)
    with fs.open_output_stream(f"{BUCKET}/arrow/blob.bin") as out:
        for i in range(0, len(blob), 256 * 1024):
            out.write(blob[i:i + 256 * 1024])
    with fs.open_input_stream(f"{BUCKET}/arrow/blob.bin") as f:
        assert hashlib.sha256(f.read()).digest() == hashlib.sha256(blob).digest()
    # Random access (ranged GETs) inside the second part.
    with fs.open_input_file(f"{BUCKET}/arrow/blob.bin") as f:
        f.seek(7 * MIB + 3)
        assert f.read(1000) == blob[7 * MIB + 3:7 * MIB + 1003]


def test_pyarrow_directories_get_file_info_and_delete_dir(mock):
    _, fs, s3 = lake(mock)
    fs.create_dir(BUCKET)
    for name in ("a.parquet", "sub/b.parquet", "sub/deeper/c.parquet"):
        pq.write_table(pa.table({"x": [1, 2, 3]}), f"{BUCKET}/dir/{name}", filesystem=fs)
    pq.write_table(pa.table({"x": [9]}), f"{BUCKET}/dirx.parquet", filesystem=fs)

    # A "directory" is a prefix, not an object: HEAD dir is 404, then a listing finds children.
    assert fs.get_file_info(f"{BUCKET}/dir").type == pafs.FileType.Directory
    assert fs.get_file_info(f"{BUCKET}/dir/sub").type == pafs.FileType.Directory
    assert fs.get_file_info(f"{BUCKET}/di").type == pafs.FileType.NotFound, "a key prefix is not a folder"
    assert fs.get_file_info(f"{BUCKET}/dir/a.parquet").type == pafs.FileType.File
    assert fs.get_file_info(f"{BUCKET}/nothing").type == pafs.FileType.NotFound
    assert fs.get_file_info(BUCKET).type == pafs.FileType.Directory

    fs.delete_dir(f"{BUCKET}/dir/sub")
    # Markers pyarrow created (`dir/` when writing into it, or re-creating the parent after a
    # delete) are keys in S3 listings.
    assert [k for k in keys(s3, "dir/") if not k.endswith("/")] == ["dir/a.parquet"]
    assert fs.get_file_info(f"{BUCKET}/dir/sub").type == pafs.FileType.NotFound
    fs.delete_dir_contents(f"{BUCKET}/dir")
    assert [k for k in keys(s3, "") if not k.endswith("/")] == ["dirx.parquet"], \
        "only the sibling with a similar name is left"
    with pytest.raises(OSError):
        fs.delete_file(f"{BUCKET}/no-such-file")


def test_pyarrow_create_dir_shows_an_empty_directory(mock):
    """pyarrow's create_dir PUTs a zero-byte `empty/` marker and later finds the empty directory by
    listing `empty/` with max-keys=1: S3 lists the marker as a key (and as a CommonPrefix of the
    bucket's delimited listing), so the directory exists and shows in its parent's listing."""
    _, fs, _ = lake(mock)
    fs.create_dir(BUCKET)
    fs.create_dir(f"{BUCKET}/empty")
    assert fs.get_file_info(f"{BUCKET}/empty").type == pafs.FileType.Directory
    listed = {i.path: i.type for i in fs.get_file_info(pafs.FileSelector(BUCKET))}
    assert listed == {f"{BUCKET}/empty": pafs.FileType.Directory}
    assert fs.get_file_info(pafs.FileSelector(f"{BUCKET}/empty")) == [], "an empty directory"


def test_d8_s2_pyarrow_refused_writes_and_sea_reads(mock):
    _, fs, _ = lake(mock)
    fs.create_dir(BUCKET)
    pq.write_table(pa.table({"x": [1]}), f"{BUCKET}/mine.parquet", filesystem=fs)
    _, other, _ = lake(mock, "other")
    with pytest.raises(OSError, match="(?i)access.?denied"):
        pq.write_table(pa.table({"x": [2]}), f"{BUCKET}/theirs.parquet", filesystem=other)
    with pytest.raises(OSError, match="(?i)access.?denied"):
        pq.read_table(f"{BUCKET}/mine.parquet", filesystem=other)
    with pytest.raises(OSError, match="(?i)BucketAlreadyExists|already exists|access.?denied"):
        other.create_dir(BUCKET)  # the name is taken

    sea = mock.sea_tenant("seauser", count=3)
    c = sea.creds
    sfs = arrow_fs(mock.s3, c.access_key_id, c.secret_access_key)
    files = {f"{SEA_BUCKET}/{f['sea']['key']}": f for f in mock.files(sea.token, tier="sea")}
    infos = sfs.get_file_info(pafs.FileSelector(f"{SEA_BUCKET}/{c.prefix}"))
    assert {i.path: i.size for i in infos} == {k: f["size"] for k, f in files.items()}
    for path, f in files.items():
        with sfs.open_input_file(path) as fh:
            assert fh.size() == f["size"]
            assert hashlib.sha256(fh.read()).hexdigest() == f["sha256"]
    with pytest.raises(OSError, match="(?i)access.?denied"):
        with sfs.open_output_stream(f"{SEA_BUCKET}/{c.prefix}upload.bin") as out:
            out.write(b"x")
    with pytest.raises(OSError, match="(?i)access.?denied"):
        sfs.delete_dir_contents(f"{SEA_BUCKET}/")


def test_s2_pyarrow_over_tls_with_tls_ca_file_path(mock_tls):
    """TLS endpoint (self-signed): `scheme="https"` and `tls_ca_file_path`; without it the AWS SDK
    refuses the certificate."""
    m = mock_tls
    t = m.tenant("acme")
    creds = lake_credentials(m, m.token(t))
    u = urlparse(creds["endpoint"])
    assert u.scheme == "https", creds

    def tls_fs(**extra: Any) -> pafs.S3FileSystem:
        return pafs.S3FileSystem(access_key=creds["access_key_id"], secret_key=creds["secret_access_key"],
                                 endpoint_override=u.netloc, scheme="https", region=REGION,
                                 connect_timeout=10, request_timeout=60, **extra)

    fs = tls_fs(tls_ca_file_path=str(m.ca_bundle), allow_bucket_creation=True)
    fs.create_dir("acme-tls")
    table = events(20_000)
    pq.write_table(table, "acme-tls/events.parquet", filesystem=fs)
    assert pq.read_table("acme-tls/events.parquet", filesystem=fs).equals(table)
    with pytest.raises(OSError, match="(?i)ssl|certificate|curl"):
        tls_fs().get_file_info("acme-tls/events.parquet")
