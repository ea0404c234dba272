"""Platform citations in code and docs stay followable by a reader of this repository.

A comment or document that cites a platform fact names the platform's public documentation URL (or, in a module
docstring, a named list of them), or says in words that the fact was observed or reported and points at
docs/platform-verification.md. So, in every text file under stella/ and docs/:

- a line that cites a section with "§" carries a URL on the same line. The one exception is an RFC cited by
  number and section ("RFC 9110 §13.1.1"), which any reader can look up;
- nothing points at the research notes outside the repository (`/work/shared`, `shared/platforms`);
- nothing says "the doc", the old shorthand for those notes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("stella", "docs")
TEXT_SUFFIXES = {".py", ".md", ".rst", ".txt", ".html", ".jinja", ".j2", ".js", ".css", ".toml", ".cfg", ".ini"}

URL = re.compile(r"https?://\S")
RFC_SECTION = re.compile(r"\bRFC\s?\d+\s*§\s*\d+(?:\.\d+)*")
OUTSIDE_PATHS = ("/work/shared", "shared/platforms")
THE_DOC = re.compile(r"\bthe doc\b", re.IGNORECASE)


def scanned_files() -> list[Path]:
    files: list[Path] = []
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*")):
            if path.is_file() and path.suffix in TEXT_SUFFIXES and "__pycache__" not in path.parts:
                files.append(path)
    return files


def problems_in(text: str) -> list[tuple[int, str]]:
    """(line number, what is wrong) for each line of `text` that breaks the citation rules."""
    found: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if "§" in RFC_SECTION.sub("", line) and not URL.search(line):
            found.append((number, "cites § without a URL on the same line"))
        for outside in OUTSIDE_PATHS:
            if outside in line:
                found.append((number, f"points at {outside!r}, outside the repository"))
        if THE_DOC.search(line):
            found.append((number, 'says "the doc" instead of naming the document'))
    return found


def test_the_scan_covers_the_code_and_the_docs():
    names = {path.relative_to(ROOT).as_posix() for path in scanned_files()}
    assert "stella/providers/linkedin.py" in names
    assert "stella/sandbox/platforms/tiktok.py" in names
    assert "docs/platform-verification.md" in names


@pytest.mark.parametrize(
    "line",
    [
        "# doc §4.1: every /rest call names a version.",
        "MAX_CHARS = 500  # §3.3",
        "Facts follow /work/shared/platforms/meta-linkedin-x-tiktok.md.",
        "see shared/platforms/x-openapi.json",
        "# per the doc: comma-separated",
        '"""Instagram with Facebook Login (the doc\'s variant A)."""',
        "# RFC 6749: the error shape, §5.2",
    ],
)
def test_unfollowable_citations_are_caught(line):
    assert problems_in(line)


@pytest.mark.parametrize(
    "line",
    [
        "# [Versioning]: every /rest call names a version (YYYYMM, no default).",
        "# https://www.rfc-editor.org/rfc/rfc6749#section-5.2 shape, see §5.2 there",
        "# Strong comparison (RFC 9110 §13.1.1): a weak tag never matches.",
        "# 20 per third-party guides; not in Meta's docs (see docs/platform-verification.md)",
        '"""Dedent the docstring the OpenAPI document is made from."""',
    ],
)
def test_followable_citations_pass(line):
    assert problems_in(line) == []


def test_every_citation_under_stella_and_docs_is_followable():
    failures = [
        f"{path.relative_to(ROOT).as_posix()}:{number}: {what}"
        for path in scanned_files()
        for number, what in problems_in(path.read_text(encoding="utf-8", errors="replace"))
    ]
    assert not failures, "Unfollowable citations (cite the platform's documentation URL instead):\n" + "\n".join(
        failures
    )
