"""luma_schema.sdk: the guard in the httpx transport of the real luma-agents clients, over
loopback sockets only.  Runs against whichever luma-agents is importable (the `sdk` extra's
version, or the oldest supported one put first on the path: see docs/sdk.md).

Expected messages are written out here: the documented strings, and the library's own wording
for the live API's rules (docs/validation.md marks which is which)."""

from __future__ import annotations

import asyncio
import inspect
import math
import socket
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import luma_agents
import pytest
import uvicorn
from fetch_support import Site, wait_until
from luma_agents import (
    APIConnectionError,
    APIStatusError,
    AsyncLuma,
    BadRequestError,
    Luma,
    UnprocessableEntityError,
)
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from luma_schema.fetch import Fetcher
from luma_schema.sdk import AsyncGuardTransport, GuardTransport, GuardWarning, guard

TOKEN = "luma-api-test"
BIG = 4 * math.ceil((50 * 1024 * 1024 + 1) / 3)  # base64 length of 50 MiB + 1 bytes

INVALID = [
    ({"prompt": ""}, BadRequestError, 400, "Prompt must be between 1 and 6000 characters"),
    ({"prompt": "p", "model": "uni-2"}, BadRequestError, 400, "Unknown model: uni-2"),
    (
        {"prompt": "p", "type": "image_edit"},
        BadRequestError,
        400,
        "source is required for type 'image_edit'",
    ),
    (
        {"prompt": "p", "aspect_ratio": "4:3"},
        BadRequestError,
        400,
        "Invalid aspect_ratio '4:3'. Valid: 1:1, 1:2, 1:3, 16:9, 2:1, 2:3, 3:1, 3:2, 9:16",
    ),
    (
        {"prompt": "p", "style": "manga", "aspect_ratio": "16:9"},
        UnprocessableEntityError,
        422,
        "style 'manga' requires a portrait aspect_ratio (one of 2:3, 9:16, 1:2, 1:3)",
    ),
    (
        {
            "prompt": "p",
            "image_ref": [{"data": "iVBORw0KGgoAAAANSUhEUgAAAAUA...", "media_type": "image/png"}],
        },
        UnprocessableEntityError,
        422,
        "image_ref[0]: invalid base64 data",
    ),
    (
        {"prompt": "p", "image_ref": [{"url": "http://example.com/a.png"}]},
        UnprocessableEntityError,
        422,
        "image_ref[0]: failed to fetch URL",
    ),
    (
        {
            "prompt": "p",
            "type": "image_edit",
            "source": {"data": "A" * BIG, "media_type": "image/png"},
        },
        APIStatusError,
        413,
        "source: image exceeds 50 MB limit",
    ),
    (
        {"prompt": "p", "source": {"url": "https://example.com/a.png"}},
        BadRequestError,
        400,
        "source is only valid for type 'image_edit'",
    ),
]
GENERATION_ID = "3f0e6c0a-2b0c-4c1e-9a57-1c9d9b0f0a11"
VIDEO = {"prompt": "a slow pan", "model": "ray-3.2", "type": "video"}
VIDEO_EDIT = {
    "prompt": "make it dusk",
    "model": "ray-3.2",
    "type": "video_edit",
    "source": {"generation_id": GENERATION_ID},
}
LAYERING = {"prompt": "", "type": "layering", "source": {"url": "https://example.com/a.png"}}
# The live API's types: each refused with the exception the SDK raises for the server's answer.
INVALID_LIVE = [
    (
        {**VIDEO, "model": "uni-1"},
        BadRequestError,
        400,
        "Type 'video' is not supported for model 'uni-1'",
    ),
    (
        {**VIDEO, "video": {"duration": "7s"}},
        BadRequestError,
        400,
        "Invalid video.duration '7s'. Valid: 10s, 5s",
    ),
    (
        {**VIDEO, "video": {"loop": True, "duration": "10s"}},
        UnprocessableEntityError,
        422,
        "video.loop: not supported with video.duration '10s'",
    ),
    (
        {
            **VIDEO,
            "video": {
                "keyframes": [{"url": "https://example.com/a.png"}] * 2,
                "keyframe_indexes": [0],
            },
        },
        UnprocessableEntityError,
        422,
        "video.keyframe_indexes: must match video.keyframes in length",
    ),
    (
        {**VIDEO_EDIT, "source": {"generation_id": "gen-1"}},
        BadRequestError,
        400,
        "source: 'generation_id' must be a UUID",
    ),
    (
        {**VIDEO_EDIT, "source": {"url": "https://example.com/a.mp4"}},
        BadRequestError,
        400,
        "source: 'media_type' is required with 'url'",
    ),
    (
        {**VIDEO_EDIT, "video": {"edit": {"strength": "flex_1"}, "hdr": False, "loop": True}},
        UnprocessableEntityError,
        422,
        "video.loop: only valid for type 'video'",
    ),
    (
        {**VIDEO_EDIT, "source": {"url": "https://example.com/a.mp4", "media_type": "text/html"}},
        UnprocessableEntityError,
        422,
        "source: content-type is not an image or a video",
    ),
    (
        {**LAYERING, "prompt": "x" * 501},
        BadRequestError,
        400,
        "Prompt must be between 0 and 500 characters",
    ),
    (
        {**LAYERING, "layering": {"resolution": "4k"}},
        BadRequestError,
        400,
        "Invalid layering.resolution '4k'. Valid: 1k, 2k",
    ),
    (
        {k: v for k, v in LAYERING.items() if k != "source"},
        BadRequestError,
        400,
        "source is required for type 'layering'",
    ),
]
IDS = [detail.split(":")[0][:20] + str(i) for i, (*_, detail) in enumerate(INVALID)]
LIVE_IDS = [f"{params['type']}-{i}" for i, (params, *_) in enumerate(INVALID_LIVE)]


def generation(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "3f0e6c0a-2b0c-4c1e-9a57-1c9d9b0f0a11",
        "created_at": "2026-04-01T00:00:00Z",
        "model": body.get("model", "uni-1"),
        "state": "queued",
        "type": body.get("type", "image"),
        "output": [],
    }


class Api:
    """A small loopback API: records each POST /v1/generations body and answers 201."""

    def __init__(self) -> None:
        self.bodies: list[Any] = []
        self.auth: list[str | None] = []
        self.gets = 0

        async def create(request: Request) -> JSONResponse:
            body = await request.json()
            self.bodies.append(body)
            self.auth.append(request.headers.get("authorization"))
            return JSONResponse(generation(body), status_code=201)

        async def get(request: Request) -> JSONResponse:
            self.gets += 1
            return JSONResponse(generation({}))

        app = Starlette(
            routes=[
                Route("/v1/generations", create, methods=["POST"]),
                Route("/v1/generations/{id}", get, methods=["GET"]),
            ]
        )
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="error", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self.thread.start()
        assert wait_until(lambda: self.server.started)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="module")
def api() -> Iterator[Api]:
    server = Api()
    yield server
    server.stop()


@pytest.fixture
def recorded(api: Api) -> Api:
    api.bodies.clear()
    api.auth.clear()
    api.gets = 0
    return api


@pytest.fixture
def closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port


_OPEN: list[Luma] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


def sync_client(base_url: str) -> Luma:
    client = Luma(auth_token=TOKEN, base_url=base_url, max_retries=0, timeout=5)
    _OPEN.append(client)
    return client


def async_client(base_url: str) -> AsyncLuma:
    return AsyncLuma(auth_token=TOKEN, base_url=base_url, max_retries=0, timeout=5)


def create(client: Luma, params: dict[str, Any]) -> Any:
    """``client.generations.create`` with ``params``: as keywords where the installed SDK
    takes them, the rest (fields an older SDK does not type) in ``extra_body``."""
    taken = inspect.signature(client.generations.create).parameters
    keywords = {k: v for k, v in params.items() if k in taken}
    extra = {k: v for k, v in params.items() if k not in taken}
    return client.generations.create(**keywords, **({"extra_body": extra} if extra else {}))


# ---------------------------------------------------------------- invalid: never sent


@pytest.mark.parametrize(("params", "kind", "status", "detail"), INVALID, ids=IDS)
def test_invalid_requests_raise_the_sdk_error(
    closed_port: int, params: dict[str, Any], kind: type[APIStatusError], status: int, detail: str
) -> None:
    client = guard(sync_client(f"http://127.0.0.1:{closed_port}/v1"))
    with pytest.raises(APIStatusError) as caught:
        client.generations.create(**params)
    exc = caught.value
    assert type(exc) is kind
    assert exc.status_code == status
    assert exc.response.status_code == status
    assert exc.body == {"detail": detail}
    assert exc.response.json() == {"detail": detail}
    assert str(exc.request.url) == f"http://127.0.0.1:{closed_port}/v1/generations"


@pytest.mark.parametrize(("params", "kind", "status", "detail"), INVALID_LIVE, ids=LIVE_IDS)
def test_invalid_requests_of_the_live_types_raise_the_sdk_error(
    closed_port: int, params: dict[str, Any], kind: type[APIStatusError], status: int, detail: str
) -> None:
    client = guard(sync_client(f"http://127.0.0.1:{closed_port}/v1"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", GuardWarning)  # checked: no not_checked warning
        with pytest.raises(APIStatusError) as caught:
            create(client, params)
    assert (type(caught.value), caught.value.status_code) == (kind, status)
    assert caught.value.body == {"detail": detail}
    assert caught.value.response.headers["x-luma-schema-guard"] == "refused"


@pytest.mark.parametrize(("params", "kind", "status", "detail"), INVALID[:3], ids=IDS[:3])
def test_invalid_requests_raise_from_the_async_client(
    closed_port: int, params: dict[str, Any], kind: type[APIStatusError], status: int, detail: str
) -> None:
    client = guard(async_client(f"http://127.0.0.1:{closed_port}/v1"))
    with pytest.raises(APIStatusError) as caught:
        asyncio.run(client.generations.create(**params))
    assert (type(caught.value), caught.value.status_code) == (kind, status)
    assert caught.value.body == {"detail": detail}


def test_without_the_guard_the_closed_port_is_a_connection_error(closed_port: int) -> None:
    # The control: the same request, unguarded, does try to connect.
    with pytest.raises(APIConnectionError):
        sync_client(f"http://127.0.0.1:{closed_port}/v1").generations.create(prompt="")


def test_an_invalid_request_opens_no_connection() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    try:
        port = listener.getsockname()[1]
        client = guard(sync_client(f"http://127.0.0.1:{port}/v1"))
        with pytest.raises(BadRequestError):
            client.generations.create(prompt="p", model="uni-2")
        with pytest.raises(BlockingIOError):
            listener.accept()
    finally:
        listener.close()


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((), {}), ((), {"promt": "p"}), (("p",), {}), ((), {"prompt": "p", "stlye": "auto"})],
)
def test_calls_the_sdk_refuses_raise_its_own_type_error(
    closed_port: int, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    client = guard(sync_client(f"http://127.0.0.1:{closed_port}/v1"))
    with pytest.raises(TypeError):
        client.generations.create(*args, **kwargs)


def test_extra_body_is_checked_as_the_sdk_sends_it(closed_port: int) -> None:
    client = guard(sync_client(f"http://127.0.0.1:{closed_port}/v1"))
    with pytest.raises(BadRequestError) as caught:
        client.generations.create(prompt="p", extra_body={"prompt": ""})
    assert caught.value.body == {"detail": "Prompt must be between 1 and 6000 characters"}


def test_raw_and_derived_clients_are_guarded(closed_port: int) -> None:
    client = sync_client(f"http://127.0.0.1:{closed_port}/v1")
    raw = client.with_raw_response  # built before the guard
    guard(client)
    for create in (
        raw.generations.create,
        client.with_raw_response.generations.create,
        client.with_options(timeout=3).generations.create,
        client.copy(max_retries=0).generations.create,
    ):
        with pytest.raises(BadRequestError):
            create(prompt="")
    streaming = client.with_streaming_response.generations.create(prompt="")
    with pytest.raises(BadRequestError), streaming:
        pass


def test_a_refusal_is_the_guards_answer_and_is_not_retried(closed_port: int) -> None:
    seen: list[httpx.Request] = []

    class Counting(httpx.BaseTransport):
        def __init__(self, inner: httpx.BaseTransport) -> None:
            self.inner = inner

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return self.inner.handle_request(request)

    http = luma_agents.DefaultHttpxClient(transport=Counting(GuardTransport()))
    client = Luma(
        auth_token=TOKEN,
        base_url=f"http://127.0.0.1:{closed_port}/v1",
        max_retries=3,
        http_client=http,
    )
    _OPEN.append(client)
    with pytest.raises(BadRequestError) as caught:
        client.generations.create(prompt="")
    assert len(seen) == 1  # answered once: the SDK does not retry the guard's 400
    assert caught.value.response.headers["X-Luma-Schema-Guard"] == "refused"
    assert caught.value.response.headers["x-should-retry"] == "false"


def test_guard_returns_the_client_and_guarding_twice_changes_nothing(
    recorded: Api, site: Site
) -> None:
    client = sync_client(recorded.base_url)
    assert guard(client) is client
    site.reset()
    fetcher = Fetcher(
        timeout=5.0,
        verify=site.client_context(),
        resolver=site.resolve,
        allow_private=["127.0.0.1"],
    )
    assert guard(client, fetch=fetcher) is client  # the first guard's settings stay: no fetch
    with pytest.warns(GuardWarning) as caught:
        client.generations.create(
            prompt="p", image_ref=[{"url": site.url("/status/404")}], extra_body={"colour": 1}
        )
    # One guard, not two: each warning once, and the URL was not fetched.
    assert [str(w.message) for w in caught if w.category is GuardWarning] == [
        "colour: unknown field, ignored"
    ]
    assert site.seen() == 0
    assert len(recorded.bodies) == 1


def test_guard_refuses_what_is_not_a_client(
    closed_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = sync_client(f"http://127.0.0.1:{closed_port}/v1")
    with pytest.raises(TypeError):
        guard(object())  # type: ignore[type-var]
    with pytest.raises(TypeError):
        guard(client, fetch=1)  # type: ignore[arg-type]
    # A client whose httpx client cannot be reached: the error names the public route.
    other = Luma(auth_token=TOKEN, base_url=f"http://127.0.0.1:{closed_port}/v1")
    with monkeypatch.context() as patch:
        patch.setattr(other, "_client", None)
        with pytest.raises(TypeError, match="GuardTransport"):
            guard(other)
    other.close()


# ---------------------------------------------------------------- valid: sent untouched


def send_both(api: Api, **params: Any) -> tuple[Any, Any]:
    """The body a guarded client sends, and the one an unguarded client sends."""
    guarded = guard(sync_client(api.base_url))
    plain = sync_client(api.base_url)
    guarded.generations.create(**params)
    plain.generations.create(**params)
    assert len(api.bodies) == 2
    return api.bodies[0], api.bodies[1]


def test_a_valid_request_reaches_the_server_untouched(recorded: Api) -> None:
    params = {
        "prompt": "a cat",
        "type": "image_edit",
        "model": "uni-1-max",
        "source": {"url": "https://example.com/cat.png"},
        "image_ref": [{"data": "iVBORw0KGgo=", "media_type": "image/png"}],
        "aspect_ratio": None,
        "output_format": "png",
        "user_id": "u1",
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GuardWarning)  # PNG bytes: a format warning at most
        guarded, plain = send_both(recorded, **params)
    assert guarded == plain == params
    assert recorded.auth == [f"Bearer {TOKEN}"] * 2


def test_sdk_sentinels_are_absent(recorded: Api) -> None:
    guarded, plain = send_both(
        recorded,
        prompt="p",
        model=luma_agents.omit,
        aspect_ratio=luma_agents.omit,
        style=luma_agents.omit,
        extra_body={"user_id": luma_agents.omit},
    )
    assert guarded == plain
    assert guarded["prompt"] == "p"


def test_the_async_client_sends_valid_requests(recorded: Api) -> None:
    async def main() -> Any:
        client = guard(async_client(recorded.base_url))
        async with client:
            return await client.generations.create(prompt="p", style="manga", aspect_ratio="9:16")

    generation = asyncio.run(main())
    assert generation.state == "queued"
    assert recorded.bodies == [{"prompt": "p", "style": "manga", "aspect_ratio": "9:16"}]


def test_a_generator_of_references_is_sent_whole(recorded: Api) -> None:
    client = guard(sync_client(recorded.base_url))
    refs = ({"url": f"https://example.com/{i}.png"} for i in range(3))
    client.generations.create(prompt="p", image_ref=refs)
    assert recorded.bodies[0]["image_ref"] == [
        {"url": f"https://example.com/{i}.png"} for i in range(3)
    ]


def test_unknown_fields_warn_and_are_sent(recorded: Api) -> None:
    client = guard(sync_client(recorded.base_url))
    with pytest.warns(GuardWarning) as caught:
        client.generations.create(prompt="p", extra_body={"seed": 7})
    assert [str(w.message) for w in caught if w.category is GuardWarning] == [
        "seed: unknown field, ignored"
    ]
    assert {w.filename for w in caught if w.category is GuardWarning} == {__file__}
    assert recorded.bodies == [{"prompt": "p", "seed": 7}]


VALID_LIVE = [
    {**VIDEO, "aspect_ratio": "21:9", "video": {"duration": "10s", "resolution": "1080p"}},
    {
        **VIDEO,
        "video": {
            "keyframes": [{"url": "https://example.com/a.png"}, {"file_id": GENERATION_ID}],
            "keyframe_indexes": [0, 120],
            "duration": "5s",
        },
    },
    VIDEO_EDIT,
    {
        **VIDEO_EDIT,
        "video": {"edit": {"strength": "adhere_2", "controls": {"pose": {"strength": "coarse"}}}},
    },
    {
        **VIDEO_EDIT,
        "type": "video_reframe",
        "aspect_ratio": "9:16",
        "video": {"source_position": {"x_norm": 0, "y_norm": -0.25, "w_norm": 1, "h_norm": 1.5}},
    },
    LAYERING,
    {**LAYERING, "prompt": "split the cat from the sofa", "layering": {"resolution": "2k"}},
    {"prompt": "p", "type": "image_edit", "source": {"generation_id": GENERATION_ID}},
]


@pytest.mark.parametrize(
    "params", VALID_LIVE, ids=[f"{p['type']}-{i}" for i, p in enumerate(VALID_LIVE)]
)
def test_valid_requests_of_the_live_types_are_checked_and_sent_untouched(
    recorded: Api, params: dict[str, Any]
) -> None:
    client = guard(sync_client(recorded.base_url))
    with warnings.catch_warnings():
        warnings.simplefilter("error", GuardWarning)  # checked, and nothing to warn about
        create(client, params)
    assert recorded.bodies == [params]


def test_warnings_on_the_live_types_come_from_the_check(recorded: Api) -> None:
    client = guard(sync_client(recorded.base_url))
    params = {**VIDEO, "video": {"hdr": True, "resolution": "540p"}, "style": "manga"}
    with pytest.warns(GuardWarning) as caught:
        create(client, params)
    assert [str(w.message) for w in caught if w.category is GuardWarning] == [
        "style: ignored by the server for type 'video'",
        "video.hdr: HDR is offered at 720p and 1080p",
    ]
    assert recorded.bodies == [params]


# A newer SDK, simulated: the installed request type extended with a field, a member and values
# the catalogue does not know.  The guard reads the SDK's types at import, so this runs in a
# fresh interpreter, sending to the recording API of this module.
NEWER_SDK = """
import sys, warnings
from typing import Iterable, Literal, Optional, TypedDict
from luma_agents.types import generation_create_params as params
try:
    from luma_agents.types.image_ref_param import ImageRefParam
    from luma_agents.types.video_options_param import VideoOptionsParam
except ImportError:  # an SDK from before the video types
    from luma_agents.types.generation_create_params import ImageRef as ImageRefParam
    VideoOptionsParam = TypedDict("VideoOptionsParam", {}, total=False)

class Audio(TypedDict, total=False):
    voice: Literal["narrator"]

class Ref(ImageRefParam, total=False):
    asset_id: Optional[str]

class Video(VideoOptionsParam, total=False):
    fps: Optional[int]
    resolution: Literal["360p", "540p", "720p", "1080p", "4k"]
    keyframes: Optional[Iterable[Ref]]

class Newer(params.GenerationCreateParams, total=False):
    audio: Optional[Audio]
    type: Literal["image", "image_edit", "video", "video_edit", "video_reframe", "layering", "audio"]
    source: Optional[Ref]
    video: Optional[Video]

params.GenerationCreateParams = Newer
import luma_agents
from luma_schema.sdk import GuardWarning, guard

client = guard(luma_agents.Luma(auth_token="t", base_url=sys.argv[1], max_retries=0))
video = {"model": "ray-3.2", "type": "video"}
requests = [
    {"audio": {"voice": "narrator"}},
    {"type": "audio", "model": "ray-3.2"},
    {"type": "image_edit", "source": {"asset_id": "a-1"}},
    {**video, "video": {"resolution": "4k", "keyframes": [{"url": "https://example.com/a.png"}, {"asset_id": "a"}]}},
    {**video, "video": {"fps": 30}},
    {**video, "video": {"resolution": "8k"}},
]
for request in requests:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:  # the body as the SDK sends it, whichever fields its create() takes
            client.generations.create(prompt="p", extra_body=request)
        except luma_agents.APIStatusError as exc:
            print("refused", exc.status_code, exc.body["detail"])
            continue
    print("sent:", " | ".join(str(w.message) for w in caught if w.category is GuardWarning))
"""


def test_what_a_newer_sdk_types_and_the_catalogue_does_not_know_goes_unchecked(
    recorded: Api,
) -> None:
    run = subprocess.run(
        [sys.executable, "-c", NEWER_SDK, recorded.base_url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    unchecked = "outside this library's contract; request sent unchecked"
    assert run.stdout.splitlines() == [
        f"sent: audio: {unchecked}",
        f"sent: type: {unchecked}",
        f"sent: source.asset_id: {unchecked}",
        f"sent: video.keyframes[1].asset_id: {unchecked} | video.resolution: {unchecked}",
        f"sent: video.fps: {unchecked}",
        # A value neither knows is the catalogue's to refuse.
        "refused 400 Invalid video.resolution '8k'. Valid: 1080p, 360p, 540p, 720p",
    ]
    assert len(recorded.bodies) == 5


class Picture(BaseModel):
    url: str


def test_what_is_checked_is_what_the_sdk_serialised(recorded: Api) -> None:
    """The SDK serialises pydantic models and datetimes its own way: the guard reads its bytes."""
    client = guard(sync_client(recorded.base_url))
    url = "https://example.com/cat.png"
    client.generations.create(
        prompt="p",
        type="image_edit",
        source=Picture(url=url),  # type: ignore[arg-type]
        user_id=datetime(2026, 4, 1, 12, 30),  # type: ignore[arg-type]
    )
    assert recorded.bodies == [
        {
            "prompt": "p",
            "type": "image_edit",
            "source": {"url": url},
            "user_id": "2026-04-01T12:30:00",
        }
    ]
    with pytest.raises(UnprocessableEntityError) as caught:
        client.generations.create(
            prompt="p",
            type="image_edit",
            source=Picture(url="http://example.com/cat.png"),  # type: ignore[arg-type]
        )
    assert caught.value.body == {"detail": "source: failed to fetch URL"}
    assert len(recorded.bodies) == 1


def test_other_requests_pass_unread(recorded: Api) -> None:
    client = guard(sync_client(recorded.base_url))
    assert client.generations.get("3f0e6c0a-2b0c-4c1e-9a57-1c9d9b0f0a11").state == "queued"
    assert recorded.gets == 1


def test_a_client_built_on_the_guard_transport(recorded: Api, closed_port: int) -> None:
    """The route with public names only: the SDK's http_client, holding the guard transport."""
    http = luma_agents.DefaultHttpxClient(transport=GuardTransport())
    client = Luma(auth_token=TOKEN, base_url=recorded.base_url, max_retries=0, http_client=http)
    _OPEN.append(client)
    with pytest.raises(BadRequestError) as caught:
        client.generations.create(prompt="p", model="uni-2")
    assert caught.value.body == {"detail": "Unknown model: uni-2"}
    client.generations.create(prompt="p")
    assert recorded.bodies == [{"prompt": "p"}]
    assert guard(client) is client  # already guarded: nothing is added
    with pytest.warns(GuardWarning) as warned:
        client.generations.create(prompt="p", extra_body={"colour": 1})
    assert len([w for w in warned if w.category is GuardWarning]) == 1

    async def main() -> None:
        transport = AsyncGuardTransport(httpx.AsyncHTTPTransport())
        aclient = AsyncLuma(
            auth_token=TOKEN,
            base_url=recorded.base_url,
            max_retries=0,
            http_client=luma_agents.DefaultAsyncHttpxClient(transport=transport),
        )
        async with aclient:
            with pytest.raises(UnprocessableEntityError):
                await aclient.generations.create(prompt="p", style="manga", aspect_ratio="1:1")
            await aclient.generations.create(prompt="q")

    asyncio.run(main())
    assert recorded.bodies[-1] == {"prompt": "q"}


def test_proxy_mounts_are_guarded(closed_port: int) -> None:
    """A transport mounted for some URLs (as httpx does for proxies) is guarded as well."""
    base = f"http://127.0.0.1:{closed_port}"
    http = httpx.Client(mounts={base: httpx.HTTPTransport()})
    client = guard(Luma(auth_token=TOKEN, base_url=f"{base}/v1", max_retries=0, http_client=http))
    _OPEN.append(client)
    with pytest.raises(BadRequestError):
        client.generations.create(prompt="")
    with pytest.raises(APIConnectionError):  # the valid request did go through the mount
        client.generations.create(prompt="p")


def test_a_body_in_a_content_coding_goes_unchecked(recorded: Api) -> None:
    client = guard(sync_client(recorded.base_url))
    with pytest.warns(GuardWarning) as caught:
        client.generations.create(prompt="", extra_headers={"Content-Encoding": "br"})
    assert [str(w.message) for w in caught if w.category is GuardWarning] == [
        "Content-Encoding: outside this library's contract; request sent unchecked"
    ]
    assert recorded.bodies == [{"prompt": ""}]


def test_warnings_name_the_callers_line(recorded: Api) -> None:
    async def main() -> None:
        async with guard(async_client(recorded.base_url)) as client:
            await client.generations.create(prompt="p", extra_body={"colour": 1})

    with pytest.warns(GuardWarning) as caught:
        asyncio.run(main())
        guarded = guard(sync_client(recorded.base_url))
        with guarded.with_streaming_response.generations.create(
            prompt="p", extra_body={"colour": 2}
        ) as response:
            assert response.status_code == 201
    mine = [w for w in caught if w.category is GuardWarning]
    assert len(mine) == 2
    assert {w.filename for w in mine} == {__file__}


# ---------------------------------------------------------------- fetch=True


def test_fetch_checks_url_images_before_sending(recorded: Api, site: Site) -> None:
    site.reset()
    fetcher = Fetcher(
        timeout=5.0,
        verify=site.client_context(),
        resolver=site.resolve,
        allow_private=["127.0.0.1"],
    )
    client = guard(sync_client(recorded.base_url), fetch=fetcher)
    with pytest.raises(UnprocessableEntityError) as caught:
        client.generations.create(prompt="p", image_ref=[{"url": site.url("/html")}])
    assert caught.value.body == {"detail": "image_ref[0]: content-type is not an image"}
    with pytest.raises(UnprocessableEntityError) as caught:
        client.generations.create(prompt="p", image_ref=[{"url": site.url("/status/404")}])
    assert caught.value.body == {"detail": "image_ref[0]: failed to fetch URL (HTTP 404)"}
    assert recorded.bodies == []
    client.generations.create(prompt="p", image_ref=[{"url": site.url("/png")}])
    assert len(recorded.bodies) == 1

    async def main() -> None:
        aclient = guard(async_client(recorded.base_url), fetch=fetcher)
        with pytest.raises(APIStatusError) as caught:
            await aclient.generations.create(
                prompt="p", type="image_edit", source={"url": site.url("/big-length")}
            )
        assert caught.value.status_code == 413
        assert caught.value.body == {"detail": "source: image exceeds 50 MB limit"}
        await aclient.generations.create(prompt="p", image_ref=[{"url": site.url("/png")}])
        await aclient.close()

    asyncio.run(main())
    assert len(recorded.bodies) == 2


def test_without_the_sdk_the_module_names_the_extra() -> None:
    code = (
        "import sys\nsys.modules['luma_agents'] = None\n"
        "try:\n    import luma_schema.sdk\nexcept ImportError as exc:\n    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert "'sdk' extra" in out
