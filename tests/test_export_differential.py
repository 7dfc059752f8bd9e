"""The exported JSON Schema against the engine, through three independent validators:
python-jsonschema, jsonschema-rs and ajv (with ajv-formats and ajv-errors, set up by the shipped
module js/luma-ajv.mjs, run by node).

Exact rules must agree both ways.  Rules the schema states only approximately are held in one
direction: what the engine accepts, the schema accepts.  Each property collects its examples and
hands them to ajv in one batch at the end (one node process per test, not per example).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis_jsonschema._from_schema as hjs_internals
import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.internal.conjecture import utils as conjecture_utils
from hypothesis_jsonschema import from_schema
from jsonschema import Draft202012Validator

import luma_schema
from luma_schema import catalog
from luma_schema.engine import Report
from luma_schema.export import jsonschema as exporter
from luma_schema.rules import Expressible, Length, MaxBytes, MaxItemsFor, OneOf, Scope
from luma_schema.strategies import valid_requests, violating

AJV_DIR = Path(__file__).resolve().parent / "ajv"
AJV_SCRIPT = AJV_DIR / "validate.mjs"

# Rules the schema states approximately: it accepts some requests the engine refuses.
APPROXIMATE = {r.id for r in catalog.RULES if r.expressible is Expressible.APPROXIMATE}
# Rules the schema cannot state at all (they need the network).
NOT_EXPRESSIBLE = {r.id for r in catalog.RULES if r.expressible is Expressible.NO}
LOOSE = APPROXIMATE | NOT_EXPRESSIBLE
STATIC_EXACT = [
    r.id for r in catalog.RULES if r.expressible is Expressible.EXACT and r.scope is not Scope.FETCH
]

SETTINGS = settings(
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.filter_too_much,
    ],
)


def test_the_loose_rules_are_the_url_rules() -> None:
    # Named here so that a change in the catalogue's marks shows up in this test's scope.
    assert {"url_not_fetchable"} == APPROXIMATE
    assert {"url_fetch_failed", "url_http_error"} == NOT_EXPRESSIBLE


# ---------------------------------------------------------------- the validators


def _instance(payload: Any) -> Any:
    """The JSON value a payload stands for (JSON text is parsed, as the engine parses it)."""
    return json.loads(payload) if isinstance(payload, (str, bytes)) else payload


class Validators:
    """python-jsonschema and jsonschema-rs answer at once; ajv answers in one batch."""

    def __init__(self) -> None:
        self.schema = luma_schema.json_schema()
        self.python = Draft202012Validator(self.schema)
        self.rust = jsonschema_rs.validator_for(self.schema)
        self.pending: list[Any] = []

    def verdicts(self, instance: Any) -> dict[str, bool]:
        self.pending.append(instance)
        return {
            "python-jsonschema": self.python.is_valid(instance),
            "jsonschema-rs": self.rust.is_valid(instance),
        }

    def ajv(self) -> list[dict[str, Any]]:
        results = run_ajv(self.schema, self.pending)
        self.pending = []
        return results


AJV_PACKAGES = ("ajv", "ajv-formats", "ajv-errors")
HOW_TO_ENABLE = (
    "install Node.js 18 or later (with npm) to run them: their packages then install from "
    "tests/ajv/package-lock.json on first use"
)


def _installed() -> bool:
    return all((AJV_DIR / "node_modules" / p / "package.json").is_file() for p in AJV_PACKAGES)


def ajv_node() -> str:
    """The node executable, with the ajv packages of ``tests/ajv/package-lock.json`` installed
    (``npm ci``, once, on first use).  Without node (or npm) the calling test is skipped."""
    node = shutil.which("node")
    if node is None:
        pytest.skip(f"the ajv differential tests need node, which is not on PATH; {HOW_TO_ENABLE}")
    if _installed():
        return node
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip(f"the ajv differential tests need npm, which is not on PATH; {HOW_TO_ENABLE}")
    # One install at a time, also across test runs in the same checkout (npm ci starts by
    # removing node_modules).
    lock = (
        Path(tempfile.gettempdir())
        / f"luma-schema-ajv-{hashlib.sha256(bytes(AJV_DIR)).hexdigest()[:16]}.lock"
    )
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        if not _installed():
            proc = subprocess.run(
                [npm, "ci", "--prefix", str(AJV_DIR), "--no-audit", "--no-fund"],
                capture_output=True,
                text=True,
                timeout=600,
            )
            if proc.returncode != 0 or not _installed():
                pytest.fail(f"npm ci --prefix {AJV_DIR} failed:\n{proc.stdout}{proc.stderr}")
    return node


def run_ajv(schema: dict[str, Any], instances: list[Any]) -> list[dict[str, Any]]:
    proc = subprocess.run(
        [ajv_node(), str(AJV_SCRIPT)],
        input=json.dumps({"schema": schema, "instances": instances}).encode(),
        capture_output=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    results: list[dict[str, Any]] = json.loads(proc.stdout)
    assert len(results) == len(instances)
    return results


def _agrees(report: Report, accepted: bool) -> bool:
    """Exact rules both ways; a refusal that only loose rules explain may be accepted."""
    if report.ok:
        return accepted
    return not accepted or all(e.rule in LOOSE for e in report.errors)


def _ajv_agrees(validators: Validators, reports: list[Report]) -> None:
    for instance, report, result in zip(validators.pending, reports, validators.ajv(), strict=True):
        assert _agrees(report, result["valid"]), (instance, report.errors, result["errors"])


# ---------------------------------------------------------------- arbitrary JSON over the field names

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6)
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
_MEMBER_STRINGS = st.sampled_from(
    (
        "",
        "QUJD",
        "QUI=",
        "QQ==",
        "iVBORw0KGgo=",
        "QUJD\n",
        "QUJ",
        "Q===",
        "AB=C",
        "QU-_",
        " QUJD",
        "data:image/png;base64,QUJD",
        "image/png",
        "IMAGE/Png;q=1",
        "image/png;",
        "image/png\n",
        "image/png ",
        "image/png;\u00a0",
        "image/*",
        "image/",
        "text/plain",
        "https://example.com/a.png",
        "HTTPS://Example.com:8443/a?b#c",
        "https://example.com/a.png\n",
        "https://example.com/a b",
        "http://example.com/a.png",
        "https://user@example.com/",
        "https://example.com\\@evil.com/",
        "https:///a.png",
        "https://localhost/a.png",
        "https://10.0.0.1/a.png",
        "https://[::1]/a.png",
        "https://intranet/",
        "https://example.com:0/",
    )
)
_MEMBER_VALUES = st.one_of(_MEMBER_STRINGS, st.none(), _SCALARS, st.text())
_IMAGES = st.fixed_dictionaries(
    {},
    optional={
        **{m.name: _MEMBER_VALUES for m in catalog.IMAGE_MEMBERS},
        "extra": _JSON,
    },
)


def _field_values(name: str) -> st.SearchStrategy[Any]:
    """Values near each of the field's rules (read from the catalogue), and any JSON."""
    near: list[st.SearchStrategy[Any]] = [_JSON, st.none()]
    for rule in catalog.RULES:
        if isinstance(rule, OneOf) and rule.field == name:
            near.append(st.sampled_from((*rule.values, "", rule.values[0].upper(), "other")))
        if isinstance(rule, Length) and rule.field == name:
            sizes = sorted({rule.min, max(rule.min - 1, 0), rule.max, rule.max + 1})
            near.append(st.sampled_from(sizes).map(lambda n: "\U0001f600" * n))
            near.append(st.text(max_size=4))
        if isinstance(rule, MaxItemsFor) and rule.field == name:
            near.append(st.lists(_IMAGES, min_size=rule.max, max_size=rule.max + 1))
    if name in catalog.IMAGE_FIELDS:
        near.append(_IMAGES)
        near.append(st.lists(st.one_of(_IMAGES, _JSON), max_size=3))
    return st.one_of(near)


ARBITRARY = st.fixed_dictionaries(
    {},
    optional={
        **{f.name: _field_values(f.name) for f in catalog.FIELDS},
        "image_refs": _JSON,
        "unknown": _JSON,
    },
)


# ---------------------------------------------------------------- the properties


def test_valid_requests_are_valid_for_every_validator() -> None:
    validators = Validators()
    reports: list[Report] = []

    @settings(SETTINGS, max_examples=120)
    @given(valid_requests())
    def prop(request: dict[str, Any]) -> None:
        report = luma_schema.check(request)
        assert report.ok
        assert all(validators.verdicts(request).values()), request
        reports.append(report)

    prop()
    _ajv_agrees(validators, reports)


# image_too_large is held at the real cap by test_the_real_cap_across_validators (one request at
# the cap, one a byte over, through all three validators): drawn examples are 70 MB strings each.
@pytest.mark.parametrize("rule_id", [r for r in STATIC_EXACT if r != "image_too_large"])
def test_single_violations_are_invalid_for_every_validator(rule_id: str) -> None:
    validators = Validators()
    reports: list[Report] = []
    examples = 12

    @settings(SETTINGS, max_examples=examples)
    @given(violating(rule_id))
    def prop(payload: Any) -> None:
        report = luma_schema.check(payload)
        for name, accepted in validators.verdicts(_instance(payload)).items():
            assert _agrees(report, accepted), (name, payload, report.errors)
        reports.append(report)

    prop()
    _ajv_agrees(validators, reports)


def test_the_approximate_url_rule_is_held_one_way() -> None:
    """``url_not_fetchable`` (approximate): every validator may accept a URL the engine refuses
    (a private host), but the three validators agree with one another."""
    validators = Validators()
    seen: list[dict[str, bool]] = []

    @settings(SETTINGS, max_examples=60)
    @given(violating("url_not_fetchable"))
    def prop(payload: Any) -> None:
        assert not luma_schema.check(payload).ok
        verdicts = validators.verdicts(payload)
        assert len(set(verdicts.values())) == 1, (payload, verdicts)
        seen.append(verdicts)

    prop()
    for verdicts, result in zip(seen, validators.ajv(), strict=True):
        assert result["valid"] == verdicts["python-jsonschema"]


def test_arbitrary_objects_get_the_engines_verdict() -> None:
    validators = Validators()
    reports: list[Report] = []

    @settings(SETTINGS, max_examples=250)
    @given(ARBITRARY)
    def prop(body: dict[str, Any]) -> None:
        report = luma_schema.check(body)
        for name, accepted in validators.verdicts(body).items():
            assert _agrees(report, accepted), (name, body, report.errors)
        reports.append(report)

    prop()
    _ajv_agrees(validators, reports)


# Pinned examples: found while writing the exporter (Python's `$` before a final newline, an
# authority ended by a backslash, a non-breaking space closing media-type parameters).
PINNED_IMAGES = [
    {"data": "QUJD\n", "media_type": "image/png"},
    {"data": "QUJD", "media_type": "image/png\n"},
    {"data": "QUJD", "media_type": "image/png;\u00a0"},
    {"url": "https://example.com\\@evil.com/"},
    {"url": "https://example.com/a.png\n"},
    {"data": "QUJD", "media_type": "IMAGE/Png;q=1"},
]


def test_pinned_images() -> None:
    validators = Validators()
    reports = []
    for image in PINNED_IMAGES:
        body = {"type": "image_edit", "prompt": "x", "source": image}
        report = luma_schema.check(body)
        for name, accepted in validators.verdicts(body).items():
            assert _agrees(report, accepted), (name, image)
        reports.append(report)
    _ajv_agrees(validators, reports)


# ---------------------------------------------------------------- hypothesis-jsonschema


class _Many:
    """hypothesis-jsonschema 0.23 drives hypothesis' old ``many`` (``more()``/``reject()``),
    which hypothesis 6.1xx replaced by a context manager: the old protocol on the new draws."""

    def __init__(self, data: Any, min_size: int, max_size: float, average_size: float) -> None:
        self.data, self.min_size, self.max_size = data, min_size, max_size
        self.p_continue = conjecture_utils._calc_p_continue(
            average_size - min_size, max_size - min_size
        )
        self.count = self.rejections = 0
        self.force_stop = False

    def more(self) -> bool:
        forced = None
        if self.force_stop or self.count >= self.max_size:
            forced = False
        elif self.count < self.min_size:
            forced = True
        go: bool = self.data.draw_boolean(self.p_continue, forced=forced)
        self.count += go
        return go

    def reject(self) -> None:
        self.count -= 1
        self.rejections += 1
        if self.rejections > max(3, 2 * self.count):
            if self.count < self.min_size:
                self.data.mark_invalid()
            self.force_stop = True


class _Compat:
    def __getattr__(self, name: str) -> Any:
        return _Many if name == "many" else getattr(conjecture_utils, name)


@pytest.fixture
def old_many(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    if not hasattr(conjecture_utils.many, "more"):
        monkeypatch.setattr(hjs_internals, "cu", _Compat())
    yield


def _annotations_dropped(node: Any) -> Any:
    """The schema without annotations (notes, messages, titles): the same validation, less for
    hypothesis-jsonschema to canonicalise at every draw."""
    drop = {exporter.VENDOR_KEYWORD, "errorMessage", "title", "description", "default"}
    if isinstance(node, dict):
        return {k: _annotations_dropped(v) for k, v in node.items() if k not in drop}
    if isinstance(node, list):
        return [_annotations_dropped(v) for v in node]
    return node


# What the loose rules are replaced by for generation: URLs the static checks accept.  This is
# the exclusion the docstrings below name (url_not_fetchable; the network rules need no
# replacement: the engine does not fetch here).
PUBLIC_URLS = ["https://example.com/a.png", "https://images.example.org:8443/x?y=1#z", None]


def _loose_excluded(schema: dict[str, Any]) -> dict[str, Any]:
    for image in schema["$defs"].values() if "$defs" in schema else [schema]:
        assert "url_not_fetchable" in json.dumps(image["properties"]["url"])
        image["properties"]["url"] = {"enum": PUBLIC_URLS}
    return _annotations_dropped(schema)


def test_hypothesis_jsonschema_requests_are_accepted(old_many: None) -> None:
    """Requests hypothesis-jsonschema builds from the request schema are accepted by the engine.
    Excluded: ``url_not_fetchable`` (approximate: URLs come from PUBLIC_URLS).  Images are
    reduced to one URL here; the next test draws the images from the image schema, because
    hypothesis-jsonschema's cost grows steeply when both are nested (minutes per dozen draws)."""
    schema = _loose_excluded(luma_schema.json_schema())
    for name in schema["$defs"]:
        schema["$defs"][name] = {
            "type": "object",
            "required": ["url"],
            "properties": {"url": {"const": PUBLIC_URLS[0]}},
        }

    @settings(SETTINGS, max_examples=15)
    @given(from_schema(schema))
    def prop(request: dict[str, Any]) -> None:
        report = luma_schema.check(request)
        assert report.ok, (request, report.errors)

    prop()


def test_hypothesis_jsonschema_images_are_accepted(old_many: None) -> None:
    """Images hypothesis-jsonschema builds from the image schema (all image rules, patterns
    and the base64 cap included) are accepted as a source.  Excluded: ``url_not_fetchable``."""
    schema = _loose_excluded(luma_schema.image_schema())

    @settings(SETTINGS, max_examples=15)
    @given(from_schema(schema))
    def prop(image: dict[str, Any]) -> None:
        report = luma_schema.check({"type": "image_edit", "prompt": "x", "source": image})
        assert report.ok, (image, report.errors)

    prop()


def test_the_real_cap_across_validators() -> None:
    """The 50 MiB cap itself, not a scaled copy: exactly the cap passes, one byte more fails."""
    cap = catalog.rule("image_too_large")
    assert isinstance(cap, MaxBytes)
    longest = exporter.base64_max_length(cap.max)
    at_cap = "A" * (longest - 1) + "="
    over = "A" * longest
    validators = Validators()
    reports = []
    for data in (at_cap, over):
        body = {
            "type": "image_edit",
            "prompt": "x",
            "source": {"data": data, "media_type": "image/png"},
        }
        report = luma_schema.check(body)
        assert report.ok is (data is at_cap)
        for name, accepted in validators.verdicts(body).items():
            assert accepted is report.ok, name
        reports.append(report)
    results = run_ajv(validators.schema, validators.pending)
    assert [r["valid"] for r in results] == [True, False]
    assert results[1]["messages"] == [reports[1].detail] == [cap.render("source")]


# ---------------------------------------------------------------- ajv-errors messages

_ECHO = (
    "the message echoes the submitted value verbatim; ajv-errors inserts values JSON-encoded "
    "(quoted), so no errorMessage is exported for it"
)
_IMAGE_REF_PATH = (
    "at `source` only: the message starts with the image's path, and the image_ref items share "
    "one definition while ajv-errors templates read data values, not the item's index"
)
_APPROXIMATE = (
    "approximate: a private or local host passes the pattern, so no keyword fails and no "
    "message is given (when the pattern does fail, the message is exact)"
)
_NETWORK = "needs the network; no schema states it"
# Rules whose exact message ajv-errors cannot give, and why.
AJV_CANNOT = {
    "model_unknown": _ECHO,
    "type_unsupported": _ECHO,
    "aspect_ratio_invalid": _ECHO,
    "style_invalid": _ECHO,
    "output_format_invalid": _ECHO,
    "url_not_fetchable": _APPROXIMATE,
    "url_fetch_failed": _NETWORK,
    "url_http_error": _NETWORK,
}
# Rules ajv-errors gives for the request's own fields and for `source`, not for image_ref items.
AJV_PARTLY = {
    r.id: _IMAGE_REF_PATH
    for r in catalog.RULES
    if r.scope in (Scope.TYPES, Scope.IMAGE) and r.id not in AJV_CANNOT
}
AJV_CAN = [r.id for r in catalog.RULES if r.id not in AJV_CANNOT]
# Image fields with a definition of their own (whose messages name them).
_OWN_DEFINITION = {
    f.name for f in catalog.FIELDS if f.name in catalog.IMAGE_FIELDS and f.items is None
}


def test_ajv_lists_cover_every_rule() -> None:
    assert set(AJV_CAN) | set(AJV_CANNOT) == {r.id for r in catalog.RULES}
    assert set(AJV_PARTLY) <= set(AJV_CAN)


# image_too_large: each example is a 70 MB string; test_the_real_cap_across_validators checks
# its ajv message on the real cap instead.
@pytest.mark.parametrize("rule_id", [r for r in AJV_CAN if r != "image_too_large"])
def test_ajv_errors_gives_the_exact_message(rule_id: str) -> None:
    """For a request breaking ``rule_id`` alone, ajv-errors gives the engine's exact message
    (for the AJV_PARTLY rules: at the request's own fields and at `source`).  ajv reports in
    schema order and skips nothing, so a value that fails one rule may also fail the rules the
    engine then skips (SPEC section 3): those messages, and only those, may join."""
    fields = {f.name for f in catalog.FIELDS}
    cases: list[tuple[Any, str, set[str]]] = []
    assert set(AJV_PARTLY) <= set(AJV_CAN)

    # Derandomized: a rule of the images may draw only image_ref cases in a random run.
    @settings(SETTINGS, max_examples=25 if rule_id in AJV_PARTLY else 10, derandomize=True)
    @given(violating(rule_id))
    def prop(payload: Any) -> None:
        report = luma_schema.check(payload)
        if [e.rule for e in report.errors] != [rule_id]:
            return  # not a single violation (the strategy's business, tested there)
        first = report.errors[0]
        where = first.path
        if where and where not in fields and where.split(".")[0] not in _OWN_DEFINITION:
            return  # inside an image_ref item: see AJV_PARTLY
        assert report.detail is not None
        skipped = {
            r.render()
            for r in catalog.RULES
            if r.scope is Scope.REQUEST and first.path in r.reads and not r.echo()
        }
        # A wrong-typed member (source.data) skips its image's rules, which name the image.
        image_paths = {first.path, first.path.partition(".")[0]}
        skipped |= {
            r.render(path) for r in catalog.RULES if r.scope is Scope.IMAGE for path in image_paths
        }
        cases.append((_instance(payload), report.detail, skipped))

    prop()
    assert cases
    results = run_ajv(luma_schema.json_schema(), [instance for instance, _, _ in cases])
    for (instance, detail, skipped), result in zip(cases, results, strict=True):
        messages = set(result["messages"])  # the shipped module's: ajv-errors' messages
        assert len(messages) == len(result["messages"])
        assert detail in messages, (instance, detail, result["errors"])
        assert messages - {detail} <= skipped, (instance, detail, result["errors"])
