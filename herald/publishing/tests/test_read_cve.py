"""CVE JSON 5 records read into a snapshot and exported again lose nothing (issue #15)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from herald.advisories.snapshot import AdvisorySnapshot
from herald.publishing.importers.read_cve import read_cve
from herald.publishing.render.cve5 import render_cve_record
from herald.publishing.render.schemas import cve_record_problems
from herald.publishing.tests.roundtrip import lost
from herald.publishing.tests.test_osv import PUBLISHER
from herald.test import shared_path

HERE = Path(__file__).parent / "real" / "cve"
RECORDS = sorted(HERE.glob("*.json")) + sorted(shared_path("corpus", "real", "cve").glob("*.json"))


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text("utf-8"))


def export(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    doc = load(path)
    snapshot = read_cve(doc, file=path.name).snapshot
    return doc, render_cve_record(snapshot, doc["cveMetadata"]["cveId"], PUBLISHER)


def test_the_corpus_has_records() -> None:
    assert len(RECORDS) >= 16


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: p.name)
def test_a_record_exported_again_loses_nothing(path: Path) -> None:
    doc, exported = export(path)
    assert lost("cve", doc, exported) == []


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: p.name)
def test_the_export_passes_the_cve_schema(path: Path) -> None:
    _, exported = export(path)
    assert cve_record_problems(exported) == []


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: p.name)
def test_the_snapshot_survives_its_stored_form(path: Path) -> None:
    snapshot = read_cve(load(path), file=path.name).snapshot
    assert AdvisorySnapshot.from_dict(json.loads(json.dumps(snapshot.to_dict()))) == snapshot
