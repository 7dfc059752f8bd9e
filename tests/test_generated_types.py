"""Code generated from the exported schemas is usable: TypeScript from json-schema-to-typescript and
openapi-typescript (checked by ``tsc --strict``), pydantic models from datamodel-code-generator.

Valid requests (the examples, and requests built from the catalogue's defaults) have the types;
obviously wrong requests (a misspelled, mistyped or unknown field, option or reference member,
at every path of the catalogue) do not.  The TypeScript half needs node and npm: the packages of
tests/typegen/package-lock.json are installed on first use.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from export_cases import VALID, examples

import luma_schema
from luma_schema import catalog
from luma_schema.export import jsonschema, typeschema
from luma_schema.rules import MISSING, JsonType, OneOf, Required

ROOT = Path(__file__).resolve().parents[1]
TYPEGEN = ROOT / "tests" / "typegen"
URL = "https://example.com/a.png"

# ---------------------------------------------------------------- the requests, from the catalogue

CAT = catalog.CATALOGUE
# The request's own required fields (prompt: required but for layering, a condition no type
# states, so a wrong request never just lacks it).
_REQUIRED = {r.field: "x" for r in CAT.rules if isinstance(r, Required) and "." not in r.field}
_WRONG_JSON: dict[JsonType, Any] = {
    JsonType.STRING: 1,
    JsonType.BOOLEAN: "yes",
    JsonType.INTEGER: "1",  # not 1.5: TypeScript has no integer type
    JsonType.NUMBER: "1",
    JsonType.ARRAY: {},
    JsonType.OBJECT: URL,
}


def _at(path: str, value: Any) -> dict[str, Any]:
    """A request holding ``value`` at the dotted ``path`` (``video.edit.strength``)."""
    for name in reversed(path.split(".")):
        value = {name: value}
    result: dict[str, Any] = value
    return result


def valid_requests() -> list[tuple[str, dict[str, Any]]]:
    """The examples, the exporters' hand-built valid requests of every type, and requests from
    the catalogue's defaults."""
    defaults = {
        f.name: list(f.default) if isinstance(f.default, tuple) else f.default
        for f in CAT.fields
        if f.default is not MISSING
    }
    return [
        *examples(),
        *VALID,
        ("required fields only", dict(_REQUIRED)),
        ("every default written out", {**_REQUIRED, **defaults}),
        ("a URL reference", {**_REQUIRED, "image_ref": [{"url": URL}]}),
        (
            "other members null",
            {
                **_REQUIRED,
                "image_ref": [{**{m.name: None for m in CAT.reference_members}, "url": URL}],
            },
        ),
    ]


def wrong_requests() -> list[tuple[str, dict[str, Any]]]:
    """Requests no type admits: a value outside a field's values, a wrong JSON type or null
    where null is not taken (at every path, nested options included), an unknown field or
    member, a required field missing."""
    wrong: list[tuple[str, dict[str, Any]]] = []
    for rule in CAT.rules:
        if isinstance(rule, OneOf):
            wrong.append(
                (f"{rule.field} not one of its values", _at(rule.field, rule.values[0] + "?"))
            )
    for path, field in CAT.paths.items():
        wrong.append((f"{path} of the wrong JSON type", _at(path, _WRONG_JSON[field.type])))
        if not field.nullable:
            wrong.append((f"{path} null", _at(path, None)))
        if field.items is not None:
            item = _WRONG_JSON[field.items]
            wrong.append((f"an item of {path} of the wrong JSON type", _at(path, [item])))
    for member in CAT.reference_members:
        wrong.append(
            (
                f"reference member {member.name} of the wrong JSON type",
                {"image_ref": [{member.name: 1}]},
            )
        )
    wrong.append(("a misspelled field", {"promt": "x"}))
    wrong.append(("a misspelled video option", {"video": {"duraton": "5s"}}))
    wrong.append(("an unknown reference member", {"image_ref": [{"uri": URL}]}))
    missing = [
        (f"{r.field} missing", {k: v for k, v in _REQUIRED.items() if k != r.field})
        for r in CAT.rules
        if isinstance(r, Required) and r.field in _REQUIRED and not r.when and not r.unless
    ]
    return [*missing, *((why, {**_REQUIRED, **body}) for why, body in wrong)]


def generation() -> dict[str, Any]:
    return {
        "id": "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
        "type": catalog.TYPES[0],
        "state": catalog.GENERATION_STATES[-1],
        "model": catalog.MODELS[0],
        "created_at": "2026-04-08T12:00:00Z",
        "output": [{"type": "image", "url": URL}],
        "failure_reason": None,
        "failure_code": None,
    }


def test_the_requests_are_what_they_claim() -> None:
    """The valid requests pass the engine; the wrong ones are refused or earn a warning (the
    server ignores an unknown field: for a typed client it is a mistake all the same)."""
    for why, body in valid_requests():
        assert luma_schema.check(body).ok, why
    for why, body in wrong_requests():
        report = luma_schema.check(body)
        assert not report.ok or report.warnings, why
    assert len(wrong_requests()) > 20


# ---------------------------------------------------------------- the types schema itself


def test_the_types_schema_accepts_every_valid_request_and_no_wrong_one() -> None:
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(typeschema.request_types_schema())
    for why, body in valid_requests():
        assert validator.is_valid(body), why
    for why, body in wrong_requests():
        assert not validator.is_valid(body), why


# ---------------------------------------------------------------- TypeScript


def _node() -> tuple[str, str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip(
            "node and npm are needed to generate and type-check TypeScript: install Node.js 18 "
            "or newer with npm (the packages then install from tests/typegen/package-lock.json)"
        )
    return node, npm


@pytest.fixture(scope="module")
def typescript(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A directory holding the exported schemas, the TypeScript generated from them, the shipped
    ajv module, and a node_modules link to tests/typegen's packages."""
    node, npm = _node()
    if not (TYPEGEN / "node_modules" / "typescript").is_dir():
        subprocess.run(
            [npm, "ci", "--prefix", str(TYPEGEN), "--no-audit", "--no-fund"],
            check=True,
            timeout=600,
        )
    work = tmp_path_factory.mktemp("typegen")
    (work / "node_modules").symlink_to(TYPEGEN / "node_modules", target_is_directory=True)
    documents = {
        "generation-request.types.schema.json": typeschema.request_types_schema(),
        "generation-request.schema.json": jsonschema.json_schema(),
        "generation.schema.json": jsonschema.generation_schema(),
        "openapi.json": luma_schema.openapi(),
    }
    for name, document in documents.items():
        (work / name).write_text(json.dumps(document), encoding="utf-8")
    for name in ("luma-ajv.mjs", "luma-ajv.d.mts"):
        shutil.copy(ROOT / "js" / name, work / name)
    subprocess.run(
        [node, str(TYPEGEN / "generate.mjs"), str(work)], cwd=work, check=True, timeout=120
    )
    yield node, work


def _literal(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _usage() -> str:
    """TypeScript that must compile: each valid request is assigned to both request types, each
    wrong one (on one line, under @ts-expect-error, which fails when the line compiles) too."""
    lines = [
        'import type { GenerationRequest, Image } from "./request.js";',
        'import type { Generation } from "./generation.js";',
        'import type { components } from "./openapi.js";',
        'import schema from "./generation-request.schema.json" with { type: "json" };',
        'import { createAjv, requestValidator, VENDOR_KEYWORD, type Verdict } from "./luma-ajv.mjs";',
        'type OpenApiRequest = components["requestBodies"]["GenerationRequest"]["content"]'
        '["application/json"];',
        'type OpenApiGeneration = components["schemas"]["Generation"];',
        'type OpenApiImage = components["schemas"]["Image"];',
        "",
        "// One named image type: source and image_ref items are both Image.",
        f"const image: Image = {_literal({'url': URL})};",
        "const same: OpenApiImage = image;",
        "const request: GenerationRequest = { prompt: 'x', source: image, image_ref: [image] };",
        "const alsoRequest: OpenApiRequest = { prompt: 'x', source: same, image_ref: [same] };",
        "const images: Image[] = [image, image];",
        "const fromList: GenerationRequest = { ...request, image_ref: images };",
        "export { request, alsoRequest, fromList };",
        "",
    ]
    for i, (why, body) in enumerate(valid_requests()):
        lines.append(f"// {why}")
        lines.append(f"export const valid{i}: GenerationRequest = {_literal(body)};")
        lines.append(f"export const openapiValid{i}: OpenApiRequest = {_literal(body)};")
    for i, (why, body) in enumerate(wrong_requests()):
        lines.append(f"// @ts-expect-error {why}")
        lines.append(f"export const wrong{i}: GenerationRequest = {_literal(body)};")
        lines.append(f"// @ts-expect-error {why}")
        lines.append(f"export const openapiWrong{i}: OpenApiRequest = {_literal(body)};")
    response, wrong_state = generation(), {**generation(), "state": "done"}
    missing = {k: v for k, v in generation().items() if k != "id"}
    lines += [
        f"export const response: Generation = {_literal(response)};",
        f"export const openapiResponse: OpenApiGeneration = {_literal(response)};",
        "// @ts-expect-error a state that is not one",
        f"export const wrongState: Generation = {_literal(wrong_state)};",
        "// @ts-expect-error a state that is not one",
        f"export const openapiWrongState: OpenApiGeneration = {_literal(wrong_state)};",
        "// @ts-expect-error the id is missing",
        f"export const noId: OpenApiGeneration = {_literal(missing)};",
        "",
        "// The ajv module's types.",
        "const check: (body: unknown) => Verdict = requestValidator(schema, createAjv({ verbose: true }));",
        "const verdict = check({ prompt: '' });",
        "export const first: string | undefined = verdict.messages[0];",
        "export const valid: boolean = verdict.valid;",
        'export const keyword: "x-luma-rules" = VENDOR_KEYWORD;',
        "// @ts-expect-error a schema is an object, not a file name",
        'requestValidator("generation-request.schema.json");',
    ]
    return "\n".join(lines) + "\n"


def test_tsc_strict_accepts_the_valid_requests_and_refuses_the_wrong_ones(
    typescript: tuple[str, Path],
) -> None:
    node, work = typescript
    (work / "check.ts").write_text(_usage(), encoding="utf-8")
    config = {
        "compilerOptions": {
            "strict": True,
            "noEmit": True,
            "target": "es2022",
            "module": "nodenext",
            "moduleResolution": "nodenext",
            "types": [],
            "resolveJsonModule": True,
            # Declarations are checked through their use here (a broken one fails a line).
            "skipLibCheck": True,
        },
        "files": ["check.ts"],
    }
    (work / "tsconfig.json").write_text(json.dumps(config), encoding="utf-8")
    (work / "package.json").write_text('{"type": "module"}', encoding="utf-8")  # an ES module
    tsc = TYPEGEN / "node_modules" / "typescript" / "bin" / "tsc"
    proc = subprocess.run(
        [node, str(tsc), "-p", str(work / "tsconfig.json")],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_ajv_module_gives_the_exact_message_and_leaves_the_body_alone(
    typescript: tuple[str, Path],
) -> None:
    node, work = typescript
    body = {"prompt": "", "type": "image_edit"}
    script = (
        'import { readFileSync } from "node:fs";\n'
        'import { requestValidator } from "./luma-ajv.mjs";\n'
        'const schema = JSON.parse(readFileSync("generation-request.schema.json", "utf8"));\n'
        "const check = requestValidator(schema);\n"
        f"const body = {_literal(body)};\n"
        "const before = JSON.stringify(body);\n"
        "const verdict = check(body);\n"
        "const ok = check({ prompt: 'x' });\n"
        "process.stdout.write(JSON.stringify({ verdict: { valid: verdict.valid, messages: "
        "verdict.messages }, same: JSON.stringify(body) === before, ok }));\n"
    )
    proc = subprocess.run(
        [node, "--input-type=module"],
        input=script,
        cwd=work,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["same"] is True
    assert out["ok"] == {"valid": True, "messages": [], "errors": []}
    assert out["verdict"]["valid"] is False
    detail = luma_schema.check(body).detail
    assert detail in out["verdict"]["messages"]
    # Both rules the body breaks, each with the API's message (the API answers the first).
    source_required = luma_schema.check({"type": "image_edit", "prompt": "x"}).detail
    assert set(out["verdict"]["messages"]) == {detail, source_required}


# ---------------------------------------------------------------- datamodel-code-generator


def _models(tmp_path: Path, name: str, text: str, kind: str) -> Any:
    """The module datamodel-code-generator writes for ``text``, imported."""
    from datamodel_code_generator import (
        DataModelType,
        Formatter,
        InputFileType,
        OpenAPIScope,
        generate,
    )

    output = tmp_path / f"{name}.py"
    options: dict[str, Any] = {}
    if kind == "openapi":
        options["openapi_scopes"] = [OpenAPIScope.Schemas, OpenAPIScope.RequestBodies]
    generate(
        text,
        input_file_type=InputFileType.OpenAPI if kind == "openapi" else InputFileType.JsonSchema,
        output=output,
        output_model_type=DataModelType.PydanticV2BaseModel,
        strict_nullable=True,
        formatters=[Formatter.BUILTIN],
        **options,
    )
    sys.path.insert(0, str(tmp_path))
    try:
        __import__(name)
        return sys.modules.pop(name)
    finally:
        sys.path.remove(str(tmp_path))


# Valid requests a strict pydantic model refuses, and why: an integer written 3.0 is an integer
# for JSON Schema (and the API), a float for pydantic's strict mode.
_STRICT_PYDANTIC_REFUSES = {"whole-valued floats as indexes"}


@pytest.mark.parametrize("kind", ["jsonschema", "openapi"])
def test_datamodel_code_generator_gives_usable_models(tmp_path: Path, kind: str) -> None:
    import pydantic

    if kind == "openapi":
        text = json.dumps(luma_schema.openapi())
    else:
        text = json.dumps(typeschema.request_types_schema())
    module = _models(tmp_path, f"luma_models_{kind}_{os.getpid()}", text, kind)
    request, image = module.GenerationRequest, module.Image
    # One named image type: source is an Image or None, image_ref a list of Images.
    fields = request.model_fields
    assert fields["source"].annotation == image | None
    assert fields["image_ref"].annotation == list[image]
    # Every field is optional: the type has a default, and layering takes no prompt.
    assert not fields["type"].is_required() and not fields["prompt"].is_required()
    for why, body in valid_requests():
        if why in _STRICT_PYDANTIC_REFUSES:
            continue
        model = request.model_validate_json(json.dumps(body), strict=True)
        dumped = model.model_dump(mode="json", exclude_unset=True)
        assert luma_schema.check(dumped).ok, why
    # A member neither required nor defaulted is written `X | None = None`: it takes null (the
    # prompt, optional for layering; layering.resolution); the types schema refuses it, and so
    # does the API.
    schema = typeschema.request_types_schema()
    objects = [schema, *schema["$defs"].values()]
    optional = {
        name
        for node in objects
        for name, member in node.get("properties", {}).items()
        if name not in node.get("required", ()) and "default" not in member
    }
    takes_null = {
        f"{path} null"
        for path, f in CAT.paths.items()
        if not f.nullable and path.rpartition(".")[2] in optional
    }
    assert {"prompt null", "layering.resolution null"} <= takes_null
    for why, body in wrong_requests():
        if why in takes_null:
            continue
        with pytest.raises(pydantic.ValidationError):
            request.model_validate_json(json.dumps(body), strict=True)
            pytest.fail(why)
    if kind == "openapi":
        module.Generation.model_validate_json(json.dumps(generation()), strict=True)
