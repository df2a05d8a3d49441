"""`GET /metrics` (Prometheus text format, parsed by the official `prometheus_client` parser) and
the request log (`--log-format text|json`): each request the test makes is counted under its
route template or S3 operation, jobs by status and category match the Data Download API, SEA
objects and bytes match an S3 listing of the folder, faults fired match the event ledger, and the
log has one line per request with its listener, tenant, operation, method, status, duration and
(S3) request id. docs/observability.md."""
from __future__ import annotations

CLIENT = "prometheus-client"

import json
from collections import Counter
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from botocore.exceptions import ClientError

from conftest import SEA_BUCKET, T0, Mock, MockProcess, s3_error_code
from test_download_rest import all_jobs, create, telephony
from test_s3_fidelity import BUCKET, lake

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def scrape(mock: Mock) -> dict[str, list[Any]]:
    """Samples by family name (counters keep `_total`, as the exposition names them)."""
    r = mock.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == CONTENT_TYPE
    out: dict[str, list[Any]] = {}
    for fam in text_string_to_metric_families(r.text):
        for s in fam.samples:
            out.setdefault(s.name, []).append(s)
    return out


def value(samples: dict[str, list[Any]], name: str, **labels: str) -> float:
    """The one sample of `name` whose labels include `labels` (0 when there is none)."""
    hits = [s for s in samples.get(name, []) if all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(hits) <= 1, hits
    return hits[0].value if hits else 0


def test_requests_are_counted_by_route_template_and_s3_operation(mock):
    _, s3 = lake(mock)
    for i in range(3):
        s3.put_object(Bucket=BUCKET, Key=f"m/{i}.txt", Body=b"x" * 10)
    for _ in range(2):
        s3.get_object(Bucket=BUCKET, Key="m/0.txt")["Body"].read()
    with pytest.raises(Exception):
        s3.head_object(Bucket=BUCKET, Key="m/missing")
    before = scrape(mock)
    # Two calls of one templated route with different ids count under the template.
    for job in ("job-a", "job-b"):
        assert mock.get(f"/_mock/dashboard/tenants/{job}/sea").status_code == 404
    m = scrape(mock)
    assert value(m, "mock_cxone_s3_operations_total", operation="PutObject", status="200") == 3
    assert value(m, "mock_cxone_s3_operations_total", operation="GetObject", status="200") == 2
    assert value(m, "mock_cxone_s3_operations_total", operation="HeadObject", status="404") == 1
    assert value(m, "mock_cxone_requests_total", listener="s3", endpoint="PutObject", method="PUT", status="200") == 3
    sea_route = "/_mock/dashboard/tenants/{tenant}/sea"
    assert value(m, "mock_cxone_requests_total", listener="rest", endpoint=sea_route, method="GET", status="404") \
        - value(before, "mock_cxone_requests_total", listener="rest", endpoint=sea_route, method="GET", status="404") == 2
    assert not [s for s in m["mock_cxone_requests_total"] if "job-a" in s.labels["endpoint"]], "raw paths never become labels"
    # The scrape before this one is counted too.
    assert value(m, "mock_cxone_requests_total", listener="rest", endpoint="/metrics", method="GET", status="200") >= 1
    # Histograms: one count per request, cumulative buckets ending at +Inf.
    labels = {"listener": "s3", "endpoint": "GetObject", "method": "GET", "status": "200"}
    assert value(m, "mock_cxone_request_duration_seconds_count", **labels) == 2
    assert value(m, "mock_cxone_request_duration_seconds_bucket", le="+Inf", **labels) == 2


def test_jobs_by_status_and_category_match_the_data_download_api(mock):
    t = mock.tenant("acme")
    token = mock.token(t)
    dl = create(mock, token, telephony())
    mock.advance(by="3h")
    token = mock.token(t)
    jobs = all_jobs(mock, token, dl["id"])
    assert jobs, "three hours of an hourly download make jobs"
    want = Counter((j["status"], "telephony") for j in jobs)
    m = scrape(mock)
    got = {(s.labels["status"], s.labels["category"]): s.value
           for s in m["mock_cxone_jobs"] if s.labels["tenant"] == t.tenant_id}
    assert got == dict(want)


def test_s7_s6_sea_objects_bytes_and_backlog_match_the_folder(mock):
    setup = mock.sea_tenant("acme", count=6)
    tid = setup.tenant.tenant_id
    s3 = mock.sea_client(setup.creds)
    listed = s3.list_objects_v2(Bucket=SEA_BUCKET, Prefix=f"{tid}/").get("Contents", [])
    assert len(listed) == 6
    backlog = mock.get("/api/v2/storage/sea/backlog", setup.token).json()
    m = scrape(mock)
    assert value(m, "mock_cxone_sea_objects", tenant=tid) == 6
    assert value(m, "mock_cxone_sea_bytes", tenant=tid) == sum(o["Size"] for o in listed)
    assert value(m, "mock_cxone_sea_backlog_files", tenant=tid) == backlog["backlog"] == 0
    assert value(m, "mock_cxone_sea_placed_today", tenant=tid) == backlog["placed_today"]
    assert value(m, "mock_cxone_sea_placed_today", tenant=tid) == 6
    assert value(m, "mock_cxone_sea_cap_per_day", tenant=tid) == 100_000
    # 30-day expiry: past it the folder is empty, and so is the figure.
    mock.advance(by="31d")
    s3 = mock.sea_client(mock.sea_credentials(setup.token))  # the old key expired meanwhile
    with pytest.raises(ClientError) as e:  # S6: an empty SEA folder is AccessDenied
        s3.list_objects_v2(Bucket=SEA_BUCKET, Prefix=f"{tid}/")
    assert s3_error_code(e.value) == "AccessDenied"
    m = scrape(mock)
    assert value(m, "mock_cxone_sea_objects", tenant=tid) == value(m, "mock_cxone_sea_bytes", tenant=tid) == 0


def test_faults_fired_match_the_event_ledger(mock):
    t = mock.tenant("acme")
    token = mock.token(t)
    dl = create(mock, token, telephony())
    mock.control("/_mock/faults", {"kind": "job_failed", "download_id": dl["id"], "next_jobs": 2}, expect=201)
    # A window over every tenant: its firing (a request refused inside it) concerns no tenant.
    mock.control("/_mock/faults", {"kind": "maintenance_window", "from": T0, "until": "2026-01-01T00:10:00Z"},
                 expect=201)
    assert mock.get("/api/v2/data-downloads", token).status_code == 503
    mock.advance(by="4h")
    fired = Counter((e.get("tenant_id") or "", e["detail"]["kind"]) for e in mock.events(kind="fault"))
    assert fired[(t.tenant_id, "job_failed")] == 2
    m = scrape(mock)
    got = {(s.labels["tenant"], s.labels["kind"]): s.value for s in m["mock_cxone_faults_fired_total"]}
    assert got == dict(fired)


def test_metrics_answer_during_a_maintenance_window(mock):
    t = mock.tenant("acme")
    now = mock.now()
    mock.control("/_mock/faults", {"kind": "maintenance_window", "from": now, "until": "2099-01-01T00:00:00Z"}, expect=201)
    assert mock.get("/api/v2/data-downloads", mock.token(t)).status_code == 503
    m = scrape(mock)
    assert value(m, "mock_cxone_requests_total", listener="rest", endpoint="/api/v2/data-downloads",
                 method="GET", status="503") == 1


def request_lines(path) -> list[str]:
    return [l for l in path.read_text().splitlines() if "mock_cxone::request" in l]


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_one_log_line_per_request(tmp_path, fmt):
    proc = MockProcess(tmp_path / "data", tmp_path / "mock.log", extra_args=["--log-format", fmt])
    mock = Mock(proc)
    try:
        _, s3 = lake(mock)
        baseline = len(request_lines(proc.log_path))
        s3.put_object(Bucket=BUCKET, Key="log.txt", Body=b"x")
        put_id = s3.get_object(Bucket=BUCKET, Key="log.txt")["ResponseMetadata"]["RequestId"]
        health_resp = mock.get("/_mock/health")
        assert health_resp.status_code == 200
        health_id = health_resp.headers["x-request-id"]
    finally:
        mock.close()
        proc.stop()
    lines = request_lines(proc.log_path)[baseline:]
    assert len(lines) == 3, lines
    assert "X-Amz-Signature" not in proc.log_path.read_text() and "Authorization" not in proc.log_path.read_text()
    if fmt == "json":
        rows = [json.loads(l) for l in lines]
        put, get, health = rows
        for r in rows:
            assert {"timestamp", "level", "listener", "tenant", "operation", "method", "status",
                    "duration_ms", "request_id"} <= set(r), r
            assert r["level"] == "INFO" and r["duration_ms"] >= 0
        assert (put["listener"], put["operation"], put["method"], put["status"]) == ("s3", "PutObject", "PUT", 200)
        assert put["tenant"].startswith("t-")
        assert (get["operation"], get["request_id"]) == ("GetObject", put_id)
        assert (health["listener"], health["operation"], health["status"]) == ("rest", "/_mock/health", 200)
        assert health["request_id"] == health_id
    else:
        put, get, health = lines
        assert "listener=\"s3\"" in put and "operation=PutObject" in put and "status=200" in put, put
        assert f"request_id=\"{put_id}\"" in get or f"request_id={put_id}" in get, get
        assert "operation=/_mock/health" in health and "listener=\"rest\"" in health, health
        assert f"request_id=\"{health_id}\"" in health, health


def test_a_rest_error_names_its_request_in_body_header_and_log(tmp_path):
    """The REST request id: the error body's `request_id`, the `x-request-id` header and the
    request's log line carry the same id, so a failing call in a pipeline's log is found in the
    mock's."""
    proc = MockProcess(tmp_path / "data", tmp_path / "mock.log", extra_args=["--log-format", "json"])
    mock = Mock(proc)
    try:
        ok = mock.get("/_mock/health")
        bad = mock.get("/api/v2/data-downloads/dl-missing", "not-a-token")
    finally:
        mock.close()
        proc.stop()
    assert bad.status_code == 401, bad.text
    rid = bad.json()["error"]["request_id"]
    assert bad.headers["x-request-id"] == rid and rid.startswith("req-")
    assert ok.headers["x-request-id"] != rid
    rows = [json.loads(l) for l in request_lines(proc.log_path)]
    assert [r for r in rows if r["request_id"] == rid and r["status"] == 401], rows
