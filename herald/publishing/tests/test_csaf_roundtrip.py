"""Real CSAF 2.0 documents (every profile) read into a snapshot and rendered again.

Pure: no database. Each document of ``tests/real/csaf`` and ``../shared/corpus/real/csaf``
goes through ``read_csaf`` and ``render_csaf``; the export loses nothing ``lost()``
looks at, and the export and its VEX form pass csaf-validator-lib (``validateStrict``
with every mandatory test) and Herald's own checks (what publication runs).
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from herald.advisories.snapshot import AdvisorySnapshot
from herald.publishing.importers.read_csaf import read_csaf
from herald.publishing.render import csaf_validator
from herald.publishing.render.csaf import render_csaf, render_csaf_vex
from herald.publishing.render.csaf_checks import run_mandatory_tests
from herald.publishing.render.schemas import csaf_problems
from herald.publishing.tests.roundtrip import lost
from herald.publishing.tests.test_osv import CASES, PUBLISHER
from herald.publishing.tests.world import require_csaf_validator
from herald.test import shared_path

REAL = Path(__file__).parent / "real" / "csaf"


def _documents() -> dict[str, dict[str, Any]]:
    paths = sorted(REAL.glob("*.json"))
    # Without ../shared the shared corpus is missing: test_the_corpus_holds_every_profile fails.
    with contextlib.suppress(pytest.skip.Exception):
        paths += sorted(shared_path("corpus", "real", "csaf").glob("*.json"))
    return {p.name: json.loads(p.read_text("utf-8")) for p in paths}


DOCUMENTS = _documents()


def _read(name: str) -> AdvisorySnapshot:
    return read_csaf(copy.deepcopy(DOCUMENTS[name]), file=name).snapshot


def test_the_corpus_holds_every_profile() -> None:
    categories = {d["document"]["category"] for d in DOCUMENTS.values()}
    assert {"csaf_security_advisory", "csaf_vex", "csaf_informational_advisory"} <= categories
    assert len(DOCUMENTS) >= 19


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_a_re_export_loses_nothing(name: str) -> None:
    exported = render_csaf(_read(name), PUBLISHER)
    assert lost("csaf", DOCUMENTS[name], exported) == []


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_the_snapshot_survives_storage(name: str) -> None:
    snapshot = _read(name)
    stored = json.loads(json.dumps(snapshot.to_dict()))
    assert AdvisorySnapshot.from_dict(stored) == snapshot


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_herald_s_own_checks_accept_the_export_and_its_vex(name: str) -> None:
    assert run_mandatory_tests(DOCUMENTS[name]) == []
    snapshot = _read(name)
    assert csaf_problems(render_csaf(snapshot, PUBLISHER)) == []
    vex = render_csaf_vex(snapshot, PUBLISHER)
    if vex is None:  # nothing to state: an informational advisory has no vulnerability
        assert DOCUMENTS[name]["document"]["category"] == "csaf_informational_advisory"
        return
    assert csaf_problems(vex) == []


def test_csaf_validator_lib_accepts_every_export_and_every_vex() -> None:
    require_csaf_validator()
    documents: dict[str, Any] = {}
    for name in DOCUMENTS:
        snapshot = _read(name)
        documents[name] = render_csaf(snapshot, PUBLISHER)
        vex = render_csaf_vex(snapshot, PUBLISHER)
        if vex is not None:
            documents[f"{name} (VEX)"] = vex
    for name, case in CASES.items():
        documents[f"{name} (VEX)"] = render_csaf_vex(case, PUBLISHER)
    results = csaf_validator.validate_many(documents)
    assert {k: v for k, v in results.items() if v} == {}
    assert len(results) >= 2 * len(DOCUMENTS) - 1 + len(CASES)


def test_lost_sees_a_dropped_statement() -> None:
    """The round trip can fail: a vulnerability's flag dropped from the export is named."""
    exported = render_csaf(_read("sec-vex-2022-0001.json"), PUBLISHER)
    for vuln in exported["vulnerabilities"]:
        vuln.pop("flags", None)
    assert any(
        "flag" in problem for problem in lost("csaf", DOCUMENTS["sec-vex-2022-0001.json"], exported)
    )


# --- what the reader keeps, by name ---------------------------------------------------


def test_rows_are_named_by_vendor_product_and_version_not_by_product_id() -> None:
    snapshot = _read("va-24-201-01.json")
    rows = snapshot.vulnerabilities[0].affected
    assert {(r.vendor, r.product, r.version, r.status) for r in rows} >= {
        ("AdminerEvo", "AdminerEvo", "4.8.4", "fixed"),
        ("AdminerEvo", "AdminerEvo", "4.8.3", "affected"),
    }
    assert all(r.product_slug == "adminerevo-adminerevo" for r in rows if r.vendor == "AdminerEvo")
    assert "CSAFPID" not in json.dumps(snapshot.to_dict())


def test_a_vex_justification_and_impact_statement_sit_on_the_not_affected_row() -> None:
    (row,) = _read("sec-vex-2022-0001.json").vulnerabilities[0].affected
    assert (row.vendor, row.product, row.status) == ("Secvisogram", "Secvisogram", "not_affected")
    assert row.justification == "component_not_present"
    assert row.impact_statement


def test_a_component_on_a_platform_keeps_its_platform() -> None:
    rows = _read("rhsa-2021_5186.json").vulnerabilities[0].affected
    assert rows and all(r.platform == "Red Hat OpenShift Container Platform 4.6" for r in rows)
    assert all(r.vendor == "Red Hat" for r in rows)
    exported = render_csaf(_read("rhsa-2021_5186.json"), PUBLISHER)
    assert exported["product_tree"]["relationships"]


def test_each_vulnerability_keeps_its_own_scores_and_cwe() -> None:
    snapshot = _read("va-24-254-01.json")
    original = DOCUMENTS["va-24-254-01.json"]["vulnerabilities"]
    assert [v.cve_id for v in snapshot.vulnerabilities] == [v["cve"] for v in original]
    assert [v.cwe_ids for v in snapshot.vulnerabilities] == [(v["cwe"]["id"],) for v in original]
    vectors = [v.cvss_v3_vector for v in snapshot.vulnerabilities]
    assert vectors == [v["scores"][0]["cvss_v3"]["vectorString"] for v in original]
    exported = render_csaf(snapshot, PUBLISHER)["vulnerabilities"]
    assert [v["scores"][0]["cvss_v3"]["vectorString"] for v in exported] == vectors


def test_the_source_keeps_its_times_and_whole_revision_history() -> None:
    snapshot = _read("icsa-20-161-04.json")
    (source,) = snapshot.sources
    tracking = DOCUMENTS["icsa-20-161-04.json"]["document"]["tracking"]
    assert source.kind == "csaf" and source.id == tracking["id"]
    assert len(source.revision_history) == len(tracking["revision_history"]) == 11
    assert source.published is not None and source.modified is not None
    assert snapshot.published_at is None  # Herald's own publication is not the source's


def test_an_export_keeps_the_source_s_title_vendor_and_profile_not_the_desk_s() -> None:
    exported = render_csaf(_read("sec-vex-2022-0001.json"), PUBLISHER)
    assert exported["document"]["category"] == "csaf_vex"
    assert exported["document"]["title"] == DOCUMENTS["sec-vex-2022-0001.json"]["document"]["title"]
    vendors = [b["name"] for b in exported["product_tree"]["branches"]]
    assert vendors == ["Secvisogram"] and PUBLISHER.name not in vendors


def test_herald_s_revisions_continue_the_source_s_history() -> None:
    import dataclasses
    import datetime as dt

    from herald.advisories.snapshot import RevisionEntry

    snapshot = dataclasses.replace(
        _read("icsa-24-030-02.json"),
        identifier="NW-2026-0100",
        published_at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
        updated_at=dt.datetime(2026, 3, 2, tzinfo=dt.UTC),
        revisions=(
            RevisionEntry(1, "publish", "Imported.", dt.datetime(2026, 3, 1, tzinfo=dt.UTC)),
            RevisionEntry(2, "update", "Fix added.", dt.datetime(2026, 3, 2, tzinfo=dt.UTC)),
        ),
    )
    tracking = render_csaf(snapshot, PUBLISHER)["document"]["tracking"]
    source = DOCUMENTS["icsa-24-030-02.json"]["document"]["tracking"]
    assert len(tracking["revision_history"]) == len(source["revision_history"]) + 2
    assert tracking["id"] == "NW-2026-0100" and source["id"] in tracking["aliases"]
    assert tracking["version"] == tracking["revision_history"][-1]["number"]
    assert csaf_problems(render_csaf(snapshot, PUBLISHER)) == []


def test_a_second_score_for_other_products_is_kept_with_its_products() -> None:
    name = "2022-evd-uc-08-001.json"
    vuln = _read(name).vulnerabilities[0]
    original = DOCUMENTS[name]["vulnerabilities"][0]["scores"]
    (other,) = vuln.scores
    assert vuln.cvss_v3_vector == original[0]["cvss_v3"]["vectorString"]
    assert (other.type, other.vector) == ("CVSS_V3.1", original[1]["cvss_v3"]["vectorString"])
    assert other.products and all("@" in key for key in other.products)
    scores = render_csaf(_read(name), PUBLISHER)["vulnerabilities"][0]["scores"]
    assert [len(s["products"]) for s in scores] == [len(s["products"]) for s in original]


def test_herald_s_own_vulnerabilities_each_render_their_own_facts() -> None:
    import dataclasses
    from decimal import Decimal

    from herald.advisories.snapshot import AffectedSnapshot, VulnerabilitySnapshot

    sdk = AffectedSnapshot("northwind-sdk", "northwind-sdk", "sdk", fixed="1.4.2")
    agent = AffectedSnapshot("Northwind Agent", "agent", "self_hosted", status="not_affected")
    snapshot = dataclasses.replace(
        CASES["fixed_multi_product"],
        vulnerabilities=(
            VulnerabilitySnapshot(
                cve_id="CVE-2026-11111",
                cwe_ids=("CWE-79",),
                cvss_v3_vector="CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N",
                cvss_v3_score=Decimal("5.4"),
                affected=(sdk,),
            ),
            VulnerabilitySnapshot(
                cve_id="CVE-2026-22222",
                cwe_ids=("CWE-863",),
                affected=(dataclasses.replace(agent, justification="component_not_present"),),
            ),
        ),
    )
    doc = render_csaf(snapshot, PUBLISHER)
    first, second = doc["vulnerabilities"]
    assert (first["cwe"]["id"], second["cwe"]["id"]) == ("CWE-79", "CWE-863")
    assert "scores" in first and "scores" not in second
    assert set(first["product_status"]) == {"known_affected", "fixed"}
    assert set(second["product_status"]) == {"known_not_affected"}
    assert second["flags"][0]["label"] == "component_not_present"
    assert csaf_problems(doc) == []
    vex = render_csaf_vex(snapshot, PUBLISHER)
    assert vex is not None and csaf_problems(vex) == []


# --- the VEX form ---------------------------------------------------------------------


def test_the_vex_of_herald_s_advisory_states_every_product() -> None:
    vex = render_csaf_vex(CASES["fixed_multi_product"], PUBLISHER)
    assert vex is not None
    assert vex["document"]["category"] == "csaf_vex"
    assert vex["document"]["tracking"]["id"] == "NW-2026-0001-VEX"
    assert "NW-2026-0001" in vex["document"]["tracking"]["aliases"]
    (vuln,) = vex["vulnerabilities"]
    status = vuln["product_status"]
    impact = {p for t in vuln["threats"] if t["category"] == "impact" for p in t["product_ids"]}
    assert set(status["known_not_affected"]) <= impact
    acted = {p for r in vuln["remediations"] for p in r["product_ids"]}
    assert set(status["known_affected"]) <= acted
    assert any(r["url"].endswith("/nw-2026-0001-vex.json") for r in vex["document"]["references"])
    assert re.fullmatch(r"[a-z0-9+\-_]+\.json", "nw-2026-0001-vex.json")


# --- Herald's own checks agree with the library ---------------------------------------


def _scored(vector: str) -> dict[str, Any]:
    doc = render_csaf(CASES["fixed_multi_product"], PUBLISHER)
    from herald.publishing.render.cve5 import cvss_v3_object

    doc["vulnerabilities"][0]["scores"][0]["cvss_v3"] = cvss_v3_object(vector)
    return doc


def test_6_1_10_accepts_modified_metrics_the_vector_does_not_state() -> None:
    # ``cvss`` fills every modified metric from the base ones; the library does not
    # compare a property the vector leaves out, and neither does Herald any more.
    doc = _scored("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N/MAV:A")
    assert doc["vulnerabilities"][0]["scores"][0]["cvss_v3"]["modifiedAttackComplexity"] == "LOW"
    assert [f for f in run_mandatory_tests(doc) if f.test == "6.1.10"] == []
    wrong = copy.deepcopy(doc)
    wrong["vulnerabilities"][0]["scores"][0]["cvss_v3"]["modifiedAttackVector"] = "NETWORK"
    assert [f.test for f in run_mandatory_tests(wrong) if f.test == "6.1.10"] == ["6.1.10"]
    require_csaf_validator()
    results = csaf_validator.validate_many({"ok": doc, "wrong": wrong})
    assert results["ok"] == []
    assert any("6.1.10" in p or "mandatoryTest_6_1_10" in p for p in results["wrong"])


def test_6_1_6_compares_statuses_within_one_vulnerability_only() -> None:
    doc = render_csaf(CASES["critical_reported_v31_only"], PUBLISHER)
    first, second = doc["vulnerabilities"]
    pid = first["product_status"]["under_investigation"][0]
    second["product_status"] = {"known_not_affected": [pid]}
    second.pop("remediations", None)
    second.pop("scores", None)
    assert [f for f in run_mandatory_tests(doc) if f.test == "6.1.6"] == []
    first["product_status"]["known_not_affected"] = [pid]
    assert [f.test for f in run_mandatory_tests(doc) if f.test == "6.1.6"] == ["6.1.6"]


def test_every_oasis_document_the_library_accepts_passes_herald_s_checks() -> None:
    require_csaf_validator()
    base = shared_path("corpus", "csaf", "oasis-testcases")
    documents = {}
    for path in sorted(base.rglob("*.json")):
        if path.name != "testcases.json":
            documents[str(path.relative_to(base))] = json.loads(path.read_text("utf-8"))
    accepted = [n for n, p in csaf_validator.validate_many(documents).items() if not p]
    assert len(accepted) > 50
    assert {n: csaf_problems(documents[n]) for n in accepted if csaf_problems(documents[n])} == {}


def test_a_row_s_edited_cpe_is_what_the_export_names() -> None:
    import dataclasses

    snapshot = _read("bsi-2022-0001.json")
    vuln = snapshot.vulnerabilities[0]
    with_cpe = [r for r in vuln.affected if r.cpe]
    assert with_cpe
    edited = dataclasses.replace(with_cpe[0], cpe="cpe:/a:csaf-tools:cvrf-csaf-converter:9.9.9")
    rows = tuple(edited if r is with_cpe[0] else r for r in vuln.affected)
    snapshot = dataclasses.replace(
        snapshot, vulnerabilities=(dataclasses.replace(vuln, affected=rows),)
    )
    exported = json.dumps(render_csaf(snapshot, PUBLISHER))
    assert "cpe:/a:csaf-tools:cvrf-csaf-converter:9.9.9" in exported
    assert with_cpe[0].cpe not in exported
