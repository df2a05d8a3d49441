"""deltalake (delta-rs) against the tenant's data-lake bucket on mock-cxone's S3 endpoint.

Settings as a user passes them: `storage_options` with `AWS_ENDPOINT_URL`, the data-lake key pair,
`AWS_REGION` and `AWS_ALLOW_HTTP` (the mock speaks plain HTTP here). Nothing else: delta-rs 1.x
commits on S3 with conditional writes by default (`PUT _delta_log/<version>.json` with
`If-None-Match: *`), so two writers never overwrite each other's commit — no DynamoDB lock and no
`AWS_S3_ALLOW_UNSAFE_RENAME`. The mock honours `If-None-Match: *` on PutObject for data-lake
buckets (412 PreconditionFailed when the key exists); the stale-writer test fails without it.

Covered: partitioned create, append, overwrite, versions, history, time travel, the log and data
files in the bucket, two writers racing for the same version, another tenant (D8) and SEA refused.
"""

from __future__ import annotations

CLIENT = "deltalake"

import re
from typing import Any

import pyarrow as pa
import pytest
from botocore.exceptions import ClientError
from deltalake import DeltaTable, write_deltalake

from conftest import REGION, SEA_BUCKET, Mock, s3_error_code, s3_status
from test_download_pyarrow import BUCKET, lake_credentials

TABLE = "delta/calls"
URI = f"s3://{BUCKET}/{TABLE}"


def options(creds: dict[str, Any] | tuple[str, str, str]) -> dict[str, str]:
    endpoint, key, secret = (
        (creds["endpoint"], creds["access_key_id"], creds["secret_access_key"])
        if isinstance(creds, dict) else creds
    )
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": key,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_REGION": REGION,
        "AWS_ALLOW_HTTP": "true",  # plain-HTTP endpoint; path-style is the default with an endpoint
    }


def lake(mock: Mock, name: str = "acme") -> tuple[dict[str, Any], Any]:
    """A tenant's data-lake credentials and a boto3 client on them; the bucket is created with
    boto3 (delta-rs writes into an existing bucket, as on S3)."""
    t = mock.tenant(name)
    creds = lake_credentials(mock, mock.token(t))
    s3 = mock.s3_client(creds["access_key_id"], creds["secret_access_key"])
    return creds, s3


def calls(ids: list[int], day: str) -> pa.Table:
    return pa.table({
        "call_id": pa.array(ids, pa.int64()),
        "agent": pa.array([f"agent-{i % 3}" for i in ids]),
        "seconds": pa.array([float(i) * 1.5 for i in ids]),
        "day": pa.array([day] * len(ids)),
    })


def keys(s3, prefix: str) -> list[str]:
    out = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        out += [o["Key"] for o in page.get("Contents", [])]
    return out


def sorted_rows(t: pa.Table) -> list[dict]:
    return sorted(t.select(["call_id", "agent", "seconds", "day"]).to_pylist(), key=lambda r: r["call_id"])


# ------------------------------------------------------------------------------------------


def test_deltalake_partitioned_create_append_overwrite_history_and_time_travel(mock):
    creds, s3 = lake(mock)
    s3.create_bucket(Bucket=BUCKET)
    so = options(creds)
    first, second = calls([1, 2, 3], "2026-01-05"), calls([4, 5], "2026-01-06")
    write_deltalake(URI, first, partition_by=["day"], storage_options=so)
    write_deltalake(URI, second, partition_by=["day"], mode="append", storage_options=so)

    dt = DeltaTable(URI, storage_options=so)
    assert dt.version() == 1
    assert sorted_rows(dt.to_pyarrow_table()) == sorted_rows(pa.concat_tables([first, second]))
    assert dt.metadata().partition_columns == ["day"]
    uris = dt.file_uris()
    assert len(uris) == 2 and all(u.startswith(f"{URI}/day=") for u in uris), uris

    # What is in the bucket: one JSON commit per version, Parquet files under hive folders.
    listed = keys(s3, f"{TABLE}/")
    log = sorted(k for k in listed if k.startswith(f"{TABLE}/_delta_log/") and k.endswith(".json"))
    assert log == [f"{TABLE}/_delta_log/{v:020d}.json" for v in (0, 1)], listed
    data = sorted(k for k in listed if k.endswith(".parquet"))
    assert {u.removeprefix(f"s3://{BUCKET}/") for u in uris} == set(data)
    assert {re.search(r"/day=([^/]+)/", k).group(1) for k in data} == {"2026-01-05", "2026-01-06"}

    third = calls([9], "2026-01-07")
    write_deltalake(URI, third, partition_by=["day"], mode="overwrite", storage_options=so)
    dt = DeltaTable(URI, storage_options=so)
    assert dt.version() == 2
    assert sorted_rows(dt.to_pyarrow_table()) == sorted_rows(third)
    history = dt.history()
    assert [h["version"] for h in history] == [2, 1, 0]
    assert [h["operationParameters"]["mode"] for h in history] == ["Overwrite", "Append", "ErrorIfExists"]
    # Time travel: the older versions still read from the bucket.
    assert sorted_rows(DeltaTable(URI, version=1, storage_options=so).to_pyarrow_table()) == \
        sorted_rows(pa.concat_tables([first, second]))
    assert sorted_rows(DeltaTable(URI, version=0, storage_options=so).to_pyarrow_table()) == sorted_rows(first)
    # Partition pruning reads one folder.
    got = DeltaTable(URI, version=1, storage_options=so).to_pyarrow_table(filters=[("day", "=", "2026-01-06")])
    assert sorted(got.column("call_id").to_pylist()) == [4, 5]

    # A second create of the same table refuses (mode "error"), leaving it intact.
    with pytest.raises(Exception, match="(?i)exist"):
        write_deltalake(URI, first, partition_by=["day"], storage_options=so)
    assert DeltaTable(URI, storage_options=so).version() == 2


def test_deltalake_two_stale_writers_both_commit_through_conditional_put(mock):
    """Both writers load version 1 and append. The second one's `PUT .../00000000000000000002.json`
    with `If-None-Match: *` must get 412 (the first one took version 2); delta-rs then re-checks
    for conflicts (appends never conflict) and commits as version 3. A server that ignored the
    condition would let the second commit replace the first: version 2, the first append lost."""
    creds, s3 = lake(mock)
    s3.create_bucket(Bucket=BUCKET)
    so = options(creds)
    write_deltalake(URI, calls([1], "2026-01-05"), partition_by=["day"], storage_options=so)
    write_deltalake(URI, calls([2], "2026-01-05"), partition_by=["day"], mode="append", storage_options=so)
    a = DeltaTable(URI, storage_options=so)
    b = DeltaTable(URI, storage_options=so)
    assert a.version() == b.version() == 1
    write_deltalake(a, calls([10], "2026-01-06"), partition_by=["day"], mode="append")
    write_deltalake(b, calls([20], "2026-01-07"), partition_by=["day"], mode="append")

    dt = DeltaTable(URI, storage_options=so)
    assert dt.version() == 3
    assert sorted(dt.to_pyarrow_table().column("call_id").to_pylist()) == [1, 2, 10, 20]
    assert [h["version"] for h in dt.history()] == [3, 2, 1, 0]

    # The mechanism itself, as delta-rs uses it: create-if-absent on an existing commit is 412.
    log2 = f"{TABLE}/_delta_log/{2:020d}.json"
    before = s3.get_object(Bucket=BUCKET, Key=log2)["Body"].read()
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=BUCKET, Key=log2, Body=b"{}", IfNoneMatch="*")
    assert s3_error_code(e.value) == "PreconditionFailed" and s3_status(e.value) == 412, e.value.response
    assert s3.get_object(Bucket=BUCKET, Key=log2)["Body"].read() == before


def test_d8_deltalake_another_tenant_and_sea_credentials_cannot_write(mock):
    creds, s3 = lake(mock)
    s3.create_bucket(Bucket=BUCKET)
    so = options(creds)
    write_deltalake(URI, calls([1, 2], "2026-01-05"), partition_by=["day"], storage_options=so)

    other, _ = lake(mock, "other")
    with pytest.raises(Exception, match="AccessDenied|403|Forbidden"):
        write_deltalake(URI, calls([666], "2026-01-05"), partition_by=["day"], mode="append",
                        storage_options=options(other))
    with pytest.raises(Exception, match="AccessDenied|403|Forbidden"):
        DeltaTable(URI, storage_options=options(other)).to_pyarrow_table()
    dt = DeltaTable(URI, storage_options=so)
    assert dt.version() == 0 and sorted(dt.to_pyarrow_table().column("call_id").to_pylist()) == [1, 2]

    # SEA is read-only: a Delta table cannot be created in the folder.
    t = mock.tenant("seauser")
    sea = mock.sea_credentials(mock.token(t))
    with pytest.raises(Exception, match="AccessDenied|403|Forbidden"):
        write_deltalake(f"s3://{SEA_BUCKET}/{sea.prefix}table", calls([1], "2026-01-05"),
                        storage_options=options((mock.s3, sea.access_key_id, sea.secret_access_key)))


def test_deltalake_optimize_checkpoint_delete_merge_and_vacuum(mock):
    """Maintenance a pipeline runs: compaction, a checkpoint (a Parquet file in the log and an
    overwritten `_last_checkpoint`), a delete, a merge, then vacuum deleting the dead files."""
    creds, s3 = lake(mock)
    s3.create_bucket(Bucket=BUCKET)
    so = options(creds)
    for i in range(4):
        write_deltalake(URI, calls([i, i + 100], "2026-01-05" if i % 2 else "2026-01-06"),
                        partition_by=["day"], mode="append", storage_options=so)
    dt = DeltaTable(URI, storage_options=so)
    before = len(dt.file_uris())
    assert before == 4
    metrics = dt.optimize.compact()
    assert metrics["numFilesRemoved"] == 4 and metrics["numFilesAdded"] == 2, metrics
    dt = DeltaTable(URI, storage_options=so)
    dt.create_checkpoint()
    log = keys(s3, f"{TABLE}/_delta_log/")
    assert f"{TABLE}/_delta_log/_last_checkpoint" in log
    assert f"{TABLE}/_delta_log/{dt.version():020d}.checkpoint.parquet" in log
    # A second checkpoint at a later version overwrites `_last_checkpoint` in place.
    DeltaTable(URI, storage_options=so).delete("call_id = 1")
    dt = DeltaTable(URI, storage_options=so)
    dt.create_checkpoint()
    last = s3.get_object(Bucket=BUCKET, Key=f"{TABLE}/_delta_log/_last_checkpoint")["Body"].read()
    assert f'"version":{dt.version()}' in last.decode(), last

    dt.merge(calls([2, 999], "2026-01-06"), "s.call_id = t.call_id", source_alias="s", target_alias="t") \
        .when_matched_update_all().when_not_matched_insert_all().execute()
    dt = DeltaTable(URI, storage_options=so)
    ids = sorted(dt.to_pyarrow_table().column("call_id").to_pylist())
    assert ids == [0, 2, 3, 100, 101, 102, 103, 999]

    live = {u.removeprefix(f"s3://{BUCKET}/") for u in dt.file_uris()}
    removed = dt.vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
    assert removed, "compaction, delete and merge left dead files"
    data_left = {k for k in keys(s3, f"{TABLE}/") if k.endswith(".parquet") and "/_delta_log/" not in k}
    assert data_left == live, "vacuum deleted exactly the files no longer in the table"
    assert sorted(DeltaTable(URI, storage_options=so).to_pyarrow_table().column("call_id").to_pylist()) == ids


def test_deltalake_over_tls_with_ssl_cert_file(mock_tls, monkeypatch):
    """TLS endpoint (self-signed): delta-rs' object store trusts `SSL_CERT_FILE` (plus the system
    roots); no `AWS_ALLOW_HTTP`."""
    creds, s3 = lake(mock_tls)
    assert creds["endpoint"].startswith("https://localhost:"), creds
    s3.create_bucket(Bucket=BUCKET)
    monkeypatch.setenv("SSL_CERT_FILE", str(mock_tls.ca_bundle))
    so = options(creds)
    del so["AWS_ALLOW_HTTP"]
    write_deltalake(URI, calls([1, 2], "2026-01-05"), partition_by=["day"], storage_options=so)
    write_deltalake(URI, calls([3], "2026-01-06"), partition_by=["day"], mode="append", storage_options=so)
    dt = DeltaTable(URI, storage_options=so)
    assert dt.version() == 1 and sorted(dt.to_pyarrow_table().column("call_id").to_pylist()) == [1, 2, 3]
