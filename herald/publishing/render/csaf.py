"""CSAF 2.0 ``csaf_security_advisory`` documents, one per public advisory.

The product tree is vendor -> product name -> version range (or fixed version),
each leaf a product id that the product status, scores and remediations refer to.
CSAF 2.0 predates TLP 2.0: its label for public documents is WHITE, which TLP 2.0
renamed CLEAR. CSAF 2.0 has no CVSS v4 score object either, so a v4 vector is
given as a reference to FIRST's calculator and in a note.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

from cvss import CVSS2
from cvss.exceptions import CVSSError

from herald.advisories.snapshot import (
    AdvisorySnapshot,
    AffectedSnapshot,
    Note,
    Score,
    SourceSnapshot,
    VersionRange,
    VulnerabilitySnapshot,
)
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


def product_key(slug: str, version: str, ranges: Any = (), platform: str = "") -> str:
    """How a score or statement names one of a vulnerability's products (document
    product ids are local): ``slug@version`` (the range when there is no version),
    ``on <platform>`` when it sits on one."""
    version = version or next((r.vers for r in ranges if r.vers), "")
    key = f"{slug}@{version}"
    return f"{key} on {platform}" if platform else key


def _row_key(row: AffectedSnapshot) -> str:
    return product_key(row.product_slug, row.version, row.ranges, row.platform)


def _described(row: AffectedSnapshot) -> dict[str, Any] | None:
    """The product tree's description of an imported row's product (``read_csaf``),
    with the row's purl and cpe where the description names others (the row's fields
    win: they are what an editor changes)."""
    found = row.extra.get("csaf", {}).get("product") if isinstance(row.extra, dict) else None
    if not isinstance(found, dict):
        return None
    return _with_ids(found, row)


def _with_ids(described: dict[str, Any], row: AffectedSnapshot) -> dict[str, Any]:
    helper = dict(described.get("helper") or {})
    if "component" in described and not ({"purl", "cpe"} & set(helper)):
        # A product on a platform: its identifiers are the component's.
        return {**described, "component": _with_ids(described["component"], row)}
    for name in ("purl", "cpe"):
        value = getattr(row, name)
        if name in helper and value and helper[name] != value:
            helper[name] = value
    return {**described, "helper": helper} if helper != described.get("helper", {}) else described


@dataclass
class _Tree:
    """Product ids handed out in document order, one per distinct product leaf.

    Herald's own rows go under the desk's vendor (vendor > product > version range or
    version); imported products go where their description says (their own vendor,
    branch path, full product name and helper; relationships for a product on a
    platform)."""

    vendor: str
    products: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    ids: dict[Any, str] = field(default_factory=dict)
    imported: dict[Any, Any] = field(default_factory=dict)  # (category, name) -> node
    full_product_names: list[dict[str, Any]] = field(default_factory=list)
    relationships: list[dict[str, Any]] = field(default_factory=list)

    def _next(self, key: Any) -> str:
        pid = f"CSAFPID-{len(self.ids) + 1:04d}"
        self.ids[key] = pid
        return pid

    def leaf(self, product: str, category: str, name: str, helper: str = "") -> str:
        product = product or "(unnamed product)"
        if category == "product_version" and _is_range_text(name):
            # A version that is a range in words ("< 2.0", "all versions"): CSAF keeps
            # ranges out of product_version (6.1.31).
            category, helper = "product_version_range", ""
        if category != "product_name" and not name.strip():
            category, name = "product_name", product
        key = (product, category, name)
        if key in self.ids:
            return self.ids[key]
        pid = self._next(key)
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

    def place(self, described: dict[str, Any]) -> str:
        """The id of the product ``described`` (``read_csaf.product_descriptions``)."""
        key = json.dumps(described, sort_keys=True)
        if key in self.ids:
            return self.ids[key]
        if "relationship" in described:
            component = self.place(described["component"])
            platform = self.place(described["platform"])
            pid = self._next(key)
            self.relationships.append(
                {
                    "category": described["relationship"],
                    "full_product_name": _full(described, pid),
                    "product_reference": component,
                    "relates_to_product_reference": platform,
                }
            )
            return pid
        pid = self._next(key)
        path = described.get("branches") or []
        if not path:
            self.full_product_names.append(_full(described, pid))
            return pid
        nodes: dict[Any, Any] = self.imported
        node: dict[str, Any] = {}
        for category, name in path:
            node = nodes.setdefault((category, name), {"category": category, "name": name})
            nodes = node.setdefault("children", {})
        node["product"] = _full(described, pid)
        return pid

    def as_branches(self) -> list[dict[str, Any]]:
        out = []
        if self.products:
            out.append(
                {
                    "category": "vendor",
                    "name": self.vendor,
                    "branches": [_product_branch(p, ls) for p, ls in self.products.items()],
                }
            )
        return out + [_branch(node) for node in self.imported.values()]

    def as_dict(self) -> dict[str, Any]:
        tree: dict[str, Any] = {}
        branches = self.as_branches()
        if branches:
            tree["branches"] = branches
        if self.full_product_names:
            tree["full_product_names"] = self.full_product_names
        if self.relationships:
            tree["relationships"] = self.relationships
        return tree


def _full(described: dict[str, Any], pid: str) -> dict[str, Any]:
    full: dict[str, Any] = {"name": described.get("name") or pid, "product_id": pid}
    if described.get("helper"):
        full["product_identification_helper"] = described["helper"]
    return full


def _branch(node: dict[str, Any]) -> dict[str, Any]:
    branch = {"category": node["category"], "name": node["name"]}
    children = node.get("children") or {}
    if children:
        branch["branches"] = [_branch(child) for child in children.values()]
    elif "product" in node:
        branch["product"] = node["product"]
    return branch


def _product_branch(product: str, leaves: list[dict[str, Any]]) -> dict[str, Any]:
    branch: dict[str, Any] = {"category": "product_name", "name": product}
    own = [leaf for leaf in leaves if "category" not in leaf]
    sub = [leaf for leaf in leaves if "category" in leaf]
    if own and not sub:
        branch["product"] = own[0]["product"]
    else:
        # A branch holds either sub-branches or a product, so beside version
        # ranges the versionless product (a service) becomes "all versions".
        branch["branches"] = sub + [
            {"category": "product_version_range", "name": "vers:all/*", **leaf} for leaf in own
        ]
    return branch


STATUS_KEYS = (
    "first_affected",
    "known_affected",
    "last_affected",
    "first_fixed",
    "fixed",
    "recommended",
    "known_not_affected",
    "under_investigation",
)
BUCKETS = {
    "affected": "known_affected",
    "fixed": "fixed",
    "not_affected": "known_not_affected",
    "under_investigation": "under_investigation",
}


@dataclass
class _Status:
    """One vulnerability's product status, and which ids each product key names."""

    buckets: dict[str, list[str]] = field(default_factory=dict)
    keys: dict[str, list[str]] = field(default_factory=dict)
    rows: list[tuple[AffectedSnapshot, list[str]]] = field(default_factory=list)

    def add(self, bucket: str, pid: str) -> None:
        ids = self.buckets.setdefault(bucket, [])
        if pid not in ids:
            ids.append(pid)

    def ids(self, bucket: str) -> list[str]:
        return self.buckets.get(bucket, [])

    @property
    def known_affected(self) -> list[str]:
        return self.ids("known_affected")

    @property
    def fixed(self) -> list[str]:
        return self.ids("fixed")

    def as_dict(self) -> dict[str, list[str]]:
        return {k: self.buckets[k] for k in STATUS_KEYS if self.buckets.get(k)}


def render_csaf(snapshot: AdvisorySnapshot, publisher: Publisher) -> dict[str, Any]:
    """The CSAF 2.0 document for ``snapshot``: a security advisory, or the profile
    of the document it was imported from."""
    tree = _Tree(vendor=publisher.name)
    source = _csaf_source(snapshot)
    kept = source.extra.get("csaf", {}) if source else {}
    for described in kept.get("products", []):
        tree.place(described)  # products no vulnerability names (an informational one)
    statuses = [_statuses(snapshot, v, tree) for v in snapshot.vulnerabilities]
    if not tree.ids and source is None:
        # An advisory without product rows still needs a product (6.1.27.4); the
        # vendor's offering as a whole stands in, in the state the advisory gives.
        pid = tree.leaf(publisher.name, "product_name", publisher.name)
        for status in statuses:
            status.add("known_affected" if snapshot.status == "reported" else "fixed", pid)
    doc: dict[str, Any] = {}
    if "$schema" in kept:
        doc["$schema"] = kept["$schema"]
    doc["document"] = _document(snapshot, publisher, source)
    vulnerabilities = [
        _vulnerability(snapshot, v, publisher, status, tree)
        for v, status in zip(snapshot.vulnerabilities, statuses, strict=True)
    ]
    product_tree = tree.as_dict()
    if product_tree:
        doc["product_tree"] = product_tree
    if vulnerabilities:
        doc["vulnerabilities"] = vulnerabilities
    return doc


def render_csaf_bytes(snapshot: AdvisorySnapshot, publisher: Publisher) -> bytes:
    return json_bytes(render_csaf(snapshot, publisher))


def _csaf_source(snapshot: AdvisorySnapshot) -> SourceSnapshot | None:
    return next((s for s in snapshot.sources if s.kind == "csaf"), None)


def _statuses(snapshot: AdvisorySnapshot, vuln: VulnerabilitySnapshot, tree: _Tree) -> _Status:
    status = _Status()
    for row in vuln.affected:
        described = _described(row)
        if described is not None:
            pid = tree.place(described)
            pids = [pid]
            for key in row.extra["csaf"].get("statuses") or [BUCKETS[row.status]]:
                status.add(key, pid)
        else:
            pids = _place(row, snapshot.status_of(row), tree, status)
        status.rows.append((row, pids))
        key = base = _row_key(row)
        number = 1
        while key in status.keys:
            number += 1
            key = f"{base} #{number}"
        status.keys[key] = pids
    return status


def _resolve(keys: Any, vuln: VulnerabilitySnapshot, status: _Status, tree: _Tree) -> list[str]:
    """The ids of the products ``keys`` name (``product_key``) in this vulnerability."""
    others = _kept(vuln).get("products", {})
    pids: list[str] = []
    for key in keys:
        found = status.keys.get(key)
        if found is None and key in others:
            found = [tree.place(others[key])]
        pids += [p for p in found or () if p not in pids]
    return pids


def _kept(vuln: VulnerabilitySnapshot) -> dict[str, Any]:
    kept = vuln.extra.get("csaf") if isinstance(vuln.extra, dict) else None
    return kept if isinstance(kept, dict) else {}


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


_VERS_OPERATORS = {"introduced": ">=", "fixed": "<", "last_affected": "<=", "limit": "<"}


def _range_vers(row: AffectedSnapshot, r: VersionRange) -> str:
    """A range another format gave (OSV, a CVE record) in ``vers`` notation."""
    if r.vers:
        return r.vers
    values = [v for e in r.events for v in e.values() if v != "0"]
    if r.type.upper() == "SEMVER" or (values and all(is_semver(v) for v in values)):
        scheme = "semver"
    else:
        scheme = PURL_TYPES.get(row.ecosystem, "generic")
    constraints = [
        f"{_VERS_OPERATORS[kind]}{value}"
        for e in r.events
        for kind, value in e.items()
        if kind in _VERS_OPERATORS and not (kind == "introduced" and value == "0")
    ]
    return f"vers:{scheme}/" + ("|".join(constraints) or "*")


def _place_ranges(
    row: AffectedSnapshot, purl: str, bucket: str | None, tree: _Tree, status: _Status
) -> list[str]:
    """A row with the ranges and version lists another format gave: each range a
    version range in the row's status (the span it names), each fixed version a
    fixed version, each listed version a version."""
    span = bucket or ("fixed" if row.status == "fixed" and not row.ranges else "known_affected")
    pids: list[str] = []
    for r in row.ranges:
        pid = tree.leaf(row.product, "product_version_range", _range_vers(row, r), purl)
        status.add(span, pid)
        pids.append(pid)
        if bucket:
            continue
        for e in r.events:
            if "fixed" in e and r.type.upper() != "GIT":
                fixed_purl = purl_for(row.ecosystem, row.package_name, e["fixed"])
                fixed_pid = tree.leaf(row.product, "product_version", e["fixed"], fixed_purl)
                status.add("fixed", fixed_pid)
                pids.append(fixed_pid)
    for version in row.versions:
        pid = tree.leaf(
            row.product,
            "product_version",
            version,
            purl_for(row.ecosystem, row.package_name, version),
        )
        status.add(span, pid)
        pids.append(pid)
    return pids


def _place(row: AffectedSnapshot, row_status: str, tree: _Tree, status: _Status) -> list[str]:
    """Put ``row`` in the tree; ``row_status`` is its status now (``status_of``)."""
    purl = row.purl or purl_for(row.ecosystem, row.package_name)
    has_range = bool(row.introduced or row.fixed or row.last_affected)
    bucket = {
        "not_affected": "known_not_affected",
        "under_investigation": "under_investigation",
    }.get(row_status)
    if row.ranges or row.versions:
        return _place_ranges(row, purl, bucket, tree, status)
    if not has_range:
        if row.version:
            pid = tree.leaf(row.product, "product_version", row.version, purl)
        else:
            pid = tree.leaf(row.product, "product_name", row.product, purl)
        status.add(bucket or ("fixed" if row_status == "fixed" else "known_affected"), pid)
        return [pid]
    pid = tree.leaf(row.product, "product_version_range", _vers(row), purl)
    status.add(bucket or "known_affected", pid)
    if row.fixed and not bucket:
        fixed_purl = purl_for(row.ecosystem, row.package_name, row.fixed)
        fixed_pid = tree.leaf(row.product, "product_version", row.fixed, fixed_purl)
        status.add("fixed", fixed_pid)
        return [pid, fixed_pid]
    return [pid]


def _document(
    snapshot: AdvisorySnapshot, publisher: Publisher, source: SourceSnapshot | None
) -> dict[str, Any]:
    kept: dict[str, Any] = source.extra.get("csaf", {}) if source else {}
    notes = []
    if snapshot.summary:
        title = kept.get("summary_title", "Summary")
        notes.append(_note("summary", snapshot.summary, title))
    if source is not None and snapshot.description:
        title = kept.get("description_title", "Description")
        notes.append(_note("description", snapshot.description, title))
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
    notes += kept.get("notes", [])
    notes.append(
        {
            "category": "legal_disclaimer",
            "title": "Terms of use",
            "text": f"This advisory is published by {publisher.name} as it stands; "
            "see the advisory page for the current version.",
        }
    )
    document: dict[str, Any] = {
        "category": kept.get("category", "csaf_security_advisory"),
        "csaf_version": "2.0",
    }
    if kept.get("acknowledgments"):
        document["acknowledgments"] = kept["acknowledgments"]
    elif snapshot.credits:
        document["acknowledgments"] = _acknowledgments(snapshot)
    if kept.get("aggregate_severity"):
        document["aggregate_severity"] = kept["aggregate_severity"]
    elif snapshot.severity:
        document["aggregate_severity"] = {
            "namespace": publisher.namespace,
            "text": snapshot.severity.capitalize(),
        }
    document["distribution"] = {
        "text": "Public: TLP:CLEAR (TLP:WHITE in CSAF 2.0's TLP 1.0 labels).",
        "tlp": {"label": "WHITE", "url": "https://www.first.org/tlp/"},
    }
    document["lang"] = kept.get("lang", "en")
    document["notes"] = notes
    document["publisher"] = {
        "category": publisher.csaf_category,
        "contact_details": publisher.contact,
        "name": publisher.name,
        "namespace": publisher.namespace,
    }
    references = []
    if snapshot.identifier:
        references += [
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
    for ref in kept.get("references", []):
        # The source's own addresses are another document's here: external.
        references.append({**ref, "category": "external"})
    if references:
        document["references"] = references
    if "source_lang" in kept:
        document["source_lang"] = kept["source_lang"]
    document["title"] = snapshot.title
    document["tracking"] = _tracking(snapshot, source)
    return document


def _note(category: str, text: str, title: str = "") -> dict[str, Any]:
    note = {"category": category}
    if title:
        note["title"] = title
    note["text"] = text
    return note


def _time(value: dt.datetime) -> str:
    """A source's moment as given to the microsecond (Herald's own are ``utc()``)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    value = value.astimezone(dt.UTC)
    return utc(value) if not value.microsecond else value.isoformat().replace("+00:00", "Z")


def _moment(snapshot: AdvisorySnapshot, source: SourceSnapshot | None) -> dt.datetime:
    if snapshot.updated_at or snapshot.withdrawn_at or snapshot.published_at:
        return modified_at(snapshot)
    if source is not None and (source.modified or source.published):
        return source.modified or source.published  # type: ignore[return-value]
    return modified_at(snapshot)  # raises: a renderer needs a moment


def _next_numbers(history: list[dict[str, Any]], count: int) -> list[str]:
    """Numbers for Herald's revisions after the source's: the next major versions."""
    numbers = [str(r.get("number", "")) for r in history]
    majors = [int(n.split(".")[0]) for n in numbers if n.split(".")[0].isdigit()]
    semantic = any("." in n for n in numbers)
    start = max(majors, default=0) + 1
    return [f"{start + i}.0.0" if semantic else str(start + i) for i in range(count)]


def _tracking(snapshot: AdvisorySnapshot, source: SourceSnapshot | None = None) -> dict[str, Any]:
    own = [
        {"date": utc(r.created_at), "number": str(r.number), "summary": r.summary or r.kind}
        for r in sorted(snapshot.revisions, key=lambda r: r.number)
    ]
    kept_tracking: dict[str, Any] = (
        source.extra.get("csaf", {}).get("tracking", {}) if source is not None else {}
    )
    if source is not None and source.revision_history:
        history = [dict(r) for r in source.revision_history]
        for entry, number in zip(own, _next_numbers(history, len(own)), strict=True):
            history.append({**entry, "number": number})
    else:
        history = own
    if not history:
        first = snapshot.published_at or _moment(snapshot, source)
        history = [{"date": utc(first), "number": "1", "summary": "Initial version."}]
    if source is not None and source.published:
        initial = _time(source.published)
    elif snapshot.published_at:
        initial = utc(snapshot.published_at)
    else:
        initial = history[0]["date"]
    if source is not None and not own and kept_tracking.get("status"):
        status = kept_tracking["status"]
    elif snapshot.state == "draft":
        status = "draft"
    elif snapshot.status == "reported" and not snapshot.is_withdrawn:
        # No fix yet: the document is expected to change (CSAF "interim").
        status = "interim"
    else:
        status = "final"
    # The latest by date; of equal dates, the later entry (6.1.16).
    latest = max(enumerate(history), key=lambda r: (_instant(r[1]["date"]), r[0]))[1]
    current = latest["date"]
    if source is not None and not own and source.modified:
        current = _time(source.modified)
    tracking: dict[str, Any] = {}
    identifier = snapshot.identifier or (source.id if source else "")
    aliases = [a for a in kept_tracking.get("aliases", []) if a != identifier]
    if source is not None and source.id and source.id != identifier:
        aliases.insert(0, source.id)
    if aliases:
        tracking["aliases"] = aliases
    tracking["current_release_date"] = current
    tracking["generator"] = {
        "date": utc(_moment(snapshot, source)),
        "engine": {"name": GENERATOR_NAME, "version": GENERATOR_VERSION},
    }
    tracking["id"] = identifier
    tracking["initial_release_date"] = initial
    tracking["revision_history"] = history
    tracking["status"] = status
    tracking["version"] = latest["number"]
    return tracking


def _instant(text: str) -> dt.datetime:
    when = dt.datetime.fromisoformat(str(text).replace("z", "Z"))
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _acknowledgments(snapshot: AdvisorySnapshot) -> list[dict[str, Any]]:
    out = []
    for credit in snapshot.credits:
        ack: dict[str, Any] = {"names": [credit.name]}
        ack["summary"] = CREDIT_SUMMARIES.get(credit.type, CREDIT_SUMMARIES["OTHER"])
        if credit.contact.startswith(("http://", "https://")):
            ack["urls"] = [credit.contact]
        out.append(ack)
    return out


def _vulnerability(
    snapshot: AdvisorySnapshot,
    v: VulnerabilitySnapshot,
    publisher: Publisher,
    status: _Status,
    tree: _Tree,
) -> dict[str, Any]:
    kept = _kept(v)
    imported = "csaf" in (v.extra or {})
    vuln: dict[str, Any] = {}
    if kept.get("acknowledgments"):
        vuln["acknowledgments"] = kept["acknowledgments"]
    if v.cve_id:
        vuln["cve"] = v.cve_id
    systems = kept.get("id_systems", {})
    ids = [{"system_name": systems.get(a) or publisher.name, "text": a} for a in v.aliases]
    if not v.cve_id and not ids and not imported:
        ids = [{"system_name": publisher.name, "text": snapshot.identifier}]
    if ids:
        vuln["ids"] = ids
    if kept.get("cwe_name") and v.cwe_ids:
        vuln["cwe"] = {"id": v.cwe_ids[0], "name": kept["cwe_name"]}
    else:
        named = [c for c in v.cwe_ids if c in CWE_NAMES]
        if named:
            # CSAF 2.0 holds one CWE per vulnerability, and only with its exact name.
            vuln["cwe"] = {"id": named[0], "name": CWE_NAMES[named[0]]}
    if kept.get("discovery_date"):
        vuln["discovery_date"] = kept["discovery_date"]
    elif v.discovered_at or snapshot.discovered_at:
        vuln["discovery_date"] = utc(v.discovered_at or snapshot.discovered_at)  # type: ignore[arg-type]
    flags = _flags(v, status, tree)
    if flags:
        vuln["flags"] = flags
    if kept.get("involvements"):
        vuln["involvements"] = kept["involvements"]
    notes = [] if imported else [
        {
            "category": "description",
            "title": "Description",
            "text": plain_text(snapshot.description) or snapshot.title,
        }
    ]  # fmt: skip
    notes += [_note_of(n) for n in v.notes]
    if v.cvss_v4_vector:
        notes.append(
            {
                "category": "other",
                "title": "CVSS v4.0",
                "text": f"{v.cvss_v4_vector} (base score {v.cvss_v4_score}).",
            }
        )
    if notes:
        vuln["notes"] = notes
    product_status = status.as_dict()
    if product_status:
        vuln["product_status"] = product_status
    refs = _references(snapshot, v, imported)
    if refs:
        vuln["references"] = refs
    if kept.get("release_date"):
        vuln["release_date"] = kept["release_date"]
    elif v.released_at:
        vuln["release_date"] = utc(v.released_at)
    elif snapshot.published_at and not imported:
        vuln["release_date"] = utc(snapshot.published_at)
    remediations = _remediations(snapshot, v, status, tree)
    if remediations:
        vuln["remediations"] = remediations
    scores = _scores(v, status, tree, imported)
    if scores:
        vuln["scores"] = scores
    threats = _threats(v, status, tree)
    if threats:
        vuln["threats"] = threats
    title = v.title or ("" if imported else snapshot.title)
    if title:
        vuln["title"] = title
    return vuln


# CSAF's note categories; another format's texts (a CVE record's workarounds,
# exploits, solutions) are "other" notes titled by what they are.
NOTE_CATEGORIES = frozenset(
    {"description", "details", "faq", "general", "legal_disclaimer", "other", "summary"}
)


def _is_range_text(name: str) -> bool:
    """What csaf-validator-lib's 6.1.31 reads as a range inside a product_version."""
    return bool(
        re.search(r"(<|>|\b(after|all|before|earlier|later|prior|versions)\b)", name, re.IGNORECASE)
    )


def _note_of(note: Note) -> dict[str, Any]:
    if note.category not in NOTE_CATEGORIES:
        title = note.title or note.category.replace("_", " ").capitalize()
        out = _note("other", note.text, title)
        if note.audience:
            out["audience"] = note.audience
        return out
    out = _note(note.category, note.text, note.title)
    if note.audience:
        out["audience"] = note.audience
    return out


def _references(
    snapshot: AdvisorySnapshot, v: VulnerabilitySnapshot, imported: bool
) -> list[dict[str, Any]]:
    if imported:
        kept = _kept(v).get("references", {})
        out = []
        for ref in v.references:
            given = kept.get(ref.url, {})
            item = {"category": given.get("category", "external")}
            if given.get("summary"):
                item["summary"] = given["summary"]
            out.append({**item, "url": ref.url})
        return out
    refs = [{"category": "external", "summary": "Fix", "url": url} for url in fix_links(snapshot)]
    seen = {r["url"] for r in refs}
    for ref in (*snapshot.references, *v.references):
        if ref.url not in seen:
            refs.append({"category": "external", "summary": ref.type.capitalize(), "url": ref.url})
            seen.add(ref.url)
    if v.cvss_v4_vector:
        refs.append(
            {
                "category": "external",
                "summary": "CVSS v4.0 vector",
                "url": f"https://www.first.org/cvss/calculator/4.0#{v.cvss_v4_vector}",
            }
        )
    return refs


def _leftovers(
    field_name: str, v: VulnerabilitySnapshot, status: _Status, tree: _Tree
) -> list[dict[str, Any]]:
    """Statements kept as given (``read_csaf``), their product keys as this tree's ids."""
    out = []
    for item in _kept(v).get(field_name, []):
        entry = {k: x for k, x in item.items() if k != "product_keys"}
        if "product_keys" in item:
            pids = _resolve(item["product_keys"], v, status, tree)
            if not pids:
                continue
            entry["product_ids"] = pids
        out.append(entry)
    return out


def _flags(v: VulnerabilitySnapshot, status: _Status, tree: _Tree) -> list[dict[str, Any]]:
    grouped: dict[tuple[str, str], list[str]] = {}
    for row, pids in status.rows:
        if row.justification and row.status == "not_affected":
            date = str(row.extra.get("csaf", {}).get("flag_date", "")) if row.extra else ""
            grouped.setdefault((row.justification, date), []).extend(pids)
    flags = []
    for (label, date), pids in grouped.items():
        flag: dict[str, Any] = {"label": label}
        if date:
            flag["date"] = date
        flag["product_ids"] = list(dict.fromkeys(pids))
        flags.append(flag)
    return flags + _leftovers("flags", v, status, tree)


def _threats(v: VulnerabilitySnapshot, status: _Status, tree: _Tree) -> list[dict[str, Any]]:
    grouped: dict[tuple[str, str], list[str]] = {}
    for row, pids in status.rows:
        if row.impact_statement:
            date = str(row.extra.get("csaf", {}).get("impact_date", "")) if row.extra else ""
            grouped.setdefault((row.impact_statement, date), []).extend(pids)
    threats = []
    for (details, date), pids in grouped.items():
        threat: dict[str, Any] = {"category": "impact", "details": details}
        if date:
            threat["date"] = date
        threat["product_ids"] = list(dict.fromkeys(pids))
        threats.append(threat)
    return threats + _leftovers("threats", v, status, tree)


def _remediations(
    snapshot: AdvisorySnapshot, v: VulnerabilitySnapshot, status: _Status, tree: _Tree
) -> list[dict[str, Any]]:
    if not any(row.remediations for row, _ in status.rows) and "csaf" not in (v.extra or {}):
        remediation = _remediation(snapshot, status)
        return [remediation] if remediation else []
    grouped: dict[str, tuple[dict[str, Any], list[str]]] = {}
    for row, pids in status.rows:
        for m in row.remediations:
            item: dict[str, Any] = {"category": m.category}
            if m.date:
                item["date"] = m.date
            if m.details:
                item["details"] = m.details
            item.update(m.extra)
            if m.url:
                item["url"] = m.url
            key = json.dumps(item, sort_keys=True)
            grouped.setdefault(key, (item, []))[1].extend(pids)
    out = []
    for item, pids in grouped.values():
        out.append({**item, "product_ids": list(dict.fromkeys(pids))})
    return out + _leftovers("remediations", v, status, tree)


def _scores(
    v: VulnerabilitySnapshot, status: _Status, tree: _Tree, imported: bool
) -> list[dict[str, Any]]:
    default = status.known_affected + status.fixed
    scores = []
    if v.cvss_v3_vector:
        kept = _kept(v).get("cvss_v3_products")
        products = _resolve(kept, v, status, tree) if kept is not None else default
        if products:
            scores.append({"cvss_v3": cvss_v3_object(v.cvss_v3_vector), "products": products})
    for score in v.scores:
        if score.type.startswith("CVSS_V3"):
            kind = "cvss_v3"
        elif score.type == "CVSS_V2":
            kind = "cvss_v2"
        else:
            continue  # CSAF 2.0 scores only CVSS v2 and v3
        obj = _score_object(kind, score)
        if not obj:
            continue
        products = _resolve(score.products, v, status, tree) if score.products else default
        if products:
            scores.append({kind: obj, "products": products})
    return scores


def _score_object(kind: str, score: Score) -> dict[str, Any] | None:
    """A kept score as CSAF's CVSS object: as a CSAF document gave it, else made from its
    vector (a CVE record's metric or an OSV severity holds the vector, not this shape)."""
    content = score.content
    if content.get("vectorString") and content.get("version"):
        return content
    if not score.vector:
        return None
    try:
        if kind == "cvss_v3":
            return cvss_v3_object(score.vector)
        scored = CVSS2(score.vector.removeprefix("CVSS:2.0/").removeprefix("(").rstrip(")"))
    except CVSSError:
        return None
    return {
        "version": "2.0",
        "vectorString": scored.clean_vector(),
        "baseScore": float(scored.base_score),
    }


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


# --- the VEX profile ----------------------------------------------------------------

VEX_STATUSES = ("fixed", "known_affected", "known_not_affected", "under_investigation")
VEX_SUFFIX = "-VEX"
NOT_AFFECTED_STATEMENT = "This product is not affected by this vulnerability."
NO_ACTION_STATEMENT = "No remediation is available yet; this document will be updated."


def vex_identifier(identifier: str) -> str:
    """The VEX document's tracking id (and so its file name, CSAF 5.1): ``<id>-VEX``."""
    return identifier + VEX_SUFFIX


def render_csaf_vex(snapshot: AdvisorySnapshot, publisher: Publisher) -> dict[str, Any] | None:
    """The same advisory as a ``csaf_vex`` profile document (CSAF 2.0 section 4.5);
    None when no vulnerability says anything about a product (nothing to state).

    Each vulnerability keeps its notes, statuses, scores and statements; the profile's
    mandatory parts are added where the advisory has none: an id (6.1.27.8), a note
    (6.1.27.5), an impact statement for every not-affected product without a VEX
    justification (6.1.27.9) and an action statement for every affected one
    (6.1.27.10), saying plainly that the source gave none."""
    doc = render_csaf(snapshot, publisher)
    document = doc["document"]
    document["category"] = "csaf_vex"
    tracking = document["tracking"]
    advisory_id = tracking["id"]
    tracking["id"] = vex_identifier(advisory_id)
    tracking["aliases"] = [advisory_id, *tracking.get("aliases", [])]
    for ref in document.get("references", []):
        if ref["category"] == "self" and ref.get("summary") == "This CSAF document":
            ref["url"] = vex_url(publisher, snapshot)
            ref["summary"] = "This CSAF VEX document"
    kept = []
    for number, vuln in enumerate(doc.get("vulnerabilities", []), start=1):
        status = vuln.get("product_status", {})
        if not any(status.get(k) for k in VEX_STATUSES):
            # first/last affected and first fixed as the VEX statuses they imply
            for given, vex in (
                ("first_affected", "known_affected"),
                ("last_affected", "known_affected"),
                ("first_fixed", "fixed"),
            ):
                for pid in status.pop(given, []):
                    if pid not in status.setdefault(vex, []):
                        status[vex].append(pid)
            status = {k: v for k, v in status.items() if v}
        if not any(status.get(k) for k in VEX_STATUSES):
            continue
        vuln["product_status"] = {k: status[k] for k in STATUS_KEYS if status.get(k)}
        if "cve" not in vuln and "ids" not in vuln:
            vuln["ids"] = [{"system_name": publisher.name, "text": f"{advisory_id}-{number}"}]
        if not vuln.get("notes"):
            vuln["notes"] = [
                _note("description", vuln.get("title") or document["title"], "Description")
            ]
        _vex_statements(vuln)
        kept.append(vuln)
    if not kept:
        return None
    doc["vulnerabilities"] = kept
    return doc


def _vex_statements(vuln: dict[str, Any]) -> None:
    status = vuln["product_status"]
    stated = {
        pid
        for item in vuln.get("flags", [])
        + [t for t in vuln.get("threats", []) if t.get("category") == "impact"]
        for pid in item.get("product_ids", [])
    }
    unstated = [p for p in status.get("known_not_affected", []) if p not in stated]
    if unstated:
        vuln.setdefault("threats", []).append(
            {"category": "impact", "details": NOT_AFFECTED_STATEMENT, "product_ids": unstated}
        )
    acted = {p for item in vuln.get("remediations", []) for p in item.get("product_ids", [])}
    no_action = [p for p in status.get("known_affected", []) if p not in acted]
    if no_action:
        vuln.setdefault("remediations", []).append(
            {"category": "none_available", "details": NO_ACTION_STATEMENT, "product_ids": no_action}
        )


def vex_url(publisher: Publisher, snapshot: AdvisorySnapshot) -> str:
    """Where the VEX document is published: beside the advisory, ``<id>-vex.json``."""
    return publisher.csaf_url(snapshot).removesuffix(".json") + "-vex.json"
