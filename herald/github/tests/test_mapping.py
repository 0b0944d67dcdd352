"""The record in GitHub's shape: pure functions of a snapshot, checked against the
request body schema of GitHub's own description."""

from __future__ import annotations

import pytest

from herald.advisories.snapshot import (
    AdvisorySnapshot,
    AffectedSnapshot,
    CreditSnapshot,
    VulnerabilitySnapshot,
)
from herald.github import mapping
from herald.github.tests.peer import github_peer


def snapshot(**changes: object) -> AdvisorySnapshot:
    values: dict[str, object] = {
        "identifier": "NW-2026-0001",
        "title": "Stored XSS in dashboard names",
        "state": "draft",
        "status": "fixed",
        "severity": "medium",
        "summary": "A dashboard name could carry a script.",
        "description": "A dashboard name could carry a script that ran for viewers.",
        "vulnerabilities": (
            VulnerabilitySnapshot(
                cve_id="CVE-2026-12345",
                cwe_ids=("CWE-79",),
                affected=(
                    AffectedSnapshot(
                        product="Northwind SDK",
                        product_slug="sdk",
                        deployment="sdk",
                        ecosystem="npm",
                        package_name="@northwind/sdk",
                        introduced="2.0.0",
                        fixed="2.3.1",
                    ),
                    AffectedSnapshot(
                        product="Northwind Cloud",
                        product_slug="cloud",
                        deployment="cloud",
                    ),
                    AffectedSnapshot(
                        product="Northwind CLI",
                        product_slug="cli",
                        deployment="sdk",
                        ecosystem="crates.io",
                        package_name="northwind-cli",
                        status="not_affected",
                    ),
                ),
            ),
        ),
        "credits": (
            CreditSnapshot(name="Ada", type="FINDER", contact="@ada-sec"),
            CreditSnapshot(
                name="Cy", type="REMEDIATION_DEVELOPER", contact="https://github.com/cy"
            ),
            CreditSnapshot(name="Bo", type="REPORTER", contact="bo@example.com"),
        ),
    }
    values.update(changes)
    return AdvisorySnapshot(**values)  # type: ignore[arg-type]


def test_packages_ranges_and_fixes_map_to_githubs_vocabulary() -> None:
    body = mapping.create_body(snapshot())
    assert body["vulnerabilities"] == [
        {
            "package": {"ecosystem": "npm", "name": "@northwind/sdk"},
            "vulnerable_version_range": ">= 2.0.0, < 2.3.1",
            "patched_versions": "2.3.1",
        },
        # A product that is no package is still named, as GitHub's "other".
        {
            "package": {"ecosystem": "other", "name": "Northwind Cloud"},
            "vulnerable_version_range": None,
            "patched_versions": None,
        },
    ]  # the product that is not affected is left out


def test_only_github_accounts_are_credited() -> None:
    assert mapping.create_body(snapshot())["credits"] == [
        {"login": "ada-sec", "type": "finder"},
        {"login": "cy", "type": "remediation_developer"},
    ]


def test_a_vector_is_sent_instead_of_a_severity_never_both() -> None:
    assert mapping.create_body(snapshot())["severity"] == "medium"
    vector = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
    body = mapping.create_body(
        snapshot(vulnerabilities=(VulnerabilitySnapshot(cvss_v4_vector=vector),))
    )
    assert body["cvss_vector_string"] == vector and "severity" not in body


def test_publishing_is_the_state_of_the_patch() -> None:
    assert "state" not in mapping.update_body(snapshot())
    assert mapping.update_body(snapshot(), publish=True)["state"] == "published"


@pytest.mark.parametrize(
    ("ecosystem", "github"),
    [("PyPI", "pip"), ("Maven", "maven"), ("Packagist", "composer"), ("crates.io", "rust"),
     ("Go", "go"), ("NuGet", "nuget"), ("RubyGems", "rubygems"), ("Hex", "erlang"),
     ("Debian", "other")],
)  # fmt: skip
def test_osv_ecosystems_become_githubs(ecosystem: str, github: str) -> None:
    assert mapping.github_ecosystem(ecosystem) == github


def test_every_body_fits_githubs_description() -> None:
    peer = github_peer()
    create = peer.operation("security-advisories/create-repository-advisory")
    update = peer.operation("security-advisories/update-repository-advisory")
    schema = create.spec["requestBody"]["content"]["application/json"]["schema"]
    patch_schema = update.spec["requestBody"]["content"]["application/json"]["schema"]
    for snap in (snapshot(), snapshot(credits=(), vulnerabilities=())):
        assert peer._errors(mapping.create_body(snap), schema) == []
        assert peer._errors(mapping.update_body(snap, publish=True), patch_schema) == []
