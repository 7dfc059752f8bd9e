"""FastAPI, both ways: a body parameter declared as :class:`GenerationRequest`, and the
``Depends(validated_request)`` dependency.

FastAPI parses a JSON body itself and validates the parsed value, so on a route that declares
``req: GenerationRequest`` two rules cannot be seen: duplicate member names (the parser keeps the
last) and the body size cap (FastAPI reads any size).  Every other rule is: when validation
fails, the handler installed here answers what the engine answers for the raw bytes FastAPI
read, which also covers what the parser let through (``NaN``, ``Infinity``, other encodings).
:class:`RawBodyRoute` checks the raw body before FastAPI parses it, so that those two rules
hold too; the dependency does the same without a second parse.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Coroutine, Iterator, Sequence
from typing import Any, Final

try:
    import fastapi.routing
    from fastapi import FastAPI
    from fastapi.exception_handlers import request_validation_exception_handler
    from fastapi.exceptions import RequestValidationError
    from fastapi.routing import APIRoute
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "luma_schema.server.RawBodyRoute needs the 'fastapi' extra: "
        "pip install 'luma-schema[fastapi]'"
    ) from exc
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from luma_schema.engine import check
from luma_schema.models import GenerationRequest, embedded_schema
from luma_schema.server.asgi import (
    _check_body,
    _detail,
    _json_bytes,
    check_request,
    error_response,
    validated_request,
)
from luma_schema.server.body import MAX_BODY_BYTES

__all__ = ["RawBodyRoute", "install"]

_SCHEMA_NAME: Final = "GenerationRequest"
_STATUSES: Final = ("400", "401", "413", "422")
# The answer to a body that is not a JSON object, as the engine gives it (FastAPI reports an
# unparsable or empty body as its own error types).
_NOT_AN_OBJECT: Final = check(b"").to_response()


def _takes_body(route: APIRoute) -> bool:
    """Whether the route's one body parameter is a :class:`GenerationRequest` (not embedded)."""
    field = route.body_field
    if field is None:
        return False
    annotation = field.field_info.annotation
    return isinstance(annotation, type) and issubclass(annotation, GenerationRequest)


def _depends(route: APIRoute) -> bool:
    """Whether ``validated_request`` is among the route's dependencies, at any depth."""
    stack = list(route.dependant.dependencies)
    while stack:
        dependant = stack.pop()
        if dependant.call is validated_request:
            return True
        stack.extend(dependant.dependencies)
    return False


def _error_answer(errors: Sequence[Any]) -> tuple[int, str] | None:
    """The API's answer from FastAPI's errors of the body: the engine's, carried by the model's
    error context, or the answer to a body that is not an object."""
    for error in errors:
        loc = error.get("loc") or ()
        if not loc or loc[0] != "body":
            continue
        ctx = error.get("ctx") or {}
        status, detail = ctx.get("status"), ctx.get("detail")
        if isinstance(status, int) and isinstance(detail, str):
            return status, detail
        if error.get("type") in ("json_invalid", "missing"):
            return _NOT_AN_OBJECT[0], _NOT_AN_OBJECT[1]["detail"]
    return None


async def _validation_error(request: Request, exc: Exception) -> Response:
    """FastAPI's ``RequestValidationError`` on a route whose body is a
    :class:`GenerationRequest`: the API's status and ``{"detail": ...}``, no input echoed.
    Other routes keep FastAPI's own answer."""
    assert isinstance(exc, RequestValidationError)
    route = request.scope.get("route")
    if isinstance(route, APIRoute) and _takes_body(route):
        raw = getattr(request, "_body", None)  # the bytes FastAPI read, cached by Starlette
        if isinstance(raw, bytes):
            report = await _check_body(raw, False)
            if not report.ok:
                return error_response(report)
        answer = _error_answer(exc.errors())
        if answer is not None:
            return _detail(*answer)
    return await request_validation_exception_handler(request, exc)


@functools.cache
def _api_responses() -> dict[str, Any]:
    """The API's error answers to ``POST /v1/generations``, as the OpenAPI exporter describes
    them, with their references written in place (they go into another document)."""
    from luma_schema import openapi

    document = openapi()
    components = document["components"]

    def inline(node: Any) -> Any:
        if isinstance(node, list):
            return [inline(item) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/"):
            kind, _, name = ref.removeprefix("#/components/").partition("/")
            return inline(components[kind][name])
        return {key: inline(value) for key, value in node.items()}

    responses = document["paths"]["/v1/generations"]["post"]["responses"]
    return {status: inline(responses[status]) for status in _STATUSES}


def _api_routes(routes: Sequence[BaseRoute]) -> Iterator[tuple[APIRoute, str]]:
    """Each API route with the path it is served at: FastAPI versions that keep included
    routers whole (not copied into the app's routes) iterate them with their prefixes."""
    contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    if contexts is None:
        for route in routes:
            if isinstance(route, APIRoute):
                yield route, route.path_format
        return
    for context in contexts(routes):
        route, path = context.original_route, context.path_format
        if isinstance(route, APIRoute) and path:
            yield route, path


def _describe(routes: Sequence[BaseRoute], document: dict[str, Any]) -> None:
    """Routes that take a :class:`GenerationRequest` show the exported request schema and the
    API's error answers (``{"detail": string}``) in place of FastAPI's validation errors."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    paths = document.get("paths", {})
    taking: list[tuple[dict[str, Any], bool]] = []  # (operation, whose body is declared)
    for route, path in _api_routes(routes):
        body = _takes_body(route)
        if not (body or _depends(route)):
            continue
        for method in sorted(route.methods or ()):
            operation = paths.get(path, {}).get(method.lower())
            if operation is not None:  # else not in the schema
                taking.append((operation, body))
    # FastAPI writes the model's schema as its component, without its null defaults (it drops
    # every None of the document): the component is written again whole, under the same name.
    names = set()
    for operation, body in taking:
        if body:
            ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            names.add(ref.rpartition("/")[2])
    if not names:
        names.add(_SCHEMA_NAME if _SCHEMA_NAME not in schemas else "luma_schema." + _SCHEMA_NAME)
    for name in names:
        schemas[name] = embedded_schema()
    reference = {"$ref": "#/components/schemas/" + min(names)}
    for operation, body in taking:
        if not body:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": dict(reference)}},
            }
        operation.setdefault("responses", {}).update(copy.deepcopy(_api_responses()))


def install(app: FastAPI) -> None:
    """The FastAPI part of ``server.install``: the validation handler and the OpenAPI
    description (made when ``/openapi.json`` is first asked for, all routes known by then)."""
    app.add_exception_handler(RequestValidationError, _validation_error)
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _describe(app.routes, build())
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


class RawBodyRoute(APIRoute):
    """A FastAPI route class (``APIRouter(route_class=RawBodyRoute)``, or
    ``app.router.route_class = RawBodyRoute`` before routes are added) that, on a route whose
    body is a :class:`GenerationRequest`, reads the raw body (size cap, budget) and answers
    what the API answers before FastAPI parses it: duplicate member names and the body size cap
    included.  A valid body is then parsed and validated by FastAPI as usual (a second pass:
    the dependency ``validated_request`` makes one).  ``max_body_bytes``: the cap (a subclass
    may lower it)."""

    max_body_bytes: int = MAX_BODY_BYTES

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if not _takes_body(self):
            return handler

        async def exact(request: Request) -> Response:
            report = await check_request(request, max_bytes=self.max_body_bytes)
            if not report.ok:
                return error_response(report)
            # FastAPI parses the body again: give it the normalised request, which reads the
            # same to every parser (a number beyond a float's range, say, is gone with the
            # unknown field that held it).
            request._body = _json_bytes(report.request)
            return await handler(request)

        return exact
