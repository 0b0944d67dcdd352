"""CycloneDX 1.6 VEX documents, one per public advisory (``vex/<identifier>.cdx.json``).

A BOM whose ``components`` are the advisory's products and whose ``vulnerabilities``
say, per vulnerability, what it does to them (``vex.vex_statements``). CycloneDX has
one ``analysis`` per vulnerability entry while a vulnerability's products may differ
(one affected, another not affected and why): the statements of one vulnerability
are grouped by their analysis, one entry per group, each entry's ``affects`` naming
its products with their versions or ``vers`` ranges and a per-version status
(an affected range's fixed version is ``unaffected`` in the same entry).

Built with cyclonedx-python-lib's model and serialiser (so the document is what the
CycloneDX tooling itself writes), and checked with its ``JsonStrictValidator`` for
1.6 (``cyclonedx_problems``). Deterministic: the serial number is derived from the
document's URL, the timestamp is the advisory's last change, and the library
sorts every set.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from cyclonedx.model import XsUri
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.contact import OrganizationalEntity
from cyclonedx.model.impact_analysis import (
    ImpactAnalysisAffectedStatus,
    ImpactAnalysisJustification,
    ImpactAnalysisResponse,
    ImpactAnalysisState,
)
from cyclonedx.model.tool import ToolRepository
from cyclonedx.model.vulnerability import (
    BomTarget,
    BomTargetVersionRange,
    Vulnerability,
    VulnerabilityAdvisory,
    VulnerabilityAnalysis,
    VulnerabilityRating,
    VulnerabilityReference,
    VulnerabilityScoreSource,
    VulnerabilitySeverity,
    VulnerabilitySource,
)
from cyclonedx.output import make_outputter
from cyclonedx.schema import OutputFormat, SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from packageurl import PackageURL

from herald.advisories.snapshot import AdvisorySnapshot, VulnerabilitySnapshot
from herald.publishing.render.publisher import (
    GENERATOR_NAME,
    GENERATOR_VERSION,
    Publisher,
    json_bytes,
    modified_at,
    plain_text,
)
from herald.publishing.render.vex import (
    Product,
    Statement,
    cyclonedx_path,
    document_version,
    vex_statements,
    vulnerability_name,
)

SCHEMA_VERSION = SchemaVersion.V1_6

STATES = {
    "affected": ImpactAnalysisState.EXPLOITABLE,
    "fixed": ImpactAnalysisState.RESOLVED,
    "not_affected": ImpactAnalysisState.NOT_AFFECTED,
    "under_investigation": ImpactAnalysisState.IN_TRIAGE,
}
VERSION_STATUS = {
    "affected": ImpactAnalysisAffectedStatus.AFFECTED,
    "fixed": ImpactAnalysisAffectedStatus.UNAFFECTED,
    "not_affected": ImpactAnalysisAffectedStatus.UNAFFECTED,
    "under_investigation": ImpactAnalysisAffectedStatus.UNKNOWN,
}
# VEX (CSAF, OpenVEX) justifications -> CycloneDX's, as CISA's VEX minimum
# requirements pair them.
JUSTIFICATIONS = {
    "component_not_present": ImpactAnalysisJustification.CODE_NOT_PRESENT,
    "vulnerable_code_not_present": ImpactAnalysisJustification.CODE_NOT_PRESENT,
    "vulnerable_code_not_in_execute_path": ImpactAnalysisJustification.CODE_NOT_REACHABLE,
    "vulnerable_code_cannot_be_controlled_by_adversary": (
        ImpactAnalysisJustification.REQUIRES_ENVIRONMENT
    ),
    "inline_mitigations_already_exist": (
        ImpactAnalysisJustification.PROTECTED_BY_MITIGATING_CONTROL
    ),
}
RESPONSES = {
    "vendor_fix": ImpactAnalysisResponse.UPDATE,
    "optional_patch": ImpactAnalysisResponse.UPDATE,
    "workaround": ImpactAnalysisResponse.WORKAROUND_AVAILABLE,
    "mitigation": ImpactAnalysisResponse.WORKAROUND_AVAILABLE,
    "no_fix_planned": ImpactAnalysisResponse.WILL_NOT_FIX,
}
# Score types as the snapshot keeps them -> CycloneDX rating methods.
METHODS = {
    "CVSS_V2": VulnerabilityScoreSource.CVSS_V2,
    "CVSS_V3": VulnerabilityScoreSource.CVSS_V3,
    "CVSS_V3.0": VulnerabilityScoreSource.CVSS_V3,
    "CVSS_V3.1": VulnerabilityScoreSource.CVSS_V3_1,
    "CVSS_V4": VulnerabilityScoreSource.CVSS_V4,
    "CVSS_V4.0": VulnerabilityScoreSource.CVSS_V4,
    "SSVC": VulnerabilityScoreSource.SSVC,
    "OWASP": VulnerabilityScoreSource.OWASP,
}


def document_url(snapshot: AdvisorySnapshot, publisher: Publisher) -> str:
    return f"{publisher.namespace}/{cyclonedx_path(snapshot.identifier)}"


def render_cyclonedx_vex(snapshot: AdvisorySnapshot, publisher: Publisher) -> dict[str, Any]:
    """The CycloneDX 1.6 VEX BOM of ``snapshot``."""
    text = make_outputter(build_bom(snapshot, publisher), OutputFormat.JSON, SCHEMA_VERSION)
    document: dict[str, Any] = json.loads(text.output_as_string())
    return document


def render_cyclonedx_vex_bytes(snapshot: AdvisorySnapshot, publisher: Publisher) -> bytes:
    return json_bytes(render_cyclonedx_vex(snapshot, publisher))


def cyclonedx_problems(document: dict[str, Any]) -> list[str]:
    """What cyclonedx-python-lib's strict 1.6 validator refuses ("path: message")."""
    errors = JsonStrictValidator(SCHEMA_VERSION).validate_str(json.dumps(document), all_errors=True)
    problems = []
    for error in errors or ():
        data = error.data
        path = "/" + "/".join(str(p) for p in getattr(data, "absolute_path", ()))
        problems.append(f"{path}: {getattr(data, 'message', str(error))}")
    return problems


def build_bom(snapshot: AdvisorySnapshot, publisher: Publisher) -> Bom:
    statements = vex_statements(snapshot, publisher)
    components: dict[str, Component] = {}
    for s in statements:
        if not s.of_fix and s.product.id not in components:
            components[s.product.id] = _component(s.product)
    vulnerabilities = []
    for index, v in enumerate(snapshot.vulnerabilities):
        name = vulnerability_name(snapshot, index)
        mine = [s for s in statements if s.vulnerability == name and not s.of_fix]
        groups: dict[tuple[Any, ...], list[Statement]] = {}
        for s in mine:
            key = (s.status, s.justification, _detail(s), _responses(s))
            groups.setdefault(key, []).append(s)
        for number, group in enumerate(groups.values(), start=1):
            vulnerabilities.append(
                _vulnerability(snapshot, publisher, v, name, group, number, len(groups))
            )
    url = document_url(snapshot, publisher)
    return Bom(
        serial_number=uuid.uuid5(uuid.NAMESPACE_URL, url),
        version=document_version(snapshot),
        metadata=BomMetaData(
            timestamp=modified_at(snapshot),
            tools=ToolRepository(
                components=[
                    Component(
                        name=GENERATOR_NAME,
                        version=GENERATOR_VERSION,
                        type=ComponentType.APPLICATION,
                        bom_ref="tool:herald",
                    )
                ]
            ),
            supplier=OrganizationalEntity(
                name=publisher.name, urls=[XsUri(publisher.namespace + "/")]
            ),
        ),
        components=components.values(),
        vulnerabilities=vulnerabilities,
    )


def _component(product: Product) -> Component:
    purl = PackageURL.from_string(product.purl) if product.purl else None
    return Component(
        name=product.name,
        type=ComponentType.LIBRARY if product.deployment == "sdk" else ComponentType.APPLICATION,
        bom_ref=product.id,
        version=product.version or None,
        purl=purl,
        cpe=product.cpe or None,
        supplier=OrganizationalEntity(name=product.vendor) if product.vendor else None,
    )


def _detail(s: Statement) -> str:
    parts = [s.impact_statement, s.action_statement, s.notes]
    return " ".join(p for p in parts if p)


def _responses(s: Statement) -> tuple[ImpactAnalysisResponse, ...]:
    responses = {RESPONSES[r.category] for r in s.remediations if r.category in RESPONSES}
    if s.status in ("fixed",) or (s.status == "affected" and s.fixed_in):
        responses.add(ImpactAnalysisResponse.UPDATE)
    if s.status not in ("affected", "fixed"):
        return ()
    return tuple(sorted(responses, key=lambda r: r.value))


def _versions(s: Statement) -> list[BomTargetVersionRange]:
    status = VERSION_STATUS[s.status]
    out = []
    if s.product.version:
        out.append(BomTargetVersionRange(version=s.product.version, status=status))
    elif s.vers:
        out.append(BomTargetVersionRange(range=s.vers, status=status))
    if s.fixed_in:
        out.append(
            BomTargetVersionRange(
                version=s.fixed_in, status=ImpactAnalysisAffectedStatus.UNAFFECTED
            )
        )
    return out


def _vulnerability(
    snapshot: AdvisorySnapshot,
    publisher: Publisher,
    v: VulnerabilitySnapshot,
    name: str,
    group: list[Statement],
    number: int,
    count: int,
) -> Vulnerability:
    first = group[0]
    advisory_url = publisher.advisory_url(snapshot.identifier)
    source = VulnerabilitySource(name=publisher.name, url=XsUri(advisory_url))
    analysis = VulnerabilityAnalysis(
        state=STATES[first.status],
        justification=JUSTIFICATIONS.get(first.justification),
        responses=_responses(first),
        detail=_detail(first) or None,
    )
    targets: dict[str, list[BomTargetVersionRange]] = {}
    for s in group:
        targets.setdefault(s.product.id, []).extend(_versions(s))
    return Vulnerability(
        bom_ref=name if count == 1 else f"{name}#{number}",
        id=name,
        source=source,
        references=_references(first.aliases),
        ratings=_ratings(v, publisher, source),
        cwes=_cwes(v.cwe_ids),
        description=plain_text(snapshot.description) or first.title or None,
        recommendation=plain_text(snapshot.resolution) or None,
        advisories=_advisories(snapshot, v, advisory_url),
        published=v.released_at or snapshot.published_at,
        updated=modified_at(snapshot),
        analysis=analysis,
        affects=[BomTarget(ref=ref, versions=versions) for ref, versions in targets.items()],
    )


def severity_of(score: Decimal | None) -> VulnerabilitySeverity:
    """CVSS's qualitative rating of a base score."""
    if score is None:
        return VulnerabilitySeverity.UNKNOWN
    if score >= 9:
        return VulnerabilitySeverity.CRITICAL
    if score >= 7:
        return VulnerabilitySeverity.HIGH
    if score >= 4:
        return VulnerabilitySeverity.MEDIUM
    if score > 0:
        return VulnerabilitySeverity.LOW
    return VulnerabilitySeverity.NONE


def _ratings(
    v: VulnerabilitySnapshot, publisher: Publisher, source: VulnerabilitySource
) -> list[VulnerabilityRating]:
    ratings = []
    computed = {v.cvss_v3_vector, v.cvss_v4_vector} - {""}
    for method, vector, score in (
        (VulnerabilityScoreSource.CVSS_V3_1, v.cvss_v3_vector, v.cvss_v3_score),
        (VulnerabilityScoreSource.CVSS_V4, v.cvss_v4_vector, v.cvss_v4_score),
    ):
        if vector:
            ratings.append(
                VulnerabilityRating(
                    source=source,
                    score=score,
                    severity=severity_of(score),
                    method=method,
                    vector=vector,
                )
            )
    for kept in v.scores:
        if kept.vector and kept.vector in computed:
            continue
        severity = _severity_word(kept.severity) or (
            severity_of(kept.base_score) if kept.base_score is not None else None
        )
        ratings.append(
            VulnerabilityRating(
                source=VulnerabilitySource(name=kept.source or publisher.name),
                score=kept.base_score,
                severity=severity,
                method=METHODS.get(kept.type.upper(), VulnerabilityScoreSource.OTHER),
                vector=kept.vector or None,
            )
        )
    return ratings


def _severity_word(word: str) -> VulnerabilitySeverity | None:
    try:
        return VulnerabilitySeverity(word.lower()) if word else None
    except ValueError:
        return None


def _cwes(cwe_ids: Iterable[str]) -> list[int]:
    out = []
    for cwe in cwe_ids:
        number = cwe.upper().removeprefix("CWE-")
        if number.isdigit():
            out.append(int(number))
    return out


def _references(aliases: Iterable[str]) -> list[VulnerabilityReference]:
    out = []
    for alias in aliases:
        if alias.startswith("CVE-"):
            source = VulnerabilitySource(
                name="CVE", url=XsUri(f"https://www.cve.org/CVERecord?id={alias}")
            )
        elif alias.startswith("GHSA-"):
            source = VulnerabilitySource(
                name="GitHub", url=XsUri(f"https://github.com/advisories/{alias}")
            )
        else:
            source = VulnerabilitySource(name=alias.split("-", 1)[0])
        out.append(VulnerabilityReference(id=alias, source=source))
    return out


def _advisories(
    snapshot: AdvisorySnapshot, v: VulnerabilitySnapshot, advisory_url: str
) -> list[VulnerabilityAdvisory]:
    out = [
        VulnerabilityAdvisory(
            title=f"{snapshot.identifier}: {snapshot.title}", url=XsUri(advisory_url)
        )
    ]
    seen = {advisory_url}
    for ref in (*v.references, *snapshot.references):
        if ref.url not in seen:
            seen.add(ref.url)
            out.append(VulnerabilityAdvisory(url=XsUri(ref.url)))
    return out
