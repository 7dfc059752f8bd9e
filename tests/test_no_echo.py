"""Messages never echo submitted content, except the documented echoes (the ``model``, ``type``,
``aspect_ratio``, ``style`` and ``output_format`` values).  Secrets are planted in every other
value -- prompt, user_id, URLs (host, path, query, user info, port), data, media_type, unknown
fields and image members, values of the wrong type -- and must appear in no error message, no
warning and no line the CLI prints."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from hypothesis import given, settings
from hypothesis import strategies as st

import luma_schema

OK_URL = "https://example.com/a.png"


def urls(s: str) -> list[str]:
    return [
        f"https://{s}.example.com/a.png",
        f"https://{s}/a.png",
        f"https://{s}.local/a.png",
        f"https://example.com/{s}.png",
        f"https://example.com/a.png?key={s}",
        f"https://example.com/a.png#{s}",
        f"https://user:{s}@example.com/a.png",
        f"https://{s}@example.com/a.png",
        f"https://example.com:{s}/a.png",
        f"http://{s}.example.com/a.png",
        f"ftp://{s}",
        f"https://{s} .com/",
        s,
    ]


def images(s: str) -> list[dict[str, Any]]:
    found = [{"url": url} for url in urls(s)]
    found += [
        {"data": s, "media_type": "image/png"},
        {"data": s + "=", "media_type": "image/png"},
        {"data": "data:image/png;base64," + s, "media_type": "image/png"},
        {"data": s},
        {"data": "iVBORw0KGgo=", "media_type": s},
        {"data": "iVBORw0KGgo=", "media_type": "image/" + s},
        {"data": "iVBORw0KGgo=", "media_type": "text/" + s},
        {"url": OK_URL, "media_type": s},
        {"url": OK_URL, "data": s},
        {"url": OK_URL, "note": s},
        {"url": OK_URL, "urls": [s]},
        {"url": [s]},
        {"data": {"k": s}, "media_type": "image/png"},
        {"media_type": s},
        {},
    ]
    return found


def planted(s: str) -> list[Any]:
    """Requests carrying the secret ``s`` in every place that is not a documented echo."""
    requests: list[Any] = [
        {"prompt": s},
        {"prompt": s * 400},
        {"prompt": [s]},
        {"prompt": "x", "user_id": s},
        {"prompt": "x", "user_id": s * 20},
        {"prompt": "x", "user_id": {"id": s}},
        {"prompt": "x", "web_search": s},
        {"prompt": "x", "source": s},
        {"prompt": "x", "image_ref": s},
        {"prompt": "x", "image_ref": [s]},
        {"prompt": "x", "extra": s},
        {"prompt": "x", "prompts": s},
        {"prompt": "x", "image_refs": [{"url": s}]},
        {"prompt": "x", "nested": {"deep": [s, {"k": s}]}},
        {"prompt": "x", "aspect_ratio": "4:5", "extra": s},
        {"prompt": "x", "model": "uni-9", "user_id": s},
        {"prompt": s, "style": "manga", "aspect_ratio": "16:9"},
        {"type": "image_edit", "prompt": s},
        {"type": "image_edit", "prompt": s, "aspect_ratio": "1:1", "source": {"url": OK_URL}},
        s,
        [s],
    ]
    for image in images(s):
        requests.append({"type": "image_edit", "prompt": "x", "source": image})
        requests.append({"prompt": "x", "source": image})
        requests.append({"prompt": "x", "image_ref": [{"url": OK_URL}, image]})
        requests.append({"prompt": "x", "image_ref": [image] * 10})
    return requests


def messages(report: luma_schema.Report) -> list[str]:
    return [e.detail for e in report.errors] + [w.message for w in report.warnings]


secrets = st.uuids().map(lambda u: "tok" + u.hex) | st.text(
    alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=16, max_size=40
)


@settings(max_examples=40, deadline=None)
@given(secrets)
def test_no_message_echoes_a_planted_secret(secret: str) -> None:
    for request in planted(secret):
        for payload in (request, json.dumps(request)):
            report = luma_schema.check(payload)
            leaked = [m for m in messages(report) if secret in m]
            assert not leaked, (request, leaked)


@settings(max_examples=100, deadline=None)
@given(
    secrets,
    st.lists(st.integers(min_value=0, max_value=10_000), min_size=2, max_size=5),
)
def test_secrets_planted_together_are_not_echoed_either(secret: str, picks: list[int]) -> None:
    # Several plantings merged into one request: the errors then come in precedence order.
    options = [r for r in planted(secret) if isinstance(r, dict)]
    merged: dict[str, Any] = {}
    for pick in picks:
        merged.update(options[pick % len(options)])
    report = luma_schema.check(merged)
    assert not [m for m in messages(report) if secret in m]


def test_the_cli_prints_no_planted_secret(tmp_path: Path) -> None:
    found = [f"tok{uuid.uuid4().hex}" for _ in range(3)]
    path = tmp_path / "planted.jsonl"
    with path.open("w") as out:
        for secret in found:
            for request in planted(secret):
                out.write(json.dumps(request) + "\n")
    single = tmp_path / "one.json"
    single.write_text(json.dumps(planted(found[0])[0]))
    for fmt in ("text", "json"):
        for extra in ([], ["--jobs", "2", "--only-invalid"]):
            argv = [sys.executable, "-m", "luma_schema", "check", "--format", fmt, *extra]
            result = subprocess.run(
                [*argv, str(path), str(single)],
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert result.returncode == 1
            lines = (result.stdout + result.stderr).splitlines()
            assert len(lines) > 100
            assert not [line for line in lines if any(s in line for s in found)]


def test_fastapi_routes_echo_no_planted_secret() -> None:
    # A route declaring GenerationRequest as its body: FastAPI's own 422 would list the input.
    from fastapi.testclient import TestClient

    from luma_schema.server import install

    app = FastAPI()
    install(app)

    @app.post("/declared", status_code=201)
    async def declared(request: luma_schema.GenerationRequest) -> dict[str, str]:
        return {"type": request.type}

    secret = f"tok{uuid.uuid4().hex}"
    with TestClient(app) as client:
        for request in planted(secret):
            text = json.dumps(request)
            with_nan = text[:-1] + ', "n": NaN}' if isinstance(request, dict) else text
            for body in (text, with_nan):
                response = client.post(
                    "/declared", content=body, headers={"Content-Type": "application/json"}
                )
                assert response.status_code < 500, request
                assert secret not in response.text, (request, response.text)
