"""Data Download to Azure Blob Storage (`"type": "azure_blob"`; CONTRACT §4, D3, D7, D8), against
Azurite, Microsoft's Azure Storage emulator, from the npm registry (`make azurite` installs the
version pinned in clients-tests/azurite/package-lock.json; AZURITE_BLOB overrides the binary).

The mock writes with object_store's Azure client (SharedKey signatures, or a SAS token), and the
checks read back with Microsoft's own Python SDK (azure-storage-blob): the files, their sha256s,
Parquet, manifests, content types. D8 against Azure's own refusals: a missing container, a wrong
key and a SAS token without write permission each fail the job at once, write nothing, and leave
the download `needs_reconfiguration`. Bad bodies are 400s naming the field that change nothing.
"""

from __future__ import annotations

CLIENT = "object_store-to-azurite"

import hashlib
import io
import json
import os
import re
import subprocess
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from test_download_external import BUSY, DOWNLOADS, PREFIX, assert_failed_needs_reconfiguration, jobs

ROOT = Path(__file__).resolve().parents[2]
AZURITE = Path(os.environ.get("AZURITE_BLOB", ROOT / "clients-tests/azurite/node_modules/.bin/azurite-blob"))
#: Azurite's well-known development account (the same on every installation).
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
#: A well-formed key that is not the account's.
WRONG_KEY = "c2VjcmV0LWJ1dC1ub3QtdGhlLWFjY291bnQncy1rZXktYXQtYWxsLWl0LWlzLWp1c3QtNjQtYnl0ZXMtbG9uZyEhIQ=="


@dataclass
class Azurite:
    """A running Azurite blob service and an SDK client of its development account."""

    account_url: str

    def service(self):
        from azure.storage.blob import BlobServiceClient

        conn = (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={self.account_url};"
        )
        return BlobServiceClient.from_connection_string(conn)

    def container(self, name: str, create: bool = True):
        c = self.service().get_container_client(name)
        if create:
            c.create_container()
        return c

    def sas(self, container: str, permission: str) -> str:
        from azure.storage.blob import ContainerSasPermissions, generate_container_sas

        return generate_container_sas(
            ACCOUNT, container, account_key=ACCOUNT_KEY,
            permission=ContainerSasPermissions.from_string(permission),
            # Wall-clock time: Azurite checks SAS expiry against its own clock, not the mock's.
            expiry=datetime.now(timezone.utc) + timedelta(hours=2),
        )


@pytest.fixture(scope="module")
def azurite(tmp_path_factory):
    assert AZURITE.exists(), f"{AZURITE} is missing: `make azurite` installs it (npm ci in clients-tests/azurite)"
    workdir = tmp_path_factory.mktemp("azurite")
    proc = subprocess.Popen(
        [str(AZURITE), "--blobHost", "127.0.0.1", "--blobPort", "0", "--inMemoryPersistence",
         # No telemetry (it reaches out by default); the SDK may speak a newer API version.
         "--disableTelemetry", "--skipApiVersionCheck"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=workdir,
    )
    lines: list[str] = []
    found = threading.Event()
    url: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            m = re.search(r"successfully listens on (http://\S+)", line)
            if m and not url:
                url.append(m.group(1).rstrip("/"))
                found.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        for _ in range(600):
            if found.wait(0.1) or proc.poll() is not None:
                break
        assert found.is_set(), "Azurite did not start:\n" + "".join(lines)
        yield Azurite(f"{url[0]}/{ACCOUNT}")
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def destination(az: Azurite, container: str, **credential: str) -> dict:
    return {
        "type": "azure_blob",
        "account": ACCOUNT,
        "container": container,
        "prefix": PREFIX,
        "endpoint": az.account_url,
        **(credential or {"access_key": ACCOUNT_KEY}),
    }


def body(dest: dict) -> dict:
    return {
        "category": "telephony",
        "data_types": ["cdr"],
        "format": "parquet",
        "compression": "zstd",
        "schedule": {"frequency": "HOURLY", "offset_minutes": 20},
        "destination": dest,
    }


def create(mock, token: str, dest: dict) -> dict:
    r = mock.post(DOWNLOADS, token, json=body(dest))
    assert r.status_code == 201, r.text
    d = r.json()
    for secret in ("access_key", "sas_token"):
        if secret in dest:
            assert dest[secret] not in r.text, "a secret is never returned"
            assert d["destination"][secret] == "********", d
    return d


def blob_name(az: Azurite, container: str, uri: str) -> str:
    base = f"{az.account_url}/{container}/"
    assert uri.startswith(base), (uri, base)
    return uri[len(base):]


def test_d3_d8_exports_land_in_an_azure_container_as_parquet_with_manifests(mock, azurite):
    container = azurite.container("bi-lake-ok")
    mock.advance(to=BUSY)
    t = mock.tenant("acme")
    token = mock.token(t)
    d = create(mock, token, destination(azurite, "bi-lake-ok"))
    got = mock.get(f"{DOWNLOADS}/{d['id']}", token).json()
    assert got["destination"] == dict(destination(azurite, "bi-lake-ok"), access_key="********"), got

    mock.advance(by="3h")
    token = mock.token(t)
    done = [j for j in jobs(mock, token, d["id"]) if j["status"] == "COMPLETED"]
    assert len(done) >= 2, jobs(mock, token, d["id"])
    assert sum(j["record_count"] for j in done) > 0, done
    for job in done:
        hour = job["interval_start"][11:13]
        folder = f"{PREFIX}cdr/year=2026/month=01/day=05/hour={hour}/"
        [uri] = job["output_files"]
        name = blob_name(azurite, "bi-lake-ok", uri)
        assert name == f"{folder}part-00000.parquet", name
        blob = container.get_blob_client(name)
        data = blob.download_blob().readall()
        assert job["checksums"][uri] == "sha256:" + hashlib.sha256(data).hexdigest()
        assert blob.get_blob_properties().content_settings.content_type == "application/vnd.apache.parquet"
        table = pq.read_table(io.BytesIO(data))
        assert table.num_rows == job["record_counts"]["cdr"] == job["record_count"]

        [muri] = job["manifests"]
        mname = blob_name(azurite, "bi-lake-ok", muri)
        assert mname == f"{folder}_manifest-{job['id']}.json", mname
        manifest = json.loads(container.get_blob_client(mname).download_blob().readall())
        assert manifest["job_id"] == job["id"] and manifest["download_id"] == d["id"]
        assert manifest["files"] == [{"key": name, "sha256": hashlib.sha256(data).hexdigest(), "rows": table.num_rows}]

    names = sorted(b.name for b in container.list_blobs(name_starts_with=PREFIX))
    assert len(names) == 2 * len(done), names
    assert mock.get(f"{DOWNLOADS}/{d['id']}", token).json()["status"] == "active"

    # D7 backfill with overwrite:false: the container already holds part-00000 of the first hour
    # (found by a HEAD on Azure), so the new file takes part-00001 and nothing is replaced.
    first = done[0]
    before = container.get_blob_client(blob_name(azurite, "bi-lake-ok", first["output_files"][0])).get_blob_properties().etag
    r = mock.post(f"{DOWNLOADS}/{d['id']}/manual-export", token, json={
        "category": "telephony", "start_time": first["interval_start"], "end_time": first["interval_end"],
        "overwrite": False,
    })
    assert r.status_code == 202, r.text
    [manual] = r.json()["jobs"]
    mock.advance(by="1h")
    token = mock.token(t)
    manual = mock.get(f"{DOWNLOADS}/{d['id']}/jobs/{manual['id']}", token).json()
    assert manual["status"] == "COMPLETED", manual
    [uri] = manual["output_files"]
    assert blob_name(azurite, "bi-lake-ok", uri).endswith("/part-00001.parquet"), uri
    after = container.get_blob_client(blob_name(azurite, "bi-lake-ok", first["output_files"][0])).get_blob_properties().etag
    assert after == before, "overwrite:false never replaces a blob"


def test_d8_sas_token_with_write_permission_exports(mock, azurite):
    container = azurite.container("bi-lake-sas")
    sas = azurite.sas("bi-lake-sas", "racwdl")
    mock.advance(to=BUSY)
    t = mock.tenant("acme")
    token = mock.token(t)
    d = create(mock, token, destination(azurite, "bi-lake-sas", sas_token=sas))
    mock.advance(by="2h")
    token = mock.token(t)
    done = [j for j in jobs(mock, token, d["id"]) if j["status"] == "COMPLETED"]
    assert done, jobs(mock, token, d["id"])
    for uri in done[0]["output_files"] + done[0]["manifests"]:
        assert container.get_blob_client(blob_name(azurite, "bi-lake-sas", uri)).exists(), uri


def test_d8_read_only_sas_fails_the_job_and_writes_nothing(mock, azurite):
    container = azurite.container("bi-lake-read-only")
    sas = azurite.sas("bi-lake-read-only", "rl")
    t = mock.tenant("acme")
    token = mock.token(t)
    d = create(mock, token, destination(azurite, "bi-lake-read-only", sas_token=sas))
    assert_failed_needs_reconfiguration(mock, t, d["id"], "AuthorizationPermissionMismatch", "'bi-lake-read-only'")
    assert list(container.list_blobs()) == []


def test_d8_missing_container_fails_the_job_and_needs_reconfiguration(mock, azurite):
    t = mock.tenant("acme")
    token = mock.token(t)
    d = create(mock, token, destination(azurite, "no-such-container"))
    job = assert_failed_needs_reconfiguration(
        mock, t, d["id"], "ContainerNotFound", "'no-such-container'", azurite.account_url)
    assert job["error_details"].startswith("destination refused the write"), job
    assert not azurite.container("no-such-container", create=False).exists(), "the platform never creates it"


def test_d8_wrong_key_fails_the_job_and_writes_nothing(mock, azurite):
    container = azurite.container("bi-lake-wrong-key")
    t = mock.tenant("acme")
    token = mock.token(t)
    d = create(mock, token, destination(azurite, "bi-lake-wrong-key", access_key=WRONG_KEY))
    assert_failed_needs_reconfiguration(mock, t, d["id"], "AuthorizationFailure", "'bi-lake-wrong-key'")
    assert list(container.list_blobs()) == []


BAD = [
    ({"container": None}, "destination.container"),
    ({"container": "BI_Lake"}, "destination.container"),
    ({"container": "bi--lake"}, "destination.container"),
    ({"account": None}, "destination.account"),
    ({"account": "Dev-Store"}, "destination.account"),
    ({"bucket": "bi-lake"}, "destination.bucket"),
    ({"access_key_id": "AKID"}, "destination.access_key_id"),
    ({"region": "westeurope"}, "destination.region"),
    ({"access_key": None}, "exactly one of access_key and sas_token"),
    ({"sas_token": "sv=2023-11-03&sig=abc"}, "exactly one of access_key and sas_token"),
    ({"access_key": "not base64!"}, "destination.access_key"),
    ({"access_key": None, "sas_token": "sp=rl"}, "destination.sas_token"),
    ({"endpoint": "127.0.0.1:10000/devstoreaccount1"}, "destination.endpoint"),
    ({"connection_string": "UseDevelopmentStorage=true"}, "connection_string"),
]


@pytest.mark.parametrize("change,needle", BAD, ids=[b[1].split()[-1] + "-" + str(i) for i, b in enumerate(BAD)])
def test_bad_azure_destination_is_400_and_creates_nothing(mock, azurite, change, needle):
    t = mock.tenant("acme")
    token = mock.token(t)
    dest = destination(azurite, "bi-lake")
    for k, v in change.items():
        if v is None:
            dest.pop(k)
        else:
            dest[k] = v
    r = mock.post(DOWNLOADS, token, json=body(dest))
    assert r.status_code == 400, r.text
    assert needle in r.text, r.text
    assert ACCOUNT_KEY not in r.text
    assert mock.get(DOWNLOADS, token).json() == {"data_downloads": []}


def test_unknown_destination_type_names_both_types(mock):
    t = mock.tenant("acme")
    token = mock.token(t)
    r = mock.post(DOWNLOADS, token, json=body({"type": "gcs", "bucket": "bi-lake"}))
    assert r.status_code == 400, r.text
    message = r.json()["error"]["message"]
    assert '"gcs"' in message and '"aws_s3"' in message and '"azure_blob"' in message, message


def doc_azure_destinations() -> list[dict]:
    from test_destinations_recipe import doc_destinations

    return doc_destinations("azure_blob")


def test_the_docs_azure_destinations_export_as_written(mock, azurite):
    """docs/destinations.md's `azure_blob` blocks, with Azurite's endpoint and secrets swapped in."""
    docs = doc_azure_destinations()
    assert {("access_key" in d, "sas_token" in d) for d in docs} == {(True, False), (False, True)}, docs
    mock.advance(to=BUSY)
    t = mock.tenant("acme")
    for i, doc in enumerate(docs):
        name = f"{doc['container']}-{i}"
        container = azurite.container(name)
        dest = dict(doc, account=ACCOUNT, container=name, endpoint=azurite.account_url)
        if "access_key" in dest:
            dest["access_key"] = ACCOUNT_KEY
        else:
            dest["sas_token"] = azurite.sas(name, "racwdl")
        d = create(mock, mock.token(t), dest)
        mock.advance(by="2h")
        done = [j for j in jobs(mock, mock.token(t), d["id"]) if j["status"] == "COMPLETED"]
        assert done, jobs(mock, mock.token(t), d["id"])
        names = {b.name for b in container.list_blobs()}
        for job in done:
            for uri in job["output_files"] + job["manifests"]:
                assert blob_name(azurite, name, uri) in names, (uri, names)
                assert blob_name(azurite, name, uri).startswith(doc["prefix"] + "cdr/"), uri


def test_d8_tampered_sas_signature_fails_the_job(mock, azurite):
    container = azurite.container("bi-lake-bad-sig")
    sas = re.sub(r"sig=[^&]+", "sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D", azurite.sas("bi-lake-bad-sig", "racwdl"))
    t = mock.tenant("acme")
    token = mock.token(t)
    d = create(mock, token, destination(azurite, "bi-lake-bad-sig", sas_token=sas))
    # Azurite's code for a signature that does not match (Azure's own is AuthenticationFailed):
    # the store's code is passed through, whatever it is.
    assert_failed_needs_reconfiguration(mock, t, d["id"], "AuthorizationFailure", "'bi-lake-bad-sig'")
    assert list(container.list_blobs()) == []


def test_d8_destination_rejects_write_fault_speaks_azure(mock, azurite):
    """The fault's default refusal on an Azure destination is Azure's, and nothing is written."""
    container = azurite.container("bi-lake-fault")
    mock.advance(to=BUSY)
    t = mock.tenant("acme")
    d = create(mock, mock.token(t), destination(azurite, "bi-lake-fault"))
    mock.control("/_mock/faults", {"kind": "destination_rejects_write", "download_id": d["id"], "next_jobs": 1},
                 expect=201)
    job = assert_failed_needs_reconfiguration(
        mock, t, d["id"], "AuthorizationPermissionMismatch", "container 'bi-lake-fault'")
    assert "bucket" not in job["error_details"], job
    assert list(container.list_blobs()) == []


def test_d8_a_broken_endpoint_fails_the_job_without_leaking_the_sas(mock, azurite):
    """An endpoint that accepts connections and drops them: the client's error names the URL,
    whose query is the SAS token; the job's error_details (readable by anyone with the jobs API)
    must not carry it."""
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    stop = threading.Event()

    def drop() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            conn.close()

    threading.Thread(target=drop, daemon=True).start()
    try:
        port = server.getsockname()[1]
        sas = azurite.sas("bi-lake-dropped", "racwdl")
        dest = dict(destination(azurite, "bi-lake-dropped", sas_token=sas),
                    endpoint=f"http://127.0.0.1:{port}/{ACCOUNT}")
        t = mock.tenant("acme")
        d = create(mock, mock.token(t), dest)
        job = assert_failed_needs_reconfiguration(mock, t, d["id"], "'bi-lake-dropped'")
        details = job["error_details"]
        sig = re.search(r"sig=([^&]+)", sas).group(1)
        assert "sig=" not in details and sig not in details, details
        # No wall-clock timing either: error_details is decided by the seed and the clock steps.
        assert not re.search(r" in [0-9.]+(ns|µs|ms|s)\b", details), details
        r = mock.get(f"{DOWNLOADS}/{d['id']}/jobs", mock.token(t))
        assert sig not in r.text and "sig=" not in r.text
    finally:
        stop.set()
        server.close()
