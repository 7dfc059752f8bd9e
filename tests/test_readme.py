"""The README and docs/: the README's two commands, CI running the same test command, links that
stay inside the repository, and a contract told in the project's own words."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
PAGES = sorted((ROOT / "docs").glob("*.md"))
# Pages the README may name before they exist (none: every page is in the repository).
FROM_OTHER_BRANCHES: set[str] = set()

LINK = re.compile(r"\]\(([^)\s]+)\)")


def sh_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL)


def test_the_readme_is_short() -> None:
    assert len(README.splitlines()) <= 200


def test_the_setup_command_installs_from_the_clone_then_checks_the_examples() -> None:
    setup = sh_blocks(README)[0].strip()
    assert "\n" not in setup
    assert setup.startswith("python3 -m venv .venv && ")
    assert "pip install -q -e '.[all]'" in setup
    assert setup.endswith("luma-schema check examples/")


def test_ci_runs_the_readmes_test_command_exactly() -> None:
    (test_command,) = [b.strip() for b in sh_blocks(README) if "pytest" in b]
    assert "\n" not in test_command and test_command.startswith("python3 -m venv .venv && ")
    assert "--group dev" in test_command
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci


def test_the_package_is_never_shown_as_installed_from_an_index() -> None:
    for text in [README, *(p.read_text() for p in PAGES)]:
        assert not re.search(r"pip install ['\"]?luma-schema\b(?!\[)", text)
    assert "dev]" not in README  # the development tools are a dependency group, not an extra


@pytest.mark.parametrize("page", [ROOT / "README.md", *PAGES], ids=lambda p: p.name)
def test_links_stay_inside_the_repository_and_resolve(page: Path) -> None:
    for target in LINK.findall(page.read_text()):
        assert "://" not in target and not target.startswith("/"), (page.name, target)
        path = (page.parent / target.split("#")[0]).resolve()
        assert path.is_relative_to(ROOT), (page.name, target)
        relative = str(path.relative_to(ROOT))
        assert path.exists() or relative in FROM_OTHER_BRANCHES, (page.name, target)


@pytest.mark.parametrize("page", [ROOT / "README.md", *PAGES], ids=lambda p: p.name)
def test_the_contract_is_told_in_rule_ids(page: Path) -> None:
    text = page.read_text()
    assert "shared/" not in text and "SPEC" not in text
    assert not re.search(r"\brows? \d", text), page.name
