"""Decoding an exported file (Parquet or CSV) into an Arrow table."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

ARROW_TYPES = {
    "string": pa.string(),
    "int64": pa.int64(),
    "integer": pa.int64(),
    "double": pa.float64(),
    "float64": pa.float64(),
    "boolean": pa.bool_(),
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}


def decode(data: bytes, key: str, declared: dict[str, str] | None = None) -> pa.Table:
    """A Parquet file as written; a CSV file typed from the declared schema (`GET .../schemas`
    column types) where it names a column, inferred otherwise (added columns)."""
    if key.endswith(".parquet"):
        return pq.read_table(pa.BufferReader(data))
    if key.endswith(".csv"):
        types = {c: ARROW_TYPES[t] for c, t in (declared or {}).items() if t in ARROW_TYPES}
        opts = pacsv.ConvertOptions(column_types=types, strings_can_be_null=True,
                                    quoted_strings_can_be_null=False)
        return pacsv.read_csv(io.BytesIO(data), convert_options=opts)
    raise ValueError(f"not a data file: {key}")
