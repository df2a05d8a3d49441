"""The Data Download REST API driven with `requests`, the files checked with boto3 through the
tenant's data-lake credentials (CONTRACT §4, §7; D1, D6, D7, D8, D9). Every test gets its own
server with the clock frozen at T0 (2026-01-01T00:00:00Z); tokens live an hour of mock time, so
a fresh one is taken after every advance.
"""


from __future__ import annotations

CLIENT = "requests-rest"

import hashlib
import json
from datetime import datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from conftest import T0, Mock, assert_api_error, s3_error_code, s3_status

DOWNLOADS = "/api/v2/data-downloads"
BUCKET = "org-cxone-data-lake"
PREFIX = "exports/telephony/"


def rfc(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def telephony(bucket: str = BUCKET, **changes: Any) -> dict[str, Any]:
    """The guide's body, with only the data types the catalog documents for telephony (`cdr` first)."""
    body = {
        "category": "telephony",
        "data_types": ["cdr"],
        "format": "parquet",
        "compression": "zstd",
        "partitioning": {"enabled": True, "structure": "year={yyyy}/month={MM}/day={dd}/hour={HH}"},
        "schedule": {"frequency": "HOURLY", "offset_minutes": 20},
        "destination": {"type": "aws_s3", "bucket": bucket, "prefix": PREFIX},
    }
    body.update(changes)
    return body


def create(mock: Mock, token: str, body: dict[str, Any]) -> dict[str, Any]:
    r = mock.post(DOWNLOADS, token, json=body)
    assert r.status_code == 201, f"POST {DOWNLOADS} -> {r.status_code}: {r.text}"
    d = r.json()
    assert d["id"].startswith("dl-") and d["status"] == "active", d
    return d


def get_download(mock: Mock, token: str, download_id: str) -> dict[str, Any]:
    r = mock.get(f"{DOWNLOADS}/{download_id}", token)
    assert r.status_code == 200, r.text
    return r.json()


def list_downloads(mock: Mock, token: str) -> list[dict[str, Any]]:
    r = mock.get(DOWNLOADS, token)
    assert r.status_code == 200, r.text
    return r.json()["data_downloads"]


def jobs_page(mock: Mock, token: str, download_id: str, **params: Any) -> dict[str, Any]:
    r = mock.get(f"{DOWNLOADS}/{download_id}/jobs", token, params=params)
    assert r.status_code == 200, f"jobs {params} -> {r.status_code}: {r.text}"
    return r.json()


def all_jobs(mock: Mock, token: str, download_id: str, **params: Any) -> list[dict[str, Any]]:
    """Every job, following `next_page_token` (pages of the default size)."""
    out: list[dict[str, Any]] = []
    q = dict(params)
    for _ in range(1000):
        v = jobs_page(mock, token, download_id, **q)
        out.extend(v["jobs"])
        if not v["next_page_token"]:
            return out
        q["page_token"] = v["next_page_token"]
    raise AssertionError("jobs listing never ended")


def lake_s3(mock: Mock, token: str):
    """boto3 on the mock's S3 endpoint with a new data-lake credential of the token's tenant."""
    r = mock.post("/api/v2/data-lake/credentials", token)
    assert r.status_code == 201, f"data-lake credentials -> {r.status_code}: {r.text}"
    v = r.json()
    assert v["endpoint"] == mock.s3, v
    return mock.s3_client(v["access_key_id"], v["secret_access_key"])


def split_uri(uri: str) -> tuple[str, str]:
    assert uri.startswith("s3://"), uri
    bucket, _, key = uri[len("s3://"):].partition("/")
    return bucket, key


def snapshot(mock: Mock, token: str) -> dict[str, Any]:
    """What a refused request must leave alone: the downloads, their jobs, the ledger's end."""
    downloads = list_downloads(mock, token)
    events = mock.events()
    return {
        "downloads": downloads,
        "jobs": {d["id"]: all_jobs(mock, token, d["id"]) for d in downloads},
        "events": events[-1]["seq"] if events else 0,
    }


# ------------------------------------------------------------------------------------------
# D1: scopes
# ------------------------------------------------------------------------------------------


def test_d1_read_scope_lists_but_cannot_create_and_no_token_is_401(mock):
    owner = mock.tenant("acme")
    owner_token = mock.token(owner)
    theirs = create(mock, owner_token, telephony())

    reader = mock.tenant("reader", scopes=["data-download:read"])
    assert reader.scopes == ["data-download:read"]
    token = mock.token(reader)
    r = mock.get(DOWNLOADS, token)
    assert r.status_code == 200, r.text
    assert r.json()["data_downloads"] == [], "a tenant sees only its own downloads"
    r = mock.get(f"{DOWNLOADS}/schemas", token)
    assert r.status_code == 200 and "telephony" in r.json()["categories"], r.text

    for method, path, body in [
        ("POST", DOWNLOADS, telephony("reader-lake")),
        ("PUT", f"{DOWNLOADS}/{theirs['id']}", telephony("reader-lake")),
        ("DELETE", f"{DOWNLOADS}/{theirs['id']}", None),
        ("POST", f"{DOWNLOADS}/{theirs['id']}/manual-export",
         {"category": "telephony", "start_time": T0, "end_time": "2026-01-01T01:00:00Z"}),
    ]:
        r = mock.request(method, path, token, json=body)
        assert_api_error(r, 403)
    assert list_downloads(mock, token) == []
    # Another tenant's download does not exist for this one.
    assert_api_error(mock.get(f"{DOWNLOADS}/{theirs['id']}", token), 404)
    assert_api_error(mock.get(f"{DOWNLOADS}/{theirs['id']}/jobs", token), 404)

    storage_only = mock.tenant("storage", scopes=["storage:manage"])
    assert_api_error(mock.get(DOWNLOADS, mock.token(storage_only)), 403)

    for method, path in [("GET", DOWNLOADS), ("POST", DOWNLOADS), ("GET", f"{DOWNLOADS}/{theirs['id']}/jobs")]:
        r = mock.request(method, path, json=telephony() if method == "POST" else None)
        assert_api_error(r, 401)
        assert r.headers.get("WWW-Authenticate", "").startswith("Bearer"), r.headers
        r = mock.request(method, path, "not-a-token")
        assert_api_error(r, 401)
    assert [d["id"] for d in list_downloads(mock, owner_token)] == [theirs["id"]]


def test_d1_token_expires_after_an_hour_of_mock_time(mock):
    t = mock.tenant("acme")
    token = mock.token(t)
    d = create(mock, token, telephony())
    mock.advance(by="59m")
    assert mock.get(f"{DOWNLOADS}/{d['id']}", token).status_code == 200
    mock.advance(by="2m")
    assert_api_error(mock.get(f"{DOWNLOADS}/{d['id']}", token), 401)
    assert get_download(mock, mock.token(t), d["id"])["id"] == d["id"]


# ------------------------------------------------------------------------------------------
# D6: the jobs API
# ------------------------------------------------------------------------------------------


def test_d6_pagination_with_page_size_2_equals_the_full_list(mock):
    t = mock.tenant("acme")
    d = create(mock, mock.token(t), telephony())
    mock.advance(by="7h")
    token = mock.token(t)
    full = jobs_page(mock, token, d["id"], page_size=100)
    assert full["next_page_token"] is None
    everything = full["jobs"]
    assert len(everything) == 7, [j["interval_start"] for j in everything]

    paged, pages, page_token = [], 0, None
    while True:
        params: dict[str, Any] = {"page_size": 2}
        if page_token:
            params["page_token"] = page_token
        v = jobs_page(mock, token, d["id"], **params)
        assert 1 <= len(v["jobs"]) <= 2, v
        paged.extend(v["jobs"])
        pages += 1
        page_token = v["next_page_token"]
        if not page_token:
            break
    assert pages == 4
    assert paged == everything
    assert len({j["id"] for j in paged}) == len(paged)
    assert [j["interval_start"] for j in paged] == sorted(j["interval_start"] for j in paged)

    # Filtered and paged together.
    done = all_jobs(mock, token, d["id"], status="COMPLETED", page_size=2)
    assert done == [j for j in everything if j["status"] == "COMPLETED"]
    assert len(done) == 6, "00..06 have run by 07:00; 06-07 waits for its offset"
    for j in done:
        assert j["error_details"] is None and j["end_time"] is not None
        assert j["output_files"] and j["record_count"] == sum(j["record_counts"].values())
        r = mock.get(f"{DOWNLOADS}/{d['id']}/jobs/{j['id']}", token)
        assert r.status_code == 200 and r.json() == j
    pending = [j for j in everything if j["status"] != "COMPLETED"]
    assert [j["status"] for j in pending] == ["PENDING"] and pending[0]["end_time"] is None
    for bad in [{"page_size": 0}, {"page_token": "not-a-token"}, {"status": "DONE"}]:
        assert_api_error(mock.get(f"{DOWNLOADS}/{d['id']}/jobs", token, params=bad), 400)


# ------------------------------------------------------------------------------------------
# D7: manual export (backfill)
# ------------------------------------------------------------------------------------------


def manual_export(mock: Mock, token: str, download_id: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    r = mock.post(f"{DOWNLOADS}/{download_id}/manual-export", token, json=body)
    assert r.status_code == 202, f"manual export {body} -> {r.status_code}: {r.text}"
    jobs = r.json()["jobs"]
    assert all(j["status"] == "PENDING" for j in jobs), jobs
    return jobs


def test_d7_manual_export_overwrite_false_takes_the_next_part_and_destination_prefix_backfills(mock):
    t = mock.tenant("acme")
    d = create(mock, mock.token(t), telephony())
    mock.advance(by="2h")
    token = mock.token(t)
    [first] = all_jobs(mock, token, d["id"], status="COMPLETED")
    s3 = lake_s3(mock, token)
    [uri] = first["output_files"]
    bucket, key = split_uri(uri)
    assert key == f"{PREFIX}cdr/year=2026/month=01/day=01/hour=00/part-00000.parquet"
    before = s3.get_object(Bucket=bucket, Key=key)
    original = before["Body"].read()
    assert before["ServerSideEncryption"] == "aws:kms" and before["SSEKMSKeyId"], "data-lake objects are SSE-KMS"
    assert rfc(first["start_time"]) <= before["LastModified"] <= rfc(first["end_time"]), "mock clock"

    hour0 = {"category": "telephony", "start_time": T0, "end_time": "2026-01-01T01:00:00Z", "overwrite": False}
    [again] = manual_export(mock, token, d["id"], hour0)
    assert again["interval_start"] == T0 and again["kind"] == "manual"
    backfill = manual_export(mock, token, d["id"], {
        "category": "telephony", "start_time": T0, "end_time": "2026-01-01T02:00:00Z",
        "overwrite": False, "destination_prefix": "exports/telephony/backfill/",
    })
    assert [j["interval_start"] for j in backfill] == [T0, "2026-01-01T01:00:00Z"], "one job per interval"

    # Poll the jobs API until the manual jobs are COMPLETED.
    manual_ids = {again["id"], *(j["id"] for j in backfill)}
    for _ in range(12):
        mock.advance(by="10m")
        token = mock.token(t)
        by_id = {j["id"]: j for j in all_jobs(mock, token, d["id"])}
        if all(by_id[i]["status"] == "COMPLETED" for i in manual_ids):
            break
    else:
        pytest.fail(f"manual jobs never completed: {json.dumps([by_id[i] for i in manual_ids], indent=1)}")

    # Same prefix, overwrite false: part-00001, and part-00000 is byte-for-byte what it was.
    done = by_id[again["id"]]
    [new_uri] = done["output_files"]
    assert new_uri == uri.replace("part-00000", "part-00001"), new_uri
    after = s3.get_object(Bucket=bucket, Key=key)
    assert after["Body"].read() == original
    assert after["ETag"] == before["ETag"] and after["LastModified"] == before["LastModified"]
    new = s3.get_object(Bucket=bucket, Key=split_uri(new_uri)[1])["Body"].read()
    assert done["checksums"][new_uri] == "sha256:" + hashlib.sha256(new).hexdigest()
    assert new == original, "the same interval re-exported: the same records"
    [manifest_uri] = done["manifests"]
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=split_uri(manifest_uri)[1])["Body"].read())
    assert manifest["job_id"] == done["id"]
    assert [f["key"] for f in manifest["files"]] == [split_uri(new_uri)[1]]
    # The first job's manifest still lists only part-00000.
    [m0] = first["manifests"]
    m0_body = json.loads(s3.get_object(Bucket=bucket, Key=split_uri(m0)[1])["Body"].read())
    assert [f["key"] for f in m0_body["files"]] == [key]

    # destination_prefix replaces the download's prefix for these jobs: a fresh folder, part-00000.
    for j in backfill:
        j = by_id[j["id"]]
        start = rfc(j["interval_start"])
        for u in j["output_files"] + j["manifests"]:
            b, k = split_uri(u)
            assert b == BUCKET
            assert k.startswith(f"exports/telephony/backfill/cdr/year=2026/month=01/day=01/hour={start:%H}/"), k
        [u] = j["output_files"]
        assert u.endswith("/part-00000.parquet"), u
        s3.head_object(Bucket=BUCKET, Key=split_uri(u)[1])
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{PREFIX}cdr/year=2026/month=01/day=01/hour=00/")
    names = sorted(o["Key"].rsplit("/", 1)[1] for o in listed.get("Contents", []))
    assert names == sorted([f"_manifest-{first['id']}.json", f"_manifest-{again['id']}.json",
                            "part-00000.parquet", "part-00001.parquet"]), names

    # A third export of the same hour takes part-00002.
    [third] = manual_export(mock, token, d["id"], hour0)
    mock.advance(by="30m")
    third = mock.get(f"{DOWNLOADS}/{d['id']}/jobs/{third['id']}", mock.token(t)).json()
    assert third["status"] == "COMPLETED", third
    assert third["output_files"] == [uri.replace("part-00000", "part-00002")]
    assert s3.get_object(Bucket=bucket, Key=key)["ETag"] == before["ETag"]


# ------------------------------------------------------------------------------------------
# D8: a destination that refuses the write
# ------------------------------------------------------------------------------------------


def test_d8_bucket_owned_by_another_tenant_fails_the_job_pauses_and_put_resumes(mock):
    other = mock.tenant("other")
    other_s3 = lake_s3(mock, mock.token(other))
    other_s3.create_bucket(Bucket="taken-lake")
    other_s3.put_object(Bucket="taken-lake", Key="mine.txt", Body=b"the other tenant's data")

    t = mock.tenant("acme")
    d = create(mock, mock.token(t), telephony("taken-lake"))
    mock.advance(by="2h")
    token = mock.token(t)
    [failed] = all_jobs(mock, token, d["id"])
    assert failed["status"] == "FAILED", failed
    assert "taken-lake" in (failed["error_details"] or ""), failed
    assert failed["output_files"] == [] and failed["interval_start"] == T0
    dl = get_download(mock, token, d["id"])
    assert dl["status"] == "needs_reconfiguration", dl

    # No retry, no new jobs however long the clock runs.
    mock.advance(by="5h")
    token = mock.token(t)
    assert all_jobs(mock, token, d["id"]) == [failed]
    assert get_download(mock, token, d["id"])["status"] == "needs_reconfiguration"
    listed = other_s3.list_objects_v2(Bucket="taken-lake")
    assert [o["Key"] for o in listed.get("Contents", [])] == ["mine.txt"], "nothing of acme's was written"

    # A PUT with a bucket of its own makes it active; later intervals complete.
    r = mock.request("PUT", f"{DOWNLOADS}/{d['id']}", token, json=telephony("acme-own-lake"))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "active" and r.json()["destination"]["bucket"] == "acme-own-lake"
    mock.advance(by="3h")
    token = mock.token(t)
    jobs = all_jobs(mock, token, d["id"])
    assert jobs[0] == failed, "the failed job is never retried by the platform"
    later = [j for j in jobs[1:] if j["status"] == "COMPLETED"]
    assert len(later) >= 2, jobs
    assert all(rfc(j["interval_start"]) >= rfc("2026-01-01T07:00:00Z") for j in jobs[1:]), \
        "the paused intervals are the user's to backfill"
    s3 = lake_s3(mock, token)
    for j in later:
        for u in j["output_files"]:
            b, k = split_uri(u)
            assert b == "acme-own-lake"
            s3.head_object(Bucket=b, Key=k)
    assert get_download(mock, token, d["id"])["status"] == "active"


# ------------------------------------------------------------------------------------------
# §7: bad input is a 400 in the error shape and changes nothing
# ------------------------------------------------------------------------------------------


def _with(path: list[str], value: Any) -> dict[str, Any]:
    body = telephony("bad-input-lake")
    cur = body
    for p in path[:-1]:
        cur = cur[p]
    cur[path[-1]] = value
    return body


BAD_BODIES = [
    pytest.param(_with(["category"], "billing"), "category", id="unknown-category"),
    pytest.param(_with(["schedule", "offset_minutes"], 60), "offset_minutes", id="offset-60"),
    pytest.param(_with(["partitioning", "structure"], "year={YYYY}/hour={hh}"), "partitioning", id="bad-template"),
    pytest.param(_with(["surprise"], True), "surprise", id="unknown-field"),
    pytest.param(_with(["destination", "colour"], "red"), "colour", id="unknown-destination-field"),
    pytest.param(_with(["data_types"], ["no_such_type"]), "no_such_type", id="unknown-data-type"),
]


@pytest.mark.parametrize("body, needle", BAD_BODIES)
def test_errors_bad_download_body_is_400_and_changes_nothing(mock, body, needle):
    t = mock.tenant("acme")
    token = mock.token(t)
    existing = create(mock, token, telephony())
    before = snapshot(mock, token)
    err = assert_api_error(mock.post(DOWNLOADS, token, json=body), 400)
    assert needle in err["message"], err
    # PUT with the same body leaves the existing download as it was.
    err = assert_api_error(mock.request("PUT", f"{DOWNLOADS}/{existing['id']}", token, json=body), 400)
    assert needle in err["message"], err
    assert snapshot(mock, token) == before


@pytest.mark.parametrize("raw", ['{"category": "telephony",', "not json", '{"category": "telephony"}}', "[]"])
def test_errors_malformed_download_json_is_400_and_changes_nothing(mock, raw):
    t = mock.tenant("acme")
    token = mock.token(t)
    create(mock, token, telephony())
    before = snapshot(mock, token)
    r = mock.post(DOWNLOADS, token, data=raw, headers={"Content-Type": "application/json"})
    assert_api_error(r, 400)
    assert snapshot(mock, token) == before


def test_errors_bad_manual_export_is_400_and_changes_nothing(mock):
    t = mock.tenant("acme")
    d = create(mock, mock.token(t), telephony())
    mock.advance(by="2h")
    token = mock.token(t)
    before = snapshot(mock, token)
    path = f"{DOWNLOADS}/{d['id']}/manual-export"
    for body in [
        {"category": "ivr", "start_time": T0, "end_time": "2026-01-01T01:00:00Z"},
        {"category": "telephony", "start_time": "2026-01-01T01:00:00Z", "end_time": T0},
        {"category": "telephony", "start_time": "yesterday", "end_time": T0},
        {"category": "telephony", "start_time": T0, "end_time": "2026-01-01T01:00:00Z", "destination_prefix": "/x"},
        {"category": "telephony", "start_time": T0, "end_time": "2026-01-01T01:00:00Z", "overwrite": "no"},
        {"category": "telephony", "start_time": T0, "end_time": "2026-01-01T01:00:00Z", "unknown": 1},
    ]:
        assert_api_error(mock.post(path, token, json=body), 400)
    r = mock.post(path, token, data="{", headers={"Content-Type": "application/json"})
    assert_api_error(r, 400)
    assert_api_error(mock.post(f"{DOWNLOADS}/dl-nope/manual-export", token,
                               json={"category": "telephony", "start_time": T0,
                                     "end_time": "2026-01-01T01:00:00Z"}), 404)
    assert snapshot(mock, token) == before


# ------------------------------------------------------------------------------------------
# D9: retention on the destination (lifecycle at 00:00 UTC, as AWS runs it)
# ------------------------------------------------------------------------------------------


def head_class(s3, key: str) -> str | None:
    return s3.head_object(Bucket="retained-lake", Key=key).get("StorageClass")


def test_d9_retention_turns_files_glacier_ir_after_cold_days_then_deletes_them(mock):
    t = mock.tenant("acme")
    body = telephony("retained-lake")
    body["schedule"] = {"frequency": "DAILY", "offset_minutes": 20}
    body["retention"] = {"days": 3, "cold_after_days": 1}
    d = create(mock, mock.token(t), body)
    assert d["retention"] == {"days": 3, "cold_after_days": 1}

    mock.advance(to="2026-01-02T01:00:00Z")
    token = mock.token(t)
    [day1] = all_jobs(mock, token, d["id"], status="COMPLETED")
    assert day1["interval_start"] == T0
    written = rfc(day1["end_time"])
    assert rfc("2026-01-02T00:20:00Z") <= written < rfc("2026-01-02T01:00:00Z"), day1
    s3 = lake_s3(mock, token)
    [uri] = day1["output_files"]
    [muri] = day1["manifests"]
    key, mkey = split_uri(uri)[1], split_uri(muri)[1]
    assert head_class(s3, key) is None, "fresh objects are STANDARD (no header)"

    # One day old only after 2026-01-03T00:2x: the 2026-01-03 run leaves it alone...
    mock.advance(to="2026-01-03T23:59:59Z")
    assert head_class(s3, key) is None
    # ...the first midnight after that transitions it.
    mock.advance(to="2026-01-04T00:00:00Z")
    assert head_class(s3, key) == "GLACIER_IR"
    assert head_class(s3, mkey) == "GLACIER_IR"
    token = mock.token(t)
    [day2] = [j for j in all_jobs(mock, token, d["id"]) if j["interval_start"] == "2026-01-02T00:00:00Z"]
    assert day2["status"] == "COMPLETED"
    assert head_class(s3, split_uri(day2["output_files"][0])[1]) is None, "day 2's file is not a day old yet"
    # GLACIER_IR is instant retrieval: still readable, same bytes; listings show the class.
    obj = s3.get_object(Bucket="retained-lake", Key=key)
    assert obj.get("StorageClass") == "GLACIER_IR"
    assert day1["checksums"][uri] == "sha256:" + hashlib.sha256(obj["Body"].read()).hexdigest()
    listed = {o["Key"]: o for o in s3.list_objects_v2(Bucket="retained-lake")["Contents"]}
    assert listed[key]["StorageClass"] == "GLACIER_IR", listed[key]

    # Three days old after 2026-01-05T00:2x: deleted at 2026-01-06T00:00, not before.
    mock.advance(to="2026-01-05T23:59:59Z")
    assert head_class(s3, key) == "GLACIER_IR"
    mock.advance(to="2026-01-06T00:00:00Z")
    for k in (key, mkey):
        with pytest.raises(ClientError) as e:
            s3.head_object(Bucket="retained-lake", Key=k)
        assert s3_status(e.value) == 404, e.value.response
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket="retained-lake", Key=key)
    assert s3_error_code(e.value) == "NoSuchKey", e.value.response
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="retained-lake").get("Contents", [])]
    assert key not in keys and mkey not in keys
    for day in ("02", "03", "04"):  # younger files stay
        assert f"{PREFIX}cdr/year=2026/month=01/day={day}/hour=00/part-00000.parquet" in keys, keys
    # The job record stays: what was exported is still documented.
    token = mock.token(t)
    assert mock.get(f"{DOWNLOADS}/{d['id']}/jobs/{day1['id']}", token).json()["output_files"] == [uri]
