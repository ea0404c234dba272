"""Imports point down: config is the ground floor, providers know nothing of Flask or the database, services know
nothing of the web, and nothing inside the package imports the package root (where create_app lives)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "stella"
# Entry points build the app, so they may import it from the root.
ENTRY_POINTS = {"devserver.py"}


def imports_of(path: Path) -> set[str]:
    """Every module `path` imports, at any depth (function-level imports count: they are still dependencies)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # `from stella import x` reaches the root whatever x is.
    return found


def modules(under: str = "") -> list[Path]:
    return sorted((PACKAGE / under).rglob("*.py"))


def relative(path: Path) -> str:
    return path.relative_to(PACKAGE.parent).as_posix()


def test_config_imports_nothing_of_stella_but_the_platform_names():
    stella_imports = {m for m in imports_of(PACKAGE / "config.py") if m.split(".")[0] == "stella"}
    assert stella_imports <= {"stella.platforms"}


@pytest.mark.parametrize("path", [p for p in modules() if p.name not in ENTRY_POINTS and p != PACKAGE / "__init__.py"],
                         ids=relative)
def test_no_module_imports_the_package_root(path: Path):
    assert "stella" not in imports_of(path), f"{relative(path)} imports the package root; import what it needs"


@pytest.mark.parametrize("path", modules("providers"), ids=relative)
def test_providers_know_nothing_of_flask_the_models_or_the_services(path: Path):
    forbidden = ("flask", "flask_login", "stella.models", "stella.services", "stella.web", "stella.extensions")
    bad = sorted(m for m in imports_of(path) if m.startswith(forbidden))
    assert not bad, f"{relative(path)} imports {bad}"


@pytest.mark.parametrize("path", modules("services") + modules("models"), ids=relative)
def test_services_and_models_never_import_the_web_layer_or_the_cli(path: Path):
    forbidden = ("stella.web", "stella.api", "stella.cli", "stella.scheduler", "stella.devserver")
    bad = sorted(m for m in imports_of(path) if m.startswith(forbidden))
    assert not bad, f"{relative(path)} imports {bad}"


@pytest.mark.parametrize("path", modules("models"), ids=relative)
def test_models_never_import_services(path: Path):
    bad = sorted(m for m in imports_of(path) if m.startswith("stella.services"))
    assert not bad, f"{relative(path)} imports {bad}"
