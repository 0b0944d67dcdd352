"""A CSAF 2.0 document (every profile, csaf_vex included) as an advisory snapshot.

Product ids are local to a document, so nothing Herald keeps names one: each product
row carries what the product tree says the product is (vendor, product name, version
or version range, platform, purl, cpe) and, in ``extra["csaf"]["product"]``, its
description: the branch path (``[category, name]`` pairs), the full product name, the
identification helper as given and, for a relationship (component on a platform), the
relationship's category and the descriptions of both products. The CSAF renderer
places descriptions back in a tree and hands out new ids.

Per vulnerability: the CVE, other ids (aliases; their ``system_name`` in
``extra["csaf"]["id_systems"]``), title, CWE (its name kept), notes, scores (the first
CVSS 3.1 vector is the vulnerability's, recomputed by Herald; others kept as ``Score``
with the products they apply to, as ``product_key``s), one row per product and
status, VEX flags as the rows' ``justification``, impact statements of not-affected
products as the rows' ``impact_statement``, remediations as the rows' remediations,
references, dates. What names products but cannot sit on a row (a threat of another
category, a flag on an affected product) is kept in ``extra["csaf"]`` with product
keys, and the products those keys name without a row in ``extra["csaf"]["products"]``.

The document: title, summary (the first summary note), description (the first
description note), severity (from ``aggregate_severity``); tracking, publisher,
distribution, every other note, the references and acknowledgments are the source's,
kept in its ``SourceSnapshot`` (``extra["csaf"]``), the whole revision history with it.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from cvss import CVSS3
from cvss.exceptions import CVSSError

from herald.advisories.snapshot import (
    AdvisorySnapshot,
    AffectedSnapshot,
    CreditSnapshot,
    Note,
    ReferenceSnapshot,
    Remediation,
    Score,
    SourceSnapshot,
    VersionRange,
    VulnerabilitySnapshot,
    VulnId,
)
from herald.publishing.importers.imported import Imported, product_slug
from herald.publishing.render.csaf import product_key

Doc = dict[str, Any]

# CSAF product status -> Herald's row status.
STATUSES = {
    "first_affected": "affected",
    "known_affected": "affected",
    "last_affected": "affected",
    "first_fixed": "fixed",
    "fixed": "fixed",
    "recommended": "fixed",
    "known_not_affected": "not_affected",
    "under_investigation": "under_investigation",
}
SEVERITIES = {
    "critical": "critical",
    "high": "high",
    "important": "high",
    "medium": "medium",
    "moderate": "medium",
    "low": "low",
}
# Branch categories that name the product itself (the first found wins).
PRODUCT_CATEGORIES = ("product_name", "product_family")


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> Doc:
    return value if isinstance(value, dict) else {}


def _when(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        when = dt.datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def product_descriptions(doc: Doc) -> dict[str, Doc]:
    """product id -> what the product tree says the product is (no ids inside)."""
    tree = _dict(doc.get("product_tree"))
    found: dict[str, Doc] = {}

    def full(product: Doc, path: list[list[str]]) -> Doc:
        described: Doc = {"branches": path, "name": str(product.get("name", ""))}
        if product.get("product_identification_helper"):
            described["helper"] = product["product_identification_helper"]
        return described

    def walk(branches: Any, path: list[list[str]]) -> None:
        for branch in _list(branches):
            here = [*path, [str(branch.get("category", "")), str(branch.get("name", ""))]]
            product = _dict(branch.get("product"))
            if product.get("product_id"):
                found.setdefault(str(product["product_id"]), full(product, here))
            walk(branch.get("branches"), here)

    walk(tree.get("branches"), [])
    for product in _list(tree.get("full_product_names")):
        if _dict(product).get("product_id"):
            found.setdefault(str(product["product_id"]), full(product, []))
    relations = [_dict(r) for r in _list(tree.get("relationships"))]
    # Relationships may refer to products other relationships define: resolve in passes.
    for _ in range(len(relations) + 1):
        for rel in relations:
            product = _dict(rel.get("full_product_name"))
            pid = str(product.get("product_id", ""))
            component = found.get(str(rel.get("product_reference")))
            platform = found.get(str(rel.get("relates_to_product_reference")))
            if not pid or pid in found or component is None or platform is None:
                continue
            described = full(product, [])
            del described["branches"]
            found[pid] = {
                "relationship": str(rel.get("category", "")),
                **described,
                "component": component,
                "platform": platform,
            }
    return found


def _groups(doc: Doc) -> dict[str, list[str]]:
    return {
        str(g.get("group_id")): [str(p) for p in _list(g.get("product_ids"))]
        for g in _list(_dict(doc.get("product_tree")).get("product_groups"))
        if isinstance(g, dict)
    }


def _named(described: Doc, category: str) -> str:
    for cat, name in described.get("branches", []):
        if cat == category:
            return str(name)
    return ""


def _product_name(described: Doc) -> str:
    for category in PRODUCT_CATEGORIES:
        name = _named(described, category)
        if name:
            return name
    return str(described.get("name", ""))


def row_fields(described: Doc) -> dict[str, Any]:
    """A product description as a row's vendor, product, version, platform, ids."""
    base = described.get("component", described)
    helper = _dict(described.get("helper")) or _dict(base.get("helper"))
    vendor = _named(base, "vendor")
    product = _product_name(base)
    fields: dict[str, Any] = {
        "vendor": vendor,
        "product": product,
        "product_slug": product_slug(vendor, product),
        "version": _named(base, "product_version"),
        "purl": str(helper.get("purl", "")),
        "cpe": str(helper.get("cpe", "")),
    }
    version_range = _named(base, "product_version_range")
    if version_range.startswith("vers:"):
        scheme = version_range[5:].split("/", 1)[0]
        fields["ranges"] = (VersionRange(type=scheme, vers=version_range),)
    if "platform" in described:
        fields["platform"] = _product_name(described["platform"])
    return fields


def _key_of(fields: dict[str, Any]) -> str:
    return product_key(
        fields["product_slug"], fields.get("version", ""), fields.get("ranges", ()),
        fields.get("platform", ""),
    )  # fmt: skip


class _Keys:
    """Product keys of one vulnerability, unique per product description."""

    def __init__(self, products: dict[str, Doc]) -> None:
        self.products = products
        self.by_description: dict[str, str] = {}
        self.described: dict[str, Doc] = {}

    def key(self, pid: str) -> str:
        described = self.products.get(pid, {"branches": [], "name": pid})
        canon = json.dumps(described, sort_keys=True)
        if canon in self.by_description:
            return self.by_description[canon]
        key = base = _key_of(row_fields(described))
        number = 1
        while key in self.described:
            number += 1
            key = f"{base} #{number}"
        self.by_description[canon] = key
        self.described[key] = described
        return key


def _ids_of(item: Doc, groups: dict[str, list[str]]) -> list[str]:
    ids = [str(p) for p in _list(item.get("product_ids"))]
    for gid in _list(item.get("group_ids")):
        ids += [p for p in groups.get(str(gid), []) if p not in ids]
    return ids


def _cvss_score(vector: str) -> Decimal | None:
    try:
        return Decimal(str(CVSS3(vector).base_score))
    except (CVSSError, ValueError):
        return None


def _read_vulnerability(
    vuln: Doc, products: dict[str, Doc], groups: dict[str, list[str]]
) -> tuple[VulnerabilitySnapshot, set[str]]:
    """The vulnerability, and the product ids it uses."""
    keys = _Keys(products)
    rows: dict[str, dict[str, Any]] = {}  # product id -> the row's values
    used: set[str] = set()
    for status, pids in _dict(vuln.get("product_status")).items():
        for pid in map(str, _list(pids)):
            used.add(pid)
            if pid in rows:
                rows[pid]["extra"]["csaf"]["statuses"].append(status)
                continue
            described = products.get(pid, {"branches": [], "name": pid})
            rows[pid] = {
                **row_fields(described),
                "status": STATUSES.get(status, "affected"),
                "remediations": [],
                "extra": {"csaf": {"product": described, "statuses": [status]}},
            }
    for pid in rows:  # rows first, in order: the renderer keys them the same way
        keys.key(pid)
    kept: dict[str, Any] = {}

    def leftover(field: str, item: Doc, pids: list[str]) -> None:
        entry = {k: v for k, v in item.items() if k not in ("product_ids", "group_ids")}
        if pids:
            entry["product_keys"] = [keys.key(p) for p in pids]
            used.update(pids)
        kept.setdefault(field, []).append(entry)

    for flag in map(_dict, _list(vuln.get("flags"))):
        rest = []
        for pid in _ids_of(flag, groups):
            row = rows.get(pid)
            if row and row["status"] == "not_affected" and not row.get("justification"):
                row["justification"] = str(flag.get("label", ""))
                if flag.get("date"):
                    row["extra"]["csaf"]["flag_date"] = flag["date"]
            else:
                rest.append(pid)
        if rest or not _ids_of(flag, groups):
            leftover("flags", flag, rest)
    for threat in map(_dict, _list(vuln.get("threats"))):
        pids = _ids_of(threat, groups)
        rest = []
        for pid in pids:
            row = rows.get(pid)
            if (
                threat.get("category") == "impact"
                and row
                and row["status"] == "not_affected"
                and not row.get("impact_statement")
            ):
                row["impact_statement"] = str(threat.get("details", ""))
                if threat.get("date"):
                    row["extra"]["csaf"]["impact_date"] = threat["date"]
            else:
                rest.append(pid)
        if rest or not pids:
            leftover("threats", threat, rest)
    for item in map(_dict, _list(vuln.get("remediations"))):
        remediation = Remediation(
            category=str(item.get("category", "")),
            details=str(item.get("details", "")),
            url=str(item.get("url", "")),
            date=str(item.get("date", "")),
            extra={
                k: v
                for k, v in item.items()
                if k not in ("category", "details", "url", "date", "product_ids", "group_ids")
            },
        )
        rest = []
        for pid in _ids_of(item, groups):
            if pid in rows:
                rows[pid]["remediations"].append(remediation)
            else:
                rest.append(pid)
        if rest:
            leftover("remediations", item, rest)

    values: dict[str, Any] = {
        "cve_id": str(vuln.get("cve", "")),
        "title": str(vuln.get("title", "")),
    }
    systems = {}
    ids = []
    for item in map(_dict, _list(vuln.get("ids"))):
        ids.append(VulnId(str(item.get("text", "")), "alias"))
        systems[str(item.get("text", ""))] = str(item.get("system_name", ""))
    values["ids"] = tuple(ids)
    if systems:
        kept["id_systems"] = systems
    cwe = _dict(vuln.get("cwe"))
    if cwe.get("id"):
        values["cwe_ids"] = (str(cwe["id"]),)
        kept["cwe_name"] = str(cwe.get("name", ""))
    values["notes"] = tuple(
        Note(
            category=str(n.get("category", "")),
            text=str(n.get("text", "")),
            title=str(n.get("title", "")),
            audience=str(n.get("audience", "")),
        )
        for n in map(_dict, _list(vuln.get("notes")))
    )
    scores = []
    for item in map(_dict, _list(vuln.get("scores"))):
        pids = [str(p) for p in _list(item.get("products"))]
        used.update(pids)
        product_keys = tuple(keys.key(p) for p in pids)
        for kind in ("cvss_v3", "cvss_v2"):
            obj = _dict(item.get(kind))
            if not obj:
                continue
            vector = str(obj.get("vectorString", ""))
            version = str(obj.get("version", "2.0" if kind == "cvss_v2" else ""))
            if kind == "cvss_v3" and version == "3.1" and not values.get("cvss_v3_vector"):
                score = _cvss_score(vector)
                if score is not None:
                    values["cvss_v3_vector"] = vector
                    values["cvss_v3_score"] = score
                    kept["cvss_v3_products"] = list(product_keys)
                    continue
            base = obj.get("baseScore")
            scores.append(
                Score(
                    type="CVSS_V2" if kind == "cvss_v2" else f"CVSS_V{version}",
                    vector=vector,
                    base_score=None if base is None else Decimal(str(base)),
                    severity=str(obj.get("baseSeverity", "")),
                    products=product_keys,
                    content=obj,
                )
            )
    values["scores"] = tuple(scores)
    refs = []
    summaries = {}
    for ref in map(_dict, _list(vuln.get("references"))):
        refs.append(ReferenceSnapshot(url=str(ref.get("url", "")), type="WEB"))
        summaries[str(ref.get("url", ""))] = {
            "category": ref.get("category", "external"),
            "summary": ref.get("summary", ""),
        }
    values["references"] = tuple(refs)
    if summaries:
        kept["references"] = summaries
    for field in ("involvements", "acknowledgments"):
        if vuln.get(field):
            kept[field] = vuln[field]
    discovery = _when(vuln.get("discovery_date"))
    if discovery is not None:
        values["discovered_at"] = discovery.date()
        kept["discovery_date"] = vuln["discovery_date"]
    release = _when(vuln.get("release_date"))
    if release is not None:
        values["released_at"] = release
        kept["release_date"] = vuln["release_date"]

    for row in rows.values():
        row["remediations"] = tuple(row["remediations"])
    affected = tuple(AffectedSnapshot(deployment="other", **row) for row in rows.values())
    row_keys = {keys.key(pid) for pid in rows}
    others = {k: d for k, d in keys.described.items() if k not in row_keys}
    if others:
        kept["products"] = others
    values["affected"] = affected
    values["extra"] = {"csaf": kept}
    return VulnerabilitySnapshot(**values), used


def _reached(described: Doc) -> list[str]:
    canon = [json.dumps(described, sort_keys=True)]
    for part in ("component", "platform"):
        if part in described:
            canon += _reached(described[part])
    return canon


def read_csaf(doc: Doc, *, file: str) -> Imported:
    """The advisory ``doc`` (a CSAF 2.0 document that passed the validator) describes."""
    document = _dict(doc.get("document"))
    tracking = _dict(document.get("tracking"))
    publisher = _dict(document.get("publisher"))
    products = product_descriptions(doc)
    groups = _groups(doc)
    filled: list[str] = []

    vulnerabilities = []
    used: set[str] = set()
    for vuln in map(_dict, _list(doc.get("vulnerabilities"))):
        read, its = _read_vulnerability(vuln, products, groups)
        vulnerabilities.append(read)
        used |= its
    reached = {c for pid in used if pid in products for c in _reached(products[pid])}
    unused = [d for pid, d in products.items() if json.dumps(d, sort_keys=True) not in reached]

    notes = [_dict(n) for n in _list(document.get("notes"))]
    # The advisory's summary is one line for lists and feeds (at most 500 characters):
    # a longer summary note stays a note of the document, as it was.
    summary = next(
        (
            n
            for n in notes
            if n.get("category") == "summary"
            and len(" ".join(str(n.get("text", "")).split())) <= 500
        ),
        None,
    )
    description = next((n for n in notes if n.get("category") == "description"), None)
    kept: Doc = {
        key: document[key]
        for key in (
            "category",
            "publisher",
            "distribution",
            "lang",
            "source_lang",
            "aggregate_severity",
            "references",
            "acknowledgments",
        )
        if key in document
    }
    kept["tracking"] = {
        k: v
        for k, v in tracking.items()
        if k not in ("id", "initial_release_date", "current_release_date", "revision_history")
    }
    kept["notes"] = [n for n in notes if n is not summary and n is not description]
    if summary is not None:
        kept["summary_title"] = summary.get("title", "")
    if description is not None:
        kept["description_title"] = description.get("title", "")
    if unused:
        kept["products"] = unused
    if "$schema" in doc:
        kept["$schema"] = doc["$schema"]

    severity_text = str(_dict(document.get("aggregate_severity")).get("text", ""))
    severity = SEVERITIES.get(severity_text.strip().lower(), "")
    if severity_text and not severity:
        filled.append(f"severity: {severity_text!r} is none of Herald's; left empty")
    rows = [r for v in vulnerabilities for r in v.affected]
    fixed = any(r.status == "fixed" for r in rows) or any(
        m.category == "vendor_fix" for r in rows for m in r.remediations
    )
    status = "fixed" if fixed else "reported"
    filled.append(f"status: {status}, from the products' status and remediations")

    source = SourceSnapshot(
        kind="csaf",
        id=str(tracking.get("id", "")),
        url=next(
            (
                str(r.get("url"))
                for r in map(_dict, _list(document.get("references")))
                if r.get("category") == "self" and str(r.get("url", "")).endswith(".json")
            ),
            "",
        ),
        publisher=str(publisher.get("name", "")),
        published=_when(tracking.get("initial_release_date")),
        modified=_when(tracking.get("current_release_date")),
        revision_history=tuple(
            dict(r) for r in map(_dict, _list(tracking.get("revision_history")))
        ),
        schema_version=str(document.get("csaf_version", "2.0")),
        extra={"csaf": kept, "file": file},
    )
    credits = tuple(
        CreditSnapshot(name=str(name), type="OTHER")
        for ack in map(_dict, _list(document.get("acknowledgments")))
        for name in _list(ack.get("names"))
    )
    snapshot = AdvisorySnapshot(
        identifier="",
        title=str(document.get("title", "")),
        state="published",
        status=status,
        severity=severity,
        summary=str(summary.get("text", "")) if summary else "",
        description=str(description.get("text", "")) if description else "",
        vulnerabilities=tuple(vulnerabilities),
        credits=credits,
        sources=(source,),
    )
    return Imported(snapshot=snapshot, notes=tuple(filled))
