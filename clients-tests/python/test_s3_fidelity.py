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


# --------------------------------------------------------------------------------------------
# Object tagging
# --------------------------------------------------------------------------------------------


def tagset(d: dict[str, str]) -> dict[str, Any]:
    return {"TagSet": [{"Key": k, "Value": v} for k, v in d.items()]}


def tags_of(s3, key: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=BUCKET, Key=key)["TagSet"]}


def test_object_tagging_put_get_replace_delete_and_counts(mock):
    _, s3 = lake(mock)
    s3.put_object(Bucket=BUCKET, Key="t.bin", Body=b"tagged")
    assert tags_of(s3, "t.bin") == {}
    assert "TagCount" not in s3.get_object(Bucket=BUCKET, Key="t.bin")

    s3.put_object_tagging(Bucket=BUCKET, Key="t.bin", Tagging=tagset({"team": "data lake", "stage": "raw"}))
    assert tags_of(s3, "t.bin") == {"team": "data lake", "stage": "raw"}
    got = s3.get_object(Bucket=BUCKET, Key="t.bin")
    assert got["TagCount"] == 2 and got["Body"].read() == b"tagged"
    head = s3.head_object(Bucket=BUCKET, Key="t.bin")
    assert head["ResponseMetadata"]["HTTPHeaders"].get("x-amz-tagging-count") == "2", head

    # PutObjectTagging replaces the whole set.
    s3.put_object_tagging(Bucket=BUCKET, Key="t.bin", Tagging=tagset({"only": "one"}))
    assert tags_of(s3, "t.bin") == {"only": "one"}
    assert s3.get_object(Bucket=BUCKET, Key="t.bin")["TagCount"] == 1

    r = s3.delete_object_tagging(Bucket=BUCKET, Key="t.bin")
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert tags_of(s3, "t.bin") == {}
    assert "x-amz-tagging-count" not in s3.head_object(Bucket=BUCKET, Key="t.bin")["ResponseMetadata"]["HTTPHeaders"]

    # Tags go with the object: a new object under the key starts untagged.
    s3.put_object_tagging(Bucket=BUCKET, Key="t.bin", Tagging=tagset({"old": "1"}))
    s3.delete_object(Bucket=BUCKET, Key="t.bin")
    s3.put_object(Bucket=BUCKET, Key="t.bin", Body=b"new")
    assert tags_of(s3, "t.bin") == {}

    for call in (lambda: s3.put_object_tagging(Bucket=BUCKET, Key="missing", Tagging=tagset({"a": "b"})),
                 lambda: s3.get_object_tagging(Bucket=BUCKET, Key="missing"),
                 lambda: s3.delete_object_tagging(Bucket=BUCKET, Key="missing")):
        with pytest.raises(ClientError) as e:
            call()
        assert s3_error_code(e.value) == "NoSuchKey"


def test_object_tagging_limits_are_s3s(mock):
    _, s3 = lake(mock)
    s3.put_object(Bucket=BUCKET, Key="l.bin", Body=b"x")
    ok = {f"k{i}": "v" for i in range(10)}
    s3.put_object_tagging(Bucket=BUCKET, Key="l.bin", Tagging=tagset(ok))
    assert tags_of(s3, "l.bin") == ok
    s3.put_object_tagging(Bucket=BUCKET, Key="l.bin", Tagging=tagset({"k" * 128: "v" * 256}))
    for bad in ({f"k{i}": "v" for i in range(11)}, {"k" * 129: "v"}, {"k": "v" * 257}, {"aws:x": "v"}):
        with pytest.raises(ClientError) as e:
            s3.put_object_tagging(Bucket=BUCKET, Key="l.bin", Tagging=tagset(bad))
        assert s3_error_code(e.value) == "InvalidTag", bad
        assert s3_status(e.value) == 400
    assert tags_of(s3, "l.bin") == {"k" * 128: "v" * 256}, "a refused set changes nothing"
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=BUCKET, Key="n.bin", Body=b"x", Tagging="&".join(f"k{i}=v" for i in range(11)))
    assert s3_error_code(e.value) == "InvalidTag"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=BUCKET, Key="n.bin")  # nothing stored


def test_tagging_header_on_put_and_copy_directive(mock):
    _, s3 = lake(mock)
    s3.put_object(Bucket=BUCKET, Key="src.bin", Body=b"src", Tagging="team=data%20lake&stage=raw")
    assert tags_of(s3, "src.bin") == {"team": "data lake", "stage": "raw"}
    assert s3.get_object(Bucket=BUCKET, Key="src.bin")["TagCount"] == 2

    # COPY (the default) keeps the source's tags; REPLACE takes the request's (or none).
    s3.copy_object(Bucket=BUCKET, Key="copy.bin", CopySource={"Bucket": BUCKET, "Key": "src.bin"})
    assert tags_of(s3, "copy.bin") == {"team": "data lake", "stage": "raw"}
    s3.copy_object(Bucket=BUCKET, Key="repl.bin", CopySource={"Bucket": BUCKET, "Key": "src.bin"},
                   TaggingDirective="REPLACE", Tagging="stage=curated")
    assert tags_of(s3, "repl.bin") == {"stage": "curated"}
    s3.copy_object(Bucket=BUCKET, Key="none.bin", CopySource={"Bucket": BUCKET, "Key": "src.bin"},
                   TaggingDirective="REPLACE")
    assert tags_of(s3, "none.bin") == {}
    # An overwrite without the header leaves the new object untagged.
    s3.put_object(Bucket=BUCKET, Key="src.bin", Body=b"v2")
    assert tags_of(s3, "src.bin") == {}


def test_object_tags_survive_a_restart(tmp_path):
    first = MockProcess(tmp_path / "data", tmp_path / "first.log")
    try:
        m = Mock(first)
        creds, s3 = lake(m)
        s3.put_object(Bucket=BUCKET, Key="keep.bin", Body=b"k")
        s3.put_object_tagging(Bucket=BUCKET, Key="keep.bin", Tagging=tagset({"keep": "me"}))
        m.close()
    finally:
        first.stop()
    second = MockProcess(tmp_path / "data", tmp_path / "second.log")
    try:
        m = Mock(second)
        s3 = m.s3_client(creds["access_key_id"], creds["secret_access_key"])
        assert tags_of(s3, "keep.bin") == {"keep": "me"}
        assert s3.get_object(Bucket=BUCKET, Key="keep.bin")["TagCount"] == 1
        m.close()
    finally:
        second.stop()


def test_sea_refuses_tagging(mock):
    sea = mock.sea_tenant("seauser", count=1)
    s3 = mock.sea_client(sea.creds)
    key = s3.list_objects_v2(Bucket=SEA_BUCKET, Prefix=sea.creds.prefix)["Contents"][0]["Key"]
    for call in (lambda: s3.get_object_tagging(Bucket=SEA_BUCKET, Key=key),
                 lambda: s3.put_object_tagging(Bucket=SEA_BUCKET, Key=key, Tagging=tagset({"a": "b"})),
                 lambda: s3.delete_object_tagging(Bucket=SEA_BUCKET, Key=key)):
        with pytest.raises(ClientError) as e:
            call()
        assert s3_error_code(e.value) == "AccessDenied"
    assert "TagCount" not in s3.get_object(Bucket=SEA_BUCKET, Key=key)


def test_minio_set_get_delete_object_tags(mock):
    creds, s3 = lake(mock)
    u = urlparse(creds["endpoint"])
    # secure=False: the mock speaks plain HTTP here; region: skips a GetBucketLocation.
    m = Minio(u.netloc, access_key=creds["access_key_id"], secret_key=creds["secret_access_key"],
              secure=False, region=REGION)
    s3.put_object(Bucket=BUCKET, Key="m.bin", Body=b"minio")
    assert m.get_object_tags(BUCKET, "m.bin") is None
    tags = Tags.new_object_tags()
    tags["project"] = "cxone"
    tags["tier"] = "bronze"
    m.set_object_tags(BUCKET, "m.bin", tags)
    assert dict(m.get_object_tags(BUCKET, "m.bin")) == {"project": "cxone", "tier": "bronze"}
    assert tags_of(s3, "m.bin") == {"project": "cxone", "tier": "bronze"}
    m.delete_object_tags(BUCKET, "m.bin")
    assert m.get_object_tags(BUCKET, "m.bin") is None
    # put_object(tags=...) sends x-amz-tagging.
    import io
    t = Tags.new_object_tags()
    t["via"] = "put"
    m.put_object(BUCKET, "p.bin", io.BytesIO(b"p"), 1, tags=t)
    assert dict(m.get_object_tags(BUCKET, "p.bin")) == {"via": "put"}


def test_tagging_on_multipart_upload(mock):
    """`x-amz-tagging` on CreateMultipartUpload (boto3's upload_file with ExtraArgs={"Tagging"}
    over its 8 MiB threshold sends it there) tags the object Complete makes."""
    _, s3 = lake(mock)
    up = s3.create_multipart_upload(Bucket=BUCKET, Key="mp.bin", Tagging="source=multipart&n=2")
    part = s3.upload_part(Bucket=BUCKET, Key="mp.bin", UploadId=up["UploadId"], PartNumber=1, Body=b"m" * 1024)
    s3.complete_multipart_upload(Bucket=BUCKET, Key="mp.bin", UploadId=up["UploadId"],
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert tags_of(s3, "mp.bin") == {"source": "multipart", "n": "2"}
    assert s3.get_object(Bucket=BUCKET, Key="mp.bin")["TagCount"] == 2
    with pytest.raises(ClientError) as e:
        s3.create_multipart_upload(Bucket=BUCKET, Key="bad.bin", Tagging="aws:reserved=1")
    assert s3_error_code(e.value) == "InvalidTag"
