"""CVE JSON 5 renderer: full records and CNA containers against the official schemas."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

from herald.advisories.snapshot import with_changes
from herald.publishing.render.cve5 import (
    render_cna_container,
    render_cve_record,
    render_cve_record_bytes,
)
from herald.publishing.render.schemas import cna_container_problems, cve_record_problems
from herald.publishing.tests.test_osv import CASES, PUBLISHER, check_expected
from herald.test import shared_path

WITH_CVE = [(name, cve) for name, snap in sorted(CASES.items()) for cve in snap.cve_ids]


def official(name: str) -> Draft7Validator:
    path = shared_path("schemas", "cve", f"CVE_JSON_{name}_5.1.1.json")
    return Draft7Validator(json.loads(path.read_text("utf-8")))


def errors(validator: Draft7Validator, doc: Any) -> list[str]:
    return [
        f"/{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
        for e in validator.iter_errors(doc)
    ]


@pytest.mark.parametrize(("name", "cve_id"), WITH_CVE)
def test_every_record_passes_the_official_schema(name: str, cve_id: str) -> None:
    record = render_cve_record(CASES[name], cve_id, PUBLISHER)
    assert errors(official("bundled"), record) == []
    assert cve_record_problems(record) == []


@pytest.mark.parametrize(("name", "cve_id"), [w for w in WITH_CVE if w[0] != "withdrawn"])
def test_every_cna_container_is_what_cve_services_accepts(name: str, cve_id: str) -> None:
    container = render_cna_container(CASES[name], cve_id, PUBLISHER)
    assert errors(official("cnaPublishedContainer"), container) == []
    assert cna_container_problems(container) == []


def test_the_shared_cases_cover_one_and_several_cves() -> None:
    # The shared set must exercise records with one and with several CVE ids.
    assert len({name for name, _ in WITH_CVE}) >= 3
    assert len(CASES["critical_reported_v31_only"].cve_ids) == 2


def test_a_published_record_has_the_cna_metadata() -> None:
    record = render_cve_record(CASES["fixed_multi_product"], "CVE-2026-12345", PUBLISHER)
    assert record["dataType"] == "CVE_RECORD"
    assert record["dataVersion"] == "5.1"
    meta = record["cveMetadata"]
    assert meta["state"] == "PUBLISHED"
    assert meta["assignerOrgId"] == PUBLISHER.cna_org_id
    assert meta["assignerShortName"] == "Northwind"
    assert meta["datePublished"] == "2026-02-10T09:00:00Z"


def test_affected_products_carry_ranges_and_default_status() -> None:
    cna = render_cna_container(CASES["fixed_multi_product"], "CVE-2026-12345", PUBLISHER)
    by_product = {(a["product"], "versions" in a): a for a in cna["affected"]}
    sdk = by_product[("northwind-sdk", True)]
    assert sdk["collectionURL"] == "https://pypi.python.org"
    assert sdk["versions"] == [
        {"version": "1.0.0", "status": "affected", "lessThan": "1.4.2", "versionType": "semver"}
    ]
    assert sdk["defaultStatus"] == "unaffected"
    server = by_product[("Northwind Server", True)]
    assert server["versions"] == [
        {
            "version": "2024.1",
            "status": "affected",
            "lessThanOrEqual": "2025.3",
            "versionType": "custom",
        }
    ]
    cloud = by_product[("Northwind Cloud", False)]
    assert cloud["platforms"] == ["EU", "US"] and cloud["defaultStatus"] == "affected"
    assert by_product[("Northwind Agent", False)]["defaultStatus"] == "unaffected"

    open_ended = render_cna_container(
        CASES["critical_reported_v31_only"], "CVE-2026-20001", PUBLISHER
    )["affected"]
    assert open_ended[0]["versions"][0]["lessThanOrEqual"] == "*"
    assert open_ended[1]["defaultStatus"] == "unknown"  # under investigation


def test_metrics_are_full_cvss_objects_for_both_versions() -> None:
    cna = render_cna_container(CASES["fixed_multi_product"], "CVE-2026-12345", PUBLISHER)
    v4 = cna["metrics"][0]["cvssV4_0"]
    assert (v4["version"], v4["baseScore"], v4["baseSeverity"]) == ("4.0", 5.1, "MEDIUM")
    assert v4["userInteraction"] == "PASSIVE"
    v3 = cna["metrics"][1]["cvssV3_1"]
    assert (v3["version"], v3["baseScore"], v3["baseSeverity"]) == ("3.1", 5.4, "MEDIUM")
    assert v3["vectorString"] == "CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N"


def test_a_cvss_30_vector_becomes_a_cvss_v3_0_metric() -> None:
    snap = with_changes(CASES["unicode_no_products"], cve_ids=("CVE-2026-40004",))
    cna = render_cna_container(snap, "CVE-2026-40004", PUBLISHER)
    assert cna["metrics"][0]["cvssV3_0"]["version"] == "3.0"
    # No product rows: the vendor's offering stands in, as CVE rules need a product.
    assert cna["affected"] == [
        {"vendor": "Northwind", "product": "Northwind", "defaultStatus": "affected"}
    ]
    assert cna_container_problems(cna) == []


def test_descriptions_problem_types_references_credits_and_timeline() -> None:
    cna = render_cna_container(CASES["fixed_multi_product"], "CVE-2026-12345", PUBLISHER)
    description = cna["descriptions"][0]
    assert description["lang"] == "en"
    assert "**" not in description["value"] and "script" in description["value"]
    assert description["supportingMedia"][0]["type"] == "text/html"
    assert cna["problemTypes"][0]["descriptions"][0] == {
        "lang": "en",
        "type": "CWE",
        "cweId": "CWE-79",
        "description": "CWE-79 Improper Neutralization of Input During Web Page Generation "
        "('Cross-site Scripting')",
    }
    refs = {r["url"]: r.get("tags") for r in cna["references"]}
    assert refs["https://github.com/northwind/app/pull/1234"] == ["patch"]
    assert refs["https://security.northwind.example/security/advisories/NW-2026-0001/"] == [
        "vendor-advisory"
    ]
    assert refs["https://blog.northwind.example/xss"] == ["technical-description"]
    assert cna["credits"] == [
        {"lang": "en", "value": "Ada Lovelace", "type": "finder"},
        {"lang": "en", "value": "Charles Babbage", "type": "remediation developer"},
    ]
    assert [t["time"][:10] for t in cna["timeline"]] == [
        "2026-02-01", "2026-02-02", "2026-02-03", "2026-02-10",
    ]  # fmt: skip
    assert cna["datePublic"] == "2026-02-10T00:00:00Z"
    assert cna["solutions"][0]["value"].startswith("Fixed in #1234 (https://github.com/")


def test_an_unknown_cwe_is_given_by_id_alone() -> None:
    snap = with_changes(CASES["high_v4_only_no_cve"], cve_ids=("CVE-2026-50005",))
    cna = render_cna_container(snap, "CVE-2026-50005", PUBLISHER)
    assert cna["problemTypes"][0]["descriptions"][1]["description"] == "CWE-99999"


def test_a_withdrawn_advisory_rejects_its_cve() -> None:
    record = render_cve_record(CASES["withdrawn"], "CVE-2026-30003", PUBLISHER)
    assert record["cveMetadata"]["state"] == "REJECTED"
    assert record["cveMetadata"]["dateRejected"] == "2026-02-12T09:00:00Z"
    assert record["containers"]["cna"]["rejectedReasons"] == [
        {
            "lang": "en",
            "value": "Not a vulnerability: the redirect target is validated server-side.",
        }
    ]


def test_it_refuses_without_a_cna_org_id_or_for_a_foreign_cve() -> None:
    with pytest.raises(ValueError, match="organisation id"):
        render_cve_record(
            CASES["withdrawn"], "CVE-2026-30003", dataclasses.replace(PUBLISHER, cna_org_id="")
        )
    with pytest.raises(ValueError, match="not one of"):
        render_cve_record(CASES["withdrawn"], "CVE-2026-99999", PUBLISHER)


def test_a_long_description_is_clipped_to_the_schema_limit() -> None:
    snap = dataclasses.replace(CASES["fixed_multi_product"], description="word " * 2000)
    cna = render_cna_container(snap, "CVE-2026-12345", PUBLISHER)
    assert len(cna["descriptions"][0]["value"]) <= 4096
    assert cna_container_problems(cna) == []


@pytest.mark.parametrize(
    ("name", "cve_id"), [("fixed_multi_product", "CVE-2026-12345"), ("withdrawn", "CVE-2026-30003")]
)
def test_output_matches_the_saved_file(name: str, cve_id: str) -> None:
    check_expected(f"cve5_{name}.json", render_cve_record_bytes(CASES[name], cve_id, PUBLISHER))


def _files(*parts: str) -> list[Path]:
    files = sorted(shared_path(*parts).glob("*.json"))
    assert files
    return files


def _validate_any(doc: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Official and run-time problems; a bare container is checked as a container."""
    if "dataType" in doc:
        return errors(official("bundled"), doc), cve_record_problems(doc)
    return errors(official("cnaPublishedContainer"), doc), cna_container_problems(doc)


@pytest.mark.parametrize("folder", [("corpus", "real", "cve"), ("corpus", "cve", "good")])
def test_real_and_good_records_pass_both_validators(folder: tuple[str, ...]) -> None:
    for path in _files(*folder):
        official_errors, problems = _validate_any(json.loads(path.read_text("utf-8")))
        assert official_errors == [], path.name
        assert problems == [], path.name


def test_broken_records_fail_both_validators() -> None:
    for path in _files("corpus", "cve", "bad"):
        official_errors, problems = _validate_any(json.loads(path.read_text("utf-8")))
        assert official_errors, path.name
        assert len(problems) >= 4, problems  # the id, a status, the empty descriptions
