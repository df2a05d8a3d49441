"""The warehouse: one DuckDB file per pipeline run.

Data tables are named `<category>__<data type>` (`telephony__cdr`), with `__<n>` appended when a
second download of the same category exists; `pipeline_tables` maps (download, data type) to the
table. Two ways to load a file into a table:

- `merge` (the reference pipeline): the guide's idempotent MERGE — upsert on the data type's key
  columns, keeping the row with the newest `last_update_time` (ties keep the existing row);
- `append` (the naive pipeline): INSERT every row.

Both evolve the table first (`evolve`: ALTER TABLE ADD COLUMN for columns a file has and the table
lacks, typed from the file) and read columns a file lacks as NULL — a column is never dropped.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable

import duckdb
import pyarrow as pa
import pyarrow.compute  # noqa: F401 - pa.compute

#: Column types of `GET /api/v2/data-downloads/schemas` → DuckDB.
DECLARED_TYPES = {
    "string": "VARCHAR",
    "int64": "BIGINT",
    "integer": "BIGINT",
    "double": "DOUBLE",
    "float64": "DOUBLE",
    "boolean": "BOOLEAN",
    "bool": "BOOLEAN",
    "timestamp": "TIMESTAMPTZ",
}


def arrow_to_duckdb(t: pa.DataType) -> str:
    """The DuckDB type for a column of a file."""
    if pa.types.is_timestamp(t):
        return "TIMESTAMPTZ" if t.tz else "TIMESTAMP"
    if pa.types.is_integer(t):
        return "BIGINT"
    if pa.types.is_floating(t):
        return "DOUBLE"
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    if pa.types.is_date(t):
        return "DATE"
    return "VARCHAR"


def newest_per_key(data: pa.Table, key_columns: list[str], version_column: str) -> pa.Table:
    """`data` with one row per key: the one with the greatest `version_column` (first on ties)."""
    if data.num_rows < 2 or data.group_by(key_columns).aggregate([]).num_rows == data.num_rows:
        return data
    order = pa.compute.sort_indices(data, sort_keys=[(version_column, "descending")])
    seen, keep = set(), []
    keys = [data.column(k).to_pylist() for k in key_columns]
    for i in order.to_pylist():
        k = tuple(col[i] for col in keys)
        if k not in seen:
            seen.add(k)
            keep.append(i)
    return data.take(sorted(keep))


def q(name: str) -> str:
    """A quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


def ident(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", s)


STATE_DDL = """
CREATE TABLE IF NOT EXISTS pipeline_tables (
    download_id VARCHAR, data_type VARCHAR, table_name VARCHAR,
    key_columns VARCHAR[], event_time_column VARCHAR, PRIMARY KEY (download_id, data_type));
CREATE TABLE IF NOT EXISTS ingested_jobs (
    job_id VARCHAR PRIMARY KEY, download_id VARCHAR, kind VARCHAR,
    interval_start TIMESTAMPTZ, interval_end TIMESTAMPTZ,
    outcome VARCHAR,            -- ingested | checksum_mismatch | unreadable
    files INTEGER, rows BIGINT, count_ok BOOLEAN, recorded_at TIMESTAMPTZ, detail VARCHAR);
CREATE TABLE IF NOT EXISTS file_audit (
    job_id VARCHAR, uri VARCHAR, data_type VARCHAR, sha256 VARCHAR, expected_sha256 VARCHAR,
    rows BIGINT, recorded_at TIMESTAMPTZ);
CREATE TABLE IF NOT EXISTS job_log (
    recorded_at TIMESTAMPTZ, download_id VARCHAR, job_id VARCHAR, kind VARCHAR,
    interval_start TIMESTAMPTZ, status VARCHAR, error_details VARCHAR);
CREATE TABLE IF NOT EXISTS watermarks (
    download_id VARCHAR PRIMARY KEY, watermark TIMESTAMPTZ, updated_at TIMESTAMPTZ);
CREATE TABLE IF NOT EXISTS alerts (
    recorded_at TIMESTAMPTZ, download_id VARCHAR, job_id VARCHAR, kind VARCHAR, severity VARCHAR, detail VARCHAR);
CREATE TABLE IF NOT EXISTS backfills (
    recorded_at TIMESTAMPTZ, download_id VARCHAR, interval_start TIMESTAMPTZ, interval_end TIMESTAMPTZ,
    reason VARCHAR, job_id VARCHAR, destination_prefix VARCHAR);
CREATE TABLE IF NOT EXISTS reconciliations (
    download_id VARCHAR, day DATE, recorded_at TIMESTAMPTZ, intervals INTEGER, missing INTEGER,
    count_mismatches INTEGER, PRIMARY KEY (download_id, day));
CREATE TABLE IF NOT EXISTS naive_files (
    key VARCHAR PRIMARY KEY, bucket VARCHAR, data_type VARCHAR, status VARCHAR, rows BIGINT,
    recorded_at TIMESTAMPTZ, error VARCHAR);
"""


class Warehouse:
    def __init__(self, path: str | Path):
        self.path = str(path)
        self.con = duckdb.connect(self.path)
        self.con.execute("SET TimeZone = 'UTC'")
        # Files are small (one interval of one data type): one thread plans and runs a MERGE
        # about twice as fast as several, and leaves the other cores to whatever else runs.
        self.con.execute("SET threads = 1")
        self.con.execute(STATE_DDL)
        # Caches of the catalog (this process is the only writer of the file).
        self._tables: dict[tuple[str, str], str] = {
            (r[0], r[1]): r[2] for r in self.con.execute(
                "SELECT download_id, data_type, table_name FROM pipeline_tables").fetchall()}
        self._types: dict[str, dict[str, str]] = {}

    def close(self) -> None:
        self.con.close()

    # -- tables -------------------------------------------------------------------------------
    def table_for(self, download_id: str, data_type: str) -> str | None:
        return self._tables.get((download_id, data_type))

    def register_table(self, download_id: str, category: str, data_type: str,
                       columns: Iterable[tuple[str, str]], key_columns: list[str], event_time_column: str) -> str:
        """Creates the data type's table (declared columns) if this download has none yet."""
        existing = self.table_for(download_id, data_type)
        if existing:
            return existing
        base = f"{ident(category)}__{ident(data_type)}"
        name, n = base, 1
        while name in self._tables.values():
            n += 1
            name = f"{base}__{n}"
        cols = ", ".join(f"{q(c)} {t}" for c, t in columns)
        self.con.execute(f"CREATE TABLE IF NOT EXISTS {q(name)} ({cols})")
        self.con.execute("INSERT INTO pipeline_tables VALUES (?, ?, ?, ?, ?)",
                         [download_id, data_type, name, key_columns, event_time_column])
        self._tables[(download_id, data_type)] = name
        return name

    def columns(self, table: str) -> list[str]:
        return list(self.column_types(table))

    def column_types(self, table: str) -> dict[str, str]:
        """Column name → type, in table order."""
        if table not in self._types:
            self._types[table] = {r[0]: r[1] for r in self.con.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
                "ORDER BY ordinal_position", [table]).fetchall()}
        return self._types[table]

    def evolve(self, table: str, schema: pa.Schema) -> list[str]:
        """Adds (nullable) every column of `schema` the table lacks; returns their names."""
        have = set(self.columns(table))
        added = []
        for f in schema:
            if f.name not in have and not pa.types.is_null(f.type):
                self.con.execute(f"ALTER TABLE {q(table)} ADD COLUMN {q(f.name)} {arrow_to_duckdb(f.type)}")
                added.append(f.name)
        if added:
            self._types.pop(table, None)
        return added

    def _aligned_select(self, table: str, view: str, file_columns: set[str]) -> str:
        """SELECT of the table's columns from a file view: the file's value cast to the table's
        type, NULL for a column the file lacks (stripped Parquet columns, pre-drift files)."""
        parts = []
        for c, t in self.column_types(table).items():
            parts.append(f"CAST({q(c)} AS {t}) AS {q(c)}" if c in file_columns else f"CAST(NULL AS {t}) AS {q(c)}")
        return f"SELECT {', '.join(parts)} FROM {view}"

    # -- loading ------------------------------------------------------------------------------
    def merge(self, table: str, data: pa.Table, key_columns: list[str], version_column: str = "last_update_time") -> None:
        """Upserts `data` into `table` on `key_columns`: a key not there is inserted; an existing
        row is replaced only by a row with a strictly newer `version_column` (ties keep it).

        The semantics of the guide's MERGE, written as DELETE + INSERT: DuckDB 1.5's MERGE/UPDATE
        leaves 0.0 in place when the new value is -0.0 (equal as floats) and a window (QUALIFY)
        source turns -0.0 into 0.0, while the export and the truth keep -0.0 (a sentiment score
        rounded to -0.0)."""
        self.evolve(table, data.schema)
        view = "_merge_src"
        # A file never holds two versions of a key, but keep only the newest if one ever does.
        data = newest_per_key(data, key_columns, version_column)
        source = f"({self._aligned_select(table, view, set(data.column_names))})"
        match = " AND ".join(f"t.{q(k)} = s.{q(k)}" for k in key_columns)
        self.con.register(view, data)
        try:
            self.con.execute(f"DELETE FROM {q(table)} AS t USING {source} AS s "
                             f"WHERE {match} AND s.{q(version_column)} > t.{q(version_column)}")
            self.con.execute(f"INSERT INTO {q(table)} SELECT * FROM {source} AS s "
                             f"WHERE NOT EXISTS (SELECT 1 FROM {q(table)} AS t WHERE {match})")
        finally:
            self.con.unregister(view)

    def append(self, table: str, data: pa.Table) -> None:
        """INSERT every row of `data` (union by name; columns it lacks are NULL)."""
        self.evolve(table, data.schema)
        view = "_append_src"
        self.con.register(view, data)
        try:
            self.con.execute(f"INSERT INTO {q(table)} {self._aligned_select(table, view, set(data.column_names))}")
        finally:
            self.con.unregister(view)

    # -- reading ------------------------------------------------------------------------------
    def rows(self, table: str, where: str = "", params: list[Any] | None = None) -> list[dict[str, Any]]:
        r = self.con.execute(f"SELECT * FROM {q(table)} {where}", params or [])
        return r.to_arrow_table().to_pylist()

    def scalar(self, sql: str, params: list[Any] | None = None) -> Any:
        row = self.con.execute(sql, params or []).fetchone()
        return row[0] if row else None
