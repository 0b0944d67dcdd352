"""VEX documents (OpenVEX 0.2.0, CycloneDX 1.6): what is affected, fixed, not affected
(and why) or under investigation, per vulnerability and product.

Every document goes through the validator its consumers run: OpenVEX through the
official JSON schema of github.com/openvex/spec (``validators/openvex``, its source
beside it), CycloneDX through cyclonedx-python-lib's strict 1.6 validator. Each check
is shown to refuse a document with a required field broken.
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
    Remediation,
    Score,
    VersionRange,
    VulnerabilitySnapshot,
    VulnId,
)
from herald.publishing.render.cyclonedx_vex import (
    cyclonedx_problems,
    render_cyclonedx_vex,
    render_cyclonedx_vex_bytes,
)
from herald.publishing.render.openvex import render_openvex, render_openvex_bytes
from herald.publishing.render.vex import has_vex, vex_statements
from herald.publishing.tests.test_osv import CASES, PUBLISHER
from herald.publishing.tests.world import openvex_validator
from herald.test import shared_path


def openvex_errors(doc: Any) -> list[str]:
    return [
        f"/{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
        for e in openvex_validator().iter_errors(doc)
    ]


AGENT = AffectedSnapshot(
    product="Northwind Agent",
    product_slug="northwind-agent",
    deployment="sdk",
    ecosystem="PyPI",
    package_name="northwind-agent",
    introduced="1.0.0",
    fixed="1.2.3",
    remediations=(
        Remediation(
            category="vendor_fix",
            details="Upgrade the agent.",
            version="1.2.3",
            url="https://github.com/northwind/agent/pull/42",
        ),
    ),
)
CLOUD_NOT_AFFECTED = AffectedSnapshot(
    product="Northwind Cloud",
    product_slug="northwind-cloud",
    deployment="cloud",
    status="not_affected",
    justification="vulnerable_code_not_in_execute_path",
    impact_statement="The cloud service never parses uploaded archives.",
)
APPLIANCE = AffectedSnapshot(
    product="Northwind Appliance",
    product_slug="northwind-appliance",
    deployment="self_hosted",
    vendor="Northwind",
    cpe="cpe:2.3:a:northwind:appliance:5.0:*:*:*:*:*:*:*",
    version="5.0",
    status="under_investigation",
)
GATEWAY_FIXED = AffectedSnapshot(
    product="Northwind Gateway",
    product_slug="northwind-gateway",
    deployment="self_hosted",
    status="fixed",
    ranges=(VersionRange(type="semver", vers="vers:semver/<2.0.0"),),
    remediations=(Remediation(category="workaround", details="Disable archive uploads."),),
)
MIXED = AdvisorySnapshot(
    identifier="NW-2026-0042",
    title="Archive extraction writes outside the upload folder",
    state="published",
    status="fixed",
    severity="high",
    description="Crafted archives write files *outside* the upload folder.",
    resolution="Upgrade the agent to 1.2.3.",
    published_at=dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC),
    updated_at=dt.datetime(2026, 3, 4, 9, 0, tzinfo=dt.UTC),
    vulnerabilities=(
        VulnerabilitySnapshot(
            cve_id="CVE-2026-31337",
            ids=(VulnId("GHSA-j8r2-6x86-q33q"),),
            cwe_ids=("CWE-22",),
            cvss_v3_vector="CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:N/I:H/A:N",
            cvss_v3_score=Decimal("6.5"),
            scores=(
                Score(
                    type="CVSS_V3.0",
                    vector="CVSS:3.0/AV:N/AC:L/PR:L/UI:N/S:U/C:N/I:H/A:N",
                    base_score=Decimal("6.5"),
                    source="NVD",
                ),
            ),
            affected=(AGENT, CLOUD_NOT_AFFECTED, GATEWAY_FIXED),
        ),
        VulnerabilitySnapshot(
            cve_id="CVE-2026-31338",
            cwe_ids=("CWE-59",),
            cvss_v4_vector="CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N",
            cvss_v4_score=Decimal("8.7"),
            affected=(
                AGENT,
                APPLIANCE,
                dataclasses.replace(CLOUD_NOT_AFFECTED, impact_statement=""),
            ),
        ),
    ),
)


def statements_of(doc: dict[str, Any], name: str) -> dict[str, dict[str, Any]]:
    """A vulnerability's statements by product @id."""
    return {
        s["products"][0]["@id"]: s for s in doc["statements"] if s["vulnerability"]["name"] == name
    }


# --- OpenVEX ------------------------------------------------------------------------


def test_openvex_states_every_status_with_what_the_standard_requires() -> None:
    doc = render_openvex(MIXED, PUBLISHER)
    assert openvex_errors(doc) == []
    assert doc["@context"] == "https://openvex.dev/ns/v0.2.0"
    assert doc["@id"] == "https://security.northwind.example/vex/NW-2026-0042.openvex.json"
    first = statements_of(doc, "CVE-2026-31337")
    agent = first["pkg:pypi/northwind-agent"]
    assert agent["status"] == "affected"
    assert agent["action_statement"].startswith("Fix: Upgrade the agent. (version 1.2.3)")
    assert "vers:semver/>=1.0.0|<1.2.3" in agent["status_notes"]
    assert agent["vulnerability"]["aliases"] == ["GHSA-j8r2-6x86-q33q"]
    assert first["pkg:pypi/northwind-agent@1.2.3"]["status"] == "fixed"
    cloud = first["https://security.northwind.example/security/products/northwind-cloud/vex/"]
    assert cloud["status"] == "not_affected"
    assert cloud["justification"] == "vulnerable_code_not_in_execute_path"
    assert cloud["impact_statement"] == "The cloud service never parses uploaded archives."
    gateway = first["https://security.northwind.example/security/products/northwind-gateway/vex/"]
    assert gateway["status"] == "fixed"
    assert "vers:semver/<2.0.0" in gateway["status_notes"]
    second = statements_of(doc, "CVE-2026-31338")
    appliance = second["cpe:2.3:a:northwind:appliance:5.0:*:*:*:*:*:*:*"]
    assert appliance["status"] == "under_investigation"
    assert appliance["products"][0]["identifiers"] == {
        "cpe23": "cpe:2.3:a:northwind:appliance:5.0:*:*:*:*:*:*:*"
    }
    cloud2 = second["https://security.northwind.example/security/products/northwind-cloud/vex/"]
    assert cloud2["justification"] == "vulnerable_code_not_in_execute_path"
    assert "impact_statement" not in cloud2


def _drop_reasons(statement: dict[str, Any]) -> None:
    assert statement["status"] == "not_affected"
    statement.pop("justification")
    statement.pop("impact_statement")


# Statements of MIXED in order: 0 agent affected, 1 agent 1.2.3 fixed, 2 cloud not affected.
@pytest.mark.parametrize(
    ("what", "index", "break_it"),
    [
        ("affected without an action statement", 0, lambda s: s.pop("action_statement")),
        ("not affected without justification or impact", 2, _drop_reasons),
        ("an unknown status", 0, lambda s: s.__setitem__("status", "exploitable")),
        ("an unknown justification", 2, lambda s: s.__setitem__("justification", "not_mine")),
    ],
)
def test_the_openvex_schema_refuses_a_broken_statement(
    what: str, index: int, break_it: Any
) -> None:
    doc = render_openvex(MIXED, PUBLISHER)
    broken = copy.deepcopy(doc)
    break_it(broken["statements"][index])
    assert openvex_errors(doc) == []
    assert openvex_errors(broken) != [], what


def test_the_openvex_schema_refuses_a_document_without_its_required_fields() -> None:
    for field in ("@context", "@id", "author", "timestamp", "version", "statements"):
        broken = render_openvex(MIXED, PUBLISHER)
        del broken[field]
        assert openvex_errors(broken), field
    empty = render_openvex(MIXED, PUBLISHER) | {"statements": []}
    assert openvex_errors(empty)


def test_a_not_affected_row_without_reasons_still_says_why() -> None:
    bare = dataclasses.replace(CLOUD_NOT_AFFECTED, justification="", impact_statement="")
    snapshot = dataclasses.replace(
        MIXED, vulnerabilities=(dataclasses.replace(MIXED.vulnerabilities[0], affected=(bare,)),)
    )
    doc = render_openvex(snapshot, PUBLISHER)
    assert openvex_errors(doc) == []
    assert doc["statements"][0]["impact_statement"] == (
        "Northwind states that Northwind Cloud is not affected."
    )


def test_a_withdrawn_advisory_no_longer_asserts_its_statements() -> None:
    withdrawn = dataclasses.replace(
        MIXED,
        state="withdrawn",
        withdrawn_at=dt.datetime(2026, 3, 5, tzinfo=dt.UTC),
        withdrawn_reason="Duplicate of NW-2026-0040",
    )
    doc = render_openvex(withdrawn, PUBLISHER)
    assert openvex_errors(doc) == []
    assert {s["status"] for s in doc["statements"]} == {"under_investigation"}
    assert "Duplicate of NW-2026-0040" in doc["statements"][0]["status_notes"]
    cdx = render_cyclonedx_vex(withdrawn, PUBLISHER)
    assert cyclonedx_problems(cdx) == []
    assert {v["analysis"]["state"] for v in cdx["vulnerabilities"]} == {"in_triage"}


def test_the_same_snapshot_gives_the_same_bytes() -> None:
    again = AdvisorySnapshot.from_dict(json.loads(json.dumps(MIXED.to_dict())))
    assert render_openvex_bytes(again, PUBLISHER) == render_openvex_bytes(MIXED, PUBLISHER)
    assert render_cyclonedx_vex_bytes(again, PUBLISHER) == render_cyclonedx_vex_bytes(
        MIXED, PUBLISHER
    )


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_case_gives_valid_vex_documents(name: str) -> None:
    snapshot = CASES[name]
    if not has_vex(snapshot):
        assert vex_statements(snapshot, PUBLISHER) == []
        return
    assert openvex_errors(render_openvex(snapshot, PUBLISHER)) == []
    assert cyclonedx_problems(render_cyclonedx_vex(snapshot, PUBLISHER)) == []


# --- CycloneDX ----------------------------------------------------------------------


def entries_of(doc: dict[str, Any], vuln_id: str) -> list[dict[str, Any]]:
    return [v for v in doc["vulnerabilities"] if v["id"] == vuln_id]


def test_cyclonedx_gives_one_analysis_per_group_of_products() -> None:
    doc = render_cyclonedx_vex(MIXED, PUBLISHER)
    assert cyclonedx_problems(doc) == []
    assert doc["bomFormat"] == "CycloneDX" and doc["specVersion"] == "1.6"
    refs = {c["bom-ref"] for c in doc["components"]}
    assert "pkg:pypi/northwind-agent" in refs
    first = {e["analysis"]["state"]: e for e in entries_of(doc, "CVE-2026-31337")}
    assert set(first) == {"exploitable", "not_affected", "resolved"}
    exploitable = first["exploitable"]
    assert exploitable["analysis"]["response"] == ["update"]
    assert exploitable["affects"] == [
        {
            "ref": "pkg:pypi/northwind-agent",
            "versions": [
                {"status": "unaffected", "version": "1.2.3"},
                {"range": "vers:semver/>=1.0.0|<1.2.3", "status": "affected"},
            ],
        }
    ]
    not_affected = first["not_affected"]["analysis"]
    assert not_affected["justification"] == "code_not_reachable"
    assert not_affected["detail"] == "The cloud service never parses uploaded archives."
    assert first["resolved"]["analysis"]["response"] == ["update", "workaround_available"]
    assert exploitable["cwes"] == [22]
    methods = {r["method"]: r for r in exploitable["ratings"]}
    assert set(methods) == {"CVSSv3", "CVSSv31"}
    assert methods["CVSSv3"]["source"]["name"] == "NVD"
    assert exploitable["references"][0]["id"] == "GHSA-j8r2-6x86-q33q"
    second = {e["analysis"]["state"]: e for e in entries_of(doc, "CVE-2026-31338")}
    assert set(second) == {"exploitable", "in_triage", "not_affected"}
    assert [r["method"] for r in second["exploitable"]["ratings"]] == ["CVSSv4"]
    assert second["in_triage"]["affects"][0]["versions"] == [
        {"status": "unknown", "version": "5.0"}
    ]


@pytest.mark.parametrize(
    ("what", "path", "value"),
    [
        ("an unknown analysis state", ("analysis", "state"), "exploited"),
        ("a CWE as text", ("cwes",), ["CWE-22"]),
        ("an unknown justification", ("analysis", "justification"), "not_my_problem"),
        ("a version status outside the enum", ("affects", 0, "versions", 0, "status"), "fixed"),
    ],
)
def test_the_cyclonedx_validator_refuses_a_broken_vulnerability(
    what: str, path: tuple[Any, ...], value: Any
) -> None:
    doc = render_cyclonedx_vex(MIXED, PUBLISHER)
    broken = copy.deepcopy(doc)
    target: Any = broken["vulnerabilities"][0]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert cyclonedx_problems(doc) == []
    assert cyclonedx_problems(broken) != [], what


def test_the_cyclonedx_validator_refuses_a_bom_without_its_format() -> None:
    broken = render_cyclonedx_vex(MIXED, PUBLISHER)
    del broken["bomFormat"]
    assert cyclonedx_problems(broken) != []


# --- a real CSAF VEX document's statements ------------------------------------------

REAL = Path(__file__).parent / "real" / "csaf" / "2022-evd-uc-03-ms-001.json"
CSAF_STATUS = {
    "known_affected": "affected",
    "fixed": "fixed",
    "known_not_affected": "not_affected",
    "under_investigation": "under_investigation",
}


def mirror_of_real_vex() -> tuple[AdvisorySnapshot, dict[str, dict[str, str]]]:
    """The 19 statements of a real csaf_vex document (one product: Example Company GHI
    17.4) as a snapshot, built by hand from it (no reader yet), and what it says per CVE."""
    doc = json.loads(REAL.read_text("utf-8"))
    vulnerabilities = []
    said: dict[str, dict[str, str]] = {}
    for v in doc["vulnerabilities"]:
        [(bucket, _)] = v["product_status"].items()
        status = CSAF_STATUS[bucket]
        impact = next((t["details"] for t in v.get("threats", ()) if t["category"] == "impact"), "")
        remediations = tuple(
            Remediation(category=r["category"], details=r.get("details", ""))
            for r in v.get("remediations", ())
        )
        row = AffectedSnapshot(
            product="GHI",
            product_slug="example-company-ghi",
            deployment="other",
            vendor="Example Company",
            version="17.4",
            status=status,
            impact_statement=impact,
            remediations=remediations,
        )
        vulnerabilities.append(VulnerabilitySnapshot(cve_id=v["cve"], affected=(row,)))
        said[v["cve"]] = {
            "status": status,
            "impact": impact,
            "action": " ".join(r.get("details", "") for r in v.get("remediations", ())),
        }
    tracking = doc["document"]["tracking"]
    snapshot = AdvisorySnapshot(
        identifier=tracking["id"],
        title=doc["document"]["title"],
        state="published",
        status="reported",
        severity="high",
        published_at=dt.datetime.fromisoformat(tracking["initial_release_date"]),
        updated_at=dt.datetime.fromisoformat(tracking["current_release_date"]),
        vulnerabilities=tuple(vulnerabilities),
    )
    return snapshot, said


def test_the_statements_of_a_real_csaf_vex_document_pass_both_validators() -> None:
    snapshot, said = mirror_of_real_vex()
    assert len(said) == 19 and {s["status"] for s in said.values()} == set(CSAF_STATUS.values())
    doc = render_openvex(snapshot, PUBLISHER)
    assert openvex_errors(doc) == []
    assert len(doc["statements"]) == 19
    for statement in doc["statements"]:
        expected = said[statement["vulnerability"]["name"]]
        assert statement["status"] == expected["status"]
        assert statement["supplier"] == "Example Company"
        if expected["status"] == "not_affected":
            assert statement["impact_statement"] == expected["impact"]
        if expected["status"] == "affected":
            assert expected["action"] in statement["action_statement"]
    cdx = render_cyclonedx_vex(snapshot, PUBLISHER)
    assert cyclonedx_problems(cdx) == []
    states = {v["id"]: v["analysis"]["state"] for v in cdx["vulnerabilities"]}
    assert states == {
        cve: {
            "affected": "exploitable",
            "fixed": "resolved",
            "not_affected": "not_affected",
            "under_investigation": "in_triage",
        }[s["status"]]
        for cve, s in said.items()
    }


# --- every real document, once its reader exists ------------------------------------

REAL_DIR = Path(__file__).parent / "real"


def _real_files(kind: str) -> list[Path]:
    files = sorted((REAL_DIR / kind).glob("*.json"))
    return files + sorted(shared_path("corpus", "real", kind).rglob("*.json"))


@pytest.mark.parametrize("kind", ["osv", "cve", "csaf"])
def test_the_vex_of_every_real_document_passes_both_validators(kind: str) -> None:
    """Each real document read (``read_<kind>``, skipped until that reader is merged) and
    published as VEX: both documents pass their validators. Measured on a trial merge of
    the three readers: 56 documents with product rows, all valid."""
    reader = pytest.importorskip(f"herald.publishing.importers.read_{kind}")
    read = getattr(reader, f"read_{kind}")
    rendered = 0
    for path in _real_files(kind):
        snapshot = read(json.loads(path.read_text("utf-8")), file=path.name).snapshot
        when = (
            snapshot.updated_at or snapshot.published_at or dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        )
        snapshot = dataclasses.replace(snapshot, identifier=path.stem, updated_at=when)
        if not has_vex(snapshot):
            continue
        assert openvex_errors(render_openvex(snapshot, PUBLISHER)) == [], path.name
        assert cyclonedx_problems(render_cyclonedx_vex(snapshot, PUBLISHER)) == [], path.name
        rendered += 1
    assert rendered > 0
