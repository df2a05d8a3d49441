"""SEA through the AWS CLI (S2, S5, S6, S8): the commands CXone's documentation gives users,
run with the CLI from the virtualenv, `--endpoint-url` pointed at the mock, no ~/.aws config."""


from __future__ import annotations

CLIENT = "aws-cli"

import json
import os

from conftest import FIRST_EXPIRY, SEA_BUCKET, sha256_hex


def expected_files(mock, token: str) -> dict[str, dict]:
    """File name -> storage API record, for files live in SEA."""
    return {f["sea"]["key"].split("/")[-1]: f for f in mock.files(token, tier="sea")}


def ok(cp) -> str:
    assert cp.returncode == 0, f"aws exited {cp.returncode}\nstdout:\n{cp.stdout}\nstderr:\n{cp.stderr}"
    return cp.stdout


def local_files(root) -> dict[str, bytes]:
    out = {}
    for dirpath, _dirs, names in os.walk(root):
        for n in names:
            p = os.path.join(dirpath, n)
            out[os.path.relpath(p, root)] = open(p, "rb").read()
    return out


def test_sea_s2_aws_s3_ls_lists_the_folder_awscli(mock):
    sea = mock.sea_tenant("acme", count=5)
    expected = expected_files(mock, sea.token)
    out = ok(mock.aws(sea.creds, "s3", "ls", f"s3://{SEA_BUCKET}/{sea.creds.prefix}"))
    rows = [line.split() for line in out.splitlines() if line.strip()]
    listed = {r[-1]: int(r[-2]) for r in rows}
    assert listed == {name: f["size"] for name, f in expected.items()}, out


def test_sea_s2_aws_s3_cp_recursive_downloads_every_file_awscli(mock, tmp_path):
    sea = mock.sea_tenant("acme", count=6)
    expected = expected_files(mock, sea.token)
    dest = tmp_path / "cp"
    ok(mock.aws(sea.creds, "s3", "cp", "--recursive", f"s3://{SEA_BUCKET}/{sea.creds.prefix}", str(dest)))
    got = local_files(dest)
    assert set(got) == set(expected)
    for name, data in got.items():
        assert sha256_hex(data) == expected[name]["sha256"], name


def test_sea_s2_aws_s3_cp_single_file_awscli(mock, tmp_path):
    sea = mock.sea_tenant("acme", count=2)
    name, f = sorted(expected_files(mock, sea.token).items())[0]
    dest = tmp_path / name
    ok(mock.aws(sea.creds, "s3", "cp", f"s3://{SEA_BUCKET}/{sea.creds.prefix}{name}", str(dest)))
    assert sha256_hex(dest.read_bytes()) == f["sha256"]


def test_sea_s2_aws_s3_sync_downloads_folder_awscli(mock, tmp_path):
    sea = mock.sea_tenant("acme", count=6)
    expected = expected_files(mock, sea.token)
    dest = tmp_path / "sync"
    src = f"s3://{SEA_BUCKET}/{sea.creds.prefix}"
    ok(mock.aws(sea.creds, "s3", "sync", src, str(dest)))
    got = local_files(dest)
    assert set(got) == set(expected)
    for name, data in got.items():
        assert sha256_hex(data) == expected[name]["sha256"], name
    # A second sync finds nothing new to fetch.
    again = ok(mock.aws(sea.creds, "s3", "sync", src, str(dest)))
    assert "download:" not in again, again


def test_sea_s2_aws_s3api_head_object_awscli(mock):
    sea = mock.sea_tenant("acme", count=1)
    name, f = next(iter(expected_files(mock, sea.token).items()))
    out = ok(mock.aws(sea.creds, "s3api", "head-object", "--bucket", SEA_BUCKET,
                      "--key", f"{sea.creds.prefix}{name}", "--output", "json"))
    head = json.loads(out)
    assert head["ContentLength"] == f["size"]
    assert head.get("ServerSideEncryption") == "aws:kms", head  # S8
    assert head.get("SSEKMSKeyId") == sea.tenant.kms_key_id, head


def test_sea_s2_aws_s3api_list_objects_v2_awscli(mock):
    sea = mock.sea_tenant("acme", count=4)
    expected = expected_files(mock, sea.token)
    out = ok(mock.aws(sea.creds, "s3api", "list-objects-v2", "--bucket", SEA_BUCKET,
                      "--prefix", sea.creds.prefix, "--page-size", "3", "--output", "json"))
    keys = [o["Key"] for o in json.loads(out)["Contents"]]
    assert sorted(keys) == sorted(f"{sea.creds.prefix}{n}" for n in expected)


def test_sea_s2_aws_s3_ls_buckets_is_access_denied_awscli(mock):
    sea = mock.sea_tenant("acme", count=1)
    cp = mock.aws(sea.creds, "s3", "ls")
    assert cp.returncode != 0, cp.stdout
    assert "AccessDenied" in cp.stderr, cp.stderr


def test_sea_s2_aws_s3_cp_upload_is_access_denied_awscli(mock, tmp_path):
    sea = mock.sea_tenant("acme", count=1)
    f = tmp_path / "upload.mp4"
    f.write_bytes(b"\x00" * 1024)
    cp = mock.aws(sea.creds, "s3", "cp", str(f), f"s3://{SEA_BUCKET}/{sea.creds.prefix}upload.mp4")
    assert cp.returncode != 0, cp.stdout
    assert "AccessDenied" in cp.stderr, cp.stderr


def test_sea_s6_empty_folder_is_access_denied_awscli(mock):
    t = mock.tenant("acme")
    creds = mock.sea_credentials(mock.token(t))
    cp = mock.aws(creds, "s3", "ls", f"s3://{SEA_BUCKET}/{creds.prefix}")
    assert cp.returncode != 0, cp.stdout
    assert "AccessDenied" in cp.stderr, cp.stderr


def test_sea_s5_expired_folder_is_access_denied_awscli(mock):
    sea = mock.sea_tenant("acme", count=2)
    src = f"s3://{SEA_BUCKET}/{sea.creds.prefix}"
    ok(mock.aws(sea.creds, "s3", "ls", src))
    mock.advance(to=FIRST_EXPIRY)
    cp = mock.aws(sea.creds, "s3", "ls", src)
    assert cp.returncode != 0, cp.stdout
    assert "AccessDenied" in cp.stderr, cp.stderr


def test_sea_s1_old_key_is_invalid_access_key_id_awscli(mock):
    sea = mock.sea_tenant("acme", count=1)
    mock.sea_credentials(sea.token)
    cp = mock.aws(sea.creds, "s3", "ls", f"s3://{SEA_BUCKET}/{sea.creds.prefix}")
    assert cp.returncode != 0, cp.stdout
    assert "InvalidAccessKeyId" in cp.stderr, cp.stderr
