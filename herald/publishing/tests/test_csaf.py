"""CSAF 2.0 renderer and mandatory tests, against the OASIS schema and test documents.

The CSAF schema refers to FIRST's CVSS schemas by URL; they are resolved locally
from the copies embedded in the CVE record schema that ``cvelib`` ships, so the
CVSS blocks are validated by the official schemas too, with no network.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from herald.advisories.snapshot import AffectedSnapshot, with_changes
from herald.publishing.render import csaf_validator
from herald.publishing.render.csaf import render_csaf, render_csaf_bytes
from herald.publishing.render.csaf_checks import MANDATORY_TESTS, run_mandatory_tests
from herald.publishing.render.schemas import csaf_problems, cvss_schemas
from herald.publishing.tests.test_osv import CASES, PUBLISHER, check_expected
from herald.publishing.tests.world import require_csaf_validator
from herald.test import shared_path

OASIS = ("corpus", "csaf", "oasis-testcases")


def official() -> Draft202012Validator:
    schema = json.loads(shared_path("schemas", "csaf", "csaf_json_schema.json").read_text("utf-8"))
    registry: Registry = Registry().with_resources(
        (url, Resource.from_contents(contents)) for url, contents in cvss_schemas().items()
    )
    return Draft202012Validator(schema, registry=registry)


def errors(doc: Any) -> list[str]:
    return [
        f"/{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
        for e in official().iter_errors(doc)
    ]


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_case_passes_the_schema_and_the_mandatory_tests(name: str) -> None:
    doc = render_csaf(CASES[name], PUBLISHER)
    assert errors(doc) == []
    assert csaf_problems(doc) == []


def test_the_product_tree_holds_ranges_and_fixed_versions() -> None:
    doc = render_csaf(CASES["fixed_multi_product"], PUBLISHER)
    vendor = doc["product_tree"]["branches"][0]
    assert (vendor["category"], vendor["name"]) == ("vendor", "Northwind")
    products = {b["name"]: b for b in vendor["branches"]}
    sdk = products["northwind-sdk"]["branches"]
    assert sdk[0]["category"] == "product_version_range"
    assert sdk[0]["name"] == "vers:semver/>=1.0.0|<1.4.2"
    assert sdk[1] == {
        "category": "product_version",
        "name": "1.4.2",
        "product": {
            "name": "northwind-sdk 1.4.2",
            "product_id": "CSAFPID-0003",
            "product_identification_helper": {"purl": "pkg:pypi/northwind-sdk@1.4.2"},
        },
    }
    cloud = products["Northwind Cloud"]["product"]
    status = doc["vulnerabilities"][0]["product_status"]
    assert cloud["product_id"] in status["fixed"]
    assert sdk[0]["product"]["product_id"] in status["known_affected"]
    agent = products["Northwind Agent"]["product"]["product_id"]
    assert status["known_not_affected"] == [agent]


def test_vulnerabilities_carry_cve_cwe_scores_and_the_fix() -> None:
    doc = render_csaf(CASES["fixed_multi_product"], PUBLISHER)
    (vuln,) = doc["vulnerabilities"]
    assert vuln["cve"] == "CVE-2026-12345"
    assert vuln["cwe"] == {
        "id": "CWE-79",
        "name": "Improper Neutralization of Input During Web Page Generation "
        "('Cross-site Scripting')",
    }
    score = vuln["scores"][0]
    assert score["cvss_v3"]["baseScore"] == 5.4
    assert set(score["products"]) == set(
        vuln["product_status"]["known_affected"] + vuln["product_status"]["fixed"]
    )
    remediation = vuln["remediations"][0]
    assert remediation["category"] == "vendor_fix"
    assert remediation["url"] == "https://github.com/northwind/app/pull/1234"
    assert remediation["product_ids"] == vuln["product_status"]["known_affected"]
    # CSAF 2.0 has no CVSS v4 object: the vector travels as a note and a reference.
    assert any(n["title"] == "CVSS v4.0" for n in vuln["notes"])
    assert any("calculator/4.0#CVSS:4.0/" in r["url"] for r in vuln["references"])


def test_the_document_has_tracking_from_the_revisions_and_tlp_white() -> None:
    doc = render_csaf(CASES["fixed_multi_product"], PUBLISHER)["document"]
    assert doc["category"] == "csaf_security_advisory"
    assert doc["distribution"]["tlp"]["label"] == "WHITE"
    assert doc["lang"] == "en"
    tracking = doc["tracking"]
    assert tracking["status"] == "final"
    assert tracking["version"] == "2"
    assert [r["number"] for r in tracking["revision_history"]] == ["1", "2"]
    assert tracking["initial_release_date"] == "2026-02-10T09:00:00Z"
    assert tracking["current_release_date"] == "2026-02-11T09:00:00Z"
    assert doc["acknowledgments"][0] == {
        "names": ["Ada Lovelace"],
        "summary": "finding the vulnerability",
        "urls": ["https://ada.example"],
    }
    assert doc["references"][1]["url"] == (
        "https://security.northwind.example/.well-known/csaf/white/2026/nw-2026-0001.json"
    )


def test_a_reported_advisory_is_interim_with_no_fix_available() -> None:
    doc = render_csaf(CASES["critical_reported_v31_only"], PUBLISHER)
    assert doc["document"]["tracking"]["status"] == "interim"
    assert [v["cve"] for v in doc["vulnerabilities"]] == ["CVE-2026-20001", "CVE-2026-20002"]
    assert doc["vulnerabilities"][0]["remediations"][0]["category"] == "none_available"
    assert doc["vulnerabilities"][0]["product_status"]["under_investigation"]


def test_without_a_cve_the_advisory_id_names_the_vulnerability() -> None:
    vuln = render_csaf(CASES["high_v4_only_no_cve"], PUBLISHER)["vulnerabilities"][0]
    assert "cve" not in vuln
    assert vuln["ids"] == [{"system_name": "Northwind", "text": "NW-2026-0003"}]
    assert vuln["cwe"]["id"] == "CWE-863"  # the CWE with a known name
    assert "scores" not in vuln  # v4 only: nothing CSAF 2.0 can score


def test_a_withdrawn_advisory_is_a_final_revision_saying_so() -> None:
    doc = render_csaf(CASES["withdrawn"], PUBLISHER)["document"]
    assert doc["tracking"]["version"] == "2"
    assert doc["tracking"]["revision_history"][-1]["summary"] == "Withdrawn: not a vulnerability."
    assert any(n["title"] == "Withdrawn" for n in doc["notes"])


def test_a_draft_renders_as_a_draft_document() -> None:
    snap = dataclasses.replace(CASES["fixed_multi_product"], state="draft", revisions=())
    doc = render_csaf(snap, PUBLISHER)
    assert doc["document"]["tracking"]["status"] == "draft"
    assert csaf_problems(doc) == []


def test_a_product_with_and_without_versions_keeps_ids_unique() -> None:
    rows = (
        AffectedSnapshot("Northwind Server", "server", "cloud", status="fixed"),
        AffectedSnapshot("Northwind Server", "server", "self_hosted", fixed="5.0.0"),
    )
    doc = render_csaf(with_changes(CASES["withdrawn"], affected=rows), PUBLISHER)
    assert errors(doc) == []
    assert csaf_problems(doc) == []


def test_output_matches_the_saved_files() -> None:
    for name in ("fixed_multi_product", "withdrawn"):
        check_expected(f"csaf_{name}.json", render_csaf_bytes(CASES[name], PUBLISHER))


def test_mandatory_tests_catch_what_herald_could_get_wrong() -> None:
    doc = render_csaf(CASES["fixed_multi_product"], PUBLISHER)
    vuln = doc["vulnerabilities"][0]
    vuln["product_status"]["fixed"].append(vuln["product_status"]["known_affected"][0])
    vuln["scores"][0]["cvss_v3"]["baseScore"] = 9.9
    vuln["remediations"][0]["product_ids"].append("CSAFPID-9999")
    doc["document"]["tracking"]["version"] = "3"
    failed = {f.test for f in run_mandatory_tests(doc)}
    assert {"6.1.1", "6.1.6", "6.1.9", "6.1.16"} <= failed


def _oasis_cases() -> list[tuple[str, str, bool]]:
    try:
        index = json.loads(shared_path(*OASIS, "testcases.json").read_text("utf-8"))
    except pytest.skip.Exception:
        return []
    cases = []
    for test in index["tests"]:
        if test["id"] in MANDATORY_TESTS:
            for item in test.get("failures", []) + test.get("valid", []):
                cases.append((test["id"], item["name"], bool(item["valid"])))
    return cases


def test_every_implemented_mandatory_test_has_oasis_documents() -> None:
    covered = {test_id for test_id, _, _ in _oasis_cases()}
    if not covered:
        shared_path(*OASIS, "testcases.json")  # skips, or fails in CI
    assert covered == set(MANDATORY_TESTS)


# OASIS documents csaf-validator-lib judges otherwise than OASIS; Herald follows the
# library (what consumers run), so a document they accept is never refused.
LIBRARY_ACCEPTS = {
    # "csafsecurityadvisory": the library strips "-", "_" and spaces, not "csaf".
    "mandatory/oasis_csaf_tc-csaf_2_0-2021-6-1-26-04.json",
}


@pytest.mark.parametrize(("test_id", "name", "valid"), _oasis_cases())
def test_oasis_test_documents_pass_or_fail_as_oasis_says(
    test_id: str, name: str, valid: bool
) -> None:
    doc = json.loads(shared_path(*OASIS, name).read_text("utf-8"))
    failures = run_mandatory_tests(doc, only=(test_id,))
    if valid or name in LIBRARY_ACCEPTS:
        assert failures == []
    else:
        assert failures, f"{name} should fail {test_id}"


def _files(*parts: str) -> list[Path]:
    files = sorted(shared_path(*parts).glob("*.json"))
    assert files
    return files


@pytest.mark.parametrize("folder", [("corpus", "real", "csaf"), ("corpus", "csaf", "good")])
def test_real_and_good_documents_pass_the_schema_and_mandatory_tests(
    folder: tuple[str, ...],
) -> None:
    for path in _files(*folder):
        doc = json.loads(path.read_text("utf-8"))
        assert errors(doc) == [], path.name
        assert run_mandatory_tests(doc) == [], path.name


def test_broken_documents_fail() -> None:
    for path in _files("corpus", "csaf", "bad"):
        try:
            doc = json.loads(path.read_text("utf-8"))
        except json.JSONDecodeError:
            continue  # the truncated one is not even JSON: nothing to publish
        assert errors(doc), path.name
        problems = csaf_problems(doc)
        assert any("unexpected_field" in p for p in problems), problems
        assert any("tracking/status" in p for p in problems), problems
        assert any("6.1.1 " in p for p in problems), problems


def test_a_service_row_entered_as_affected_is_fixed_once_the_advisory_is_resolved() -> None:
    cloud = AffectedSnapshot(product="Northwind Cloud", product_slug="cloud", deployment="cloud")
    agent = AffectedSnapshot(
        product="Northwind Agent", product_slug="agent", deployment="self_hosted", fixed="1.4.0"
    )
    case = with_changes(CASES["fixed_multi_product"], status="resolved",
                               affected=(cloud, agent))  # fmt: skip
    status = render_csaf(case, PUBLISHER)["vulnerabilities"][0]["product_status"]
    assert "known_affected" in status  # the agent's versions before 1.4.0
    tree = json.dumps(render_csaf(case, PUBLISHER)["product_tree"])
    assert "Northwind Cloud" in tree and len(status["fixed"]) == 2  # the service, agent 1.4.0
    reported = dataclasses.replace(case, status="reported")
    assert len(render_csaf(reported, PUBLISHER)["vulnerabilities"][0]["product_status"]
               .get("fixed", [])) == 1  # fmt: skip


SWIFT_NIO = AffectedSnapshot(
    "swift-nio-http2", "swift-nio-http2", "library", ecosystem="SwiftURL",
    package_name="https://github.com/apple/swift-nio-http2", introduced="0", fixed="1.28.0",
)  # fmt: skip


def _purls(node: Any) -> list[str]:
    if isinstance(node, dict):
        helper = node.get("product_identification_helper") or {}
        own = [helper["purl"]] if "purl" in helper else []
        return own + [p for value in node.values() for p in _purls(value)]
    if isinstance(node, list):
        return [p for value in node for p in _purls(value)]
    return []


def test_a_swift_package_has_a_purl_only_where_it_has_a_version() -> None:
    """purl-spec: a swift purl needs its version (csaf-validator-lib's test 6.1.13)."""
    snapshot = with_changes(CASES["fixed_multi_product"], affected=(SWIFT_NIO,))
    doc = render_csaf(snapshot, PUBLISHER)
    assert _purls(doc["product_tree"]) == ["pkg:swift/github.com/apple/swift-nio-http2@1.28.0"]
    require_csaf_validator()
    assert csaf_validator.validate_many({"swift": doc}) == {"swift": []}


def test_herald_s_own_6_1_13_refuses_a_swift_purl_without_version_as_the_library_does() -> None:
    doc = render_csaf(with_changes(CASES["fixed_multi_product"], affected=(SWIFT_NIO,)), PUBLISHER)
    leaf = doc["product_tree"]["branches"][0]
    while "branches" in leaf:
        leaf = leaf["branches"][0]
    leaf["product"]["product_identification_helper"] = {
        "purl": "pkg:swift/github.com/apple/swift-nio-http2"
    }
    assert any("6.1.13" in p and "swift purl needs a version" in p for p in csaf_problems(doc))
