"""The CI recipes of docs/ci.md run as written: every `run:` step of docs/ci/github-actions.yml
and the before_script, script and after_script of docs/ci/gitlab-ci.yml, in bash, in a temp
workspace holding `scenarios/`, with the built binary on PATH in place of the install step, the
AWS CLI from the virtualenv, and free ports. `uses:` steps (checkout, cache, upload) are GitHub's
own and are skipped. A recipe that stops working for a user fails here first."""
from __future__ import annotations

CLIENT = "ci-recipes"

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import mock_binary

REPO = Path(__file__).resolve().parents[2]
RECIPES = REPO / "docs" / "ci"


def free_addr() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


def workspace(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A checkout-like folder and an environment: mock-cxone and the AWS CLI on PATH, no MOCK_CXONE_*
    or AWS_* from the caller, nothing routed through a proxy."""
    ws = tmp_path / "ws"
    shutil.copytree(REPO / "scenarios", ws / "scenarios")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "mock-cxone").symlink_to(mock_binary())
    venv_bin = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MOCK_CXONE_", "AWS_")) and k.lower() not in ("http_proxy", "https_proxy")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{venv_bin}{os.pathsep}{env.get('PATH', '')}"
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    # As on a fresh runner: no AWS config or credentials files, no instance metadata.
    env.update(AWS_CONFIG_FILE=str(tmp_path / "no-aws-config"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-aws-creds"),
               AWS_EC2_METADATA_DISABLED="true", AWS_PAGER="")
    return ws, env


def run_bash(script: str, cwd: Path, env: dict[str, str], what: str) -> str:
    r = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=cwd, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"{what} failed ({r.returncode}):\n{script}\n--- stdout\n{r.stdout}\n--- stderr\n{r.stderr}"
    return r.stdout


def stop_leftover(ws: Path) -> None:
    """Kills a mock a failed recipe left running (the recipes stop it themselves on success)."""
    for pid_file in [ws / "mock-cxone-artifacts" / "pid"]:
        if pid_file.exists():
            subprocess.run(["kill", pid_file.read_text().strip()], capture_output=True)


def check_artifacts(ws: Path) -> None:
    art = ws / "mock-cxone-artifacts"
    assert "ready" in (art / "banner.txt").read_text()
    assert ".parquet" in (art / "lake.txt").read_text()
    assert (art / "truth-cdr.json").stat().st_size > 100
    # --log-format json: one JSON object per request line.
    lines = [l for l in (art / "requests.jsonl").read_text().splitlines() if "mock_cxone::request" in l]
    assert any('"operation":"ListObjectsV2"' in l for l in lines), lines[-5:]


def test_github_actions_recipe_runs(tmp_path):
    doc = yaml.safe_load((RECIPES / "github-actions.yml").read_text())
    job = doc["jobs"]["pipeline"]
    ws, env = workspace(tmp_path)
    env.update({k: str(v) for k, v in job["env"].items()})
    env.update(MOCK_CXONE_API_ADDR=free_addr(), MOCK_CXONE_S3_ADDR=free_addr(), RUNNER_TEMP=str(tmp_path / "runner"))
    (tmp_path / "runner").mkdir()
    github_env = tmp_path / "github_env"
    github_env.touch()
    env["GITHUB_ENV"] = str(github_env)
    steps = [s for s in job["steps"] if "run" in s]
    assert [s.get("id") for s in steps].count("install-mock-cxone") == 1
    ran = 0
    try:
        for step in steps:
            if step.get("id") == "install-mock-cxone":
                continue  # the binary under test is on PATH already
            # Each step is its own shell; `$GITHUB_ENV` lines reach the steps after it.
            for line in github_env.read_text().splitlines():
                k, _, v = line.partition("=")
                env[k] = v
            run_bash(step["run"], ws, env, step.get("name", "a step"))
            ran += 1
    finally:
        pid = env.get("MOCK_CXONE_PID")
        if pid:
            subprocess.run(["kill", pid], capture_output=True)
    assert ran == len(steps) - 1
    check_artifacts(ws)


def test_gitlab_ci_recipe_runs(tmp_path):
    doc = yaml.safe_load((RECIPES / "gitlab-ci.yml").read_text())
    job = doc["pipeline-tests"]
    ws, env = workspace(tmp_path)
    env["CI_PROJECT_DIR"] = str(ws)
    for k, v in job["variables"].items():
        env[k] = os.path.expandvars(str(v)).replace("$CI_PROJECT_DIR", str(ws))
    env.update(MOCK_CXONE_API_ADDR=free_addr(), MOCK_CXONE_S3_ADDR=free_addr())
    # The install lines (the image's tools, cargo install) are what this machine already has.
    skip = ("apt-get", "command -v mock-cxone")
    before = [l for l in job["before_script"] if not l.startswith(skip)]
    assert len(before) == len(job["before_script"]) - 2
    try:
        run_bash("\n".join(before + job["script"]), ws, env, "before_script + script")
    finally:
        run_bash("\n".join(job["after_script"]), ws, env, "after_script")
        stop_leftover(ws)
    check_artifacts(ws)
