"""CVE JSON 5 records read into a snapshot and exported again lose nothing (issue #15)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from herald.advisories.snapshot import AdvisorySnapshot, Note, VulnerabilitySnapshot
from herald.publishing.importers.read_cve import read_cve
from herald.publishing.render.cve5 import render_cve_record
from herald.publishing.render.schemas import cna_container_problems, cve_record_problems
from herald.publishing.tests.roundtrip import lost
from herald.publishing.tests.test_osv import CASES, PUBLISHER, SDK, SERVER
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
    if exported["cveMetadata"]["state"] == "PUBLISHED":
        assert cna_container_problems(exported["containers"]["cna"]) == []


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: p.name)
def test_the_snapshot_survives_its_stored_form(path: Path) -> None:
    snapshot = read_cve(load(path), file=path.name).snapshot
    assert AdvisorySnapshot.from_dict(json.loads(json.dumps(snapshot.to_dict()))) == snapshot


def record(name: str) -> Path:
    return next(p for p in RECORDS if p.name == name)


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: p.name)
def test_products_and_versions_come_back_exactly_as_the_cna_wrote_them(path: Path) -> None:
    doc, exported = export(path)
    assert exported["containers"]["cna"].get("affected") == doc["containers"]["cna"].get("affected")


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: p.name)
def test_the_cna_and_its_adp_containers_stay_theirs(path: Path) -> None:
    doc, exported = export(path)
    cna, theirs = doc["containers"]["cna"], exported["containers"]["cna"]
    assert theirs["providerMetadata"] == cna["providerMetadata"]
    assert exported["cveMetadata"]["assignerOrgId"] == doc["cveMetadata"]["assignerOrgId"]
    assert exported["containers"].get("adp") == doc["containers"].get("adp")
    for key in ("descriptions", "problemTypes", "references", "timeline", "rejectedReasons"):
        assert theirs.get(key) == cna.get(key), key


def test_the_kernel_record_maps_each_versions_entry_to_a_row_of_its_status() -> None:
    doc = load(record("CVE-2025-21631.json"))
    vuln = read_cve(doc, file="x").snapshot.vulnerabilities[0]
    git_rows = [r for r in vuln.affected if r.extra["cve_entry"] == 0]
    semver_rows = [r for r in vuln.affected if r.extra["cve_entry"] == 1]
    assert [(r.status, r.default_status) for r in git_rows] == [("affected", "unaffected")]
    assert {r.type for r in git_rows[0].ranges} == {"git"}
    assert git_rows[0].ranges[0].events == (
        {"introduced": "63a07379fdb6c72450cb05294461c6016b8b7726"},
        {"fixed": "f587c1ac68956c4703857d650d9b1cd7bb2ac4d7"},
    )
    # A git commit with no fix is that one commit: introduced and last affected.
    assert git_rows[0].ranges[-1].events == (
        {"introduced": "cae58d19121a70329cf971359e2518c93fec04fe"},
        {"last_affected": "cae58d19121a70329cf971359e2518c93fec04fe"},
    )
    assert [(r.status, r.default_status) for r in semver_rows] == [
        ("affected", "affected"),
        ("not_affected", "affected"),
    ]
    assert semver_rows[0].versions == ("6.12",)
    assert semver_rows[1].ranges[0].events == ({"introduced": "0"}, {"fixed": "6.12"})
    assert {r.vendor for r in vuln.affected} == {"Linux"}
    assert {r.product_slug for r in vuln.affected} == {"linux-linux"}


def test_changes_of_a_versions_entry_are_kept_with_its_range() -> None:
    doc = load(record("CVE-2021-44228.json"))
    vuln = read_cve(doc, file="x").snapshot.vulnerabilities[0]
    (row,) = vuln.affected
    (entry,) = doc["containers"]["cna"]["affected"]
    assert row.ranges[0].type == "custom"
    assert row.ranges[0].database_specific == {"changes": entry["versions"][0]["changes"]}


def test_adp_scores_and_weaknesses_are_never_the_cnas() -> None:
    doc = load(record("CVE-2025-21631.json"))
    vuln = read_cve(doc, file="x").snapshot.vulnerabilities[0]
    (adp,) = doc["containers"]["adp"]
    assert vuln.cvss_v3_vector == "" and vuln.cwe_ids == () and vuln.scores == ()
    assert [(t.source, t.kind, t.data) for t in vuln.third_party] == [("CISA-ADP", "adp", adp)]
    _, exported = export(record("CVE-2025-21631.json"))
    assert "metrics" not in exported["containers"]["cna"]
    assert "problemTypes" not in exported["containers"]["cna"]


def test_scores_other_than_cvss_31_and_40_are_kept_as_given() -> None:
    doc = load(record("CVE-2024-9030.json"))
    vuln = read_cve(doc, file="x").snapshot.vulnerabilities[0]
    assert vuln.cvss_v4_vector == "CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:N/VI:L/VA:N/SC:N/SI:N/SA:N"
    assert str(vuln.cvss_v4_score) == "5.3"
    assert vuln.cvss_v3_vector == "CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:U/C:N/I:L/A:N"
    assert [(s.type, s.vector, str(s.base_score)) for s in vuln.scores] == [
        ("CVSS_V3.0", "CVSS:3.0/AV:N/AC:L/PR:L/UI:R/S:U/C:N/I:L/A:N", "3.5"),
        ("CVSS_V2", "AV:N/AC:L/Au:S/C:N/I:P/A:N", "4"),
    ]
    _, exported = export(record("CVE-2024-9030.json"))
    assert exported["containers"]["cna"]["metrics"] == doc["containers"]["cna"]["metrics"]


def test_descriptions_in_other_languages_are_notes_of_their_language() -> None:
    doc = load(record("CVE-2016-15012.json"))
    snapshot = read_cve(doc, file="x").snapshot
    english, german = doc["containers"]["cna"]["descriptions"]
    assert snapshot.description == english["value"]
    assert [(n.category, n.lang, n.text) for n in snapshot.vulnerabilities[0].notes] == [
        ("description", "de", german["value"])
    ]


def test_workarounds_exploits_solutions_and_impacts_come_back() -> None:
    doc, exported = export(record("CVE-2024-3400.json"))
    cna, theirs = doc["containers"]["cna"], exported["containers"]["cna"]
    for key in ("workarounds", "exploits", "solutions", "configurations", "impacts", "credits"):
        assert theirs[key] == cna[key], key
    assert theirs["metrics"] == cna["metrics"]


def test_a_rejected_record_is_a_withdrawn_advisory_with_its_reason() -> None:
    doc = load(record("CVE-2024-9010.json"))
    imported = read_cve(doc, file="x")
    snapshot = imported.snapshot
    (reason,) = doc["containers"]["cna"]["rejectedReasons"]
    assert snapshot.state == "withdrawn"
    assert snapshot.withdrawn_reason == reason["value"]
    (source,) = snapshot.sources
    assert source.kind == "cve" and source.id == "CVE-2024-9010"
    assert source.withdrawn is not None and source.published is None
    exported = render_cve_record(snapshot, "CVE-2024-9010", PUBLISHER)
    assert exported["cveMetadata"]["state"] == "REJECTED"
    assert exported["containers"]["cna"]["rejectedReasons"] == [reason]


def test_the_source_moments_are_the_sources() -> None:
    doc = load(record("CVE-2024-3094.json"))
    snapshot = read_cve(doc, file="x").snapshot
    meta = doc["cveMetadata"]
    (source,) = snapshot.sources
    assert snapshot.published_at is None and snapshot.updated_at is None
    assert source.publisher == meta["assignerShortName"] == "redhat"
    assert source.published == dt.datetime.fromisoformat(meta["datePublished"])
    assert source.modified == dt.datetime.fromisoformat(meta["dateUpdated"])
    assert source.extra["dateReserved"] == meta["dateReserved"]
    assert source.extra["assignerOrgId"] == meta["assignerOrgId"]
    _, exported = export(record("CVE-2024-3094.json"))
    assert exported["cveMetadata"] == meta


def test_an_imported_record_the_desk_withdraws_is_rejected_with_the_desks_reason() -> None:
    doc = load(record("CVE-2024-3400.json"))
    snapshot = dataclasses.replace(
        read_cve(doc, file="x").snapshot,
        state="withdrawn",
        withdrawn_reason="Imported by mistake.",
        withdrawn_at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
    )
    exported = render_cve_record(snapshot, "CVE-2024-3400", PUBLISHER)
    assert exported["cveMetadata"]["state"] == "REJECTED"
    reasons = exported["containers"]["cna"]["rejectedReasons"]
    assert [r["value"] for r in reasons] == ["Imported by mistake."]
    assert cve_record_problems(exported) == []


def test_each_vulnerability_gets_its_own_record() -> None:
    v4 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
    v3 = "CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:U/C:N/I:L/A:N"
    snapshot = dataclasses.replace(
        CASES["fixed_multi_product"],
        vulnerabilities=(
            VulnerabilitySnapshot(
                cve_id="CVE-2026-12345",
                cwe_ids=("CWE-79",),
                cvss_v3_vector=v3,
                cvss_v3_score=Decimal("3.5"),
                affected=(SDK,),
                notes=(Note("description", "Only the SDK's escaping."),),
            ),
            VulnerabilitySnapshot(
                cve_id="CVE-2026-12346",
                cwe_ids=("CWE-89",),
                cvss_v4_vector=v4,
                cvss_v4_score=Decimal("9.3"),
                affected=(SERVER,),
            ),
        ),
    )
    first = render_cve_record(snapshot, "CVE-2026-12345", PUBLISHER)["containers"]["cna"]
    second = render_cve_record(snapshot, "CVE-2026-12346", PUBLISHER)["containers"]["cna"]
    assert [m.keys() - {"format", "scenarios"} for m in first["metrics"]] == [{"cvssV3_1"}]
    assert [m.keys() - {"format", "scenarios"} for m in second["metrics"]] == [{"cvssV4_0"}]
    assert first["problemTypes"][0]["descriptions"][0]["cweId"] == "CWE-79"
    assert second["problemTypes"][0]["descriptions"][0]["cweId"] == "CWE-89"
    assert [a["product"] for a in first["affected"]] == ["northwind-sdk"]
    assert [a["product"] for a in second["affected"]] == ["Northwind Server"]
    assert first["descriptions"][0]["value"] == "Only the SDK's escaping."
    assert second["descriptions"][0]["value"].startswith("A dashboard name")
    for cve in ("CVE-2026-12345", "CVE-2026-12346"):
        assert cve_record_problems(render_cve_record(snapshot, cve, PUBLISHER)) == []


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: p.name)
def test_the_whole_cna_container_comes_back_as_the_cna_wrote_it(path: Path) -> None:
    # Only the credit type the schema defaults ("finder") is stated where it was left out.
    doc, exported = export(path)
    cna = doc["containers"]["cna"]
    if "credits" in cna:
        cna = {**cna, "credits": [{"type": "finder", **c} for c in cna["credits"]]}
    assert exported["containers"]["cna"] == cna


def test_what_the_reader_filled_in_is_said() -> None:
    imported = read_cve(load(record("CVE-2024-9680.json")), file="x")
    assert imported.snapshot.title.startswith("An attacker was able to achieve code execution")
    assert "no title in the record: the description's first sentence used" in imported.notes
    assert imported.snapshot.status == "fixed"
    assert imported.snapshot.identifier == "" and imported.snapshot.state == "published"
    assert imported.snapshot.vulnerabilities[0].title == ""
