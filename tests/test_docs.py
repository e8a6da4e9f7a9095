"""The living documents stay true: every cited function exists, every event type is catalogued."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from postloan_common.contracts.registry import CONTRACTS

ROOT = Path(__file__).resolve().parents[1]
CITATION = re.compile(r"`([\w./-]+\.py)::(\w+)`")
TEST_PATH = re.compile(r"`((?:services|libs|tests)/[\w./-]+/test_\w+\.py)`")


def _citations() -> list[tuple[str, str]]:
    return CITATION.findall((ROOT / "docs/domain.md").read_text())


def test_domain_doc_cites_functions() -> None:
    assert len(_citations()) > 30


@pytest.mark.parametrize(("path", "name"), _citations())
def test_cited_function_exists(path: str, name: str) -> None:
    source = (ROOT / path).read_text()
    defined = re.search(rf"^\s*(?:async\s+def|def|class)\s+{name}\b|^{name}\s*[:=]", source, re.MULTILINE)
    assert defined, f"docs/domain.md cites {path}::{name}, which is not defined there"


@pytest.mark.parametrize("path", sorted(set(TEST_PATH.findall((ROOT / "docs/domain.md").read_text()))))
def test_cited_test_exists(path: str) -> None:
    assert (ROOT / path).is_file(), f"docs/domain.md names the test {path}, which does not exist"


def test_architecture_catalogues_every_event_type() -> None:
    text = (ROOT / "docs/architecture.md").read_text()
    missing = sorted({t for t, _ in CONTRACTS if f"`{t}`" not in text})
    assert not missing, f"event types missing from docs/architecture.md: {missing}"


def test_no_document_sends_readers_outside_the_repository() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in [
            ROOT / "README.md",
            *ROOT.glob("docs/**/*.md"),
            *ROOT.glob("services/*/src/**/*.py"),
            *ROOT.glob("libs/*/src/**/*.py"),
        ]
        if re.search(r"\.\./shared|\bDOMAIN\b|\bARCHITECTURE\b", p.read_text())
    ]
    assert not offenders, f"cite docs/ instead of the original brief: {offenders}"
