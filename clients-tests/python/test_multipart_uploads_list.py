"""ListMultipartUploads on a data-lake bucket, as a pipeline's clean-up step uses it: boto3's
paginator and the AWS CLI list the uploads a crash left open, and each is aborted. Also: an upload
id named with another key is NoSuchUpload (S3 ties an upload to the key it was started for), and
the SEA bucket refuses the listing like every other write-side operation."""
from __future__ import annotations

CLIENT = "boto3"

import json

import pytest
from botocore.exceptions import ClientError

from conftest import s3_error_code
from test_s3_fidelity import BUCKET, lake

KEYS = ["exports/a.parquet", "exports/a.parquet", "exports/b/c.parquet", "exports/b/d.parquet", "other.bin"]


def start_all(mock, s3) -> list[tuple[str, str]]:
    """Starts one upload per key of KEYS, a mock minute apart; returns (key, upload id)."""
    started = []
    for key in KEYS:
        started.append((key, s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]))
        mock.advance(by="1m")
    return started


def listed(pages) -> list[tuple[str, str]]:
    return [(u["Key"], u["UploadId"]) for p in pages for u in p.get("Uploads", [])]


def test_uploads_in_progress_are_listed_by_key_then_initiation_and_page(mock):
    _, s3 = lake(mock)
    started = start_all(mock, s3)
    first = s3.list_multipart_uploads(Bucket=BUCKET)
    assert listed([first]) == sorted(started, key=lambda ku: (ku[0], started.index(ku))), first
    assert first["IsTruncated"] is False and first["MaxUploads"] == 1000
    u = first["Uploads"][0]
    assert u["StorageClass"] == "STANDARD" and u["Initiator"]["DisplayName"] == u["Owner"]["DisplayName"]
    # Initiated is on the mock clock: the two uploads of the same key a minute apart.
    a1, a2 = first["Uploads"][0], first["Uploads"][1]
    assert (a2["Initiated"] - a1["Initiated"]).total_seconds() == 60

    # boto3's paginator, two at a time, resumes with NextKeyMarker / NextUploadIdMarker.
    pages = list(s3.get_paginator("list_multipart_uploads").paginate(Bucket=BUCKET, PaginationConfig={"PageSize": 2}))
    assert len(pages) == 3 and pages[0]["IsTruncated"] is True, pages
    assert listed(pages) == listed([first])

    prefixed = s3.list_multipart_uploads(Bucket=BUCKET, Prefix="exports/", Delimiter="/")
    assert prefixed["Prefix"] == "exports/" and prefixed["Delimiter"] == "/"
    assert [u["Key"] for u in prefixed["Uploads"]] == ["exports/a.parquet", "exports/a.parquet"]
    assert [p["Prefix"] for p in prefixed["CommonPrefixes"]] == ["exports/b/"]


def test_completed_and_aborted_uploads_leave_the_list(mock):
    _, s3 = lake(mock)
    started = start_all(mock, s3)
    key, done = started[-1]
    part = s3.upload_part(Bucket=BUCKET, Key=key, UploadId=done, PartNumber=1, Body=b"x" * 10)
    s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=done,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    key2, aborted = started[0]
    s3.abort_multipart_upload(Bucket=BUCKET, Key=key2, UploadId=aborted)
    left = listed([s3.list_multipart_uploads(Bucket=BUCKET)])
    assert sorted(left) == sorted(started[1:-1]), left


def test_the_aws_cli_lists_and_a_cleanup_aborts_everything(mock):
    creds, s3 = lake(mock)
    start_all(mock, s3)
    keypair = (creds["access_key_id"], creds["secret_access_key"])
    r = mock.aws(keypair, "s3api", "list-multipart-uploads", "--bucket", BUCKET, "--output", "json")
    assert r.returncode == 0, r.stderr
    uploads = json.loads(r.stdout)["Uploads"]
    assert len(uploads) == len(KEYS)
    for u in uploads:
        r = mock.aws(keypair, "s3api", "abort-multipart-upload", "--bucket", BUCKET, "--key", u["Key"],
                     "--upload-id", u["UploadId"])
        assert r.returncode == 0, r.stderr
    r = mock.aws(keypair, "s3api", "list-multipart-uploads", "--bucket", BUCKET, "--output", "json")
    assert r.returncode == 0, r.stderr
    assert "Uploads" not in json.loads(r.stdout or "{}"), r.stdout


def test_url_encoding_applies_to_keys_and_markers(mock):
    _, s3 = lake(mock)
    s3.create_multipart_upload(Bucket=BUCKET, Key="a b/é.bin")
    r = s3.list_multipart_uploads(Bucket=BUCKET, EncodingType="url")
    # Asked for by the caller, the keys come back percent-encoded (botocore leaves them so).
    assert [u["Key"] for u in r["Uploads"]] == ["a%20b/%C3%A9.bin"]
    assert r["EncodingType"] == "url"
    assert [u["Key"] for u in s3.list_multipart_uploads(Bucket=BUCKET)["Uploads"]] == ["a b/é.bin"]
    with pytest.raises(ClientError) as e:
        s3.list_multipart_uploads(Bucket=BUCKET, MaxUploads=-1)
    assert s3_error_code(e.value) == "InvalidArgument"


def test_an_upload_id_named_with_another_key_is_no_such_upload(mock):
    _, s3 = lake(mock)
    upload_id = s3.create_multipart_upload(Bucket=BUCKET, Key="right.bin")["UploadId"]
    for call in (
        lambda: s3.upload_part(Bucket=BUCKET, Key="wrong.bin", UploadId=upload_id, PartNumber=1, Body=b"x"),
        lambda: s3.list_parts(Bucket=BUCKET, Key="wrong.bin", UploadId=upload_id),
        lambda: s3.abort_multipart_upload(Bucket=BUCKET, Key="wrong.bin", UploadId=upload_id),
    ):
        with pytest.raises(ClientError) as e:
            call()
        assert s3_error_code(e.value) == "NoSuchUpload"
    # Nothing changed: the upload is still open under its own key.
    assert listed([s3.list_multipart_uploads(Bucket=BUCKET)]) == [("right.bin", upload_id)]
    assert s3.list_parts(Bucket=BUCKET, Key="right.bin", UploadId=upload_id).get("Parts", []) == []


def test_sea_refuses_the_listing(mock):
    sea = mock.sea_tenant("sea-acme")
    s3 = mock.sea_client(sea.creds)
    with pytest.raises(ClientError) as e:
        s3.list_multipart_uploads(Bucket="cxone-sea")
    assert s3_error_code(e.value) == "AccessDenied"
