"""GetObjectAttributes on the data lake, through boto3 and the AWS CLI: only the attributes asked
for; ObjectParts of a multipart object paged by PartNumberMarker/MaxParts with the per-part
checksums its Complete listed; the whole-object checksum and its type; the ETag unquoted, as S3
writes it for this operation alone; and the SEA bucket answers NotImplemented naming HeadObject."""
from __future__ import annotations

CLIENT = "boto3"

import base64
import hashlib
import json

import pytest
from botocore.exceptions import ClientError

from conftest import s3_error_code
from test_s3_fidelity import BUCKET, lake

ALL = ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"]
MIB = 1024 * 1024


def sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_a_single_put_object(mock):
    _, s3 = lake(mock)
    body = b"A" * 1024
    put = s3.put_object(Bucket=BUCKET, Key="one.bin", Body=body, ChecksumAlgorithm="SHA256")
    r = s3.get_object_attributes(Bucket=BUCKET, Key="one.bin", ObjectAttributes=ALL)
    assert r["ETag"] == put["ETag"].strip('"'), (r["ETag"], put["ETag"])
    assert r["ObjectSize"] == 1024 and r["StorageClass"] == "STANDARD"
    assert r["Checksum"]["ChecksumSHA256"] == sha256_b64(body)
    assert r["Checksum"]["ChecksumType"] == "FULL_OBJECT"
    assert "ObjectParts" not in r
    assert r["LastModified"] == s3.head_object(Bucket=BUCKET, Key="one.bin")["LastModified"]

    only = s3.get_object_attributes(Bucket=BUCKET, Key="one.bin", ObjectAttributes=["ObjectSize"])
    assert only["ObjectSize"] == 1024
    assert not {"ETag", "Checksum", "StorageClass"} & set(only), only


def test_a_multipart_object_pages_its_parts_with_their_checksums(mock):
    _, s3 = lake(mock)
    bodies = [bytes([65 + i]) * (5 * MIB) for i in range(3)] + [b"tail" * 100]
    up = s3.create_multipart_upload(Bucket=BUCKET, Key="big.bin", ChecksumAlgorithm="SHA256")
    parts = []
    for n, b in enumerate(bodies, start=1):
        r = s3.upload_part(Bucket=BUCKET, Key="big.bin", UploadId=up["UploadId"], PartNumber=n, Body=b,
                           ChecksumAlgorithm="SHA256")
        parts.append({"PartNumber": n, "ETag": r["ETag"], "ChecksumSHA256": r["ChecksumSHA256"]})
    done = s3.complete_multipart_upload(Bucket=BUCKET, Key="big.bin", UploadId=up["UploadId"],
                                        MultipartUpload={"Parts": parts})
    r = s3.get_object_attributes(Bucket=BUCKET, Key="big.bin", ObjectAttributes=ALL)
    assert r["ETag"] == done["ETag"].strip('"') and r["ETag"].endswith("-4")
    assert r["ObjectSize"] == sum(map(len, bodies))
    assert r["Checksum"]["ChecksumSHA256"] == done["ChecksumSHA256"]
    op = r["ObjectParts"]
    assert (op["TotalPartsCount"], op["IsTruncated"]) == (4, False), op
    assert [(p["PartNumber"], p["Size"], p["ChecksumSHA256"]) for p in op["Parts"]] == [
        (n, len(b), sha256_b64(b)) for n, b in enumerate(bodies, start=1)]

    page = s3.get_object_attributes(Bucket=BUCKET, Key="big.bin", ObjectAttributes=["ObjectParts"],
                                    MaxParts=1, PartNumberMarker=2)["ObjectParts"]
    assert [p["PartNumber"] for p in page["Parts"]] == [3]
    assert (page["IsTruncated"], page["NextPartNumberMarker"], page["MaxParts"]) == (True, 3, 1), page


def test_bad_requests_are_refused(mock):
    creds, s3 = lake(mock)
    s3.put_object(Bucket=BUCKET, Key="x.bin", Body=b"x")
    with pytest.raises(ClientError) as e:
        s3.get_object_attributes(Bucket=BUCKET, Key="missing.bin", ObjectAttributes=["ETag"])
    assert s3_error_code(e.value) == "NoSuchKey"
    with pytest.raises(ClientError) as e:
        s3.get_object_attributes(Bucket=BUCKET, Key="x.bin", ObjectAttributes=["Colour"])
    assert s3_error_code(e.value) == "InvalidArgument"
    with pytest.raises(ClientError) as e:
        s3.get_object_attributes(Bucket=BUCKET, Key="x.bin", ObjectAttributes=["ETag"], VersionId="v2")
    assert s3_error_code(e.value) == "NoSuchVersion"

    # The AWS CLI, as a checksum-verification script would call it.
    keypair = (creds["access_key_id"], creds["secret_access_key"])
    r = mock.aws(keypair, "s3api", "get-object-attributes", "--bucket", BUCKET, "--key", "x.bin",
                 "--object-attributes", "ETag", "ObjectSize", "--output", "json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["ObjectSize"] == 1 and out["ETag"] == hashlib.md5(b"x").hexdigest(), out


def test_sea_answers_not_implemented(mock):
    sea = mock.sea_tenant("sea-acme")
    s3 = mock.sea_client(sea.creds)
    key = s3.list_objects_v2(Bucket="cxone-sea", Prefix=sea.creds.prefix)["Contents"][0]["Key"]
    with pytest.raises(ClientError) as e:
        s3.get_object_attributes(Bucket="cxone-sea", Key=key, ObjectAttributes=["ETag"])
    assert s3_error_code(e.value) == "NotImplemented"
    assert "HeadObject" in str(e.value)


def test_parts_listed_by_etag_alone_get_the_declared_checksum(mock):
    """Create declared CRC32 with FULL_OBJECT; the Complete lists parts by ETag only. S3 computes
    the part checksums itself: the object's whole CRC32, each part's in ObjectParts, and a GET of
    one part answers that part's checksum."""
    import zlib

    _, s3 = lake(mock)
    bodies = [b"A" * (5 * MIB), b"B" * 100]
    up = s3.create_multipart_upload(Bucket=BUCKET, Key="crc.bin", ChecksumAlgorithm="CRC32", ChecksumType="FULL_OBJECT")
    parts = []
    for n, b in enumerate(bodies, start=1):
        r = s3.upload_part(Bucket=BUCKET, Key="crc.bin", UploadId=up["UploadId"], PartNumber=n, Body=b,
                           ChecksumAlgorithm="CRC32")
        parts.append({"PartNumber": n, "ETag": r["ETag"]})
    done = s3.complete_multipart_upload(Bucket=BUCKET, Key="crc.bin", UploadId=up["UploadId"],
                                        MultipartUpload={"Parts": parts})
    crc = lambda data: base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()  # noqa: E731
    assert (done["ChecksumCRC32"], done["ChecksumType"]) == (crc(b"".join(bodies)), "FULL_OBJECT"), done
    r = s3.get_object_attributes(Bucket=BUCKET, Key="crc.bin", ObjectAttributes=["ObjectParts", "Checksum"])
    assert [p["ChecksumCRC32"] for p in r["ObjectParts"]["Parts"]] == [crc(b) for b in bodies]
    got = s3.get_object(Bucket=BUCKET, Key="crc.bin", PartNumber=2, ChecksumMode="ENABLED")
    assert got["Body"].read() == bodies[1]
    assert (got["ChecksumCRC32"], got["ChecksumType"]) == (crc(bodies[1]), "FULL_OBJECT")
