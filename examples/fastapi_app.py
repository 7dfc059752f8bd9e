"""A FastAPI gateway that answers bad Luma Agents requests exactly as the API does, locally.

Run it:  pip install 'luma-schema[server]' fastapi  &&  uvicorn fastapi_app:app  (in examples/)
"""

from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI

from luma_schema import GenerationRequest
from luma_schema.server import install, validated_request

app = FastAPI(title="generation gateway")
install(app)  # X-Request-Id and X-API-Version on responses; RequestError -> status + {"detail"}

Validated = Annotated[GenerationRequest, Depends(validated_request)]


@app.post("/v1/generations", status_code=201)
async def create(request: Validated) -> dict[str, Any]:
    """The body is read with a size cap and checked; a bad one never reaches this line."""
    return {"queued": request.to_payload()}


@app.post("/v1/generations/from-dict", status_code=201)
async def create_from_dict(body: Annotated[Any, Body()]) -> dict[str, Any]:
    """The pydantic model's ValidationError gets the same status and detail from the handler."""
    request = GenerationRequest.model_validate(body)
    return {"queued": request.to_payload()}
