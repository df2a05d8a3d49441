"""Packaging (issue 8): `cargo install --path mock-cxone` gives a binary that serves from any
directory, and `--help` documents every command, flag and environment variable, with examples."""
from __future__ import annotations

CLIENT = "packaging"

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import Mock, MockProcess, mock_binary
from test_download_pyarrow import lake_credentials

REPO = Path(__file__).resolve().parents[2]

#: CONTRACT §1: the flags of `serve`, with their environment variables.
CONTRACT_FLAGS = {
    "--api-addr": "MOCK_CXONE_API_ADDR", "--s3-addr": "MOCK_CXONE_S3_ADDR",
    "--data-dir": "MOCK_CXONE_DATA_DIR", "--seed": "MOCK_CXONE_SEED",
    "--scenario": "MOCK_CXONE_SCENARIO", "--clock": "MOCK_CXONE_CLOCK",
    "--tls-cert": "MOCK_CXONE_TLS_CERT", "--tls-key": "MOCK_CXONE_TLS_KEY",
}


def cli(*args: str) -> str:
    r = subprocess.run([str(mock_binary()), *args], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, f"{args}: {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r.stdout


def options(help_text: str) -> dict[str, str]:
    """`--flag` → its whole entry (flag line and description lines) in clap's long help."""
    out: dict[str, str] = {}
    current = None
    for line in help_text.splitlines():
        m = re.match(r"^\s+(?:-\w, )?(--[a-z0-9-]+)", line)
        if m:
            current = m.group(1)
            out[current] = line
        elif current and line.startswith("          "):
            out[current] += "\n" + line
        elif not line.strip():
            current = None
    return out


def test_help_documents_every_command_and_flag():
    top = cli("--help")
    for cmd in ("serve", "scenario", "version"):
        assert re.search(rf"^\s+{cmd}\s+\S", top, re.M), f"{cmd} undocumented:\n{top}"
    assert "Examples:" in top and cli("help") == top
    assert re.search(r"^\s+check\s+\S", cli("scenario", "--help"), re.M)
    for args in (["serve"], ["scenario", "check"], ["scenario", "run"]):
        text = cli(*args, "--help")
        assert "Examples:" in text, f"{args} has no examples"
        opts = options(text)
        assert opts, text
        for flag, entry in opts.items():
            if flag in ("--help", "--version"):
                continue
            # A description beyond the flag and its value name.
            described = re.sub(r"^\s+(?:-\w, )?--[a-z0-9-]+(?: <[A-Z_]+>)?", "", entry).strip()
            assert len(described) > 10, f"{args} {flag} has no description: {entry!r}"
    serve = options(cli("serve", "--help"))
    for flag, env in CONTRACT_FLAGS.items():
        assert flag in serve, f"serve --help lacks {flag}"
        assert f"[env: {env}=" in serve[flag], f"{flag} does not name {env}: {serve[flag]!r}"
    assert "[default: 127.0.0.1:8080]" in serve["--api-addr"] and "[default: 127.0.0.1:9000]" in serve["--s3-addr"]
    assert "text" in serve["--log-format"] and "json" in serve["--log-format"]


def test_cargo_package_lists_what_install_needs():
    r = subprocess.run(["cargo", "package", "--list", "--allow-dirty", "-p", "mock-cxone"], cwd=REPO,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    files = set(r.stdout.split())
    for f in ("Cargo.toml", "src/main.rs", "src/store/schema.sql", "src/api/dashboard/index.html", "README.md"):
        assert f in files, f"{f} not packaged:\n{r.stdout}"
    assert not [f for f in files if f.startswith(("target/", "tests/", "benches/"))]


@pytest.mark.skipif(shutil.which("cargo") is None, reason="needs cargo")
def test_cargo_install_gives_a_binary_that_serves_from_anywhere(tmp_path):
    """`cargo install --path mock-cxone` (debug, into a temp root, reusing the workspace's target
    dir so it costs seconds), then the installed binary serves a copied scenario from a directory
    outside the repository."""
    root = tmp_path / "root"
    r = subprocess.run(["cargo", "install", "--path", "mock-cxone", "--root", str(root), "--debug", "--locked",
                        "--offline", "--target-dir", str(REPO / "target")],
                       cwd=REPO, capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stderr[-3000:]
    installed = root / "bin" / "mock-cxone"
    assert installed.is_file()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(REPO / "scenarios" / "happy-hourly.toml", elsewhere / "happy.toml")
    old = os.environ.get("MOCK_CXONE_BIN")
    os.environ["MOCK_CXONE_BIN"] = str(installed)
    try:
        proc = MockProcess(elsewhere / "data", tmp_path / "mock.log", extra_args=["--scenario", str(elsewhere / "happy.toml")])
    finally:
        if old is None:
            os.environ.pop("MOCK_CXONE_BIN", None)
        else:
            os.environ["MOCK_CXONE_BIN"] = old
    mock = Mock(proc)
    try:
        assert "<title>" in mock.get("/").text  # the dashboard is embedded
        overview = mock.get("/_mock/dashboard/overview").json()
        assert len(overview["downloads"]) == 2, "the copied scenario's two downloads"
        t = mock.tenant("acme")
        creds = lake_credentials(mock, mock.token(t))
        s3 = mock.s3_client(creds["access_key_id"], creds["secret_access_key"])
        s3.create_bucket(Bucket="installed")
        s3.put_object(Bucket="installed", Key="a.txt", Body=b"from an installed binary")
        assert [o["Key"] for o in s3.list_objects_v2(Bucket="installed")["Contents"]] == ["a.txt"]
    finally:
        mock.close()
        proc.stop()
