"""The pytest plugin of luma-schema (registered through the ``pytest11`` entry point): the
``luma_mock`` fixture, a running mock of the Luma Agents API for each test (extra ``server``).

::

    def test_create(luma_mock):
        client = luma_agents.Luma(base_url=luma_mock.base_url, auth_token=luma_mock.api_key)
        generation = client.generations.create(prompt="a lighthouse")
        luma_mock.clock.advance(luma_mock.delay)
        assert client.generations.get(generation.id).state == "completed"

    @pytest.mark.luma_mock(api_key="luma-api-secret", seed=1)
    def test_with_options(luma_mock): ...

The fixture yields a :class:`luma_schema.server.MockServer`; the marker's keywords are its
options (``api_key``, ``delay``, ``seed``, ``fetch``, ... as for ``create_app``).  Importing
this module imports nothing but pytest, so the plugin costs nothing to a test run that does
not use it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from luma_schema.server import MockServer

__all__ = ["luma_mock"]

_MARKER = "luma_mock"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(**options): options of the luma_mock fixture's mock server "
        "(api_key, delay, seed, fetch, ... as for luma_schema.server.create_app)",
    )


@pytest.fixture
def luma_mock(request: pytest.FixtureRequest) -> Iterator[MockServer]:
    """A mock of the Luma Agents API on a free loopback port, fresh for each test: its
    ``base_url`` (for the official SDK), ``url``, ``api_key``, ``env``, ``app``, and ``clock``
    (``advance(seconds)``, ``freeze()``, ``resume()``) that times its generations."""
    try:
        from luma_schema.server import MockServer
    except ImportError as exc:
        pytest.fail(f"the luma_mock fixture needs the 'server' extra: {exc}", pytrace=False)
    marker = request.node.get_closest_marker(_MARKER)
    options = dict(marker.kwargs) if marker is not None else {}
    with MockServer(**options) as mock:
        yield mock
