"""A/B of two mock-cxone builds (before/after a change) and the s3s-fs anchor, in one run, with the
same load from `s3load` (issue 6: "record before/after"). Rounds alternate the servers so machine
noise falls on all of them alike; each line is one 5 s run.

    .venv/bin/python bench/ab.py --before OLD_BIN --after NEW_BIN [--rounds 2] [--ops put]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(__file__))
import s3bench  # noqa: E402

SHAPES = [(1024, 16), (1024, 1), (1 << 20, 16), (1 << 20, 1)]


def run(args: argparse.Namespace) -> dict:
    servers = {"before": args.before, "after": args.after, "s3s-fs": None}
    results: dict[tuple, list[dict]] = {}
    for rnd in range(args.rounds):
        for name, bin_path in servers.items():
            srv = s3bench.start_s3sfs()[0] if bin_path is None else s3bench.start_mock(bin_path)[0]
            try:
                for op in args.ops.split(","):
                    for size, c in SHAPES:
                        r = one(srv, op, size, c, args.seconds, rnd)
                        results.setdefault((op, size, c, name), []).append(r)
                        print(rnd, name, op, size, c, round(r["req_per_s"]), r["p50_ms"], r["p99_ms"],
                              r["errors"], flush=True)
            finally:
                srv.proc.kill()
    return results


def one(srv, op: str, size: int, c: int, seconds: float, rnd: int) -> dict:
    """One run; GETs read one object seeded first, PUTs write fresh keys (as `s3bench`)."""
    tag = f"{size}c{c}r{rnd}"
    if op == "get":
        s3bench.load(srv, "seed", size, 1, 0, prefix=f"g{tag}/", count=1)
        return s3bench.load(srv, "get", size, c, seconds, key=f"g{tag}/00000000")
    return s3bench.load(srv, op, size, c, seconds, prefix=f"p{tag}/")


def table(results: dict) -> str:
    lines = ["| op | size | clients | before (req/s) | after (req/s) | after/before | s3s-fs (req/s) | after/s3s-fs |",
             "|---|---|---|---|---|---|---|---|"]
    keys = sorted({k[:3] for k in results})
    for op, size, c in keys:
        med = {n: statistics.median(r["req_per_s"] for r in results[(op, size, c, n)])
               for n in ("before", "after", "s3s-fs")}
        lines.append(f"| {op} | {'1 KiB' if size == 1024 else '1 MiB'} | {c} | {med['before']:,.0f} | "
                     f"{med['after']:,.0f} | {med['after'] / med['before']:.2f}x | {med['s3s-fs']:,.0f} | "
                     f"{med['after'] / med['s3s-fs']:.2f}x |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True)
    ap.add_argument("--after", required=True)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--ops", default="put")
    ap.add_argument("--load-bin", default=os.environ.get("S3LOAD_BIN", "target/release/examples/s3load"))
    args = ap.parse_args()
    s3bench.LOAD_BIN = args.load_bin
    results = run(args)
    print(table(results))
    print(json.dumps({"|".join(map(str, k)): v for k, v in results.items()}), file=sys.stderr)


if __name__ == "__main__":
    main()
