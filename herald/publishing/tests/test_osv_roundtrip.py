"""OSV documents read (``read_osv``) and rendered again (``render_osv``) lose nothing.

Every real OSV document (``real/osv`` and ``../shared/corpus/real/osv``) is read into a
snapshot, given the identifier and publication moment the import gives it, and
rendered again: ``roundtrip.lost`` finds nothing dropped, the export passes the
official OSV schema and Herald's own OSV checks, and what the checker does not look
at (database_specific, severity entries, credits, references) is kept as given too.
An advisory about several vulnerabilities is several OSV documents, never two CVEs
as aliases of one. Pure: no database.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from herald.advisories.snapshot import (
    AdvisorySnapshot,
    AffectedSnapshot,
    Note,
    VulnerabilitySnapshot,
    VulnId,
)
from herald.publishing.importers.imported import product_slug
from herald.publishing.importers.read_osv import read_osv
from herald.publishing.render.osv import render_osv, render_osv_documents
from herald.publishing.render.schemas import osv_schema_problems
from herald.publishing.tests.roundtrip import lost
from herald.publishing.tests.test_osv import (
    CASES,
    PUBLISHER,
    official_osv_validator,
    schema_errors,
)
from herald.test import shared_path

REAL = Path(__file__).parent / "real" / "osv"
IMPORTED_AT = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def _paths() -> list[Path]:
    return sorted(REAL.glob("*.json")) + sorted(shared_path("corpus", "real", "osv").glob("*.json"))


PATHS = {f"{p.parent.parent.parent.name}/{p.name}": p for p in _paths()}


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(PATHS[name].read_text("utf-8"))
    return data


def imported(doc: dict[str, Any]) -> AdvisorySnapshot:
    """The snapshot as the import stores it: an identifier and Herald's publication."""
    return dataclasses.replace(
        read_osv(copy.deepcopy(doc), file="doc.json").snapshot,
        identifier="NW-2026-0100",
        published_at=IMPORTED_AT,
        updated_at=IMPORTED_AT,
    )


def as_osv_17(doc: dict[str, Any]) -> dict[str, Any]:
    """GitHub's older ``purl-type:swift`` is OSV 1.7's ``SwiftURL`` (the one spelling
    the reader changes: OSV 1.7's schema refuses the old one)."""
    doc = copy.deepcopy(doc)
    for entry in doc.get("affected") or []:
        package = entry.get("package") or {}
        if package.get("ecosystem") == "purl-type:swift":
            package["ecosystem"] = "SwiftURL"
    return doc


def test_the_corpus_is_there() -> None:
    assert sum(name.startswith("tests/") for name in PATHS) >= 10
    assert sum(name.startswith("corpus/") for name in PATHS) >= 10


@pytest.mark.parametrize("name", sorted(PATHS))
def test_a_reexport_loses_nothing_and_passes_the_official_schema(name: str) -> None:
    original = load(name)
    exported = render_osv(imported(original), PUBLISHER)
    assert lost("osv", as_osv_17(original), exported) == []
    assert schema_errors(official_osv_validator(), exported) == []
    assert osv_schema_problems(exported) == []


@pytest.mark.parametrize("name", sorted(PATHS))
def test_what_the_reader_keeps_survives_a_stored_revision(name: str) -> None:
    """Revisions store ``to_dict()`` as JSON: the read snapshot comes back equal."""
    snapshot = read_osv(load(name), file=name).snapshot
    stored = json.loads(json.dumps(snapshot.to_dict()))
    assert AdvisorySnapshot.from_dict(stored) == snapshot


def _entries(doc: dict[str, Any]) -> list[str]:
    """Each affected entry's package, ranges, versions and format fields, canonical
    (the package without its purl: the export adds the one its ecosystem gives, and
    ``lost`` checks that every given purl is kept)."""
    return sorted(
        json.dumps(
            {
                "package": {k: v for k, v in (entry.get("package") or {}).items() if k != "purl"},
            }
            | {
                k: entry.get(k) or None  # an empty list says what none says
                for k in (
                    "ranges",
                    "versions",
                    "ecosystem_specific",
                    "database_specific",
                    "severity",
                )
            },
            sort_keys=True,
        )
        for entry in doc.get("affected") or []
    )


@pytest.mark.parametrize("name", sorted(PATHS))
def test_what_the_checker_does_not_compare_is_kept_as_given_too(name: str) -> None:
    original = as_osv_17(load(name))
    exported = render_osv(imported(original), PUBLISHER)
    # Each affected entry whole: ranges of their own type, versions, format fields.
    assert _entries(exported) == _entries(original)
    # The document's database_specific as given; Herald's beside it.
    specific = exported["database_specific"]
    assert {k: v for k, v in specific.items() if k != "herald"} == original.get(
        "database_specific", {}
    )
    assert specific["herald"]["published"] == "2026-03-01T12:00:00Z"
    severity = {(s["type"], s["score"]) for s in original.get("severity") or []}
    assert {(s["type"], s["score"]) for s in exported.get("severity") or []} == severity
    assert exported.get("credits") == original.get("credits")
    refs = {(r["type"], r["url"]) for r in exported["references"]}
    assert {(r["type"], r["url"]) for r in original.get("references") or []} <= refs
    for field in ("aliases", "related"):
        assert exported.get(field, []) == (original.get(field) or []), field
    assert exported["upstream"] == [original["id"]]
    # The details as given: nothing appended when they already say the resolution.
    assert exported.get("details", "").startswith((original.get("details") or "").strip())


def test_the_source_times_are_kept_and_go_zero_time_means_no_date() -> None:
    psf = load("tests/PSF-2024-5.json")
    doc = render_osv(imported(psf), PUBLISHER)
    assert doc["published"] == "2024-06-17T15:05:58.827Z"
    assert doc["modified"] == psf["modified"]
    go = load("tests/GO-2023-1574.json")
    read = read_osv(go, file="GO-2023-1574.json")
    assert read.snapshot.sources[0].published is None
    assert read.snapshot.sources[0].modified is None
    assert any(n.startswith("no publication date") for n in read.notes)
    doc = render_osv(imported(go), PUBLISHER)
    assert doc["published"] == doc["modified"] == "2026-03-01T12:00:00Z"  # Herald's
    withdrawn = load("tests/GO-2022-0617.json")
    snapshot = imported(withdrawn)
    assert snapshot.state == "withdrawn"
    assert render_osv(snapshot, PUBLISHER)["withdrawn"] == withdrawn["withdrawn"]


def test_the_reader_keeps_ids_scores_ranges_and_says_what_it_filled_in() -> None:
    go = read_osv(load("tests/GO-2023-1574.json"), file="x.json")
    vuln = go.snapshot.vulnerabilities[0]
    assert vuln.cve_id == "CVE-2023-25173"
    assert VulnId("GO-2023-1574", "upstream") in vuln.ids
    assert vuln.aliases == ("GHSA-hmfx-3pcx-653p",)
    assert "CVE-2022-2989" in vuln.related
    assert any(n.startswith("no severity") for n in go.notes)
    assert any(n.startswith("affected users") for n in go.notes)
    assert any(n.startswith("timeline") for n in go.notes)
    assert go.snapshot.identifier == "" and go.snapshot.sources[0].kind == "osv"

    ghsa = read_osv(load("tests/GHSA-p8p7-x288-28g6.json"), file="x.json").snapshot
    vuln = ghsa.vulnerabilities[0]
    assert vuln.cvss_v3_vector.startswith("CVSS:3.1/") and vuln.cvss_v3_score is not None
    assert vuln.extra["osv"]["database_specific"]["github_reviewed"] is True
    types = {r.type for row in ghsa.affected for r in row.ranges}
    assert types == {"ECOSYSTEM"}
    assert all(row.product_slug == product_slug("", row.product) for row in ghsa.affected)

    psf = read_osv(load("tests/PSF-2024-5.json"), file="x.json").snapshot
    (row,) = psf.affected
    assert row.ecosystem == "" and row.ranges[0].type == "GIT"
    assert row.ranges[0].repo == "https://github.com/python/cpython"


def test_cvss_3_0_and_other_severities_are_kept_as_given() -> None:
    doc = load("tests/GHSA-p8p7-x288-28g6.json") | {
        "severity": [
            {"type": "CVSS_V3", "score": "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"},
            {"type": "CVSS_V2", "score": "AV:N/AC:L/Au:N/C:P/I:N/A:N"},
            {"type": "Ubuntu", "score": "medium"},
        ]
    }
    snapshot = imported(doc)
    vuln = snapshot.vulnerabilities[0]
    assert vuln.cvss_v3_vector == "" and vuln.cvss_v4_vector == ""
    assert [s.type for s in vuln.scores] == ["CVSS_V3.0", "CVSS_V2", "Ubuntu"]
    assert vuln.scores[0].base_score == Decimal("7.5")
    exported = render_osv(snapshot, PUBLISHER)
    assert exported["severity"] == doc["severity"]
    assert lost("osv", doc, exported) == []
    assert schema_errors(official_osv_validator(), exported) == []


def test_a_packages_own_severity_stays_the_packages() -> None:
    doc = {k: v for k, v in load("tests/GHSA-p8p7-x288-28g6.json").items() if k != "severity"}
    vector = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N"
    doc["affected"][0]["severity"] = [{"type": "CVSS_V4", "score": vector}]
    snapshot = imported(doc)
    (score,) = snapshot.vulnerabilities[0].scores
    assert score.products == (snapshot.affected[0].product_slug,)
    exported = render_osv(snapshot, PUBLISHER)
    assert "severity" not in exported
    assert exported["affected"][0]["severity"] == doc["affected"][0]["severity"]
    assert lost("osv", doc, exported) == []
    assert schema_errors(official_osv_validator(), exported) == []


def _two_cves() -> AdvisorySnapshot:
    first = VulnerabilitySnapshot(
        cve_id="CVE-2026-20001",
        ids=(VulnId("GHSA-aaaa-bbbb-cccc"),),
        cvss_v3_vector="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        cvss_v3_score=Decimal("9.8"),
        affected=(
            AffectedSnapshot(
                "northwind-sdk",
                "sdk",
                "sdk",
                introduced="1.0.0",
                fixed="1.4.2",
                status="fixed",
                ecosystem="PyPI",
                package_name="northwind-sdk",
            ),
        ),
    )
    second = VulnerabilitySnapshot(
        cve_id="CVE-2026-20002",
        cwe_ids=("CWE-79",),
        notes=(Note("description", "The second: a script in dashboard names."),),
        affected=(AffectedSnapshot("Northwind Server", "server", "self_hosted", fixed="4.1"),),
    )
    return dataclasses.replace(
        CASES["fixed_multi_product"], vulnerabilities=(first, second), identifier="NW-2026-0009"
    )


def test_several_vulnerabilities_are_several_valid_documents_linked_by_related() -> None:
    docs = render_osv_documents(_two_cves(), PUBLISHER)
    assert [d["id"] for d in docs] == ["x_NW-2026-0009", "x_NW-2026-0009-2"]
    assert docs[0]["aliases"] == ["CVE-2026-20001", "GHSA-aaaa-bbbb-cccc"]
    assert docs[1]["aliases"] == ["CVE-2026-20002"]
    assert docs[0]["related"] == ["x_NW-2026-0009-2", "CVE-2026-20002"]
    assert docs[1]["related"] == ["x_NW-2026-0009", "CVE-2026-20001"]
    assert docs[0]["severity"] == [{"type": "CVSS_V3", "score": _two_cves().cvss_v3_vector}]
    assert "severity" not in docs[1]
    assert docs[1]["database_specific"]["cwe_ids"] == ["CWE-79"]
    assert "The second" in docs[1]["details"] and "The second" not in docs[0]["details"]
    assert [e["package"]["name"] for e in docs[0]["affected"]] == ["northwind-sdk"]
    for doc in docs:
        assert schema_errors(official_osv_validator(), doc) == []
        assert osv_schema_problems(doc) == []
        assert sum(a.startswith("CVE-") for a in doc.get("aliases", [])) <= 1


def test_a_native_advisory_with_two_cves_no_longer_lists_both_as_aliases() -> None:
    docs = render_osv_documents(CASES["critical_reported_v31_only"], PUBLISHER)
    assert [d.get("aliases") for d in docs] == [["CVE-2026-20001"], ["CVE-2026-20002"]]
    assert docs[0]["summary"] == docs[1]["summary"]
    assert all(schema_errors(official_osv_validator(), d) == [] for d in docs)


def test_several_imported_documents_keep_each_its_source_times() -> None:
    a = imported(load("tests/GHSA-p8p7-x288-28g6.json"))
    b = imported(load("tests/PSF-2024-5.json"))
    # Each vulnerability of an advisory merged from two documents keeps its own text.
    b_vuln = dataclasses.replace(b.vulnerabilities[0], notes=(Note("description", b.description),))
    both = dataclasses.replace(
        a,
        vulnerabilities=(*a.vulnerabilities, b_vuln),
        sources=a.sources + b.sources,
    )
    first, second = render_osv_documents(both, PUBLISHER)
    assert first["published"] == "2023-03-16T15:30:19Z"
    assert second["published"] == "2024-06-17T15:05:58.827Z"
    assert lost("osv", load("tests/PSF-2024-5.json"), second) == []


def test_herald_native_advisories_keep_their_resolution_section() -> None:
    doc = render_osv(CASES["fixed_multi_product"], PUBLISHER)
    assert "### Resolution" in doc["details"]
    said = dataclasses.replace(
        CASES["fixed_multi_product"],
        description=CASES["fixed_multi_product"].description + "\n\nNo action is needed.",
        resolution="No action is needed.",
    )
    assert "### Resolution" not in render_osv(said, PUBLISHER)["details"]
