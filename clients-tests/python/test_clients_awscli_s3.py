"""The AWS CLI's high-level `aws s3` commands and a few `s3api` calls against the data lake and
SEA, beyond the SEA basics of `test_sea_awscli.py` (ls, cp, sync of the folder, head-object,
list-objects-v2, refused writes): the CLI from the virtualenv, credentials and region from the
environment, `--endpoint-url` pointed at the mock, every other setting at its default (CRC32
request checksums, 8 MiB multipart threshold and chunks, `Expect: 100-continue`).

Covered: `aws s3 sync` of the Data Download export tree down (sha256 equal to the jobs'
`checksums`; D4, D6) and of a local partitioned tree up, `aws s3 cp --recursive` both ways, a
multipart `aws s3 cp` of 20 MiB, `aws s3 ls --recursive --summarize`, `aws s3 rm --recursive`,
`aws s3api list-objects-v2 --encoding-type url`, `aws s3 presign` (lake and SEA), and
`aws s3api head-object --checksum-mode ENABLED`.
"""


from __future__ import annotations

CLIENT = "aws-cli"

import base64
import io
import json
import os
import re
import subprocess
import zlib
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import unquote

import boto3
import requests
from botocore.config import Config

from conftest import REGION, SEA_BUCKET, VENV_BIN, sha256_hex
from test_clients_rclone import (
    DATA_TYPES,
    EXPORT_PREFIX,
    HOURS,
    LAKE,
    MIB,
    World,
    local_files,
    partitioned_tree,
    world,
)


def ok(cp) -> str:
    assert cp.returncode == 0, f"aws exited {cp.returncode}\nstdout:\n{cp.stdout}\nstderr:\n{cp.stderr}"
    return cp.stdout


def lake(w: World) -> tuple[str, str]:
    return (w.lake["access_key_id"], w.lake["secret_access_key"])


def count(stdout: str, verb: str) -> int:
    """How many `download:`/`upload:`/`delete:` lines the CLI printed."""
    return sum(1 for line in stdout.splitlines() if line.startswith(f"{verb}: "))


def crc32_b64(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def set_mtime_before_mock_clock(root: Path) -> None:
    """Local files made now (wall clock) are newer than anything the frozen mock clock stamps, so
    `aws s3 sync` would upload them again on every run (as against any server whose clock is
    behind). A pipeline's files from 2025 are older: date them so."""
    t = datetime(2025, 12, 1, tzinfo=timezone.utc).timestamp()
    for p in root.rglob("*"):
        if p.is_file():
            os.utime(p, (t, t))


# ------------------------------------------------------------------------------------------
# Exports (the lake bucket the platform writes)
# ------------------------------------------------------------------------------------------


def test_d4_d6_aws_s3_sync_export_tree_down_matches_job_checksums(mock, tmp_path):
    w = world(mock)
    sums = w.export_checksums
    expected = set(sums) | w.export_manifests
    assert len(sums) == HOURS * len(DATA_TYPES)
    src = f"s3://{LAKE}/{EXPORT_PREFIX}"
    dest = tmp_path / "lake"
    out = ok(mock.aws(lake(w), "s3", "sync", "--no-progress", src, str(dest)))
    got = local_files(dest)
    assert set(got) == expected and count(out, "download") == len(expected), out
    for rel, digest in sums.items():
        assert sha256_hex(got[rel]) == digest, rel
    for rel in w.export_manifests:
        m = json.loads(got[rel])
        assert [f["sha256"] for f in m["files"]] == [sums[f["key"][len(EXPORT_PREFIX):]] for f in m["files"]]
    again = ok(mock.aws(lake(w), "s3", "sync", "--no-progress", src, str(dest)))
    assert count(again, "download") == 0, again
    # --exclude/--include as a pipeline fetching only the data files of one data type.
    only = tmp_path / "cdr"
    out = ok(mock.aws(lake(w), "s3", "sync", "--no-progress", "--exclude", "*", "--include", "*.parquet",
                      f"{src}cdr/", str(only)))
    assert {f"cdr/{k}" for k in local_files(only)} == {k for k in sums if k.startswith("cdr/")}, out


def test_d4_aws_s3_cp_recursive_down_and_ls_recursive_summarize(mock, tmp_path):
    w = world(mock)
    sums = w.export_checksums
    expected = set(sums) | w.export_manifests
    dest = tmp_path / "cp"
    out = ok(mock.aws(lake(w), "s3", "cp", "--recursive", "--no-progress", f"s3://{LAKE}/{EXPORT_PREFIX}", str(dest)))
    got = local_files(dest)
    assert set(got) == expected and count(out, "download") == len(expected)
    for rel, digest in sums.items():
        assert sha256_hex(got[rel]) == digest, rel

    listing = ok(mock.aws(lake(w), "s3", "ls", "--recursive", "--summarize", f"s3://{LAKE}/"))
    rows = [line.split() for line in listing.splitlines() if re.match(r"^\d{4}-\d{2}-\d{2} ", line)]
    assert {r[-1]: int(r[-2]) for r in rows} == {EXPORT_PREFIX + k: len(v) for k, v in got.items()}
    assert re.search(rf"Total Objects: {len(expected)}\b", listing), listing
    assert re.search(rf"Total Size: {sum(len(v) for v in got.values())}\b", listing), listing
    # LastModified is the mock-clock instant each job wrote its files (one per hour's job).
    job_dates = {j["end_time"][:10] for j in w.jobs}
    assert {r[0] for r in rows} == job_dates, rows


def test_d4_aws_s3api_list_objects_v2_encoding_type_url(mock):
    w = world(mock)
    sums = w.export_checksums
    prefix = f"{EXPORT_PREFIX}cdr/"
    out = json.loads(ok(mock.aws(lake(w), "s3api", "list-objects-v2", "--bucket", LAKE, "--prefix", prefix,
                                 "--encoding-type", "url", "--output", "json")))
    keys = [o["Key"] for o in out["Contents"]]
    # Asked for explicitly, the CLI prints the keys as S3 sent them: `=` percent-encoded.
    assert all("year%3D2026/month%3D01/day%3D05/hour%3D" in k for k in keys), keys
    assert "=" not in "".join(keys)
    expected = {EXPORT_PREFIX + k for k in set(sums) | w.export_manifests if k.startswith("cdr/")}
    assert {unquote(k) for k in keys} == expected
    # With a delimiter: the partition folders as CommonPrefixes, encoded too.
    out = json.loads(ok(mock.aws(lake(w), "s3api", "list-objects-v2", "--bucket", LAKE, "--prefix",
                                 f"{prefix}year=2026/month=01/day=05/", "--delimiter", "/",
                                 "--encoding-type", "url", "--output", "json")))
    assert [p["Prefix"] for p in out["CommonPrefixes"]] == [
        f"{prefix}year%3D2026/month%3D01/day%3D05/hour%3D{h:02d}/" for h in range(9, 9 + HOURS)
    ], out
    assert "Contents" not in out
    # Without --encoding-type the CLI asks for url encoding itself and decodes: plain keys.
    out = json.loads(ok(mock.aws(lake(w), "s3api", "list-objects-v2", "--bucket", LAKE, "--prefix", prefix,
                                 "--output", "json")))
    assert {o["Key"] for o in out["Contents"]} == expected


def test_aws_s3_presign_on_the_lake_and_on_sea(mock):
    w = world(mock)
    rel, digest = sorted(w.export_checksums.items())[0]
    url = ok(mock.aws(lake(w), "s3", "presign", f"s3://{LAKE}/{EXPORT_PREFIX}{rel}", "--expires-in", "300")).strip()
    assert url.startswith(f"{mock.s3}/{LAKE}/"), url
    # AWS CLI v1 presigns S3 URLs with SigV2 query auth unless told `s3.signature_version s3v4`.
    assert "Signature=" in url and "Expires=" in url, url
    r = requests.get(url, timeout=30)
    assert r.status_code == 200 and sha256_hex(r.content) == digest, r.text
    # A presigned URL only grants what it was signed for: a PUT with it is refused.
    put = requests.put(url, data=b"x", timeout=30)
    assert put.status_code == 403, put.text

    name, f = sorted(w.sea_files.items())[0]
    url = ok(mock.aws(w.sea.creds, "s3", "presign", f"s3://{SEA_BUCKET}/{w.sea.creds.prefix}{name}")).strip()
    r = requests.get(url, timeout=30)
    assert r.status_code == 200 and sha256_hex(r.content) == f["sha256"], r.text


def test_sea_s5_aws_s3_rm_and_ls_summarize_on_sea(mock):
    w = world(mock, sea_files=4)
    folder = f"s3://{SEA_BUCKET}/{w.sea.creds.prefix}"
    files = w.sea_files
    listing = ok(mock.aws(w.sea.creds, "s3", "ls", "--recursive", "--summarize", folder))
    assert re.search(rf"Total Objects: {len(files)}\b", listing), listing
    assert re.search(rf"Total Size: {sum(f['size'] for f in files.values())}\b", listing), listing
    names = sorted(files)
    ok(mock.aws(w.sea.creds, "s3", "rm", folder + names[0]))
    out = ok(mock.aws(w.sea.creds, "s3", "rm", "--recursive", folder, "--exclude", names[-1]))
    assert count(out, "delete") == len(names) - 2, out
    left = ok(mock.aws(w.sea.creds, "s3", "ls", folder))
    assert [line.split()[-1] for line in left.splitlines()] == [names[-1]], left
    # SEA credentials cannot create buckets.
    mb = mock.aws(w.sea.creds, "s3", "mb", "s3://acme-new")
    assert mb.returncode != 0 and "AccessDenied" in mb.stderr, mb.stderr


# ------------------------------------------------------------------------------------------
# The tenant's own objects in the lake
# ------------------------------------------------------------------------------------------


def test_aws_s3_sync_and_cp_recursive_up_a_partitioned_tree_then_rm_recursive(mock, tmp_path):
    w = world(mock)
    ok(mock.aws(lake(w), "s3", "mb", "s3://acme-curated"))
    src = tmp_path / "tree"
    files = partitioned_tree(src)  # includes a 12 MiB file: multipart at the CLI's 8 MiB threshold
    set_mtime_before_mock_clock(src)
    out = ok(mock.aws(lake(w), "s3", "sync", "--no-progress", str(src), "s3://acme-curated/sync/"))
    assert count(out, "upload") == len(files), out
    again = ok(mock.aws(lake(w), "s3", "sync", "--no-progress", str(src), "s3://acme-curated/sync/"))
    assert count(again, "upload") == 0, again
    out = ok(mock.aws(lake(w), "s3", "cp", "--recursive", "--no-progress", str(src), "s3://acme-curated/cp/"))
    assert count(out, "upload") == len(files), out

    s3 = w.lake_s3()
    for top in ("sync", "cp"):
        for rel, data in files.items():
            body = s3.get_object(Bucket="acme-curated", Key=f"{top}/{rel}")["Body"].read()
            assert sha256_hex(body) == sha256_hex(data), (top, rel)
    big = s3.head_object(Bucket="acme-curated", Key="cp/year=2026/month=01/day=06/big.bin")
    assert big["ETag"].strip('"').endswith("-2"), big["ETag"]  # 8 + 4 MiB

    listing = ok(mock.aws(lake(w), "s3", "ls", "--recursive", "--summarize", "s3://acme-curated/"))
    assert re.search(rf"Total Objects: {2 * len(files)}\b", listing), listing
    assert re.search(rf"Total Size: {2 * sum(map(len, files.values()))}\b", listing), listing

    out = ok(mock.aws(lake(w), "s3", "rm", "--recursive", "s3://acme-curated/cp/year=2026/month=01/day=05/"))
    assert count(out, "delete") == 2, out
    out = ok(mock.aws(lake(w), "s3", "rm", "--recursive", "s3://acme-curated/"))
    assert count(out, "delete") == 2 * len(files) - 2, out
    assert s3.list_objects_v2(Bucket="acme-curated")["KeyCount"] == 0
    # An empty bucket can be removed; the export bucket is untouched.
    ok(mock.aws(lake(w), "s3", "rb", "s3://acme-curated"))
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [LAKE]
    exported = s3.list_objects_v2(Bucket=LAKE)["KeyCount"]
    assert exported == len(w.export_checksums) + len(w.export_manifests)


def test_aws_s3_cp_multipart_20_mib_with_default_checksums_and_head_object_checksum_mode(mock, tmp_path):
    w = world(mock)
    ok(mock.aws(lake(w), "s3", "mb", "s3://acme-big"))
    data = os.urandom(20 * MIB)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    ok(mock.aws(lake(w), "s3", "cp", "--no-progress", str(src), "s3://acme-big/in/big.bin"))
    head = json.loads(ok(mock.aws(lake(w), "s3api", "head-object", "--bucket", "acme-big", "--key", "in/big.bin",
                                  "--checksum-mode", "ENABLED", "--output", "json")))
    assert head["ContentLength"] == 20 * MIB
    assert head["ETag"].strip('"').endswith("-3"), head  # 8 + 8 + 4 MiB parts
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"], head
    # The CLI uploaded every part with its CRC32: S3 answers the composite checksum, the CRC32 of
    # the parts' CRC32s, "-<parts>".
    parts = [data[i:i + 8 * MIB] for i in range(0, len(data), 8 * MIB)]
    composite = crc32_b64(b"".join(zlib.crc32(p).to_bytes(4, "big") for p in parts)) + f"-{len(parts)}"
    assert head.get("ChecksumCRC32") == composite and head.get("ChecksumType") == "COMPOSITE", head
    back = tmp_path / "back.bin"
    ok(mock.aws(lake(w), "s3", "cp", "--no-progress", "s3://acme-big/in/big.bin", str(back)))
    assert back.read_bytes() == data

    # A single-part upload: the full-object CRC32 the CLI sent comes back with checksum mode on.
    small = tmp_path / "small.json"
    small.write_bytes(b'{"rows": 3}\n')
    ok(mock.aws(lake(w), "s3", "cp", str(small), "s3://acme-big/in/small.json"))
    head = json.loads(ok(mock.aws(lake(w), "s3api", "head-object", "--bucket", "acme-big", "--key", "in/small.json",
                                  "--checksum-mode", "ENABLED", "--output", "json")))
    assert head["ChecksumCRC32"] == crc32_b64(small.read_bytes()), head
    assert head.get("ChecksumType") == "FULL_OBJECT", head
    assert head["ContentLength"] == len(small.read_bytes())
    # get-object with checksum mode: the CLI validates the CRC32 of what it receives.
    out = tmp_path / "small.out"
    got = json.loads(ok(mock.aws(lake(w), "s3api", "get-object", "--bucket", "acme-big", "--key", "in/small.json",
                                 "--checksum-mode", "ENABLED", str(out), "--output", "json")))
    assert got["ChecksumCRC32"] == crc32_b64(small.read_bytes()) and out.read_bytes() == small.read_bytes(), got


def test_expect_100_continue_on_an_empty_put_does_not_break_the_next_request_on_the_connection(mock, tmp_path):
    """botocore (the CLI's engine) sends `Expect: 100-continue` with every file body, empty ones
    too. S3 always answers `100 Continue`; hyper skips it for an empty body and botocore then
    reuses the final status it saw for the *next* response on that keep-alive connection, which
    it can no longer parse: the next upload stalls until the read timeout. (Seen as `aws s3 sync`
    of a tree with an empty file failing after 60 s.) The mock closes such connections.
    One connection, short read timeout: deterministic."""
    w = world(mock)
    key, secret = lake(w)
    s3 = boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=secret, region_name=REGION).client(
        "s3", endpoint_url=mock.s3,
        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1},
                      max_pool_connections=1, read_timeout=5))
    s3.create_bucket(Bucket="acme-empty")
    s3.put_object(Bucket="acme-empty", Key="a/_SUCCESS", Body=io.BytesIO(b""))
    s3.put_object(Bucket="acme-empty", Key="a/part-0.csv", Body=io.BytesIO(b"x,y\n1,2\n"))
    s3.put_object(Bucket="acme-empty", Key="b/_SUCCESS", Body=io.BytesIO(b""))
    s3.upload_fileobj(io.BytesIO(b"z" * 1000), "acme-empty", "b/part-0.csv")
    assert s3.get_object(Bucket="acme-empty", Key="a/part-0.csv")["Body"].read() == b"x,y\n1,2\n"
    assert s3.head_object(Bucket="acme-empty", Key="b/_SUCCESS")["ContentLength"] == 0
    assert s3.get_object(Bucket="acme-empty", Key="b/part-0.csv")["Body"].read() == b"z" * 1000

    # The CLI over a Spark-style tree (empty `_SUCCESS` markers), with a short read timeout.
    src = tmp_path / "spark"
    for d in range(4):
        (src / f"day={d:02d}").mkdir(parents=True)
        (src / f"day={d:02d}" / "_SUCCESS").write_bytes(b"")
        (src / f"day={d:02d}" / "part-0.csv").write_bytes(os.urandom(3000))
    cp = mock.aws(lake(w), "--cli-read-timeout", "5", "s3", "cp", "--recursive", "--no-progress", str(src),
                  "s3://acme-empty/spark/", timeout=60)
    assert count(ok(cp), "upload") == 8, cp.stdout
    assert local_files(src) == {k: s3.get_object(Bucket="acme-empty", Key=f"spark/{k}")["Body"].read()
                                for k in local_files(src)}


def test_aws_cli_profiles_with_endpoint_url_in_the_config_file(mock, tmp_path):
    """The set-up a user keeps: one profile per credential in `~/.aws/config` and
    `~/.aws/credentials`, with the endpoint in the profile (`endpoint_url`), path-style
    addressing, and SigV4 presigned URLs (CLI v1 presigns with SigV2 otherwise)."""
    w = world(mock)
    config = tmp_path / "config"
    config.write_text(
        "[profile cxone-sea]\n"
        f"region = {REGION}\n"
        f"endpoint_url = {mock.s3}\n"
        "s3 =\n    addressing_style = path\n"
        "\n[profile cxone-lake]\n"
        f"region = {REGION}\n"
        f"endpoint_url = {mock.s3}\n"
        "s3 =\n    addressing_style = path\n    signature_version = s3v4\n"
    )
    creds = tmp_path / "credentials"
    creds.write_text(
        f"[cxone-sea]\naws_access_key_id = {w.sea.creds.access_key_id}\n"
        f"aws_secret_access_key = {w.sea.creds.secret_access_key}\n"
        f"\n[cxone-lake]\naws_access_key_id = {w.lake['access_key_id']}\n"
        f"aws_secret_access_key = {w.lake['secret_access_key']}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE=str(config), AWS_SHARED_CREDENTIALS_FILE=str(creds), AWS_PAGER="",
               AWS_EC2_METADATA_DISABLED="true")

    def aws(*args: str) -> str:
        return ok(subprocess.run([str(VENV_BIN / "aws"), *args], env=env, capture_output=True, text=True,
                                 timeout=120))

    listing = aws("--profile", "cxone-sea", "s3", "ls", f"s3://{SEA_BUCKET}/{w.sea.creds.prefix}")
    assert sorted(line.split()[-1] for line in listing.splitlines()) == sorted(w.sea_files)
    rel, digest = sorted(w.export_checksums.items())[0]
    url = aws("--profile", "cxone-lake", "s3", "presign", f"s3://{LAKE}/{EXPORT_PREFIX}{rel}").strip()
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url and "X-Amz-Signature=" in url, url
    r = requests.get(url, timeout=30)
    assert r.status_code == 200 and sha256_hex(r.content) == digest, r.text


def test_sea_s2_aws_cli_over_tls_with_ca_bundle(mock_tls, tmp_path):
    """S2 "optionally TLS": the mock with `--tls-cert`/`--tls-key` (self-signed, on `localhost`),
    the CLI with `--ca-bundle` (the helper adds it); refused without it."""
    w = world(mock_tls)
    assert mock_tls.s3.startswith("https://localhost:"), mock_tls.s3
    folder = f"s3://{SEA_BUCKET}/{w.sea.creds.prefix}"
    dest = tmp_path / "sea"
    ok(mock_tls.aws(w.sea.creds, "s3", "sync", "--no-progress", folder, str(dest)))
    assert {n: sha256_hex(d) for n, d in local_files(dest).items()} == {
        n: f["sha256"] for n, f in w.sea_files.items()}
    listing = ok(mock_tls.aws(lake(w), "s3", "ls", "--recursive", "--summarize", f"s3://{LAKE}/"))
    assert re.search(rf"Total Objects: {len(w.export_checksums) + len(w.export_manifests)}\b", listing), listing
    bundle = mock_tls.ca_bundle
    mock_tls.ca_bundle = None  # the same command without --ca-bundle
    try:
        bad = mock_tls.aws(w.sea.creds, "s3", "ls", folder)
    finally:
        mock_tls.ca_bundle = bundle
    assert bad.returncode != 0 and "SSL" in bad.stderr, bad.stderr
