"""The public surface."""

from __future__ import annotations

import subprocess
import sys

import pytest

import luma_schema
import luma_schema.strategies


def test_public_names() -> None:
    assert luma_schema.__all__ == sorted(luma_schema.__all__)
    assert luma_schema.__all__ == [
        "API_VERSION",
        "Generation",
        "GenerationOutput",
        "GenerationRequest",
        "ImageInput",
        "Notice",
        "Report",
        "RequestError",
        "Violation",
        "check",
        "image_schema",
        "json_schema",
        "openapi",
        "validate",
    ]
    for name in luma_schema.__all__:
        assert getattr(luma_schema, name) is not None
    assert luma_schema.strategies.__all__ == ["valid_requests", "violating"]
    assert not hasattr(luma_schema, "valid_requests")


def test_the_namespace_holds_the_public_names_only() -> None:
    public = {name for name in dir(luma_schema) if not name.startswith("_")}
    assert public == set(luma_schema.__all__)
    for leaked in ("Any", "TYPE_CHECKING", "annotations", "engine", "catalog"):
        assert leaked not in dir(luma_schema)


def test_api_version_is_the_catalogues() -> None:
    from luma_schema import catalog

    assert luma_schema.API_VERSION == catalog.API_VERSION == "2026-04-01"


def test_the_version_is_written_once() -> None:
    import importlib.metadata

    assert importlib.metadata.version("luma-schema") == luma_schema.__version__
    out = subprocess.run(
        [sys.executable, "-m", "luma_schema", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.stdout == f"luma-schema {luma_schema.__version__}\n"


def test_validate_and_request_error() -> None:
    model = luma_schema.validate({"prompt": "a cat"})
    assert model.type == "image" and model.image_ref == []
    with pytest.raises(luma_schema.RequestError) as info:
        luma_schema.validate({"type": "image_edit", "prompt": "x"})
    assert info.value.to_response() == (400, {"detail": "source is required for type 'image_edit'"})
    assert [e.rule for e in info.value.errors] == ["source_required"]


def test_report_request_is_normalised() -> None:
    report = luma_schema.check(
        {"prompt": "a", "image_ref": [{"url": "https://example.com/a"}], "x": 1}
    )
    assert report.request == {
        "type": "image",
        "prompt": "a",
        "model": "uni-1",
        "aspect_ratio": None,
        "style": "auto",
        "output_format": None,
        "web_search": False,
        "user_id": None,
        "source": None,
        "image_ref": [{"url": "https://example.com/a", "data": None, "media_type": None}],
    }
    fast = luma_schema.check({"prompt": "a", "image_ref": [{"url": "https://example.com/a"}]})
    assert fast.request == {k: v for k, v in report.request.items()}  # type: ignore[union-attr]
    assert fast.as_dict() == {
        "ok": True,
        "status": 201,
        "detail": None,
        "errors": [],
        "warnings": [],
    }


def test_strategies_name_the_extra_without_hypothesis() -> None:
    code = (
        "import sys; sys.modules['hypothesis'] = None\n"
        "try:\n import luma_schema.strategies\n"
        "except ImportError as e: print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "pip install 'luma-schema[testing]'" in out.stdout


def test_core_import_is_light() -> None:
    optional = ("hypothesis", "pydantic", "httpx", "starlette", "uvicorn", "tqdm", "luma_agents")
    code = (
        "import sys, luma_schema; luma_schema.check({'prompt': 'x'}); "
        f"print(sorted(m for m in {optional!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]"


def test_importing_the_package_loads_no_engine_until_a_name_is_read() -> None:
    code = (
        "import sys, luma_schema; print('luma_schema.engine' in sys.modules); "
        "luma_schema.check; print('luma_schema.engine' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["False", "True"]
