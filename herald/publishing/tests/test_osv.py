"""OSV renderer: varied advisories against the official OSV 1.7 schema and saved files.

The advisories built here (``CASES``) are shared with the CVE and CSAF tests, so
every format is checked on the same set: every severity and status, withdrawn,
with and without CVE, CVSS 3.1 / 4.0 / both, several products and range shapes,
unicode text, products inside and outside package ecosystems.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from herald.advisories.snapshot import (
    AdvisorySnapshot,
    AffectedSnapshot,
    CreditSnapshot,
    ReferenceSnapshot,
    RevisionEntry,
)
from herald.core.models import VendorProfile
from herald.publishing.render.osv import render_osv, render_osv_bytes
from herald.publishing.render.publisher import Publisher, publisher_from_profile
from herald.publishing.render.schemas import osv_problems, osv_schema, osv_schema_problems
from herald.test import shared_path

EXPECTED = Path(__file__).parent / "expected"
UTC = dt.UTC

PUBLISHER = Publisher(
    name="Northwind",
    base_url="https://security.northwind.example/",
    contact="security@northwind.example",
    osv_ecosystem="Northwind",
    cna_org_id="6f1f3e7a-8d0c-4c33-9a51-2b5c7f0e9d41",
    cna_short_name="Northwind",
)


def _at(day: int, hour: int = 9) -> dt.datetime:
    return dt.datetime(2026, 2, day, hour, 0, tzinfo=UTC)


CLOUD_US = AffectedSnapshot("Northwind Cloud", "cloud", "cloud", region="US", status="fixed")
CLOUD_EU = AffectedSnapshot("Northwind Cloud", "cloud", "cloud", region="EU", status="fixed")
SDK = AffectedSnapshot(
    "northwind-sdk", "sdk", "sdk", introduced="1.0.0", fixed="1.4.2", status="fixed",
    ecosystem="PyPI", package_name="northwind-sdk",
)  # fmt: skip
NPM = AffectedSnapshot(
    "@northwind/widgets", "widgets", "sdk", fixed="3.2.1", status="fixed",
    ecosystem="npm", package_name="@northwind/widgets",
)  # fmt: skip
SERVER = AffectedSnapshot(
    "Northwind Server", "server", "self_hosted", introduced="2024.1", last_affected="2025.3"
)
SERVER_OPEN = AffectedSnapshot("Northwind Server", "server", "self_hosted", introduced="4.0.0")
AGENT = AffectedSnapshot("Northwind Agent", "agent", "self_hosted", status="not_affected")
MOBILE = AffectedSnapshot("Northwind Mobile", "mobile", "other", status="under_investigation")
GIT = AffectedSnapshot(
    "Northwind Proxy", "proxy", "self_hosted",
    introduced="0", fixed="4b825dc642cb6eb9a060e54bf8d69288fbee4904",
    repository_url="https://github.com/northwind/proxy",
)  # fmt: skip

BASE: dict[str, Any] = {
    "identifier": "NW-2026-0001",
    "title": "Stored XSS in dashboard names",
    "state": "published",
    "status": "fixed",
    "severity": "medium",
    "summary": "A dashboard name could carry a script that ran for viewers.",
    "description": "A dashboard name could carry a **script** that ran in the browser of "
    "anyone who opened the dashboard.",
    "affected_users": "Cloud customers in the US and EU regions.",
    "resolution": "Fixed in [#1234](https://github.com/northwind/app/pull/1234). "
    "No action is needed.",
    "discovered_at": dt.date(2026, 2, 1),
    "reported_at": dt.date(2026, 2, 2),
    "fixed_at": dt.date(2026, 2, 3),
    "disclosed_at": dt.date(2026, 2, 10),
    "published_at": _at(10),
    "updated_at": _at(10),
    "revisions": (RevisionEntry(1, "published", "First publication.", _at(10)),),
}


def snapshot(**overrides: Any) -> AdvisorySnapshot:
    values = {**BASE, **overrides}
    return AdvisorySnapshot.build(**values)


CASES: dict[str, AdvisorySnapshot] = {
    "fixed_multi_product": snapshot(
        cve_ids=("CVE-2026-12345",),
        cwe_ids=("CWE-79",),
        cvss_v3_vector="CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N",
        cvss_v3_score=Decimal("5.4"),
        cvss_v4_vector="CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:P/VC:N/VI:N/VA:N/SC:L/SI:L/SA:N",
        cvss_v4_score=Decimal("5.1"),
        affected_regions=("US", "EU"),
        affected=(CLOUD_US, CLOUD_EU, SDK, NPM, SERVER, AGENT),
        credits=(
            CreditSnapshot("Ada Lovelace", "FINDER", "https://ada.example"),
            CreditSnapshot("Charles Babbage", "REMEDIATION_DEVELOPER"),
        ),
        references=(
            ReferenceSnapshot("https://github.com/northwind/app/pull/1234", "FIX"),
            ReferenceSnapshot("https://blog.northwind.example/xss", "ARTICLE"),
        ),
        updated_at=_at(11),
        revisions=(
            RevisionEntry(1, "published", "First publication.", _at(10)),
            RevisionEntry(2, "updated", "Added the CVSS v4.0 vector.", _at(11)),
        ),
    ),
    "critical_reported_v31_only": snapshot(
        identifier="NW-2026-0003",
        title="Remote code execution in the import service",
        status="reported",
        severity="critical",
        fixed_at=None,
        resolution="",
        cve_ids=("CVE-2026-20001", "CVE-2026-20002"),
        cwe_ids=("CWE-502", "CWE-20"),
        cvss_v3_vector="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H",
        cvss_v3_score=Decimal("10.0"),
        affected=(SERVER_OPEN, MOBILE),
        credits=(CreditSnapshot("Grace Hopper", "REPORTER", "grace@example.org"),),
    ),
    "high_v4_only_no_cve": snapshot(
        identifier="NW-2026-0003",
        title="Authorization bypass in the admin API",
        severity="high",
        cwe_ids=("CWE-863", "CWE-99999"),
        cvss_v4_vector="CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:N/SC:N/SI:N/SA:N",
        cvss_v4_score=Decimal("8.7"),
        affected=(GIT, SDK),
    ),
    "low_resolved_no_cvss": snapshot(
        identifier="NW-2026-0004",
        title="Verbose error pages revealed the server version",
        status="resolved",
        severity="low",
        cwe_ids=("CWE-200",),
        affected=(CLOUD_EU,),
        affected_regions=("EU",),
    ),
    "withdrawn": snapshot(
        identifier="NW-2026-0005",
        title="Open redirect on the sign-in page",
        state="withdrawn",
        severity="medium",
        cve_ids=("CVE-2026-30003",),
        cvss_v3_vector="CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N",
        cvss_v3_score=Decimal("5.4"),
        affected=(CLOUD_US,),
        updated_at=_at(12),
        withdrawn_at=_at(12),
        withdrawn_reason="Not a vulnerability: the redirect target is validated server-side.",
        revisions=(
            RevisionEntry(1, "published", "First publication.", _at(10)),
            RevisionEntry(2, "withdrawn", "Withdrawn: not a vulnerability.", _at(12)),
        ),
    ),
    "unicode_no_products": snapshot(
        identifier="NW-2026-0006",
        title="Zugriff auf fremde Berichte \u2013 «Exportfunktion» 🛡",
        description="Ein Angreifer konnte Berichte anderer Mandanten exportieren: "
        '`/export?id=…` prüfte die Zugehörigkeit nicht. Ünïcödé ✓, 日本語, "quotes" '
        "and <script>alert(1)</script> stay text.",
        resolution="Behoben am 3. Februar → keine Aktion nötig.",
        severity="high",
        cwe_ids=("CWE-639",),
        cvss_v3_vector="CVSS:3.0/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N",
        cvss_v3_score=Decimal("6.5"),
        credits=(CreditSnapshot("Zoë Ünal", "FINDER"),),
    ),
}


def official_osv_validator() -> Draft202012Validator:
    """The official OSV schema as osv.dev publishes it, unchanged, formats checked."""
    schema = json.loads(shared_path("schemas", "osv", "schema.json").read_text("utf-8"))
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def schema_errors(validator: Draft202012Validator, doc: Any) -> list[str]:
    return [
        f"/{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
        for e in validator.iter_errors(doc)
    ]


def check_expected(name: str, data: bytes) -> None:
    """Compare with the saved file; HERALD_REGENERATE=1 rewrites it on purpose."""
    path = EXPECTED / name
    if os.environ.get("HERALD_REGENERATE") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
    assert path.exists(), f"{path} is missing; run with HERALD_REGENERATE=1 to create it"
    assert data == path.read_bytes(), f"{name} changed; regenerate on purpose if intended"


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_case_passes_the_official_schema(name: str) -> None:
    doc = render_osv(CASES[name], PUBLISHER)
    assert schema_errors(official_osv_validator(), doc) == []
    assert osv_schema_problems(doc) == []


def test_the_shipped_schema_is_the_published_one() -> None:
    published = shared_path("schemas", "osv", "schema.json").read_bytes()
    assert json.loads(published) == osv_schema()


def test_ids_take_the_local_prefix_and_a_former_id_only_is_an_alias() -> None:
    doc = render_osv(CASES["high_v4_only_no_cve"], PUBLISHER)
    assert doc["id"] == "x_NW-2026-0003" and "aliases" not in doc
    # Published when its identifier was its OSV id: whoever recorded that id finds it.
    doc = render_osv(CASES["high_v4_only_no_cve"], PUBLISHER, former_id=True)
    assert doc["aliases"] == ["NW-2026-0003"]


def test_a_vendor_with_a_registered_prefix_publishes_its_identifiers_as_ids() -> None:
    registered = dataclasses.replace(PUBLISHER, osv_id_prefix="")
    doc = render_osv(CASES["high_v4_only_no_cve"], registered)
    assert doc["id"] == "NW-2026-0003" and "aliases" not in doc
    # NW is not registered with OSV in the published schema: the id alone is refused,
    # and what Herald reports says why in words.
    errors = schema_errors(official_osv_validator(), doc)
    assert errors and all(e.startswith("/id:") for e in errors)
    assert osv_schema_problems(doc) == [
        "/id: 'NW-2026-0003' does not start with a prefix the OSV schema admits (a database "
        "registered with OSV, or x_ for a local one): see HERALD_OSV_ID_PREFIX"
    ]


def test_it_carries_cves_as_aliases_and_both_cvss_vectors() -> None:
    doc = render_osv(CASES["fixed_multi_product"], PUBLISHER)
    assert doc["schema_version"] == "1.7.4"
    assert doc["aliases"] == ["CVE-2026-12345"]
    assert [s["type"] for s in doc["severity"]] == ["CVSS_V3", "CVSS_V4"]
    assert doc["modified"] == "2026-02-11T09:00:00Z"
    assert doc["published"] == "2026-02-10T09:00:00Z"
    assert "withdrawn" not in doc
    assert doc["database_specific"]["severity"] == "MEDIUM"
    assert doc["database_specific"]["cwe_ids"] == ["CWE-79"]
    assert doc["database_specific"]["affected_regions"] == ["US", "EU"]


def test_package_products_use_their_ecosystem_and_others_have_no_package() -> None:
    doc = render_osv(CASES["fixed_multi_product"], PUBLISHER)
    packages = [a["package"] for a in doc["affected"] if "package" in a]
    assert {
        "ecosystem": "PyPI",
        "name": "northwind-sdk",
        "purl": "pkg:pypi/northwind-sdk",
    } in packages
    assert {
        "ecosystem": "npm",
        "name": "@northwind/widgets",
        "purl": "pkg:npm/%40northwind/widgets",
    } in packages
    # No invented ecosystem: a product outside OSV's ecosystems is named by the
    # database, with no package for an OSV client to match.
    others = [a["database_specific"] for a in doc["affected"] if "package" not in a]
    assert {o["product"] for o in others} == {"Northwind Cloud", "Northwind Server"}
    assert {"deployment": "cloud", "status": "fixed"}.items() <= others[0].items()
    assert "Northwind" not in json.dumps([p["ecosystem"] for p in packages])
    # Not-affected products are not listed: OSV clients would flag them.
    assert "Northwind Agent" not in json.dumps(doc["affected"])


def test_ranges_follow_the_version_shapes() -> None:
    doc = render_osv(CASES["fixed_multi_product"], PUBLISHER)
    ranges = {
        a["package"]["name"] if "package" in a else a["database_specific"]["product"]: a.get(
            "ranges", a["database_specific"].get("ranges")
        )
        for a in doc["affected"]
    }
    assert ranges["northwind-sdk"] == [
        {"type": "SEMVER", "events": [{"introduced": "1.0.0"}, {"fixed": "1.4.2"}]}
    ]
    assert ranges["@northwind/widgets"] == [
        {"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "3.2.1"}]}
    ]
    # Without a package an ECOSYSTEM range means nothing to OSV: the database keeps it.
    server = next(a for a in doc["affected"] if "Server" in str(a))
    assert "ranges" not in server
    assert ranges["Northwind Server"] == [
        {"type": "ECOSYSTEM", "events": [{"introduced": "2024.1"}, {"last_affected": "2025.3"}]}
    ]
    assert ranges["Northwind Cloud"] is None  # a service has no versions

    only_introduced = render_osv(CASES["critical_reported_v31_only"], PUBLISHER)["affected"]
    assert only_introduced[0]["ranges"] == [{"type": "SEMVER", "events": [{"introduced": "4.0.0"}]}]

    git = render_osv(CASES["high_v4_only_no_cve"], PUBLISHER)["affected"][0]["ranges"][0]
    assert git["type"] == "GIT" and git["repo"] == "https://github.com/northwind/proxy"


def test_fix_pull_requests_are_fix_references_and_credits_are_typed() -> None:
    doc = render_osv(CASES["fixed_multi_product"], PUBLISHER)
    assert doc["references"][0] == {
        "type": "ADVISORY",
        "url": "https://security.northwind.example/security/advisories/NW-2026-0001/",
    }
    assert {"type": "FIX", "url": "https://github.com/northwind/app/pull/1234"} in doc["references"]
    assert {"type": "ARTICLE", "url": "https://blog.northwind.example/xss"} in doc["references"]
    assert doc["credits"] == [
        {"name": "Ada Lovelace", "contact": ["https://ada.example"], "type": "FINDER"},
        {"name": "Charles Babbage", "type": "REMEDIATION_DEVELOPER"},
    ]


def test_fix_links_in_the_resolution_become_fix_references() -> None:
    snap = snapshot(resolution="See https://gitlab.com/nw/app/-/merge_requests/7 for the fix.")
    refs = render_osv(snap, PUBLISHER)["references"]
    assert {"type": "FIX", "url": "https://gitlab.com/nw/app/-/merge_requests/7"} in refs


def test_a_withdrawn_advisory_carries_withdrawn_and_its_reason() -> None:
    doc = render_osv(CASES["withdrawn"], PUBLISHER)
    assert doc["withdrawn"] == "2026-02-12T09:00:00Z"
    assert doc["details"].startswith("**Withdrawn:** Not a vulnerability")
    assert doc["database_specific"]["withdrawn_reason"].startswith("Not a vulnerability")


def test_the_publisher_comes_from_the_vendor_profile() -> None:
    profile = VendorProfile(
        name="Northwind", base_url="https://nw.example", security_contact="sec@nw.example"
    )
    publisher = publisher_from_profile(profile, cna_org_id=PUBLISHER.cna_org_id)
    assert publisher.ecosystem == "Northwind"
    assert publisher.csaf_category == "vendor"
    assert publisher.can_publish_cve
    assert (
        publisher.advisory_url("NW-2026-0001")
        == "https://nw.example/security/advisories/NW-2026-0001/"
    )


def test_bytes_are_utf8_with_a_final_newline_and_stable() -> None:
    data = render_osv_bytes(CASES["unicode_no_products"], PUBLISHER)
    assert data.endswith(b"}\n")
    assert "Zugriff auf fremde Berichte \u2013 «Exportfunktion» 🛡" in data.decode("utf-8")
    assert data == render_osv_bytes(CASES["unicode_no_products"], PUBLISHER)


@pytest.mark.parametrize("name", ["fixed_multi_product", "withdrawn"])
def test_output_matches_the_saved_file(name: str) -> None:
    check_expected(f"osv_{name}.json", render_osv_bytes(CASES[name], PUBLISHER))


def _corpus(*parts: str) -> list[Path]:
    folder = shared_path(*parts)
    return sorted(folder.glob("*.json"))


@pytest.mark.parametrize("folder", [("corpus", "real", "osv"), ("corpus", "osv", "good")])
def test_real_and_good_documents_pass_both_validators(folder: tuple[str, ...]) -> None:
    raw = Draft202012Validator(
        json.loads(shared_path("schemas", "osv", "schema.json").read_text("utf-8"))
    )
    files = _corpus(*folder)
    assert files
    for path in files:
        doc = json.loads(path.read_text("utf-8"))
        if path.name in OUTDATED_ECOSYSTEM:
            # GitHub's "purl-type:swift" predates OSV 1.7's SwiftURL; both
            # validators reject that one field and nothing else.
            assert [e.split(":")[0] for e in schema_errors(raw, doc)] == OUTDATED_ECOSYSTEM[
                path.name
            ]
            assert [p.split(":")[0] for p in osv_problems(doc)] == OUTDATED_ECOSYSTEM[path.name]
            continue
        assert schema_errors(raw, doc) == [], path.name
        assert osv_problems(doc) == [], path.name


OUTDATED_ECOSYSTEM = {"GHSA-qppj-fm5r-hxr3.json": ["/affected/0/package/ecosystem"]}


def test_broken_documents_fail_both_validators() -> None:
    raw = Draft202012Validator(
        json.loads(shared_path("schemas", "osv", "schema.json").read_text("utf-8"))
    )
    files = _corpus("corpus", "osv", "bad")
    assert files
    for path in files:
        doc = json.loads(path.read_text("utf-8"))
        assert schema_errors(raw, doc), path.name
        problems = osv_problems(doc)
        assert any(p.startswith("/modified") for p in problems), problems
        assert any("/package/ecosystem" in p for p in problems), problems
        assert any("mutually exclusive" in p for p in problems), problems
        assert any(p.startswith("/references/") for p in problems), problems
