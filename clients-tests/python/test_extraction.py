"""CXone's Data Extraction API with requests, the way a real CXone client uses it (CONTRACT §4):
POST a job, poll it until SUCCEEDED, download the CSV from the presigned result URL (no bearer
token), parse it with the csv module. Time only moves through the control API."""


from __future__ import annotations

CLIENT = "requests-rest"

import csv
import io
import re
from datetime import datetime, timedelta

import requests

from conftest import assert_api_error

JOBS = "/data-extraction/v1/jobs"
#: The clock starts at T0 (2026-01-01T00:00:00Z); move it so two whole days have data.
DAY_AFTER = "2026-01-03T00:00:00Z"

RECORDING_COLUMNS = [
    "acdContactId", "masterContactId", "segmentId", "callUuid", "interactionId", "mediaType",
    "recordingMediaType", "direction", "contactStartTime", "startTime", "endTime", "durationSeconds",
    "holdSeconds", "agentId", "teamId", "skillId", "skillName", "ANI", "DNIS", "disposition", "fileName",
]
QM_COLUMNS = [
    "workflowId", "workflowType", "formName", "acdContactId", "masterContactId", "segmentId", "agentId",
    "teamId", "evaluatorId", "createdTime", "dueTime", "state", "startedTime", "submittedTime",
    "scorePercentage", "passed", "lastUpdateTime",
]
FILE_NAME = re.compile(
    r"^\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}_\d+_(VOICE|SCREEN)_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.mp4$"
)


def parse_time(s: str) -> datetime:
    assert s.endswith("Z"), s
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def submit(mock, token: str, entity: str, version: str, start: str, end: str) -> str:
    r = mock.post(JOBS, token, json={"entityName": entity, "version": version, "startDate": start, "endDate": end})
    assert r.status_code == 202, r.text
    job_id = r.json()
    assert isinstance(job_id, str) and job_id, r.text
    return job_id


def poll_until_done(mock, token: str, job_id: str) -> dict:
    """Polls like a client would, moving the mock clock 10 s between polls instead of sleeping."""
    for _ in range(12):
        r = mock.get(f"{JOBS}/{job_id}", token)
        assert r.status_code == 200, r.text
        status = r.json()["jobStatus"]
        assert status["id"] == job_id
        if status["status"] != "RUNNING":
            return status
        assert status["result"]["url"] is None
        mock.advance(by="10s")
    raise AssertionError(f"job {job_id} still RUNNING after 2 mock minutes")


def download_rows(url: str) -> tuple[list[str], list[dict[str, str]]]:
    # A plain GET, no Authorization: the URL is presigned, as an S3 URL would be.
    with requests.Session() as s:
        s.trust_env = False
        r = s.get(url, timeout=60)
    assert r.status_code == 200, r.text[:500]
    assert r.headers["Content-Type"].startswith("text/csv"), r.headers
    reader = csv.DictReader(io.StringIO(r.content.decode("utf-8"), newline=""))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


def test_extraction_happy_path_post_poll_download_and_parse(mock):
    mock.advance(to=DAY_AFTER)
    t = mock.tenant("acme")
    token = mock.token(t)

    job_id = submit(mock, token, "recording-interaction-metadata", "7", "2026-01-01", "2026-01-02")
    status = poll_until_done(mock, token, job_id)
    assert status["status"] == "SUCCEEDED", status
    assert status["result"]["errorMessage"] is None
    url = status["result"]["url"]
    assert url.startswith(f"{mock.api}/data-extraction/v1/results/{job_id}/"), url

    header, rows = download_rows(url)
    assert header == RECORDING_COLUMNS
    assert len(rows) > 500, len(rows)
    ids = [int(r["acdContactId"]) for r in rows]
    assert len(set(ids)) == len(ids), "one row per recorded contact"
    for row in rows:
        start, end = parse_time(row["startTime"]), parse_time(row["endTime"])
        assert datetime(2026, 1, 1).date() <= parse_time(row["contactStartTime"]).date() <= datetime(2026, 1, 2).date()
        assert start <= end
        assert int(row["durationSeconds"]) == int((end - start).total_seconds())
        assert FILE_NAME.match(row["fileName"]), row["fileName"]
        assert row["fileName"].startswith(start.strftime("%Y-%m-%d-%H-%M-%S") + f"_{row['masterContactId']}_")
        if row["mediaType"] == "Voice":
            assert row["recordingMediaType"] == "VOICE" and row["callUuid"] and not row["interactionId"]
        else:
            assert row["recordingMediaType"] == "SCREEN" and row["interactionId"] and not row["callUuid"]

    # The listing shows the job.
    r = mock.get(JOBS, token)
    assert r.status_code == 200
    assert [(j["id"], j["status"]) for j in r.json()["jobs"]] == [(job_id, "SUCCEEDED")]


def test_extraction_qm_workflows_join_recording_metadata(mock):
    mock.advance(to=DAY_AFTER)
    t = mock.tenant("acme")
    token = mock.token(t)
    rec_id = submit(mock, token, "recording-interaction-metadata", "7", "2026-01-01", "2026-01-02")
    r = mock.post(JOBS, token, json={"entityName": "qm-workflows", "version": "4",
                                     "startDate": "2026-01-01", "endDate": "2026-01-02"})
    err = assert_api_error(r, 403)
    assert "30 s" in err["message"]
    assert r.headers["Retry-After"] == "30"
    mock.advance(by="30s")
    qm_id = submit(mock, token, "qm-workflows", "4", "2026-01-01", "2026-01-02")

    _, recordings = download_rows(poll_until_done(mock, token, rec_id)["result"]["url"])
    header, workflows = download_rows(poll_until_done(mock, token, qm_id)["result"]["url"])
    assert header == QM_COLUMNS
    segments = {r["segmentId"]: r for r in recordings}
    assert 0.05 < len(workflows) / len(recordings) < 0.16, (len(workflows), len(recordings))
    for w in workflows:
        rec = segments[w["segmentId"]]
        assert rec["acdContactId"] == w["acdContactId"] and rec["agentId"] == w["agentId"]
        assert parse_time(w["dueTime"]) - parse_time(w["createdTime"]) == timedelta(days=7)
        assert w["state"] in {"NEW", "IN_PROGRESS", "COMPLETED", "EXPIRED"}
        if w["state"] == "COMPLETED":
            assert 0 <= float(w["scorePercentage"]) <= 100
            assert w["passed"] in {"true", "false"}
            assert parse_time(w["submittedTime"]) <= parse_time("2026-01-03T00:00:30Z")
        else:
            assert w["scorePercentage"] == "" and w["passed"] == ""


def test_extraction_result_url_is_presigned_and_results_expire_after_24h(mock):
    mock.advance(to=DAY_AFTER)
    t = mock.tenant("acme")
    token = mock.token(t)
    job_id = submit(mock, token, "qm-workflows", "4", "2026-01-01", "2026-01-01")
    url = poll_until_done(mock, token, job_id)["result"]["url"]

    tampered = re.sub(r"expires=(\d+)", lambda m: f"expires={int(m.group(1)) + 3600}", url)
    with requests.Session() as s:
        s.trust_env = False
        assert_api_error(s.get(tampered, timeout=30), 403)
        assert_api_error(s.get(url.split("?")[0], timeout=30), 403)

    mock.advance(by="1d")
    token = mock.token(t)  # tokens live an hour of mock time
    status = mock.get(f"{JOBS}/{job_id}", token).json()["jobStatus"]
    assert status["status"] == "EXPIRED"
    assert status["result"]["url"] is None


def test_extraction_errors_are_json_and_change_nothing(mock):
    mock.advance(to=DAY_AFTER)
    t = mock.tenant("acme")
    token = mock.token(t)
    assert_api_error(mock.post(JOBS, json={"entityName": "qm-workflows", "version": "4",
                                           "startDate": "2026-01-01", "endDate": "2026-01-01"}), 401)
    for body in (
        {"entityName": "nope", "version": "1", "startDate": "2026-01-01", "endDate": "2026-01-01"},
        {"entityName": "qm-workflows", "version": "3", "startDate": "2026-01-01", "endDate": "2026-01-01"},
        {"entityName": "qm-workflows", "version": "4", "startDate": "2026-01-02", "endDate": "2026-01-01"},
        {"entityName": "qm-workflows", "version": "4", "startDate": "2025-11-01", "endDate": "2026-01-01"},
        {"entityName": "qm-workflows", "version": "4", "startDate": "01/01/2026", "endDate": "2026-01-01"},
    ):
        assert_api_error(mock.post(JOBS, token, json=body), 400)
    assert mock.get(JOBS, token).json() == {"jobs": []}
    other = mock.tenant("globex")
    job_id = submit(mock, mock.token(other), "qm-workflows", "4", "2026-01-01", "2026-01-01")
    assert_api_error(mock.get(f"{JOBS}/{job_id}", token), 404)
