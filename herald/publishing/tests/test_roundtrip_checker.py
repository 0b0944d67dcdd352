"""``roundtrip.lost`` names what an export lost, rule by rule, and nothing else.

Small hand-made originals, each changed the way an exporter could get it wrong: each
rule must report its loss (so a clean round trip means something), and changes the
standards call equivalent (order, splitting, renamed CSAF product ids, the same instant
written another way) must not be reported.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from herald.publishing.tests.roundtrip import lost

REAL = Path(__file__).parent / "real"
Doc = dict[str, Any]


def changed(doc: Doc, change: Callable[[Doc], Any]) -> Doc:
    other = copy.deepcopy(doc)
    change(other)
    return other


def one(kind: str, original: Doc, exported: Doc, *words: str) -> None:
    """Exactly one loss is reported, and it says ``words``."""
    found = lost(kind, original, exported)
    assert len(found) == 1, found
    for word in words:
        assert word in found[0], found


# --- OSV -----------------------------------------------------------------------------

OSV: Doc = {
    "schema_version": "1.6.0",
    "id": "GO-2024-0001",
    "modified": "2024-03-01T10:00:00Z",
    "published": "2024-02-01T10:00:00.500Z",
    "withdrawn": "2024-04-01T00:00:00Z",
    "aliases": ["CVE-2024-0001", "GHSA-aaaa-bbbb-cccc"],
    "related": ["CVE-2023-9999"],
    "summary": "Overflow in the parser",
    "details": "A long input\n overflows the buffer.",
    "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
    "affected": [
        {
            "package": {
                "ecosystem": "Go",
                "name": "example.com/p",
                "purl": "pkg:golang/example.com/p",
            },
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.2.0"}]}],
            "versions": ["1.0.0", "1.1.0"],
            "ecosystem_specific": {"imports": [{"path": "example.com/p", "symbols": ["A", "B"]}]},
        },
        {
            "package": {
                "ecosystem": "Go",
                "name": "example.com/p",
                "purl": "pkg:golang/example.com/p",
            },
            "ranges": [
                {"type": "SEMVER", "events": [{"introduced": "2.0.0"}, {"last_affected": "2.1.0"}]}
            ],
        },
        {
            "ranges": [
                {
                    "type": "GIT",
                    "repo": "https://github.com/example/p",
                    "events": [{"introduced": "0"}, {"fixed": "abc123"}],
                }
            ]
        },
    ],
    "database_specific": {"cwe_ids": ["CWE-120"]},
}


def test_osv_identity_and_equivalent_forms_lose_nothing() -> None:
    assert lost("osv", OSV, copy.deepcopy(OSV)) == []

    def merge_and_reorder(d: Doc) -> None:
        first, second, git = d["affected"]
        first["ranges"] += second["ranges"]
        first["versions"].reverse()
        first["ecosystem_specific"]["imports"][0]["symbols"].reverse()
        d["affected"] = [git, first]
        d["aliases"].reverse()
        d["published"] = "2024-02-01T11:00:00.500000+01:00"  # the same instant
        d["details"] = "A long input overflows the buffer.\n\n### Resolution\n\nUpdate."

    assert lost("osv", OSV, changed(OSV, merge_and_reorder)) == []


def test_osv_upstream_id_may_move_to_aliases_upstream_or_related() -> None:
    for field in ("aliases", "upstream", "related"):

        def herald_id(d: Doc, field: str = field) -> None:
            d["id"] = "HRLD-2024-0001"
            d.setdefault(field, []).append("GO-2024-0001")

        assert lost("osv", OSV, changed(OSV, herald_id)) == [], field

    def forgotten(d: Doc) -> None:
        d["id"] = "HRLD-2024-0001"

    one("osv", OSV, changed(OSV, forgotten), "/id", "GO-2024-0001")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            lambda d: d["aliases"].remove("GHSA-aaaa-bbbb-cccc"),
            ["/aliases/1", "GHSA-aaaa-bbbb-cccc"],
        ),
        (lambda d: d.pop("related"), ["/related/0", "CVE-2023-9999"]),
        (lambda d: d.update(published="2024-02-01T10:00:00Z"), ["/published"]),
        (lambda d: d.update(modified="2026-01-01T00:00:00Z"), ["/modified", "2026"]),
        (lambda d: d.pop("withdrawn"), ["/withdrawn", "nothing"]),
        (lambda d: d.update(summary="Overflow"), ["/summary"]),
        (lambda d: d.pop("details"), ["/details"]),
        (lambda d: d.update(severity=[]), ["/severity", "CVSS_V3"]),
        (lambda d: d.pop("database_specific"), ["cwe_ids", "CWE-120"]),
        (
            lambda d: [a["package"].pop("purl") for a in d["affected"][:2]],
            ["/affected/0/package/purl"],
        ),
        (lambda d: d["affected"].pop(1), ["last_affected 2.1.0", "example.com/p"]),
        (lambda d: d["affected"][0]["versions"].pop(), ["/affected/0/versions/1", "1.1.0"]),
        (
            lambda d: d["affected"][0]["ecosystem_specific"]["imports"][0]["symbols"].pop(),
            ["/affected/0/ecosystem_specific"],
        ),
        (lambda d: d["affected"][0]["ranges"][0].update(type="ECOSYSTEM"), ["SEMVER"]),
        (
            lambda d: d["affected"][2]["ranges"][0]["events"].pop(),
            ["fixed abc123", "https://github.com/example/p"],
        ),
    ],
)
def test_osv_each_loss_is_reported(change: Callable[[Doc], Any], words: list[str]) -> None:
    found = lost("osv", OSV, changed(OSV, change))
    assert found, "nothing reported"
    assert any(all(w in line for w in words) for line in found), found


def test_osv_a_dropped_package_is_one_loss() -> None:
    def drop(d: Doc) -> None:
        d["affected"] = d["affected"][2:]

    one("osv", OSV, changed(OSV, drop), "/affected/0/package", "Go/example.com/p")


def test_osv_year_one_means_no_date_and_is_not_compared() -> None:
    go = changed(OSV, lambda d: d.update(published="0001-01-01T00:00:00Z"))
    assert lost("osv", go, changed(go, lambda d: d.update(published="2026-12-07T10:00:00Z"))) == []


# --- CVE JSON 5 ----------------------------------------------------------------------

CVE: Doc = {
    "dataType": "CVE_RECORD",
    "dataVersion": "5.1",
    "cveMetadata": {
        "cveId": "CVE-2024-0001",
        "state": "PUBLISHED",
        "assignerOrgId": "00000000-0000-4000-8000-000000000001",
        "datePublished": "2024-02-01T10:00:00.000Z",
        "dateUpdated": "2024-03-01T10:00:00",
    },
    "containers": {
        "cna": {
            "providerMetadata": {"orgId": "00000000-0000-4000-8000-000000000001"},
            "descriptions": [
                {"lang": "en", "value": "Overflow in the parser."},
                {"lang": "de", "value": "Überlauf im Parser."},
            ],
            "affected": [
                {
                    "vendor": "Example",
                    "product": "Parser",
                    "defaultStatus": "unaffected",
                    "versions": [
                        {
                            "version": "1.0",
                            "lessThan": "1.*",
                            "status": "affected",
                            "versionType": "custom",
                            "changes": [{"at": "1.4", "status": "unaffected"}],
                        }
                    ],
                },
                {
                    "vendor": "Example",
                    "product": "Tools",
                    "versions": [{"version": "2.0", "status": "affected"}],
                },
            ],
            "metrics": [
                {
                    "cvssV3_1": {
                        "version": "3.1",
                        "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                        "baseScore": 9.8,
                        "baseSeverity": "CRITICAL",
                    }
                }
            ],
            "problemTypes": [
                {
                    "descriptions": [
                        {"lang": "en", "type": "CWE", "cweId": "CWE-120", "description": "CWE-120"}
                    ]
                }
            ],
            "workarounds": [{"lang": "en", "value": "Limit the input size."}],
            "solutions": [{"lang": "en", "value": "Update to 1.4."}],
            "references": [{"url": "https://example.com/a"}],
        },
        "adp": [
            {
                "providerMetadata": {
                    "orgId": "134c704f-9b21-4f2e-91b3-4a467353bcc0",
                    "shortName": "CISA-ADP",
                },
                "metrics": [
                    {
                        "cvssV3_1": {
                            "version": "3.1",
                            "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:N/A:N",
                            "baseScore": 6.5,
                            "baseSeverity": "MEDIUM",
                        }
                    },
                    {"other": {"type": "ssvc", "content": {"options": [{"Exploitation": "none"}]}}},
                ],
                "problemTypes": [
                    {
                        "descriptions": [
                            {
                                "lang": "en",
                                "type": "CWE",
                                "cweId": "CWE-787",
                                "description": "CWE-787",
                            }
                        ]
                    }
                ],
            },
            {
                "providerMetadata": {
                    "orgId": "af854a3a-2127-422b-91ae-364da2661108",
                    "shortName": "CVE",
                },
                "references": [{"url": "https://example.com/b"}],
            },
        ],
    },
}


def test_cve_identity_and_equivalent_forms_lose_nothing() -> None:
    assert lost("cve", CVE, copy.deepcopy(CVE)) == []

    def equivalent(d: Doc) -> None:
        cna = d["containers"]["cna"]
        cna["descriptions"].reverse()
        cna["descriptions"][0]["lang"] = "DE"
        cna["descriptions"][1]["value"] += " Update to 1.4."
        cna["affected"].reverse()
        d["containers"]["adp"].reverse()
        d["cveMetadata"]["dateUpdated"] = "2024-03-01T10:00:00Z"  # no offset means UTC

    assert lost("cve", CVE, changed(CVE, equivalent)) == []


def test_cve_source_times_may_sit_anywhere_in_the_export() -> None:
    def herald_times(d: Doc) -> None:
        d["cveMetadata"]["datePublished"] = "2026-12-07T10:00:00Z"
        d["containers"]["cna"]["datePublic"] = "2024-02-01T10:00:00Z"

    assert lost("cve", CVE, changed(CVE, herald_times)) == []
    one(
        "cve",
        CVE,
        changed(CVE, lambda d: d["cveMetadata"].update(datePublished="2026-12-07T10:00:00Z")),
        "/cveMetadata/datePublished",
        "nowhere",
    )


def cna(d: Doc) -> Doc:
    container: Doc = d["containers"]["cna"]
    return container


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d["cveMetadata"].update(cveId="CVE-2024-0002"), ["/cveMetadata/cveId"]),
        (lambda d: d["cveMetadata"].update(state="REJECTED"), ["/cveMetadata/state"]),
        (lambda d: cna(d)["affected"].pop(), ["/containers/cna/affected/1", "Example Tools"]),
        (
            lambda d: cna(d)["affected"][0].update(vendor="Exemplary"),
            ["vendor and product", "Example Parser"],
        ),
        (lambda d: cna(d)["affected"][0].pop("defaultStatus"), ["defaultStatus", "unaffected"]),
        (lambda d: cna(d)["affected"][0]["versions"][0].pop("changes"), ["/affected/0/versions/0"]),
        (
            lambda d: cna(d)["affected"][0]["versions"][0].update(lessThan="2.*"),
            ["/affected/0/versions/0"],
        ),
        (lambda d: cna(d).pop("metrics"), ["/containers/cna/metrics", "cvssV3_1"]),
        (lambda d: cna(d).pop("problemTypes"), ["/containers/cna/problemTypes", "CWE-120"]),
        (lambda d: cna(d)["descriptions"].pop(), ["/descriptions/1", "de"]),
        (lambda d: cna(d)["descriptions"][0].update(value="Overflow."), ["/descriptions/0", "en"]),
        (lambda d: cna(d).pop("workarounds"), ["/containers/cna/workarounds/0"]),
        (lambda d: cna(d).pop("solutions"), ["/containers/cna/solutions/0"]),
        (lambda d: d["containers"]["adp"].pop(1), ["/containers/adp/1", "CVE"]),
        (
            lambda d: d["containers"]["adp"][0]["metrics"].pop(),
            ["/containers/adp/0/metrics", "ssvc"],
        ),
        (lambda d: d["containers"]["adp"][0].pop("problemTypes"), ["/containers/adp/0", "CWE-787"]),
    ],
)
def test_cve_each_loss_is_reported(change: Callable[[Doc], Any], words: list[str]) -> None:
    found = lost("cve", CVE, changed(CVE, change))
    assert found, "nothing reported"
    assert any(all(w in line for w in words) for line in found), found


def test_cve_adp_moved_into_the_cna_container_is_reported() -> None:
    def moved(d: Doc) -> None:
        adp = d["containers"]["adp"].pop(0)
        cna(d)["metrics"] += adp["metrics"]
        cna(d)["problemTypes"] += adp["problemTypes"]

    found = lost("cve", CVE, changed(CVE, moved))
    assert any("CISA-ADP" in f and "moved into the CNA container" in f for f in found), found
    assert any("ADP container of CISA-ADP dropped" in f for f in found), found


def test_cve_rejection_reasons_are_kept_in_every_language() -> None:
    rejected: Doc = {
        "cveMetadata": {
            "cveId": "CVE-2024-0003",
            "state": "REJECTED",
            "dateRejected": "2024-02-23T00:00:00",
        },
        "containers": {
            "cna": {"rejectedReasons": [{"lang": "en", "value": "Not a vulnerability."}]}
        },
    }
    assert lost("cve", rejected, copy.deepcopy(rejected)) == []
    found = lost(
        "cve", rejected, changed(rejected, lambda d: d["containers"]["cna"].pop("rejectedReasons"))
    )
    assert found == [
        "/containers/cna/rejectedReasons/0: the en text 'Not a vulnerability.' dropped or changed"
    ]


# --- CSAF 2.0 ------------------------------------------------------------------------

CSAF: Doc = {
    "document": {
        "category": "csaf_security_advisory",
        "csaf_version": "2.0",
        "title": "Overflow in Parser",
        "publisher": {
            "category": "vendor",
            "name": "Example PSIRT",
            "namespace": "https://example.com",
        },
        "notes": [{"category": "summary", "text": "Parser overflows."}],
        "tracking": {
            "id": "EX-2024-0001",
            "status": "final",
            "version": "2",
            "initial_release_date": "2024-02-01T10:00:00.000Z",
            "current_release_date": "2024-03-01T10:00:00.000Z",
            "revision_history": [
                {"number": "1", "date": "2024-02-01T10:00:00.000Z", "summary": "Initial"},
                {"number": "2", "date": "2024-03-01T10:00:00.000Z", "summary": "Fix for 2.x"},
            ],
        },
    },
    "product_tree": {
        "branches": [
            {
                "category": "vendor",
                "name": "Example",
                "branches": [
                    {
                        "category": "product_name",
                        "name": "Parser",
                        "branches": [
                            {
                                "category": "product_version",
                                "name": "1.0",
                                "product": {
                                    "product_id": "P1",
                                    "name": "Example Parser 1.0",
                                    "product_identification_helper": {
                                        "purl": "pkg:generic/example/parser@1.0"
                                    },
                                },
                            },
                            {
                                "category": "product_version",
                                "name": "1.4",
                                "product": {"product_id": "P2", "name": "Example Parser 1.4"},
                            },
                        ],
                    },
                    {
                        "category": "product_name",
                        "name": "OS",
                        "product": {"product_id": "P3", "name": "Example OS"},
                    },
                ],
            }
        ],
        "relationships": [
            {
                "category": "installed_on",
                "product_reference": "P1",
                "relates_to_product_reference": "P3",
                "full_product_name": {
                    "product_id": "P4",
                    "name": "Example Parser 1.0 on Example OS",
                },
            }
        ],
    },
    "vulnerabilities": [
        {
            "cve": "CVE-2024-0001",
            "cwe": {"id": "CWE-120", "name": "Buffer Copy without Checking Size of Input"},
            "notes": [{"category": "description", "text": "A long input overflows the buffer."}],
            "product_status": {
                "known_affected": ["P1", "P4"],
                "fixed": ["P2"],
                "known_not_affected": ["P3"],
            },
            "scores": [
                {
                    "products": ["P1", "P4"],
                    "cvss_v3": {
                        "version": "3.1",
                        "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                        "baseScore": 9.8,
                        "baseSeverity": "CRITICAL",
                    },
                }
            ],
            "remediations": [
                {
                    "category": "vendor_fix",
                    "details": "Update to 1.4.",
                    "product_ids": ["P1", "P4"],
                },
                {
                    "category": "workaround",
                    "details": "Limit the input size.",
                    "product_ids": ["P1"],
                },
            ],
            "flags": [{"label": "component_not_present", "product_ids": ["P3"]}],
            "threats": [
                {
                    "category": "impact",
                    "details": "The OS does not ship the parser.",
                    "product_ids": ["P3"],
                }
            ],
        },
        {"cve": "CVE-2024-0002", "product_status": {"known_affected": ["P1"]}},
    ],
}


def renamed(doc: Doc) -> Doc:
    """The same document with other product ids, as another exporter would number them."""
    text = re.sub(r'"P([1-4])"', r'"CSAFPID-000\1"', json.dumps(doc))
    other: Doc = json.loads(text)
    return other


def test_csaf_identity_and_equivalent_forms_lose_nothing() -> None:
    assert lost("csaf", CSAF, copy.deepcopy(CSAF)) == []
    other = renamed(CSAF)
    assert '"P1"' not in json.dumps(other)
    assert lost("csaf", CSAF, other) == []

    def herald(d: Doc) -> None:
        tracking = d["document"]["tracking"]
        tracking["aliases"] = [tracking["id"]]
        tracking["id"] = "HRLD-2024-0001"
        tracking["revision_history"].append(
            {"number": "3", "date": "2026-12-07T10:00:00Z", "summary": "Imported"}
        )
        tracking["current_release_date"] = "2026-12-07T10:00:00Z"
        d["vulnerabilities"].reverse()
        d["vulnerabilities"][1]["remediations"].reverse()
        d["vulnerabilities"][1]["product_status"]["known_affected"].reverse()
        d["vulnerabilities"][1]["notes"][0]["text"] += "\n\nFixed in 1.4."

    assert lost("csaf", CSAF, changed(CSAF, herald)) == []


def vuln(d: Doc) -> Doc:
    first: Doc = d["vulnerabilities"][0]
    return first


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            lambda d: d["document"]["tracking"].update(id="HRLD-2024-0001"),
            ["/document/tracking/id", "EX-2024-0001"],
        ),
        (
            lambda d: d["document"]["tracking"]["revision_history"].pop(),
            ["revision_history", "2 entries became 1"],
        ),
        (
            lambda d: (
                d["document"]["tracking"].update(initial_release_date="2026-12-07T10:00:00Z")
                or d["document"]["tracking"]["revision_history"].pop(0)
            ),
            ["initial_release_date", "nowhere"],
        ),
        (lambda d: d["document"].update(notes=[]), ["/document/notes/0", "summary"]),
        (
            lambda d: d["product_tree"]["branches"][0].update(name="Exemplary"),
            ["vendor 'Example' dropped"],
        ),
        (
            lambda d: d["product_tree"]["relationships"].clear(),
            ["'Example Parser 1.0 on Example OS' dropped"],
        ),
        (lambda d: d["vulnerabilities"].pop(), ["/vulnerabilities/1", "CVE-2024-0002"]),
        (
            lambda d: vuln(d).update(cwe={"id": "CWE-787", "name": "Out-of-bounds Write"}),
            ["/vulnerabilities/0/cwe", "CWE-120"],
        ),
        (lambda d: vuln(d).pop("scores"), ["/vulnerabilities/0/scores", "cvss_v3"]),
        (
            lambda d: vuln(d)["scores"][0]["products"].pop(),
            ["no longer applies to", "on Example OS"],
        ),
        (
            lambda d: vuln(d)["product_status"].update(known_affected=["P4"], fixed=["P2", "P1"]),
            ["/product_status/known_affected", "Example Parser 1.0"],
        ),
        (
            lambda d: vuln(d)["product_status"].pop("known_not_affected"),
            ["known_not_affected", "Example OS"],
        ),
        (lambda d: vuln(d)["remediations"].pop(), ["/remediations/1", "workaround"]),
        (
            lambda d: vuln(d)["remediations"][0]["product_ids"].pop(),
            ["no longer covers", "on Example OS"],
        ),
        (
            lambda d: vuln(d)["remediations"][0].update(category="mitigation"),
            ["/remediations/0", "vendor_fix"],
        ),
        (lambda d: vuln(d).pop("flags"), ["/flags/0", "component_not_present"]),
        (lambda d: vuln(d)["threats"][0].update(details="Not affected."), ["/threats/0", "impact"]),
        (lambda d: vuln(d).pop("notes"), ["/vulnerabilities/0/notes/0", "description"]),
    ],
)
def test_csaf_each_loss_is_reported(change: Callable[[Doc], Any], words: list[str]) -> None:
    found = lost("csaf", CSAF, renamed(changed(CSAF, change)))
    assert found, "nothing reported"
    assert any(all(w in line for w in words) for line in found), found


def test_unknown_kinds_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown kind"):
        lost("cvrf", {}, {})


# --- the real documents ------------------------------------------------------------------

REAL_DOCUMENTS = sorted((p.parent.name, p) for p in REAL.glob("*/*.json"))


@pytest.mark.parametrize(("kind", "path"), REAL_DOCUMENTS, ids=[p.name for _, p in REAL_DOCUMENTS])
def test_a_real_document_loses_nothing_to_itself_and_everything_to_nothing(
    kind: str, path: Path
) -> None:
    original = json.loads(path.read_bytes())
    assert lost(kind, original, json.loads(path.read_bytes())) == []
    assert lost(kind, original, {})  # every real document has something to lose
