"""The columnar entry: ``luma_schema.batch.verdicts`` is ``check()`` row for row, whatever column
holds the texts, and its ``Summary`` is the CLI's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import luma_schema
from luma_schema import batch, catalog
from luma_schema.strategies import valid_requests, violating

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Every rule a request can break without the network; the 50 MiB image has a test of its own.
RULES = [r.id for r in catalog.RULES if r.scope.value != "fetch" and r.id != "image_too_large"]
EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "requests.jsonl"


def expected(text: Any) -> dict[str, Any]:
    """The row ``check(text)`` calls for, read from the full report."""
    if text is None:
        return dict.fromkeys(batch.COLUMNS)
    report = luma_schema.check(text)
    first = report.errors[0] if report.errors else None
    return {
        "ok": report.ok,
        "status": report.status,
        "detail": report.detail,
        "rule": first.rule if first else None,
        "path": first.path if first else None,
        "warnings": [w.code for w in report.warnings],
    }


def rows(table: Any) -> list[dict[str, Any]]:
    assert table.schema.equals(pa.schema([batch.SCHEMA.field(n) for n in table.column_names]))
    return table.to_pylist()  # type: ignore[no-any-return]


# Any JSON value under the request's field and member names: several errors at once, the first
# of which a row reports.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda c: (
        st.lists(c, max_size=3)
        | st.dictionaries(st.sampled_from(["url", "data", "media_type", "x"]), c, max_size=3)
    ),
    max_leaves=10,
)
objects = st.dictionaries(
    st.sampled_from([f.name for f in catalog.FIELDS] + ["promt", "image_refs"]),
    json_values,
    max_size=8,
)
requests = st.one_of(valid_requests(), st.sampled_from(RULES).flatmap(violating), objects)


@st.composite
def texts(draw: st.DrawFn) -> str:
    """A request as JSON text, ASCII-escaped or not, with the spacing of a log line or none."""
    request = draw(requests)
    if isinstance(request, bytes | str):  # some requests are drawn as JSON text already
        return request.decode() if isinstance(request, bytes) else request
    compact = draw(st.booleans())
    return json.dumps(
        request,
        ensure_ascii=draw(st.booleans()),
        separators=(",", ":") if compact else None,
    )


columns_of_texts = st.lists(st.one_of(texts(), st.none()), max_size=12)


def _utf8(values: list[str | None]) -> list[bytes | None]:
    return [None if v is None else v.encode() for v in values]


# The ways a data engineer hands over a column of texts (bytes as the UTF-8 of the text).
CONTAINERS = {
    "arrow string": lambda v: pa.array(v, pa.string()),
    "arrow large_string": lambda v: pa.array(v, pa.large_string()),
    "arrow string_view": lambda v: pa.array(v, pa.string_view()),
    "arrow binary": lambda v: pa.array(_utf8(v), pa.binary()),
    "arrow large_binary": lambda v: pa.array(_utf8(v), pa.large_binary()),
    "arrow binary_view": lambda v: pa.array(_utf8(v), pa.binary_view()),
    "arrow dictionary": lambda v: pa.array(v, pa.string()).dictionary_encode(),
    "arrow chunked": lambda v: pa.chunked_array([v[: len(v) // 2], v[len(v) // 2 :]], pa.string()),
    "arrow chunked dictionary": lambda v: pa.chunked_array(
        [pa.array(v, pa.string()).dictionary_encode()]
    ),
    "pandas object": lambda v: pd.Series(v, dtype=object),
    "pandas str": lambda v: pd.Series(v, dtype="str"),
    "pandas arrow binary": lambda v: pd.Series(_utf8(v), dtype=pd.ArrowDtype(pa.binary())),
    "polars str": lambda v: pl.Series(v, dtype=pl.String),
    "polars binary": lambda v: pl.Series(_utf8(v), dtype=pl.Binary),
    "list of str": list,
    "list of bytes": _utf8,
    "generator of bytearray": lambda v: (None if t is None else bytearray(t.encode()) for t in v),
}


@settings(SETTINGS, max_examples=25)
@given(columns_of_texts)
def test_every_row_is_what_check_answers(values: list[str | None]) -> None:
    wanted = [expected(v) for v in values]
    for name, container in CONTAINERS.items():
        table = batch.verdicts(container(values))
        assert table.num_rows == len(values), name
        assert rows(table) == wanted, name


@SETTINGS
@given(st.lists(st.text(max_size=40), min_size=1, max_size=12))
def test_str_and_its_utf8_get_the_same_verdict(values: list[str]) -> None:
    # an Arrow string column goes to check() as its UTF-8 bytes, a Python one as str
    assert rows(batch.verdicts(values)) == rows(batch.verdicts(pa.array(values)))


@SETTINGS
@given(st.lists(st.one_of(st.binary(max_size=60), st.text(max_size=60)), max_size=12))
def test_any_text_or_bytes_gets_a_verdict(values: list[str | bytes]) -> None:
    # not JSON, not UTF-8, lone surrogates in a Python str: each row is still check()'s answer
    assert rows(batch.verdicts(values)) == [expected(v) for v in values]
    raw = [v if isinstance(v, bytes) else v.encode("utf-8", "surrogatepass") for v in values]
    assert rows(batch.verdicts(pa.array(raw, pa.binary()))) == [expected(v) for v in raw]


def test_a_lone_surrogate_in_a_pandas_column_is_read_as_check_reads_it() -> None:
    values = ['{"prompt": "\ud800"}', '{"prompt": "ok"}', None]
    assert rows(batch.verdicts(pd.Series(values, dtype=object))) == [expected(v) for v in values]


def test_a_50_mib_image_goes_through_a_column() -> None:
    limit = catalog.rule("image_too_large").max  # type: ignore[attr-defined]
    data = "QUFB" * (limit // 3 + 1)  # valid base64 of one to three bytes over the cap
    text = json.dumps(
        {"type": "image_edit", "prompt": "p", "source": {"data": data, "media_type": "image/png"}}
    )
    assert rows(batch.verdicts(pa.array([text, None], pa.large_string()))) == [
        expected(text),
        expected(None),
    ]
    assert expected(text)["rule"] == "image_too_large"


@settings(SETTINGS, max_examples=20)
@given(
    columns_of_texts,
    st.lists(st.sampled_from(batch.COLUMNS), unique=True, min_size=1),
)
def test_columns_picks_columns_of_the_full_table_in_its_order(
    values: list[str | None], names: list[str]
) -> None:
    full = batch.verdicts(values)
    part = batch.verdicts(values, columns=names)
    kept = [n for n in batch.COLUMNS if n in names]
    assert part.column_names == kept
    assert rows(part) == rows(full.select(kept))


def test_unknown_columns_are_named() -> None:
    with pytest.raises(ValueError, match=r"columns: unknown \['verdict'\]"):
        batch.verdicts(["{}"], columns=["ok", "verdict"])


@pytest.mark.parametrize(
    ("column", "named"),
    [
        (pa.array([1, 2]), "int64"),
        (pa.array([{"prompt": "x"}]), "struct"),
        (pd.Series([1.5, 2.5]), "double"),
        ([b"{}", 3], "int"),
        ([{"prompt": "x"}], "dict"),
        ('{"prompt": "x"}', "not one text"),
    ],
)
def test_a_column_that_holds_no_texts_is_a_type_error(column: Any, named: str) -> None:
    with pytest.raises(TypeError, match=named):
        batch.verdicts(column)


def test_a_null_column_has_null_rows_and_no_requests() -> None:
    table = batch.verdicts(pa.nulls(3))
    assert rows(table) == [expected(None)] * 3
    assert batch.Summary.of(table).requests == 0
    assert rows(batch.verdicts([])) == []


# ---------------------------------------------------------------- the summary


@settings(SETTINGS, max_examples=20)
@given(columns_of_texts, columns_of_texts)
def test_the_summary_counts_rows_by_status_and_first_rule(
    left: list[str | None], right: list[str | None]
) -> None:
    values = left + right
    counts: dict[tuple[int, str], int] = {}
    for v in values:
        if v is not None:
            row = expected(v)
            key = (row["status"], row["rule"] or "ok")
            counts[key] = counts.get(key, 0) + 1
    whole = batch.Summary.of(batch.verdicts(values))
    assert whole.counts == counts
    assert whole.requests == sum(v is not None for v in values)
    assert whole.valid == sum(1 for v in values if v is not None and expected(v)["ok"])
    # parts add up: how the engines put together the summaries of their partitions
    parts = batch.Summary.of(batch.verdicts(left)) + batch.Summary.of(batch.verdicts(right))
    assert parts == whole


def test_the_summary_is_the_cli_summary(tmp_path: Path) -> None:
    lines = [line for line in EXAMPLES.read_text().splitlines() if line.strip()]
    path = tmp_path / "requests.jsonl"
    path.write_text("".join(line + "\n" for line in lines * 3))
    summary = batch.Summary.of(batch.verdicts(lines * 3))

    def cli(*args: str) -> str:
        return subprocess.run(
            [sys.executable, "-m", "luma_schema", "check", "--summary-only", *args, str(path)],
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout

    assert str(summary) + "\n" == cli()
    assert summary.as_dict() == json.loads(cli("--format", "json"))


# ---------------------------------------------------------------- extras and the core import


def test_the_core_import_loads_no_engine_package() -> None:
    code = (
        "import sys, luma_schema; luma_schema.check(b'{}');"
        "print(sorted(m for m in ('pyarrow', 'pandas', 'polars', 'pyspark', 'py4j', 'dask',"
        " 'distributed', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr


# (module, package made missing, the extra its error names; None: the module still imports)
MISSING = [
    # first, before pandas is imported in a process where pyarrow seems missing
    ("luma_schema.dask", "distributed", None),  # the library runs on any dask scheduler
    ("luma_schema.batch", "pyarrow", "batch"),
    ("luma_schema.spark", "pyarrow", "spark"),
    ("luma_schema.spark", "pyspark", "spark"),
    ("luma_schema.dask", "pyarrow", "dask"),
    ("luma_schema.dask", "dask", "dask"),
]
_TRY_IMPORTS = """
import importlib, json, sys
found = []
for module, missing in json.loads(sys.argv[1]):
    for name in ("luma_schema.batch", "luma_schema.spark", "luma_schema.dask"):
        sys.modules.pop(name, None)
    saved = sys.modules.get(missing)
    sys.modules[missing] = None
    try:
        importlib.import_module(module)
        found.append("imported")
    except ImportError as e:
        found.append(str(e))
    finally:
        del sys.modules[missing]
        if saved is not None:
            sys.modules[missing] = saved
print(json.dumps(found))
"""


def test_a_missing_package_names_its_extra() -> None:
    cases = json.dumps([[module, missing] for module, missing, _ in MISSING])
    out = subprocess.run(
        [sys.executable, "-c", _TRY_IMPORTS, cases], capture_output=True, text=True, timeout=120
    )
    found = json.loads(out.stdout or "null")
    assert found is not None, out.stderr
    for (module, missing, extra), message in zip(MISSING, found, strict=True):
        if extra is None:
            assert message == "imported", (module, missing)
        else:
            assert f"pip install 'luma-schema[{extra}]'" in message, (module, missing, message)
