"""Schemathesis against our OpenAPI schema, on a real server: no 5xx, no schema violation.

Every operation gets a few generated requests (positive and negative data) with
an admin key, judged by every check schemathesis has: each answer must be
documented (status, content type, headers) and match its schema, valid data must
be accepted and invalid data refused, no 5xx. Bounded: a few examples per
operation. Revoking keys is included: the last admin key is protected (409).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import CHECKS

from tests.api.process import Server, free_port
from tests.api.project import write_project

pytestmark = pytest.mark.slow
ALL_CHECKS = CHECKS.get_all()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    project = write_project(Path(tmp_path_factory.mktemp("schema")) / "project")
    running = Server(project, free_port(), env={"ORCHESTRA_SERVER__RATE_LIMIT": "100000/minute"})
    try:
        running.wait_ready()
        key = next(
            line.strip()
            for line in running.output().splitlines()
            if line.strip().startswith("orch_")
        )
        yield running, key
    finally:
        running.stop()


def test_every_operation_conforms_to_the_schema(server: tuple[Server, str]) -> None:
    running, key = server
    schema = schemathesis.openapi.from_url(f"{running.base}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    headers = {"Authorization": f"Bearer {key}"}
    for operation in operations:

        @settings(
            max_examples=6,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=ALL_CHECKS)

        check()
