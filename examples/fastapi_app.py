"""A FastAPI gateway that answers bad Luma Agents requests exactly as the API does, locally.

Run it:  pip install 'luma-schema[fastapi]'  &&  uvicorn fastapi_app:app  (in examples/)

Three ways to take a request, all answering refusals with the API's status and
``{"detail": ...}`` once ``install(app)`` has run:

- ``Depends(validated_request)``: reads the raw body once, with the size cap; every rule holds.
- a body parameter ``req: GenerationRequest``: FastAPI parses the body, so duplicate member names,
  the size cap and numbers beyond a float's range (``1e400``) are not seen; every other rule is.
- the same parameter on a ``RawBodyRoute``: the raw body is checked first; every rule holds.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI

from luma_schema import GenerationRequest
from luma_schema.server import RawBodyRoute, install, validated_request

app = FastAPI(title="generation gateway")
install(app)  # X-Request-Id and X-API-Version on responses; the API's answers to refusals

Validated = Annotated[GenerationRequest, Depends(validated_request)]


@app.post("/v1/generations", status_code=201)
async def create(request: Validated) -> dict[str, Any]:
    """The body is read with a size cap and checked; a bad one never reaches this line."""
    return {"queued": request.to_payload()}


@app.post("/v1/generations/declared", status_code=201)
async def create_declared(request: GenerationRequest) -> dict[str, Any]:
    """FastAPI parses and validates the body; install() turns its errors into the API's."""
    return {"queued": request.to_payload()}


raw = APIRouter(route_class=RawBodyRoute)


@raw.post("/v1/generations/raw", status_code=201)
async def create_raw(request: GenerationRequest) -> dict[str, Any]:
    """The raw body is checked before FastAPI parses it: duplicate names and the cap too."""
    return {"queued": request.to_payload()}


app.include_router(raw)


@app.post("/v1/generations/from-dict", status_code=201)
async def create_from_dict(body: Annotated[Any, Body()]) -> dict[str, Any]:
    """The pydantic model's ValidationError gets the same status and detail from the handler."""
    request = GenerationRequest.model_validate(body)
    return {"queued": request.to_payload()}
