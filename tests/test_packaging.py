"""Packaging: what the package imports is what it declares, each optional part in its extra."""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "luma_schema"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

# The extra each optional part needs (the core needs none).
EXTRA_OF_MODULE = {
    "fetch": "fetch",
    "server": "server",  # the package: every module in it
    "_fastapi": "fastapi",
    "pytest_plugin": "testing",
    "sdk": "sdk",
    "strategies": "testing",
    "_strategies": "testing",  # the package: the parts of the strategies
    "batch": "batch",  # the columnar entry and the audits (extras added with them)
    "spark": "spark",
    "dask": "dask",
}
# Optional accelerators imported where present, and the extra that brings each.
EXTRA_OF_OPTIONAL = {"orjson": "fast", "tqdm": "cli"}


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _declared(extra: str | None) -> set[str]:
    """The distributions an extra brings, the extras it names of this package included."""
    requirements = (
        PYPROJECT["project"]["dependencies"]
        if extra is None
        else PYPROJECT["project"]["optional-dependencies"][extra]
    )
    names = {_name(r) for r in requirements}
    for requirement in requirements:
        own = re.fullmatch(r"luma-schema\[([\w,]+)\].*", requirement)
        if own:
            for other in own.group(1).split(","):
                names |= _declared(other)
    return names


def _third_party_imports(path: Path) -> set[str]:
    """Top-level modules a file imports, static or through importlib.import_module("...")."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", None) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.add(str(node.args[0].value).split(".")[0])
    return {
        m
        for m in found
        if m not in sys.stdlib_module_names and m not in ("luma_schema", "__future__")
    }


@functools.cache
def _distributions() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


def _distribution(module: str) -> str:
    (name, *_) = _distributions()[module]
    return name.lower().replace("_", "-")


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(PACKAGE)) for p in MODULES])
def test_every_import_is_declared_where_it_is_needed(path: Path) -> None:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    # A top-level module by its name; a module of a package by its own name, else the package's.
    extra = EXTRA_OF_MODULE.get(parts[-1] if len(parts) == 1 or parts[-1] == "_fastapi" else parts[0])
    for module in _third_party_imports(path):
        needed = EXTRA_OF_OPTIONAL.get(module, extra)
        declared = _declared(None) | (_declared(needed) if needed else set())
        assert _distribution(module) in declared, (path.name, module, needed)


def test_jsonschema_is_not_a_core_dependency() -> None:
    # The library never imports it: the exported schemas work with any Draft 2020-12 validator.
    assert "jsonschema" not in _declared(None)
    assert not any("jsonschema" in _third_party_imports(p) for p in MODULES)


def test_development_tools_are_not_offered_as_an_extra() -> None:
    assert "dev" not in PYPROJECT["project"]["optional-dependencies"]
    assert {"pytest", "mypy", "ruff"} <= {_name(r) for r in PYPROJECT["dependency-groups"]["dev"]}


def test_the_license_file_is_the_declared_license() -> None:
    assert PYPROJECT["project"]["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License\n")
    assert "LICENSE" in PYPROJECT["project"]["license-files"]
