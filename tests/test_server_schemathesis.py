"""schemathesis against the mock's own /openapi.json, over real HTTP on loopback: whatever it
generates, valid and invalid data alike, no 5xx, and every status, content type, header and body
conforms to the document.

(schemathesis' pytest fixture loader does not run under pytest 9, so each operation's strategy
drives a hypothesis test here directly.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from server_support import AUTH, running

from luma_schema import server

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
OPERATIONS = [
    ("POST", "/v1/generations"),
    ("GET", "/v1/generations/{id}"),
    ("GET", "/mock/outputs/{name}"),
]


@pytest.fixture(scope="module")
def mock_base() -> Iterator[str]:
    with running(server.create_app(delay=0.0)) as url:
        yield url


@pytest.fixture(scope="module")
def api_schema(mock_base: str) -> Any:
    return schemathesis.openapi.from_url(f"{mock_base}/openapi.json")


def test_the_document_points_at_the_mock(api_schema: Any, mock_base: str) -> None:
    assert api_schema.raw_schema["servers"][0]["url"] == mock_base
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert sorted((op.method.upper(), op.path) for op in operations) == sorted(OPERATIONS)


POSITIVE, NEGATIVE = GenerationMode.POSITIVE, GenerationMode.NEGATIVE


# An output name is any string: it has no invalid form to generate.
@pytest.mark.parametrize(
    ("method", "path", "mode", "examples"),
    [
        ("POST", "/v1/generations", POSITIVE, 60),
        ("POST", "/v1/generations", NEGATIVE, 60),
        ("GET", "/v1/generations/{id}", POSITIVE, 25),
        ("GET", "/v1/generations/{id}", NEGATIVE, 25),
        ("GET", "/mock/outputs/{name}", POSITIVE, 25),
    ],
)
def test_the_mock_conforms_to_its_openapi_document(
    api_schema: Any, mock_base: str, method: str, path: str, mode: GenerationMode, examples: int
) -> None:
    operation = api_schema[path][method]
    statuses: list[int] = []

    @settings(
        max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        response = case.call_and_validate(base_url=mock_base, headers=AUTH, checks=CHECKS)
        statuses.append(response.status_code)

    run()
    assert statuses and max(statuses) < 500
