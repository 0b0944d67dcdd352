"""CVE Record Format 5.1: the CNA container CVE Services accepts, and the full record.

One record per CVE id of an advisory. A withdrawn advisory yields a REJECTED
record whose CNA container carries only the reason, as the format requires.
"""

from __future__ import annotations

from typing import Any

from cvss import CVSS3, CVSS4

from herald.advisories.snapshot import AdvisorySnapshot, AffectedSnapshot
from herald.core.markdown import render as render_markdown
from herald.publishing.render.publisher import (
    COLLECTION_URLS,
    CWE_NAMES,
    GENERATOR_NAME,
    GENERATOR_VERSION,
    Publisher,
    fix_links,
    is_git_sha,
    is_semver,
    json_bytes,
    modified_at,
    plain_text,
    utc,
)

DATA_VERSION = "5.1"
# The schema's limits: the plain description and each supporting media value.
MAX_TEXT = 4096
MAX_MEDIA = 16384

CREDIT_TYPES = {
    "FINDER": "finder",
    "REPORTER": "reporter",
    "ANALYST": "analyst",
    "COORDINATOR": "coordinator",
    "REMEDIATION_DEVELOPER": "remediation developer",
    "REMEDIATION_REVIEWER": "remediation reviewer",
    "REMEDIATION_VERIFIER": "remediation verifier",
    "TOOL": "tool",
    "SPONSOR": "sponsor",
    "OTHER": "other",
}
# OSV reference types -> CVE reference tags; types with no CVE counterpart get none.
REFERENCE_TAGS = {
    "FIX": "patch",
    "ADVISORY": "third-party-advisory",
    "REPORT": "issue-tracking",
    "ARTICLE": "technical-description",
    "DISCUSSION": "mailing-list",
    "EVIDENCE": "exploit",
    "PACKAGE": "product",
}
TIMELINE_EVENTS = (
    ("discovered_at", "Vulnerability discovered"),
    ("reported_at", "Reported to the vendor"),
    ("fixed_at", "Fix released"),
    ("disclosed_at", "Publicly disclosed"),
)
STATUS = {
    "affected": "affected",
    "fixed": "affected",
    "not_affected": "unaffected",
    "under_investigation": "unknown",
}

# CVSS v4.0 vector codes -> the CVE schema's cvssV4_0 property names and values.
_V4_FIELDS = {
    "AV": ("attackVector", {"N": "NETWORK", "A": "ADJACENT", "L": "LOCAL", "P": "PHYSICAL"}),
    "AC": ("attackComplexity", {"L": "LOW", "H": "HIGH"}),
    "AT": ("attackRequirements", {"N": "NONE", "P": "PRESENT"}),
    "PR": ("privilegesRequired", {"N": "NONE", "L": "LOW", "H": "HIGH"}),
    "UI": ("userInteraction", {"N": "NONE", "P": "PASSIVE", "A": "ACTIVE"}),
    "VC": ("vulnConfidentialityImpact", {"N": "NONE", "L": "LOW", "H": "HIGH"}),
    "VI": ("vulnIntegrityImpact", {"N": "NONE", "L": "LOW", "H": "HIGH"}),
    "VA": ("vulnAvailabilityImpact", {"N": "NONE", "L": "LOW", "H": "HIGH"}),
    "SC": ("subConfidentialityImpact", {"N": "NONE", "L": "LOW", "H": "HIGH"}),
    "SI": ("subIntegrityImpact", {"N": "NONE", "L": "LOW", "H": "HIGH"}),
    "SA": ("subAvailabilityImpact", {"N": "NONE", "L": "LOW", "H": "HIGH"}),
    "E": (
        "exploitMaturity",
        {"X": "NOT_DEFINED", "A": "ATTACKED", "P": "PROOF_OF_CONCEPT", "U": "UNREPORTED"},
    ),
}


def render_cve_record(
    snapshot: AdvisorySnapshot, cve_id: str, publisher: Publisher
) -> dict[str, Any]:
    """The full CVE record (``dataType: CVE_RECORD``) for one of the advisory's CVE ids."""
    _check(snapshot, cve_id, publisher)
    metadata: dict[str, Any] = {
        "cveId": cve_id,
        "assignerOrgId": publisher.cna_org_id,
    }
    if _short_name(publisher):
        metadata["assignerShortName"] = _short_name(publisher)
    if snapshot.is_withdrawn:
        metadata["state"] = "REJECTED"
        if snapshot.published_at:
            metadata["datePublished"] = utc(snapshot.published_at)
        metadata["dateUpdated"] = utc(modified_at(snapshot))
        metadata["dateRejected"] = utc(snapshot.withdrawn_at or modified_at(snapshot))
        container = render_rejected_container(snapshot, publisher)
    else:
        metadata["state"] = "PUBLISHED"
        if snapshot.published_at:
            metadata["datePublished"] = utc(snapshot.published_at)
        metadata["dateUpdated"] = utc(modified_at(snapshot))
        container = render_cna_container(snapshot, cve_id, publisher)
    return {
        "dataType": "CVE_RECORD",
        "dataVersion": DATA_VERSION,
        "cveMetadata": metadata,
        "containers": {"cna": container},
    }


def render_cve_record_bytes(snapshot: AdvisorySnapshot, cve_id: str, publisher: Publisher) -> bytes:
    return json_bytes(render_cve_record(snapshot, cve_id, publisher))


def render_cna_container(
    snapshot: AdvisorySnapshot, cve_id: str, publisher: Publisher
) -> dict[str, Any]:
    """The published CNA container: what a CNA sends to CVE Services for ``cve_id``."""
    _check(snapshot, cve_id, publisher)
    container: dict[str, Any] = {"providerMetadata": _provider(snapshot, publisher)}
    if snapshot.title:
        container["title"] = snapshot.title[:256]
    public = snapshot.disclosed_at or snapshot.published_at
    if public:
        container["datePublic"] = utc(public)
    container["descriptions"] = [_description(snapshot.description or snapshot.summary)]
    container["affected"] = _affected(snapshot, publisher)
    if snapshot.cwe_ids:
        container["problemTypes"] = [
            {"descriptions": [_problem_type(cwe) for cwe in snapshot.cwe_ids]}
        ]
    metrics = _metrics(snapshot)
    if metrics:
        container["metrics"] = metrics
    if snapshot.resolution.strip():
        container["solutions"] = [_description(snapshot.resolution)]
    container["references"] = _references(snapshot, publisher)
    timeline = [
        {"time": utc(getattr(snapshot, name)), "lang": "en", "value": label}
        for name, label in TIMELINE_EVENTS
        if getattr(snapshot, name)
    ]
    if timeline:
        container["timeline"] = timeline
    if snapshot.credits:
        container["credits"] = [
            {"lang": "en", "value": c.name, "type": CREDIT_TYPES.get(c.type, "other")}
            for c in snapshot.credits
        ]
    container["source"] = {"advisory": snapshot.identifier, "discovery": "UNKNOWN"}
    container["x_generator"] = {"engine": f"{GENERATOR_NAME} {GENERATOR_VERSION}"}
    return container


def render_rejected_container(snapshot: AdvisorySnapshot, publisher: Publisher) -> dict[str, Any]:
    reason = snapshot.withdrawn_reason.strip() or (
        f"{publisher.name} withdrew advisory {snapshot.identifier}."
    )
    return {
        "providerMetadata": _provider(snapshot, publisher),
        "rejectedReasons": [{"lang": "en", "value": _clip(plain_text(reason) or reason)}],
    }


def _check(snapshot: AdvisorySnapshot, cve_id: str, publisher: Publisher) -> None:
    if not publisher.can_publish_cve:
        raise ValueError("CVE records need the CNA's organisation id (from CVE Services).")
    if cve_id not in snapshot.cve_ids:
        raise ValueError(f"{cve_id} is not one of {snapshot.identifier}'s CVE ids.")


def _short_name(publisher: Publisher) -> str:
    name = publisher.cna_short_name
    return name if 2 <= len(name) <= 32 else ""


def _provider(snapshot: AdvisorySnapshot, publisher: Publisher) -> dict[str, str]:
    provider = {"orgId": publisher.cna_org_id}
    if _short_name(publisher):
        provider["shortName"] = _short_name(publisher)
    provider["dateUpdated"] = utc(modified_at(snapshot))
    return provider


def _clip(text: str, limit: int = MAX_TEXT) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"


def _description(markdown: str) -> dict[str, Any]:
    """Plain text (required) plus the sanitised HTML as supporting media."""
    text = plain_text(markdown) or markdown.strip() or "No description."
    entry: dict[str, Any] = {"lang": "en", "value": _clip(text)}
    html = render_markdown(markdown).strip()
    if html and len(html) <= MAX_MEDIA:
        entry["supportingMedia"] = [{"type": "text/html", "base64": False, "value": html}]
    return entry


def _problem_type(cwe: str) -> dict[str, str]:
    name = CWE_NAMES.get(cwe)
    return {
        "lang": "en",
        "type": "CWE",
        "cweId": cwe,
        "description": f"{cwe} {name}" if name else cwe,
    }


def _metrics(snapshot: AdvisorySnapshot) -> list[dict[str, Any]]:
    metrics: list[dict[str, Any]] = []
    if snapshot.cvss_v4_vector:
        metrics.append(
            {"format": "CVSS", **_general(), "cvssV4_0": cvss_v4_object(snapshot.cvss_v4_vector)}
        )
    if snapshot.cvss_v3_vector:
        v3 = cvss_v3_object(snapshot.cvss_v3_vector)
        key = "cvssV3_1" if v3["version"] == "3.1" else "cvssV3_0"
        metrics.append({"format": "CVSS", **_general(), key: v3})
    return metrics


def _general() -> dict[str, Any]:
    return {"scenarios": [{"lang": "en", "value": "GENERAL"}]}


def cvss_v3_object(vector: str) -> dict[str, Any]:
    """The FIRST CVSS v3.x JSON object (what CVE and CSAF embed), computed by ``cvss``."""
    parsed = CVSS3(vector)
    return dict(parsed.as_json(sort=False, minimal=True))


def cvss_v4_object(vector: str) -> dict[str, Any]:
    """The FIRST CVSS v4.0 JSON object, from the metrics the vector states.

    ``cvss``'s own ``as_json`` for v4 uses other property names and value spellings
    than the FIRST schema CVE embeds, so the object is built from the parsed metrics.
    """
    parsed = CVSS4(vector)
    obj: dict[str, Any] = {
        "version": "4.0",
        "vectorString": parsed.clean_vector(),
        "baseScore": float(parsed.base_score),
        "baseSeverity": str(parsed.severity).upper(),
    }
    for code, (name, values) in _V4_FIELDS.items():
        value = parsed.original_metrics.get(code)
        if value is not None and value in values:
            obj[name] = values[value]
    return obj


def _version_type(versions: list[str]) -> str:
    if versions and all(is_git_sha(v) for v in versions):
        return "git"
    return "semver" if all(is_semver(v) for v in versions) else "custom"


def _versions(row: AffectedSnapshot) -> list[dict[str, str]]:
    status = STATUS.get(row.status, "unknown")
    if not (row.introduced or row.fixed or row.last_affected):
        return []
    named = [v for v in (row.introduced, row.fixed, row.last_affected) if v]
    entry: dict[str, str] = {"version": row.introduced or "0", "status": status}
    if row.fixed:
        entry["lessThan"] = row.fixed
    elif row.last_affected:
        entry["lessThanOrEqual"] = row.last_affected
    else:
        # Only the first affected version is known: everything from it on.
        entry["lessThanOrEqual"] = "*"
    entry["versionType"] = _version_type(named)
    return [entry]


def _affected(snapshot: AdvisorySnapshot, publisher: Publisher) -> list[dict[str, Any]]:
    """One entry per product; versions outside every listed range are unaffected."""
    # A service (no versions) and a versioned product line of the same name go in
    # separate entries: each needs its own default status.
    groups: dict[tuple[str, bool], list[AffectedSnapshot]] = {}
    for row in snapshot.affected:
        groups.setdefault((row.product, bool(_versions(row))), []).append(row)
    products: list[dict[str, Any]] = []
    for (name, versioned), rows in groups.items():
        first = rows[0]
        entry: dict[str, Any] = {"vendor": publisher.name, "product": name}
        if first.ecosystem in COLLECTION_URLS and first.package_name:
            entry["collectionURL"] = COLLECTION_URLS[first.ecosystem]
            entry["packageName"] = first.package_name
        if first.repository_url:
            entry["repo"] = first.repository_url
        platforms = sorted({r.region for r in rows if r.region})
        if platforms:
            entry["platforms"] = platforms
        if versioned:
            entry["versions"] = [v for row in rows for v in _versions(row)]
            entry["defaultStatus"] = "unaffected"
        else:
            statuses = {STATUS.get(row.status, "unknown") for row in rows}
            entry["defaultStatus"] = statuses.pop() if len(statuses) == 1 else "affected"
        products.append(entry)
    if not products:
        # The CVE rules need an affected product; the vendor's offering stands in.
        products.append(
            {"vendor": publisher.name, "product": publisher.name, "defaultStatus": "affected"}
        )
    return products


def _references(snapshot: AdvisorySnapshot, publisher: Publisher) -> list[dict[str, Any]]:
    refs: list[dict[str, Any]] = [
        {
            "url": publisher.advisory_url(snapshot.identifier),
            "name": f"{publisher.name} advisory {snapshot.identifier}",
            "tags": ["vendor-advisory"],
        }
    ]
    seen = {refs[0]["url"]}
    fixes = fix_links(snapshot)
    for ref in snapshot.references:
        if ref.url in seen:
            continue
        entry: dict[str, Any] = {"url": ref.url}
        tag = "patch" if ref.url in fixes else REFERENCE_TAGS.get(ref.type)
        if tag:
            entry["tags"] = [tag]
        refs.append(entry)
        seen.add(ref.url)
    for url in fixes:
        if url not in seen:
            refs.append({"url": url, "tags": ["patch"]})
            seen.add(url)
    return refs
