"""SEA through boto3 (S1, S2, S5, S6, S8, S9): what a Python pipeline reading CXone's Secure
External Access folder sees. Each test gets its own server with the clock frozen at T0;
files are placed by the daily lifecycle run at FIRST_RUN (2026-01-02T00:00:00Z)."""


from __future__ import annotations

CLIENT = "boto3"

import base64
import hashlib
import re
from datetime import datetime, timezone
from email.utils import format_datetime

import pytest
import requests
from botocore.exceptions import ClientError

from conftest import (
    FIRST_EXPIRY,
    FIRST_RUN,
    SEA_BUCKET,
    assert_api_error,
    mp4_top_level_boxes,
    s3_error_code,
    s3_status,
    sha256_hex,
)

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
NAME_RE = re.compile(
    r"^(?P<ts>\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})_(?P<contact>\d+)_(?P<media>VOICE|SCREEN|STATEMENT)_"
    rf"(?P<id>{UUID})\.mp4$"
)


def rfc(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def list_keys(s3, prefix: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=SEA_BUCKET, Prefix=prefix):
        keys.extend(o["Key"] for o in page.get("Contents", []))
    return keys


def sea_files_by_key(mock, token: str) -> dict[str, dict]:
    files = mock.files(token, tier="sea")
    out = {}
    for f in files:
        assert f["sea"] is not None, f
        out[f["sea"]["key"]] = f
    return out


def assert_denied(call, *, head: bool = False) -> ClientError:
    with pytest.raises(ClientError) as e:
        call()
    err = e.value
    if head:  # HEAD answers have no body: the status is all a client gets
        assert s3_status(err) == 403, err.response
    else:
        assert s3_error_code(err) == "AccessDenied", err.response
        assert s3_status(err) == 403, err.response
    return err


# ------------------------------------------------------------------------------------------
# S1: one credential set per tenant; regenerating invalidates the old pair at once
# ------------------------------------------------------------------------------------------


def test_sea_s1_regenerate_invalidates_old_key_boto3(mock):
    sea = mock.sea_tenant("acme", count=3)
    old = mock.sea_client(sea.creds)
    assert len(list_keys(old, sea.creds.prefix)) == 3

    new_creds = mock.sea_credentials(sea.token)
    assert new_creds.access_key_id != sea.creds.access_key_id
    assert new_creds.prefix == sea.creds.prefix and new_creds.bucket == SEA_BUCKET

    with pytest.raises(ClientError) as e:
        old.list_objects_v2(Bucket=SEA_BUCKET, Prefix=sea.creds.prefix)
    assert s3_error_code(e.value) == "InvalidAccessKeyId", e.value.response
    assert s3_status(e.value) == 403

    new = mock.sea_client(new_creds)
    assert len(list_keys(new, new_creds.prefix)) == 3

    # GET shows the current pair, without the secret.
    r = mock.get("/api/v2/sea/credentials", sea.token)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["access_key_id"] == new_creds.access_key_id
    assert "secret_access_key" not in body
    assert body["file_location"] == new_creds.file_location


def test_sea_s1_old_key_refused_even_before_files_arrive_boto3(mock):
    t = mock.tenant("acme")
    token = mock.token(t)
    first = mock.sea_credentials(token)
    mock.sea_credentials(token)
    with pytest.raises(ClientError) as e:
        mock.sea_client(first).list_objects_v2(Bucket=SEA_BUCKET, Prefix=first.prefix)
    assert s3_error_code(e.value) == "InvalidAccessKeyId", e.value.response


def test_sea_s1_wrong_secret_is_signature_does_not_match_boto3(mock):
    sea = mock.sea_tenant("acme", count=2)
    bad = mock.s3_client(sea.creds.access_key_id, sea.creds.secret_access_key[:-1] + "x")
    with pytest.raises(ClientError) as e:
        bad.list_objects_v2(Bucket=SEA_BUCKET, Prefix=sea.creds.prefix)
    assert s3_error_code(e.value) == "SignatureDoesNotMatch", e.value.response
    assert s3_status(e.value) == 403


def test_sea_s1_unknown_key_is_invalid_access_key_id_boto3(mock):
    sea = mock.sea_tenant("acme", count=1)
    stranger = mock.s3_client("SEANOSUCHKEY00000000", sea.creds.secret_access_key)
    with pytest.raises(ClientError) as e:
        stranger.get_object(Bucket=SEA_BUCKET, Key=list_keys(mock.sea_client(sea.creds), sea.creds.prefix)[0])
    assert s3_error_code(e.value) == "InvalidAccessKeyId", e.value.response


# ------------------------------------------------------------------------------------------
# S2: the file location, reached by a standard S3 client
# ------------------------------------------------------------------------------------------


def test_sea_s2_credentials_give_bucket_and_folder(mock):
    t = mock.tenant("Acme Corp")
    creds = mock.sea_credentials(mock.token(t))
    assert creds.bucket == SEA_BUCKET
    assert creds.prefix.endswith("/") and not creds.prefix.startswith("/")
    assert creds.prefix.count("/") == 1
    assert creds.file_location == f"{mock.s3}/{SEA_BUCKET}/{creds.prefix}"
    assert creds.raw["created_at"] == "2026-01-01T00:00:00Z"


def test_sea_s2_list_get_head_download_boto3(mock, tmp_path):
    sea = mock.sea_tenant("acme", count=6)
    s3 = mock.sea_client(sea.creds)
    expected = sea_files_by_key(mock, sea.token)
    assert len(expected) == 6

    resp = s3.list_objects_v2(Bucket=SEA_BUCKET, Prefix=sea.creds.prefix)
    assert resp["KeyCount"] == 6
    contents = resp["Contents"]
    assert sorted(o["Key"] for o in contents) == sorted(expected)
    assert [o["Key"] for o in contents] == sorted(o["Key"] for o in contents), "keys come in UTF-8 order"
    for o in contents:
        f = expected[o["Key"]]
        assert o["Size"] == f["size"]
        assert o["LastModified"] == rfc(FIRST_RUN), "LastModified is the placement time"

    key = contents[0]["Key"]
    f = expected[key]
    got = s3.get_object(Bucket=SEA_BUCKET, Key=key)
    body = got["Body"].read()
    assert len(body) == f["size"] == got["ContentLength"]
    assert sha256_hex(body) == f["sha256"]

    head = s3.head_object(Bucket=SEA_BUCKET, Key=key)
    assert head["ContentLength"] == f["size"]
    assert head["LastModified"] == rfc(FIRST_RUN)
    assert head["ETag"] == got["ETag"]

    dest = tmp_path / key.split("/")[-1]
    s3.download_file(SEA_BUCKET, key, str(dest))
    assert sha256_hex(dest.read_bytes()) == f["sha256"]


def test_sea_s2_list_paginates_boto3(mock):
    sea = mock.sea_tenant("acme", count=7)
    s3 = mock.sea_client(sea.creds)
    pages = list(
        s3.get_paginator("list_objects_v2").paginate(
            Bucket=SEA_BUCKET, Prefix=sea.creds.prefix, PaginationConfig={"PageSize": 3}
        )
    )
    sizes = [len(p.get("Contents", [])) for p in pages]
    assert sizes == [3, 3, 1], sizes
    keys = [o["Key"] for p in pages for o in p["Contents"]]
    assert len(set(keys)) == 7 and keys == sorted(keys)
    assert set(keys) == set(sea_files_by_key(mock, sea.token))


def test_sea_s2_list_with_delimiter_and_v1_boto3(mock):
    """What the CLI and GUI tools send: delimiter '/', and the older ListObjects (v1)."""
    sea = mock.sea_tenant("acme", count=4)
    s3 = mock.sea_client(sea.creds)
    expected = set(sea_files_by_key(mock, sea.token))
    v2 = s3.list_objects_v2(Bucket=SEA_BUCKET, Prefix=sea.creds.prefix, Delimiter="/")
    assert {o["Key"] for o in v2["Contents"]} == expected
    assert not v2.get("CommonPrefixes"), "SEA has no subfolders"
    v1 = s3.list_objects(Bucket=SEA_BUCKET, Prefix=sea.creds.prefix)
    assert {o["Key"] for o in v1["Contents"]} == expected


def test_sea_s2_head_bucket_and_location_boto3(mock):
    sea = mock.sea_tenant("acme", count=1)
    s3 = mock.sea_client(sea.creds)
    assert s3.head_bucket(Bucket=SEA_BUCKET)["ResponseMetadata"]["HTTPStatusCode"] == 200
    loc = s3.get_bucket_location(Bucket=SEA_BUCKET)
    assert loc.get("LocationConstraint") in (None, "", "us-east-1"), loc


def tamper(url: str, param: str) -> str:
    """Changes the first character of a query parameter's value."""
    def swap(m):  # stays within the alphabet (hex for v4, base64 for v2)
        first = m.group(2)
        return m.group(1) + ("1" if first != "1" else "2")
    out = re.sub(rf"([?&]{param}=)(.)", swap, url, count=1)
    assert out != url
    return out


def fetch_presigned(mock, sea, config: dict, *, v4: bool) -> None:
    s3 = mock.sea_client(sea.creds, **config)
    expected = sea_files_by_key(mock, sea.token)
    key = sorted(expected)[0]
    url = s3.generate_presigned_url("get_object", Params={"Bucket": SEA_BUCKET, "Key": key}, ExpiresIn=600)
    assert url.startswith(f"{mock.s3}/{SEA_BUCKET}/{key}?"), url
    sig_param = "X-Amz-Signature" if v4 else "Signature"
    if v4:
        assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url, url
    with requests.Session() as http:
        http.trust_env = False
        r = http.get(url, timeout=60)
        assert r.status_code == 200, r.text
        assert sha256_hex(r.content) == expected[key]["sha256"]
        # A tampered signature is refused.
        r = http.get(tamper(url, sig_param), timeout=60)
        assert r.status_code == 403, r.text
        assert "<Code>SignatureDoesNotMatch</Code>" in r.text, r.text


def test_sea_s2_presigned_get_sigv4_with_requests(mock):
    sea = mock.sea_tenant("acme", count=2)
    fetch_presigned(mock, sea, {"signature_version": "s3v4"}, v4=True)


def test_sea_s2_presigned_get_boto3_default_with_requests(mock):
    """boto3's default presigner (query-string SigV2 for a custom endpoint in current botocore)."""
    sea = mock.sea_tenant("acme", count=2)
    fetch_presigned(mock, sea, {}, v4=False)


def test_sea_s2_other_tenants_folder_is_access_denied_boto3(mock):
    a = mock.sea_tenant("acme", count=2)
    # A second tenant with its own files, placed on the next daily run.
    b = mock.tenant("globex")
    b_token = mock.token(b)
    mock.seed_recordings(b.tenant_id, 2)
    mock.rule(b_token)
    mock.advance(by="1d")
    b_creds = mock.sea_credentials(mock.token(b))  # the earlier token expired a day ago
    b_keys = list_keys(mock.sea_client(b_creds), b_creds.prefix)
    assert len(b_keys) == 2
    assert b_creds.prefix != a.creds.prefix

    s3 = mock.sea_client(a.creds)
    assert_denied(lambda: s3.list_objects_v2(Bucket=SEA_BUCKET, Prefix=b_creds.prefix))
    assert_denied(lambda: s3.get_object(Bucket=SEA_BUCKET, Key=b_keys[0]))
    assert_denied(lambda: s3.head_object(Bucket=SEA_BUCKET, Key=b_keys[0]), head=True)
    assert_denied(lambda: s3.delete_object(Bucket=SEA_BUCKET, Key=b_keys[0]))
    # Listing the whole bucket (no prefix) would show other folders: denied too.
    assert_denied(lambda: s3.list_objects_v2(Bucket=SEA_BUCKET))
    # B's file is untouched.
    assert len(list_keys(mock.sea_client(b_creds), b_creds.prefix)) == 2


def test_sea_s2_list_buckets_is_access_denied_boto3(mock):
    sea = mock.sea_tenant("acme", count=1)
    assert_denied(lambda: mock.sea_client(sea.creds).list_buckets())


def test_sea_s2_put_object_is_access_denied_boto3(mock):
    sea = mock.sea_tenant("acme", count=1)
    s3 = mock.sea_client(sea.creds)
    key = f"{sea.creds.prefix}uploaded.mp4"
    assert_denied(lambda: s3.put_object(Bucket=SEA_BUCKET, Key=key, Body=b"not allowed"))
    assert_denied(lambda: s3.create_bucket(Bucket="sea-user-bucket"))
    existing = list_keys(s3, sea.creds.prefix)
    assert_denied(
        lambda: s3.copy_object(Bucket=SEA_BUCKET, Key=key, CopySource={"Bucket": SEA_BUCKET, "Key": existing[0]})
    )
    assert list_keys(s3, sea.creds.prefix) == existing


# ------------------------------------------------------------------------------------------
# S5: deleted 30 days after placement; the tenant may delete earlier
# ------------------------------------------------------------------------------------------


def test_sea_s5_expiry_exactly_thirty_days_after_placement_boto3(mock):
    sea = mock.sea_tenant("acme", count=3)
    s3 = mock.sea_client(sea.creds)
    first_batch = sea_files_by_key(mock, sea.token)
    assert len(first_batch) == 3
    for f in first_batch.values():
        assert f["sea"]["placed_at"] == FIRST_RUN
        assert f["sea"]["expires_at"] == FIRST_EXPIRY

    # A second batch placed a day later keeps the folder non-empty after the first expires.
    mock.seed_recordings(sea.tenant.tenant_id, 2)
    mock.advance(to="2026-01-03T00:00:00Z")
    all_keys = set(list_keys(s3, sea.creds.prefix))
    second_batch = all_keys - set(first_batch)
    assert len(all_keys) == 5 and len(second_batch) == 2

    key = sorted(first_batch)[0]
    head = s3.head_object(Bucket=SEA_BUCKET, Key=key)
    expiry_http = format_datetime(rfc(FIRST_EXPIRY), usegmt=True)  # Sun, 01 Feb 2026 00:00:00 GMT
    assert expiry_http in head["ResponseMetadata"]["HTTPHeaders"].get("x-amz-expiration", ""), head

    mock.advance(to="2026-01-31T23:59:59Z")
    assert set(list_keys(s3, sea.creds.prefix)) == all_keys
    assert s3.head_object(Bucket=SEA_BUCKET, Key=key)["ContentLength"] == first_batch[key]["size"]
    assert s3.get_object(Bucket=SEA_BUCKET, Key=key)["Body"].read()

    mock.advance(to=FIRST_EXPIRY)
    assert set(list_keys(s3, sea.creds.prefix)) == second_batch
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=SEA_BUCKET, Key=key)
    assert s3_error_code(e.value) == "NoSuchKey", e.value.response
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=SEA_BUCKET, Key=key)
    assert s3_status(e.value) == 404, e.value.response
    assert set(sea_files_by_key(mock, sea.token)) == second_batch
    expired = [e for e in mock.events(kind="sea.expired") if e.get("tenant_id") == sea.tenant.tenant_id]
    assert {e["detail"]["key"] for e in expired} == set(first_batch)
    assert all(e["at"] == FIRST_EXPIRY for e in expired)


def test_sea_s5_whole_folder_expires_then_folder_is_access_denied_boto3(mock):
    sea = mock.sea_tenant("acme", count=2)
    s3 = mock.sea_client(sea.creds)
    keys = list_keys(s3, sea.creds.prefix)
    mock.advance(to="2026-01-31T23:59:59Z")
    assert list_keys(s3, sea.creds.prefix) == keys
    mock.advance(to=FIRST_EXPIRY)
    assert_denied(lambda: s3.list_objects_v2(Bucket=SEA_BUCKET, Prefix=sea.creds.prefix))
    assert_denied(lambda: s3.get_object(Bucket=SEA_BUCKET, Key=keys[0]))
    assert mock.files(sea.token, tier="sea") == []
    # The copies in active storage are untouched (copy_to_sea).
    assert len(mock.files(sea.token, tier="active")) == 2


def test_sea_s5_tenant_may_delete_earlier_boto3(mock):
    sea = mock.sea_tenant("acme", count=3)
    s3 = mock.sea_client(sea.creds)
    keys = list_keys(s3, sea.creds.prefix)
    victim = keys[1]
    r = s3.delete_object(Bucket=SEA_BUCKET, Key=victim)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert list_keys(s3, sea.creds.prefix) == [k for k in keys if k != victim]
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=SEA_BUCKET, Key=victim)
    assert s3_error_code(e.value) == "NoSuchKey", e.value.response
    assert victim not in sea_files_by_key(mock, sea.token)
    deleted = [e for e in mock.events(kind="sea.deleted") if e.get("tenant_id") == sea.tenant.tenant_id]
    assert [e["detail"]["key"] for e in deleted] == [victim]


def test_sea_s5_delete_objects_batch_boto3(mock):
    sea = mock.sea_tenant("acme", count=4)
    s3 = mock.sea_client(sea.creds)
    keys = list_keys(s3, sea.creds.prefix)
    r = s3.delete_objects(Bucket=SEA_BUCKET, Delete={"Objects": [{"Key": k} for k in keys[:2]]})
    assert sorted(d["Key"] for d in r.get("Deleted", [])) == sorted(keys[:2]), r
    assert not r.get("Errors"), r
    assert list_keys(s3, sea.creds.prefix) == keys[2:]


# ------------------------------------------------------------------------------------------
# S6: an empty SEA folder cannot be accessed
# ------------------------------------------------------------------------------------------


def test_sea_s6_empty_folder_is_access_denied_boto3(mock):
    t = mock.tenant("acme")
    creds = mock.sea_credentials(mock.token(t))
    s3 = mock.sea_client(creds)
    key = f"{creds.prefix}2025-12-31-10-00-00_123_VOICE_00000000-0000-0000-0000-000000000000.mp4"
    assert_denied(lambda: s3.list_objects_v2(Bucket=SEA_BUCKET, Prefix=creds.prefix))
    assert_denied(lambda: s3.list_objects(Bucket=SEA_BUCKET, Prefix=creds.prefix))
    assert_denied(lambda: s3.get_object(Bucket=SEA_BUCKET, Key=key))
    assert_denied(lambda: s3.head_object(Bucket=SEA_BUCKET, Key=key), head=True)


def test_sea_s6_recordings_not_yet_placed_folder_still_denied_boto3(mock):
    t = mock.tenant("acme")
    token = mock.token(t)
    creds = mock.sea_credentials(token)
    mock.seed_recordings(t.tenant_id, 3)
    mock.rule(token)
    s3 = mock.sea_client(creds)
    # Before the daily run nothing is in SEA yet.
    mock.advance(to="2026-01-01T23:59:59Z")
    assert_denied(lambda: s3.list_objects_v2(Bucket=SEA_BUCKET, Prefix=creds.prefix))
    mock.advance(to=FIRST_RUN)
    assert len(list_keys(s3, creds.prefix)) == 3


def test_sea_s6_folder_emptied_by_deletes_is_access_denied_boto3(mock):
    sea = mock.sea_tenant("acme", count=2)
    s3 = mock.sea_client(sea.creds)
    keys = list_keys(s3, sea.creds.prefix)
    s3.delete_object(Bucket=SEA_BUCKET, Key=keys[0])
    with pytest.raises(ClientError) as e:  # folder not empty yet: a missing key is NoSuchKey
        s3.head_object(Bucket=SEA_BUCKET, Key=keys[0])
    assert s3_status(e.value) == 404
    s3.delete_object(Bucket=SEA_BUCKET, Key=keys[1])
    assert_denied(lambda: s3.list_objects_v2(Bucket=SEA_BUCKET, Prefix=sea.creds.prefix))
    assert_denied(lambda: s3.head_object(Bucket=SEA_BUCKET, Key=keys[1]), head=True)


def test_sea_s6_missing_key_in_non_empty_folder_is_no_such_key_boto3(mock):
    sea = mock.sea_tenant("acme", count=1)
    s3 = mock.sea_client(sea.creds)
    missing = f"{sea.creds.prefix}2025-12-31-10-00-00_123_VOICE_00000000-0000-0000-0000-000000000000.mp4"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=SEA_BUCKET, Key=missing)
    assert s3_error_code(e.value) == "NoSuchKey", e.value.response
    assert s3_status(e.value) == 404
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=SEA_BUCKET, Key=missing)
    assert s3_status(e.value) == 404


# ------------------------------------------------------------------------------------------
# S8: SSE-KMS with the system key or the tenant's custom key
# ------------------------------------------------------------------------------------------


def test_sea_s8_objects_carry_sse_kms_headers_boto3(mock):
    sea = mock.sea_tenant("acme", count=2)
    s3 = mock.sea_client(sea.creds)
    tenant_key = sea.tenant.kms_key_id
    assert tenant_key, sea.tenant.raw
    for key in list_keys(s3, sea.creds.prefix):
        head = s3.head_object(Bucket=SEA_BUCKET, Key=key)
        assert head.get("ServerSideEncryption") == "aws:kms", head
        assert head.get("SSEKMSKeyId") == tenant_key, head
        got = s3.get_object(Bucket=SEA_BUCKET, Key=key)
        assert got.get("ServerSideEncryption") == "aws:kms", got
        assert got.get("SSEKMSKeyId") == tenant_key, got
        got["Body"].read()


def test_sea_s8_custom_kms_key_boto3(mock):
    custom = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    sea = mock.sea_tenant("acme", count=1, kms_key_id=custom)
    s3 = mock.sea_client(sea.creds)
    key = list_keys(s3, sea.creds.prefix)[0]
    head = s3.head_object(Bucket=SEA_BUCKET, Key=key)
    assert head.get("ServerSideEncryption") == "aws:kms", head
    assert head.get("SSEKMSKeyId") == custom, head


# ------------------------------------------------------------------------------------------
# S9: recording names and bytes
# ------------------------------------------------------------------------------------------


def test_sea_s9_key_names_and_bytes_match_storage_api_boto3(mock):
    sea = mock.sea_tenant("acme", count=12)
    s3 = mock.sea_client(sea.creds)
    expected = sea_files_by_key(mock, sea.token)
    keys = list_keys(s3, sea.creds.prefix)
    assert sorted(keys) == sorted(expected)
    media_seen = set()
    for key in keys:
        assert key.startswith(sea.creds.prefix)
        name = key[len(sea.creds.prefix):]
        assert "/" not in name, "no subfolders in SEA"
        m = NAME_RE.match(name)
        assert m, f"{name!r} is not <YYYY-MM-DD-HH-MM-SS>_<digits>_<MEDIA>_<uuid>.mp4"
        f = expected[key]
        assert f["name"] == name
        assert m["media"] == f["media_type"]
        media_seen.add(m["media"])
        recorded = rfc(f["recorded_at"]).strftime("%Y-%m-%d-%H-%M-%S")
        assert m["ts"] == recorded, (name, f["recorded_at"])
        got = s3.get_object(Bucket=SEA_BUCKET, Key=key, ChecksumMode="ENABLED")
        body = got["Body"].read()
        assert len(body) == f["size"]
        assert sha256_hex(body) == f["sha256"], key
        # Single-part S3 objects: the ETag is the MD5 of the bytes (sync tools rely on it).
        assert got["ETag"] == f'"{hashlib.md5(body).hexdigest()}"', got["ETag"]
        if got.get("ChecksumSHA256"):  # when served, it is the same SHA-256 the API reports
            assert base64.b64decode(got["ChecksumSHA256"]).hex() == f["sha256"]
        boxes = mp4_top_level_boxes(body)
        assert boxes[0] == "ftyp" and {"moov", "mdat"} <= set(boxes), boxes
    assert media_seen == {"VOICE", "SCREEN", "STATEMENT"}, media_seen


def test_sea_s9_same_seed_same_names_and_bytes_boto3(mock, tmp_path_factory):
    """Two servers with the same seed and the same steps serve identical keys and bytes."""
    from conftest import Mock, MockProcess

    def run(m):
        sea = m.sea_tenant("acme", count=3)
        s3 = m.sea_client(sea.creds)
        return {k: sha256_hex(s3.get_object(Bucket=SEA_BUCKET, Key=k)["Body"].read())
                for k in list_keys(s3, sea.creds.prefix)}

    first = run(mock)
    base = tmp_path_factory.mktemp("second")
    proc = MockProcess(base / "data", base / "mock-cxone.log")
    other = Mock(proc)
    try:
        assert run(other) == first
    finally:
        other.close()
        proc.stop()


def test_sea_rest_files_listing_requires_token(mock):
    r = mock.get("/api/v2/storage/files", params={"tier": "sea"})
    assert_api_error(r, 401)


# ------------------------------------------------------------------------------------------
# S2 again: what download tools do beyond a plain GET, and the folder boundary
# ------------------------------------------------------------------------------------------


def test_sea_s2_ranged_and_conditional_get_boto3(mock):
    sea = mock.sea_tenant("acme", count=1)
    s3 = mock.sea_client(sea.creds)
    key = list_keys(s3, sea.creds.prefix)[0]
    full = s3.get_object(Bucket=SEA_BUCKET, Key=key)
    data = full["Body"].read()
    etag = full["ETag"]
    assert len(data) > 100

    part = s3.get_object(Bucket=SEA_BUCKET, Key=key, Range="bytes=10-99")
    assert part["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert part["ContentRange"] == f"bytes 10-99/{len(data)}"
    assert part["Body"].read() == data[10:100]

    # A suffix range larger than the object gives all of it (polars asks for these).
    tail = s3.get_object(Bucket=SEA_BUCKET, Key=key, Range=f"bytes=-{len(data) + 1000}")
    assert tail["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert tail["Body"].read() == data

    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=SEA_BUCKET, Key=key, IfNoneMatch=etag)
    assert s3_status(e.value) == 304, e.value.response
    assert s3.get_object(Bucket=SEA_BUCKET, Key=key, IfMatch=etag)["Body"].read() == data


def test_sea_s2_narrower_prefix_and_start_after_boto3(mock):
    sea = mock.sea_tenant("acme", count=6)
    s3 = mock.sea_client(sea.creds)
    keys = list_keys(s3, sea.creds.prefix)
    narrow = keys[0][: len(sea.creds.prefix) + 4]  # "<folder>/YYYY"
    assert set(list_keys(s3, narrow)) == {k for k in keys if k.startswith(narrow)}
    after = s3.list_objects_v2(Bucket=SEA_BUCKET, Prefix=sea.creds.prefix, StartAfter=keys[2])
    assert [o["Key"] for o in after["Contents"]] == keys[3:]


def test_sea_s2_folder_boundary_between_similar_tenant_ids_boto3(mock):
    """Tenant `t-acme` must not reach `t-acme-2/` by listing the prefix `t-acme`."""
    a = mock.sea_tenant("acme", count=2)
    b = mock.tenant("acme 2")
    assert b.tenant_id.startswith(a.tenant.tenant_id), (a.tenant.tenant_id, b.tenant_id)
    mock.seed_recordings(b.tenant_id, 2)
    mock.rule(mock.token(b))
    mock.advance(by="1d")
    b_creds = mock.sea_credentials(mock.token(b))
    b_keys = list_keys(mock.sea_client(b_creds), b_creds.prefix)
    assert len(b_keys) == 2

    s3 = mock.sea_client(a.creds)
    try:
        seen = list_keys(s3, a.tenant.tenant_id)  # no trailing slash
    except ClientError as e:
        assert s3_error_code(e) == "AccessDenied", e.response
    else:
        assert seen and all(k.startswith(a.creds.prefix) for k in seen), seen
    assert_denied(lambda: s3.get_object(Bucket=SEA_BUCKET, Key=b_keys[0]))
    assert_denied(lambda: s3.list_objects_v2(Bucket=SEA_BUCKET, Prefix=b_creds.prefix))


def test_sea_s2_dot_dot_key_never_reaches_another_folder_boto3(mock):
    a = mock.sea_tenant("acme", count=1)
    b = mock.tenant("globex")
    mock.seed_recordings(b.tenant_id, 1)
    mock.rule(mock.token(b))
    mock.advance(by="1d")
    b_creds = mock.sea_credentials(mock.token(b))
    b_key = list_keys(mock.sea_client(b_creds), b_creds.prefix)[0]
    sneaky = f"{a.creds.prefix}../{b_key}"
    s3 = mock.sea_client(a.creds)
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=SEA_BUCKET, Key=sneaky)
    assert s3_error_code(e.value) in ("AccessDenied", "NoSuchKey"), e.value.response


def test_sea_s2_s5_get_carries_expiration_and_last_modified_boto3(mock):
    sea = mock.sea_tenant("acme", count=1)
    s3 = mock.sea_client(sea.creds)
    key = list_keys(s3, sea.creds.prefix)[0]
    got = s3.get_object(Bucket=SEA_BUCKET, Key=key)
    got["Body"].read()
    headers = got["ResponseMetadata"]["HTTPHeaders"]
    assert format_datetime(rfc(FIRST_EXPIRY), usegmt=True) in headers.get("x-amz-expiration", ""), headers
    assert got["LastModified"] == rfc(FIRST_RUN)
    assert got.get("ContentType", "").startswith("video/mp4"), got.get("ContentType")


def test_sea_s2_tls_endpoint_boto3_and_awscli(mock_tls, tmp_path):
    """S2/S8: with --tls-cert/--tls-key both listeners speak HTTPS and clients verify the chain."""
    m = mock_tls
    assert m.api.startswith("https://localhost:") and m.s3.startswith("https://localhost:"), (m.api, m.s3)
    sea = m.sea_tenant("acme", count=3)
    assert sea.creds.file_location.startswith(f"{m.s3}/{SEA_BUCKET}/")
    s3 = m.sea_client(sea.creds)
    expected = sea_files_by_key(m, sea.token)
    keys = list_keys(s3, sea.creds.prefix)
    assert sorted(keys) == sorted(expected)
    body = s3.get_object(Bucket=SEA_BUCKET, Key=keys[0])["Body"].read()
    assert sha256_hex(body) == expected[keys[0]]["sha256"]
    # Over HTTPS the SDK streams uploads with aws-chunked + a checksum trailer: still refused.
    assert_denied(lambda: s3.put_object(Bucket=SEA_BUCKET, Key=f"{sea.creds.prefix}x.mp4", Body=b"x" * 2048))

    dest = tmp_path / "tls-cp"
    cp = m.aws(sea.creds, "s3", "cp", "--recursive", f"s3://{SEA_BUCKET}/{sea.creds.prefix}", str(dest))
    assert cp.returncode == 0, cp.stderr
    assert {p.name for p in dest.iterdir()} == {k.split("/")[-1] for k in keys}
    # Plain HTTP to the TLS port is not served.
    with requests.Session() as http:
        http.trust_env = False
        try:
            r = http.get(m.api.replace("https://", "http://") + "/_mock/health", timeout=10)
        except requests.RequestException:
            pass
        else:
            assert r.status_code != 200, r.text
