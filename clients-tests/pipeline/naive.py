"""The naive pipeline: what the guide warns against, for contrast.

It trusts file presence. Each poll lists every object under each download's prefix with boto3
(no jobs API), reads every `*.parquet` / `*.csv` key it has not read before (by key; manifests are
skipped), and appends every row to a table per data type (union by name). A file that cannot be
read or decoded is logged and skipped forever. Its data-lake credential is issued once.

What goes wrong, by fault: late versions (F2) and duplicate partitions (F3) pile up as duplicate
rows, stale versions stay beside the new ones; partial files read while a job runs (F4) are never
re-read when the complete file replaces them; failed, timed-out and refused jobs (F5, D8) leave
holes nobody backfills; a corrupted file (F11) is either undecodable (skipped: a hole) or loaded
with a wrong value; files written after a KMS rotation (F9) are unreadable forever.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from botocore.exceptions import ClientError

from .cxone import CxoneApi, DataLake, utcnow
from .files import decode
from .warehouse import DECLARED_TYPES, Warehouse

log = logging.getLogger("pipeline.naive")


class NaivePipeline:
    def __init__(self, api_url: str, client_id: str, client_secret: str, warehouse: str | Path,
                 clock: Callable[[], datetime] = utcnow, session=None):
        self.clock = clock
        self.api = CxoneApi(api_url, client_id, client_secret, clock=clock, session=session)
        # One credential, never renewed: what a copy-pasted access key does.
        self.lake = DataLake(self.api, refresh_on_kms_denial=False)
        self.wh = Warehouse(warehouse)
        self._seen: set[str] = {r[0] for r in self.wh.con.execute("SELECT key FROM naive_files").fetchall()}
        # The downloads to read, found once: (download id, category, data types, bucket, prefix).
        self._targets: list[dict[str, Any]] | None = None
        self._schemas: dict[str, Any] | None = None

    def close(self) -> None:
        self.wh.close()

    def setup(self) -> None:
        """Reads the downloads' bucket and prefix (and the declared schemas) once, and issues
        the one data-lake credential."""
        self._schemas = self.api.schemas()
        self._targets = self.api.downloads()
        for d in self._targets:
            types = self._schemas[d["category"]]["data_types"]
            for dt in d["data_types"]:
                s = types[dt]
                cols = [(c["name"], DECLARED_TYPES.get(c["type"], "VARCHAR")) for c in s["columns"]]
                self.wh.register_table(d["id"], d["category"], dt, cols, s["key_columns"], s["event_time_column"])
        self.lake.renew()

    def poll(self) -> int:
        """Reads every new data file; returns how many were read."""
        if self._targets is None:
            self.setup()
        assert self._targets is not None and self._schemas is not None
        now = self.clock()
        n = 0
        for d in self._targets:
            bucket, prefix = d["destination"]["bucket"], d["destination"].get("prefix", "")
            try:
                keys = self.lake.list_keys(bucket, prefix)
            except ClientError as e:
                # The platform creates the bucket with the first export: nothing to read yet.
                if e.response.get("Error", {}).get("Code") == "NoSuchBucket":
                    continue
                raise
            for key in keys:
                if key in self._seen or not (key.endswith(".parquet") or key.endswith(".csv")):
                    continue
                self._seen.add(key)
                dt = key[len(prefix):].split("/", 1)[0]
                table = self.wh.table_for(d["id"], dt)
                try:
                    if table is None:
                        raise ValueError(f"unknown data type folder {dt!r}")
                    cols = {c["name"]: c["type"]
                            for c in self._schemas[d["category"]]["data_types"][dt]["columns"]}
                    t = decode(self.lake.get(bucket, key), key, cols)
                    self.wh.append(table, t)
                except Exception as e:  # noqa: BLE001 - the naive pipeline logs and moves on
                    log.warning("skipping %s forever: %s", key, e)
                    self.wh.con.execute("INSERT INTO naive_files VALUES (?, ?, ?, 'failed', 0, ?, ?)",
                                        [key, bucket, dt, now, str(e)[:500]])
                    continue
                self.wh.con.execute("INSERT INTO naive_files VALUES (?, ?, ?, 'read', ?, ?, NULL)",
                                    [key, bucket, dt, t.num_rows, now])
                n += 1
        return n

    def failed_files(self) -> list[str]:
        return [r[0] for r in self.wh.con.execute("SELECT key FROM naive_files WHERE status = 'failed'").fetchall()]
