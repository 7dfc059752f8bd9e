"""FastAPI both ways (examples/fastapi_app.py): a body parameter declared as GenerationRequest,
the validated_request dependency and RawBodyRoute answer every rule as the API does, in process
(TestClient) and over a real uvicorn on loopback; their OpenAPI document shows the exported
request schema and the API's answers (the models themselves: tests/test_models.py)."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from pydantic import BaseModel
from server_support import RULE_CASES, UUID, content, expected, running

import luma_schema
from luma_schema import GenerationRequest, catalog, models, server
from luma_schema.strategies import violating

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "fastapi_app.py"
ROUTES = ["/v1/generations", "/v1/generations/declared", "/v1/generations/raw"]


def _static_rules() -> list[str]:
    """The rules a request can break without the network: those violating() can build."""
    found = []
    for rule in catalog.RULES:
        try:
            violating(rule.id)
        except ValueError:
            continue
        found.append(rule.id)
    return found


STATIC = _static_rules()


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fastapi_app", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def app() -> FastAPI:
    loaded: FastAPI = _load().app
    return loaded


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def base(app: FastAPI) -> Iterator[str]:
    with running(app) as url:
        yield url


def _sent(payload: Any) -> bytes:
    """What goes on the wire: JSON text (str) and bytes as they are, Python values as JSON."""
    if isinstance(payload, str):
        return payload.encode("utf-8", "surrogatepass")
    return content(payload)


def _assert_api_answer(response: httpx.Response, body: bytes) -> None:
    report = luma_schema.check(body)
    assert not report.ok
    assert (response.status_code, response.json()) == report.to_response(), body[:200]
    assert response.headers["x-api-version"] == catalog.API_VERSION
    assert re.match(UUID, response.headers["x-request-id"])


def test_violating_builds_every_rule_but_the_fetching_ones() -> None:
    fetching = {"url_fetch_failed", "url_http_error"}
    assert set(STATIC) == {rule.id for rule in catalog.RULES} - fetching


SMALL = [rule for rule in STATIC if rule != "image_too_large"]


@pytest.mark.parametrize("rule", SMALL)
@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_every_route_answers_every_rule_in_process(
    client: TestClient, rule: str, data: st.DataObject
) -> None:
    body = _sent(data.draw(violating(rule)))
    for route in ROUTES:
        _assert_api_answer(client.post(route, content=body), body)


@pytest.mark.parametrize("rule", SMALL)
@settings(max_examples=1, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_every_route_answers_every_rule_over_uvicorn(
    base: str, rule: str, data: st.DataObject
) -> None:
    body = _sent(data.draw(violating(rule)))
    for route in ROUTES:
        _assert_api_answer(httpx.post(base + route, content=body, timeout=60), body)


@settings(max_examples=1, deadline=None, suppress_health_check=list(HealthCheck))
@given(payload=violating("image_too_large"))
def test_an_image_over_the_size_limit_is_413_on_every_route(
    client: TestClient, payload: Any
) -> None:
    body = _sent(payload)  # about 70 MB: in process only
    for route in ROUTES:
        _assert_api_answer(client.post(route, content=body), body)


@pytest.mark.parametrize(("rule", "payload"), RULE_CASES, ids=[r for r, _ in RULE_CASES])
def test_the_fixed_cases_on_every_route(client: TestClient, rule: str, payload: Any) -> None:
    body = content(payload)
    for route in ROUTES:
        if route == ROUTES[1] and rule == "body_not_object" and b'"prompt":"a","prompt"' in body:
            continue  # duplicate names: what a parsed body cannot show (tested below)
        response = client.post(route, content=body)
        assert (response.status_code, response.json()) == expected(payload), route


@pytest.mark.parametrize(
    "body",
    [
        b'{"prompt": NaN}',
        b'{"prompt": "x", "extra": Infinity}',
        b'{"prompt": "x", "nested": {"deep": [-Infinity]}}',
        b'{"prompt": "x", "source": NaN}',
        b'{"prompt": "x", "image_ref": [{"url": NaN}]}',
        b"NaN",
    ],
)
def test_nan_and_infinity_are_the_apis_400_never_a_500(client: TestClient, body: bytes) -> None:
    for route in ROUTES:
        for content_type in ("application/json", None):
            headers = {"Content-Type": content_type} if content_type else {}
            response = client.post(route, content=body, headers=headers)
            _assert_api_answer(response, body)


def test_a_json_string_holding_an_objects_text_is_not_an_object(client: TestClient) -> None:
    body = json.dumps(json.dumps({"prompt": "x"})).encode()  # "{\"prompt\": \"x\"}"
    for route in ROUTES:
        _assert_api_answer(client.post(route, content=body), body)


def test_a_body_that_is_not_declared_json_is_still_read_as_json(client: TestClient) -> None:
    for route in ROUTES:
        for body in (b'{"prompt": ""}', b'{"prompt": 5}', b"\xff"):
            response = client.post(route, content=body, headers={"Content-Type": "text/plain"})
            _assert_api_answer(response, body)
        ok = client.post(route, content=b'{"prompt": "x"}', headers={"Content-Type": "text/plain"})
        assert ok.status_code == 201


def test_what_only_the_raw_body_shows(client: TestClient) -> None:
    # Duplicate member names and numbers beyond a float: FastAPI's parser keeps the last name
    # and makes 1e400 infinity, so the declared route cannot see what the API sees.
    # (Sent without a JSON content type, the body reaches the model as bytes, read exactly.)
    as_json = {"Content-Type": "application/json"}
    duplicate = b'{"prompt": "", "prompt": "x"}'
    for route in (ROUTES[0], ROUTES[2]):
        _assert_api_answer(client.post(route, content=duplicate, headers=as_json), duplicate)
    assert client.post(ROUTES[1], content=duplicate, headers=as_json).status_code == 201
    _assert_api_answer(client.post(ROUTES[1], content=duplicate), duplicate)
    huge = b'{"prompt": "x", "extra": 1e400}'
    assert luma_schema.check(huge).ok
    for route in (ROUTES[0], ROUTES[2]):
        assert client.post(route, content=huge, headers=as_json).status_code == 201
    refused = client.post(ROUTES[1], content=huge, headers=as_json)
    assert (refused.status_code, refused.json()) == luma_schema.check(b"NaN").to_response()


def test_raw_body_route_caps_the_body() -> None:
    class Capped(server.RawBodyRoute):
        max_body_bytes = 1000

    app = FastAPI()
    server.install(app)
    app.router.route_class = Capped

    @app.post("/capped", status_code=201)
    async def capped(request: GenerationRequest) -> dict[str, str]:
        return {"type": request.type}

    with TestClient(app) as client:
        refused = client.post("/capped", json={"prompt": "x" * 2000})
        fits = client.post("/capped", json={"prompt": "x" * 900})
    assert (refused.status_code, refused.json()) == (413, {"detail": server.body.BODY_TOO_LARGE})
    assert refused.headers["connection"] == "close"
    assert fits.status_code == 201


def test_a_valid_request_arrives_normalised_with_the_request_id_echoed(base: str) -> None:
    sent = {"prompt": "a fox", "style": "manga", "aspect_ratio": "9:16", "unknown": True}
    normalised = luma_schema.check(sent).request
    for path in [*ROUTES, "/v1/generations/from-dict"]:
        response = httpx.post(f"{base}{path}", json=sent, headers={"X-Request-Id": "abc"})
        assert response.status_code == 201 and response.headers["x-request-id"] == "abc"
        assert response.json() == {"queued": normalised}


@pytest.mark.parametrize(("rule", "payload"), [c for c in RULE_CASES if isinstance(c[1], dict)])
def test_the_models_validation_error_gets_the_same_answer(
    base: str, rule: str, payload: Any
) -> None:
    response = httpx.post(f"{base}/v1/generations/from-dict", json=payload)
    assert (response.status_code, response.json()) == expected(payload)


# ---------------------------------------------------------------- other routes keep FastAPI's


class Other(BaseModel):
    n: int


def test_routes_without_a_generation_request_keep_fastapis_answers() -> None:
    app = FastAPI()
    server.install(app)

    @app.post("/other")
    async def other(body: Other) -> dict[str, int]:
        return {"n": body.n}

    @app.post("/query")
    async def query(
        n: int, request: Annotated[GenerationRequest, Depends(server.validated_request)]
    ) -> None:
        return None

    with TestClient(app) as client:
        refused = client.post("/other", json={"n": "x"})
        assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "n"]
        broken = client.post("/other", content=b"{", headers={"Content-Type": "application/json"})
        assert broken.json()["detail"][0]["type"] == "json_invalid"
        no_query = client.post("/query", json={"prompt": "x"})
        assert no_query.status_code == 422 and no_query.json()["detail"][0]["loc"] == ["query", "n"]


# ---------------------------------------------------------------- the OpenAPI document


def _resolve(node: Any, document: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_resolve(item, document) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = document
        for part in ref[2:].split("/"):
            target = target[part]
        return _resolve(target, document)
    return {key: _resolve(value, document) for key, value in node.items()}


def test_the_openapi_document_shows_the_request_schema_and_the_apis_answers(
    client: TestClient,
) -> None:
    document = client.get("/openapi.json").json()
    validate(document)
    exported = models.embedded_schema()
    api = luma_schema.openapi()["paths"][catalog.ENDPOINT]["post"]["responses"]
    for route in ROUTES:
        operation = document["paths"][route]["post"]
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        assert _resolve(body, document) == exported, route
        for status in ("400", "401", "413", "422"):
            response = operation["responses"][status]
            schema = response["content"]["application/json"]["schema"]
            assert _resolve(schema, document) == {
                "type": "object",
                "required": ["detail"],
                "properties": {"detail": {"type": "string"}},
            }
            assert response["description"] == api[status]["description"]
            examples = response["content"]["application/json"]["examples"]
            assert {e["value"]["detail"] for e in examples.values()} == {
                e["value"]["detail"]
                for e in api[status]["content"]["application/json"]["examples"].values()
            }
        assert "HTTPValidationError" not in json.dumps(operation)


def test_the_embedded_schema_is_the_exported_one_with_its_definitions_in_place() -> None:
    exported = luma_schema.json_schema()
    definitions = exported.pop("$defs")
    del exported["$schema"]
    embedded = models.embedded_schema()
    assert embedded == _resolve_defs(exported, definitions)
    assert "$ref" not in json.dumps(embedded)
    # The same verdicts on the examples, the schema's own way.
    whole, inlined = Draft202012Validator(luma_schema.json_schema()), Draft202012Validator(embedded)
    for path in sorted((ROOT / "examples").glob("*/*.json")):
        try:
            payload = json.loads(path.read_bytes())
        except ValueError:
            continue
        assert whole.is_valid(payload) == inlined.is_valid(payload), path


def _resolve_defs(node: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_resolve_defs(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return _resolve_defs(definitions[ref.removeprefix("#/$defs/")], definitions)
    return {key: _resolve_defs(value, definitions) for key, value in node.items()}


# ---------------------------------------------------------------- the model's schema


def test_model_json_schema_is_the_exported_schema() -> None:
    assert GenerationRequest.model_json_schema() == luma_schema.json_schema()
    assert (
        GenerationRequest.model_json_schema(ref_template="#/components/schemas/{model}")
        == models.embedded_schema()
    )


def test_a_model_holding_the_request_has_a_schema_that_resolves() -> None:
    class Job(BaseModel):
        request: GenerationRequest

    schema = Job.model_json_schema()
    assert schema["properties"]["request"] == {"$ref": "#/$defs/GenerationRequest"}
    assert schema["$defs"]["GenerationRequest"] == models.embedded_schema()


def test_without_fastapi_the_route_class_names_its_extra_and_the_rest_works() -> None:
    code = (
        "import sys\nsys.modules['fastapi'] = None\n"
        "from luma_schema import server\n"
        "print(server.create_app() is not None)\n"
        "try:\n    server.RawBodyRoute\nexcept ImportError as exc:\n    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    ).stdout.splitlines()
    assert out[0] == "True"
    assert "pip install 'luma-schema[fastapi]'" in out[1]
