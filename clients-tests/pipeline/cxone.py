"""CXone access for the pipelines: the Data Download REST API (requests) and the data lake (boto3).

What a user's pipeline needs and nothing more:

- `CxoneApi`: an API client (`client_credentials` grant) whose token is refreshed before it
  expires (tokens live an hour) and once more on a 401; a 503 from the platform (maintenance
  window, F10) raises `ServiceUnavailable` with its `Retry-After` instead of sleeping — the caller
  gives up this poll and comes back on the next one.
- `DataLake`: S3 reads with data-lake credentials (`POST /api/v2/data-lake/credentials`). A
  credential is granted the tenant's KMS keys current when it was issued, so after a key rotation
  (F9) GetObject answers 403 AccessDenied with KMS's message: `DataLake.get` then issues a new
  credential and retries once.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import boto3
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

DOWNLOADS = "/api/v2/data-downloads"
#: Refresh a token this long before it expires.
TOKEN_MARGIN = timedelta(minutes=5)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def parse_time(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(timezone.utc)


def fmt_time(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def split_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri!r}")
    bucket, _, key = uri[len("s3://"):].partition("/")
    return bucket, key


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ServiceUnavailable(Exception):
    """The platform answered 503 (maintenance window): try again on a later poll."""

    def __init__(self, method: str, path: str, retry_after: int | None, body: str):
        super().__init__(f"{method} {path}: 503 (Retry-After {retry_after}) {body[:200]}")
        self.retry_after = retry_after


class ApiError(Exception):
    """Any other unexpected API answer."""

    def __init__(self, method: str, path: str, status: int, body: str):
        super().__init__(f"{method} {path}: {status} {body[:500]}")
        self.status = status
        self.body = body


class CxoneApi:
    """The CXone REST API with an API client's credentials (`client_credentials` grant)."""

    def __init__(self, api_url: str, client_id: str, client_secret: str,
                 clock: Callable[[], datetime] = utcnow, session: requests.Session | None = None,
                 timeout: float = 60.0):
        self.api_url = api_url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.clock = clock
        self.http = session or requests.Session()
        self.timeout = timeout
        self._token: str | None = None
        self._expires: datetime | None = None
        #: Tokens fetched so far (a refresh is one more).
        self.tokens_issued = 0

    # -- tokens -------------------------------------------------------------------------------
    def _fetch_token(self) -> None:
        r = self.http.post(f"{self.api_url}/auth/token", auth=(self.client_id, self.client_secret),
                           data={"grant_type": "client_credentials"}, timeout=self.timeout)
        if r.status_code != 200:
            raise ApiError("POST", "/auth/token", r.status_code, r.text)
        v = r.json()
        self._token = v["access_token"]
        self._expires = self.clock() + timedelta(seconds=int(v.get("expires_in", 3600)))
        self.tokens_issued += 1

    def token(self) -> str:
        if self._token is None or self._expires is None or self.clock() >= self._expires - TOKEN_MARGIN:
            self._fetch_token()
        assert self._token is not None
        return self._token

    # -- requests -----------------------------------------------------------------------------
    def request(self, method: str, path: str, expect: tuple[int, ...] = (200,), **kw: Any) -> Any:
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self.token()}", "Accept": "application/json"}
            r = self.http.request(method, f"{self.api_url}{path}", headers=headers, timeout=self.timeout, **kw)
            if r.status_code == 401 and attempt == 1:
                # The clock we keep may disagree with the platform's: take a new token once.
                self._token = None
                continue
            if r.status_code == 503:
                ra = r.headers.get("Retry-After")
                raise ServiceUnavailable(method, path, int(ra) if ra and ra.isdigit() else None, r.text)
            if r.status_code not in expect:
                raise ApiError(method, path, r.status_code, r.text)
            return r.json() if r.content else None
        raise AssertionError("unreachable")

    def downloads(self) -> list[dict[str, Any]]:
        return self.request("GET", DOWNLOADS)["data_downloads"]

    def put_download(self, download_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.request("PUT", f"{DOWNLOADS}/{download_id}", json=body)

    def schemas(self) -> dict[str, Any]:
        return self.request("GET", f"{DOWNLOADS}/schemas")["categories"]

    def jobs(self, download_id: str, page_size: int = 1000, **params: Any) -> list[dict[str, Any]]:
        """Every page of the download's jobs (creation order)."""
        out: list[dict[str, Any]] = []
        q: dict[str, Any] = {"page_size": page_size, **params}
        while True:
            v = self.request("GET", f"{DOWNLOADS}/{download_id}/jobs", params=q)
            out.extend(v["jobs"])
            token = v.get("next_page_token")
            if not token:
                return out
            q["page_token"] = token

    def manual_export(self, download_id: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        return self.request("POST", f"{DOWNLOADS}/{download_id}/manual-export", expect=(202,), json=body)["jobs"]

    def datalake_credentials(self) -> dict[str, Any]:
        return self.request("POST", "/api/v2/data-lake/credentials", expect=(201,))


def _parse_s3_timestamp(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        from botocore.utils import parse_timestamp
        return parse_timestamp(value)


def is_kms_denial(err: ClientError) -> bool:
    """403 AccessDenied whose message is KMS's "ciphertext refers to a customer master key ...":
    the credential lacks the key the object was written under (key rotation, F9)."""
    e = err.response.get("Error", {})
    msg = str(e.get("Message", "")).lower()
    return e.get("Code") == "AccessDenied" and ("ciphertext" in msg or "kms" in msg or "master key" in msg)


class DataLake:
    """S3 access to the tenant's data lake with data-lake credentials issued by the API."""

    def __init__(self, api: CxoneApi, refresh_on_kms_denial: bool = True):
        self.api = api
        self.refresh_on_kms_denial = refresh_on_kms_denial
        self._s3 = None
        #: Credentials issued so far.
        self.credentials_issued = 0

    def _client(self):
        if self._s3 is None:
            creds = self.api.datalake_credentials()
            self.credentials_issued += 1
            # Only what the mock (and any S3-compatible store) needs: its endpoint, path-style
            # addressing (no per-bucket DNS on a loopback endpoint) and a region for SigV4.
            cfg = Config(s3={"addressing_style": "path"})
            session = boto3.session.Session(
                aws_access_key_id=creds["access_key_id"],
                aws_secret_access_key=creds["secret_access_key"],
                region_name="us-east-1",
            )
            # botocore parses every LastModified of a listing with dateutil, which dominates a
            # poll that lists a few hundred keys; S3 timestamps are ISO 8601, which the standard
            # library parses directly (same values).
            session._session.get_component("response_parser_factory").set_parser_defaults(
                timestamp_parser=_parse_s3_timestamp)
            self._s3 = session.client("s3", endpoint_url=creds["endpoint"], config=cfg)
        return self._s3

    def renew(self) -> None:
        self._s3 = None
        self._client()

    def get(self, bucket: str, key: str) -> bytes:
        try:
            return self._client().get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as err:
            if not (self.refresh_on_kms_denial and is_kms_denial(err)):
                raise
        # A credential from before a KMS key rotation: a new one is granted every current key.
        self.renew()
        return self._client().get_object(Bucket=bucket, Key=key)["Body"].read()

    def list_keys(self, bucket: str, prefix: str) -> list[str]:
        keys: list[str] = []
        for page in self._client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys.extend(o["Key"] for o in page.get("Contents", []))
        return keys
