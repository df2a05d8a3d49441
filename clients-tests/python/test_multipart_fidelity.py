"""CompleteMultipartUpload as S3 answers it, through boto3: a resent Complete (a client retrying
after a lost response), `If-Match` / `If-None-Match` guarding the object Complete would replace,
the object checksum a Complete claims, and the checksum type declared on Create.

These mirror the ceph/s3-tests cases the mock failed (test_multipart_checksum_sha256,
test_multipart_use_cksum_helper_crc32) and AWS's documented conditional writes."""
from __future__ import annotations

CLIENT = "boto3"

import base64
import hashlib
import zlib

import pytest
from botocore.exceptions import ClientError

from conftest import s3_error_code, s3_status
from test_s3_fidelity import BUCKET, crc32_b64, lake

MIB = 1024 * 1024


def upload(s3, key: str, bodies: list[bytes], **create) -> tuple[str, list[dict]]:
    """Starts an upload and sends `bodies` as parts 1..N; the parts list to complete with."""
    up = s3.create_multipart_upload(Bucket=BUCKET, Key=key, **create)
    parts = []
    for n, body in enumerate(bodies, start=1):
        extra = {}
        if create.get("ChecksumAlgorithm") == "SHA256":
            extra["ChecksumSHA256"] = base64.b64encode(hashlib.sha256(body).digest()).decode()
        if create.get("ChecksumAlgorithm") == "CRC32":
            extra["ChecksumCRC32"] = crc32_b64(body)
        r = s3.upload_part(Bucket=BUCKET, Key=key, UploadId=up["UploadId"], PartNumber=n, Body=body,
                           ChecksumAlgorithm=create.get("ChecksumAlgorithm", "CRC32"), **extra)
        parts.append({"PartNumber": n, "ETag": r["ETag"], **extra})
    return up["UploadId"], parts


def complete(s3, key: str, upload_id: str, parts: list[dict], **kw) -> dict:
    return s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload_id,
                                        MultipartUpload={"Parts": parts}, **kw)


def error_of(fn) -> tuple[int, str]:
    with pytest.raises(ClientError) as e:
        fn()
    return s3_status(e.value), s3_error_code(e.value)


def body_of(s3, key: str) -> bytes:
    return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def test_resent_complete_answers_200_with_the_same_object(mock):
    _, s3 = lake(mock)
    upload_id, parts = upload(s3, "again.bin", [b"a" * 1024])
    first = complete(s3, "again.bin", upload_id, parts)
    again = complete(s3, "again.bin", upload_id, parts)
    assert again["ETag"] == first["ETag"] and again["Location"] == first["Location"]
    assert (again["Bucket"], again["Key"]) == (BUCKET, "again.bin")
    assert body_of(s3, "again.bin") == b"a" * 1024
    # The same upload id for another key was never this upload's.
    assert error_of(lambda: complete(s3, "other.bin", upload_id, parts)) == (404, "NoSuchUpload")
    # Once the object is replaced, the upload is gone.
    s3.put_object(Bucket=BUCKET, Key="again.bin", Body=b"replaced")
    assert error_of(lambda: complete(s3, "again.bin", upload_id, parts)) == (404, "NoSuchUpload")
    assert body_of(s3, "again.bin") == b"replaced"


def test_aborted_upload_is_not_completed_again(mock):
    _, s3 = lake(mock)
    upload_id, parts = upload(s3, "aborted.bin", [b"x" * 100])
    s3.abort_multipart_upload(Bucket=BUCKET, Key="aborted.bin", UploadId=upload_id)
    assert error_of(lambda: complete(s3, "aborted.bin", upload_id, parts)) == (404, "NoSuchUpload")


def test_complete_honours_if_match_and_if_none_match(mock):
    _, s3 = lake(mock)
    old = s3.put_object(Bucket=BUCKET, Key="cond.bin", Body=b"old")["ETag"]
    upload_id, parts = upload(s3, "cond.bin", [b"new" * 100])
    assert error_of(lambda: complete(s3, "cond.bin", upload_id, parts, IfMatch='"0123456789abcdef0123456789abcdef"')) \
        == (412, "PreconditionFailed")
    assert error_of(lambda: complete(s3, "cond.bin", upload_id, parts, IfNoneMatch="*")) == (412, "PreconditionFailed")
    assert error_of(lambda: complete(s3, "cond.bin", upload_id, parts, IfNoneMatch=old)) == (412, "PreconditionFailed")
    assert body_of(s3, "cond.bin") == b"old", "a refused Complete changes nothing"
    done = complete(s3, "cond.bin", upload_id, parts, IfMatch=old)
    assert body_of(s3, "cond.bin") == b"new" * 100 and done["ETag"] != old
    # If-None-Match: * creates a key that does not exist; If-Match on a missing key is 404.
    upload_id, parts = upload(s3, "fresh.bin", [b"f"])
    assert error_of(lambda: complete(s3, "fresh.bin", upload_id, parts, IfMatch=old)) == (404, "NoSuchKey")
    complete(s3, "fresh.bin", upload_id, parts, IfNoneMatch="*")
    assert body_of(s3, "fresh.bin") == b"f"


def test_complete_checks_the_object_checksum_it_claims(mock):
    """ceph/s3-tests test_multipart_checksum_sha256: a wrong claim is BadDigest even when the
    parts list carries no checksums; the right composite value (`<b64>-<parts>`) is kept."""
    _, s3 = lake(mock)
    body = b"A" * 1024
    upload_id, parts = upload(s3, "sha.bin", [body], ChecksumAlgorithm="SHA256")
    bare = [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in parts]
    wrong = base64.b64encode(hashlib.sha256(b"not it").digest()).decode() + "-1"
    assert error_of(lambda: complete(s3, "sha.bin", upload_id, bare, ChecksumSHA256=wrong)) == (400, "BadDigest")
    assert error_of(lambda: complete(s3, "sha.bin", upload_id, parts, ChecksumSHA256=wrong)) == (400, "BadDigest")
    part_sum = hashlib.sha256(body).digest()
    composite = base64.b64encode(hashlib.sha256(part_sum).digest()).decode() + "-1"
    done = complete(s3, "sha.bin", upload_id, parts, ChecksumSHA256=composite)
    assert done["ChecksumSHA256"] == composite
    head = s3.head_object(Bucket=BUCKET, Key="sha.bin", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == composite


def test_full_object_type_declared_on_create_applies_on_complete(mock):
    """ceph/s3-tests test_multipart_use_cksum_helper_crc32: the type comes from Create only."""
    _, s3 = lake(mock)
    bodies = [b"A" * (5 * MIB), b"B" * 1000]
    upload_id, parts = upload(s3, "full.bin", bodies, ChecksumAlgorithm="CRC32", ChecksumType="FULL_OBJECT")
    whole = base64.b64encode(zlib.crc32(b"".join(bodies)).to_bytes(4, "big")).decode()
    done = complete(s3, "full.bin", upload_id, parts, ChecksumCRC32=whole)
    assert (done["ChecksumType"], done["ChecksumCRC32"]) == ("FULL_OBJECT", whole)
    head = s3.head_object(Bucket=BUCKET, Key="full.bin", ChecksumMode="ENABLED")
    assert (head["ChecksumType"], head["ChecksumCRC32"]) == ("FULL_OBJECT", whole)
