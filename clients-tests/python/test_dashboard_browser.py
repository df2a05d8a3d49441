"""The dashboard at `GET /` (issue 8, docs/dashboard.md) in a real browser: Debian's headless
Chromium driven by Playwright (the PyPI package, launched on `/usr/bin/chromium`: no
`playwright install` download). Every server is a fresh mock with the clock frozen at T0; the page
moves it only through its own buttons (`POST /_mock/clock/advance`).

What a user sees is checked against what the APIs say: the jobs on the timeline are the jobs
`GET /api/v2/data-downloads/{id}/jobs` lists, each block in its status colour; the SEA countdown
is the expiry of S5 counted on the MOCK clock; the fault ledger's link opens the very bytes boto3
reads from the data lake. Any console error, page error, failed request or HTTP error the page
meets fails the test, except the ones a step provokes on purpose (a bad scenario's 400, the 401s
before an admin token is given). Screenshots: `target/test-artifacts/dashboard-*.png`.
"""

from __future__ import annotations

CLIENT = "chromium-playwright"

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from conftest import REPO_ROOT, Mock, MockProcess, Tenant

playwright_sync = pytest.importorskip(
    "playwright.sync_api", reason="playwright is in clients-tests/python/requirements.txt (make test installs it)"
)
from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
# Flags this machine needs (no sandbox as root in a container, no GPU), and no traffic of the
# browser's own (updates, sync, QUIC probes): the page must need nothing beyond the mock.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ARTIFACTS = REPO_ROOT / "target" / "test-artifacts"
TIMEOUT_MS = 15_000

DOWNLOADS = "/api/v2/data-downloads"
LAKE_BUCKET = "acme-lake"

# The colours of docs/dashboard.md's legend (style.css), as the browser computes them.
STATUS_RGB = {
    "PENDING": "rgb(151, 163, 180)",
    "RUNNING": "rgb(47, 125, 209)",
    "COMPLETED": "rgb(46, 156, 94)",
    "FAILED": "rgb(214, 69, 69)",
    "TIMED_OUT": "rgb(224, 138, 30)",
}

BAD_SCENARIO = """[scenario]
name = "dashboard-bad"

[[faults]]
kind = "duplicate_manifesto"
"""

GOOD_SCENARIO = """# Loaded through the dashboard: a second tenant whose IVR export duplicates its first manifest (F3).
[scenario]
name = "dashboard-browser"

[[tenants]]
name = "globex"

[[downloads]]
tenant = "globex"
name = "globex-ivr"
category = "ivr"
data_types = ["ivr_session"]
destination = { type = "aws_s3", bucket = "globex-lake", prefix = "ivr/" }

[[faults]]
kind = "duplicate_manifest"
download = "globex-ivr"
next_jobs = 1
"""


def chromium_path() -> str:
    """`make test` installs Debian's chromium (APT_TOOLS): missing is a failure, not a skip."""
    path = shutil.which("chromium") or CHROMIUM
    assert Path(path).exists(), "chromium is not installed (apt-get install chromium; `make test` does it)"
    return path


@dataclass
class Watch:
    """Everything that went wrong on the page (and in the tabs it opened)."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    http_errors: list[tuple[str, str, int]] = field(default_factory=list)

    def attach(self, context: Any) -> None:
        context.on("console", lambda m: m.type == "error" and self.console_errors.append(f"{m.text} @ {m.location.get('url')}"))
        context.on("weberror", lambda e: self.page_errors.append(str(e.error)))
        context.on("requestfailed", lambda r: self.failed_requests.append(f"{r.method} {r.url}: {r.failure}"))
        context.on("response", lambda r: r.status >= 400 and self.http_errors.append(
            (r.request.method, urlparse(r.url).path, r.status)))

    def take_expected(self, method: str, path: str, status: int) -> int:
        """Removes the provoked HTTP errors (and the console lines Chromium prints for them)."""
        n = self.http_errors.count((method, path, status))
        self.http_errors = [e for e in self.http_errors if e != (method, path, status)]
        self.console_errors = [c for c in self.console_errors
                               if not (f"status of {status}" in c and c.split(" @ ")[-1].split("?")[0].endswith(path))]
        return n

    def assert_clean(self) -> None:
        assert not self.page_errors, f"page errors: {self.page_errors}"
        assert not self.failed_requests, f"failed requests: {self.failed_requests}"
        assert not self.http_errors, f"HTTP errors: {self.http_errors}"
        assert not self.console_errors, f"console errors: {self.console_errors}"


@pytest.fixture
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def shot(page: Page, name: str, full_page: bool = True) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"dashboard-{name}.png"
    # From the top: a full-page capture of a scrolled page draws the sticky header mid-page.
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path), full_page=full_page)
    return path


def rest_jobs(mock: Mock, token: str, download_id: str) -> dict[str, str]:
    """job id -> status, every page of the public jobs API."""
    out: dict[str, str] = {}
    params: dict[str, Any] = {"page_size": 500}
    while True:
        r = mock.get(f"{DOWNLOADS}/{download_id}/jobs", token, params=params)
        assert r.status_code == 200, r.text
        v = r.json()
        out.update({j["id"]: j["status"] for j in v["jobs"]})
        if not v["next_page_token"]:
            return out
        params["page_token"] = v["next_page_token"]


def timeline_jobs(page: Page, download_id: str) -> dict[str, tuple[str, str]]:
    """job id -> (status, computed background colour) of the blocks on the download's row."""
    return page.eval_on_selector_all(
        f'.tl-track[data-download="{download_id}"] .job',
        "els => Object.fromEntries(els.map(e => [e.dataset.jobId, [e.dataset.status, getComputedStyle(e).backgroundColor]]))",
    )


def assert_timeline_matches(page: Page, mock: Mock, token: str, download_id: str) -> dict[str, str]:
    """The row shows exactly the API's jobs (all inside the 48 h window here), in their colours."""
    want = rest_jobs(mock, token, download_id)
    row = page.locator(f'.tl-track[data-download="{download_id}"] .job')
    expect(row).to_have_count(len(want), timeout=TIMEOUT_MS)
    # The next refresh may still be on its way: wait until every status matches.
    for job_id, status in want.items():
        expect(page.locator(f'.job[data-job-id="{job_id}"]')).to_have_attribute("data-status", status, timeout=TIMEOUT_MS)
    got = timeline_jobs(page, download_id)
    assert {k: v[0] for k, v in got.items()} == want
    for job_id, (status, colour) in got.items():
        assert colour == STATUS_RGB[status], f"{job_id} {status} is drawn in {colour}"
    return want


def test_dashboard_end_to_end(mock: Mock, browser: Any) -> None:
    # A tenant with recordings a zero-day rule copies to SEA, and an hourly telephony download
    # (CONTRACT §4), all at T0, through the public API.
    t = mock.tenant("acme")
    token = mock.token(t)
    assert mock.seed_recordings(t.tenant_id, 6) == 6
    mock.rule(token)
    body = {
        "category": "telephony", "data_types": ["cdr"], "format": "parquet",
        "schedule": {"frequency": "HOURLY", "offset_minutes": 20},
        "destination": {"type": "aws_s3", "bucket": LAKE_BUCKET, "prefix": "exports/"},
    }
    r = mock.post(DOWNLOADS, token, json=body)
    assert r.status_code == 201, r.text
    download_id = r.json()["id"]

    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    watch = Watch()
    watch.attach(context)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)

    # The page, served without auth, embedded in the binary.
    resp = page.goto(f"{mock.api}/")
    assert resp is not None and resp.status == 200
    assert resp.headers["content-type"].startswith("text/html")
    expect(page.locator("#clock-now")).to_have_text("2026-01-01 00:00:00 UTC")
    expect(page.locator("#clock-mode")).to_have_text("frozen")
    expect(page.locator("#tenants tbody tr")).to_have_count(2)  # demo and acme
    expect(page.locator(f'.tl-track[data-download="{download_id}"]')).to_have_count(1)
    expect(page.locator(".job")).to_have_count(0)
    shot(page, "1-start")

    # +1 day: the day's hourly jobs appear (D5, D6), the daily lifecycle run at midnight places
    # the recordings in SEA (S3), each expiring 30 days later on the mock clock (S5).
    page.click("#advance-1d")
    expect(page.locator("#clock-now")).to_have_text("2026-01-02 00:00:00 UTC")
    assert mock.now() == "2026-01-02T00:00:00Z"
    token = mock.token(t)  # tokens live an hour of mock time
    jobs = assert_timeline_matches(page, mock, token, download_id)
    assert len(jobs) == 24 and "COMPLETED" in jobs.values() and "PENDING" in jobs.values(), jobs
    sea_rows = page.locator("#sea tbody tr[data-key]")
    expect(sea_rows).to_have_count(6)
    expect(page.locator("#sea-tenant")).to_have_value(t.tenant_id)
    sea = mock.files(token, tier="sea")
    assert {f["sea"]["key"] for f in sea} == set(page.eval_on_selector_all("#sea tbody tr[data-key]", "els => els.map(e => e.dataset.key)"))
    expect(page.locator("#sea td.expiry .left").first).to_have_text("30d 0h 00m")
    expect(page.locator(f'#tenants tr[data-tenant="{t.tenant_id}"] td.sea-objects')).to_have_text("6")
    shot(page, "2-after-1-day")

    # +1 hour: the clock, the countdowns (on the mock clock) and the jobs move with it.
    page.click("#advance-1h")
    expect(page.locator("#clock-now")).to_have_text("2026-01-02 01:00:00 UTC")
    expect(page.locator("#sea td.expiry .left").first).to_have_text("29d 23h 00m")
    jobs = assert_timeline_matches(page, mock, mock.token(t), download_id)
    assert len(jobs) == 25

    # A job's details list its files, each a link to the object.
    completed = next(j for j, s in jobs.items() if s == "COMPLETED")
    page.click(f'.job[data-job-id="{completed}"]')
    details = page.locator("#job-details")
    expect(details).to_be_visible()
    expect(details).to_contain_text(completed)
    expect(details.locator("a.object-link")).to_have_count(2)  # one data file, one manifest (cdr)

    # A bad scenario: the loader shows the error with its line and column; nothing changes.
    faults_before = mock.get("/_mock/faults").json()["faults"]
    page.fill("#scenario-text", BAD_SCENARIO)
    page.click("#scenario-load")
    err = page.locator("#scenario-error")
    expect(err).to_be_visible()
    expect(page.locator("#scenario-error-pos")).to_have_text("line 5, column 8")
    expect(err).to_contain_text("unknown fault kind")
    assert watch.take_expected("POST", "/_mock/scenarios", 400) == 1
    assert mock.get("/_mock/faults").json()["faults"] == faults_before
    shot(page, "3-bad-scenario")

    # A good one, from a file: its tenant, download and fault rule appear.
    scenario_file = ARTIFACTS / "dashboard-scenario.toml"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    scenario_file.write_text(GOOD_SCENARIO)
    page.set_input_files("#scenario-file", str(scenario_file))
    expect(page.locator("#scenario-text")).to_have_value(GOOD_SCENARIO)
    with page.expect_response(lambda x: x.url.endswith("/_mock/scenarios") and x.request.method == "POST") as loaded:
        page.click("#scenario-load")
    assert loaded.value.status == 201
    summary = loaded.value.json()
    expect(page.locator("#scenario-ok")).to_contain_text('loaded "dashboard-browser"')
    expect(page.locator("#tenants tbody tr")).to_have_count(3)
    globex = scenario_tenant(summary["tenants"][0])
    assert globex.name == "globex"
    expect(page.locator(f'#tenants tr[data-tenant="{globex.tenant_id}"]')).to_have_count(1)
    (ivr,) = summary["downloads"]
    expect(page.locator(f'.tl-track[data-download="{ivr["id"]}"]')).to_have_count(1)
    expect(page.locator("#fault-rules")).to_contain_text("duplicate_manifest ×0")
    expect(page.locator("#faults tr.fault")).to_have_count(0)

    # +1 day: the fault fires once (F3) and the ledger shows it, with links to what it wrote.
    page.click("#advance-1d")
    expect(page.locator("#clock-now")).to_have_text("2026-01-03 01:00:00 UTC")
    fault_rows = page.locator("#faults tr.fault")
    expect(fault_rows).to_have_count(1)
    events = mock.events(kind="fault")
    assert len(events) == 1 and events[0]["detail"]["kind"] == "duplicate_manifest", events
    ev = events[0]
    expect(fault_rows.first).to_have_attribute("data-seq", str(ev["seq"]))
    expect(fault_rows.first).to_contain_text("duplicate_manifest")
    expect(fault_rows.first).to_contain_text(ev["job_id"])
    links = fault_rows.first.locator("a.object-link")
    expect(links).to_have_count(len(ev["objects"]))
    uri = links.first.get_attribute("data-uri")
    assert uri in ev["objects"] and uri.endswith(".json"), (uri, ev["objects"])
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    # The ledger keeps an opened detail across auto-refreshes (it re-renders only on news).
    detail = fault_rows.first.locator("details")
    detail.locator("summary").click()
    expect(detail.locator("pre")).to_contain_text('"kind": "duplicate_manifest"')
    refreshed = page.locator("#refresh-state").inner_text()
    expect(page.locator("#refresh-state")).not_to_have_text(refreshed, timeout=TIMEOUT_MS)
    expect(detail).to_have_attribute("open", "")
    shot(page, "4-fault-ledger")

    # The link opens the object: the bytes are the data lake's (read with boto3 and the
    # tenant's data-lake credentials), and it is the duplicate manifest of the job that fired.
    r = mock.post("/api/v2/data-lake/credentials", mock.token(globex))
    assert r.status_code == 201, r.text
    lake = r.json()
    s3_bytes = mock.s3_client(lake["access_key_id"], lake["secret_access_key"]).get_object(Bucket=bucket, Key=key)["Body"].read()
    href = links.first.get_attribute("href")
    q = parse_qs(urlparse(href).query)
    assert q == {"bucket": [bucket], "key": [key]}, href
    with page.expect_popup() as popup_info:
        links.first.click()
    popup = popup_info.value
    popup.wait_for_load_state()
    shown = popup.locator("pre").first.inner_text()
    manifest = json.loads(shown)
    assert manifest == json.loads(s3_bytes)
    assert manifest["job_id"] == ev["job_id"]
    assert ev["job_id"] in key and key.endswith("-1.json")  # _manifest-<job id>-<n>.json (CONTRACT §6)
    got = context.request.get(f"{mock.api}{href}")
    assert got.status == 200 and hashlib.sha256(got.body()).hexdigest() == hashlib.sha256(s3_bytes).hexdigest()
    popup.close()

    # The job link of the ledger selects the job on the timeline.
    fault_rows.first.locator("a.job-link").click()
    expect(page.locator("#job-details")).to_contain_text(ev["job_id"])
    expect(page.locator(f'.job.selected[data-job-id="{ev["job_id"]}"]')).to_have_count(1)
    shot(page, "5-job-details")

    page.close()
    context.close()
    watch.assert_clean()


def scenario_tenant(v: dict[str, Any]) -> Tenant:
    """A tenant of a scenario's load summary (the page's `POST /_mock/scenarios` answer), with
    the credentials a token needs."""
    return Tenant(
        tenant_id=v["tenant_id"], name=v["name"], client_id=v["client_id"], client_secret=v["client_secret"],
        access_key_id=v["access_key_id"], access_key_secret=v["access_key_secret"], scopes=v.get("scopes", []),
        kms_key_id=v.get("kms_key_id"), raw=v,
    )


def test_dashboard_with_admin_token(tmp_path: Path, browser: Any) -> None:
    """With `--admin-token` the page is still served without auth, asks for the token, keeps it
    in sessionStorage (a reload does not ask again) and sends it on every `/_mock` call."""
    admin = "dashboard-admin-token-1234"
    process = MockProcess(tmp_path / "data", tmp_path / "mock-cxone.log", extra_args=["--admin-token", admin])
    mock = Mock(process)
    try:
        mock.http.headers["X-Mock-Admin-Token"] = admin
        assert mock.get("/_mock/clock").status_code == 200
        # SEA objects to open through a token-carrying link.
        t = mock.tenant("initech")
        token = mock.token(t)
        mock.seed_recordings(t.tenant_id, 2)
        mock.rule(token)
        mock.advance(by="1d")
        sea = mock.files(mock.token(t), tier="sea")
        assert len(sea) == 2

        r = mock.http.get(f"{mock.api}/_mock/dashboard/overview", headers={"X-Mock-Admin-Token": "wrong"})
        assert r.status_code == 401, r.text

        context = browser.new_context(viewport={"width": 1440, "height": 900})
        watch = Watch()
        watch.attach(context)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        resp = page.goto(f"{mock.api}/")
        assert resp is not None and resp.status == 200
        dialog = page.locator("#token-dialog")
        expect(dialog).to_be_visible()
        shot(page, "6-admin-token", full_page=False)  # the modal covers the viewport only
        asked = watch.take_expected("GET", "/_mock/dashboard/overview", 401)
        assert asked >= 1
        page.fill("#token-input", admin)
        page.click("#token-ok")
        expect(dialog).to_be_hidden()
        expect(page.locator("#clock-now")).to_have_text("2026-01-02 00:00:00 UTC")
        expect(page.locator("#sea tbody tr[data-key]")).to_have_count(2)
        assert page.evaluate("sessionStorage.getItem('mock-cxone-admin-token')") == admin

        page.click("#advance-1h")
        expect(page.locator("#clock-now")).to_have_text("2026-01-02 01:00:00 UTC")
        assert mock.now() == "2026-01-02T01:00:00Z"

        # A SEA file's link fetches with the token and opens the bytes (an MP4, S9).
        with page.expect_popup() as popup_info:
            page.locator("#sea a.object-link").first.click()
        popup = popup_info.value
        assert popup.url.startswith("blob:"), popup.url
        popup.wait_for_load_state()
        # Chromium plays it: the MP4's metadata loads (a 3-30 s recording).
        duration = popup.evaluate("""() => new Promise((ok, fail) => {
            const v = document.querySelector('video');
            if (!v) return fail('no video element');
            if (v.readyState >= 1) return ok(v.duration);
            v.addEventListener('loadedmetadata', () => ok(v.duration));
            v.addEventListener('error', () => fail('media error ' + (v.error && v.error.code)));
        })""")
        assert 3 <= duration <= 31, duration
        popup.close()

        # A reload keeps the token: no dialog, no 401.
        page.reload()
        expect(page.locator("#clock-now")).to_have_text("2026-01-02 01:00:00 UTC")
        expect(dialog).to_be_hidden()
        page.close()
        context.close()
        watch.assert_clean()
    finally:
        mock.close()
        process.stop()
