"""An OSV document (schema 1.x, up to 1.7) as an advisory snapshot, keeping what it says.

Pure: a parsed document in, an ``Imported`` out. The document becomes one
vulnerability whose ids are the document's own id (role ``upstream``: the record this
one derives from), its aliases (the CVE id as ``cve_id``, every other alias as an
alias), its ``upstream`` and ``related`` ids. ``details`` is the description as given;
the severity entries are Herald's computed CVSS 3.1/4.0 when the vector is one, every
other entry (CVSS 2, CVSS 3.0, Ubuntu, a package's own severity) a ``Score`` as given;
each ``affected`` entry a product row with its ranges of their own type (ECOSYSTEM,
SEMVER, GIT with its repository), its ``versions`` and its ``ecosystem_specific`` and
``database_specific`` kept in ``extra``. The document's top-level ``database_specific``
is kept in ``vulnerability.extra["osv"]["database_specific"]``.

The document's ``published``/``modified``/``withdrawn`` are the source's times
(``SourceSnapshot``); Go's zero time ``0001-01-01T00:00:00Z`` means "no date" and reads
as none. What publishing needs and the document does not say (the timeline, who is
affected, a severity when none is given, a resolution for a fixed advisory) is filled
in and listed in ``notes``.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from herald.advisories.snapshot import (
    AdvisorySnapshot,
    AffectedSnapshot,
    CreditSnapshot,
    ReferenceSnapshot,
    Score,
    SourceSnapshot,
    VersionRange,
    VulnerabilitySnapshot,
    VulnId,
)
from herald.advisories.validation import CVE_RE, CWE_RE, check_cvss
from herald.core.errors import ValidationError
from herald.publishing.importers.imported import Imported, product_slug
from herald.publishing.render.publisher import PURL_TYPES

DEFAULT_SEVERITY = "medium"
SEVERITY_WORDS = {
    "low": "low",
    "moderate": "medium",
    "medium": "medium",
    "important": "high",
    "high": "high",
    "critical": "critical",
}
PURL_ECOSYSTEMS = {purl_type: ecosystem for ecosystem, purl_type in PURL_TYPES.items()}
_FRACTION = re.compile(r"(\.\d{1,6})\d*")


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def source_time(value: Any) -> dt.datetime | None:
    """An OSV timestamp as an aware datetime; None when absent or Go's year-1 "no date"."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = _FRACTION.sub(r"\1", value.strip().replace("z", "Z"))
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.year <= 1:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _score(entry: dict[str, Any], products: tuple[str, ...] = ()) -> Score:
    """A severity entry kept as given; CVSS 3.0 as ``CVSS_V3.0``, the type OSV calls
    CVSS_V3 for both 3.0 and 3.1."""
    kind, vector = _text(entry.get("type")), _text(entry.get("score"))
    if kind == "CVSS_V3" and vector.startswith("CVSS:3.0/"):
        kind = "CVSS_V3.0"
    base: Decimal | None = None
    severity = ""
    if kind.startswith("CVSS_V"):
        try:
            field = "cvss_v4_vector" if kind == "CVSS_V4" else "cvss_v3_vector"
            scored = check_cvss(vector, field) if kind != "CVSS_V2" else None
        except ValidationError:
            scored = None
        if scored is not None:
            base, severity = scored.score, scored.severity
    return Score(type=kind, vector=vector, base_score=base, severity=severity, products=products)


def _ranges(entry: dict[str, Any]) -> tuple[VersionRange, ...]:
    return tuple(
        VersionRange(
            type=_text(r.get("type")),
            events=tuple(
                {str(k): str(v) for k, v in _dict(e).items()} for e in _list(r.get("events"))
            ),
            repo=_text(r.get("repo")),
            database_specific=_dict(r.get("database_specific")),
        )
        for r in _list(entry.get("ranges"))
        if isinstance(r, dict)
    )


def _repo_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git") or url


def osv_ecosystem(value: str) -> str:
    """GitHub's older ``purl-type:X`` spelling as the OSV 1.7 ecosystem name (the
    only change the reader makes: OSV 1.7's schema admits no other spelling)."""
    if value.startswith("purl-type:"):
        return PURL_ECOSYSTEMS.get(value.split(":", 1)[1], value)
    return value


def _row(entry: dict[str, Any], notes: list[str]) -> AffectedSnapshot:
    package = _dict(entry.get("package"))
    given, name = _text(package.get("ecosystem")), _text(package.get("name"))
    ecosystem = osv_ecosystem(given)
    if ecosystem != given:
        notes.append(f"ecosystem {given} of {name} is OSV 1.7's {ecosystem}")
    ranges = _ranges(entry)
    repos = [r.repo for r in ranges if r.type == "GIT" and r.repo]
    product = name or (_repo_name(repos[0]) if repos else "")
    if not product:
        # Neither a package nor a repository: what the document says of the product.
        product = _text(_dict(entry.get("database_specific")).get("product")) or "(unnamed)"
    fixed = any("fixed" in e for r in ranges for e in r.events)
    extra = {
        key: entry[key]
        for key in ("ecosystem_specific", "database_specific")
        if isinstance(entry.get(key), dict)
    }
    return AffectedSnapshot(
        product=product,
        product_slug=product_slug("", product),
        deployment="sdk" if ecosystem else ("self_hosted" if repos else "other"),
        status="fixed" if fixed else "affected",
        ecosystem=ecosystem,
        package_name=name,
        repository_url=repos[0] if repos else "",
        purl=_text(package.get("purl")),
        ranges=ranges,
        versions=tuple(str(v) for v in _list(entry.get("versions"))),
        extra=extra,
    )


def _fixes(rows: tuple[AffectedSnapshot, ...]) -> list[str]:
    """The fixed versions the ranges name, as the resolution says them."""
    return list(
        dict.fromkeys(
            f"{row.product} {'commit ' + e['fixed'][:12] if r.type == 'GIT' else e['fixed']}"
            for row in rows
            for r in row.ranges
            for e in r.events
            if e.get("fixed")
        )
    )


def read_osv(doc: dict[str, Any], *, file: str) -> Imported:
    """The snapshot of an OSV document (identifier "": the import gives one)."""
    notes: list[str] = []
    osv_id = _text(doc.get("id"))
    if not osv_id:
        raise ValidationError({file: "/id: an OSV document has an id"})
    aliases = [str(a) for a in _list(doc.get("aliases"))]
    cves = [a for a in aliases if CVE_RE.match(a)]
    cve_id = cves[0] if cves else (osv_id if CVE_RE.match(osv_id) else "")
    ids = [VulnId(osv_id, "upstream")] if osv_id != cve_id else []
    ids += [VulnId(a, "alias") for a in aliases if a != cve_id]
    ids += [VulnId(str(u), "upstream") for u in _list(doc.get("upstream"))]
    ids += [VulnId(str(r), "related") for r in _list(doc.get("related"))]
    specific = _dict(doc.get("database_specific"))

    cvss: dict[str, Any] = {}
    scores: list[Score] = []
    for entry in _list(doc.get("severity")):
        kind, vector = _text(_dict(entry).get("type")), _text(_dict(entry).get("score"))
        wanted = {"CVSS_V3": ("CVSS:3.1/", "cvss_v3"), "CVSS_V4": ("CVSS:4.0/", "cvss_v4")}
        if kind in wanted and vector.startswith(wanted[kind][0]) and wanted[kind][1] not in cvss:
            field = wanted[kind][1]
            try:
                scored = check_cvss(vector, f"{field}_vector")
            except ValidationError:
                scored = None
            # Kept as given; the score Herald computes (None when it cannot).
            cvss[field] = (vector, scored.score if scored else None)
            continue
        scores.append(_score(_dict(entry)))

    rows = tuple(_row(e, notes) for e in _list(doc.get("affected")) if isinstance(e, dict))
    for entry, row in zip(
        (e for e in _list(doc.get("affected")) if isinstance(e, dict)), rows, strict=True
    ):
        scores += [_score(_dict(s), (row.product_slug,)) for s in _list(entry.get("severity"))]

    summary, details = _text(doc.get("summary")), doc.get("details") or ""
    details = details if isinstance(details, str) else ""
    published = source_time(doc.get("published"))
    modified = source_time(doc.get("modified"))
    withdrawn = source_time(doc.get("withdrawn"))
    vulnerability = VulnerabilitySnapshot(
        cve_id=cve_id,
        ids=tuple(ids),
        title=summary,
        cwe_ids=tuple(
            str(c) for c in _list(specific.get("cwe_ids")) if CWE_RE.match(str(c).upper())
        ),
        cvss_v3_vector=cvss.get("cvss_v3", ("", None))[0],
        cvss_v3_score=cvss.get("cvss_v3", ("", None))[1],
        cvss_v4_vector=cvss.get("cvss_v4", ("", None))[0],
        cvss_v4_score=cvss.get("cvss_v4", ("", None))[1],
        scores=tuple(scores),
        affected=rows,
        references=(),
        released_at=published,
        extra={"osv": {"database_specific": specific}} if "database_specific" in doc else {},
    )
    source = SourceSnapshot(
        kind="osv",
        id=osv_id,
        url=_text(specific.get("url")),
        published=published,
        modified=modified,
        withdrawn=withdrawn,
        schema_version=_text(doc.get("schema_version")),
    )

    # What the desk needs and the document does not say.
    day = (published or modified or dt.datetime.now(dt.UTC)).date()
    if published is None:
        notes.append(f"no publication date in the document: the timeline starts on {day}")
    fixes = _fixes(rows)
    names = list(dict.fromkeys(r.product for r in rows))
    affected_users = (
        "Users of " + ", ".join(names[:10]) + ("" if len(names) <= 10 else ", and others") + "."
        if names
        else "Users of the products the source document names."
    )
    notes.append(f"timeline: reported and disclosed on {day}" + (", fixed then" if fixes else ""))
    notes.append(f"affected users: {affected_users}")
    severity = _severity(vulnerability, specific)
    if not severity:
        severity = DEFAULT_SEVERITY
        notes.append(f"no severity in the document: {DEFAULT_SEVERITY} assumed")
    resolution = ""
    if fixes:
        resolution = "Upgrade to a fixed version: " + ", ".join(fixes) + "."
        notes.append(f"resolution: {resolution}")
    title = summary or osv_id
    if not summary:
        notes.append(f"no summary in the document: the title is its id {osv_id}")

    snapshot = AdvisorySnapshot(
        identifier="",
        title=title,
        state="withdrawn" if withdrawn else "published",
        status="fixed" if fixes else "reported",
        severity=severity,
        summary="",
        description=details,
        affected_users=affected_users,
        resolution=resolution,
        reported_at=day,
        disclosed_at=day,
        fixed_at=day if fixes else None,
        withdrawn_at=withdrawn,
        withdrawn_reason=f"Withdrawn by the source ({osv_id})." if withdrawn else "",
        vulnerabilities=(vulnerability,),
        credits=tuple(
            CreditSnapshot(
                name=_text(c.get("name")),
                type=_text(c.get("type")),
                contact="\n".join(str(x) for x in _list(c.get("contact"))),
            )
            for c in _list(doc.get("credits"))
            if isinstance(c, dict)
        ),
        references=tuple(
            ReferenceSnapshot(url=_text(r.get("url")), type=_text(r.get("type")))
            for r in _list(doc.get("references"))
            if isinstance(r, dict)
        ),
        sources=(source,),
    )
    return Imported(snapshot=snapshot, notes=tuple(notes))


def _severity(vulnerability: VulnerabilitySnapshot, specific: dict[str, Any]) -> str:
    """The severity word the document gives, else that of its CVSS 4.0 / 3.1 vector."""
    word = SEVERITY_WORDS.get(_text(specific.get("severity")).lower(), "")
    if word:
        return word
    for vector, field in (
        (vulnerability.cvss_v4_vector, "cvss_v4_vector"),
        (vulnerability.cvss_v3_vector, "cvss_v3_vector"),
    ):
        try:
            scored = check_cvss(vector, field)
        except ValidationError:
            continue
        if scored is not None:
            return scored.severity
    return ""
