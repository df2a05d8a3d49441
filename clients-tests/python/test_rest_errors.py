"""Bad input on the control API and the CXone API (CONTRACT §7): every error is JSON
`{"error":{"code","message","request_id"}}` with a 4xx naming the problem, never a 500, and it
changes no state (the event ledger, the tenant list, the files and the clock stay as they were)."""


from __future__ import annotations

CLIENT = "requests-rest"

import json

import pytest
import requests

from conftest import T0, assert_api_error


def snapshot(mock, token=None):
    """Everything a refused request must leave alone."""
    events = mock.events()
    state = {
        "events": (len(events), events[-1]["seq"] if events else 0),
        "tenants": [t["tenant_id"] for t in mock.tenants()],
        "clock": mock.now(),
    }
    if token is not None:
        state["files"] = sorted(f["id"] for f in mock.files(token))
        r = mock.get("/api/v2/storage/lifecycle-rules", token)
        assert r.status_code == 200, r.text
        state["rules"] = r.json()
    return state


@pytest.fixture
def acme(mock):
    t = mock.tenant("acme")
    token = mock.token(t)
    mock.seed_recordings(t.tenant_id, 3)
    return t, token


def raw_post(mock, path, data: bytes | str, token=None, content_type="application/json"):
    return mock.post(path, token, data=data, headers={"Content-Type": content_type})


@pytest.mark.parametrize(
    "path_fmt, body",
    [
        ("/_mock/tenants", '{"name": "globex"'),
        ("/_mock/tenants", "not json at all"),
        ("/_mock/tenants/{tenant}/recordings", '{"count": 5,}'),
        ("/_mock/clock/advance", '{"by": "1d"'),
        ("/_mock/tenants", "[1, 2, 3]"),
    ],
)
def test_errors_malformed_json_is_400_and_changes_nothing(mock, acme, path_fmt, body):
    t, token = acme
    before = snapshot(mock, token)
    r = raw_post(mock, path_fmt.format(tenant=t.tenant_id), body)
    assert_api_error(r, (400, 422))
    assert snapshot(mock, token) == before


def test_errors_malformed_json_on_cxone_api_is_400(mock, acme):
    t, token = acme
    before = snapshot(mock, token)
    r = raw_post(mock, "/api/v2/storage/lifecycle-rules", '{"name": "x", "after_days": 0,', token)
    assert_api_error(r, (400, 422))
    assert snapshot(mock, token) == before


@pytest.mark.parametrize("count", [-5, 0, -1])
def test_errors_negative_or_zero_count_is_400_and_changes_nothing(mock, acme, count):
    t, token = acme
    before = snapshot(mock, token)
    r = mock.post(f"/_mock/tenants/{t.tenant_id}/recordings", json={"count": count})
    err = assert_api_error(r, 400)
    assert "count" in err["message"], err
    assert snapshot(mock, token) == before


@pytest.mark.parametrize("count", ["5", 2.5, None, 10**30])
def test_errors_count_of_wrong_type_is_400(mock, acme, count):
    t, token = acme
    before = snapshot(mock, token)
    r = mock.post(f"/_mock/tenants/{t.tenant_id}/recordings", json={"count": count})
    assert_api_error(r, 400)
    assert snapshot(mock, token) == before


@pytest.mark.parametrize(
    "body, word",
    [
        ({"count": 3, "start": "2025-02-30T00:00:00Z", "end": "2025-12-31T00:00:00Z"}, "start"),
        ({"count": 3, "start": "2025-12-01T00:00:00Z", "end": "2025-13-01T00:00:00Z"}, "end"),
        ({"count": 3, "start": "2025-12-01T25:00:00Z", "end": "2025-12-02T00:00:00Z"}, "start"),
        ({"count": 3, "start": "yesterday", "end": "2025-12-02T00:00:00Z"}, "start"),
        ({"count": 3, "start": "2025-12-20T00:00:00Z", "end": "2025-12-10T00:00:00Z"}, "start"),
        ({"count": 3, "start": "2025-12-20T00:00:00Z", "end": "2025-12-20T00:00:00Z"}, "start"),
        ({"count": 3, "start": "2025-12-20T00:00:00Z", "end": "2026-03-01T00:00:00Z"}, "end"),
    ],
    ids=["feb-30", "month-13", "hour-25", "not-a-date", "start-after-end", "empty-range", "end-in-future"],
)
def test_errors_impossible_dates_are_400_and_change_nothing(mock, acme, body, word):
    t, token = acme
    before = snapshot(mock, token)
    r = mock.post(f"/_mock/tenants/{t.tenant_id}/recordings", json=body)
    err = assert_api_error(r, 400)
    assert word in err["message"], err
    assert snapshot(mock, token) == before


@pytest.mark.parametrize(
    "body",
    [
        {"to": "2025-12-31T00:00:00Z"},  # the clock never goes back
        {"to": "2026-02-30T00:00:00Z"},
        {"to": "soon"},
        {"by": "-1d"},
        {"by": "1x"},
        {"by": ""},
        {"by": "1d", "to": "2026-01-05T00:00:00Z"},
        {},
        {"by": "1d", "extra": True},
    ],
    ids=["past", "feb-30", "not-a-date", "negative", "bad-unit", "empty", "both", "neither", "unknown-field"],
)
def test_errors_bad_clock_advance_is_400_and_clock_unchanged(mock, acme, body):
    t, token = acme
    before = snapshot(mock, token)
    r = mock.post("/_mock/clock/advance", json=body)
    assert_api_error(r, 400)
    assert snapshot(mock, token) == before
    assert mock.now() == T0


def test_errors_unknown_tenant_is_404_and_changes_nothing(mock, acme):
    t, token = acme
    before = snapshot(mock, token)
    r = mock.post("/_mock/tenants/t-nope/recordings", json={"count": 3})
    err = assert_api_error(r, 404)
    assert "t-nope" in err["message"], err
    assert_api_error(mock.get("/_mock/tenants/t-nope"), 404)
    assert snapshot(mock, token) == before


def post_once(mock, path, data: str, token=None):
    """POST on a connection of its own: a refused oversized upload must not poison the pool
    that later requests use (see test_errors_oversized_body_413_closes_or_keeps_connection)."""
    headers = {"Content-Type": "application/json", "Connection": "close"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    with requests.Session() as s:
        s.trust_env = False
        return s.post(f"{mock.api}{path}", data=data, headers=headers, timeout=60)


def test_errors_oversized_body_is_413_and_changes_nothing(mock, acme):
    t, token = acme
    before = snapshot(mock, token)
    big = json.dumps({"name": "x" * (1024 * 1024 + 100)})
    assert len(big) > 1024 * 1024
    assert_api_error(post_once(mock, "/_mock/tenants", big), 413)
    big_rule = json.dumps({"name": "y" * (1024 * 1024 + 100), "after_days": 0, "action": "copy_to_sea"})
    assert_api_error(post_once(mock, "/api/v2/storage/lifecycle-rules", big_rule, token), 413)
    big_recordings = json.dumps({"count": 1, "media_types": ["VOICE"] * 200_000})
    assert len(big_recordings) > 1024 * 1024
    assert_api_error(post_once(mock, f"/_mock/tenants/{t.tenant_id}/recordings", big_recordings), 413)
    assert snapshot(mock, token) == before


def test_errors_oversized_body_413_closes_or_keeps_connection(mock, acme):
    """A server that refuses an upload it did not read and then closes the connection must say
    `Connection: close` (RFC 9112 §9.6); otherwise requests.Session reuses the dead connection."""
    t, _token = acme
    big = json.dumps({"count": 1, "media_types": ["VOICE"] * 400_000})  # ~3.6 MB, mostly unread
    r = mock.post(f"/_mock/tenants/{t.tenant_id}/recordings", data=big,
                  headers={"Content-Type": "application/json"})
    assert_api_error(r, 413)
    assert r.headers.get("Connection", "").lower() == "close", dict(r.headers)


@pytest.mark.parametrize(
    "body",
    [
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 101},
        {"name": "ok", "scopes": ["root"]},
        {"name": "ok", "nmae": "typo"},
        {"name": "ok", "kms_key_id": ""},
        {"scopes": ["storage:manage"]},
        {"name": 42},
    ],
    ids=["empty", "blank", "too-long", "unknown-scope", "unknown-field", "empty-kms", "no-name", "name-not-string"],
)
def test_errors_bad_tenant_body_is_400_and_changes_nothing(mock, acme, body):
    t, token = acme
    before = snapshot(mock, token)
    assert_api_error(mock.post("/_mock/tenants", json=body), 400)
    assert snapshot(mock, token) == before


def test_errors_duplicate_tenant_name_is_409(mock, acme):
    t, token = acme
    before = snapshot(mock, token)
    assert_api_error(mock.post("/_mock/tenants", json={"name": "acme"}), 409)
    assert snapshot(mock, token) == before


def test_errors_wrong_content_type_is_415(mock, acme):
    t, token = acme
    before = snapshot(mock, token)
    r = raw_post(mock, "/_mock/tenants", '{"name": "globex"}', content_type="text/plain")
    assert_api_error(r, 415)
    assert snapshot(mock, token) == before


@pytest.mark.parametrize(
    "body",
    [
        {"name": "r", "after_days": -1, "action": "copy_to_sea"},
        {"name": "r", "after_days": 0, "action": "teleport"},
        {"name": "r", "after_days": 0, "action": "copy_to_sea", "media_type": "VIDEO"},
        {"name": "", "after_days": 0, "action": "copy_to_sea"},
        {"name": "r", "after_days": 0, "action": "copy_to_sea", "priorty": 1},
        {"name": "r", "action": "copy_to_sea"},
    ],
    ids=["negative-days", "unknown-action", "unknown-media", "empty-name", "unknown-field", "missing-days"],
)
def test_errors_bad_lifecycle_rule_is_400_and_changes_nothing(mock, acme, body):
    t, token = acme
    before = snapshot(mock, token)
    assert_api_error(mock.post("/api/v2/storage/lifecycle-rules", token, json=body), 400)
    assert snapshot(mock, token) == before


@pytest.mark.parametrize(
    "params",
    [{"tier": "glacier"}, {"media_type": "VIDEO"}, {"cursor": "garbage"}, {"limit": "-1"}, {"limit": "many"}],
)
def test_errors_bad_files_query_is_400(mock, acme, params):
    t, token = acme
    assert_api_error(mock.get("/api/v2/storage/files", token, params=params), 400)


def test_errors_unknown_route_is_json_404(mock):
    assert_api_error(mock.get("/api/v2/no/such/thing"), 404)
    assert_api_error(mock.get("/_mock/nothing-here"), 404)


def test_errors_request_ids_differ(mock):
    a = assert_api_error(mock.get("/_mock/tenants/t-nope"), 404)
    b = assert_api_error(mock.get("/_mock/tenants/t-nope"), 404)
    assert a["request_id"] != b["request_id"]


def test_a_refused_request_with_an_unread_body_closes_its_connection(mock):
    """A POST refused before its body is read (401 without a token, 403 without the scope) says
    `Connection: close`, so a keep-alive client never sends its next request into a socket the
    server has dropped (CI once saw python-requests fail with RemoteDisconnected on the call after
    such a refusal). A refusal of a bodiless GET keeps the connection."""
    body = {"category": "telephony", "destination": {"type": "aws_s3", "bucket": "bi-lake"}}
    reader = mock.tenant("reader", scopes=["data-download:read"])
    token = mock.token(reader)
    for _ in range(50):
        r = mock.request("POST", "/api/v2/data-downloads", json=body)
        assert_api_error(r, 401)
        assert r.headers.get("Connection", "").lower() == "close", r.headers
        r = mock.request("POST", "/api/v2/data-downloads", token, json=body)
        assert_api_error(r, 403)
        assert r.headers.get("Connection", "").lower() == "close", r.headers
        # The same session goes on at once (no retries configured): a fresh connection each time.
        r = mock.request("GET", "/api/v2/data-downloads", "not-a-token")
        assert_api_error(r, 401)
        assert r.headers.get("Connection", "").lower() != "close", r.headers
