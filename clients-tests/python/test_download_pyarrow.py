"""Data Download read the way the guide's pipeline reads it (CONTRACT §4; D2, D3, D4, D5, D6):
create the telephony download, let the mock clock run, poll the jobs API until the intervals are
COMPLETED (never trusting the mere presence of files), then read each data type's folder as one
hive-partitioned dataset with pyarrow's dataset API through pyarrow's own S3 filesystem, and once
more with DuckDB. Every row count, checksum and manifest is reconciled against the jobs API.

DuckDB's `httpfs` extension is not bundled with the wheel and `INSTALL httpfs` downloads it from
the internet, which CI does not have: the DuckDB test copies the folder with boto3 into a temp dir
and points `read_parquet(..., hive_partitioning = true)` at it, which works offline.

Data types are discovered from `GET /api/v2/data-downloads/schemas`, so the tests follow the
catalog as it grows.
"""


from __future__ import annotations

CLIENT = "pyarrow"

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from conftest import REGION, Mock, MockProcess, Tenant

DOWNLOADS = "/api/v2/data-downloads"
BUCKET = "org-cxone-data-lake"
PREFIX = "exports/telephony/"
#: The guide's telephony data types (used where the catalog has them).
GUIDE_TYPES = ("cdr", "acd", "skill_group")
#: A Monday morning (UTC): a busy contact centre, so hours hold many records.
BUSY = "2026-01-05T09:00:00Z"
HOURS = 6
PARTITION_COLUMNS = ["year", "month", "day", "hour"]
UTC_US = pa.timestamp("us", tz="UTC")


# ------------------------------------------------------------------------------------------
# Helpers: what a customer's pipeline does with the REST API
# ------------------------------------------------------------------------------------------


def rfc(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def schemas(mock: Mock, token: str) -> dict[str, Any]:
    r = mock.get(f"{DOWNLOADS}/schemas", token)
    assert r.status_code == 200, r.text
    return r.json()["categories"]


def telephony_types(cat: dict[str, Any]) -> list[str]:
    """The guide's telephony data types, each documented by the schemas endpoint."""
    known = cat["telephony"]["data_types"]
    missing = [t for t in GUIDE_TYPES if t not in known]
    assert not missing, f"telephony does not document {missing}: {sorted(known)}"
    return list(GUIDE_TYPES)


def telephony_body(data_types: list[str], fmt: str = "parquet", bucket: str = BUCKET,
                   prefix: str = PREFIX) -> dict[str, Any]:
    return {
        "category": "telephony",
        "data_types": data_types,
        "format": fmt,
        "compression": "zstd" if fmt == "parquet" else "none",
        "partitioning": {"enabled": True, "structure": "year={yyyy}/month={MM}/day={dd}/hour={HH}"},
        "schedule": {"frequency": "HOURLY", "offset_minutes": 20},
        "destination": {"type": "aws_s3", "bucket": bucket, "prefix": prefix},
    }


def create_download(mock: Mock, token: str, body: dict[str, Any]) -> dict[str, Any]:
    r = mock.post(DOWNLOADS, token, json=body)
    assert r.status_code == 201, f"POST {DOWNLOADS} -> {r.status_code}: {r.text}"
    d = r.json()
    assert d["id"].startswith("dl-") and d["status"] == "active", d
    return d


def all_jobs(mock: Mock, token: str, download_id: str, **params: Any) -> list[dict[str, Any]]:
    """Every page of the jobs API."""
    out: list[dict[str, Any]] = []
    q: dict[str, Any] = {"page_size": 50, **params}
    for _ in range(1000):
        r = mock.get(f"{DOWNLOADS}/{download_id}/jobs", token, params=q)
        assert r.status_code == 200, f"jobs {q} -> {r.status_code}: {r.text}"
        v = r.json()
        out.extend(v["jobs"])
        if not v.get("next_page_token"):
            return out
        q["page_token"] = v["next_page_token"]
    raise AssertionError("jobs listing never ended")


def poll_completed(mock: Mock, tenant: Tenant, download_id: str, interval_starts: list[str],
                   step: str = "10m", max_polls: int = 24) -> list[dict[str, Any]]:
    """Polls the jobs API until the job of every interval is COMPLETED, moving the mock clock
    between polls (what `sleep` is for a real pipeline). Fails on a FAILED or TIMED_OUT job.
    Tokens live an hour of mock time, so every poll takes a fresh one."""
    last: list[dict[str, Any]] = []
    for _ in range(max_polls):
        token = mock.token(tenant)
        last = all_jobs(mock, token, download_id)
        by_start = {j["interval_start"]: j for j in last if j["kind"] == "scheduled"}
        bad = [j for j in last if j["status"] in ("FAILED", "TIMED_OUT")]
        assert not bad, f"jobs failed: {json.dumps(bad, indent=1)}"
        if all(by_start.get(s, {}).get("status") == "COMPLETED" for s in interval_starts):
            return [by_start[s] for s in interval_starts]
        mock.advance(by=step)
    raise AssertionError(f"intervals {interval_starts} never all COMPLETED: {json.dumps(last, indent=1)}")


def lake_credentials(mock: Mock, token: str) -> dict[str, Any]:
    r = mock.post("/api/v2/data-lake/credentials", token)
    assert r.status_code == 201, f"data-lake credentials -> {r.status_code}: {r.text}"
    v = r.json()
    for field in ("access_key_id", "secret_access_key", "endpoint"):
        assert v.get(field), v
    return v


def arrow_s3(creds: dict[str, Any]) -> pafs.S3FileSystem:
    """pyarrow's S3 filesystem on the mock's S3 endpoint (path-style, us-east-1, plain HTTP)."""
    u = urlparse(creds["endpoint"])
    assert u.scheme == "http" and u.hostname and u.port, creds["endpoint"]
    return pafs.S3FileSystem(
        access_key=creds["access_key_id"],
        secret_key=creds["secret_access_key"],
        endpoint_override=f"{u.hostname}:{u.port}",
        scheme="http",
        region=REGION,
        connect_timeout=10,
        request_timeout=60,
    )


def split_uri(uri: str) -> tuple[str, str]:
    assert uri.startswith("s3://"), uri
    bucket, _, key = uri[len("s3://"):].partition("/")
    return bucket, key


def data_type_of(uri: str, prefix: str = PREFIX) -> str:
    key = split_uri(uri)[1]
    assert key.startswith(prefix), key
    return key[len(prefix):].split("/", 1)[0]


def partition_path(interval_start: str) -> str:
    t = rfc(interval_start)
    return f"year={t:%Y}/month={t:%m}/day={t:%d}/hour={t:%H}"


def arrow_type(declared: str) -> pa.DataType:
    """The Arrow type of a schema column type of the schemas endpoint."""
    mapping = {
        "string": pa.string(),
        "int64": pa.int64(),
        "integer": pa.int64(),
        "float64": pa.float64(),
        "double": pa.float64(),
        "boolean": pa.bool_(),
        "bool": pa.bool_(),
        "timestamp": UTC_US,
    }
    assert declared in mapping, f"undocumented column type {declared!r}"
    return mapping[declared]


def read_bytes(fs: pafs.FileSystem, uri: str) -> bytes:
    bucket, key = split_uri(uri)
    with fs.open_input_stream(f"{bucket}/{key}") as f:
        return f.read()


# ------------------------------------------------------------------------------------------
# The pipeline: one mock for the module, read-only tests on what it exported
# ------------------------------------------------------------------------------------------


@dataclass
class Pipeline:
    mock: Mock
    tenant: Tenant
    download: dict[str, Any]
    data_types: list[str]
    schemas: dict[str, Any]
    jobs: list[dict[str, Any]]
    creds: dict[str, Any]

    def schema_of(self, data_type: str) -> dict[str, Any]:
        return self.schemas["telephony"]["data_types"][data_type]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("pipeline")
    process = MockProcess(base / "data", base / "mock-cxone.log")
    mock = Mock(process)
    try:
        mock.advance(to=BUSY)
        tenant = mock.tenant("acme")
        token = mock.token(tenant)
        cat = schemas(mock, token)
        types = telephony_types(cat)
        d = create_download(mock, token, telephony_body(types))
        starts = [iso(rfc(BUSY) + timedelta(hours=h)) for h in range(HOURS)]
        mock.advance(by=f"{HOURS}h")
        jobs = poll_completed(mock, tenant, d["id"], starts)
        creds = lake_credentials(mock, mock.token(tenant))
        yield Pipeline(mock, tenant, d, types, cat, jobs, creds)
        assert process.proc.poll() is None, f"mock-cxone died; stderr:\n{process.log_tail()}"
    finally:
        mock.close()
        process.stop()


def test_d5_d6_pipeline_jobs_complete_with_one_file_and_manifest_per_data_type(pipeline):
    assert len(pipeline.jobs) == HOURS
    total = 0
    for job in pipeline.jobs:
        assert job["status"] == "COMPLETED" and job["error_details"] is None, job
        assert job["download_id"] == pipeline.download["id"] and job["category"] == "telephony"
        assert rfc(job["interval_end"]) - rfc(job["interval_start"]) == timedelta(hours=1)
        wait = rfc(job["start_time"]) - rfc(job["interval_end"])
        assert timedelta(minutes=20) <= wait <= timedelta(minutes=25), job  # D5: max(offset, 15-25 min)
        assert rfc(job["end_time"]) >= rfc(job["start_time"])
        assert sorted(job["record_counts"]) == sorted(pipeline.data_types), job
        assert job["record_count"] == sum(job["record_counts"].values())
        assert sorted(map(data_type_of, job["output_files"])) == sorted(pipeline.data_types)
        assert sorted(map(data_type_of, job["manifests"])) == sorted(pipeline.data_types)
        assert set(job["checksums"]) == set(job["output_files"])
        for uri in job["output_files"]:
            bucket, key = split_uri(uri)
            assert bucket == BUCKET
            assert key == f"{PREFIX}{data_type_of(uri)}/{partition_path(job['interval_start'])}/part-00000.parquet"
        total += job["record_count"]
    assert pipeline.jobs[0]["record_counts"]["cdr"] > 10, "a Monday morning hour has calls"
    assert total > 0


def unified_dataset(fs: pafs.FileSystem, data_type: str) -> ds.Dataset:
    """The data type's folder as one hive-partitioned dataset. Files may differ in columns (D3
    drops all-null columns per file), so the pipeline unifies every file's schema first instead of
    trusting the first file's."""
    base = f"{BUCKET}/{PREFIX}{data_type}/"
    probe = ds.dataset(base, filesystem=fs, format="parquet", partitioning="hive")
    schema = pa.unify_schemas([pq.read_schema(f, filesystem=fs) for f in probe.files])
    schema = pa.unify_schemas([schema, probe.partitioning.schema])
    return ds.dataset(base, filesystem=fs, format="parquet", partitioning="hive", schema=schema)


def test_d3_d4_d6_pyarrow_dataset_with_hive_partitioning_reconciles_with_jobs_and_manifests(pipeline):
    fs = arrow_s3(pipeline.creds)
    for data_type in pipeline.data_types:
        declared = pipeline.schema_of(data_type)
        declared_cols = {c["name"]: c for c in declared["columns"]}
        assert not set(PARTITION_COLUMNS) & set(declared_cols), "partition keys would shadow columns"
        dataset = unified_dataset(fs, data_type)

        # The dataset is exactly the jobs' data files: manifests (`_manifest-*.json`) are skipped
        # by pyarrow's default ignore prefixes even though they sit in the same partitions.
        expected_files = {
            split_uri(u)[0] + "/" + split_uri(u)[1]
            for j in pipeline.jobs for u in j["output_files"] if data_type_of(u) == data_type
        }
        assert set(dataset.files) == expected_files
        listed = fs.get_file_info(pafs.FileSelector(f"{BUCKET}/{PREFIX}{data_type}/", recursive=True))
        manifests = {i.path for i in listed if i.type == pafs.FileType.File and i.base_name.startswith("_manifest-")}
        expected_manifests = {
            "/".join(split_uri(u)) for j in pipeline.jobs for u in j["manifests"] if data_type_of(u) == data_type
        }
        assert manifests == expected_manifests, "one manifest per job per data type"
        assert not manifests & set(dataset.files)
        # ... and it is pyarrow's default that keeps them out: without ignore prefixes they are in.
        unfiltered = ds.dataset(f"{BUCKET}/{PREFIX}{data_type}/", filesystem=fs, format="parquet",
                                partitioning="hive", schema=dataset.schema, ignore_prefixes=[])
        assert set(unfiltered.files) == expected_files | manifests

        # Partition columns come from the hive path; file columns are the documented ones.
        names = dataset.schema.names
        assert names[-4:] == PARTITION_COLUMNS, names
        for c in names[:-4]:
            assert c in declared_cols, f"{data_type}.{c} is not in the documented schema"
        for c in declared["key_columns"] + [declared["event_time_column"], "last_update_time"]:
            assert c in names, f"{data_type}: key/event/update column {c} is missing"
        for field in dataset.schema:
            if field.name in declared_cols and declared_cols[field.name]["type"] == "timestamp":
                assert field.type == UTC_US, f"{data_type}.{field.name}: {field.type}"

        table = dataset.to_table()
        for job in pipeline.jobs:
            t = rfc(job["interval_start"])
            expr = ((ds.field("year") == t.year) & (ds.field("month") == t.month)
                    & (ds.field("day") == t.day) & (ds.field("hour") == t.hour))
            part = table.filter(expr)
            assert part.num_rows == job["record_counts"][data_type], (data_type, job["interval_start"])
            assert dataset.count_rows(filter=expr) == part.num_rows
            # Records of an interval have their event time in it (exports partition by interval_start).
            ev = part.column(declared["event_time_column"])
            if part.num_rows:
                assert pc.min(ev).as_py() >= t and pc.max(ev).as_py() < rfc(job["interval_end"]), data_type
            # Key columns identify a record within an interval.
            keys = declared["key_columns"]
            if part.num_rows:
                counts = part.group_by(keys).aggregate([([], "count_all")])
                assert counts.num_rows == part.num_rows, f"{data_type} {job['interval_start']}: duplicate keys"
            assert pc.sum(pc.is_null(part.column(keys[0]))).as_py() in (0, None)

            # sha256 of the bytes = the job's checksum = the manifest's files[].sha256.
            [uri] = [u for u in job["output_files"] if data_type_of(u) == data_type]
            data = read_bytes(fs, uri)
            digest = hashlib.sha256(data).hexdigest()
            assert job["checksums"][uri] == f"sha256:{digest}", uri
            [muri] = [u for u in job["manifests"] if data_type_of(u) == data_type]
            assert split_uri(muri)[1].endswith(f"/_manifest-{job['id']}.json"), muri
            manifest = json.loads(read_bytes(fs, muri))
            assert manifest["job_id"] == job["id"] and manifest["download_id"] == pipeline.download["id"]
            assert manifest["data_type"] == data_type
            assert manifest["interval_start"] == job["interval_start"]
            assert manifest["interval_end"] == job["interval_end"]
            assert manifest["files"] == [{"key": split_uri(uri)[1], "sha256": digest,
                                          "rows": job["record_counts"][data_type]}]
            assert manifest["record_count"] == job["record_counts"][data_type]
            assert manifest["schema_version"] == declared["version"]
            assert pq.ParquetFile(io.BytesIO(data)).metadata.num_rows == part.num_rows
        assert table.num_rows == sum(j["record_counts"][data_type] for j in pipeline.jobs)


def test_d3_key_columns_are_strings_or_integers_in_schemas_and_parquet(pipeline):
    wrong = []
    for category, cat in pipeline.schemas.items():
        for data_type, declared in cat["data_types"].items():
            types = {c["name"]: c["type"] for c in declared["columns"]}
            wrong += [f"{category}.{data_type}.{k}: {types[k]}" for k in declared["key_columns"]
                      if types[k] not in ("string", "int64")]
    fs = arrow_s3(pipeline.creds)
    for data_type in pipeline.data_types:
        schema = unified_dataset(fs, data_type).schema
        for k in pipeline.schema_of(data_type)["key_columns"]:
            if not (pa.types.is_string(schema.field(k).type) or pa.types.is_integer(schema.field(k).type)):
                wrong.append(f"parquet telephony.{data_type}.{k}: {schema.field(k).type}")
    assert not wrong, wrong


def test_d3_parquet_files_are_zstd_compressed_as_configured(pipeline):
    fs = arrow_s3(pipeline.creds)
    job = pipeline.jobs[0]
    for uri in job["output_files"]:
        meta = pq.ParquetFile(io.BytesIO(read_bytes(fs, uri))).metadata
        for rg in range(meta.num_row_groups):
            for col in range(meta.num_columns):
                assert meta.row_group(rg).column(col).compression == "ZSTD", uri


def test_d4_duckdb_reads_the_downloaded_folder_with_hive_partitioning(pipeline, tmp_path):
    duckdb = pytest.importorskip("duckdb")
    s3 = pipeline.mock.s3_client(pipeline.creds["access_key_id"], pipeline.creds["secret_access_key"])
    data_type = "cdr"
    declared = pipeline.schema_of(data_type)
    root = tmp_path / data_type
    # Copy the folder as `aws s3 sync` would, manifests included: DuckDB's glob picks the data.
    count = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=f"{PREFIX}{data_type}/"):
        for o in page.get("Contents", []):
            dest = root / o["Key"][len(f"{PREFIX}{data_type}/"):]
            dest.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(BUCKET, o["Key"], str(dest))
            count += 1
    assert count == 2 * len(pipeline.jobs), "one data file and one manifest per interval"

    con = duckdb.connect()
    con.execute("SET autoinstall_known_extensions = false")  # offline: never try the network
    con.execute("SET TimeZone = 'UTC'")
    # Zero-padded partition values (`month=01`) stay strings unless typed: type them as a pipeline would.
    hive_types = "{" + ", ".join(f"'{c}': 'INTEGER'" for c in PARTITION_COLUMNS) + "}"
    rel = (f"read_parquet('{root.as_posix()}/**/*.parquet', hive_partitioning = true, "
           f"hive_types = {hive_types}, union_by_name = true)")
    cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {rel}").fetchall()]
    for c in PARTITION_COLUMNS:
        assert c in cols, cols
    per_hour = dict(con.execute(
        f"SELECT year || '-' || month || '-' || day || 'T' || hour, count(*) FROM {rel} GROUP BY ALL"
    ).fetchall())
    for job in pipeline.jobs:
        t = rfc(job["interval_start"])
        label = f"{t.year}-{t.month}-{t.day}T{t.hour}"
        assert per_hour.get(label, 0) == job["record_counts"][data_type], (label, per_hour)

    keys = ", ".join(f'"{k}"' for k in declared["key_columns"])
    dupes = con.execute(
        f"SELECT year, month, day, hour, {keys}, count(*) AS n FROM {rel} GROUP BY ALL HAVING n > 1"
    ).fetchall()
    assert dupes == [], dupes
    ts_types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {rel})").fetchall())
    for c in declared["columns"]:
        if c["type"] == "timestamp" and c["name"] in ts_types:
            assert ts_types[c["name"]] == "TIMESTAMP WITH TIME ZONE", (c["name"], ts_types[c["name"]])

    # The same rows as pyarrow read over S3.
    fs = arrow_s3(pipeline.creds)
    via_arrow = unified_dataset(fs, data_type).to_table(columns=declared["key_columns"])
    k0 = declared["key_columns"][0]
    via_duck = sorted(r[0] for r in con.execute(f'SELECT "{k0}" FROM {rel}').fetchall())
    assert via_duck == sorted(via_arrow.column(k0).to_pylist())


# ------------------------------------------------------------------------------------------
# D3: CSV keeps every column; Parquet of the same data may drop all-null ones
# ------------------------------------------------------------------------------------------


def csv_table(data: bytes, declared: dict[str, Any]) -> pa.Table:
    """A CSV export as typed Arrow, with the documented types: empty = null, `""` = empty string."""
    types = {c["name"]: arrow_type(c["type"]) for c in declared["columns"]}
    return pacsv.read_csv(
        io.BytesIO(data),
        convert_options=pacsv.ConvertOptions(
            column_types=types,
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            true_values=["true"],
            false_values=["false"],
        ),
    )


def test_d3_csv_header_keeps_every_column_and_parquet_of_the_same_data_drops_only_all_null_ones(mock, tmp_path):
    # A quiet night (T0, 00:00-04:00) has few calls: the hours where a nullable column is null in
    # every row are the ones where Parquet and CSV differ.
    tenant = mock.tenant("acme")
    token = mock.token(tenant)
    cat = schemas(mock, token)
    types = telephony_types(cat)
    d_csv = create_download(mock, token, telephony_body(types, "csv", prefix="csv/"))
    d_pq = create_download(mock, token, telephony_body(types, "parquet", prefix="parquet/"))
    hours = 4
    starts = [iso(rfc("2026-01-01T00:00:00Z") + timedelta(hours=h)) for h in range(hours)]
    mock.advance(by=f"{hours}h")
    jobs_csv = poll_completed(mock, tenant, d_csv["id"], starts)
    jobs_pq = poll_completed(mock, tenant, d_pq["id"], starts)
    creds = lake_credentials(mock, mock.token(tenant))
    fs = arrow_s3(creds)

    dropped: list[tuple[str, str, list[str]]] = []
    for jc, jp in zip(jobs_csv, jobs_pq):
        assert jc["interval_start"] == jp["interval_start"]
        assert jc["record_counts"] == jp["record_counts"], "same data, whatever the format"
        for data_type in types:
            declared = cat["telephony"]["data_types"][data_type]
            declared_names = [c["name"] for c in declared["columns"]]
            [curi] = [u for u in jc["output_files"] if data_type_of(u, "csv/") == data_type]
            [puri] = [u for u in jp["output_files"] if data_type_of(u, "parquet/") == data_type]
            assert curi.endswith(f"/{partition_path(jc['interval_start'])}/part-00000.csv"), curi
            raw = read_bytes(fs, curi)
            assert jc["checksums"][curi] == "sha256:" + hashlib.sha256(raw).hexdigest()

            # The header, read with the stdlib csv module: every documented column, in order.
            rows = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))
            assert rows[0] == declared_names, f"{data_type}: CSV keeps every column (D3)"
            assert len(rows) - 1 == jc["record_counts"][data_type]

            # Typed with pyarrow.csv; the Parquet file of the same interval holds the same values
            # minus exactly the columns that are null in every row.
            ct = csv_table(raw, declared)
            assert ct.column_names == declared_names and ct.num_rows == jc["record_counts"][data_type]
            pt = pq.read_table(io.BytesIO(read_bytes(fs, puri)))
            all_null = [n for n in declared_names if ct.num_rows and ct.column(n).null_count == ct.num_rows]
            if ct.num_rows == 0:
                assert pt.column_names == declared_names, "a zero-row file keeps the full schema"
            else:
                assert pt.column_names == [n for n in declared_names if n not in all_null], (data_type, all_null)
            for c in all_null:
                assert next(x for x in declared["columns"] if x["name"] == c)["nullable"], c
            if all_null:
                dropped.append((jc["interval_start"], data_type, all_null))
            key_order = [(k, "ascending") for k in declared["key_columns"]]
            assert ct.select(pt.column_names).sort_by(key_order).to_pylist() == pt.sort_by(key_order).to_pylist()
    assert dropped, "some quiet hour has an all-null column that Parquet drops (D3)"
