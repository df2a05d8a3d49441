"""Comparing a warehouse table with `GET /_mock/truth` (docs/truth.md).

Both sides are rendered as the truth's **canonical lines**: a JSON object per record with keys
sorted, no whitespace, timestamps RFC3339 UTC with exactly six fractional digits and `Z`, int64 as
integers, doubles as Python floats, booleans, nulls as null. The reference pipeline must produce the
same multiset of lines; the naive pipeline's difference is classified.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .warehouse import Warehouse, q


def render(v: Any) -> Any:
    if isinstance(v, datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=timezone.utc)
        return v.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return v


def line(record: dict[str, Any]) -> str:
    return json.dumps({k: render(v) for k, v in record.items()}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)


def key_of(record: dict[str, Any], key_columns: list[str]) -> tuple:
    return tuple(render(record.get(k)) for k in key_columns)


def table_records(wh: Warehouse, table: str, event_time_column: str, start: str, end: str) -> list[dict[str, Any]]:
    """The table's rows whose event time is in [start, end) (RFC3339 instants)."""
    return wh.rows(table, f"WHERE {q(event_time_column)} >= CAST(? AS TIMESTAMPTZ) "
                          f"AND {q(event_time_column)} < CAST(? AS TIMESTAMPTZ)",
                   [start.replace("Z", "+00:00"), end.replace("Z", "+00:00")])


@dataclass
class Diff:
    truth_rows: int
    rows: int
    distinct_keys: int
    #: rows - distinct keys
    duplicates: int
    #: keys present (and in the truth) with at least one row that is not the truth's line
    stale: int
    #: keys of the truth the table lacks
    missing: int
    #: keys the table has and the truth does not
    extra: int
    equal: bool
    examples: list[str] = field(default_factory=list)

    def kinds(self) -> set[str]:
        return {k for k in ("duplicates", "stale", "missing", "extra") if getattr(self, k)}

    def compact(self) -> str:
        """Only the non-zero differences: "151 duplicate rows, 151 stale"."""
        parts = [f"{self.duplicates} duplicate rows" if self.duplicates else "",
                 f"{self.stale} stale" if self.stale else "",
                 f"{self.missing} missing" if self.missing else "",
                 f"{self.extra} extra" if self.extra else ""]
        return ", ".join(p for p in parts if p) or "equal"

    def short(self) -> str:
        if self.equal:
            return f"equal ({self.rows} rows)"
        return (f"{self.rows} rows vs truth {self.truth_rows}: {self.duplicates} duplicate rows, "
                f"{self.stale} stale/wrong keys, {self.missing} missing keys, {self.extra} extra keys")


def diff(truth: list[dict[str, Any]], rows: list[dict[str, Any]], key_columns: list[str], examples: int = 3,
         event_time_column: str | None = None) -> Diff:
    t_lines = {key_of(r, key_columns): line(r) for r in truth}
    mine: dict[tuple, list[str]] = {}
    for r in rows:
        mine.setdefault(key_of(r, key_columns), []).append(line(r))
    equal = Counter(t_lines.values()) == Counter(ln for ls in mine.values() for ln in ls)
    stale_keys = [k for k, ls in mine.items() if k in t_lines and any(ln != t_lines[k] for ln in ls)]
    missing = [k for k in t_lines if k not in mine]
    extra = [k for k in mine if k not in t_lines]
    ex: list[str] = []
    for k in stale_keys[:examples]:
        want = json.loads(t_lines[k])
        for ln in mine[k]:
            got = json.loads(ln)
            # Compared as rendered (1 vs 1.0, -0.0 vs 0.0 differ in a line but not under ==).
            cols = sorted(c for c in set(want) | set(got)
                          if json.dumps(want.get(c, "<absent>")) != json.dumps(got.get(c, "<absent>")))
            if cols:
                at = f" (event time {want.get(event_time_column)})" if event_time_column else ""
                ex.append(f"key {k}{at}: columns {cols}: truth {[want.get(c, '<absent>') for c in cols]} "
                          f"table {[got.get(c, '<absent>') for c in cols]}")
    ex += [f"missing key {k}" for k in missing[:examples]]
    ex += [f"extra key {k}" for k in extra[:examples]]
    n_rows = sum(len(v) for v in mine.values())
    return Diff(truth_rows=len(t_lines), rows=n_rows, distinct_keys=len(mine), duplicates=n_rows - len(mine),
                stale=len(stale_keys), missing=len(missing), extra=len(extra), equal=equal, examples=ex)
