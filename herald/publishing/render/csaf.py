"""CSAF 2.0 ``csaf_security_advisory`` documents, one per public advisory.

The product tree is vendor -> product name -> version range (or fixed version),
each leaf a product id that the product status, scores and remediations refer to.
CSAF 2.0 predates TLP 2.0: its label for public documents is WHITE, which TLP 2.0
renamed CLEAR. CSAF 2.0 has no CVSS v4 score object either, so a v4 vector is
given as a reference to FIRST's calculator and in a note.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from herald.advisories.snapshot import AdvisorySnapshot, AffectedSnapshot
from herald.publishing.render.cve5 import cvss_v3_object
from herald.publishing.render.publisher import (
    CWE_NAMES,
    GENERATOR_NAME,
    GENERATOR_VERSION,
    PURL_TYPES,
    Publisher,
    fix_links,
    is_semver,
    json_bytes,
    modified_at,
    plain_text,
    purl_for,
    utc,
)

CREDIT_SUMMARIES = {
    "FINDER": "finding the vulnerability",
    "REPORTER": "reporting the vulnerability",
    "ANALYST": "analysing the vulnerability",
    "COORDINATOR": "coordinating the disclosure",
    "REMEDIATION_DEVELOPER": "developing the fix",
    "REMEDIATION_REVIEWER": "reviewing the fix",
    "REMEDIATION_VERIFIER": "verifying the fix",
    "TOOL": "the tool that found the vulnerability",
    "SPONSOR": "sponsoring the work",
    "OTHER": "their contribution",
}


@dataclass
class _Tree:
    """Product ids handed out in document order, one per distinct product leaf."""

    vendor: str
    products: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    ids: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def leaf(self, product: str, category: str, name: str, helper: str = "") -> str:
        key = (product, category, name)
        if key in self.ids:
            return self.ids[key]
        pid = f"CSAFPID-{len(self.ids) + 1:04d}"
        self.ids[key] = pid
        full_name = product if category == "product_name" else f"{product} {name}"
        full: dict[str, Any] = {"name": full_name, "product_id": pid}
        if helper:
            full["product_identification_helper"] = {"purl": helper}
        branches = self.products.setdefault(product, [])
        if category != "product_name":
            branches.append({"category": category, "name": name, "product": full})
        else:
            branches.append({"product": full})
        return pid

    def as_branches(self) -> list[dict[str, Any]]:
        product_branches = []
        for product, leaves in self.products.items():
            branch: dict[str, Any] = {"category": "product_name", "name": product}
            own = [leaf for leaf in leaves if "category" not in leaf]
            sub = [leaf for leaf in leaves if "category" in leaf]
            if own and not sub:
                branch["product"] = own[0]["product"]
            else:
                # A branch holds either sub-branches or a product, so beside version
                # ranges the versionless product (a service) becomes "all versions".
                branch["branches"] = sub + [
                    {"category": "product_version_range", "name": "vers:all/*", **leaf}
                    for leaf in own
                ]
            product_branches.append(branch)
        return [{"category": "vendor", "name": self.vendor, "branches": product_branches}]


@dataclass
class _Status:
    known_affected: list[str] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    known_not_affected: list[str] = field(default_factory=list)
    under_investigation: list[str] = field(default_factory=list)

    def add(self, bucket: str, pid: str) -> None:
        ids = getattr(self, bucket)
        if pid not in ids:
            ids.append(pid)

    def as_dict(self) -> dict[str, list[str]]:
        return {k: v for k, v in vars(self).items() if v}


def render_csaf(snapshot: AdvisorySnapshot, publisher: Publisher) -> dict[str, Any]:
    """The CSAF 2.0 security advisory for ``snapshot``."""
    tree = _Tree(vendor=publisher.name)
    status = _Status()
    for row in snapshot.affected:
        _place(row, snapshot.status_of(row), tree, status)
    if not tree.ids:
        # An advisory without product rows still needs a product (6.1.27.4); the
        # vendor's offering as a whole stands in, in the state the advisory gives.
        pid = tree.leaf(publisher.name, "product_name", publisher.name)
        status.add("known_affected" if snapshot.status == "reported" else "fixed", pid)
    return {
        "document": _document(snapshot, publisher),
        "product_tree": {"branches": tree.as_branches()},
        "vulnerabilities": _vulnerabilities(snapshot, publisher, status),
    }


def render_csaf_bytes(snapshot: AdvisorySnapshot, publisher: Publisher) -> bytes:
    return json_bytes(render_csaf(snapshot, publisher))


def _vers(row: AffectedSnapshot) -> str:
    """The row's range in the ``vers`` notation CSAF recommends for version ranges."""
    versions = [v for v in (row.introduced, row.fixed, row.last_affected) if v]
    scheme = "semver" if all(is_semver(v) for v in versions) else "generic"
    if row.ecosystem in PURL_TYPES and scheme == "generic":
        scheme = PURL_TYPES[row.ecosystem]
    constraints = []
    if row.introduced and row.introduced != "0":
        constraints.append(f">={row.introduced}")
    if row.fixed:
        constraints.append(f"<{row.fixed}")
    elif row.last_affected:
        constraints.append(f"<={row.last_affected}")
    return f"vers:{scheme}/" + ("|".join(constraints) or "*")


def _place(row: AffectedSnapshot, row_status: str, tree: _Tree, status: _Status) -> None:
    """Put ``row`` in the tree; ``row_status`` is its status now (``status_of``)."""
    purl = purl_for(row.ecosystem, row.package_name)
    has_range = bool(row.introduced or row.fixed or row.last_affected)
    bucket = {
        "not_affected": "known_not_affected",
        "under_investigation": "under_investigation",
    }.get(row_status)
    if not has_range:
        pid = tree.leaf(row.product, "product_name", row.product, purl)
        status.add(bucket or ("fixed" if row_status == "fixed" else "known_affected"), pid)
        return
    pid = tree.leaf(row.product, "product_version_range", _vers(row), purl)
    status.add(bucket or "known_affected", pid)
    if row.fixed and not bucket:
        fixed_purl = purl_for(row.ecosystem, row.package_name, row.fixed)
        fixed_pid = tree.leaf(row.product, "product_version", row.fixed, fixed_purl)
        status.add("fixed", fixed_pid)


def _document(snapshot: AdvisorySnapshot, publisher: Publisher) -> dict[str, Any]:
    notes = []
    if snapshot.summary:
        notes.append({"category": "summary", "title": "Summary", "text": snapshot.summary})
    if snapshot.affected_users:
        notes.append(
            {"category": "general", "title": "Affected users", "text": snapshot.affected_users}
        )
    if snapshot.is_withdrawn:
        notes.append(
            {
                "category": "general",
                "title": "Withdrawn",
                "text": snapshot.withdrawn_reason or "This advisory has been withdrawn.",
            }
        )
    notes.append(
        {
            "category": "legal_disclaimer",
            "title": "Terms of use",
            "text": f"This advisory is published by {publisher.name} as it stands; "
            "see the advisory page for the current version.",
        }
    )
    document: dict[str, Any] = {"category": "csaf_security_advisory", "csaf_version": "2.0"}
    if snapshot.credits:
        document["acknowledgments"] = _acknowledgments(snapshot)
    if snapshot.severity:
        document["aggregate_severity"] = {
            "namespace": publisher.namespace,
            "text": snapshot.severity.capitalize(),
        }
    document["distribution"] = {
        "text": "Public: TLP:CLEAR (TLP:WHITE in CSAF 2.0's TLP 1.0 labels).",
        "tlp": {"label": "WHITE", "url": "https://www.first.org/tlp/"},
    }
    document["lang"] = "en"
    document["notes"] = notes
    document["publisher"] = {
        "category": publisher.csaf_category,
        "contact_details": publisher.contact,
        "name": publisher.name,
        "namespace": publisher.namespace,
    }
    document["references"] = [
        {
            "category": "self",
            "summary": f"{publisher.name} advisory page",
            "url": publisher.advisory_url(snapshot.identifier),
        },
        {
            "category": "self",
            "summary": "This CSAF document",
            "url": publisher.csaf_url(snapshot),
        },
    ]
    document["title"] = snapshot.title
    document["tracking"] = _tracking(snapshot)
    return document


def _tracking(snapshot: AdvisorySnapshot) -> dict[str, Any]:
    history = [
        {"date": utc(r.created_at), "number": str(r.number), "summary": r.summary or r.kind}
        for r in sorted(snapshot.revisions, key=lambda r: r.number)
    ]
    if not history:
        first = snapshot.published_at or modified_at(snapshot)
        history = [{"date": utc(first), "number": "1", "summary": "Initial version."}]
    initial = utc(snapshot.published_at) if snapshot.published_at else history[0]["date"]
    if snapshot.state == "draft":
        status = "draft"
    elif snapshot.status == "reported" and not snapshot.is_withdrawn:
        # No fix yet: the document is expected to change (CSAF "interim").
        status = "interim"
    else:
        status = "final"
    return {
        "current_release_date": history[-1]["date"],
        "generator": {
            "date": utc(modified_at(snapshot)),
            "engine": {"name": GENERATOR_NAME, "version": GENERATOR_VERSION},
        },
        "id": snapshot.identifier,
        "initial_release_date": initial,
        "revision_history": history,
        "status": status,
        "version": history[-1]["number"],
    }


def _acknowledgments(snapshot: AdvisorySnapshot) -> list[dict[str, Any]]:
    out = []
    for credit in snapshot.credits:
        ack: dict[str, Any] = {"names": [credit.name]}
        ack["summary"] = CREDIT_SUMMARIES.get(credit.type, CREDIT_SUMMARIES["OTHER"])
        if credit.contact.startswith(("http://", "https://")):
            ack["urls"] = [credit.contact]
        out.append(ack)
    return out


def _vulnerabilities(
    snapshot: AdvisorySnapshot, publisher: Publisher, status: _Status
) -> list[dict[str, Any]]:
    base = _vulnerability(snapshot, publisher, status)
    if not snapshot.cve_ids:
        return [{"ids": [{"system_name": publisher.name, "text": snapshot.identifier}], **base}]
    return [{"cve": cve, **base} for cve in snapshot.cve_ids]


def _vulnerability(
    snapshot: AdvisorySnapshot, publisher: Publisher, status: _Status
) -> dict[str, Any]:
    vuln: dict[str, Any] = {}
    named = [c for c in snapshot.cwe_ids if c in CWE_NAMES]
    if named:
        # CSAF 2.0 holds one CWE per vulnerability, and only with its exact name.
        vuln["cwe"] = {"id": named[0], "name": CWE_NAMES[named[0]]}
    if snapshot.discovered_at:
        vuln["discovery_date"] = utc(snapshot.discovered_at)
    notes = [
        {
            "category": "description",
            "title": "Description",
            "text": plain_text(snapshot.description) or snapshot.title,
        }
    ]
    if snapshot.cvss_v4_vector:
        notes.append(
            {
                "category": "other",
                "title": "CVSS v4.0",
                "text": f"{snapshot.cvss_v4_vector} (base score {snapshot.cvss_v4_score}).",
            }
        )
    vuln["notes"] = notes
    vuln["product_status"] = status.as_dict()
    refs = [
        {
            "category": "external",
            "summary": "Fix",
            "url": url,
        }
        for url in fix_links(snapshot)
    ]
    seen = {r["url"] for r in refs}
    for ref in snapshot.references:
        if ref.url not in seen:
            refs.append({"category": "external", "summary": ref.type.capitalize(), "url": ref.url})
            seen.add(ref.url)
    if snapshot.cvss_v4_vector:
        refs.append(
            {
                "category": "external",
                "summary": "CVSS v4.0 vector",
                "url": f"https://www.first.org/cvss/calculator/4.0#{snapshot.cvss_v4_vector}",
            }
        )
    if refs:
        vuln["references"] = refs
    if snapshot.published_at:
        vuln["release_date"] = utc(snapshot.published_at)
    remediation = _remediation(snapshot, status)
    if remediation:
        vuln["remediations"] = [remediation]
    if snapshot.cvss_v3_vector:
        scored = status.known_affected + status.fixed
        if scored:
            vuln["scores"] = [
                {"cvss_v3": cvss_v3_object(snapshot.cvss_v3_vector), "products": scored}
            ]
    vuln["title"] = snapshot.title
    return vuln


def _remediation(snapshot: AdvisorySnapshot, status: _Status) -> dict[str, Any] | None:
    products = status.known_affected or status.fixed
    if not products:
        return None
    details = plain_text(snapshot.resolution)
    links = fix_links(snapshot)
    if snapshot.status == "reported":
        remediation: dict[str, Any] = {
            "category": "none_available",
            "details": details or "No fix is available yet; this advisory will be updated.",
        }
    else:
        remediation = {"category": "vendor_fix", "details": details or "Fixed by the vendor."}
        if snapshot.fixed_at:
            remediation["date"] = utc(snapshot.fixed_at)
    remediation["product_ids"] = products
    if links and remediation["category"] == "vendor_fix":
        remediation["url"] = links[0]
    return remediation
