"""Schemathesis against the live mock, driven by the OpenAPI 3.1 document the mock serves at
`/openapi.json` (issue 7 part 2; docs/reliability.md "Schemathesis").

Every operation of the document gets generated requests (hypothesis, derandomized: the same
cases every run), authenticated as a user would be: a tenant holding every scope, its bearer
token on every request, HTTP Basic client credentials on `/auth/token`. Each answer must pass
`not_a_server_error`, `status_code_conformance`, `content_type_conformance` and
`response_schema_conformance`: no 5xx, only documented status codes, the documented content type,
and a body that matches the documented schema.

Each operation runs on a fresh mock (own data dir, clock frozen at T0): the control operations
that change everything (`/_mock/reset`, clock advances by years, fault rules such as maintenance
windows, scenario loads) then cannot leak into the next operation's cases, so none is excluded.
"""

from __future__ import annotations

CLIENT = "schemathesis"

import os
import time
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from conftest import _start, Mock, summary_line

#: Generated cases per operation (bounded so the whole module stays about a minute on 2 cores).
MAX_EXAMPLES = int(os.environ.get("MOCK_CXONE_SCHEMATHESIS_EXAMPLES", "50"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@schemathesis.serializer("application/toml")
def _toml(ctx: Any, value: Any) -> dict[str, Any]:
    """`POST /_mock/scenarios` takes a TOML file: the generated string is sent as its text."""
    data = value if isinstance(value, bytes) else str(value).encode("utf8")
    return {"data": data}


def _fresh(tmp_path_factory: pytest.TempPathFactory) -> Mock:
    return Mock(_start(tmp_path_factory, "schemathesis"))


def _auth(m: Mock) -> tuple[dict[str, str], tuple[str, str]]:
    """A tenant with every scope: its bearer header, and its client credentials (Basic)."""
    t = m.tenant("schemathesis")
    return {"Authorization": f"Bearer {m.token(t)}"}, (t.client_id, t.client_secret)


def _run_operation(m: Mock, op: Any, stats: dict[str, Any]) -> None:
    headers, basic = _auth(m)
    session = requests.Session()
    session.trust_env = False
    label = op.label

    @hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(case=op.as_strategy())
    def run(case: Any) -> None:
        stats["cases"] += 1
        stats["per_op"][label] = stats["per_op"].get(label, 0) + 1
        kw: dict[str, Any] = {"timeout": 30}
        h = dict(headers)
        if op.path == "/auth/token":
            h.pop("Authorization")
            kw["auth"] = basic
        try:
            case.call_and_validate(base_url=m.api, session=session, headers=h, checks=CHECKS, **kw)
        except Exception as e:  # a check failed: keep going, report every one
            stats["failures"].append(f"{label}: {type(e).__name__}: {str(e)[:1500]}")

    try:
        run()
    finally:
        session.close()


def test_every_operation_passes_the_checks(tmp_path_factory: pytest.TempPathFactory) -> None:
    started = time.monotonic()
    first = _fresh(tmp_path_factory)
    try:
        r = first.get("/openapi.json")
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/json"), r.text
        doc = r.json()
        assert doc["openapi"].startswith("3.1"), doc["openapi"]
        docs = first.get("/docs")
        assert docs.status_code == 200 and "/openapi.json" in docs.text
    finally:
        first.close()
        first.process.stop()
    schema = schemathesis.openapi.from_dict(doc)
    operations = [res.ok() for res in schema.get_all_operations()]
    n_ops = sum(1 for item in doc["paths"].values() for k in item if k in ("get", "post", "put", "delete", "patch"))
    assert len(operations) == n_ops, f"schemathesis loaded {len(operations)} of {n_ops} operations"
    stats: dict[str, Any] = {"cases": 0, "failures": [], "per_op": {}}
    for op in operations:
        m = _fresh(tmp_path_factory)
        try:
            _run_operation(m, op, stats)
        finally:
            m.close()
            code = m.process.stop()
        assert code in (0, -15), f"mock exited {code} after {op.label}; {m.process.describe()}"
    elapsed = time.monotonic() - started
    line = (f"{len(operations)} operations, {stats['cases']} generated cases, "
            f"{len(stats['failures'])} failures, {elapsed:.1f} s")
    print(f"\nschemathesis: {line}")
    summary_line(f"schemathesis: {line}")
    assert all(stats["per_op"].get(op.label, 0) > 0 for op in operations), stats["per_op"]
    assert not stats["failures"], "\n\n".join(stats["failures"][:20])
