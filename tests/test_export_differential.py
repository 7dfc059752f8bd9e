"""The exported JSON Schema against the engine, through four independent validators:
python-jsonschema, jsonschema-rs, fastjsonschema and ajv (with ajv-formats and ajv-errors, set up
by the shipped module js/luma-ajv.mjs, run by node).

The engine is the catalogue's reference answer, the full diagnosis (``Engine(catalogue,
compiled=False)``; tests/test_engine.py holds the compiled paths to it).  Exact rules must agree
both ways: valid requests of every type are valid for every validator, and a request breaking an
exactly expressible rule alone is invalid for every one.  Rules the schema states only
approximately are held in one direction: what the engine accepts, the schema accepts.  The
requests are the hand-built cases of ``export_cases`` (each checked to be what it claims) and
arbitrary JSON over the catalogue's field paths; each test hands its requests to ajv in one batch
at the end (one node process per test, not per example).
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastjsonschema
import hypothesis_jsonschema._from_schema as hjs_internals
import jsonschema_rs
import pytest
from export_cases import (
    PNG64,
    REFERENCE_POSITIONS,
    URL,
    UUID,
    VALID,
    VIOLATIONS,
    at_position,
    examples,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.internal.conjecture import utils as conjecture_utils
from hypothesis_jsonschema import from_schema
from jsonschema import Draft202012Validator

import luma_schema
from luma_schema import catalog
from luma_schema.engine import Engine, Report
from luma_schema.export import jsonschema as exporter
from luma_schema.rules import (
    Expressible,
    ItemsRange,
    JsonType,
    Length,
    MaxBytes,
    MaxItemsFor,
    OneOf,
    OneOfFor,
    Range,
    RequiredFor,
    Scope,
)

AJV_DIR = Path(__file__).resolve().parent / "ajv"
AJV_SCRIPT = AJV_DIR / "validate.mjs"
CAT = catalog.CATALOGUE
REFERENCE = Engine(CAT, compiled=False)


def check(payload: Any) -> Report:
    return REFERENCE.check(payload)


def _how(rule_id: str) -> Expressible:
    return exporter.expressibility(catalog.rule(rule_id))


# Rules the schema states approximately: it accepts some requests the engine refuses.
APPROXIMATE = {r.id for r in CAT.rules if _how(r.id) is Expressible.APPROXIMATE}
# Rules the schema cannot state at all (they need the network).
NOT_EXPRESSIBLE = {r.id for r in CAT.rules if _how(r.id) is Expressible.NO}
LOOSE = APPROXIMATE | NOT_EXPRESSIBLE
STATIC_EXACT = [
    r.id for r in CAT.rules if _how(r.id) is Expressible.EXACT and r.scope is not Scope.FETCH
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


def test_the_loose_rules_are_the_url_and_id_rules() -> None:
    # Named here so that a change in the catalogue's marks shows up in this test's scope.
    assert {"url_not_fetchable", "generation_id_invalid", "file_id_invalid"} == APPROXIMATE
    assert {"url_fetch_failed", "url_http_error"} == NOT_EXPRESSIBLE


# ---------------------------------------------------------------- the validators


def _instance(payload: Any) -> Any:
    """The JSON value a payload stands for (JSON text is parsed, as the engine parses it)."""
    return json.loads(payload) if isinstance(payload, (str, bytes)) else payload


@pytest.fixture(scope="module")
def compiled() -> dict[str, Any]:
    """The schema, and each Python validator compiled once for the module."""
    schema = luma_schema.json_schema()
    return {
        "schema": schema,
        "python": Draft202012Validator(schema),
        "rust": jsonschema_rs.validator_for(schema),
        # use_default=False: fastjsonschema otherwise writes defaults into the instance.
        "fast": fastjsonschema.compile(schema, use_default=False),
    }


class Validators:
    """python-jsonschema, jsonschema-rs and fastjsonschema answer at once; ajv in one batch."""

    def __init__(self, compiled: dict[str, Any]) -> None:
        self.schema = compiled["schema"]
        self.python = compiled["python"]
        self.rust = compiled["rust"]
        self.fast = compiled["fast"]
        self.pending: list[Any] = []

    def _fast(self, instance: Any) -> bool:
        try:
            self.fast(instance)
        except fastjsonschema.JsonSchemaValueException:
            return False
        return True

    def verdicts(self, instance: Any) -> dict[str, bool]:
        self.pending.append(instance)
        return {
            "python-jsonschema": self.python.is_valid(instance),
            "jsonschema-rs": self.rust.is_valid(instance),
            "fastjsonschema": self._fast(instance),
        }

    def ajv(self) -> list[dict[str, Any]]:
        """ajv's answers for the pending instances: the hand-built ones from the one batch run
        for all of them, any other in a batch of their own."""
        pending, self.pending = self.pending, []
        known = _hand_built_answers() if all(_key(i) in _HAND_BUILT for i in pending) else None
        if known is not None:
            return [known[_key(i)] for i in pending]
        return run_ajv(self.schema, pending)


@pytest.fixture
def validators(compiled: dict[str, Any]) -> Validators:
    return Validators(compiled)


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


# ---------------------------------------------------------------- the hand-built cases


def test_the_cases_are_what_they_claim() -> None:
    """Each valid case is valid; each violation breaks its rule alone; every rule a schema can
    state has cases (image_too_large: test_the_real_cap_across_validators, at the real cap)."""
    for why, body in [*VALID, *examples()]:
        report = check(body)
        assert report.ok, (why, report.errors)
        assert not report.warnings or why in dict(VALID), why
    for rule_id, cases in VIOLATIONS.items():
        for payload in cases:
            assert [e.rule for e in check(payload).errors] == [rule_id], payload
    covered = set(VIOLATIONS) | {"image_too_large"}
    assert covered >= {*STATIC_EXACT, *APPROXIMATE}
    types = {body.get("type", "image") for _, body in [*VALID, *examples()]}
    assert types == set(catalog.TYPES)


def test_valid_requests_are_valid_for_every_validator(validators: Validators) -> None:
    reports = []
    for why, body in [*VALID, *examples()]:
        report = check(body)
        verdicts = validators.verdicts(body)
        assert all(verdicts.values()), (why, verdicts)
        reports.append(report)
    _ajv_agrees(validators, reports)


@pytest.mark.parametrize("rule_id", sorted(VIOLATIONS))
def test_single_violations_are_invalid_for_every_validator(
    validators: Validators, rule_id: str
) -> None:
    """A request breaking an exact rule alone is invalid for every validator; one breaking an
    approximate rule is judged alike by all of them."""
    reports = []
    for payload in VIOLATIONS[rule_id]:
        report = check(payload)
        verdicts = validators.verdicts(_instance(payload))
        if rule_id in LOOSE:
            assert len(set(verdicts.values())) == 1, (payload, verdicts)
        else:
            assert not any(verdicts.values()), (payload, verdicts)
        reports.append(report)
    results = validators.ajv()
    for payload, result in zip(VIOLATIONS[rule_id], results, strict=True):
        if rule_id not in LOOSE:
            assert not result["valid"], payload


def _position_bodies(position: str) -> list[dict[str, Any]]:
    """Every request type (with a model that takes it) holding a broken, a good and an
    ignorable reference at ``position``."""
    rule = catalog.rule("type_unsupported")
    assert isinstance(rule, OneOfFor)
    references = [
        {"url": URL, "data": PNG64},
        {"generation_id": UUID},
        {"data": PNG64, "media_type": "video/mp4"},
        {"url": 5},
        {},
    ]
    bodies = []
    for model, types in rule.by:
        for kind in types:
            for reference in references:
                body = at_position(position, reference)
                body.update(model=model, type=kind)
                body.setdefault("source", {"generation_id": UUID})
                bodies.append(body)
    return bodies


@pytest.mark.parametrize("position", REFERENCE_POSITIONS)
def test_a_reference_is_checked_where_the_type_takes_it(
    validators: Validators, position: str
) -> None:
    """A reference inside a field the type ignores gets its JSON types checked only, elsewhere
    every rule of a reference: the same for every validator, for every type."""
    reports = []
    for body in _position_bodies(position):
        report = check(body)
        for name, accepted in validators.verdicts(body).items():
            assert _agrees(report, accepted), (name, body, report.errors)
        reports.append(report)
    _ajv_agrees(validators, reports)


# ---------------------------------------------------------------- arbitrary JSON over the field paths

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
        "video/mp4",
        "Video/MP4;codecs=avc1",
        "video/",
        "audio/mpeg",
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
        UUID,
        UUID.upper(),
        UUID.replace("-", ""),
        "{" + UUID + "}",
        "urn:uuid:" + UUID,
        UUID[:-1],
        UUID + "0",
        "gen_" + UUID,
    )
)
_MEMBER_VALUES = st.one_of(_MEMBER_STRINGS, st.none(), _SCALARS, st.text())
_REFERENCES = st.fixed_dictionaries(
    {},
    optional={**{m.name: _MEMBER_VALUES for m in CAT.reference_members}, "extra": _JSON},
)


def _near(path: str) -> list[st.SearchStrategy[Any]]:
    """Values near each of the field's rules, read from the catalogue."""
    near: list[st.SearchStrategy[Any]] = []
    field = CAT.paths[path]
    for rule in CAT.rules:
        tests = (*rule.when, *rule.unless, *getattr(rule, "tests", ()))
        named = path in (getattr(rule, "field", None), getattr(rule, "other", None))
        if not named and not any(t.path == path for t in tests):
            continue
        if isinstance(rule, OneOf | OneOfFor):
            near.append(st.sampled_from((*rule.values, "", rule.values[0].upper(), "other")))
        for test in tests:
            if test.path == path and test.values:
                near.append(st.sampled_from(test.values))
        if isinstance(rule, Length) and field.type is JsonType.STRING:
            sizes = sorted({rule.min, max(rule.min - 1, 0), rule.max, rule.max + 1})
            near.append(st.sampled_from(sizes).map(lambda n: "\U0001f600" * n))
        if isinstance(rule, Length | MaxItemsFor) and field.type is JsonType.ARRAY:
            high = rule.max
            near.append(st.integers(max(high - 1, 0), high + 1).map(lambda n: [{"url": URL}] * n))
        if isinstance(rule, Range):
            low = -1 if rule.min is None else rule.min
            high = 3 if rule.max is None else rule.max
            near.append(st.sampled_from((low, high, low - 0.5, high + 0.5, True)))
        if isinstance(rule, ItemsRange):
            low = 0 if rule.min is None else rule.min
            high = 300 if rule.max is None else rule.max
            items = st.sampled_from((low, high, low - 1, high + 1, 1.0, 2.5, 3))
            near.append(st.lists(items, max_size=4))
    return near


def _values(path: str) -> st.SearchStrategy[Any]:
    """Values of the field at ``path``: near its rules, objects of its members, any JSON."""
    field = CAT.paths[path]
    options: list[st.SearchStrategy[Any]] = [_JSON, st.none(), *_near(path)]
    if field.reference and field.items is None:
        options.append(_REFERENCES)
    elif field.reference:
        options.append(st.lists(st.one_of(_REFERENCES, _JSON), max_size=3))
    elif field.members is not None:
        members = {m.name: _values(f"{path}.{m.name}") for m in field.members}
        options.append(st.fixed_dictionaries({}, optional={**members, "extra": _JSON}))
        options.append(st.fixed_dictionaries({}, optional=members))
    return st.one_of(options)


ARBITRARY = st.fixed_dictionaries(
    {},
    optional={
        **{f.name: _values(f.name) for f in CAT.fields},
        "image_refs": _JSON,
        "unknown": _JSON,
    },
)


def test_arbitrary_objects_get_the_engines_verdict(validators: Validators) -> None:
    reports: list[Report] = []

    @settings(SETTINGS, max_examples=300)
    @given(ARBITRARY)
    def prop(body: dict[str, Any]) -> None:
        report = check(body)
        for name, accepted in validators.verdicts(body).items():
            assert _agrees(report, accepted), (name, body, report.errors)
        reports.append(report)

    prop()
    _ajv_agrees(validators, reports)


# Typical requests of the live types with values drawn near their rules: most of them reach the
# combination rules (arbitrary JSON is mostly refused for its types first).
_VIDEO_OPTIONS = _values("video")
LIVE = st.one_of(
    st.builds(
        lambda kind, options, ratio: {
            "model": "ray-3.2",
            "type": kind,
            "prompt": "x",
            "source": {"generation_id": UUID},
            "aspect_ratio": ratio,
            "video": options,
        },
        st.sampled_from(catalog.VIDEO_TYPES),
        _VIDEO_OPTIONS,
        st.sampled_from((None, "16:9", "3:1")),
    ),
    st.builds(
        lambda prompt, options: {
            "type": "layering",
            "prompt": prompt,
            "source": {"url": URL},
            "layering": options,
        },
        st.sampled_from(("", "x" * 500, "x" * 501, None)),
        _values("layering"),
    ),
)


def test_live_requests_get_the_engines_verdict(validators: Validators) -> None:
    reports: list[Report] = []

    @settings(SETTINGS, max_examples=300)
    @given(LIVE)
    def prop(body: dict[str, Any]) -> None:
        report = check(body)
        for name, accepted in validators.verdicts(body).items():
            assert _agrees(report, accepted), (name, body, report.errors)
        reports.append(report)

    prop()
    _ajv_agrees(validators, reports)


def _approximate_bodies() -> list[dict[str, Any]]:
    odd = ["https://10.0.0.1/a.png", "https://localhost/a", "https://intranet/", "https://[::1]/"]
    bodies = []
    for position in REFERENCE_POSITIONS:
        for url in odd:
            bodies.append(at_position(position, {"url": url}))
        bodies.append(at_position(position, {"generation_id": UUID + "0"}))
        bodies.append(at_position(position, {"file_id": "x" * 32}))
    return bodies


def test_the_approximate_rules_are_held_one_way(validators: Validators) -> None:
    """``url_not_fetchable`` and the id rules (approximate): every validator may accept what the
    engine refuses (a private host; an odd id), but the validators agree with one another."""
    answers = []
    for body in _approximate_bodies():
        report = check(body)
        assert not report.ok and all(e.rule in APPROXIMATE for e in report.errors), body
        verdicts = validators.verdicts(body)
        assert len(set(verdicts.values())) == 1, (body, verdicts)
        answers.append(verdicts["python-jsonschema"])
    for answer, result in zip(answers, validators.ajv(), strict=True):
        assert result["valid"] == answer


# Pinned examples: found while writing the exporter (Python's `$` before a final newline, an
# authority ended by a backslash, a non-breaking space closing media-type parameters).
PINNED_IMAGES = [
    {"data": "QUJD\n", "media_type": "image/png"},
    {"data": "QUJD", "media_type": "image/png\n"},
    {"data": "QUJD", "media_type": "image/png;\u00a0"},
    {"data": "QUJD", "media_type": "video/mp4\n"},
    {"url": "https://example.com\\@evil.com/"},
    {"url": "https://example.com/a.png\n"},
    {"data": "QUJD", "media_type": "IMAGE/Png;q=1"},
    {"generation_id": UUID + "\n"},
]


def _pinned_bodies() -> list[dict[str, Any]]:
    return [
        body
        for reference in PINNED_IMAGES
        for body in (
            {"type": "image_edit", "prompt": "x", "source": reference},
            {"model": "ray-3.2", "type": "video_edit", "prompt": "x", "source": reference},
        )
    ]


def test_pinned_references(validators: Validators) -> None:
    reports = []
    for body in _pinned_bodies():
        report = check(body)
        for name, accepted in validators.verdicts(body).items():
            assert _agrees(report, accepted), (name, body)
        reports.append(report)
    _ajv_agrees(validators, reports)


def _key(instance: Any) -> str:
    return json.dumps(instance, sort_keys=True)


def _hand_built() -> list[Any]:
    instances = [body for _, body in [*VALID, *examples()]]
    instances += [_instance(p) for cases in VIOLATIONS.values() for p in cases]
    instances += [b for position in REFERENCE_POSITIONS for b in _position_bodies(position)]
    instances += _approximate_bodies() + _pinned_bodies()
    return instances


_HAND_BUILT = {_key(i) for i in _hand_built()}


@functools.cache
def _hand_built_answers() -> dict[str, dict[str, Any]]:
    """ajv's answer for every hand-built instance, from one node process (compiling the schema
    takes ajv seconds: once for all of them)."""
    instances = _hand_built()
    results = run_ajv(luma_schema.json_schema(), instances)
    return {_key(i): r for i, r in zip(instances, results, strict=True)}


# ---------------------------------------------------------------- hypothesis-jsonschema
# The image schema only: hypothesis-jsonschema canonicalises the request schema's per-type
# conditions (if/then under allOf) for minutes before its first draw.  That direction (what the
# schema accepts, the engine accepts) is held for requests by the arbitrary and live properties
# above, both ways for every exact rule.


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


# The id rules are approximate too (the UUID pattern is a superset of what the engine reads).
PUBLIC_IDS = [UUID, UUID.replace("-", "").upper(), None]
_LOOSE_MEMBERS = {
    "url": ("url_not_fetchable", PUBLIC_URLS),
    "generation_id": ("generation_id_invalid", PUBLIC_IDS),
    "file_id": ("file_id_invalid", PUBLIC_IDS),
}


def _loose_excluded(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with the approximate patterns of each checked reference replaced by values the
    engine accepts (the references of positions a type ignores state JSON types only)."""
    references = schema["$defs"].values() if "$defs" in schema else [schema]
    replaced = set()
    for reference in references:
        for member, (rule_id, values) in _LOOSE_MEMBERS.items():
            if rule_id in json.dumps(reference["properties"][member]):
                reference["properties"][member] = {"enum": values}
                replaced.add(rule_id)
    assert replaced == APPROXIMATE
    return _annotations_dropped(schema)


def test_hypothesis_jsonschema_images_are_accepted(old_many: None) -> None:
    """Images hypothesis-jsonschema builds from the image schema (all image rules, patterns
    and the base64 cap included) are accepted as a source.  Excluded: the approximate rules
    (``url_not_fetchable``, the id rules)."""
    schema = _loose_excluded(luma_schema.image_schema())

    @settings(SETTINGS, max_examples=15)
    @given(from_schema(schema))
    def prop(image: dict[str, Any]) -> None:
        report = check({"type": "image_edit", "prompt": "x", "source": image})
        assert report.ok, (image, report.errors)

    prop()


def test_the_real_cap_across_validators(validators: Validators) -> None:
    """The 50 MiB cap itself, not a scaled copy: exactly the cap passes, one byte more fails."""
    cap = catalog.rule("image_too_large")
    assert isinstance(cap, MaxBytes)
    longest = exporter.base64_max_length(cap.max)
    at_cap = "A" * (longest - 1) + "="
    over = "A" * longest
    reports = []
    for data in (at_cap, over):
        body = {
            "type": "image_edit",
            "prompt": "x",
            "source": {"data": data, "media_type": "image/png"},
        }
        report = check(body)
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
_ITEM_PATH = (
    "not at an array item: the message starts with the reference's path, and the items share "
    "one definition while ajv-errors templates read data values, not the item's index"
)
_APPROXIMATE = (
    "approximate: a value the pattern lets pass is refused by the engine alone, so no keyword "
    "fails and no message is given (when the pattern does fail, the message is exact)"
)
_NETWORK = "needs the network; no schema states it"
# Rules whose exact message ajv-errors cannot give, and why (a RequiredFor rule quotes the key's
# value, which each of its branches knows).
AJV_CANNOT = {
    **{
        r.id: _ECHO
        for r in CAT.rules
        if r.echo() and not isinstance(r, RequiredFor) and r.scope is Scope.REQUEST
    },
    **{r: _APPROXIMATE for r in APPROXIMATE},
    **{r: _NETWORK for r in NOT_EXPRESSIBLE},
}
# Rules ajv-errors gives for the request's fields and for references that are no array item.
AJV_PARTLY = {
    r.id: _ITEM_PATH
    for r in CAT.rules
    if r.scope in (Scope.TYPES, Scope.IMAGE) and r.id not in AJV_CANNOT
}
AJV_CAN = [r.id for r in CAT.rules if r.id not in AJV_CANNOT]


def test_ajv_lists_cover_every_rule() -> None:
    assert set(AJV_CAN) | set(AJV_CANNOT) == {r.id for r in CAT.rules}
    assert set(AJV_PARTLY) <= set(AJV_CAN)


def _in_an_item(path: str) -> bool:
    """Whether a reference's rule at ``path`` is about an array item (``image_ref[0]``)."""
    return "[" in path


def _skipped(first: Any) -> set[str]:
    """Messages of the rules the engine skips after ``first`` (SPEC section 3): those that read
    what it failed (its path, or a member of it), rendered where they could fail."""
    out = set()
    failed = first.path
    for rule in CAT.rules:
        if rule.scope is Scope.REQUEST and not rule.echo():
            if any(p == failed or p.startswith(failed + ".") for p in rule.reads):
                out.add(rule.render())
        elif rule.scope is Scope.IMAGE:
            # A wrong-typed member skips its reference's rules, which name the reference.
            for path in {failed, failed.rpartition(".")[0]}:
                out.add(rule.render(path))
    return out


@pytest.mark.parametrize("rule_id", [r for r in AJV_CAN if r in VIOLATIONS])
def test_ajv_errors_gives_the_exact_message(rule_id: str) -> None:
    """For a request breaking ``rule_id`` alone, ajv-errors gives the engine's exact message
    (for the AJV_PARTLY rules: except at an array item).  ajv reports in schema order and skips
    nothing, so a value that fails one rule may also fail the rules the engine then skips
    (SPEC section 3): those messages, and only those, may join."""
    cases = []
    for payload in VIOLATIONS[rule_id]:
        report = check(payload)
        (first,) = report.errors
        if rule_id in AJV_PARTLY and _in_an_item(first.path):
            continue  # see AJV_PARTLY
        assert report.detail is not None
        cases.append((_instance(payload), report.detail, _skipped(first)))
    assert cases
    answers = _hand_built_answers()
    for instance, detail, skipped in cases:
        result = answers[_key(instance)]
        messages = set(result["messages"])  # the shipped module's: ajv-errors' messages
        assert len(messages) == len(result["messages"])
        assert detail in messages, (instance, detail, result["errors"])
        assert messages - {detail} <= skipped, (instance, detail, result["messages"])


def test_every_message_ajv_can_give_is_tried() -> None:
    """Each rule of AJV_CAN has a case away from array items (image_too_large: at the cap)."""
    tried = {
        rule_id
        for rule_id, cases in VIOLATIONS.items()
        if any(not _in_an_item(check(p).errors[0].path) for p in cases)
    }
    assert set(AJV_CAN) - tried == {"image_too_large"}
