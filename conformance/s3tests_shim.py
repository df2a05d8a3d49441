"""pytest plugin loaded into ceph/s3-tests by conformance/run.py (`-p s3tests_shim`).

s3-tests empties its buckets before and after every test with ListObjectVersions. A server
without versioning (plain s3s-fs answers 501 NotImplemented) then fails every test in set-up,
whatever the test itself checks. This plugin only changes that clean-up: when ListObjectVersions
is not implemented, the objects are listed with ListObjectsV2 instead (unversioned buckets hold
exactly those). mock-cxone implements ListObjectVersions (sea/front/unversioned.rs), so for it
nothing changes; the tests themselves are untouched.
"""
from __future__ import annotations

from botocore.exceptions import ClientError

import s3tests.functional as functional

_original = functional.list_versions


def _list_versions(client, bucket, batch_size):
    try:
        yield from _original(client, bucket, batch_size)
        return
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") != "NotImplemented":
            raise
    kwargs = {"Bucket": bucket, "MaxKeys": batch_size}
    while True:
        page = client.list_objects_v2(**kwargs)
        objs = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if objs:
            yield objs
        if not page.get("IsTruncated"):
            return
        kwargs["ContinuationToken"] = page["NextContinuationToken"]


functional.list_versions = _list_versions
