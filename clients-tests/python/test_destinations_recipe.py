"""docs/destinations.md: every destination JSON in the doc (the multi-node recipes for MinIO
distributed, Garage and Ceph RGW, and the mock's own endpoint) is accepted by the mock exactly as
written, and an external one exports an hour to an S3 endpoint that checks signatures (moto, with
auth enforced, standing in for the store: no multi-node store can be run here, see the doc).
`endpoint` and the key pair are replaced by moto's; bucket, prefix, region and type stay as written.
The doc's `azure_blob` blocks are exported through by test_download_azure.py, against Azurite.
"""

from __future__ import annotations

CLIENT = "destinations-recipe"

import hashlib
import json
import re
from pathlib import Path

import pytest

from test_download_external import BUSY, DOWNLOADS, jobs, key_of, moto  # noqa: F401 (moto is a fixture)

DOC = Path(__file__).resolve().parents[2] / "docs" / "destinations.md"


def doc_destinations(kind: str = "aws_s3") -> list[dict]:
    """The doc's destination JSON blocks of one type."""
    blocks = re.findall(r"```json\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    return [d for d in map(json.loads, blocks) if d["type"] == kind]


EXTERNAL = [d for d in doc_destinations() if "endpoint" in d]


def body(destination: dict) -> dict:
    return {
        "category": "telephony",
        "data_types": ["cdr"],
        "format": "parquet",
        "compression": "zstd",
        "schedule": {"frequency": "HOURLY", "offset_minutes": 20},
        "destination": destination,
    }


def test_the_doc_has_the_recipes():
    ds = doc_destinations()
    assert len(ds) == 4, ds  # own endpoint, MinIO, Garage, Ceph RGW
    assert len(EXTERNAL) == 3
    assert {d.get("region") for d in EXTERNAL} == {None, "garage", "default"}


@pytest.mark.parametrize("dest", EXTERNAL, ids=lambda d: d["endpoint"].split("//")[1].split(".")[0])
def test_d3_d8_recipe_destination_exports_an_hour(mock, moto, dest):  # noqa: F811
    dest = dict(dest, endpoint=moto.endpoint, access_key_id=moto.access_key_id,
                secret_access_key=moto.secret_access_key)
    bucket, prefix = dest["bucket"], dest["prefix"]
    s3 = moto.client()
    if bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=bucket)
    for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        s3.delete_object(Bucket=bucket, Key=o["Key"])

    mock.advance(to=BUSY)
    t = mock.tenant("acme")
    token = mock.token(t)
    r = mock.post(DOWNLOADS, token, json=body(dest))
    assert r.status_code == 201, r.text
    d = r.json()
    assert moto.secret_access_key not in r.text
    got = mock.get(f"{DOWNLOADS}/{d['id']}", token).json()["destination"]
    assert got == dict(dest, secret_access_key="********"), got

    mock.advance(by="2h")
    token = mock.token(t)
    done = [j for j in jobs(mock, token, d["id"]) if j["status"] == "COMPLETED"]
    assert done, jobs(mock, token, d["id"])
    written = 0
    for job in done:
        for uri in job["output_files"] + job["manifests"]:
            data = s3.get_object(Bucket=bucket, Key=key_of(uri, bucket))["Body"].read()
            assert key_of(uri, bucket).startswith(prefix + "cdr/")
            if uri in job["checksums"]:
                assert job["checksums"][uri] == "sha256:" + hashlib.sha256(data).hexdigest()
            written += 1
    assert written >= 2 * len(done)


def test_own_endpoint_destination_is_accepted_as_written(mock):
    own = [d for d in doc_destinations() if "endpoint" not in d]
    assert len(own) == 1
    t = mock.tenant("acme")
    token = mock.token(t)
    r = mock.post(DOWNLOADS, token, json=body(own[0]))
    assert r.status_code == 201, r.text
    assert r.json()["destination"] == own[0]
