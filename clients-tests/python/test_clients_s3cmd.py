"""s3cmd (the Debian package, `/usr/bin/s3cmd`) against mock-cxone, configured by a `.s3cfg` as
users write it and passed with `-c` (never the caller's `~/.s3cfg`): path-style host
(`host_bucket` = `host_base`), plain HTTP, SigV4 in us-east-1.

Both sides of the S3 endpoint:
- the SEA folder (S2, S5, S6): ls, get, sync down, info, signurl, del; put, ListBuckets and the
  bucket root refused with AccessDenied;
- the data-lake bucket (D4, D6): the Data Download export tree synced down (sha256 equal to the
  jobs' `checksums`), ls/la/ls -r, put (small, and multipart with 5 MiB chunks), sync up, get,
  info, mb, signurl, del and rm -r.
"""


from __future__ import annotations

CLIENT = "s3cmd"

import json
import os
import re
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests

from conftest import REGION, SEA_BUCKET, Mock, sha256_hex
from test_clients_rclone import (
    DATA_TYPES,
    EXPORT_PREFIX,
    HOURS,
    LAKE,
    MIB,
    World,
    local_files,
    md5_hex,
    partitioned_tree,
    world,
)

S3CMD = "/usr/bin/s3cmd"
#: s3cmd's exit code for an access error (EX_ACCESSDENIED).
EX_ACCESSDENIED = 77


def s3cfg(path: Path, endpoint: str, key: str, secret: str, ca: Path | None = None) -> Path:
    """The `.s3cfg` a user writes for an S3-compatible endpoint: `host_bucket` equal to
    `host_base` means path-style addressing; `signature_v2 = False` keeps SigV4. Over TLS,
    `use_https = True` and the CA of a self-signed certificate in `ca_certs_file`."""
    u = urlparse(endpoint)
    assert u.scheme == ("https" if ca else "http"), endpoint
    tls = f"use_https = True\nca_certs_file = {ca}\ncheck_ssl_certificate = True\n" if ca else "use_https = False\n"
    path.write_text(
        "[default]\n"
        f"access_key = {key}\n"
        f"secret_key = {secret}\n"
        f"host_base = {u.netloc}\n"
        f"host_bucket = {u.netloc}\n"
        + tls +
        f"bucket_location = {REGION}\n"
        "signature_v2 = False\n"
    )
    return path


class S3cmd:
    def __init__(self, config: Path):
        if not Path(S3CMD).exists():
            pytest.fail(f"{S3CMD} is missing: `make apt-tools` (run by `make test`) installs s3cmd")
        self.config = config
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3CMD"))}
        for p in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
            env.pop(p, None)
        env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
        # s3cmd writes nothing to HOME with -c, but keep it away from the user's anyway.
        env["HOME"] = str(config.parent)
        self.env = env

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([S3CMD, "-c", str(self.config), *args], env=self.env,
                              capture_output=True, text=True, timeout=timeout)

    def ok(self, *args: str) -> str:
        cp = self.run(*args)
        assert cp.returncode == 0, f"s3cmd {' '.join(args)} exited {cp.returncode}\n{cp.stdout}\n{cp.stderr}"
        return cp.stdout

    def objects(self, uri: str) -> dict[str, int]:
        """`s3cmd ls -r` as {s3 uri: size}."""
        out = {}
        for line in self.ok("ls", "-r", uri).splitlines():
            parts = line.split()
            if len(parts) >= 4 and parts[-1].startswith("s3://"):
                out[parts[-1]] = int(parts[-2])
        return out


def sea_s3cmd(w: World, tmp: Path) -> tuple[S3cmd, str]:
    c = w.sea.creds
    return S3cmd(s3cfg(tmp / "sea.s3cfg", w.mock.s3, c.access_key_id, c.secret_access_key)), \
        f"s3://{SEA_BUCKET}/{c.prefix}"


def lake_s3cmd(w: World, tmp: Path) -> S3cmd:
    return S3cmd(s3cfg(tmp / "lake.s3cfg", w.mock.s3, w.lake["access_key_id"], w.lake["secret_access_key"]))


def transfers(stdout: str, verb: str) -> int:
    return sum(1 for line in stdout.splitlines() if line.startswith(f"{verb}: "))


# ------------------------------------------------------------------------------------------
# SEA
# ------------------------------------------------------------------------------------------


def test_sea_s2_s3cmd_ls_get_sync_and_info(mock, tmp_path):
    w = world(mock)
    s3, folder = sea_s3cmd(w, tmp_path)
    expected = w.sea_files
    assert s3.objects(folder) == {folder + n: f["size"] for n, f in expected.items()}
    # `ls` shows the placement time as the modification time (S5).
    dates = {" ".join(line.split()[:2]) for line in s3.ok("ls", folder).splitlines()}
    assert dates == {"2026-01-02 00:00"}, dates

    name = sorted(expected)[0]
    one = tmp_path / "one.mp4"
    s3.ok("get", folder + name, str(one))
    assert sha256_hex(one.read_bytes()) == expected[name]["sha256"]

    dest = tmp_path / "sea"
    out = s3.ok("sync", folder, f"{dest}/")
    got = local_files(dest)
    assert set(got) == set(expected) and transfers(out, "download") == len(expected)
    for n, data in got.items():
        assert sha256_hex(data) == expected[n]["sha256"], n
    assert transfers(s3.ok("sync", folder, f"{dest}/"), "download") == 0, "second sync fetches nothing"

    info = s3.ok("info", folder + name)
    assert re.search(rf"File size:\s+{expected[name]['size']}\b", info), info
    assert re.search(rf"MD5 sum:\s+{md5_hex(got[name])}\b", info), info
    assert re.search(r"SSE:\s+aws:kms\b", info), info  # S8


def test_sea_s2_s3cmd_signurl_is_fetched_by_requests(mock, tmp_path):
    w = world(mock)
    s3, folder = sea_s3cmd(w, tmp_path)
    name, f = sorted(w.sea_files.items())[-1]
    url = s3.ok("signurl", folder + name, "+600").strip()
    assert url.startswith(f"{mock.s3}/{SEA_BUCKET}/"), url
    r = requests.get(url, timeout=30)
    assert r.status_code == 200, r.text
    assert sha256_hex(r.content) == f["sha256"]


def test_sea_s5_s3cmd_del_removes_a_file(mock, tmp_path):
    w = world(mock, sea_files=3)
    s3, folder = sea_s3cmd(w, tmp_path)
    names = sorted(w.sea_files)
    out = s3.ok("del", folder + names[0])
    assert f"delete: '{folder}{names[0]}'" in out, out
    assert sorted(s3.objects(folder)) == [folder + n for n in names[1:]]
    missing = s3.run("get", folder + names[0], str(tmp_path / "gone.mp4"))
    # s3cmd looks the object up before fetching it (a 404 HEAD) and says so.
    assert missing.returncode != 0 and "does not exist" in missing.stderr, missing.stderr


def test_sea_s2_s3cmd_put_bucket_root_and_list_buckets_are_access_denied(mock, tmp_path):
    w = world(mock)
    s3, folder = sea_s3cmd(w, tmp_path)
    before = s3.objects(folder)
    src = tmp_path / "upload.mp4"
    src.write_bytes(b"\x00" * 2048)
    put = s3.run("put", str(src), folder + "upload.mp4")
    assert put.returncode == EX_ACCESSDENIED and "AccessDenied" in put.stderr, (put.returncode, put.stderr)
    assert s3.objects(folder) == before
    for args in (["ls"], ["ls", f"s3://{SEA_BUCKET}/"], ["mb", "s3://acme-new"]):
        cp = s3.run(*args)
        assert cp.returncode == EX_ACCESSDENIED and "AccessDenied" in cp.stderr, (args, cp.returncode, cp.stderr)


def test_sea_s6_s3cmd_empty_folder_is_access_denied(mock, tmp_path):
    t = mock.tenant("acme")
    creds = mock.sea_credentials(mock.token(t))
    s3 = S3cmd(s3cfg(tmp_path / "s3cfg", mock.s3, creds.access_key_id, creds.secret_access_key))
    cp = s3.run("ls", f"s3://{SEA_BUCKET}/{creds.prefix}")
    assert cp.returncode == EX_ACCESSDENIED and "AccessDenied" in cp.stderr, (cp.returncode, cp.stderr)


# ------------------------------------------------------------------------------------------
# The data lake
# ------------------------------------------------------------------------------------------


def test_d4_d6_s3cmd_ls_la_and_sync_export_tree_match_job_checksums(mock, tmp_path):
    w = world(mock)
    s3 = lake_s3cmd(w, tmp_path)
    sums = w.export_checksums
    expected = set(sums) | w.export_manifests
    assert len(sums) == HOURS * len(DATA_TYPES)

    buckets = s3.ok("ls").split()
    assert f"s3://{LAKE}" in buckets, buckets
    # `la`: the top level of every bucket the credential sees (only the export bucket here).
    la = [line.split() for line in s3.ok("la").splitlines() if line.strip()]
    assert la == [["DIR", f"s3://{LAKE}/exports/"]], la
    root = f"s3://{LAKE}/{EXPORT_PREFIX}"
    listed = s3.objects(root)
    assert set(listed) == {root + k for k in expected}
    # One level: the data type folders, as DIR lines.
    assert sorted(line.split()[-1] for line in s3.ok("ls", root).splitlines()) == sorted(
        f"{root}{t}/" for t in DATA_TYPES)

    dest = tmp_path / "lake"
    out = s3.ok("sync", root, f"{dest}/")
    got = local_files(dest)
    assert set(got) == expected and transfers(out, "download") == len(expected)
    for rel, digest in sums.items():
        assert sha256_hex(got[rel]) == digest, rel
        assert listed[root + rel] == len(got[rel])
    for rel in w.export_manifests:
        m = json.loads(got[rel])
        assert rel.endswith(f"/_manifest-{m['job_id']}.json"), rel
    assert transfers(s3.ok("sync", root, f"{dest}/"), "download") == 0, "second sync fetches nothing"


def test_s3cmd_mb_put_multipart_get_info_and_signurl(mock, tmp_path):
    w = world(mock)
    s3 = lake_s3cmd(w, tmp_path)
    bucket = "s3://acme-s3cmd"
    assert "created" in s3.ok("mb", bucket)
    assert bucket in s3.ok("ls").split()

    small = tmp_path / "small.csv"
    small.write_bytes(b"a,b\n1,2\n")
    s3.ok("put", str(small), f"{bucket}/in/small.csv")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(12 * MIB))
    s3.ok("put", "--multipart-chunk-size-mb=5", str(big), f"{bucket}/in/big.bin")
    # Three parts (5 + 5 + 2 MiB): the ETag of a multipart object ends in -<parts>.
    head = w.lake_s3().head_object(Bucket="acme-s3cmd", Key="in/big.bin")
    assert head["ETag"].strip('"').endswith("-3") and head["ContentLength"] == 12 * MIB, head

    back = tmp_path / "back.bin"
    s3.ok("get", f"{bucket}/in/big.bin", str(back))
    assert back.read_bytes() == big.read_bytes()
    info = s3.ok("info", f"{bucket}/in/big.bin")
    assert re.search(rf"File size:\s+{12 * MIB}\b", info), info
    # For a multipart object s3cmd reports the MD5 it stored in its own metadata header.
    assert re.search(rf"MD5 sum:\s+{md5_hex(big.read_bytes())}\b", info), info
    assert re.search(r"SSE:\s+aws:kms\b", info), info

    # signurl makes a V2 presigned URL (AWSAccessKeyId/Expires/Signature).
    url = s3.ok("signurl", f"{bucket}/in/small.csv", "+600").strip()
    assert "Signature=" in url and "Expires=" in url, url
    r = requests.get(url, timeout=30)
    assert r.status_code == 200 and r.content == small.read_bytes(), r.text
    bad = requests.get(url.replace("Expires=", "Expires=1"), timeout=30)
    assert bad.status_code == 403, bad.text


def test_s3cmd_sync_up_a_partitioned_tree_and_del_rm_r(mock, tmp_path):
    w = world(mock)
    s3 = lake_s3cmd(w, tmp_path)
    s3.ok("mb", "s3://acme-lake")
    src = tmp_path / "tree"
    files = partitioned_tree(src)
    dest = "s3://acme-lake/curated/"
    out = s3.ok("sync", "--multipart-chunk-size-mb=5", f"{src}/", dest)
    assert transfers(out, "upload") == len(files), out
    assert s3.objects(dest) == {dest + k: len(v) for k, v in files.items()}
    client = w.lake_s3()
    for rel, data in files.items():
        assert sha256_hex(client.get_object(Bucket="acme-lake", Key=f"curated/{rel}")["Body"].read()) == sha256_hex(data)
    # Nothing changed: nothing to upload. One file changed: one upload.
    assert transfers(s3.ok("sync", f"{src}/", dest), "upload") == 0
    changed = "year=2026/month=01/day=05/hour=09/part-00000.parquet"
    (src / changed).write_bytes(b"new bytes")
    assert transfers(s3.ok("sync", f"{src}/", dest), "upload") == 1
    assert client.get_object(Bucket="acme-lake", Key=f"curated/{changed}")["Body"].read() == b"new bytes"

    # del one key, then rm -r a partition prefix, then the rest.
    s3.ok("del", dest + changed)
    assert dest + changed not in s3.objects(dest)
    s3.ok("rm", "-r", f"{dest}year=2026/month=01/day=06/")
    assert sorted(s3.objects(dest)) == [dest + "year=2026/month=01/day=05/hour=10/part-00000.parquet"]
    s3.ok("rm", "-r", dest)
    assert s3.objects("s3://acme-lake") == {}
    s3.ok("rb", "s3://acme-lake")
    assert "s3://acme-lake" not in s3.ok("ls").split()
    # The exports are untouched.
    assert len(s3.objects(f"s3://{LAKE}/")) == len(w.export_checksums) + len(w.export_manifests)


def test_sea_s2_s3cmd_over_tls_with_the_ca_certificate(mock_tls, tmp_path):
    """S2 "optionally TLS": the mock with `--tls-cert`/`--tls-key` (self-signed, on `localhost`),
    s3cmd with `use_https = True` and `ca_certs_file`."""
    w = world(mock_tls)
    c = w.sea.creds
    s3 = S3cmd(s3cfg(tmp_path / "sea.s3cfg", mock_tls.s3, c.access_key_id, c.secret_access_key,
                     ca=mock_tls.ca_bundle))
    folder = f"s3://{SEA_BUCKET}/{c.prefix}"
    dest = tmp_path / "sea"
    s3.ok("sync", folder, f"{dest}/")
    assert {n: sha256_hex(d) for n, d in local_files(dest).items()} == {
        n: f["sha256"] for n, f in w.sea_files.items()}
    lake = S3cmd(s3cfg(tmp_path / "lake.s3cfg", mock_tls.s3, w.lake["access_key_id"],
                       w.lake["secret_access_key"], ca=mock_tls.ca_bundle))
    root = f"s3://{LAKE}/{EXPORT_PREFIX}"
    assert set(lake.objects(root)) == {root + k for k in set(w.export_checksums) | w.export_manifests}
