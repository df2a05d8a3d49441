"""Data Download to an external S3-compatible destination (CONTRACT §4, D3, D8): a moto S3 server
stands in for the customer's own bucket. The mock writes there with the key pair of the
download's `destination`, path-style SigV4, and never retries.

moto checks signatures only once its auth is switched on (`/moto-api/reset-auth`), against IAM
users it knows, so the module's moto server gets one IAM user with an S3 policy first and then
enforces auth: a wrong secret is refused as AWS would refuse it (SignatureDoesNotMatch).
"""


from __future__ import annotations

CLIENT = "object_store-to-moto"

import hashlib
import io
import json
from dataclasses import dataclass

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import requests
from botocore.config import Config

from conftest import REGION

DOWNLOADS = "/api/v2/data-downloads"
PREFIX = "exports/telephony/"
#: A Monday morning (UTC), when the contact centre is busy.
BUSY = "2026-01-05T10:00:00Z"
S3_POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
)


@dataclass
class Moto:
    """A moto S3 server with auth enforced, and the key pair of an IAM user allowed S3."""

    endpoint: str
    access_key_id: str
    secret_access_key: str

    def client(self, secret: str | None = None):
        session = boto3.session.Session(
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=secret or self.secret_access_key,
            region_name=REGION,
        )
        cfg = Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1, "mode": "standard"})
        return session.client("s3", endpoint_url=self.endpoint, config=cfg)


def _reset_auth(endpoint: str, count: str) -> None:
    with requests.Session() as s:
        s.trust_env = False
        r = s.post(f"{endpoint}/moto-api/reset-auth", data=count, timeout=30)
    assert r.status_code == 200, r.text


def _reset_backends(endpoint: str) -> None:
    with requests.Session() as s:
        s.trust_env = False
        r = s.post(f"{endpoint}/moto-api/reset", timeout=30)
    assert r.status_code == 200, r.text


@pytest.fixture(scope="module")
def moto():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        # moto keeps its backends per process, not per server: a module that ran before in this
        # pytest process (test_destinations_recipe imports this fixture) left its IAM user there.
        _reset_backends(endpoint)
        # Set up while moto still accepts anything, then make it check every request.
        _reset_auth(endpoint, "inf")
        iam = boto3.client(
            "iam", endpoint_url=endpoint, region_name=REGION,
            aws_access_key_id="setup", aws_secret_access_key="setup",
        )
        iam.create_user(UserName="cxone-export")
        iam.put_user_policy(UserName="cxone-export", PolicyName="s3", PolicyDocument=S3_POLICY)
        key = iam.create_access_key(UserName="cxone-export")["AccessKey"]
        _reset_auth(endpoint, "0")
        yield Moto(endpoint, key["AccessKeyId"], key["SecretAccessKey"])
    finally:
        try:
            _reset_auth(endpoint, "inf")
        finally:
            server.stop()


def create_download(mock, token: str, moto: Moto, bucket: str, secret: str | None = None) -> dict:
    body = {
        "category": "telephony",
        "data_types": ["cdr"],
        "format": "parquet",
        "compression": "zstd",
        "partitioning": {"enabled": True, "structure": "year={yyyy}/month={MM}/day={dd}/hour={HH}"},
        "schedule": {"frequency": "HOURLY", "offset_minutes": 20},
        "destination": {
            "type": "aws_s3",
            "bucket": bucket,
            "prefix": PREFIX,
            "endpoint": moto.endpoint,
            "access_key_id": moto.access_key_id,
            "secret_access_key": secret or moto.secret_access_key,
        },
    }
    r = mock.post(DOWNLOADS, token, json=body)
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["id"].startswith("dl-") and d["status"] == "active", d
    assert body["destination"]["secret_access_key"] not in json.dumps(d), "the secret is never returned"
    return d


def jobs(mock, token: str, download_id: str) -> list[dict]:
    r = mock.get(f"{DOWNLOADS}/{download_id}/jobs", token, params={"page_size": 100})
    assert r.status_code == 200, r.text
    return r.json()["jobs"]


def key_of(uri: str, bucket: str) -> str:
    assert uri.startswith(f"s3://{bucket}/"), uri
    return uri[len(f"s3://{bucket}/"):]


def test_d3_d8_exports_land_in_an_external_bucket_as_parquet_with_manifests(mock, moto):
    bucket = "bi-lake-ok"
    s3 = moto.client()
    s3.create_bucket(Bucket=bucket)
    mock.advance(to=BUSY)
    t = mock.tenant("acme")
    token = mock.token(t)
    d = create_download(mock, token, moto, bucket)

    mock.advance(by="3h")
    token = mock.token(t)
    done = [j for j in jobs(mock, token, d["id"]) if j["status"] == "COMPLETED"]
    assert len(done) >= 2, jobs(mock, token, d["id"])
    assert all(j["error_details"] is None for j in done)
    assert sum(j["record_count"] for j in done) > 0, done

    for job in done:
        hour = job["interval_start"][11:13]
        folder = f"{PREFIX}cdr/year=2026/month=01/day=05/hour={hour}/"
        assert len(job["output_files"]) == 1, job
        uri = job["output_files"][0]
        key = key_of(uri, bucket)
        assert key == f"{folder}part-00000.parquet", key

        obj = s3.get_object(Bucket=bucket, Key=key)
        data = obj["Body"].read()
        assert job["checksums"][uri] == "sha256:" + hashlib.sha256(data).hexdigest()
        table = pq.read_table(io.BytesIO(data))
        assert table.num_rows == job["record_counts"]["cdr"] == job["record_count"]
        assert table.schema.field("start_time").type == pa.timestamp("us", tz="UTC")
        assert table.schema.field("call_uuid").type == pa.string()
        meta = pq.ParquetFile(io.BytesIO(data)).metadata
        if meta.num_row_groups:
            assert meta.row_group(0).column(0).compression == "ZSTD"
        # Events of the interval only, placed by interval_start's partition.
        starts = table.column("start_time").to_pylist()
        assert all(s.strftime("%Y-%m-%dT%H") == job["interval_start"][:13] for s in starts)

        assert len(job["manifests"]) == 1, job
        mkey = key_of(job["manifests"][0], bucket)
        assert mkey == f"{folder}_manifest-{job['id']}.json", mkey
        manifest = json.loads(s3.get_object(Bucket=bucket, Key=mkey)["Body"].read())
        assert manifest["job_id"] == job["id"] and manifest["download_id"] == d["id"]
        assert manifest["data_type"] == "cdr"
        assert manifest["files"] == [{"key": key, "sha256": hashlib.sha256(data).hexdigest(), "rows": table.num_rows}]
        assert manifest["record_count"] == table.num_rows

    listed = s3.list_objects_v2(Bucket=bucket, Prefix=PREFIX)["Contents"]
    assert len(listed) == 2 * len(done), [o["Key"] for o in listed]

    r = mock.get(f"{DOWNLOADS}/{d['id']}", token)
    assert r.status_code == 200 and r.json()["status"] == "active", r.text


def assert_failed_needs_reconfiguration(mock, tenant, download_id: str, *needles: str) -> dict:
    mock.advance(by="3h")
    token = mock.token(tenant)  # tokens live an hour of mock time
    all_jobs = jobs(mock, token, download_id)
    failed = [j for j in all_jobs if j["status"] == "FAILED"]
    # The first refusal fails its job at once and pauses the schedule: no retry, no later job.
    assert len(failed) == 1, all_jobs
    assert not [j for j in all_jobs if j["status"] in ("COMPLETED", "RUNNING")], all_jobs
    job = failed[0]
    assert job["output_files"] == [] and job["manifests"] == [], job
    details = job["error_details"] or ""
    for needle in needles:
        assert needle in details, details
    r = mock.get(f"{DOWNLOADS}/{download_id}", token)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "needs_reconfiguration", r.text
    mock.advance(by="3h")
    token = mock.token(tenant)
    assert [j["id"] for j in jobs(mock, token, download_id)] == [j["id"] for j in all_jobs]
    return job


def test_d8_missing_external_bucket_fails_the_job_and_needs_reconfiguration(mock, moto):
    t = mock.tenant("acme")
    token = mock.token(t)
    d = create_download(mock, token, moto, "no-such-lake")
    job = assert_failed_needs_reconfiguration(mock, t, d["id"], "NoSuchBucket", "'no-such-lake'", moto.endpoint)
    assert job["error_details"].startswith("destination refused"), job


def test_d8_wrong_secret_fails_the_job_and_needs_reconfiguration(mock, moto):
    bucket = "bi-lake-wrong-secret"
    moto.client().create_bucket(Bucket=bucket)
    t = mock.tenant("acme")
    token = mock.token(t)
    d = create_download(mock, token, moto, bucket, secret="not-the-secret")
    assert_failed_needs_reconfiguration(mock, t, d["id"], "SignatureDoesNotMatch", f"'{bucket}'")
    # Nothing was written with the bad key.
    assert moto.client().list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_d8_unreachable_endpoint_fails_at_once(mock, moto):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = Moto(f"http://127.0.0.1:{port}", moto.access_key_id, moto.secret_access_key)
    t = mock.tenant("acme")
    token = mock.token(t)
    d = create_download(mock, token, dead, "bi-lake")
    assert_failed_needs_reconfiguration(mock, t, d["id"], "ConnectionRefused", "'bi-lake'")


def test_d8_unknown_access_key_fails_the_job_and_needs_reconfiguration(mock, moto):
    bucket = "bi-lake-unknown-key"
    moto.client().create_bucket(Bucket=bucket)
    stranger = Moto(moto.endpoint, "AKIAIOSFODNN7EXAMPLE", moto.secret_access_key)
    t = mock.tenant("acme")
    token = mock.token(t)
    d = create_download(mock, token, stranger, bucket)
    assert_failed_needs_reconfiguration(mock, t, d["id"], "InvalidAccessKeyId", f"'{bucket}'")
