"""Reading OSV/GHSA, CVE JSON 5 and CSAF 2.0 documents into advisory data.

Pure: bytes in, a ``ParsedDocument`` out (the fields, affected rows, credits and
references that ``do_create_advisory`` takes), or a ``ValidationError`` keyed by
the file name whose messages name the JSON path at fault. Nothing here touches
the database; ``herald.publishing.importers.import_actions`` writes.

Each document is validated first, with the validators Herald checks its own
output with (OSV rules, CVE 5.1.1 schemas, CSAF structure and mandatory tests),
so a broken document is refused before anything is imported.

What the documents do not say but publishing needs is filled in plainly, and
listed in ``notes`` so the import can say so: the timeline (reported, fixed and
disclosed on the document's publication date), who is affected (the users of the
named products), and a severity when the document gives neither a CVSS vector
nor a severity (medium).
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cvss import CVSS3, CVSS4
from cvss.exceptions import CVSSError

from herald.advisories.actions import Detail
from herald.advisories.validation import CVE_RE, CWE_RE
from herald.core.errors import ValidationError
from herald.core.input_files import load_json
from herald.publishing.importers.imported import Imported
from herald.publishing.importers.read_csaf import read_csaf
from herald.publishing.importers.read_cve import read_cve
from herald.publishing.importers.read_osv import read_osv
from herald.publishing.render.csaf import CREDIT_SUMMARIES
from herald.publishing.render.publisher import COLLECTION_URLS, PURL_TYPES
from herald.publishing.render.schemas import (
    cna_container_problems,
    csaf_problems,
    cve_record_problems,
    osv_problems,
)

FORMATS = ("osv", "cve", "csaf")
MAX_VERSION = 100  # Affected.introduced/fixed/last_affected
DEFAULT_SEVERITY = "medium"
MAX_SUMMARY = 500  # Advisory.summary
URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$")
PURL_ECOSYSTEMS = {purl_type: ecosystem for ecosystem, purl_type in PURL_TYPES.items()}
COLLECTION_ECOSYSTEMS = {url.rstrip("/"): eco for eco, url in COLLECTION_URLS.items()}
REFERENCE_TYPES = {
    "ADVISORY", "ARTICLE", "DETECTION", "DISCUSSION", "REPORT", "FIX", "INTRODUCED", "PACKAGE",
    "EVIDENCE", "WEB",
}  # fmt: skip
CVE_TAGS = {
    "patch": "FIX",
    "vendor-advisory": "ADVISORY",
    "third-party-advisory": "ADVISORY",
    "issue-tracking": "REPORT",
    "exploit": "EVIDENCE",
    "technical-description": "ARTICLE",
    "mailing-list": "DISCUSSION",
    "product": "PACKAGE",
}
CREDIT_TYPES = {
    "FINDER", "REPORTER", "ANALYST", "COORDINATOR", "REMEDIATION_DEVELOPER",
    "REMEDIATION_REVIEWER", "REMEDIATION_VERIFIER", "TOOL", "SPONSOR", "OTHER",
}  # fmt: skip
CREDIT_BY_SUMMARY = {text: kind for kind, text in CREDIT_SUMMARIES.items()}
SEVERITY_WORDS = {
    "low": "low",
    "moderate": "medium",
    "medium": "medium",
    "important": "high",
    "high": "high",
    "critical": "critical",
}


@dataclass(frozen=True)
class ProductSpec:
    """A product as the document names it; found or created at import."""

    name: str
    ecosystem: str = ""
    package_name: str = ""
    repository_url: str = ""


@dataclass(frozen=True)
class RowSpec:
    product: ProductSpec
    deployment: str
    introduced: str = ""
    fixed: str = ""
    last_affected: str = ""
    status: str = "affected"


@dataclass
class ParsedDocument:
    file: str
    kind: str
    source_id: str
    values: dict[str, Any]
    published_at: dt.datetime
    rows: list[RowSpec] = field(default_factory=list)
    credits: list[dict[str, str]] = field(default_factory=list)
    references: list[dict[str, str]] = field(default_factory=list)
    withdrawn_reason: str = ""
    source_url: str = ""
    notes: list[str] = field(default_factory=list)
    # What a reader (``read_<kind>``) kept of the document: its vulnerabilities with
    # their own product rows, and the document itself as a source. None: the older
    # one-form reading above (``rows`` and the shorthand in ``values``).
    detail: Detail | None = None

    @property
    def title(self) -> str:
        return str(self.values.get("title", ""))

    @property
    def cve_ids(self) -> list[str]:
        return list(self.values.get("cve_ids") or [])


def refuse(file: str, problems: Iterable[str]) -> None:
    problems = list(problems)
    if problems:
        raise ValidationError({file: problems[:20]})


# --- helpers ------------------------------------------------------------------------


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _first_sentence(text: str) -> str:
    line = next((ln.strip(" #*") for ln in text.splitlines() if ln.strip(" #*")), "")
    return re.split(r"(?<=[.!?])\s", line, maxsplit=1)[0]


# Dates before this year are placeholders for "unknown", never a real publication.
UNIX_YEAR = 1970


def _datetime(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def _cves(values: Iterable[Any]) -> list[str]:
    out: list[str] = []
    for value in values:
        text = _text(value).upper()
        if CVE_RE.match(text) and text not in out:
            out.append(text)
    return out


def _cwes(values: Iterable[Any]) -> list[str]:
    out: list[str] = []
    for value in values:
        text = _text(value).upper()
        if CWE_RE.match(text) and text not in out:
            out.append(text)
    return out


def _vector_score(vector: str) -> float:
    try:
        if vector.startswith("CVSS:4.0/"):
            return float(CVSS4(vector).base_score)
        return float(CVSS3(vector).scores()[0])
    except CVSSError:
        return -1.0


def _best(vectors: Iterable[str], prefix: tuple[str, ...]) -> str:
    """The highest-scoring valid vector of a version: one per advisory."""
    candidates = [v.strip() for v in vectors if isinstance(v, str) and v.strip().startswith(prefix)]
    scored = [(s, v) for v in candidates if (s := _vector_score(v)) > 0]
    return max(scored)[1] if scored else ""


def _references(items: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    for url, kind in items:
        url = url.strip()
        # A reference Herald could not publish again (not http(s), too long) is left out.
        if not URL.match(url) or len(url) > 1000 or url in seen:
            continue
        seen.add(url)
        out.append({"url": url, "type": kind if kind in REFERENCE_TYPES else "WEB"})
    return out


def _dedupe_rows(rows: Iterable[RowSpec]) -> list[RowSpec]:
    return list(dict.fromkeys(rows))


def _check_versions(file: str, rows: list[RowSpec]) -> None:
    long = [
        v for r in rows for v in (r.introduced, r.fixed, r.last_affected) if len(v) > MAX_VERSION
    ]
    if long:
        refuse(file, [f"/affected: version {long[0][:40]!r}… is longer than {MAX_VERSION}"])


def _finish(doc: ParsedDocument, *, fixed: bool, resolution: str, severity: str) -> None:
    """Fill what publishing needs and the document did not say; note each assumption."""
    values = doc.values
    day = doc.published_at.date()
    values["reported_at"] = day
    values["disclosed_at"] = day
    if fixed:
        values["status"] = "fixed"
        values["fixed_at"] = day
        values["resolution"] = resolution or "Upgrade to a fixed version."
    else:
        values["status"] = "reported"
        values["resolution"] = resolution
    if not values.get("cvss_v3_vector") and not values.get("cvss_v4_vector"):
        if severity:
            values["severity"] = severity
        else:
            values["severity"] = DEFAULT_SEVERITY
            doc.notes.append(f"no severity in the document: {DEFAULT_SEVERITY} assumed")
    names = list(dict.fromkeys(r.product.name for r in doc.rows if r.status != "not_affected"))
    values["affected_users"] = (
        "Users of " + ", ".join(names[:10]) + ("" if len(names) <= 10 else ", and others") + "."
        if names
        else "Users of the products the source document names."
    )
    if not values.get("description"):
        values["description"] = values.get("summary") or values["title"]
    values["title"] = _clip(values["title"] or doc.source_id, 300)
    values["summary"] = _clip(values.get("summary", ""), 500)


# --- OSV ----------------------------------------------------------------------------


def _osv_ecosystem(value: str) -> str:
    """GitHub's older ``purl-type:X`` spelling as the OSV 1.7 ecosystem name."""
    if value.startswith("purl-type:"):
        return PURL_ECOSYSTEMS.get(value.split(":", 1)[1], value)
    return value


def parse_osv(file: str, doc: Any, *, vendor_ecosystem: str) -> ParsedDocument:
    if isinstance(doc, dict):
        for entry in doc.get("affected") or []:
            package = entry.get("package") if isinstance(entry, dict) else None
            if isinstance(package, dict) and isinstance(package.get("ecosystem"), str):
                package["ecosystem"] = _osv_ecosystem(package["ecosystem"])
    refuse(file, osv_problems(doc, ecosystems=frozenset({vendor_ecosystem})))
    identifier = doc["id"]
    # Go's vulnerability database writes its zero time (year 1) for "set by osv.dev".
    stated = [_datetime(doc.get("published")), _datetime(doc["modified"])]
    known = [moment for moment in stated if moment is not None and moment.year >= UNIX_YEAR]
    published = known[0] if known else dt.datetime.now(dt.UTC).replace(microsecond=0)
    summary = _text(doc.get("summary"))
    details = _text(doc.get("details"))
    specific = (
        doc.get("database_specific") if isinstance(doc.get("database_specific"), dict) else {}
    )
    vectors = [s.get("score", "") for s in doc.get("severity") or [] if isinstance(s, dict)]
    for entry in doc.get("affected") or []:
        vectors += [s.get("score", "") for s in entry.get("severity") or []]
    values: dict[str, Any] = {
        "title": summary or _first_sentence(details) or identifier,
        "summary": summary if summary and details else "",
        "description": details or summary,
        "cve_ids": _cves([identifier, *(doc.get("aliases") or []), *(doc.get("upstream") or [])]),
        "cwe_ids": _cwes(specific.get("cwe_ids") or []),
        "cvss_v3_vector": _best(vectors, ("CVSS:3.1/", "CVSS:3.0/")),
        "cvss_v4_vector": _best(vectors, ("CVSS:4.0/",)),
    }
    source_url = f"https://osv.dev/vulnerability/{identifier}"
    parsed = ParsedDocument(
        file=file,
        kind="osv",
        source_id=identifier,
        values=values,
        published_at=published,
        source_url=source_url,
    )
    if not known:
        parsed.notes.append("no publication date in the document: published now")
    fixes: list[str] = []
    for entry in doc.get("affected") or []:
        parsed.rows += _osv_rows(entry, vendor_ecosystem, fixes)
    parsed.rows = _dedupe_rows(parsed.rows)
    _check_versions(file, parsed.rows)
    parsed.references = _references(
        [(source_url, "ADVISORY")]
        + [(_text(r.get("url")), _text(r.get("type"))) for r in doc.get("references") or []]
    )
    for credit in doc.get("credits") or []:
        contact = credit.get("contact") or []
        kind = _text(credit.get("type")).upper()
        parsed.credits.append(
            {
                "name": _clip(_text(credit.get("name")), 200),
                "type": kind if kind in CREDIT_TYPES else "OTHER",
                "contact": _text(contact[0]) if contact else "",
            }
        )
    if doc.get("withdrawn"):
        parsed.withdrawn_reason = f"Withdrawn by the source ({identifier}) on {doc['withdrawn']}."
    severity = SEVERITY_WORDS.get(_text(specific.get("severity")).lower(), "")
    resolution = ""
    if fixes:
        resolution = "Upgrade to a fixed version: " + ", ".join(dict.fromkeys(fixes)) + "."
    _finish(parsed, fixed=bool(fixes), resolution=resolution, severity=severity)
    return parsed


def _repo_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git") or url


def _osv_rows(entry: dict[str, Any], vendor_ecosystem: str, fixes: list[str]) -> list[RowSpec]:
    package = entry.get("package") or {}
    ecosystem = _text(package.get("ecosystem"))
    name = _text(package.get("name"))
    repos = [r.get("repo", "") for r in entry.get("ranges") or [] if r.get("type") == "GIT"]
    if ecosystem and ecosystem not in ("GIT", vendor_ecosystem):
        # The package's repository, when a GIT range names it, keeps that range GIT.
        repo = _text(repos[0]) if repos else ""
        product = ProductSpec(
            name=name, ecosystem=ecosystem[:64], package_name=name, repository_url=repo
        )
        deployment = "sdk"
    elif name or repos:
        repo = _text(repos[0]) if repos else ""
        product = ProductSpec(name=name or _repo_name(repo), repository_url=repo)
        deployment = "self_hosted" if repo else "other"
    else:
        return []
    rows: list[RowSpec] = []
    for range_ in entry.get("ranges") or []:
        start: str | None = None
        for event in range_.get("events") or []:
            for kind, value in event.items():
                value = "" if value == "0" else _text(value)
                if kind == "introduced":
                    if start is not None:
                        rows.append(RowSpec(product, deployment, introduced=start))
                    start = value
                elif kind == "fixed":
                    if value:
                        rows.append(
                            RowSpec(product, deployment, start or "", fixed=value, status="fixed")
                        )
                        fixes.append(f"{product.name} {value}")
                    else:
                        rows.append(RowSpec(product, deployment, introduced=start or ""))
                    start = None
                elif kind == "last_affected":
                    rows.append(RowSpec(product, deployment, start or "", last_affected=value))
                    start = None
        if start is not None:
            rows.append(RowSpec(product, deployment, introduced=start))
    if not rows:
        versions = [_text(v) for v in entry.get("versions") or [] if _text(v)]
        rows = [RowSpec(product, deployment, introduced=v, last_affected=v) for v in versions]
    return rows or [RowSpec(product, deployment)]


# --- CVE JSON 5 ---------------------------------------------------------------------


def parse_cve(file: str, doc: Any) -> ParsedDocument:
    if isinstance(doc, dict) and doc.get("dataType") == "CVE_RECORD":
        refuse(file, cve_record_problems(doc))
        metadata = doc["cveMetadata"]
        containers = doc["containers"]
        cna = containers["cna"]
        adps = containers.get("adp") or []
        cve_id = metadata["cveId"]
        published = (
            _datetime(metadata.get("datePublished"))
            or _datetime(metadata.get("dateReserved"))
            or _datetime(metadata.get("dateUpdated"))
        )
    else:
        # A CNA container alone (what a CNA sends to CVE Services): its CVE id, when
        # known, is the file's name.
        refuse(file, cna_container_problems(doc))
        cna, adps, metadata = doc, [], {}
        match = re.search(r"CVE-\d{4}-\d{4,19}", file, re.IGNORECASE)
        cve_id = match.group(0).upper() if match else ""
        published = None
    if (cve_id and not _cves([cve_id])) or (cve_id and int(cve_id[4:8]) < 1999):
        refuse(file, [f"/cveMetadata/cveId: {cve_id} is not a CVE id (CVE-YYYY-NNNN, 1999 on)"])
    published = published or _datetime(cna.get("datePublic")) or dt.datetime.now(dt.UTC)
    english = [
        d for d in cna.get("descriptions") or [] if str(d.get("lang", "")).startswith("en")
    ] or list(cna.get("descriptions") or [])
    description = _text(english[0].get("value")) if english else ""
    vectors: list[str] = []
    for container in [cna, *adps]:
        for metric in container.get("metrics") or []:
            for key in ("cvssV4_0", "cvssV3_1", "cvssV3_0"):
                if isinstance(metric.get(key), dict):
                    vectors.append(_text(metric[key].get("vectorString")))
    cwes = _cwes(
        d.get("cweId")
        for container in [cna, *adps]
        for problem in container.get("problemTypes") or []
        for d in problem.get("descriptions") or []
    )
    values: dict[str, Any] = {
        "title": _text(cna.get("title")) or _first_sentence(description) or cve_id,
        "description": description,
        "cve_ids": [cve_id] if cve_id else [],
        "cwe_ids": cwes,
        "cvss_v3_vector": _best(vectors, ("CVSS:3.1/", "CVSS:3.0/")),
        "cvss_v4_vector": _best(vectors, ("CVSS:4.0/",)),
    }
    source_url = f"https://www.cve.org/CVERecord?id={cve_id}" if cve_id else ""
    parsed = ParsedDocument(
        file=file,
        kind="cve",
        source_id=cve_id or file,
        values=values,
        published_at=published,
        source_url=source_url,
    )
    fixed = False
    for affected in cna.get("affected") or []:
        rows, has_fix = _cve_rows(affected)
        parsed.rows += rows
        fixed = fixed or has_fix
    parsed.rows = _dedupe_rows(parsed.rows)
    _check_versions(file, parsed.rows)
    refs = [(source_url, "ADVISORY")] if source_url else []
    for ref in cna.get("references") or []:
        tags = [CVE_TAGS[t] for t in ref.get("tags") or [] if t in CVE_TAGS]
        refs.append((_text(ref.get("url")), tags[0] if tags else "WEB"))
    parsed.references = _references(refs)
    for credit in cna.get("credits") or []:
        kind = _text(credit.get("type")).upper().replace(" ", "_")
        parsed.credits.append(
            {
                "name": _clip(_text(credit.get("value")), 200),
                "type": kind if kind in CREDIT_TYPES else "OTHER",
            }
        )
    if metadata.get("state") == "REJECTED":
        reasons = [_text(r.get("value")) for r in cna.get("rejectedReasons") or []]
        reason = next((r for r in reasons if r), f"{cve_id} was rejected.")
        parsed.withdrawn_reason = reason
        parsed.values["description"] = parsed.values["description"] or reason
        parsed.values["title"] = parsed.values["title"] or f"{cve_id} (rejected)"
    solutions = [_text(s.get("value")) for s in cna.get("solutions") or []]
    resolution = "\n\n".join(s for s in solutions if s)
    fixed = fixed or any(t == "FIX" for _, t in refs)
    _finish(parsed, fixed=fixed, resolution=resolution, severity="")
    return parsed


def _cve_rows(affected: dict[str, Any]) -> tuple[list[RowSpec], bool]:
    collection = _text(affected.get("collectionURL")).rstrip("/")
    ecosystem = COLLECTION_ECOSYSTEMS.get(collection, "")
    package_name = _text(affected.get("packageName"))
    name = _text(affected.get("product")) or package_name or _text(affected.get("vendor"))
    if not name:
        return [], False
    if ecosystem and package_name:
        product = ProductSpec(name=package_name, ecosystem=ecosystem, package_name=package_name)
        deployment = "sdk"
    else:
        product = ProductSpec(name=name[:200], repository_url=_text(affected.get("repo")))
        deployment = "self_hosted" if affected.get("repo") else "other"
    rows: list[RowSpec] = []
    fixed = False
    for version in affected.get("versions") or []:
        if version.get("status") != "affected":
            continue
        start = _text(version.get("version"))
        start = "" if start in ("0", "*", "n/a", "unspecified") else start
        less = _text(version.get("lessThan"))
        less_eq = _text(version.get("lessThanOrEqual"))
        if less and "*" not in less:
            rows.append(RowSpec(product, deployment, start, fixed=less, status="fixed"))
            fixed = True
        elif less_eq and "*" not in less_eq:
            rows.append(RowSpec(product, deployment, start, last_affected=less_eq))
        elif less or less_eq:
            rows.append(RowSpec(product, deployment, introduced=start))
        elif start:
            rows.append(RowSpec(product, deployment, start, last_affected=start))
    if not rows and affected.get("defaultStatus") == "affected":
        rows.append(RowSpec(product, deployment))
    return rows, fixed


# --- CSAF 2.0 -----------------------------------------------------------------------


def _vers(name: str) -> tuple[str, str, str] | None:
    """(introduced, fixed, last_affected) of a range name: ``vers:x/>=1|<2``, ``<V4``."""
    text = name.split("/", 1)[1] if name.startswith("vers:") else name
    if text.strip() in ("*", "all"):
        return ("", "", "")
    introduced = fixed = last = ""
    for part in re.split(r"\s*\|\s*", text.strip()):
        match = re.fullmatch(r"(>=|<=|<|>|=)?\s*(\S+)", part)
        if not match:
            return None
        op, value = match.groups()
        if op == ">=":
            introduced = value
        elif op == "<":
            fixed = value
        elif op == "<=":
            last = value
        elif op in (None, "="):
            introduced = last = value
        else:
            return None
    return introduced, fixed, last


def _csaf_products(doc: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    """product id -> (product name, branch category, branch name)."""
    out: dict[str, tuple[str, str, str]] = {}

    def walk(branches: list[Any], product_name: str) -> None:
        for branch in branches or []:
            if not isinstance(branch, dict):
                continue
            name = product_name
            if branch.get("category") in ("product_name", "product_family") and not name:
                name = _text(branch.get("name"))
            product = branch.get("product")
            if isinstance(product, dict) and product.get("product_id"):
                out[product["product_id"]] = (
                    name or _text(product.get("name")),
                    _text(branch.get("category")),
                    _text(branch.get("name")),
                )
            walk(branch.get("branches") or [], name)

    tree = doc.get("product_tree") or {}
    walk(tree.get("branches") or [], "")
    for product in tree.get("full_product_names") or []:
        out.setdefault(product["product_id"], (_text(product.get("name")), "", ""))
    for relation in tree.get("relationships") or []:
        product = relation.get("full_product_name") or {}
        if product.get("product_id"):
            out.setdefault(product["product_id"], (_text(product.get("name")), "", ""))
    return out


def parse_csaf(file: str, doc: Any) -> ParsedDocument:
    refuse(file, csaf_problems(doc))
    document = doc["document"]
    tracking = document["tracking"]
    vulns = doc.get("vulnerabilities") or []
    published = _datetime(tracking.get("initial_release_date"))
    assert published is not None  # checked by csaf_problems
    notes = {n.get("category"): _text(n.get("text")) for n in document.get("notes") or []}
    descriptions = [
        _text(n.get("text"))
        for v in vulns
        for n in v.get("notes") or []
        if n.get("category") in ("description", "summary")
    ]
    vectors = [
        _text((score.get("cvss_v3") or {}).get("vectorString"))
        for v in vulns
        for score in v.get("scores") or []
    ]
    values: dict[str, Any] = {
        "title": _text(document.get("title")),
        "summary": notes.get("summary", ""),
        "description": "\n\n".join(dict.fromkeys(d for d in descriptions if d))
        or notes.get("summary", "")
        or notes.get("general", ""),
        "cve_ids": _cves(v.get("cve") for v in vulns),
        "cwe_ids": _cwes((v.get("cwe") or {}).get("id") for v in vulns),
        "cvss_v3_vector": _best(vectors, ("CVSS:3.1/", "CVSS:3.0/")),
        "cvss_v4_vector": "",
    }
    self_urls = [
        _text(r.get("url")) for r in document.get("references") or [] if r.get("category") == "self"
    ]
    source_url = next(
        (u for u in self_urls if u.endswith(".json")), self_urls[0] if self_urls else ""
    )
    parsed = ParsedDocument(
        file=file,
        kind="csaf",
        source_id=_text(tracking.get("id")),
        values=values,
        published_at=published,
        source_url=source_url,
    )
    products = _csaf_products(doc)
    rows, fixed = _csaf_rows(vulns, products)
    parsed.rows = _dedupe_rows(rows)
    _check_versions(file, parsed.rows)
    refs = [(u, "ADVISORY") for u in self_urls]
    refs += [(_text(r.get("url")), "WEB") for r in document.get("references") or []]
    for vuln in vulns:
        for ref in vuln.get("references") or []:
            summary = _text(ref.get("summary")).upper()
            refs.append((_text(ref.get("url")), "FIX" if summary == "FIX" else summary))
        for remediation in vuln.get("remediations") or []:
            if remediation.get("category") == "vendor_fix" and remediation.get("url"):
                refs.append((_text(remediation["url"]), "FIX"))
    parsed.references = _references(refs)
    acknowledgments = list(document.get("acknowledgments") or [])
    for vuln in vulns:
        acknowledgments += vuln.get("acknowledgments") or []
    for ack in acknowledgments:
        kind = CREDIT_BY_SUMMARY.get(_text(ack.get("summary")), "OTHER")
        names = [_text(n) for n in ack.get("names") or [] if _text(n)]
        if not names and _text(ack.get("organization")):
            names = [_text(ack["organization"])]
        for name in names:
            credit = {"name": _clip(name, 200), "type": kind}
            if credit not in parsed.credits:
                parsed.credits.append(credit)
    details = [
        _text(r.get("details"))
        for v in vulns
        for r in v.get("remediations") or []
        if r.get("category") in ("vendor_fix", "mitigation", "workaround")
    ]
    severity = SEVERITY_WORDS.get(
        _text((document.get("aggregate_severity") or {}).get("text")).lower(), ""
    )
    _finish(
        parsed,
        fixed=fixed,
        resolution="\n\n".join(dict.fromkeys(d for d in details if d)),
        severity=severity,
    )
    return parsed


STATUS_BUCKETS = {
    "known_affected": "affected",
    "first_affected": "affected",
    "last_affected": "affected",
    "fixed": "fixed",
    "first_fixed": "fixed",
    "known_not_affected": "not_affected",
    "under_investigation": "under_investigation",
}


def _csaf_rows(
    vulns: list[dict[str, Any]], products: dict[str, tuple[str, str, str]]
) -> tuple[list[RowSpec], bool]:
    rows: list[RowSpec] = []
    fixed_versions: dict[str, list[str]] = {}
    any_fix = False
    for vuln in vulns:
        for bucket, ids in (vuln.get("product_status") or {}).items():
            status = STATUS_BUCKETS.get(bucket)
            for pid in ids or []:
                name, category, branch = products.get(pid, (pid, "", ""))
                product = ProductSpec(name=_clip(name or pid, 200))
                if status == "fixed":
                    any_fix = True
                    if category == "product_version":
                        fixed_versions.setdefault(product.name, []).append(branch)
                    else:
                        rows.append(RowSpec(product, "other", status="fixed"))
                    continue
                if status is None:
                    continue
                if category == "product_version_range" and (bounds := _vers(branch)):
                    introduced, fixed, last = bounds
                    rows.append(RowSpec(product, "other", introduced, fixed, last, status))
                    any_fix = any_fix or bool(fixed)
                elif category == "product_version":
                    rows.append(RowSpec(product, "other", branch, "", branch, status))
                else:
                    rows.append(RowSpec(product, "other", status=status))
        for remediation in vuln.get("remediations") or []:
            if remediation.get("category") == "vendor_fix":
                any_fix = True
    # A fixed version beside an open-ended affected range closes it.
    closed: list[RowSpec] = []
    for row in rows:
        fixes = fixed_versions.get(row.product.name) or []
        if row.status == "affected" and not (row.fixed or row.last_affected) and len(fixes) == 1:
            row = RowSpec(row.product, row.deployment, row.introduced, fixes[0], "", "fixed")
        closed.append(row)
    # Products the document lists only as fixed, at given versions.
    listed = {row.product.name for row in closed}
    for name, versions in fixed_versions.items():
        if name not in listed:
            product = ProductSpec(name=name)
            closed += [RowSpec(product, "other", fixed=v, status="fixed") for v in versions]
    return closed, any_fix


# --- entry point --------------------------------------------------------------------


def detect(doc: Any) -> str:
    """The format of a parsed JSON document, or "" when it is none of the three."""
    if not isinstance(doc, dict):
        return ""
    if isinstance(doc.get("document"), dict) and "csaf_version" in doc["document"]:
        return "csaf"
    if doc.get("dataType") == "CVE_RECORD" or "providerMetadata" in doc:
        return "cve"
    if "id" in doc and "modified" in doc:
        return "osv"
    return ""


# The advisory fields a reader's snapshot fills, handed to ``write_draft`` as values.
_IMPORTED_FIELDS = (
    "title", "summary", "description", "severity", "status", "affected_users",
    "affected_regions", "resolution", "discovered_at", "reported_at", "fixed_at",
    "disclosed_at",
)  # fmt: skip


def from_imported(file: str, imported: Imported, document: dict[str, Any]) -> ParsedDocument:
    """A reader's ``Imported`` as the import action takes it: the advisory's own fields
    as values, the vulnerabilities and the source document as its ``Detail``."""
    snap = imported.snapshot
    source = snap.sources[0] if snap.sources else None
    values: dict[str, Any] = {name: getattr(snap, name) for name in _IMPORTED_FIELDS}
    values["affected_regions"] = list(values["affected_regions"])
    notes = list(imported.notes)
    limit = MAX_SUMMARY
    if len(values.get("summary") or "") > limit:
        # The page's one-line summary; the document's whole text stays in its source.
        values["summary"] = _clip(values["summary"], limit)
        notes.append(f"summary shortened to {limit} characters for lists and feeds")
    values["cve_ids"] = list(snap.cve_ids)  # for matching; the detail stores them
    published = (
        snap.published_at
        or (source.published if source else None)
        or (source.modified if source else None)
        or dt.datetime.now(dt.UTC).replace(microsecond=0)
    )
    # Publishing needs the day it was reported; a document that gives no timeline
    # (a CVE record) is taken as reported and disclosed on its publication day. This is
    # Herald's own timeline: the source's moments stay the source's.
    # What publishing needs that a document need not say (an informational CSAF
    # document, a VEX statement), filled plainly and noted.
    if not values.get("severity"):
        values["severity"] = DEFAULT_SEVERITY
        notes.append(f"no severity in the document: {DEFAULT_SEVERITY} assumed")
    if not values.get("description"):
        values["description"] = values.get("summary") or values.get("title") or ""
        notes.append("no description in the document: its summary or title stands in")
    if not values.get("affected_users"):
        names = list(
            dict.fromkeys(
                r.product for r in snap.affected if r.status in ("affected", "under_investigation")
            )
        )
        values["affected_users"] = (
            "Users of " + ", ".join(names[:10]) + ("" if len(names) <= 10 else ", and others") + "."
            if names
            else "Users of the products the source document names."
        )
    if values.get("status") in ("fixed", "resolved") and not values.get("resolution"):
        # A fixed advisory needs its resolution: the document's own solution texts.
        solutions = [
            n.text
            for v in snap.vulnerabilities
            for n in v.notes
            if n.category == "solution" and (not n.lang or n.lang.lower().startswith("en"))
        ]
        values["resolution"] = "\n\n".join(dict.fromkeys(solutions)) or (
            "Upgrade to a fixed version."
        )
        if not solutions:
            notes.append("no resolution in the document: “Upgrade to a fixed version.”")
    day = published.date()
    given: dict[str, dt.date | None] = {
        k: values.get(k) for k in ("reported_at", "fixed_at", "disclosed_at")
    }
    filled = dict(given)
    if filled["reported_at"] is None:
        filled["reported_at"] = min(d for d in (given["fixed_at"], given["disclosed_at"], day) if d)
    if filled["fixed_at"] is None and values.get("status") in ("fixed", "resolved"):
        filled["fixed_at"] = max(filled["reported_at"] or day, given["disclosed_at"] or day)
    if filled["disclosed_at"] is None:
        filled["disclosed_at"] = max(
            d for d in (filled["fixed_at"], filled["reported_at"], day) if d
        )
    for name, value in filled.items():
        if given[name] is None and value is not None:
            values[name] = value
            notes.append(f"{name.removesuffix('_at')} on {value}: from the document's dates")
    return ParsedDocument(
        file=file,
        kind=source.kind if source else "",
        source_id=source.id if source else "",
        values=values,
        published_at=published,
        credits=[{"name": c.name, "type": c.type, "contact": c.contact} for c in snap.credits],
        references=[{"url": r.url, "type": r.type} for r in snap.references],
        withdrawn_reason=(snap.withdrawn_reason or "Withdrawn by its source.")
        if snap.state == "withdrawn"
        else "",
        source_url=source.url if source else "",
        notes=notes,
        detail=Detail(
            vulnerabilities=snap.vulnerabilities,
            sources=tuple((s, document) for s in snap.sources[:1])
            + tuple((s, {}) for s in snap.sources[1:]),
        ),
    )


def parse_document(file: str, raw: bytes, kind: str, *, vendor_ecosystem: str) -> ParsedDocument:
    """One file of format ``kind``; ``ValidationError({file: [...]})`` when refused."""
    doc = load_json(raw, file, field=file)
    found = detect(doc)
    if found != kind:
        what = f"a {found.upper()} document" if found else "none of OSV, CVE and CSAF"
        raise ValidationError({file: f"is {what}, not {kind.upper()}"})
    if kind == "osv":
        parse_osv(file, copy.deepcopy(doc), vendor_ecosystem=vendor_ecosystem)  # validates
        return from_imported(file, read_osv(doc, file=file), doc)
    if kind == "cve":
        parsed = parse_cve(file, copy.deepcopy(doc))  # validates
        if doc.get("dataType") == "CVE_RECORD":  # a bare CNA container keeps that reading
            return from_imported(file, read_cve(doc, file=file), doc)
        return parsed
    parse_csaf(file, copy.deepcopy(doc))  # validates
    return from_imported(file, read_csaf(doc, file=file), doc)
