"""Ingestion pipelines for CXone Data Download (docs/pipeline.md): `ReferencePipeline` (the
guide's pattern, correct under every fault the mock injects) and `NaivePipeline` (trusts file
presence), both loading into DuckDB; `compare` checks a table against GET /_mock/truth."""

from .compare import Diff, diff, line, table_records
from .cxone import CxoneApi, DataLake, ServiceUnavailable
from .naive import NaivePipeline
from .reference import ReferencePipeline, Settings
from .warehouse import Warehouse

__all__ = ["CxoneApi", "DataLake", "Diff", "NaivePipeline", "ReferencePipeline", "ServiceUnavailable",
           "Settings", "Warehouse", "diff", "line", "table_records"]
