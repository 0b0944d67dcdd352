"""OSV (schema 1.7) documents: one per vulnerability of a public advisory, served at
``/osv/<id>.json``.

Products that ship as packages of a public ecosystem (PyPI, npm, ...) appear under
that ecosystem with their package URL. Everything else (cloud services, appliances)
has no OSV ecosystem, and the schema admits no other: its ``affected`` entry carries
no ``package``, a GIT range when its versions are commits of a repository, a SEMVER
range when they are semantic versions, and names the product (and any other versions)
in ``database_specific`` (docs/formats.md).

The id is the advisory's identifier behind ``Publisher.osv_id_prefix`` ("x_" unless
the vendor registered a prefix with OSV); the identifier itself is then an alias. OSV
aliases name the same vulnerability, so an advisory about several vulnerabilities (two
CVEs) is several documents: ``<prefix><identifier>`` for the first, then
``<prefix><identifier>-2``, ``-3``... (``osv_id_list``), each naming the others (and
their CVE ids) in ``related``.

A vulnerability imported from a document (its ``SourceSnapshot``) keeps what the
source said: its times, upstream/alias/related ids, severity entries, ranges of their
own type, ``versions``, ``ecosystem_specific`` and ``database_specific``; Herald's own
publication and modification moments, page and status are in
``database_specific.herald``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from herald.advisories.snapshot import (
    AdvisorySnapshot,
    AffectedSnapshot,
    ReferenceSnapshot,
    SourceSnapshot,
    VersionRange,
    VulnerabilitySnapshot,
)
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


def osv_ids(snapshot: AdvisorySnapshot, publisher: Publisher) -> list[str]:
    """The OSV ids of an advisory's documents, one per vulnerability (``osv_id_list``)."""
    return osv_id_list(snapshot.identifier, len(snapshot.vulnerabilities), publisher)


def osv_id_list(identifier: str, count: int, publisher: Publisher) -> list[str]:
    """``<prefix><identifier>`` for the first vulnerability, then ``-2``, ``-3``...

    OSV aliases name the SAME vulnerability, so an advisory about several (two CVEs)
    is several documents, each naming the others in ``related``."""
    first = publisher.osv_id(identifier)
    return [first] + [f"{first}-{number}" for number in range(2, max(count, 1) + 1)]


def render_osv_documents(
    snapshot: AdvisorySnapshot, publisher: Publisher, *, former_id: bool = False
) -> list[dict[str, Any]]:
    """Every OSV document of ``snapshot``: one per vulnerability, in order."""
    count = max(len(snapshot.vulnerabilities), 1)
    return [
        render_osv(snapshot, publisher, former_id=former_id, vulnerability=number)
        for number in range(count)
    ]


def render_osv(
    snapshot: AdvisorySnapshot,
    publisher: Publisher,
    *,
    former_id: bool = False,
    vulnerability: int = 0,
) -> dict[str, Any]:
    """The OSV document of one vulnerability of ``snapshot`` (the first by default),
    keys in the order of the OSV specification.

    ``former_id``: the advisory was published when its identifier was its OSV id
    (``herald.publishing.surfaces_osv.has_former_address``); the identifier is
    then an alias of the first document, so that whoever recorded that id finds it.

    An imported vulnerability (a ``SourceSnapshot`` of its upstream id) keeps the
    source's ``published``/``modified``/``withdrawn``, its severity entries, its
    ranges, ``versions``, ``ecosystem_specific`` and ``database_specific`` as given;
    Herald's own moments and facts are in ``database_specific.herald``."""
    vulns = snapshot.vulnerabilities or (VulnerabilitySnapshot(),)
    vuln = vulns[vulnerability]
    ids = osv_ids(snapshot, publisher)
    source = _source_of(snapshot, vuln)
    doc: dict[str, Any] = {
        "schema_version": OSV_SCHEMA_VERSION,
        "id": ids[vulnerability],
    }
    herald_modified = _herald_modified(snapshot)
    doc["modified"] = document_modified(snapshot, vulnerability)
    if source is not None:
        published = source.published or snapshot.published_at
        if published:
            doc["published"] = document_moment(published)
        withdrawn = source.withdrawn or (
            (snapshot.withdrawn_at or herald_modified) if snapshot.is_withdrawn else None
        )
        if withdrawn:
            doc["withdrawn"] = document_moment(withdrawn)
    else:
        if snapshot.published_at:
            doc["published"] = utc(snapshot.published_at)
        if snapshot.is_withdrawn:
            doc["withdrawn"] = utc(snapshot.withdrawn_at or modified_at(snapshot))
    aliases = ([vuln.cve_id] if vuln.cve_id else []) + list(vuln.aliases)
    if vulnerability == 0 and former_id and ids[0] != snapshot.identifier:
        aliases.append(snapshot.identifier)
    if aliases:
        doc["aliases"] = list(dict.fromkeys(aliases))
    if vuln.upstream:
        doc["upstream"] = list(dict.fromkeys(vuln.upstream))
    related = list(vuln.related) + [i for n, i in enumerate(ids) if n != vulnerability]
    if len(vulns) > 1:
        related += [v.cve_id for v in vulns if v.cve_id and v.cve_id != vuln.cve_id]
    if related:
        doc["related"] = list(dict.fromkeys(related))
    summary = vuln.title or snapshot.title or snapshot.summary
    if summary:
        doc["summary"] = summary
    details = _details(snapshot, vuln, withdrawn_by_source=bool(source and source.withdrawn))
    if details:
        doc["details"] = details
    severity = _severity(vuln)
    if severity:
        doc["severity"] = severity
    affected = [
        _affected(row, vuln, publisher) for row in vuln.affected if row.status in LISTED_STATUSES
    ]
    if affected:
        doc["affected"] = affected
    doc["references"] = _references(snapshot, publisher, vuln)
    if snapshot.credits:
        doc["credits"] = [_credit(c.name, c.type, c.contact) for c in snapshot.credits]
    doc["database_specific"] = _database_specific(snapshot, vuln, publisher, source)
    return doc


def render_osv_bytes(
    snapshot: AdvisorySnapshot, publisher: Publisher, *, former_id: bool = False
) -> bytes:
    return json_bytes(render_osv(snapshot, publisher, former_id=former_id))


def document_modified(snapshot: AdvisorySnapshot, vulnerability: int = 0) -> str:
    """The ``modified`` of one document: an imported vulnerability's source's (kept as
    the source's), else Herald's last change. ``modified_id.csv`` lists the same."""
    vulns = snapshot.vulnerabilities or (VulnerabilitySnapshot(),)
    source = _source_of(snapshot, vulns[vulnerability])
    if source is not None and source.modified is not None:
        return document_moment(source.modified)
    if source is not None:
        return document_moment(modified_at(snapshot))
    return utc(modified_at(snapshot))


def _source_of(snapshot: AdvisorySnapshot, vuln: VulnerabilitySnapshot) -> SourceSnapshot | None:
    """The source document a vulnerability was imported from: the source whose id is
    one of the vulnerability's ids (the only source of a one-vulnerability advisory)."""
    known = {vuln.cve_id, *(i.id for i in vuln.ids)} - {""}
    for source in snapshot.sources:
        if source.id in known:
            return source
    if len(snapshot.vulnerabilities) == 1 and len(snapshot.sources) == 1:
        return snapshot.sources[0]
    return None


def _herald_modified(snapshot: AdvisorySnapshot) -> dt.datetime | None:
    return snapshot.updated_at or snapshot.withdrawn_at or snapshot.published_at


def document_moment(value: dt.datetime) -> str:
    """A source's time in UTC with a ``Z``, its fraction of a second kept."""
    text = utc(value)
    micro = value.microsecond
    if micro:
        text = text[:-1] + f".{micro:06d}".rstrip("0") + "Z"
    return text


def _details(
    snapshot: AdvisorySnapshot, vuln: VulnerabilitySnapshot, *, withdrawn_by_source: bool
) -> str:
    description = snapshot.description.strip()
    own = [
        n.text.strip()
        for n in vuln.notes
        if n.category in ("description", "details") and n.text.strip()
        and n.text.strip() not in description
    ]  # fmt: skip
    parts = [description, *own]
    resolution = snapshot.resolution.strip()
    # A text that already says the resolution (an imported document's) is not repeated.
    if resolution and " ".join(resolution.split()) not in " ".join(description.split()):
        parts.append("### Resolution\n\n" + resolution)
    # Herald's withdrawal is said first; a source's is its document's "withdrawn".
    if snapshot.is_withdrawn and snapshot.withdrawn_reason.strip() and not withdrawn_by_source:
        parts.insert(0, "**Withdrawn:** " + snapshot.withdrawn_reason.strip())
    return "\n\n".join(p for p in parts if p)


# Score types as OSV's severity types (its closed list); others have no OSV form.
OSV_SEVERITY_TYPES = {
    "CVSS_V2": "CVSS_V2",
    "CVSS_V3": "CVSS_V3",
    "CVSS_V3.0": "CVSS_V3",
    "CVSS_V3.1": "CVSS_V3",
    "CVSS_V4": "CVSS_V4",
    "CVSS_V4.0": "CVSS_V4",
    "Ubuntu": "Ubuntu",
}


def _severity(vuln: VulnerabilitySnapshot) -> list[dict[str, str]]:
    out = []
    if vuln.cvss_v3_vector:
        out.append({"type": "CVSS_V3", "score": vuln.cvss_v3_vector})
    if vuln.cvss_v4_vector:
        out.append({"type": "CVSS_V4", "score": vuln.cvss_v4_vector})
    out += _scores(vuln, "")
    return _unique(out)


def _scores(vuln: VulnerabilitySnapshot, product_slug: str) -> list[dict[str, str]]:
    """The kept scores of the whole vulnerability ("") or of one product row."""
    return [
        {"type": OSV_SEVERITY_TYPES[s.type], "score": s.vector}
        for s in vuln.scores
        if s.type in OSV_SEVERITY_TYPES
        and s.vector
        and not s.source
        and ((product_slug in s.products) if product_slug else not s.products)
    ]


def _unique(items: list[dict[str, str]]) -> list[dict[str, str]]:
    seen: set[tuple[str, str]] = set()
    out = []
    for item in items:
        key = (item["type"], item["score"])
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _affected(
    row: AffectedSnapshot, vuln: VulnerabilitySnapshot, publisher: Publisher
) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    specific: dict[str, Any] = {}
    ranges = [_stored_range(r) for r in row.ranges] if row.ranges else []
    simple = None if row.ranges else _range(row)
    if simple:
        ranges = [simple]
    if row.ecosystem:
        package = {"ecosystem": row.ecosystem, "name": row.package_name or row.product}
        purl = row.purl or purl_for(row.ecosystem, row.package_name)
        if purl:
            package["purl"] = purl
        entry["package"] = package
    else:
        # No OSV ecosystem: no package (never an invented ecosystem). A GIT or SEMVER
        # range means the same without one; an ECOSYSTEM range would not.
        specific["product"] = row.product
        moved = [r for r in ranges if r["type"] == "ECOSYSTEM"]
        if moved:
            specific["ranges"] = moved
            ranges = [r for r in ranges if r["type"] != "ECOSYSTEM"]
    severity = _unique(_scores(vuln, row.product_slug))
    if severity:
        entry["severity"] = severity
    if ranges:
        entry["ranges"] = ranges
    if row.versions:
        entry["versions"] = list(row.versions)
    if "ecosystem_specific" in row.extra:
        entry["ecosystem_specific"] = row.extra["ecosystem_specific"]
    if row.ranges or row.versions or row.extra:
        # A row imported from a document: its database_specific as the source gave it
        # (with the ranges OSV admits only under a package, if any were moved there).
        given = dict(row.extra.get("database_specific") or {})
        if "ranges" in specific:
            given |= {"product": row.product, "ranges": specific["ranges"]}
        if given or "database_specific" in row.extra:
            entry["database_specific"] = given
        return entry
    specific |= {"deployment": row.deployment, "status": row.status}
    if row.region:
        specific["region"] = row.region
    entry["database_specific"] = specific
    return entry


def _stored_range(r: VersionRange) -> dict[str, Any]:
    """A range as the source gave it: its own type (ECOSYSTEM, SEMVER, GIT with its
    repository), its events in order, its ``database_specific``."""
    kind = r.type.upper() if r.type.lower() in ("git", "semver", "ecosystem") else r.type
    specific = dict(r.database_specific)
    if kind not in ("GIT", "SEMVER", "ECOSYSTEM") or (kind == "GIT" and not r.repo):
        # A version scheme OSV has no range type for (a CVE record's "rpm", "custom",
        # a GIT range without its repository): the package's own versions, its scheme
        # kept beside them.
        specific["version_type"] = r.type
        kind = "ECOSYSTEM"
    out: dict[str, Any] = {"type": kind}
    if r.repo and kind == "GIT":
        out["repo"] = r.repo
    out["events"] = [dict(e) for e in r.events]
    if specific:
        out["database_specific"] = specific
    return out


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


def _references(
    snapshot: AdvisorySnapshot, publisher: Publisher, vuln: VulnerabilitySnapshot
) -> list[dict[str, str]]:
    """Herald's page, the advisory's references and this vulnerability's own, fix
    links, and the documents it was imported from (an OSV source's own links are its
    references already)."""
    refs = [{"type": "ADVISORY", "url": publisher.advisory_url(snapshot.identifier)}]
    seen = {refs[0]["url"]}
    sources = tuple(
        ReferenceSnapshot(url=s.url, type="ADVISORY")
        for s in snapshot.sources
        if s.url and s.kind != "osv"
    )
    for ref in (*snapshot.references, *vuln.references, *sources):
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
    """A credit; several contacts are kept one a line, and a credit the source gave
    without a type stays without one."""
    credit: dict[str, Any] = {"name": name}
    contacts = [c for c in contact.splitlines() if c.strip()]
    if contacts:
        credit["contact"] = contacts
    if kind:
        credit["type"] = kind
    return credit


def _database_specific(
    snapshot: AdvisorySnapshot,
    vuln: VulnerabilitySnapshot,
    publisher: Publisher,
    source: SourceSnapshot | None,
) -> dict[str, Any]:
    specific: dict[str, Any] = {
        "url": publisher.advisory_url(snapshot.identifier),
        "severity": snapshot.severity.upper() if snapshot.severity else None,
        "cwe_ids": list(vuln.cwe_ids if snapshot.vulnerabilities else snapshot.cwe_ids),
        "status": snapshot.status,
        "affected_regions": list(snapshot.affected_regions),
        "deployments": list(dict.fromkeys(row.deployment for row in vuln.affected)),
    }
    if snapshot.is_withdrawn and snapshot.withdrawn_reason:
        specific["withdrawn_reason"] = snapshot.withdrawn_reason
    if source is None:
        return specific
    # An imported document: the source's database_specific as given, Herald's beside it.
    herald = dict(specific)
    if snapshot.published_at:
        herald["published"] = utc(snapshot.published_at)
    moment = _herald_modified(snapshot)
    if moment:
        herald["modified"] = utc(moment)
    if snapshot.is_withdrawn and snapshot.withdrawn_at:
        herald["withdrawn"] = utc(snapshot.withdrawn_at)
    given = vuln.extra.get("osv", {}).get("database_specific")
    out = dict(given) if isinstance(given, dict) else {}
    if vuln.cwe_ids and "cwe_ids" not in out:
        out["cwe_ids"] = list(vuln.cwe_ids)
    out["herald"] = herald
    return out
