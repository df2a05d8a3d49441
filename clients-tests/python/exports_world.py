"""The set-up the data-tool client tests share: a tenant with SEA files and three exported hours of
telephony on its data lake, and a second tenant's data-lake credentials (for refusals)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from conftest import Mock, SeaSetup, Tenant
from test_download_pyarrow import create_download, iso, lake_credentials, poll_completed, rfc, telephony_body

BUSY = "2026-01-05T09:00:00Z"
HOURS = 3
DATA_TYPES = ["cdr", "acd"]
HIVE = ["year", "month", "day", "hour"]


@dataclass
class World:
    mock: Mock
    sea: SeaSetup
    tenant: Tenant
    jobs: list[dict[str, Any]]
    lake: dict[str, Any]
    other_lake: dict[str, Any]


def make_world(mock: Mock) -> World:
    """SEA files for `acme` (placed at FIRST_RUN), then three exported hours of telephony."""
    sea = mock.sea_tenant("acme", count=4)
    mock.advance(to=BUSY)
    d = create_download(mock, sea.token, telephony_body(DATA_TYPES))
    starts = [iso(rfc(BUSY) + timedelta(hours=h)) for h in range(HOURS)]
    mock.advance(by=f"{HOURS}h")
    jobs = poll_completed(mock, sea.tenant, d["id"], starts)
    lake = lake_credentials(mock, sea.token)
    other_lake = lake_credentials(mock, mock.token(mock.tenant("other")))
    return World(mock, sea, sea.tenant, jobs, lake, other_lake)
