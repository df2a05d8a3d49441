"""Scenario files through real clients (docs/scenario-format.md): `POST /_mock/scenarios` with
requests, what the scenario made read back with boto3, and `mock-cxone serve --scenario`.

The servers of these tests start with `--clock frozen:T0` (2026-01-01); the scenarios start on
2026-01-05, so loading advances the clock to their start first.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from conftest import REPO_ROOT, Mock, MockProcess

SCENARIOS = REPO_ROOT / "scenarios"
START = "2026-01-05T00:00:00Z"

ACME = """\
# acme exports telephony cdr hourly; its first job's manifest is written twice (F3)
[scenario]
name = "acme-f3"
seed = 42
start = "2026-01-05T00:00:00Z"

[[tenants]]
name = "acme"

[[downloads]]
tenant = "acme"
name = "cdr"
category = "telephony"
data_types = ["cdr"]
destination = { type = "aws_s3", bucket = "acme-lake", prefix = "cdr/" }

[[faults]]
kind = "duplicate_manifest"
download = "cdr"
next_jobs = 1

[[timeline]]
at = "+2h"
action = "issue_datalake_credentials"
tenant = "acme"
"""


def post_scenario(mock: Mock, text: str, content_type: str = "application/toml") -> requests.Response:
    return mock.post("/_mock/scenarios", data=text.encode(), headers={"Content-Type": content_type})


def test_scenarios_post_library_file_loads_and_its_fault_fires(mock: Mock):
    text = (SCENARIOS / "f3-duplicate-manifest.toml").read_text()
    r = post_scenario(mock, text)
    assert r.status_code == 201, r.text
    v = r.json()
    assert v["scenario"] == "f3-duplicate-manifest"
    assert v["now"] == START
    assert [f["kind"] for f in v["faults"]] == ["duplicate_manifest"]
    download_id = v["downloads"][0]["id"]
    mock.advance(by="1d")
    firings = [e for e in mock.events(kind="fault") if e["fault_id"] == v["faults"][0]["id"]]
    assert firings, "a quarter of a day's jobs draw the fault"
    for e in firings:
        assert e["download_id"] == download_id
        assert all(o.endswith("-1.json") for o in e["objects"]), e["objects"]


def test_scenarios_post_then_boto3_reads_the_duplicate_manifest(mock: Mock):
    r = post_scenario(mock, ACME, content_type="text/plain; charset=utf-8")
    assert r.status_code == 201, r.text
    v = r.json()
    assert v["now"] == "2026-01-05T02:00:00Z", "the timeline was played"
    lake = v["timeline"][0]["detail"]
    s3 = mock.s3_client(lake["access_key_id"], lake["secret_access_key"])
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="acme-lake", Prefix="cdr/")["Contents"]]
    first = [k for k in keys if "/hour=00/" in k]
    manifests = [k for k in first if "/_manifest-" in k]
    assert len(manifests) == 2, first
    [copy] = [k for k in manifests if k.endswith("-1.json")]
    [original] = [k for k in manifests if k != copy]
    assert copy == original.replace(".json", "-1.json")
    body = lambda k: s3.get_object(Bucket="acme-lake", Key=k)["Body"].read()  # noqa: E731
    assert body(original) == body(copy)


def test_scenarios_post_bad_file_is_400_with_line_and_column(mock: Mock):
    before = len(mock.events())
    r = post_scenario(mock, '[scenario]\nname = "x"\n\n[[faults]]\nkind = "duplicate_manifesto"\n')
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert (err["line"], err["column"]) == (5, 8)
    assert err["message"].startswith('5:8: unknown fault kind "duplicate_manifesto"')
    assert len(mock.events()) == before, "nothing changed"
    r = post_scenario(mock, "{}", content_type="application/json")
    assert r.status_code == 415, r.text


@pytest.fixture
def served(tmp_path: Path):
    base = tmp_path / "served"
    base.mkdir()
    process = MockProcess(base / "data", base / "mock-cxone.log",
                          extra_args=["--scenario", str(SCENARIOS / "happy-hourly.toml")])
    m = Mock(process)
    try:
        yield m
    finally:
        m.close()
        process.stop()


def test_scenarios_serve_with_scenario_loads_it_before_health(served: Mock):
    assert served.now() == START
    loaded = served.events(kind="scenario.loaded")
    assert [e["detail"]["name"] for e in loaded] == ["happy-hourly"]
    assert len(loaded[0]["detail"]["downloads"]) == 2
    served.advance(by="2h")
    jobs = served.events(kind="job.completed")
    assert len(jobs) == 2, "00:00 of telephony and of IVR"
