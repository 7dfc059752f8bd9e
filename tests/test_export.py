"""The exporters: JSON Schema, the types schema, OpenAPI and Markdown, generated from a catalogue."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi

import luma_schema
from luma_schema import catalog, media
from luma_schema.export import files, markdown, patterns, typeschema
from luma_schema.export import jsonschema as exporter
from luma_schema.export import openapi as openapi_exporter
from luma_schema.rules import (
    MISSING,
    Catalogue,
    Expressible,
    Field,
    ItemsRange,
    JsonBody,
    JsonType,
    JsonTypes,
    Length,
    MaxBytes,
    NotTogether,
    OneOf,
    OneOfFor,
    Range,
    Required,
    RequiredFor,
    Rule,
    SameLength,
    Scope,
)
from luma_schema.rules import (
    Test as Condition,
)

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared"
DATA = Path(__file__).resolve().parent / "data"
CAT = catalog.CATALOGUE
UUID = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"


def _walk(node: Any) -> Any:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _entries(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for node in _walk(document) for e in node.get(exporter.VENDOR_KEYWORD, [])]


def _conditional(rule: Rule) -> bool:
    return bool(rule.when or rule.unless)


def _node(schema: dict[str, Any], path: str) -> dict[str, Any]:
    """The node of a field in a schema's ``properties`` (dotted: nested)."""
    node = schema
    for name in path.split("."):
        node = node["properties"][name]
    return node


# ---------------------------------------------------------------- exhaustive by construction


def test_every_rule_kind_has_an_exporter_and_a_description() -> None:
    kinds = set(exporter.rule_kinds())
    assert kinds == set(exporter.EXPORTERS) == set(markdown.MISTAKES)
    assert kinds == set(typeschema.TYPE_EXPORTERS)
    assert {type(r) for r in catalog.RULES} <= kinds


def test_a_kind_without_an_exporter_is_named() -> None:
    @dataclass(frozen=True, slots=True, repr=False)
    class Novel(Rule):
        scope: ClassVar[Scope] = Scope.REQUEST

    assert exporter.unmapped([*exporter.rule_kinds(), Novel], exporter.EXPORTERS) == ["Novel"]


@pytest.mark.parametrize(
    ("module", "said"),
    [
        ("luma_schema.export.jsonschema", "the JSON Schema exporter has no function for"),
        ("luma_schema.export.typeschema", "the types schema exporter has no function for"),
        ("luma_schema.export.markdown", "the Markdown exporter cannot describe"),
    ],
)
def test_importing_an_exporter_fails_for_a_kind_without_a_function(module: str, said: str) -> None:
    script = (
        "from dataclasses import dataclass\n"
        "from luma_schema import rules\n"
        + ("import luma_schema.export.jsonschema\n" if "jsonschema" not in module else "")
        + "@dataclass(frozen=True, slots=True, repr=False)\n"
        "class Novel(rules.Rule):\n"
        "    pass\n"
        "rules.Novel = Novel\n"
        "rules.__all__.append('Novel')\n"
        f"import {module}\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert proc.returncode == 1
    assert f"TypeError: {said} rule kinds ['Novel']" in proc.stderr


def test_every_rule_is_noted_with_its_status_and_expressibility() -> None:
    entries = _entries(luma_schema.json_schema())
    for rule in catalog.RULES:
        mine = [e for e in entries if e["id"] == rule.id]
        assert mine, rule.id
        for entry in mine:
            assert entry["status"] == rule.status
            assert entry["expressible"] == exporter.expressibility(rule).value
            # The noted message is the rule's template, parameters filled, some echoes too.
            echoes = ("path", "value", "model", "code", "expected", "equals")
            template = rule.message.format(**{**{n: "{" + n + "}" for n in echoes}, **rule.params()})
            pattern = re.sub(r"\\\{[a-z_]+\\\}", ".+", re.escape(template))
            assert re.fullmatch(pattern, entry["message"]), (entry["message"], template)


def test_rules_not_exactly_expressible_are_explained() -> None:
    loose = {r.id for r in catalog.RULES if exporter.expressibility(r) is not Expressible.EXACT}
    # Named here so that a change in what the schema can state shows up in this test's scope.
    assert loose == {
        "generation_id_invalid",
        "file_id_invalid",
        "url_not_fetchable",
        "url_fetch_failed",
        "url_http_error",
    }
    assert {type(catalog.rule(i)) for i in loose} <= set(exporter.LIMITS)
    # The kinds' own marks are never raised: the exporter only says it can do less.
    for rule in catalog.RULES:
        if rule.expressible is not Expressible.EXACT:
            assert exporter.expressibility(rule) is rule.expressible


# ---------------------------------------------------------------- the schema's contents


def test_the_50_mib_cap_is_a_base64_max_length() -> None:
    cap = next(r for r in catalog.RULES if isinstance(r, MaxBytes))
    data = luma_schema.json_schema()["$defs"]["image"]["properties"][cap.member]
    assert exporter.base64_max_length(cap.max) == 69_905_068
    assert data["maxLength"] == exporter.base64_max_length(cap.max)
    assert data["contentEncoding"] == "base64"


@pytest.mark.parametrize("mib", [1, 2, 3, 50])
def test_max_bytes_is_exact_at_the_boundary(mib: int) -> None:
    """Around the longest allowed length, every padding: the schema accepts exactly the texts
    whose decoded size is within the cap (50 MiB checked through the length arithmetic only)."""
    rule = MaxBytes("image_too_large", 413, "{path}: too big", member="data", max=mib << 20)
    capped = Catalogue(
        CAT.fields,
        tuple(rule if r.id == rule.id else r for r in CAT.rules),
        CAT.advice,
        CAT.library_messages,
    )
    data = exporter.json_schema(capped)["$defs"]["image"]["properties"]["data"]
    schema = {k: v for k, v in data.items() if k not in ("errorMessage", "x-luma-rules")}
    schema["type"] = "string"
    longest = exporter.base64_max_length(rule.max)
    python_validator = Draft202012Validator(schema)
    rust_validator = jsonschema_rs.validator_for(schema)
    for length in (longest - 4, longest, longest + 4):
        for pad in (0, 1, 2):
            decoded = length // 4 * 3 - pad
            if mib in (3, 50):
                # Too big to build here (and slow for Python's re): the arithmetic decides.
                fits = length <= longest and (
                    length < longest or pad >= longest // 4 * 3 - rule.max
                )
                assert fits == (decoded <= rule.max)
                continue
            text = "A" * (length - pad) + "=" * pad
            info = media.base64_info(text)
            assert info.valid and info.size == decoded
            verdict = decoded <= rule.max
            assert python_validator.is_valid(text) is verdict, (length, pad)
            assert rust_validator.is_valid(text) is verdict, (length, pad)


def _noted(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The items of an ``allOf`` by the rule their note names (the first item of each rule)."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        for entry in item.get(exporter.VENDOR_KEYWORD, []):
            out.setdefault(entry["id"], item)
    return out


def test_conditions_count_the_default() -> None:
    by_rule = _noted(luma_schema.json_schema()["allOf"])
    # `type` defaults to "image": the image-only rules need no `required`, the edit rule does.
    assert "required" not in by_rule["image_ref_max"]["if"]
    assert by_rule["image_ref_edit_max"]["if"]["required"] == ["type"]
    # `model` defaults to "uni-1": a model that takes no "image" needs `type` given, and the
    # branch can say so with the API's exact message (the default is its only echo).
    model_default = next(f.default for f in catalog.FIELDS if f.name == "model")
    type_default = next(f.default for f in catalog.FIELDS if f.name == "type")
    branches = [i for i in luma_schema.json_schema()["allOf"] if _ids(i) == {"type_unsupported"}]
    rule = catalog.rule("type_unsupported")
    assert isinstance(rule, OneOfFor)
    assert len(branches) == len(rule.by)
    for (model, types), branch in zip(rule.by, branches, strict=True):
        assert branch["if"]["properties"]["model"] == {"const": model}
        assert ("required" in branch["if"]) is (model != model_default)
        if type_default in types:
            assert "required" not in branch["then"]
        else:
            message = rule.render(value=type_default, model=model)
            assert branch["then"]["required"] == ["type"]
            assert branch["then"]["errorMessage"] == {"required": {"type": message}}


def _ids(item: dict[str, Any]) -> set[str]:
    return {e["id"] for e in item.get(exporter.VENDOR_KEYWORD, [])}


def test_rules_with_conditions_are_if_then_of_the_request() -> None:
    """Each request rule with ``when``/``unless`` is one ``if``/``then`` of the root, whose
    ``then`` holds the rule (and nothing else); rules without conditions are not."""
    items = luma_schema.json_schema()["allOf"]
    wrapped = {}
    for item in items:
        if "if" in item and "then" in item and not item.get(exporter.VENDOR_KEYWORD):
            ids = {e["id"] for e in _entries(item["then"])}
            if len(ids) == 1:
                wrapped[ids.pop()] = item
    conditional = {
        r.id for r in catalog.RULES if r.scope is Scope.REQUEST and _conditional(r)
    }
    assert set(wrapped) == conditional
    for rule_id in conditional:
        rule = catalog.rule(rule_id)
        condition = wrapped[rule_id]["if"]
        # A request that meets every `when` and not every `unless` meets the `if`.
        request: dict[str, Any] = {}
        for test in rule.when:
            _meet(request, test)
        assert Draft202012Validator(condition).is_valid(request), (rule_id, request)


def _meet(request: dict[str, Any], test: Condition) -> None:
    """Put into ``request`` a value that meets ``test`` (values: the first one)."""
    *parents, name = test.path.split(".")
    node = request
    for parent in parents:
        node = node.setdefault(parent, {})
    field = CAT.paths[test.path]
    if test.values and not test.negated:
        node[name] = test.values[0]
    elif not test.values and not test.negated:
        node[name] = [] if field.type is JsonType.ARRAY else {} if field.type is JsonType.OBJECT else "x"


def test_enums_and_defaults_come_from_the_catalogue() -> None:
    schema = luma_schema.json_schema()
    properties = schema["properties"]
    assert list(properties) == [f.name for f in catalog.FIELDS]
    for rule in catalog.RULES:
        if isinstance(rule, OneOf | OneOfFor) and not _conditional(rule):
            field = CAT.paths[rule.field]
            enum = [*rule.values, *([None] if field.nullable else [])]
            assert _node(schema, rule.field)["enum"] == enum, rule.id
        elif isinstance(rule, OneOf):
            assert "enum" not in _node(schema, rule.field), rule.id
    for path, field in CAT.paths.items():
        node = _node(schema, path)
        if field.default is MISSING:
            assert "default" not in node, path
            continue
        default = list(field.default) if isinstance(field.default, tuple) else field.default
        assert node["default"] == default, path
        if "." not in path:
            assert luma_schema.check({"prompt": "x", path: default}).ok, path


def test_nested_members_have_their_json_types_and_messages() -> None:
    schema = luma_schema.json_schema()
    types_rule = next(r for r in catalog.RULES if r.scope is Scope.TYPES)
    for path, field in CAT.paths.items():
        node = _node(schema, path)
        name = {JsonType.INTEGER: "integer", JsonType.NUMBER: "number"}.get(field.type)
        if name:
            assert name in node["type"], path
        assert node["errorMessage"]["type"] == types_rule.render(path, expected=field.type.value)
        if field.items is not None and not field.reference:
            assert node["items"]["type"] == exporter.cond.JSON_TYPES[field.items]


def _placements(node: dict[str, Any], path: str = "") -> Any:
    """``(path, definition name)`` of each ``$ref`` a ``then`` puts under ``properties``."""
    for name, child in node.get("properties", {}).items():
        where = f"{path}.{name}" if path else name
        for ref in (child.get("then", {}), child.get("items", {})):
            if "$ref" in ref:
                yield where, ref["$ref"].removeprefix("#/$defs/")
        yield from _placements(child, where)


def test_each_reference_position_gets_a_definition_by_the_request() -> None:
    """Every reference position is given a definition by ``if``/``then`` of the request: the
    rules of a reference where the fields it is in apply, JSON types only where the request
    ignores it; every definition is used."""
    schema = luma_schema.json_schema()
    chosen: dict[str, set[str]] = {}
    for item in schema["allOf"]:
        for where, name in _placements(item.get("then", {})):
            chosen.setdefault(where, set()).add(name)
    assert set(chosen) == {p for p, f in CAT.paths.items() if f.reference}
    assert set().union(*chosen.values()) == set(schema["$defs"])
    for position, names in chosen.items():
        ignored = {n for n in names if n.endswith("-ignored")}
        assert len(ignored) == 1 and names - ignored, position
    for name, definition in schema["$defs"].items():
        ids = {e["id"] for e in _entries(definition)}
        if name.endswith("-ignored"):
            assert ids == {"wrong_type"}, name
        else:
            assert {"url_and_data", "url_or_data", "base64_invalid"} <= ids, name


def test_the_image_schema_is_the_shared_item_definition() -> None:
    image = luma_schema.image_schema()
    definition = luma_schema.json_schema()["$defs"]["image"]
    assert {k: v for k, v in image.items() if k != "$schema"} == definition
    validator = Draft202012Validator(image)
    assert validator.is_valid({"url": "https://example.com/a.png"})
    assert validator.is_valid({"generation_id": UUID})
    assert not validator.is_valid({"url": "https://example.com/a.png", "data": "QUJD"})
    assert not validator.is_valid({"generation_id": UUID, "file_id": UUID})


def test_results_are_cached_copies() -> None:
    first = luma_schema.json_schema()
    first["properties"].clear()
    assert luma_schema.json_schema()["properties"]
    doc = luma_schema.openapi()
    doc["paths"].clear()
    assert luma_schema.openapi()["paths"]
    types = typeschema.request_types_schema()
    types["$defs"].clear()
    assert typeschema.request_types_schema()["$defs"]


# ---------------------------------------------------------------- rules the schema states by name


def _same_length_catalogue(bound: int | None) -> tuple[Catalogue, SameLength]:
    """A catalogue of two arrays whose lengths must match, bounded by a Length rule or not."""
    rule = SameLength("same", 422, "{field}: must match {other} in length", field="b", other="a")
    fields = (
        Field("prompt", JsonType.STRING),
        Field("a", JsonType.ARRAY, nullable=True, default=None, items=JsonType.STRING),
        Field("b", JsonType.ARRAY, nullable=True, default=None, items=JsonType.INTEGER),
    )
    base = tuple(r for r in CAT.rules if r.scope in (Scope.BODY, Scope.TYPES))
    length = (Length("a_count", 400, "{field}: too many", field="a", max=bound),) if bound else ()
    return Catalogue(fields, (*base, *length, rule)), rule


def test_equal_lengths_are_exact_up_to_the_bound() -> None:
    cat, rule = _same_length_catalogue(5)
    assert exporter.same_length_bound(rule, cat) == 5
    assert exporter.expressibility(rule, cat) is Expressible.EXACT
    schema = exporter.json_schema(cat)
    python_validator = Draft202012Validator(schema)
    rust_validator = jsonschema_rs.validator_for(schema)
    engine = luma_schema.engine.Engine(cat)
    for a, b in itertools.product([None, *range(7)], repeat=2):
        body: dict[str, Any] = {"prompt": "x"}
        if a is not None:
            body["a"] = ["x"] * a
        if b is not None:
            body["b"] = list(range(b))
        verdict = engine.check(body).ok
        assert python_validator.is_valid(body) is verdict, body
        assert rust_validator.is_valid(body) is verdict, body


def test_equal_lengths_without_a_bound_are_not_stated() -> None:
    cat, rule = _same_length_catalogue(None)
    assert exporter.expressibility(rule, cat) is Expressible.NO
    schema = exporter.json_schema(cat)
    assert "minItems" not in json.dumps(schema)
    assert Draft202012Validator(schema).is_valid({"prompt": "x", "a": ["x"], "b": []})
    assert rule.id in markdown.markdown(cat).split("## What JSON Schema cannot state exactly")[1]


# What uuid.UUID() reads besides the 32 digits: the spellings SPEC-live names, and the ones
# int(..., 16) and the removals allow.
_UUID_SPELLINGS = [
    "{hex}",
    "{hyphenated}",
    "{{{hyphenated}}}",
    "urn:uuid:{hyphenated}",
    "urn:uuid:{hex}",
    "{hyphenated_upper}",
    "0x{hex30}",
    "+{hex31}",
    " {hex31}",
    "{hex31}\n",
    "1_{hex30}",
    "\u0661{hex31}",
    "\u3000{hex31}",
    "uuiurn:d:{hex}",
    "{hex5}--------{hex27}",
]


@settings(max_examples=200, deadline=None, database=None)
@given(st.uuids(), st.sampled_from(_UUID_SPELLINGS))
def test_every_id_uuid_reads_matches_the_pattern(value: uuid.UUID, spelling: str) -> None:
    """The pattern is a superset of what the engine accepts (the rule is approximate)."""
    text = spelling.format(
        hex=value.hex,
        hex30=value.hex[:30],
        hex31=value.hex[:31],
        hex5=value.hex[:5],
        hex27=value.hex[5:],
        hyphenated=str(value),
        hyphenated_upper=str(value).upper(),
    )
    uuid.UUID(text)  # the engine reads it
    assert re.match(patterns.UUID_PATTERN, text)
    validator = jsonschema_rs.validator_for({"type": "string", "pattern": patterns.UUID_PATTERN})
    assert validator.is_valid(text)


def test_the_uuid_pattern_refuses_what_is_plainly_no_uuid() -> None:
    for text in ("", "gen_12345", "z" * 40, UUID[:30], f"{UUID}!", f"file-{UUID}"):
        with pytest.raises(ValueError):
            uuid.UUID(text)
        assert not re.match(patterns.UUID_PATTERN, text), text


# ---------------------------------------------------------------- the response


def test_generation_schema_accepts_the_documented_responses() -> None:
    generation = {
        "id": UUID,
        "type": "image_edit",
        "state": "completed",
        "model": "uni-1",
        "created_at": "2026-04-08T12:00:00Z",
        "output": [{"type": "image", "url": "https://storage.example.com/x.png"}],
        "failure_reason": None,
        "failure_code": None,
    }
    layered = {
        **generation,
        "type": "layering",
        "output": [
            {
                "type": "image",
                "url": "https://storage.example.com/0.png",
                "layer": {"alpha_hint": "soft", "description": "a boat", "index": 0, "label": "boat"},
            }
        ],
    }
    validator = Draft202012Validator(exporter.generation_schema())
    assert validator.is_valid(generation)
    assert validator.is_valid(layered)
    luma_schema.Generation.model_validate(generation)
    assert not validator.is_valid({**generation, "state": "done"})
    assert not validator.is_valid({**generation, "failure_code": "oops"})
    wrong_layer = {**layered, "output": [{**layered["output"][0], "layer": {"index": 0}}]}
    assert not validator.is_valid(wrong_layer)


# ---------------------------------------------------------------- OpenAPI


def test_openapi_document_is_valid_openapi_3_1() -> None:
    document = luma_schema.openapi()
    validate_openapi(document)
    assert document["openapi"].startswith("3.1")


def test_openapi_documents_every_status_and_header() -> None:
    document = luma_schema.openapi()
    post = document["paths"][catalog.ENDPOINT]["post"]
    get = document["paths"][catalog.ENDPOINT + "/{id}"]["get"]
    statuses = {str(r.status) for r in catalog.RULES}
    assert set(post["responses"]) == {"201", "401", *statuses}
    assert set(get["responses"]) == {"200", "401", "404"}
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["detail"]
    assert error["properties"]["detail"] == {"type": "string"}
    for code, response in [*post["responses"].items(), *get["responses"].items()]:
        assert set(response["headers"]) == {"X-Request-Id", "X-API-Version"}
        if code in statuses:
            examples = response["content"]["application/json"]["examples"]
            ids = {r.id for r in catalog.RULES if str(r.status) == code}
            assert set(examples) == ids
    assert document["components"]["headers"]["X-API-Version"]["schema"]["const"] == (
        catalog.API_VERSION
    )
    text = json.dumps(document)
    assert "#/$defs/" not in text
    assert all(t in post["summary"] for t in catalog.TYPES)


def test_openapi_schemas_are_the_types_schemas() -> None:
    """What code generators read: the request body is the types schema (a request body, so that
    openapi-typescript keeps defaulted fields optional), with one named Image and a named type
    for each other object."""
    document = luma_schema.openapi()
    post = document["paths"][catalog.ENDPOINT]["post"]
    assert post["requestBody"] == {"$ref": "#/components/requestBodies/GenerationRequest"}
    body = document["components"]["requestBodies"]["GenerationRequest"]
    assert body["required"] is True
    request = body["content"]["application/json"]["schema"]
    types = typeschema.request_types_schema()
    defs = types.pop("$defs")
    moved = json.loads(json.dumps(defs).replace("#/$defs/", "#/components/schemas/"))
    expected = json.loads(
        json.dumps({k: v for k, v in types.items() if k != "$schema"}).replace(
            "#/$defs/", "#/components/schemas/"
        )
    )
    assert request == expected
    schemas = document["components"]["schemas"]
    assert set(schemas) == {*defs, "Generation", "GenerationOutput", "Layer", "Error"}
    for name in defs:
        assert schemas[name] == moved[name]
    image = {"$ref": "#/components/schemas/Image"}
    assert request["properties"]["source"]["anyOf"] == [image, {"type": "null"}]
    assert request["properties"]["image_ref"]["items"] == image
    generation = schemas["Generation"]
    assert generation["properties"]["output"]["items"] == {
        "$ref": "#/components/schemas/GenerationOutput"
    }
    for schema in schemas.values():
        Draft202012Validator.check_schema(schema)
    Draft202012Validator.check_schema(request)


# ---------------------------------------------------------------- the types schema


def test_types_schema_holds_what_every_request_can_hold() -> None:
    types = typeschema.request_types_schema()
    Draft202012Validator.check_schema(types)
    properties = types["properties"]
    assert list(properties) == [f.name for f in catalog.FIELDS]
    unconditional = [
        r.field
        for r in catalog.RULES
        if isinstance(r, Required) and "." not in r.field and not _conditional(r)
    ]
    assert types.get("required", []) == unconditional
    assert types["additionalProperties"] is False
    for field in catalog.FIELDS:
        node = properties[field.name]
        if field.default is MISSING:
            assert "default" not in node
        else:
            default = list(field.default) if isinstance(field.default, tuple) else field.default
            assert node["default"] == default
        assert ("anyOf" in node) is field.nullable
    image = types["$defs"][typeschema.IMAGE_TYPE]
    assert image["title"] == typeschema.IMAGE_TYPE and image["additionalProperties"] is False
    assert list(image["properties"]) == [m.name for m in CAT.reference_members]
    image_ref = {"$ref": f"#/$defs/{typeschema.IMAGE_TYPE}"}
    for path, field in CAT.paths.items():
        parent, _, name = path.rpartition(".")
        holder = types["$defs"][typeschema.type_name(parent)] if parent else types
        node = holder["properties"][name]
        node = node["anyOf"][0] if "anyOf" in node else node
        if field.reference:
            assert (node["items"] if field.items is not None else node) == image_ref, path
        elif field.members is not None:
            assert node == {"$ref": f"#/$defs/{typeschema.type_name(path)}"}, path
            own = types["$defs"][typeschema.type_name(path)]
            assert list(own["properties"]) == [m.name for m in field.members]
            assert own["additionalProperties"] is False


def test_types_state_limits_as_the_union_over_cases() -> None:
    """A field whose enum or bounds depend on the request holds what some case allows: the
    aspect ratios of every model, the longest prompt of every type."""
    types = typeschema.request_types_schema()
    ratios = [r for r in catalog.RULES if isinstance(r, OneOf) and r.field == "aspect_ratio"]
    assert len(ratios) > 1 and all(_conditional(r) for r in ratios)
    union = list(dict.fromkeys(v for r in ratios for v in r.values))
    assert types["properties"]["aspect_ratio"]["anyOf"][0]["enum"] == union
    prompts = [r for r in catalog.RULES if isinstance(r, Length) and r.field == "prompt"]
    assert types["properties"]["prompt"]["maxLength"] == max(r.max for r in prompts)
    assert "minLength" not in types["properties"]["prompt"]  # layering takes an empty prompt
    # A member required only where its object is given: required in the object's type.
    for rule in catalog.RULES:
        if isinstance(rule, Required) and rule.when == (Condition(rule.field.rpartition(".")[0]),):
            parent, _, name = rule.field.rpartition(".")
            assert name in types["$defs"][typeschema.type_name(parent)]["required"]
    # Item bounds without conditions are the items' own.
    for rule in catalog.RULES:
        if isinstance(rule, ItemsRange) and not _conditional(rule):
            parent, _, name = rule.field.rpartition(".")
            items = types["$defs"][typeschema.type_name(parent)]["properties"][name]
            items = items["anyOf"][0]["items"]
            for key, bound in (("minimum", rule.min), ("maximum", rule.max)):
                assert items.get(key) == bound


def test_types_schema_accepts_the_valid_examples() -> None:
    validator = Draft202012Validator(typeschema.request_types_schema())
    for path in sorted((ROOT / "examples" / "valid").glob("*.json")):
        assert validator.is_valid(json.loads(path.read_bytes())), path.name


# Kinds the types state as keywords (type, enum, required, lengths, bounds) where the rule has no
# conditions; every other rule is named, with its status and message, in the description of what
# it reads.
_STATED = (JsonBody, JsonTypes, OneOf, Required, Length, Range, ItemsRange)


def test_types_schema_describes_the_rules_it_cannot_state() -> None:
    types = typeschema.request_types_schema()
    descriptions = [node["description"] for node in _walk(types) if "description" in node]
    for rule in catalog.RULES:
        parent = getattr(rule, "field", "").rpartition(".")[0]
        if isinstance(rule, _STATED) and (
            not _conditional(rule) or (rule.when == (Condition(parent),) and not rule.unless)
        ):
            continue
        note = f'{rule.status} "{exporter.rule_entry(rule)["message"]}"'
        assert any(note in text for text in descriptions), rule.id


# ---------------------------------------------------------------- any catalogue

SEED = Range("seed_range", 400, "{field} must be between {min} and {max}", field="seed", min=0, max=9)
ONLY_VIDEO = NotTogether(
    "seed_video",
    422,
    "{field}: only valid for type 'video'",
    field="seed",
    tests=(Condition("seed"), Condition("type", ("video",), negated=True)),
)
EXTENDED = CAT.extended(
    fields=(Field("seed", JsonType.INTEGER, nullable=True, default=None),),
    rules=(SEED, ONLY_VIDEO),
    library_messages=frozenset({"seed_range", "seed_video"}),
)


def test_every_exporter_reads_the_catalogue_it_is_given() -> None:
    schema = exporter.json_schema(EXTENDED)
    assert schema["properties"]["seed"]["maximum"] == SEED.max
    validator = Draft202012Validator(schema)
    video = {"model": "ray-3.2", "type": "video", "prompt": "x"}
    assert validator.is_valid({**video, "seed": 3})
    assert not validator.is_valid({**video, "seed": 10})
    assert not validator.is_valid({"prompt": "x", "seed": 3})
    types = typeschema.request_types_schema(EXTENDED)
    assert types["properties"]["seed"]["anyOf"][0] == {"type": "integer", "minimum": 0, "maximum": 9}
    document = openapi_exporter.openapi(EXTENDED)
    assert "seed_video" in document["paths"][catalog.ENDPOINT]["post"]["responses"]["422"][
        "content"
    ]["application/json"]["examples"]
    text = markdown.markdown(EXTENDED)
    assert "| `seed` | integer or null |" in text and "`seed_video`" in text
    # The API's own documents are unchanged (and still the cached ones).
    assert "seed" not in luma_schema.json_schema()["properties"]
    assert "seed" not in typeschema.request_types_schema()["properties"]
    assert "seed_video" not in markdown.markdown()
    assert markdown.markdown() is markdown.markdown()


# ---------------------------------------------------------------- Markdown


def _table_rows(text: str, heading: str) -> list[list[str]]:
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    rows = []
    for line in text[start : end if end >= 0 else None].splitlines():
        if line.startswith("|") and not line.startswith("|---") and not line.startswith("| ---"):
            cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
            rows.append([c.strip().replace("\\|", "|") for c in cells])
    return rows[1:]


def _seed_rows() -> list[tuple[str, int, str]]:
    """The seed guide's "Common validation errors" rows: the original when it sits beside the
    project, else the copy committed under tests/data (a test keeps the two equal)."""
    seed = SHARED / "spec" / "000_27c8dffbca646dc0.txt"
    text = seed.read_text(encoding="utf-8") if seed.exists() else ""
    if text:
        text = text[text.index("**Common validation errors:**") : text.index("## Response")]
    else:
        text = (DATA / "seed_common_errors.md").read_text(encoding="utf-8")
    found = re.findall(r"\|\s*([^|]+?)\s*\|\s*(\d{3})\s*\|\s*`\"([^`]*)\"`\s*\|", text)
    return [(mistake, int(code), error) for mistake, code, error in found]


def test_committed_seed_copy_matches_the_original() -> None:
    copy_rows = re.findall(
        r"\|\s*([^|]+?)\s*\|\s*(\d{3})\s*\|\s*`\"([^`]*)\"`\s*\|",
        (DATA / "seed_common_errors.md").read_text(encoding="utf-8"),
    )
    assert len(copy_rows) == 7
    assert [(m, int(c), e) for m, c, e in copy_rows] == _seed_rows()


def test_the_seed_common_errors_appear_in_the_generated_table() -> None:
    rows = _table_rows(markdown.markdown(), "## Common validation errors")
    generated = {(row[0], int(row[1]), row[2]) for row in rows}
    seed = _seed_rows()
    assert len(seed) == 7
    for mistake, code, error in seed:
        # The guide's mistake, status and error, on one row (guide-era strings carry a mark).
        assert any(
            (mistake, code) == (m, c) and e.startswith(f'`"{error}"`') for m, c, e in generated
        ), (mistake, code, error)


def test_common_errors_cover_every_rule_and_mark_library_and_guide_era_strings() -> None:
    rows = _table_rows(markdown.markdown(), "## Common validation errors")
    expected: list[tuple[Rule, str]] = []
    for rule in catalog.RULES:
        if isinstance(rule, RequiredFor) and rule.among:
            expected += [(rule, rule.render(equals=v)) for v in rule.among]
        else:
            expected.append((rule, ""))
    assert len(rows) == len(expected)
    for (rule, message), (_, code, error) in zip(expected, rows, strict=True):
        assert int(code) == rule.status
        assert (markdown.LIBRARY_MARK in error) == (rule.id in catalog.LIBRARY_MESSAGES)
        assert (markdown.GUIDE_ERA_MARK in error) == (rule.id in catalog.GUIDE_ERA_MESSAGES)
        if message:
            assert error.startswith(f'`"{message}"`')


def test_the_guide_era_strings_are_listed() -> None:
    rows = _table_rows(markdown.markdown(), "## Strings of the guide's era")
    assert [r[0].strip("`") for r in rows] == [
        r.id for r in catalog.RULES if r.id in catalog.GUIDE_ERA_MESSAGES
    ]
    for rule_id, message in rows:
        rule = catalog.rule(rule_id.strip("`"))
        assert message == f'`"{rule.render("source")}"`'


def _spec_rows() -> list[list[str]]:
    spec = SHARED / "SPEC.md"
    source = spec if spec.exists() else DATA / "spec_errors.md"
    lines = [
        line
        for line in source.read_text(encoding="utf-8").splitlines()
        if re.match(r"^\| \d+ \| `", line)
    ]
    return [[c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]] for line in lines]


def test_committed_spec_copy_matches_the_original() -> None:
    copy_lines = [
        line
        for line in (DATA / "spec_errors.md").read_text(encoding="utf-8").splitlines()
        if re.match(r"^\| \d+ \| `", line)
    ]
    assert len(copy_lines) == 24
    rows = [[c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]] for line in copy_lines]
    assert rows == _spec_rows()


def test_the_spec_rows_keep_their_order_and_marks() -> None:
    """The catalogue grew around the guide's 24 rules: they keep their relative order, and a
    guide rule is library wording exactly when the guide's table says so."""
    rows = _spec_rows()
    ids = [r.id for r in catalog.RULES]
    spec_ids = [row[1].strip("`") for row in rows]
    assert [i for i in ids if i in spec_ids] == spec_ids
    lib = {row[1].strip("`") for row in rows if row[5].startswith("lib")}
    assert lib == catalog.LIBRARY_MESSAGES & set(spec_ids)


def test_rules_table_lists_each_rule_with_status_and_expressibility() -> None:
    rows = _table_rows(markdown.markdown(), "## Validation rules")
    assert [(r[1].strip("`"), int(r[3]), r[5]) for r in rows] == [
        (r.id, r.status, exporter.expressibility(r).value) for r in catalog.RULES
    ]


def test_docs_list_warnings_and_loose_rules() -> None:
    text = markdown.markdown()
    warnings = _table_rows(text, "## Warnings")
    assert [w[0].strip("`") for w in warnings] == [a.id for a in catalog.ADVICE]
    loose = _table_rows(text, "## What JSON Schema cannot state exactly")
    assert [(r[0].strip("`"), r[1], r[2]) for r in loose] == [
        (r.id, exporter.expressibility(r).value, exporter.LIMITS[type(r)])
        for r in catalog.RULES
        if exporter.expressibility(r) is not Expressible.EXACT
    ]


def test_fields_table_follows_the_catalogue() -> None:
    text = markdown.markdown()
    rows = _table_rows(text, "## Fields")
    names = [r[0].strip("`") for r in rows if r[0] != "Member"]
    assert names == [*CAT.paths, *(m.name for m in CAT.reference_members)]
    shown = {r[0].strip("`"): r[5] for r in rows if r[0] != "Member" and len(r) == 7}
    for path, field in CAT.paths.items():
        assert shown[path] == ("always" if field.shown else "when given"), path
    models = _table_rows(text, "## Models and types")
    rule = catalog.rule("type_unsupported")
    assert isinstance(rule, OneOfFor)
    assert [(m.strip("`"), t.replace("`", "").split(", ")) for m, t in models] == [
        (model, list(types)) for model, types in rule.by
    ]


# ---------------------------------------------------------------- committed files and the CLI


def test_committed_files_are_up_to_date() -> None:
    expected = {ROOT / "schemas" / name: text for name, text in files.schema_texts().items()}
    expected[ROOT / "docs" / "validation.md"] = files.docs_text()
    assert files.drift(expected) == ""
    for name in files.schema_texts():
        Draft202012Validator.check_schema(json.loads((ROOT / "schemas" / name).read_text()))


def _cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "luma_schema", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        timeout=60,
    )


def test_cli_check_passes_on_the_committed_files() -> None:
    schema = _cli("schema", "--check")
    docs = _cli("docs", "--check")
    assert (schema.returncode, schema.stdout) == (0, "")
    assert (docs.returncode, docs.stdout) == (0, "")


def test_cli_schema_writes_then_detects_drift(tmp_path: Path) -> None:
    out = tmp_path / "s"
    assert _cli("schema", "--out", str(out)).returncode == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(files.schema_texts())
    assert _cli("schema", "--out", str(out), "--check").returncode == 0
    target = out / "generation-request.schema.json"
    target.write_text(target.read_text().replace('"maxLength": 256,', '"maxLength": 257,'))
    drifted = _cli("schema", "--out", str(out), "--check")
    assert drifted.returncode == 1
    assert '-      "maxLength": 257,' in drifted.stdout
    assert '+      "maxLength": 256,' in drifted.stdout
    assert "(from the catalogue)" in drifted.stdout
    assert "luma-schema schema" in drifted.stderr


def test_cli_docs_drift_missing_file_and_io_error(tmp_path: Path) -> None:
    target = tmp_path / "v.md"
    missing = _cli("docs", "--out", str(target), "--check")
    assert missing.returncode == 1 and "+## Common validation errors" in missing.stdout
    assert _cli("docs", "--out", str(target)).returncode == 0
    assert target.read_text(encoding="utf-8") == markdown.markdown()
    assert _cli("docs", "--out", str(target), "--check").returncode == 0
    unreadable = _cli("docs", "--out", str(tmp_path), "--check")
    assert unreadable.returncode == 2 and "luma-schema:" in unreadable.stderr
    blocked = tmp_path / "file"
    blocked.write_text("x")
    assert _cli("schema", "--out", str(blocked / "sub")).returncode == 2
