"""Scenario files through real clients and the binary (docs/scenario-format.md):
`POST /_mock/scenarios` with requests, what a scenario made read back with boto3,
`mock-cxone serve --scenario`, and the `scenario check` / `scenario run` commands.

The servers of these tests start with `--clock frozen:T0` (2026-01-01); the scenarios start on
2026-01-05, so loading advances the clock to their start first.
"""


from __future__ import annotations

CLIENT = "mock-cxone-cli"

import json
import os
import subprocess
from pathlib import Path

import pytest
import requests

from conftest import REPO_ROOT, Mock, MockProcess, mock_binary

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


# ------------------------------------------------------------------------------------------------
# The CLI: scenario check, scenario run, serve with a bad scenario
# ------------------------------------------------------------------------------------------------


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOCK_CXONE_")}
    return subprocess.run([str(mock_binary()), *args], capture_output=True, text=True, timeout=timeout, env=env)


def test_scenarios_check_cli_ok_line_and_file_line_col(tmp_path: Path):
    good = SCENARIOS / "f5-job-failed.toml"
    cp = cli("scenario", "check", str(good))
    assert cp.returncode == 0, cp.stderr
    assert cp.stdout.startswith("ok: f5-job-failed — 0 tenants, 0 recordings, 0 lifecycle rules, 1 download"), cp.stdout

    bad = tmp_path / "bad.toml"
    bad.write_text('[scenario]\nname = "x"\nstart = "2026-01-05T00:00:00Z"\n[scenario.extra]\n')
    typo = tmp_path / "typo.toml"
    typo.write_text('[scenario]\nname = "x"\n\n[[faults]]\nkind = "duplicate_manifesto"\n')
    cp = cli("scenario", "check", str(good), str(bad), str(typo))
    assert cp.returncode == 1
    assert cp.stdout.startswith("ok: f5-job-failed"), "the good file still passes"
    errors = cp.stderr.splitlines()
    assert errors[0].startswith(f"{bad}:4:"), errors
    assert "unknown field `extra`" in errors[0]
    assert errors[1].startswith(f'{typo}:5:8: unknown fault kind "duplicate_manifesto"'), errors

    cp = cli("scenario", "check", *sorted(str(p) for p in SCENARIOS.glob("*.toml")))
    assert cp.returncode == 0, cp.stderr
    assert len(cp.stdout.splitlines()) == len(list(SCENARIOS.glob("*.toml")))


def test_scenarios_run_cli_writes_the_data_lake_and_the_ledger(tmp_path: Path):
    out = tmp_path / "out"
    cp = cli("scenario", "run", str(SCENARIOS / "f3-duplicate-manifest.toml"), "--out", str(out))
    assert cp.returncode == 0, cp.stderr
    assert "day 1/1 → 2026-01-06T00:00:00Z: 23 jobs completed" in cp.stderr, cp.stderr
    assert cp.stdout.startswith("ok: f3-duplicate-manifest — wrote ")
    hour0 = out / "org-cxone-data-lake/exports/telephony/cdr/year=2026/month=01/day=05/hour=00"
    assert (hour0 / "part-00000.parquet").is_file()
    events = [json.loads(line) for line in (out / "_events.jsonl").read_text().splitlines()]
    assert events[0]["kind"] == "tenant.created"
    copies = {o for e in events if e["kind"] == "fault" for o in e["objects"]}
    for uri in copies:
        assert (out / uri.removeprefix("s3://")).is_file(), uri
    summary = json.loads((out / "_scenario.json").read_text())
    assert summary["now"] == "2026-01-06T00:00:00Z"
    assert "client_secret" not in json.dumps(summary), "no secrets in the output"

    again = cli("scenario", "run", str(SCENARIOS / "f3-duplicate-manifest.toml"), "--out", str(out))
    assert again.returncode == 1 and "is not empty" in again.stderr


def test_scenarios_serve_with_a_bad_scenario_exits_2_naming_line_and_column(tmp_path: Path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[scenario]\nname = "x"\nrun_for = "soon"\n')
    cp = cli("serve", "--api-addr", "127.0.0.1:0", "--s3-addr", "127.0.0.1:0",
             "--data-dir", str(tmp_path / "data"), "--scenario", str(bad), timeout=60)
    assert cp.returncode == 2
    assert f'{bad}:3:11: run_for: duration "soon"' in cp.stderr, cp.stderr
