"""The reference ingestion pipeline: the guide's pattern (seeds/002, sections 3 and 4), made to
survive every fault the mock injects. Drive it with `poll()` from a scheduler (every few minutes);
each poll does a bounded amount of work and keeps all its state in the DuckDB warehouse, so a
crash or a skipped poll loses nothing.

One poll, for each Data Download of the tenant:

1. a download that `needs_reconfiguration` (D8) is alerted on and resumed with a PUT of its own
   configuration (after whoever owns the bucket policy fixed it); its missed intervals are then
   backfilled like any other gap;
2. its jobs are listed (every page); state transitions go to `job_log` (the audit trail), FAILED /
   TIMED_OUT jobs raise an alert (F5);
3. every COMPLETED job not ingested yet is ingested once — the job id is the delivery identity, so
   duplicate manifests and partitions (F3) and placeholder or partial files (F4) are never read:
   only the job's `output_files`, each checked against the job's `checksums` and its manifest's
   `sha256` (F11: a mismatching job is not ingested and its interval is backfilled), its row
   counts against `record_counts` with the guide's 5% tolerance (F8: alert, still ingested), then
   MERGEd on the key columns keeping the newest `last_update_time` (F1, F2), evolving the table for
   new columns and reading missing ones as NULL (F6, D3); a KMS denial (F9) renews the data-lake
   credential once;
4. gaps are backfilled with `POST .../manual-export` into `backfill/<prefix>`: an interval whose
   job FAILED / TIMED_OUT / failed its checksum at once, an interval with no COMPLETED job once it
   is older than the grace period (6 h after its end: covers speech's 45-90 min lag, category lag
   F7 and held jobs F10) — never while a job for it is PENDING or RUNNING;
5. the watermark (the contiguous `interval_end` up to which every interval is ingested) moves;
6. once per mock day (at 06:00 UTC) the previous day is reconciled: every interval must hold an
   ingested, checksum-valid job with counts in tolerance; what does not is backfilled.

A 503 from the API (maintenance window, F10) ends the poll early; the next poll picks up where
this one stopped. Nothing here sleeps: time is whatever `clock()` says.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

import pyarrow as pa
from botocore.exceptions import ClientError

from .cxone import CxoneApi, DataLake, ServiceUnavailable, fmt_time, parse_time, sha256_hex, split_uri, utcnow
from .files import decode
from .warehouse import DECLARED_TYPES, Warehouse

log = logging.getLogger("pipeline.reference")

FREQUENCY = {"HOURLY": timedelta(hours=1), "SIX_HOURLY": timedelta(hours=6), "DAILY": timedelta(days=1)}
IN_FLIGHT = ("PENDING", "RUNNING")
FAILED = ("FAILED", "TIMED_OUT")
#: Fields of a download that make up its configuration (the body of POST/PUT).
CONFIG_FIELDS = ("name", "category", "data_types", "format", "compression", "partitioning", "schedule",
                 "destination", "retention")


@dataclass
class Settings:
    #: An interval with no COMPLETED job this long after its end is missing.
    grace: timedelta = timedelta(hours=6)
    #: The guide's record-count tolerance.
    tolerance: float = 0.05
    #: Backfills go to `<backfill_root><download prefix>`.
    backfill_root: str = "backfill/"
    #: Time of day (UTC) of the daily late-data reconciliation of the previous day.
    reconcile_at: timedelta = timedelta(hours=6)
    #: Give up (and alert) after this many backfills of one interval.
    max_backfills: int = 3
    #: Retry a COMPLETED job whose files cannot be read this many polls before backfilling it.
    max_read_attempts: int = 3


@dataclass
class PollResult:
    at: datetime
    skipped: str | None = None
    ingested: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    backfills: list[tuple[str, str, str]] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    reconciled: list[tuple[str, str]] = field(default_factory=list)


def align_up(t: datetime, step: timedelta) -> datetime:
    """The first interval start at or after `t` (intervals are aligned to UTC midnight)."""
    midnight = t.replace(hour=0, minute=0, second=0, microsecond=0)
    n = -(-(t - midnight) // step)
    return midnight + n * step


class ReferencePipeline:
    def __init__(self, api_url: str, client_id: str, client_secret: str, warehouse: str | Path,
                 clock: Callable[[], datetime] = utcnow, settings: Settings | None = None,
                 session=None):
        self.clock = clock
        self.settings = settings or Settings()
        self.api = CxoneApi(api_url, client_id, client_secret, clock=clock, session=session)
        self.lake = DataLake(self.api)
        self.wh = Warehouse(warehouse)
        self._schemas: dict[str, Any] | None = None
        # In-memory views of the state tables (rebuilt from them on start).
        self._final: set[str] = set()             # jobs decided: ingested or rejected
        self._covered: dict[str, set[datetime]] = {}
        self._count_ok: dict[tuple[str, datetime], bool] = {}
        self._status: dict[str, str] = {}
        self._read_attempts: dict[str, int] = {}
        self._backfilled: dict[tuple[str, datetime], int] = {}
        self._gave_up: set[tuple[str, datetime]] = set()
        self._reconciled: set[tuple[str, str]] = set()
        self._jobs: dict[str, list[dict[str, Any]]] = {}
        self._downloads: dict[str, dict[str, Any]] = {}
        self._load_state()

    def close(self) -> None:
        self.wh.close()

    # -- state ---------------------------------------------------------------------------------
    def _load_state(self) -> None:
        con = self.wh.con
        for job_id, did, start, outcome, count_ok in con.execute(
                "SELECT job_id, download_id, strftime(interval_start, '%Y-%m-%dT%H:%M:%SZ'), outcome, count_ok "
                "FROM ingested_jobs").fetchall():
            self._final.add(job_id)
            if outcome == "ingested":
                s = parse_time(start)
                self._covered.setdefault(did, set()).add(s)
                self._count_ok[(did, s)] = self._count_ok.get((did, s), False) or bool(count_ok)
        for did, start, n in con.execute(
                "SELECT download_id, strftime(interval_start, '%Y-%m-%dT%H:%M:%SZ'), count(*) FROM backfills "
                "GROUP BY ALL").fetchall():
            self._backfilled[(did, parse_time(start))] = n
        for did, day in con.execute("SELECT download_id, CAST(day AS VARCHAR) FROM reconciliations").fetchall():
            self._reconciled.add((did, day))
        for job_id, status in con.execute(
                "SELECT job_id, last(status ORDER BY recorded_at) FROM job_log GROUP BY job_id").fetchall():
            self._status[job_id] = status

    def _alert(self, at: datetime, download_id: str | None, job_id: str | None, kind: str, severity: str,
               detail: str) -> None:
        log.warning("%s %s %s %s: %s", severity, kind, download_id, job_id, detail)
        self.wh.con.execute("INSERT INTO alerts VALUES (?, ?, ?, ?, ?, ?)",
                            [at, download_id, job_id, kind, severity, detail])

    def alerts(self) -> list[dict[str, Any]]:
        return self.wh.con.execute(
            "SELECT strftime(recorded_at, '%Y-%m-%dT%H:%M:%SZ') AS at, download_id, job_id, kind, severity, detail "
            "FROM alerts ORDER BY rowid").to_arrow_table().to_pylist()

    # -- the poll ------------------------------------------------------------------------------
    def poll(self) -> PollResult:
        now = self.clock()
        res = PollResult(at=now)
        try:
            if self._schemas is None:
                self._schemas = self.api.schemas()
            for d in self.api.downloads():
                self._downloads[d["id"]] = d
                self._poll_download(d, now, res)
        except ServiceUnavailable as e:
            # Maintenance (F10): not "no data", not a failure — come back on the next poll.
            res.skipped = str(e)
            self._alert(now, None, None, "api_unavailable", "info", str(e))
        return res

    def _poll_download(self, d: dict[str, Any], now: datetime, res: PollResult) -> None:
        did = d["id"]
        self._register_tables(d)
        if d["status"] == "needs_reconfiguration":
            # D8: the platform will not retry and has no staging buffer. A human fixes the
            # destination; then a PUT of the same configuration resumes the schedule and the
            # missed intervals are backfilled below.
            self._alert(now, did, None, "needs_reconfiguration", "error", str(d.get("status_reason")))
            self.api.put_download(did, self.config_body(d))
            self._alert(now, did, None, "download_resumed", "info", "PUT of its own configuration")
            res.resumed.append(did)
        jobs = self.api.jobs(did)
        self._jobs[did] = jobs
        self._log_transitions(did, jobs, now)
        for job in jobs:
            if job["status"] == "COMPLETED" and job["id"] not in self._final:
                self._ingest(d, job, now, res)
        self._backfill(d, jobs, now, res)
        self._update_watermark(d, now)
        self._reconcile(d, jobs, now, res)

    @staticmethod
    def config_body(d: dict[str, Any]) -> dict[str, Any]:
        return {k: d[k] for k in CONFIG_FIELDS if d.get(k) is not None}

    def _register_tables(self, d: dict[str, Any]) -> None:
        assert self._schemas is not None
        types = self._schemas[d["category"]]["data_types"]
        for dt in d["data_types"]:
            s = types[dt]
            cols = [(c["name"], DECLARED_TYPES.get(c["type"], "VARCHAR")) for c in s["columns"]]
            self.wh.register_table(d["id"], d["category"], dt, cols, s["key_columns"], s["event_time_column"])

    def _log_transitions(self, did: str, jobs: list[dict[str, Any]], now: datetime) -> None:
        for job in jobs:
            if self._status.get(job["id"]) == job["status"]:
                continue
            self._status[job["id"]] = job["status"]
            self.wh.con.execute("INSERT INTO job_log VALUES (?, ?, ?, ?, ?, ?, ?)",
                                [now, did, job["id"], job.get("kind"), parse_time(job["interval_start"]),
                                 job["status"], job.get("error_details")])
            if job["status"] in FAILED:
                self._alert(now, did, job["id"], f"job_{job['status'].lower()}", "error",
                            f"{job['interval_start']}: {job.get('error_details')}")

    # -- ingestion -----------------------------------------------------------------------------
    def _data_type_of(self, d: dict[str, Any], key: str) -> str | None:
        for seg in reversed(key.split("/")[:-1]):
            if seg in d["data_types"]:
                return seg
        return None

    def _ingest(self, d: dict[str, Any], job: dict[str, Any], now: datetime, res: PollResult) -> None:
        did, job_id = d["id"], job["id"]
        start, end = parse_time(job["interval_start"]), parse_time(job["interval_end"])
        problems: list[tuple[str, str]] = []
        audit: list[list[Any]] = []
        # The manifests the job lists (never the bucket's other `_manifest-*` objects, F3/F4).
        listed: dict[str, tuple[str, str, int]] = {}
        manifest_counts: dict[str, int] = {}
        issued = self.lake.credentials_issued
        try:
            for m_uri in job.get("manifests", []):
                b, k = split_uri(m_uri)
                m = json.loads(self.lake.get(b, k))
                if m.get("job_id") != job_id:
                    problems.append(("manifest_mismatch", f"{m_uri} names job {m.get('job_id')}"))
                    continue
                manifest_counts[m["data_type"]] = m.get("record_count", 0)
                for f in m.get("files", []):
                    uri = f["key"] if f["key"].startswith("s3://") else f"s3://{b}/{f['key']}"
                    listed[uri] = (m["data_type"], f.get("sha256", "").removeprefix("sha256:"), f.get("rows"))
            tables: dict[str, list[pa.Table]] = {}
            declared = self._schemas[d["category"]]["data_types"] if self._schemas else {}
            for uri in job.get("output_files", []):
                b, k = split_uri(uri)
                expected = job.get("checksums", {}).get(uri, "").removeprefix("sha256:")
                data = self.lake.get(b, k)
                actual = sha256_hex(data)
                dt = listed[uri][0] if uri in listed else self._data_type_of(d, k)
                audit.append([job_id, uri, dt, actual, expected, None, now])
                if not expected or actual != expected:
                    problems.append(("checksum_mismatch", f"{uri}: sha256 {actual} != job's {expected or 'none'}"))
                    continue
                if uri in listed and listed[uri][1] != expected:
                    problems.append(("checksum_mismatch", f"{uri}: manifest sha256 {listed[uri][1]} != job's"))
                    continue
                if dt is None:
                    problems.append(("unknown_data_type", uri))
                    continue
                cols = {c["name"]: c["type"] for c in declared.get(dt, {}).get("columns", [])}
                try:
                    t = decode(data, k, cols)
                except Exception as e:  # noqa: BLE001 - any decoder error means the file is unusable
                    problems.append(("undecodable", f"{uri}: {e}"))
                    continue
                audit[-1][5] = t.num_rows
                tables.setdefault(dt, []).append(t)
        except ClientError as e:
            # Unreadable even with a fresh credential: try again on later polls, then backfill.
            n = self._read_attempts[job_id] = self._read_attempts.get(job_id, 0) + 1
            self._alert(now, did, job_id, "file_unreadable", "error", f"attempt {n}: {e}")
            if n < self.settings.max_read_attempts:
                return
            problems.append(("unreadable", str(e)))
        if self.lake.credentials_issued > max(issued, 1):  # the first issue is not a renewal
            self._alert(now, did, job_id, "datalake_credentials_renewed", "info",
                        "KMS denied the credential (key rotation): a new one was issued")
        if audit:
            self.wh.con.execute("INSERT INTO file_audit VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * len(audit)),
                                [v for row in audit for v in row])
        missing_types = [dt for dt in job.get("record_counts", {}) if dt not in tables]
        if not problems and missing_types:
            problems.append(("incomplete", f"no file for {missing_types}"))
        if problems:
            outcome = problems[0][0]
            self._alert(now, did, job_id, outcome, "error", "; ".join(p[1] for p in problems))
            self.wh.con.execute("INSERT INTO ingested_jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                [job_id, did, job.get("kind"), start, end, outcome, 0, 0, False, now,
                                 json.dumps(problems)])
            self._final.add(job_id)
            res.rejected.append(job_id)
            return
        # Record counts (the guide: reject-and-alert beyond 5%; here: alert, keep the data).
        count_ok = True
        for dt, ts in tables.items():
            read = sum(t.num_rows for t in ts)
            reports = {source: n for source, n in (("job", job.get("record_counts", {}).get(dt)),
                                                   ("manifest", manifest_counts.get(dt))) if n is not None}
            offs = {source: abs(read - n) / n if n else float("inf") for source, n in reports.items() if n != read}
            if not offs:
                continue
            said = ", ".join(f"{source} says {reports[source]} ({off:.1%})" for source, off in offs.items())
            if max(offs.values()) > self.settings.tolerance:
                count_ok = False
                self._alert(now, did, job_id, "record_count_mismatch", "warning",
                            f"{dt}: read {read}; {said}; tolerance {self.settings.tolerance:.0%}")
            else:
                self._alert(now, did, job_id, "record_count_within_tolerance", "info", f"{dt}: read {read}; {said}")
        con = self.wh.con
        con.begin()
        try:
            rows = 0
            for dt, ts in tables.items():
                table = self.wh.table_for(did, dt)
                key_columns = self._schemas[d["category"]]["data_types"][dt]["key_columns"]
                for t in ts:
                    self.wh.merge(table, t, key_columns)
                    rows += t.num_rows
            con.execute("INSERT INTO ingested_jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [job_id, did, job.get("kind"), start, end, "ingested", len(job["output_files"]), rows,
                         count_ok, now, None])
            con.commit()
        except BaseException:
            con.rollback()
            self.wh._types.clear()  # an ALTER may have been rolled back
            raise
        self._final.add(job_id)
        self._covered.setdefault(did, set()).add(start)
        self._count_ok[(did, start)] = self._count_ok.get((did, start), False) or count_ok
        res.ingested.append(job_id)

    # -- gaps and backfills --------------------------------------------------------------------
    def _intervals(self, d: dict[str, Any], until: datetime) -> list[datetime]:
        """Starts of the download's intervals that have ended by `until`."""
        step = FREQUENCY[d["schedule"]["frequency"]]
        s = align_up(parse_time(d["created_at"]), step)
        out = []
        while s + step <= until:
            out.append(s)
            s += step
        return out

    def _gaps(self, d: dict[str, Any], jobs: list[dict[str, Any]], now: datetime,
              until: datetime | None = None) -> list[tuple[datetime, str]]:
        """Intervals to backfill now, with the reason."""
        did = d["id"]
        step = FREQUENCY[d["schedule"]["frequency"]]
        by_start: dict[datetime, list[dict[str, Any]]] = {}
        for j in jobs:
            by_start.setdefault(parse_time(j["interval_start"]), []).append(j)
        covered = self._covered.get(did, set())
        out = []
        for s in self._intervals(d, until or now):
            if s in covered:
                continue
            js = by_start.get(s, [])
            if any(j["status"] in IN_FLIGHT for j in js):
                continue  # wait for it (lagged, held or running)
            if any(j["status"] == "COMPLETED" and j["id"] not in self._final for j in js):
                continue  # completed, not ingested yet (unreadable for now): retried next poll
            if any(j["status"] in FAILED for j in js):
                reason = "job " + "/".join(sorted({j["status"] for j in js if j["status"] in FAILED}))
            elif any(j["id"] in self._final for j in js):  # decided, yet the interval is not held
                reason = "rejected (checksum or unreadable)"
            elif until is not None or s + step + self.settings.grace <= now:
                reason = "no job" if not js else "no COMPLETED job"
            else:
                continue
            out.append((s, reason))
        return out

    def _backfill(self, d: dict[str, Any], jobs: list[dict[str, Any]], now: datetime, res: PollResult,
                  until: datetime | None = None) -> None:
        did = d["id"]
        step = FREQUENCY[d["schedule"]["frequency"]]
        todo = []
        for s, reason in self._gaps(d, jobs, now, until):
            n = self._backfilled.get((did, s), 0)
            if n >= self.settings.max_backfills:
                if (did, s) not in self._gave_up:
                    self._gave_up.add((did, s))
                    self._alert(now, did, None, "backfill_exhausted", "error", f"{fmt_time(s)}: {n} backfills")
                continue
            todo.append((s, reason))
        # Contiguous intervals with the same reason go in one manual export.
        ranges: list[list[Any]] = []
        for s, reason in todo:
            if ranges and ranges[-1][1] == s and ranges[-1][2] == reason:
                ranges[-1][1] = s + step
            else:
                ranges.append([s, s + step, reason])
        prefix = self.settings.backfill_root + d["destination"].get("prefix", "")
        for start, end, reason in ranges:
            body = {"category": d["category"], "start_time": fmt_time(start), "end_time": fmt_time(end),
                    "overwrite": False, "destination_prefix": prefix}
            jobs_made = self.api.manual_export(did, body)
            self._alert(now, did, None, "backfill", "info", f"{fmt_time(start)}..{fmt_time(end)}: {reason}")
            for j in jobs_made:
                s = parse_time(j["interval_start"])
                self._backfilled[(did, s)] = self._backfilled.get((did, s), 0) + 1
                self.wh.con.execute("INSERT INTO backfills VALUES (?, ?, ?, ?, ?, ?, ?)",
                                    [now, did, s, parse_time(j["interval_end"]), reason, j["id"], prefix])
                # Seen as in flight until the next listing.
                self._jobs.setdefault(did, []).append(j)
            res.backfills.append((did, fmt_time(start), fmt_time(end)))

    def _update_watermark(self, d: dict[str, Any], now: datetime) -> None:
        did = d["id"]
        step = FREQUENCY[d["schedule"]["frequency"]]
        covered = self._covered.get(did, set())
        mark = None
        for s in self._intervals(d, now):
            if s not in covered:
                break
            mark = s + step
        if mark is not None:
            self.wh.con.execute(
                "INSERT INTO watermarks VALUES (?, ?, ?) ON CONFLICT (download_id) DO UPDATE "
                "SET watermark = excluded.watermark, updated_at = excluded.updated_at", [did, mark, now])

    def watermark(self, download_id: str) -> str | None:
        return self.wh.scalar("SELECT strftime(watermark, '%Y-%m-%dT%H:%M:%SZ') FROM watermarks WHERE download_id = ?",
                              [download_id])

    def _reconcile(self, d: dict[str, Any], jobs: list[dict[str, Any]], now: datetime, res: PollResult) -> None:
        """The daily late-data reconciliation (guide, section 3): at `reconcile_at` each day,
        every interval of the previous day must hold an ingested, checksum-valid job whose counts
        were in tolerance; what does not is backfilled."""
        did = d["id"]
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        if now < today + self.settings.reconcile_at:
            return
        day = today - timedelta(days=1)
        key = (did, day.date().isoformat())
        if key in self._reconciled or parse_time(d["created_at"]) >= today:
            return
        step = FREQUENCY[d["schedule"]["frequency"]]
        in_day = [s for s in self._intervals(d, today) if s >= day]
        covered = self._covered.get(did, set())
        missing = [s for s in in_day if s not in covered]
        bad_counts = [s for s in in_day if s in covered and not self._count_ok.get((did, s), True)]
        in_flight = {parse_time(j["interval_start"]) for j in jobs if j["status"] in IN_FLIGHT}
        prefix = self.settings.backfill_root + d["destination"].get("prefix", "")
        for s in sorted(set(missing + bad_counts) - in_flight):
            if self._backfilled.get((did, s), 0) >= self.settings.max_backfills:
                continue
            reason = "reconciliation: missing" if s in missing else "reconciliation: count out of tolerance"
            self._alert(now, did, None, "backfill", "info", f"{fmt_time(s)}..{fmt_time(s + step)}: {reason}")
            body = {"category": d["category"], "start_time": fmt_time(s), "end_time": fmt_time(s + step),
                    "overwrite": False, "destination_prefix": prefix}
            for j in self.api.manual_export(did, body):
                self._backfilled[(did, s)] = self._backfilled.get((did, s), 0) + 1
                self.wh.con.execute("INSERT INTO backfills VALUES (?, ?, ?, ?, ?, ?, ?)",
                                    [now, did, s, s + step, reason, j["id"], prefix])
            res.backfills.append((did, fmt_time(s), fmt_time(s + step)))
        self.wh.con.execute("INSERT INTO reconciliations VALUES (?, ?, ?, ?, ?, ?)",
                            [did, day.date(), now, len(in_day), len(missing), len(bad_counts)])
        self._alert(now, did, None, "reconciliation", "info",
                    f"{key[1]}: {len(in_day)} intervals, {len(missing)} missing, "
                    f"{len(bad_counts)} with counts out of tolerance")
        self._reconciled.add(key)
        res.reconciled.append(key)

    # -- finishing (for a run with an end) -----------------------------------------------------
    def backfill_until(self, until: datetime) -> PollResult:
        """Backfills every interval ending by `until` that the warehouse does not hold (no grace)."""
        now = self.clock()
        res = PollResult(at=now)
        for did, d in self._downloads.items():
            self._backfill(d, self._jobs.get(did, []), now, res, until=until)
        return res

    def missing(self, until: datetime) -> dict[str, list[str]]:
        """Intervals ending by `until` not held, per download."""
        out = {}
        for did, d in self._downloads.items():
            covered = self._covered.get(did, set())
            gaps = [fmt_time(s) for s in self._intervals(d, until) if s not in covered]
            if gaps:
                out[did] = gaps
        return out

    def downloads(self) -> list[dict[str, Any]]:
        """The downloads as the last poll listed them."""
        return list(self._downloads.values())

    def jobs(self) -> list[dict[str, Any]]:
        """Every job of every download as the last poll listed them."""
        return [j for jobs in self._jobs.values() for j in jobs]

    def in_flight(self) -> int:
        return sum(1 for jobs in self._jobs.values() for j in jobs if j["status"] in IN_FLIGHT)
