"""OSV (schema 1.7) documents: one per public advisory, served at ``/osv/<id>.json``.

Products that ship as packages of a public ecosystem (PyPI, npm, ...) appear under
that ecosystem with their package URL. Everything else (cloud services, appliances)
has no OSV ecosystem, and the schema admits no other: its ``affected`` entry carries
no ``package``, a GIT range when its versions are commits of a repository, a SEMVER
range when they are semantic versions, and names the product (and any other versions)
in ``database_specific`` (docs/formats.md).

The id is the advisory's identifier behind ``Publisher.osv_id_prefix`` ("x_" unless
the vendor registered a prefix with OSV); the identifier itself is then an alias.
"""

from __future__ import annotations

from typing import Any

from herald.advisories.snapshot import AdvisorySnapshot, AffectedSnapshot
from herald.publishing.render.publisher import (
    Publisher,
    fix_links,
    is_git_sha,
    is_semver,
    json_bytes,
    modified_at,
    purl_for,
    utc,
)

OSV_SCHEMA_VERSION = "1.7.4"
# Rows that say a product is (or was) vulnerable; "not_affected" and
# "under_investigation" rows would tell OSV clients to flag safe versions.
LISTED_STATUSES = frozenset({"affected", "fixed"})
REFERENCE_TYPES = frozenset(
    {"ADVISORY", "ARTICLE", "DETECTION", "DISCUSSION", "REPORT", "FIX", "INTRODUCED", "GIT",
     "PACKAGE", "EVIDENCE", "WEB"}
)  # fmt: skip


def render_osv(
    snapshot: AdvisorySnapshot, publisher: Publisher, *, former_id: bool = False
) -> dict[str, Any]:
    """The OSV document of ``snapshot``, keys in the order of the OSV specification.

    ``former_id``: the advisory was published when its identifier was its OSV id
    (``herald.publishing.surfaces_osv.has_former_address``); the identifier is
    then an alias, so that whoever recorded that id finds the document."""
    doc: dict[str, Any] = {
        "schema_version": OSV_SCHEMA_VERSION,
        "id": publisher.osv_id(snapshot.identifier),
        "modified": utc(modified_at(snapshot)),
    }
    if snapshot.published_at:
        doc["published"] = utc(snapshot.published_at)
    if snapshot.is_withdrawn:
        doc["withdrawn"] = utc(snapshot.withdrawn_at or modified_at(snapshot))
    aliases = list(snapshot.cve_ids)
    if former_id and publisher.osv_id(snapshot.identifier) != snapshot.identifier:
        aliases.append(snapshot.identifier)
    if aliases:
        doc["aliases"] = aliases
    summary = snapshot.title or snapshot.summary
    if summary:
        doc["summary"] = summary
    details = _details(snapshot)
    if details:
        doc["details"] = details
    severity = _severity(snapshot)
    if severity:
        doc["severity"] = severity
    affected = [
        _affected(row, publisher) for row in snapshot.affected if row.status in LISTED_STATUSES
    ]
    if affected:
        doc["affected"] = affected
    doc["references"] = _references(snapshot, publisher)
    if snapshot.credits:
        doc["credits"] = [_credit(c.name, c.type, c.contact) for c in snapshot.credits]
    doc["database_specific"] = _database_specific(snapshot, publisher)
    return doc


def render_osv_bytes(
    snapshot: AdvisorySnapshot, publisher: Publisher, *, former_id: bool = False
) -> bytes:
    return json_bytes(render_osv(snapshot, publisher, former_id=former_id))


def _details(snapshot: AdvisorySnapshot) -> str:
    parts = [snapshot.description.strip()]
    if snapshot.resolution.strip():
        parts.append("### Resolution\n\n" + snapshot.resolution.strip())
    if snapshot.is_withdrawn and snapshot.withdrawn_reason.strip():
        parts.insert(0, "**Withdrawn:** " + snapshot.withdrawn_reason.strip())
    return "\n\n".join(p for p in parts if p)


def _severity(snapshot: AdvisorySnapshot) -> list[dict[str, str]]:
    out = []
    if snapshot.cvss_v3_vector:
        out.append({"type": "CVSS_V3", "score": snapshot.cvss_v3_vector})
    if snapshot.cvss_v4_vector:
        out.append({"type": "CVSS_V4", "score": snapshot.cvss_v4_vector})
    return out


def _affected(row: AffectedSnapshot, publisher: Publisher) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    specific: dict[str, Any] = {}
    range_ = _range(row)
    if row.ecosystem:
        package = {"ecosystem": row.ecosystem, "name": row.package_name or row.product}
        purl = purl_for(row.ecosystem, row.package_name)
        if purl:
            package["purl"] = purl
        entry["package"] = package
    else:
        # No OSV ecosystem: no package (never an invented ecosystem). A GIT or SEMVER
        # range means the same without one; an ECOSYSTEM range would not.
        specific["product"] = row.product
        if range_ and range_["type"] == "ECOSYSTEM":
            specific["ranges"] = [range_]
            range_ = None
    if range_:
        entry["ranges"] = [range_]
    specific |= {"deployment": row.deployment, "status": row.status}
    if row.region:
        specific["region"] = row.region
    entry["database_specific"] = specific
    return entry


def _range(row: AffectedSnapshot) -> dict[str, Any] | None:
    """One range for a row; None when the row names no version at all (a service)."""
    if not (row.introduced or row.fixed or row.last_affected):
        return None
    events: list[dict[str, str]] = [{"introduced": row.introduced or "0"}]
    if row.fixed:
        events.append({"fixed": row.fixed})
    elif row.last_affected:
        events.append({"last_affected": row.last_affected})
    versions = [v for e in events for v in e.values() if v != "0"]
    if row.repository_url and versions and all(is_git_sha(v) for v in versions):
        return {"type": "GIT", "repo": row.repository_url, "events": events}
    kind = "SEMVER" if all(is_semver(v) for v in versions) else "ECOSYSTEM"
    return {"type": kind, "events": events}


def _references(snapshot: AdvisorySnapshot, publisher: Publisher) -> list[dict[str, str]]:
    refs = [{"type": "ADVISORY", "url": publisher.advisory_url(snapshot.identifier)}]
    seen = {refs[0]["url"]}
    for ref in snapshot.references:
        if ref.url not in seen:
            kind = ref.type if ref.type in REFERENCE_TYPES else "WEB"
            refs.append({"type": kind, "url": ref.url})
            seen.add(ref.url)
    for url in fix_links(snapshot):
        if url not in seen:
            refs.append({"type": "FIX", "url": url})
            seen.add(url)
    return refs


def _credit(name: str, kind: str, contact: str) -> dict[str, Any]:
    credit: dict[str, Any] = {"name": name}
    if contact:
        credit["contact"] = [contact]
    credit["type"] = kind or "OTHER"
    return credit


def _database_specific(snapshot: AdvisorySnapshot, publisher: Publisher) -> dict[str, Any]:
    specific: dict[str, Any] = {
        "url": publisher.advisory_url(snapshot.identifier),
        "severity": snapshot.severity.upper() if snapshot.severity else None,
        "cwe_ids": list(snapshot.cwe_ids),
        "status": snapshot.status,
        "affected_regions": list(snapshot.affected_regions),
        "deployments": list(dict.fromkeys(row.deployment for row in snapshot.affected)),
    }
    if snapshot.is_withdrawn and snapshot.withdrawn_reason:
        specific["withdrawn_reason"] = snapshot.withdrawn_reason
    return specific
