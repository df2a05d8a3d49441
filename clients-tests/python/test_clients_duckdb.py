"""DuckDB 1.5.5 + httpfs against mock-cxone's S3 endpoint.

httpfs is not bundled with the duckdb wheel and `INSTALL httpfs` downloads it; CI is offline, so the
extension comes from the PyPI wheel `duckdb-extension-httpfs` (same version as duckdb), which ships
the file at `duckdb_extension_httpfs/extensions/v<duckdb version>/httpfs.duckdb_extension` and has
no Python API: the tests `LOAD` it by that path. Settings as a user writes them: one
`CREATE SECRET (TYPE s3, ...)` with `ENDPOINT 'host:port'`, `URL_STYLE 'path'`, `USE_SSL false`
(the mock speaks plain HTTP here) and `REGION 'us-east-1'`.

Covered: hive-partitioned `read_parquet` over a Data Download's exports (D4), rows per partition =
the jobs' `record_counts` (D6); `glob()` listing; `COPY ... TO 's3://...' (PARTITION_BY ...)` into
the lake (DuckDB's multipart writer) and read back; SEA (S2) through `read_blob` (sha256 = the
storage API's), `glob`, refused writes; another tenant's bucket refused (D8).
"""

from __future__ import annotations

CLIENT = "duckdb"

import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import duckdb
import duckdb_extension_httpfs
import pytest

from conftest import REGION, SEA_BUCKET
from exports_world import DATA_TYPES, HIVE, make_world
from test_download_pyarrow import BUCKET, PREFIX, lake_credentials, rfc

HIVE_TYPES = "{" + ", ".join(f"'{c}': 'INTEGER'" for c in HIVE) + "}"


def httpfs_path() -> Path:
    """Where the `duckdb-extension-httpfs` wheel puts the extension for this duckdb version."""
    path = (Path(duckdb_extension_httpfs.__file__).parent / "extensions" / f"v{duckdb.__version__}"
            / "httpfs.duckdb_extension")
    assert path.is_file(), f"httpfs for duckdb {duckdb.__version__} not in the wheel: {path}"
    return path


def connect() -> duckdb.DuckDBPyConnection:
    # Offline: never let DuckDB reach for extensions.duckdb.org.
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    con.execute(f"LOAD '{httpfs_path().as_posix()}'")
    con.execute("SET TimeZone = 'UTC'")
    return con


def create_secret(con, name: str, endpoint: str, key: str, secret: str, scope: str | None = None) -> None:
    u = urlparse(endpoint)
    assert u.scheme == "http", endpoint
    scope_sql = f", SCOPE '{scope}'" if scope else ""
    con.execute(
        f"CREATE SECRET {name} (TYPE s3, KEY_ID '{key}', SECRET '{secret}', ENDPOINT '{u.netloc}', "
        f"URL_STYLE 'path', USE_SSL false, REGION '{REGION}'{scope_sql})"
    )


def lake_con(creds: dict[str, Any]) -> duckdb.DuckDBPyConnection:
    con = connect()
    create_secret(con, "lake", creds["endpoint"], creds["access_key_id"], creds["secret_access_key"])
    return con


def expected_per_hour(jobs: list[dict[str, Any]], data_type: str) -> dict[tuple[int, ...], int]:
    out = {}
    for job in jobs:
        t = rfc(job["interval_start"])
        if job["record_counts"][data_type]:
            out[(t.year, t.month, t.day, t.hour)] = job["record_counts"][data_type]
    return out


def per_hour(con, rel: str) -> dict[tuple[int, ...], int]:
    rows = con.execute(f"SELECT year, month, day, hour, count(*) FROM {rel} GROUP BY ALL").fetchall()
    return {tuple(r[:4]): r[4] for r in rows}


# ------------------------------------------------------------------------------------------


def test_d4_d6_duckdb_read_parquet_hive_over_exports_counts_equal_jobs(mock):
    w = make_world(mock)
    con = lake_con(w.lake)
    for data_type in DATA_TYPES:
        rel = (f"read_parquet('s3://{BUCKET}/{PREFIX}{data_type}/**/*.parquet', hive_partitioning = true, "
               f"hive_types = {HIVE_TYPES}, union_by_name = true)")
        cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {rel}").fetchall()]
        assert set(HIVE) <= set(cols), cols
        assert per_hour(con, rel) == expected_per_hour(w.jobs, data_type), data_type
        # Without hive_types the partition values are what the path says: zero-padded strings.
        months = con.execute(
            f"SELECT DISTINCT month FROM read_parquet('s3://{BUCKET}/{PREFIX}{data_type}/**/*.parquet', "
            f"hive_partitioning = true, union_by_name = true)").fetchall()
        assert months == [("01",)], months

    # glob() lists exactly the jobs' data files and manifests.
    listed = {r[0] for r in con.execute(f"SELECT file FROM glob('s3://{BUCKET}/{PREFIX}**')").fetchall()}
    expected = {u for j in w.jobs for u in j["output_files"] + j["manifests"]}
    assert listed == expected
    parquet = {r[0] for r in con.execute(f"SELECT file FROM glob('s3://{BUCKET}/{PREFIX}*/**/*.parquet')").fetchall()}
    assert parquet == {u for j in w.jobs for u in j["output_files"]}


def test_duckdb_copy_partition_by_into_the_lake_and_read_back(mock):
    w = make_world(mock)
    con = lake_con(w.lake)
    src = (f"read_parquet('s3://{BUCKET}/{PREFIX}cdr/**/*.parquet', hive_partitioning = true, "
           f"hive_types = {HIVE_TYPES}, union_by_name = true)")
    con.execute(f"CREATE TABLE cdr AS SELECT * FROM {src}")
    n = con.execute("SELECT count(*) FROM cdr").fetchone()[0]
    assert n == sum(j["record_counts"]["cdr"] for j in w.jobs) > 0

    con.execute(f"COPY cdr TO 's3://{BUCKET}/duck/cdr' (FORMAT parquet, PARTITION_BY (year, month, day, hour))")
    written = sorted(r[0] for r in con.execute(f"SELECT file FROM glob('s3://{BUCKET}/duck/cdr/**')").fetchall())
    hours = {rfc(j["interval_start"]).hour for j in w.jobs if j["record_counts"]["cdr"]}
    assert len(written) == len(hours), written
    for f in written:  # DuckDB writes unpadded hive values: month=1
        assert f.startswith(f"s3://{BUCKET}/duck/cdr/year=2026/month=1/day=5/hour="), f
    back = f"read_parquet('s3://{BUCKET}/duck/cdr/**/*.parquet', hive_partitioning = true, hive_types = {HIVE_TYPES})"
    assert per_hour(con, back) == expected_per_hour(w.jobs, "cdr")
    diff = con.execute(f"SELECT count(*) FROM (SELECT * FROM cdr EXCEPT ALL SELECT * FROM {back})").fetchone()[0]
    assert diff == 0, "what DuckDB wrote to the lake reads back row for row"

    # A single large file (DuckDB's S3 writer buffers parts of up to its part size).
    con.execute(f"COPY (SELECT i, md5(i::VARCHAR) || md5((i*7)::VARCHAR) AS s FROM range(400000) t(i)) "
                f"TO 's3://{BUCKET}/duck/big.csv' (FORMAT csv)")
    s3 = mock.s3_client(w.lake["access_key_id"], w.lake["secret_access_key"])
    got = s3.get_object(Bucket=BUCKET, Key="duck/big.csv")
    body = got["Body"].read()
    assert len(body) == got["ContentLength"] > 5 * 1024 * 1024
    etag = got["ETag"].strip('"')
    md5 = hashlib.md5(body)
    assert etag in (md5.hexdigest(), hashlib.md5(md5.digest()).hexdigest() + "-1"), etag
    assert con.execute(f"SELECT count(*), sum(i) FROM read_csv('s3://{BUCKET}/duck/big.csv')").fetchone() == \
        (400000, sum(range(400000)))


def test_s2_duckdb_reads_sea_with_read_blob_and_cannot_write(mock):
    w = make_world(mock)
    c = w.sea.creds
    con = connect()
    create_secret(con, "sea", mock.s3, c.access_key_id, c.secret_access_key, scope=f"s3://{SEA_BUCKET}")
    files = {f"s3://{SEA_BUCKET}/{f['sea']['key']}": f for f in mock.files(w.sea.token, tier="sea")}
    assert len(files) == 4
    listed = {r[0] for r in con.execute(f"SELECT file FROM glob('s3://{SEA_BUCKET}/{c.prefix}*')").fetchall()}
    assert listed == set(files)
    rows = con.execute(
        f"SELECT filename, size, sha256(content) FROM read_blob('s3://{SEA_BUCKET}/{c.prefix}*.mp4')"
    ).fetchall()
    assert {r[0]: (r[1], r[2]) for r in rows} == {k: (f["size"], f["sha256"]) for k, f in files.items()}
    with pytest.raises(duckdb.HTTPException, match="AccessDenied|403"):
        con.execute(f"COPY (SELECT 1 AS a) TO 's3://{SEA_BUCKET}/{c.prefix}x.parquet' (FORMAT parquet)")
    # Outside the folder: the bucket root is refused.
    with pytest.raises(duckdb.Error, match="AccessDenied|403"):
        con.execute(f"SELECT * FROM read_blob('s3://{SEA_BUCKET}/other-tenant/x.mp4')").fetchall()


def test_d8_duckdb_another_tenants_bucket_is_access_denied(mock):
    w = make_world(mock)
    con = lake_con(w.other_lake)
    export = w.jobs[0]["output_files"][0]
    with pytest.raises(duckdb.HTTPException, match="AccessDenied|403"):
        con.execute(f"SELECT count(*) FROM read_parquet('{export}')").fetchall()
    with pytest.raises(duckdb.Error, match="AccessDenied|403"):
        con.execute(f"COPY (SELECT 1 AS a) TO 's3://{BUCKET}/intruder.parquet' (FORMAT parquet)")
    # ... while the owner's credentials read the same file.
    own = lake_con(w.lake)
    n = own.execute(f"SELECT count(*) FROM read_parquet('{export}')").fetchone()[0]
    dt = export.split(PREFIX, 1)[1].split("/", 1)[0]
    assert n == w.jobs[0]["record_counts"][dt]


def test_d6_duckdb_copy_overwrite_append_split_files_and_manifests_as_json(mock):
    w = make_world(mock)
    con = lake_con(w.lake)
    src = (f"read_parquet('s3://{BUCKET}/{PREFIX}cdr/**/*.parquet', hive_partitioning = true, "
           f"hive_types = {HIVE_TYPES}, union_by_name = true)")
    total = sum(j["record_counts"]["cdr"] for j in w.jobs)
    first = rfc(w.jobs[0]["interval_start"]).hour
    target = f"s3://{BUCKET}/duck/by_hour"
    back = f"read_parquet('{target}/**/*.parquet', hive_partitioning = true, hive_types = {{'hour': 'INTEGER'}})"

    con.execute(f"COPY (SELECT * EXCLUDE (year, month, day) FROM {src}) TO '{target}' "
                f"(FORMAT parquet, PARTITION_BY (hour))")
    assert con.execute(f"SELECT count(*) FROM {back}").fetchone()[0] == total
    # OVERWRITE: DuckDB lists and deletes what is under the target first.
    con.execute(f"COPY (SELECT * EXCLUDE (year, month, day) FROM {src} WHERE hour = {first}) TO '{target}' "
                f"(FORMAT parquet, PARTITION_BY (hour), OVERWRITE)")
    files = [r[0] for r in con.execute(f"SELECT file FROM glob('{target}/**')").fetchall()]
    assert files == [f"{target}/hour={first}/data_0.parquet"], files
    assert con.execute(f"SELECT count(*) FROM {back}").fetchone()[0] == w.jobs[0]["record_counts"]["cdr"]
    # APPEND: new uniquely named files next to the old ones.
    con.execute(f"COPY (SELECT * EXCLUDE (year, month, day) FROM {src}) TO '{target}' "
                f"(FORMAT parquet, PARTITION_BY (hour), APPEND)")
    assert con.execute(f"SELECT count(*) FROM {back}").fetchone()[0] == total + w.jobs[0]["record_counts"]["cdr"]

    # Several files per thread, bounded size: many multipart uploads in parallel.
    con.execute(f"COPY (SELECT range AS i, md5(range::VARCHAR) AS s FROM range(400000)) "
                f"TO 's3://{BUCKET}/duck/split' (FORMAT parquet, FILE_SIZE_BYTES '5MB', PER_THREAD_OUTPUT)")
    n_files = con.execute(f"SELECT count(*) FROM glob('s3://{BUCKET}/duck/split/*.parquet')").fetchone()[0]
    assert n_files >= 2
    assert con.execute(f"SELECT count(*), count(DISTINCT i) FROM read_parquet('s3://{BUCKET}/duck/split/*.parquet')"
                       ).fetchone() == (400000, 400000)

    # The manifests next to the data, read as JSON: one per job, counts = the jobs API's.
    manifests = con.execute(
        f"SELECT job_id, record_count FROM read_json('s3://{BUCKET}/{PREFIX}cdr/**/_manifest-*.json')"
    ).fetchall()
    assert dict(manifests) == {j["id"]: j["record_counts"]["cdr"] for j in w.jobs}


@pytest.mark.xfail(strict=False, reason="the mock stores keys as files and refuses keys with an empty "
                   "segment (`a//b`, 400 InvalidArgument); S3 stores them. DuckDB writes `dir//data_0.parquet` "
                   "when a COPY target ends with '/' and PER_THREAD_OUTPUT is on: leave the slash off")
def test_duckdb_copy_to_a_target_with_trailing_slash(mock):
    w = make_world(mock)
    con = lake_con(w.lake)
    con.execute(f"COPY (SELECT range AS i FROM range(10)) TO 's3://{BUCKET}/duck/slash/' "
                f"(FORMAT parquet, PER_THREAD_OUTPUT)")
    assert con.execute(f"SELECT count(*) FROM read_parquet('s3://{BUCKET}/duck/slash//*.parquet')").fetchone()[0] == 10


def test_s2_duckdb_over_tls_verifies_the_certificate(mock_tls):
    """TLS endpoint (self-signed): `USE_SSL true` and httpfs' `ca_cert_file` setting; without the
    CA the handshake is refused, so the certificate really is checked."""
    m = mock_tls
    t = m.tenant("acme")
    creds = lake_credentials(m, m.token(t))
    u = urlparse(creds["endpoint"])
    assert u.scheme == "https", creds
    s3 = m.s3_client(creds["access_key_id"], creds["secret_access_key"])
    s3.create_bucket(Bucket="acme-tls")
    s3.put_object(Bucket="acme-tls", Key="hello.txt", Body=b"hello over tls")
    con = connect()
    con.execute(f"CREATE SECRET lake (TYPE s3, KEY_ID '{creds['access_key_id']}', SECRET '{creds['secret_access_key']}', "
                f"ENDPOINT '{u.netloc}', URL_STYLE 'path', USE_SSL true, REGION '{REGION}')")
    with pytest.raises(duckdb.IOException, match="(?i)ssl|certificate"):
        con.execute("SELECT content FROM read_blob('s3://acme-tls/hello.txt')").fetchall()
    con.execute(f"SET ca_cert_file = '{m.ca_bundle}'")
    assert con.execute("SELECT content FROM read_blob('s3://acme-tls/hello.txt')").fetchall() == [(b"hello over tls",)]
    con.execute("COPY (SELECT 42 AS answer) TO 's3://acme-tls/answer.parquet' (FORMAT parquet)")
    assert con.execute("SELECT answer FROM read_parquet('s3://acme-tls/answer.parquet')").fetchall() == [(42,)]
