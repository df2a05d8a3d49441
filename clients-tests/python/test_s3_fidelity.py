"""S3 fidelity details real clients rely on, checked through boto3 (and the MinIO SDK for tags),
configured as `conftest.Mock.s3_client` does: path-style, us-east-1, SDK-default checksums.

- Request ids: every S3 response carries `x-amz-request-id` and `x-amz-id-2`, and every error body
  `<RequestId>`/`<HostId>` (boto3: `ResponseMetadata.RequestId`/`HostId`, the error's
  `Error`-level `RequestId`); rclone and the AWS CLI print them, support cases quote them.
- Checksums on GET/HEAD only with `x-amz-checksum-mode: ENABLED`, as S3 answers.
- Object tagging on data-lake objects (PutObjectTagging replaces the set, at most 10 tags,
  `x-amz-tagging` on PutObject/CopyObject with the tagging directive, `x-amz-tagging-count` on
  GET/HEAD, DeleteObjectTagging empties the set, tags go with the object and survive a restart);
  SEA refuses tagging (AccessDenied, S2).
"""

from __future__ import annotations

CLIENT = "boto3"

import base64
import re
import xml.etree.ElementTree as ET
import zlib
from typing import Any
from urllib.parse import urlparse

import pytest
import requests
from botocore.exceptions import ClientError
from minio import Minio
from minio.commonconfig import Tags

from conftest import REGION, SEA_BUCKET, Mock, MockProcess, s3_error_code, s3_status
from test_download_pyarrow import lake_credentials

BUCKET = "fidelity"
REQUEST_ID = re.compile(r"^[0-9A-F]{16}$")


def lake(mock: Mock, name: str = "acme") -> tuple[dict[str, Any], Any]:
    t = mock.tenant(name)
    creds = lake_credentials(mock, mock.token(t))
    s3 = mock.s3_client(creds["access_key_id"], creds["secret_access_key"])
    s3.create_bucket(Bucket=BUCKET)
    return creds, s3


def crc32_b64(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def http_get(url: str) -> requests.Response:
    with requests.Session() as session:
        session.trust_env = False
        return session.get(url, timeout=60)


def ids(meta: dict[str, Any]) -> tuple[str, str]:
    rid, hid = meta.get("RequestId", ""), meta.get("HostId", "")
    assert REQUEST_ID.match(rid), meta
    assert len(hid) >= 32, meta
    headers = meta["HTTPHeaders"]
    assert headers.get("x-amz-request-id") == rid and headers.get("x-amz-id-2") == hid, headers
    return rid, hid


# --------------------------------------------------------------------------------------------
# Request ids
# --------------------------------------------------------------------------------------------


def test_request_ids_on_every_lake_response_and_error_body(mock):
    _, s3 = lake(mock)
    seen = set()
    r = s3.put_object(Bucket=BUCKET, Key="a.txt", Body=b"hello")
    seen.add(ids(r["ResponseMetadata"]))
    seen.add(ids(s3.get_object(Bucket=BUCKET, Key="a.txt")["ResponseMetadata"]))
    seen.add(ids(s3.head_object(Bucket=BUCKET, Key="a.txt")["ResponseMetadata"]))
    seen.add(ids(s3.list_objects_v2(Bucket=BUCKET)["ResponseMetadata"]))
    seen.add(ids(s3.list_buckets()["ResponseMetadata"]))

    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=BUCKET, Key="missing")
    assert s3_error_code(e.value) == "NoSuchKey"
    err = e.value.response
    rid, hid = ids(err["ResponseMetadata"])
    seen.add((rid, hid))
    # The error body repeats them (botocore moves the body's RequestId/HostId into
    # ResponseMetadata, so read the body itself through a presigned URL, as a browser would).
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "missing"})
    r = http_get(url)
    assert r.status_code == 404
    body = ET.fromstring(r.content)
    assert body.findtext("Code") == "NoSuchKey"
    assert body.findtext("RequestId") == r.headers["x-amz-request-id"]
    assert body.findtext("HostId") == r.headers["x-amz-id-2"]
    assert REQUEST_ID.match(body.findtext("RequestId") or "") and body.findtext("RequestId") != rid

    # A HEAD error has no body, but the headers carry the ids.
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=BUCKET, Key="missing")
    assert s3_status(e.value) == 404
    seen.add(ids(e.value.response["ResponseMetadata"]))
    assert len(seen) == 7, "unique per request"


def test_request_ids_on_errors_s3s_answers_itself_and_on_sea(mock):
    # A bad signature is refused before any handler runs: the ids are there all the same.
    bad = mock.s3_client("DLNOSUCHKEY000000000", "x" * 40)
    with pytest.raises(ClientError) as e:
        bad.list_buckets()
    assert s3_error_code(e.value) == "InvalidAccessKeyId"
    ids(e.value.response["ResponseMetadata"])

    sea = mock.sea_tenant("seauser", count=2)
    s3 = mock.sea_client(sea.creds)
    listed = s3.list_objects_v2(Bucket=SEA_BUCKET, Prefix=sea.creds.prefix)
    ids(listed["ResponseMetadata"])
    key = listed["Contents"][0]["Key"]
    ids(s3.head_object(Bucket=SEA_BUCKET, Key=key)["ResponseMetadata"])
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=SEA_BUCKET, Key=f"{sea.creds.prefix}x.bin", Body=b"x")
    assert s3_error_code(e.value) == "AccessDenied"
    ids(e.value.response["ResponseMetadata"])
    url = s3.generate_presigned_url("get_object", Params={"Bucket": SEA_BUCKET, "Key": f"{sea.creds.prefix}none"})
    r = http_get(url)
    assert r.status_code in (403, 404), r.text
    body = ET.fromstring(r.content)
    assert body.findtext("RequestId") == r.headers["x-amz-request-id"]
    assert body.findtext("HostId") == r.headers["x-amz-id-2"]


# --------------------------------------------------------------------------------------------
# Checksums only when asked
# --------------------------------------------------------------------------------------------


def test_checksum_headers_only_with_checksum_mode(mock):
    creds, s3 = lake(mock)
    body = b"checksum me" * 100
    s3.put_object(Bucket=BUCKET, Key="c.bin", Body=body)  # boto3 sends CRC32 by default

    head = s3.head_object(Bucket=BUCKET, Key="c.bin")
    assert "x-amz-checksum-crc32" not in head["ResponseMetadata"]["HTTPHeaders"], head
    assert "ChecksumCRC32" not in head
    head = s3.head_object(Bucket=BUCKET, Key="c.bin", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == crc32_b64(body)
    assert head["ChecksumType"] == "FULL_OBJECT"

    # boto3 asks for checksums on GET by default; `when_required` is the documented opt-out.
    got = s3.get_object(Bucket=BUCKET, Key="c.bin")
    assert got["ChecksumCRC32"] == crc32_b64(body)
    assert got["Body"].read() == body
    plain = mock.s3_client(creds["access_key_id"], creds["secret_access_key"],
                           response_checksum_validation="when_required")
    got = plain.get_object(Bucket=BUCKET, Key="c.bin")
    hdrs = got["ResponseMetadata"]["HTTPHeaders"]
    assert not [h for h in hdrs if h.startswith("x-amz-checksum")], hdrs
    assert got["Body"].read() == body
