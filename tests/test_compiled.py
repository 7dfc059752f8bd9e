"""The compiled paths answer as the diagnosis on a fixed corpus built from the catalogue: the
examples, a few valid requests, and every rule broken alone, each drawn with a fixed seed.  The
same payloads go in as Python values, JSON text and JSON bytes; status, detail, the full lists,
the warnings and the normalised request must all be the diagnosis' (``compiled=False``).

The corpus is fixed (no search, no shrinking) so this runs fast and the same every time: the
mutation run relies on it to hold the compiler and the checks it emits (docs/testing.md).  Each
test builds its engines afresh, so nothing compiled by an earlier run is reused."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from luma_schema import Report, catalog
from luma_schema.engine import Engine
from luma_schema.rules import Scope
from luma_schema.strategies import valid_requests, violating

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SEED = 20261130
# A 50 MB image to draw (test_properties holds it), or the network.
_NOT_DRAWN = frozenset({"image_too_large"})
DRAWN = [r.id for r in catalog.RULES if r.scope is not Scope.FETCH and r.id not in _NOT_DRAWN]


def _draw(strategy: st.SearchStrategy[Any], n: int) -> list[Any]:
    """``n`` values of ``strategy``, the same on every run (a fixed seed, no shrinking)."""
    drawn: list[Any] = []

    @seed(SEED)
    @settings(
        max_examples=n,
        database=None,
        deadline=None,
        phases=(Phase.generate,),
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(value: Any) -> None:
        drawn.append(value)

    collect()
    return drawn


@functools.cache
def breaking(rule_id: str) -> list[Any]:
    return _draw(violating(rule_id), 2)


@functools.cache
def accepted() -> list[Any]:
    return _draw(valid_requests(), 12)


def examples() -> list[bytes]:
    files = sorted(EXAMPLES.glob("*/*.json"))
    lines = (EXAMPLES / "requests.jsonl").read_bytes().splitlines()
    return [f.read_bytes() for f in files] + [line for line in lines if line.strip()]


def answer(report: Report) -> tuple[Any, ...]:
    return (report.status, report.detail, report.errors, report.warnings, report.request)


@pytest.fixture(scope="module")
def engines() -> Iterator[tuple[Engine, Engine]]:
    # Made here, not at import: each run compiles its shapes afresh.
    yield Engine(catalog.CATALOGUE), Engine(catalog.CATALOGUE, compiled=False)


@pytest.fixture(scope="module")
def full(engines: tuple[Engine, Engine]) -> tuple[Engine, Engine]:
    """An engine that has compiled as many shapes as it keeps: every new shape takes the
    generic compiled function (``ordered``)."""
    engine = Engine(catalog.CATALOGUE, shapes=_SHAPES)
    for i in range(_SHAPES):
        assert engine.check({"prompt": "x", f"k{i}": None}).ok
    return engine, engines[1]


_SHAPES = 16  # the engine's bound of compiled shapes


def same_answers(engines: tuple[Engine, Engine], payload: Any) -> None:
    compiled, diagnosis = engines
    if isinstance(payload, bytes):
        forms: list[Any] = [payload, payload.decode("utf-8", "replace")]
    else:
        text = json.dumps(payload)
        forms = [payload, text, text.encode()]
    reference = answer(diagnosis.check(forms[0]))
    for form in forms:
        assert answer(compiled.check(form)) == reference, form
        # The first answer, read before the lists are, is the same.
        fresh = compiled.check(form)
        assert (fresh.ok, fresh.status, fresh.detail) == (reference[0] == 201, *reference[:2]), form


@pytest.mark.parametrize("rule_id", DRAWN)
def test_a_request_breaking_one_rule_gets_the_diagnosis_answer(
    engines: tuple[Engine, Engine], rule_id: str
) -> None:
    payloads = breaking(rule_id)
    assert payloads
    for payload in payloads:
        same_answers(engines, payload)
        assert [e.rule for e in engines[0].check(payload).errors] == [rule_id]


def test_valid_requests_get_the_diagnosis_answer(engines: tuple[Engine, Engine]) -> None:
    for payload in accepted():
        same_answers(engines, payload)
        assert engines[0].check(payload).ok, payload


def test_the_examples_get_the_diagnosis_answer(engines: tuple[Engine, Engine]) -> None:
    for payload in examples():
        same_answers(engines, payload)


def test_past_the_bound_of_compiled_shapes_the_answers_stay_the_diagnosis(
    full: tuple[Engine, Engine],
) -> None:
    for rule_id in DRAWN:
        for payload in breaking(rule_id):
            same_answers(full, payload)
    for payload in accepted():
        same_answers(full, payload)


def test_small_requests_with_an_unknown_field_get_the_diagnosis_answer(
    engines: tuple[Engine, Engine],
) -> None:
    # The unknown field's warning is due before any rule runs, and no other warning is.
    for kind in (*catalog.TYPES, "no_such_type"):
        for payload in (
            {"type": kind, "colour": 1},
            {"type": kind, "prompt": "", "colour": 1},
            {"colour": 1, "type": kind, "prompt": "x"},
        ):
            same_answers(engines, payload)
