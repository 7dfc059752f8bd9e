"""The exporters: JSON Schema, OpenAPI and Markdown, generated from the catalogue."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import jsonschema_rs
import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi

import luma_schema
from luma_schema import catalog, media
from luma_schema.export import files, markdown, typeschema
from luma_schema.export import jsonschema as exporter
from luma_schema.rules import (
    MISSING,
    Catalogue,
    Expressible,
    JsonBody,
    JsonTypes,
    Length,
    MaxBytes,
    OneOf,
    Required,
    Rule,
    Scope,
)

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared"
DATA = Path(__file__).resolve().parent / "data"


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


# ---------------------------------------------------------------- exhaustive by construction


def test_every_rule_kind_has_an_exporter_and_a_description() -> None:
    kinds = set(exporter.rule_kinds())
    assert kinds == set(exporter.EXPORTERS) == set(markdown.MISTAKES)
    assert {type(r) for r in catalog.RULES} <= kinds


def test_a_kind_without_an_exporter_is_named() -> None:
    @dataclass(frozen=True, slots=True, repr=False)
    class Novel(Rule):
        scope: ClassVar[Scope] = Scope.REQUEST

    assert exporter.unmapped([*exporter.rule_kinds(), Novel], exporter.EXPORTERS) == ["Novel"]


def test_importing_the_exporters_fails_for_a_kind_without_a_function() -> None:
    script = (
        "from dataclasses import dataclass\n"
        "from luma_schema import rules\n"
        "@dataclass(frozen=True, slots=True, repr=False)\n"
        "class Novel(rules.Rule):\n"
        "    pass\n"
        "rules.Novel = Novel\n"
        "rules.__all__.append('Novel')\n"
        "import luma_schema.export.jsonschema\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert proc.returncode == 1
    assert "TypeError: the JSON Schema exporter has no function for rule kinds ['Novel']" in (
        proc.stderr
    )


def test_every_rule_is_noted_with_its_status_and_expressibility() -> None:
    entries = _entries(luma_schema.json_schema())
    for rule in catalog.RULES:
        mine = [e for e in entries if e["id"] == rule.id]
        assert mine, rule.id
        for entry in mine:
            assert entry["status"] == rule.status
            assert entry["expressible"] == rule.expressible.value
            # The noted message is the rule's template, parameters filled, some echoes too.
            template = rule.message.format(
                **rule.params(),
                **{n: "{" + n + "}" for n in ("path", "value", "model", "code", "expected")},
            )
            pattern = re.sub(r"\\\{[a-z_]+\\\}", ".+", re.escape(template))
            assert re.fullmatch(pattern, entry["message"]), (entry["message"], template)


def test_rules_not_exactly_expressible_are_explained() -> None:
    loose = {r.id for r in catalog.RULES if r.expressible is not Expressible.EXACT}
    assert loose == {"url_not_fetchable", "url_fetch_failed", "url_http_error"}
    assert {type(catalog.rule(i)) for i in loose} <= set(exporter.LIMITS)


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
    cat = catalog.CATALOGUE
    capped = Catalogue(
        cat.fields,
        tuple(rule if r.id == rule.id else r for r in cat.rules),
        cat.advice,
        cat.library_messages,
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


def test_type_conditions_count_the_default() -> None:
    conditions = luma_schema.json_schema()["allOf"]
    by_rule = {c[exporter.VENDOR_KEYWORD][0]["id"]: c for c in conditions}
    # `type` defaults to "image": the image-only rule needs no `required`, the edit rule does.
    assert "required" not in by_rule["image_ref_max"]["if"]
    assert by_rule["image_ref_edit_max"]["if"]["required"] == ["type"]
    assert set(by_rule) == {
        "source_required",
        "source_forbidden",
        "image_ref_edit_max",
        "image_ref_max",
        "manga_portrait",
    }


def test_enums_and_defaults_come_from_the_catalogue() -> None:
    properties = luma_schema.json_schema()["properties"]
    assert list(properties) == [f.name for f in catalog.FIELDS]
    assert properties["model"]["enum"] == list(catalog.MODELS)
    assert properties["aspect_ratio"]["enum"] == [*catalog.ASPECT_RATIOS, None]
    for field in catalog.FIELDS:
        if field.name == "prompt":
            assert "default" not in properties[field.name]
        else:
            default = properties[field.name]["default"]
            assert luma_schema.check({"prompt": "x", field.name: default}).ok


def test_results_are_cached_copies() -> None:
    first = luma_schema.json_schema()
    first["properties"].clear()
    assert luma_schema.json_schema()["properties"]
    doc = luma_schema.openapi()
    doc["paths"].clear()
    assert luma_schema.openapi()["paths"]


def test_image_schema_is_the_definition() -> None:
    image = luma_schema.image_schema()
    definition = luma_schema.json_schema()["$defs"]["image"]
    assert {k: v for k, v in image.items() if k != "$schema"} == definition
    validator = Draft202012Validator(image)
    assert validator.is_valid({"url": "https://example.com/a.png"})
    assert not validator.is_valid({"url": "https://example.com/a.png", "data": "QUJD"})


def test_generation_schema_accepts_the_documented_response() -> None:
    generation = {
        "id": "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
        "type": "image_edit",
        "state": "completed",
        "model": "uni-1",
        "created_at": "2026-04-08T12:00:00Z",
        "output": [{"type": "image", "url": "https://storage.example.com/x.png"}],
        "failure_reason": None,
        "failure_code": None,
    }
    validator = Draft202012Validator(exporter.generation_schema())
    assert validator.is_valid(generation)
    luma_schema.Generation.model_validate(generation)
    assert not validator.is_valid({**generation, "state": "done"})
    assert not validator.is_valid({**generation, "failure_code": "oops"})


# ---------------------------------------------------------------- OpenAPI


def test_openapi_document_is_valid_openapi_3_1() -> None:
    document = luma_schema.openapi()
    validate_openapi(document)
    assert document["openapi"].startswith("3.1")


def test_openapi_documents_every_status_and_header() -> None:
    document = luma_schema.openapi()
    post = document["paths"][catalog.ENDPOINT]["post"]
    get = document["paths"][catalog.ENDPOINT + "/{id}"]["get"]
    assert set(post["responses"]) == {"201", "400", "401", "413", "422"}
    assert set(get["responses"]) == {"200", "401", "404"}
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["detail"]
    assert error["properties"]["detail"] == {"type": "string"}
    statuses = {str(r.status) for r in catalog.RULES}
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


def test_openapi_schemas_are_the_types_schemas() -> None:
    """What code generators read: the request body is the types schema (a request body, so that
    openapi-typescript keeps defaulted fields optional), with one named Image."""
    document = luma_schema.openapi()
    post = document["paths"][catalog.ENDPOINT]["post"]
    assert post["requestBody"] == {"$ref": "#/components/requestBodies/GenerationRequest"}
    body = document["components"]["requestBodies"]["GenerationRequest"]
    assert body["required"] is True
    request = body["content"]["application/json"]["schema"]
    types = typeschema.request_types_schema()
    image = types["$defs"].pop(typeschema.IMAGE_TYPE)
    expected = json.loads(
        json.dumps({k: v for k, v in types.items() if k not in ("$schema", "$defs")}).replace(
            "#/$defs/", "#/components/schemas/"
        )
    )
    assert request == expected
    schemas = document["components"]["schemas"]
    assert set(schemas) == {"Image", "Generation", "GenerationOutput", "Error"}
    assert schemas["Image"] == image
    assert request["properties"]["source"]["anyOf"] == [
        {"$ref": "#/components/schemas/Image"},
        {"type": "null"},
    ]
    assert request["properties"]["image_ref"]["items"] == {"$ref": "#/components/schemas/Image"}
    generation = schemas["Generation"]
    assert generation["properties"]["output"]["items"] == {
        "$ref": "#/components/schemas/GenerationOutput"
    }
    for schema in schemas.values():
        Draft202012Validator.check_schema(schema)
    Draft202012Validator.check_schema(request)


# ---------------------------------------------------------------- the types schema


def test_every_rule_kind_has_a_types_exporter() -> None:
    assert set(typeschema.TYPE_EXPORTERS) == set(exporter.rule_kinds())


def test_importing_the_types_exporter_fails_for_a_kind_without_a_function() -> None:
    script = (
        "from dataclasses import dataclass\n"
        "from luma_schema import rules\n"
        "import luma_schema.export.jsonschema as j\n"
        "@dataclass(frozen=True, slots=True, repr=False)\n"
        "class Novel(rules.Rule):\n"
        "    pass\n"
        "rules.Novel = Novel\n"
        "rules.__all__.append('Novel')\n"
        "import luma_schema.export.typeschema\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert proc.returncode == 1
    assert "the types schema exporter has no function for rule kinds ['Novel']" in proc.stderr


def test_types_schema_holds_what_every_request_can_hold() -> None:
    types = typeschema.request_types_schema()
    Draft202012Validator.check_schema(types)
    properties = types["properties"]
    assert list(properties) == [f.name for f in catalog.FIELDS]
    assert types["required"] == [r.field for r in catalog.RULES if isinstance(r, Required)]
    assert types["additionalProperties"] is False
    for field in catalog.FIELDS:
        node = properties[field.name]
        if field.default is MISSING:
            assert "default" not in node
        else:
            default = list(field.default) if isinstance(field.default, tuple) else field.default
            assert node["default"] == default
        assert ("anyOf" in node) is field.nullable
    for rule in catalog.RULES:
        if isinstance(rule, OneOf):
            node = properties[rule.field]
            node = node["anyOf"][0] if "anyOf" in node else node
            assert node["enum"] == list(rule.values)
    image = types["$defs"][typeschema.IMAGE_TYPE]
    assert image["title"] == typeschema.IMAGE_TYPE and image["additionalProperties"] is False
    assert list(image["properties"]) == [m.name for m in catalog.IMAGE_MEMBERS]
    image_ref = {"$ref": f"#/$defs/{typeschema.IMAGE_TYPE}"}
    assert properties["source"]["anyOf"] == [image_ref, {"type": "null"}]
    assert properties["image_ref"]["items"] == image_ref


# Kinds the types state as keywords (type, enum, required, lengths); every other rule is named,
# with its status and message, in the description of what it reads.
_STATED = (JsonBody, JsonTypes, OneOf, Required, Length)


def test_types_schema_describes_the_rules_it_cannot_state() -> None:
    types = typeschema.request_types_schema()
    descriptions = [node["description"] for node in _walk(types) if "description" in node]
    for rule in catalog.RULES:
        if isinstance(rule, _STATED):
            continue
        note = f'{rule.status} "{exporter.rule_entry(rule)["message"]}"'
        assert any(note in text for text in descriptions), rule.id


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
    generated = {(int(code), error) for _, code, error in rows}
    seed = _seed_rows()
    assert len(seed) == 7
    for mistake, code, error in seed:
        assert (code, f'`"{error}"`') in generated, (mistake, code, error)
    # The mistakes read as the guide's too.
    mistakes = {row[0] for row in rows}
    assert sum(m in mistakes for m, _, _ in seed) == 7


def test_common_errors_cover_every_rule_and_mark_library_strings() -> None:
    rows = _table_rows(markdown.markdown(), "## Common validation errors")
    assert len(rows) == len(catalog.RULES)
    for rule, (_, code, error) in zip(catalog.RULES, rows, strict=True):
        assert int(code) == rule.status
        assert error.endswith(markdown.LIBRARY_MARK) == (rule.id in catalog.LIBRARY_MESSAGES)


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


def test_library_messages_are_the_spec_lib_rows() -> None:
    rows = _spec_rows()
    assert [row[1].strip("`") for row in rows] == [r.id for r in catalog.RULES]
    lib = {row[1].strip("`") for row in rows if row[5].startswith("lib")}
    assert lib == catalog.LIBRARY_MESSAGES


def test_rules_table_lists_each_rule_with_status_and_expressibility() -> None:
    rows = _table_rows(markdown.markdown(), "## Validation rules")
    assert [(r[1].strip("`"), int(r[3]), r[5]) for r in rows] == [
        (r.id, r.status, r.expressible.value) for r in catalog.RULES
    ]


def test_docs_list_warnings_and_loose_rules() -> None:
    text = markdown.markdown()
    warnings = _table_rows(text, "## Warnings")
    assert [w[0].strip("`") for w in warnings] == [a.id for a in catalog.ADVICE]
    loose = _table_rows(text, "## What JSON Schema cannot state exactly")
    assert [(r[0].strip("`"), r[1]) for r in loose] == [
        (r.id, r.expressible.value) for r in catalog.RULES if r.expressible is not Expressible.EXACT
    ]


def test_fields_table_follows_the_catalogue() -> None:
    rows = _table_rows(markdown.markdown(), "## Fields")
    names = [r[0].strip("`") for r in rows if r[0] != "Member"]
    assert names == [f.name for f in catalog.FIELDS] + [m.name for m in catalog.IMAGE_MEMBERS]


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
    target.write_text(target.read_text().replace('"maxLength": 6000', '"maxLength": 6001'))
    drifted = _cli("schema", "--out", str(out), "--check")
    assert drifted.returncode == 1
    assert '-      "maxLength": 6001,' in drifted.stdout
    assert '+      "maxLength": 6000,' in drifted.stdout
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
