"""rclone (the Debian package, `/usr/bin/rclone`) against mock-cxone, configured as users configure
it: an `rclone.conf` with one `[cxone]` S3 remote (`provider = Other`, the endpoint, region
us-east-1, the key pair), or the same remote from `RCLONE_CONFIG_CXONE_*` environment variables.

Both sides of the S3 endpoint:
- the SEA folder (S2, S5, S6): list, copy down, `check`/`hashsum`, presigned `link`, delete, and
  writes refused with AccessDenied;
- the data-lake bucket (D4, D6): the Data Download export tree (`sync`ed down, every file's
  sha256 equal to the job's `checksums`), a partitioned tree uploaded with a multipart file,
  `check`, `hashsum md5`, `delete`/`deletefile`, `mkdir` (bucket creation), `link`.

Every test gets its own server (clock frozen at T0) with a SEA tenant and two hours of telephony
exports; rclone runs with its default settings except where a comment says why.
"""


from __future__ import annotations

CLIENT = "rclone"

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from conftest import REGION, SEA_BUCKET, Mock, SeaSetup, sha256_hex
from test_download_pyarrow import (
    create_download,
    iso,
    lake_credentials,
    poll_completed,
    rfc,
    split_uri,
    telephony_body,
)

RCLONE = "/usr/bin/rclone"
LAKE = "org-cxone-data-lake"
EXPORT_PREFIX = "exports/telephony/"
DATA_TYPES = ["cdr", "acd"]
#: A Monday morning: hours with calls in them.
BUSY = "2026-01-05T09:00:00Z"
HOURS = 2
MIB = 1024 * 1024


# ------------------------------------------------------------------------------------------
# Set-up: a SEA folder with recordings, a telephony download with two exported hours, and the
# tenant's data-lake credentials.
# ------------------------------------------------------------------------------------------


@dataclass
class World:
    mock: Mock
    sea: SeaSetup
    lake: dict[str, Any]
    jobs: list[dict[str, Any]]

    @property
    def sea_files(self) -> dict[str, dict[str, Any]]:
        """File name -> storage API record, for files live in SEA."""
        return {f["sea"]["key"].split("/")[-1]: f for f in self.mock.files(self.sea.token, tier="sea")}

    @property
    def export_checksums(self) -> dict[str, str]:
        """Key (relative to EXPORT_PREFIX) -> sha256 hex, from the jobs' `checksums`."""
        out = {}
        for job in self.jobs:
            assert set(job["checksums"]) == set(job["output_files"]), job
            for uri, digest in job["checksums"].items():
                bucket, key = split_uri(uri)
                assert bucket == LAKE and key.startswith(EXPORT_PREFIX) and digest.startswith("sha256:"), uri
                out[key[len(EXPORT_PREFIX):]] = digest.removeprefix("sha256:")
        return out

    @property
    def export_manifests(self) -> set[str]:
        return {split_uri(u)[1][len(EXPORT_PREFIX):] for j in self.jobs for u in j["manifests"]}

    def lake_s3(self):
        return self.mock.s3_client(self.lake["access_key_id"], self.lake["secret_access_key"])


def world(mock: Mock, sea_files: int = 4) -> World:
    sea = mock.sea_tenant("acme", count=sea_files)
    mock.advance(to=BUSY)
    d = create_download(mock, sea.token, telephony_body(DATA_TYPES, bucket=LAKE, prefix=EXPORT_PREFIX))
    mock.advance(by=f"{HOURS}h")
    starts = [iso(rfc(BUSY) + timedelta(hours=h)) for h in range(HOURS)]
    jobs = poll_completed(mock, sea.tenant, d["id"], starts)
    lake = lake_credentials(mock, sea.token)
    assert lake["endpoint"] == mock.s3, lake
    return World(mock, sea, lake, jobs)


# ------------------------------------------------------------------------------------------
# rclone as a user runs it
# ------------------------------------------------------------------------------------------


def rclone_conf(path: Path, endpoint: str, key: str, secret: str) -> Path:
    """The remote a user writes (the rclone docs' "Other" S3 provider). Nothing else is needed:
    `provider = Other` already means path-style addressing (`force_path_style` defaults to
    true) and SigV4; the region is the mock's."""
    path.write_text(
        "[cxone]\n"
        "type = s3\n"
        "provider = Other\n"
        f"access_key_id = {key}\n"
        f"secret_access_key = {secret}\n"
        f"endpoint = {endpoint}\n"
        f"region = {REGION}\n"
    )
    return path


def base_env() -> dict[str, str]:
    """The caller's environment without anything that would change rclone's behaviour: no other
    rclone settings, no proxies, no AWS variables (rclone fails to start when `AWS_CA_BUNDLE` is
    set, and would read AWS credentials for `env_auth`)."""
    drop = ("RCLONE_", "AWS_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    for p in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env.pop(p, None)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


class Rclone:
    """`rclone` with `RCLONE_CONFIG` pointing at one config file (or extra env for the remote)."""

    def __init__(self, config: Path, extra_env: dict[str, str] | None = None):
        if not Path(RCLONE).exists():
            pytest.fail(f"{RCLONE} is missing: `make apt-tools` (run by `make test`) installs rclone")
        self.env = base_env()
        self.env["RCLONE_CONFIG"] = str(config)
        # Keep rclone's cache and log files in the test's temp dir, not the user's home.
        self.env["RCLONE_CACHE_DIR"] = str(config.parent / "rclone-cache")
        self.env.update(extra_env or {})

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([RCLONE, *args], env=self.env, capture_output=True, text=True, timeout=timeout)

    def ok(self, *args: str) -> str:
        cp = self.run(*args)
        assert cp.returncode == 0, f"rclone {' '.join(args)} exited {cp.returncode}\n{cp.stdout}\n{cp.stderr}"
        return cp.stdout

    def lsjson(self, remote: str, *flags: str) -> list[dict[str, Any]]:
        return json.loads(self.ok("lsjson", *flags, remote))


def sea_rclone(w: World, tmp: Path) -> tuple[Rclone, str]:
    c = w.sea.creds
    conf = rclone_conf(tmp / "sea-rclone.conf", w.mock.s3, c.access_key_id, c.secret_access_key)
    return Rclone(conf), f"cxone:{SEA_BUCKET}/{c.prefix}"


def lake_rclone(w: World, tmp: Path) -> Rclone:
    conf = rclone_conf(tmp / "lake-rclone.conf", w.mock.s3, w.lake["access_key_id"], w.lake["secret_access_key"])
    return Rclone(conf)


def local_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def partitioned_tree(root: Path) -> dict[str, bytes]:
    """A local hive-partitioned tree as a pipeline writes one, with one file above 5 MiB."""
    files = {
        "year=2026/month=01/day=05/hour=09/part-00000.parquet": os.urandom(20_000),
        "year=2026/month=01/day=05/hour=10/part-00000.parquet": os.urandom(30_000),
        "year=2026/month=01/day=06/hour=00/part-00000.parquet": b"",
        "year=2026/month=01/day=06/big.bin": os.urandom(12 * MIB),
    }
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return files


def copied(stderr: str) -> int:
    """How many files `rclone -v` says it copied."""
    return sum(1 for line in stderr.splitlines() if ": Copied (" in line)


# ------------------------------------------------------------------------------------------
# SEA
# ------------------------------------------------------------------------------------------


def test_sea_s2_rclone_lsf_and_lsjson_list_the_folder(mock, tmp_path):
    w = world(mock)
    rc, remote = sea_rclone(w, tmp_path)
    expected = w.sea_files
    assert sorted(rc.ok("lsf", remote).split()) == sorted(expected)
    listed = rc.lsjson(remote, "-R")
    assert {e["Path"]: e["Size"] for e in listed} == {n: f["size"] for n, f in expected.items()}
    assert not any(e["IsDir"] for e in listed), "SEA keys have no subfolders"
    # LastModified is the placement time (S5).
    assert {e["ModTime"][:19] for e in listed} == {f["sea"]["placed_at"][:19] for f in expected.values()}


def test_sea_s2_rclone_copy_copyto_check_and_hashsum(mock, tmp_path):
    w = world(mock)
    rc, remote = sea_rclone(w, tmp_path)
    expected = w.sea_files
    dest = tmp_path / "sea"
    rc.ok("copy", remote, str(dest))
    got = local_files(dest)
    assert set(got) == set(expected)
    for name, data in got.items():
        assert sha256_hex(data) == expected[name]["sha256"], name
    name = sorted(expected)[0]
    one = tmp_path / "one.mp4"
    rc.ok("copyto", f"{remote}{name}", str(one))
    assert sha256_hex(one.read_bytes()) == expected[name]["sha256"]

    # `check` compares sizes and MD5s (the ETags) of both sides.
    out = rc.run("check", str(dest), remote)
    assert out.returncode == 0 and "0 differences found" in out.stderr, out.stderr
    sums = dict(reversed(line.split(None, 1)) for line in rc.ok("hashsum", "md5", remote).splitlines())
    assert sums == {n: md5_hex(d) for n, d in got.items()}
    # ... and `check` really compares: one changed local byte is a difference.
    p = dest / name
    p.write_bytes(p.read_bytes()[:-1] + b"\x00")
    bad = rc.run("check", str(dest), remote)
    assert bad.returncode != 0 and "1 differences found" in bad.stderr, bad.stderr


def test_sea_s2_rclone_link_presigns_a_get_that_requests_fetches(mock, tmp_path):
    w = world(mock)
    rc, remote = sea_rclone(w, tmp_path)
    name, f = sorted(w.sea_files.items())[0]
    url = rc.ok("link", "--expire", "15m", f"{remote}{name}").strip()
    assert url.startswith(f"{mock.s3}/{SEA_BUCKET}/") and "X-Amz-Signature=" in url, url
    r = requests.get(url, timeout=30)
    assert r.status_code == 200, r.text
    assert sha256_hex(r.content) == f["sha256"]
    sig = url.split("X-Amz-Signature=")[1][:64]
    other = ("0" if sig[0] != "0" else "1") + sig[1:]
    tampered = requests.get(url.replace(sig, other), timeout=30)
    assert tampered.status_code == 403 and "SignatureDoesNotMatch" in tampered.text, tampered.text


def test_sea_s5_rclone_deletefile_and_delete_remove_files(mock, tmp_path):
    w = world(mock, sea_files=4)
    rc, remote = sea_rclone(w, tmp_path)
    names = sorted(w.sea_files)
    rc.ok("deletefile", f"{remote}{names[0]}")
    assert sorted(rc.ok("lsf", remote).split()) == names[1:]
    # `delete` with a filter: everything but the last file.
    rc.ok("delete", remote, "--exclude", names[-1])
    assert rc.ok("lsf", remote).split() == [names[-1]]


def test_sea_s2_rclone_writes_into_sea_are_access_denied(mock, tmp_path):
    w = world(mock)
    rc, remote = sea_rclone(w, tmp_path)
    before = sorted(rc.ok("lsf", remote).split())
    src = tmp_path / "upload.mp4"
    src.write_bytes(b"\x00" * 1024)
    # --retries 1: rclone retries a failed copy three times by default; once proves the point.
    cp = rc.run("copyto", "--retries", "1", str(src), f"{remote}upload.mp4")
    assert cp.returncode != 0, cp.stderr
    assert "AccessDenied" in cp.stderr, cp.stderr
    # rclone's mkdir sends CreateBucket for the bucket (a folder is only a prefix): refused too,
    # as an IAM policy without s3:CreateBucket refuses it on real S3.
    mkdir = rc.run("mkdir", "--retries", "1", f"cxone:{SEA_BUCKET}/{w.sea.creds.prefix}sub")
    assert mkdir.returncode != 0 and "AccessDenied" in mkdir.stderr, mkdir.stderr
    assert sorted(rc.ok("lsf", remote).split()) == before
    # ListBuckets is refused for a SEA credential (the documented "Add External Bucket").
    lsd = rc.run("lsd", "cxone:")
    assert lsd.returncode != 0 and "AccessDenied" in lsd.stderr, lsd.stderr


def test_sea_s6_rclone_empty_folder_is_access_denied(mock, tmp_path):
    t = mock.tenant("acme")
    creds = mock.sea_credentials(mock.token(t))
    rc = Rclone(rclone_conf(tmp_path / "rclone.conf", mock.s3, creds.access_key_id, creds.secret_access_key))
    cp = rc.run("lsf", f"cxone:{SEA_BUCKET}/{creds.prefix}")
    assert cp.returncode != 0 and "AccessDenied" in cp.stderr, cp.stderr


# ------------------------------------------------------------------------------------------
# The data lake: exports
# ------------------------------------------------------------------------------------------


def test_d4_d6_rclone_lsf_recursive_lists_every_exported_key(mock, tmp_path):
    """rclone lists recursively with `delimiter=` (present, empty): S3 reads that as no delimiter.
    (The mock grouped every key under one bogus CommonPrefix `e` before it normalised it.)"""
    w = world(mock)
    rc = lake_rclone(w, tmp_path)
    expected = set(w.export_checksums) | w.export_manifests
    assert len(w.export_checksums) == HOURS * len(DATA_TYPES)
    files = rc.ok("lsf", "-R", "--files-only", f"cxone:{LAKE}/{EXPORT_PREFIX}").split()
    assert set(files) == expected and len(files) == len(expected)
    listed = rc.lsjson(f"cxone:{LAKE}", "-R", "--files-only")
    assert {e["Path"] for e in listed} == {EXPORT_PREFIX + k for k in expected}
    # The partition folders appear as directories, as in `aws s3 ls`.
    dirs = rc.ok("lsf", "-R", "--dirs-only", f"cxone:{LAKE}/{EXPORT_PREFIX}cdr/").split()
    assert "year=2026/month=01/day=05/hour=09/" in dirs, dirs
    assert rc.ok("lsf", "cxone:").split() == [f"{LAKE}/"]


def test_d4_d6_rclone_sync_export_tree_matches_job_checksums(mock, tmp_path):
    w = world(mock)
    rc = lake_rclone(w, tmp_path)
    dest = tmp_path / "lake"
    first = rc.run("sync", "-v", f"cxone:{LAKE}/{EXPORT_PREFIX}", str(dest))
    assert first.returncode == 0, first.stderr
    got = local_files(dest)
    sums = w.export_checksums
    assert set(got) == set(sums) | w.export_manifests
    assert copied(first.stderr) == len(got)
    for rel, digest in sums.items():
        assert sha256_hex(got[rel]) == digest, rel
    for rel in w.export_manifests:
        m = json.loads(got[rel])
        assert rel.endswith(f"/_manifest-{m['job_id']}.json") and m["data_type"] in DATA_TYPES, rel
        for f in m["files"]:
            assert f["sha256"] == sums[f["key"][len(EXPORT_PREFIX):]], f
    # A second sync finds nothing to do (sizes and modification times agree).
    again = rc.run("sync", "-v", f"cxone:{LAKE}/{EXPORT_PREFIX}", str(dest))
    assert again.returncode == 0 and copied(again.stderr) == 0, again.stderr
    # `check --download` compares the bytes themselves.
    chk = rc.run("check", "--download", str(dest), f"cxone:{LAKE}/{EXPORT_PREFIX}")
    assert chk.returncode == 0, chk.stderr


def test_d4_rclone_copy_and_copyto_one_partition_and_one_file(mock, tmp_path):
    w = world(mock)
    rc = lake_rclone(w, tmp_path)
    sums = w.export_checksums
    rel = sorted(k for k in sums if k.startswith("cdr/"))[0]
    one = tmp_path / "one.parquet"
    rc.ok("copyto", f"cxone:{LAKE}/{EXPORT_PREFIX}{rel}", str(one))
    assert sha256_hex(one.read_bytes()) == sums[rel]
    dest = tmp_path / "cdr"
    rc.ok("copy", "--include", "*.parquet", f"cxone:{LAKE}/{EXPORT_PREFIX}cdr/", str(dest))
    got = local_files(dest)
    assert {f"cdr/{k}" for k in got} == {k for k in sums if k.startswith("cdr/")}
    for k, data in got.items():
        assert sha256_hex(data) == sums[f"cdr/{k}"], k


# ------------------------------------------------------------------------------------------
# The data lake: the user's own objects
# ------------------------------------------------------------------------------------------


def test_rclone_mkdir_creates_a_bucket_and_copy_uploads_a_tree_with_multipart(mock, tmp_path):
    w = world(mock)
    rc = lake_rclone(w, tmp_path)
    bucket = "acme-analytics"
    rc.ok("mkdir", f"cxone:{bucket}")
    assert sorted(rc.ok("lsf", "cxone:").split()) == sorted([f"{LAKE}/", f"{bucket}/"])
    s3 = w.lake_s3()
    s3.head_bucket(Bucket=bucket)

    src = tmp_path / "tree"
    files = partitioned_tree(src)
    # rclone's default upload cutoff is 200 MiB: lowered so the 12 MiB file goes up in parts of
    # the default chunk size (5 MiB).
    rc.ok("copy", "--s3-upload-cutoff", "5M", str(src), f"cxone:{bucket}/t/")
    listed = {e["Path"]: e["Size"] for e in rc.lsjson(f"cxone:{bucket}/t/", "-R", "--files-only")}
    assert listed == {k: len(v) for k, v in files.items()}
    big = "year=2026/month=01/day=06/big.bin"
    head = s3.head_object(Bucket=bucket, Key=f"t/{big}")
    assert head["ETag"].strip('"').endswith("-3"), head["ETag"]  # 3 parts: 5 + 5 + 2 MiB
    assert head["ServerSideEncryption"] == "aws:kms"
    for rel, data in files.items():
        body = s3.get_object(Bucket=bucket, Key=f"t/{rel}")["Body"].read()
        assert sha256_hex(body) == sha256_hex(data), rel
    down = tmp_path / "down.bin"
    rc.ok("copyto", f"cxone:{bucket}/t/{big}", str(down))
    assert down.read_bytes() == files[big]

    # `check` and `hashsum md5` (rclone keeps the MD5 of a multipart upload in its metadata).
    chk = rc.run("check", str(src), f"cxone:{bucket}/t/")
    assert chk.returncode == 0 and "0 differences found" in chk.stderr, chk.stderr
    sums = dict(reversed(line.split(None, 1)) for line in rc.ok("hashsum", "md5", f"cxone:{bucket}/t/").splitlines())
    assert sums == {k: md5_hex(v) for k, v in files.items()}
    # An object changed behind rclone's back is a difference.
    s3.put_object(Bucket=bucket, Key="t/year=2026/month=01/day=05/hour=09/part-00000.parquet", Body=b"changed")
    bad = rc.run("check", str(src), f"cxone:{bucket}/t/")
    assert bad.returncode != 0 and "1 differences found" in bad.stderr, bad.stderr

    # A second copy with the same sources uploads only the changed file.
    again = rc.run("copy", "-v", "--s3-upload-cutoff", "5M", str(src), f"cxone:{bucket}/t/")
    assert again.returncode == 0 and copied(again.stderr) == 1, again.stderr


def test_rclone_deletefile_delete_and_rmdir_on_the_lake(mock, tmp_path):
    w = world(mock)
    rc = lake_rclone(w, tmp_path)
    bucket = "acme-scratch"
    rc.ok("mkdir", f"cxone:{bucket}")
    src = tmp_path / "tree"
    files = partitioned_tree(src)
    del files["year=2026/month=01/day=06/big.bin"]
    (src / "year=2026/month=01/day=06/big.bin").unlink()
    rc.ok("copy", str(src), f"cxone:{bucket}")
    first = sorted(files)[0]
    rc.ok("deletefile", f"cxone:{bucket}/{first}")
    assert sorted(rc.ok("lsf", "-R", "--files-only", f"cxone:{bucket}").split()) == sorted(files)[1:]
    # A non-empty bucket cannot be removed (BucketNotEmpty) ...
    assert rc.run("rmdir", f"cxone:{bucket}").returncode != 0
    rc.ok("delete", f"cxone:{bucket}")
    assert rc.ok("lsf", "-R", "--files-only", f"cxone:{bucket}").split() == []
    # ... an empty one can.
    rc.ok("rmdir", f"cxone:{bucket}")
    assert rc.ok("lsf", "cxone:").split() == [f"{LAKE}/"]
    # The exports were untouched.
    assert len(rc.ok("lsf", "-R", "--files-only", f"cxone:{LAKE}").split()) == len(w.export_checksums) + len(
        w.export_manifests
    )


def test_rclone_link_presigns_a_lake_object(mock, tmp_path):
    w = world(mock)
    rc = lake_rclone(w, tmp_path)
    rel, digest = sorted(w.export_checksums.items())[0]
    url = rc.ok("link", "--expire", "1h", f"cxone:{LAKE}/{EXPORT_PREFIX}{rel}").strip()
    assert "X-Amz-Signature=" in url and "year%3D2026" in url, url
    r = requests.get(url, timeout=30)
    assert r.status_code == 200, r.text
    assert sha256_hex(r.content) == digest


def test_rclone_remote_from_environment_variables(mock, tmp_path):
    """The same remote without a config file: `RCLONE_CONFIG_CXONE_*` (rclone's documented way to
    define a remote in the environment, e.g. in CI), with an empty config file."""
    w = world(mock)
    empty = tmp_path / "empty.conf"
    empty.write_text("")
    rc = Rclone(empty, {
        "RCLONE_CONFIG_CXONE_TYPE": "s3",
        "RCLONE_CONFIG_CXONE_PROVIDER": "Other",
        "RCLONE_CONFIG_CXONE_ACCESS_KEY_ID": w.lake["access_key_id"],
        "RCLONE_CONFIG_CXONE_SECRET_ACCESS_KEY": w.lake["secret_access_key"],
        "RCLONE_CONFIG_CXONE_ENDPOINT": w.mock.s3,
        "RCLONE_CONFIG_CXONE_REGION": REGION,
    })
    sums = w.export_checksums
    dest = tmp_path / "acd"
    rc.ok("copy", "--include", "*.parquet", f"cxone:{LAKE}/{EXPORT_PREFIX}acd", str(dest))
    got = local_files(dest)
    assert {f"acd/{k}" for k in got} == {k for k in sums if k.startswith("acd/")}
    for k, data in got.items():
        assert sha256_hex(data) == sums[f"acd/{k}"], k
    # The SEA credential as env vars too, with the folder as the path.
    c = w.sea.creds
    rc.env["RCLONE_CONFIG_CXONE_ACCESS_KEY_ID"] = c.access_key_id
    rc.env["RCLONE_CONFIG_CXONE_SECRET_ACCESS_KEY"] = c.secret_access_key
    assert sorted(rc.ok("lsf", f"cxone:{SEA_BUCKET}/{c.prefix}").split()) == sorted(w.sea_files)
    # A wrong secret is refused with the S3 error (SignatureDoesNotMatch), never silently empty.
    rc.env["RCLONE_CONFIG_CXONE_SECRET_ACCESS_KEY"] = "0" * 40
    bad = rc.run("lsf", "--retries", "1", f"cxone:{SEA_BUCKET}/{c.prefix}")
    assert bad.returncode != 0 and "SignatureDoesNotMatch" in bad.stderr, bad.stderr


def test_rclone_is_installed():
    """`make test` installs rclone from apt; a missing binary is a failure, not a skip."""
    assert shutil.which("rclone") or Path(RCLONE).exists(), "rclone is not installed"
    out = subprocess.run([RCLONE, "version"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and out.stdout.startswith("rclone v"), out


def test_sea_s2_rclone_over_tls_with_the_ca_certificate(mock_tls, tmp_path):
    """S2 "optionally TLS": the mock with `--tls-cert`/`--tls-key` (self-signed, on `localhost`);
    rclone trusts the certificate with its global `--ca-cert` flag."""
    w = world(mock_tls)
    assert mock_tls.s3.startswith("https://localhost:"), mock_tls.s3
    rc, remote = sea_rclone(w, tmp_path)
    ca = str(mock_tls.ca_bundle)
    expected = w.sea_files
    dest = tmp_path / "sea"
    rc.ok("--ca-cert", ca, "copy", remote, str(dest))
    got = local_files(dest)
    assert {n: sha256_hex(d) for n, d in got.items()} == {n: f["sha256"] for n, f in expected.items()}
    lake = lake_rclone(w, tmp_path)
    files = lake.ok("--ca-cert", ca, "lsf", "-R", "--files-only", f"cxone:{LAKE}/{EXPORT_PREFIX}").split()
    assert set(files) == set(w.export_checksums) | w.export_manifests
    # Without the CA the certificate is refused.
    bad = rc.run("--retries", "1", "--low-level-retries", "1", "lsf", remote)
    assert bad.returncode != 0 and "certificate" in bad.stderr, bad.stderr
