"""Reading a CVE JSON 5 record (PUBLISHED or REJECTED) into an advisory snapshot.

What the record says is kept where the snapshot has a home for it, and as the record
wrote it: the CNA's vendor and product names, ``defaultStatus``, every ``versions[]``
entry with its own status, texts in every language, scores as given beside Herald's
computed CVSS 3.1 and 4.0, the CNA's own timeline. ADP containers are other
organisations' data: kept verbatim as ``ThirdParty`` and never merged into the CNA's
scores or weaknesses. A rejected record is a withdrawn advisory with its reason.

The mapping of ``affected[]`` (one entry may give several product rows):

- entry ``i`` gives one ``AffectedSnapshot`` per status its ``versions[]`` use, in the
  order they first appear (CVE ``affected`` -> ``affected``, ``unaffected`` ->
  ``not_affected``, ``unknown`` -> ``under_investigation``), each row carrying the
  entry's names, package, repo, ``default_status`` (CVE's word, as given, "" when the
  entry has none) and ``extra["cve_entry"] = i``; an entry without versions gives one
  row whose status is its ``defaultStatus``'s;
- a versions entry that is only ``version`` + ``status`` goes to the row's ``versions``;
  any other becomes a ``VersionRange`` of the entry's ``versionType``: ``version`` ->
  ``introduced``, ``lessThan`` -> ``fixed``, ``lessThanOrEqual`` -> ``last_affected``
  (a single typed version is ``introduced`` = ``last_affected``), every other key of the
  entry (``changes``) in ``database_specific`` as given. The events describe the span
  the entry covers; the row's status says what that span is.

Pure: no database, no settings.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from dataclasses import replace
from decimal import Decimal
from typing import Any

from cvss import CVSS2, CVSS3, CVSS4
from cvss.exceptions import CVSSError

from herald.advisories.snapshot import (
    AdvisorySnapshot,
    AffectedSnapshot,
    CreditSnapshot,
    Note,
    ReferenceSnapshot,
    Score,
    SourceSnapshot,
    ThirdParty,
    VersionRange,
    VulnerabilitySnapshot,
)
from herald.publishing.importers.imported import Imported, product_slug

# CVE's product statuses -> Herald's, and back (the renderer's ``STATUS`` says the same).
ROW_STATUS = {
    "affected": "affected",
    "unaffected": "not_affected",
    "unknown": "under_investigation",
}
# CVE reference tags -> the OSV reference type Herald's desk shows; the tags themselves
# are kept as given.
TAG_TYPES = {
    "patch": "FIX",
    "vendor-advisory": "ADVISORY",
    "third-party-advisory": "ADVISORY",
    "issue-tracking": "REPORT",
    "exploit": "EVIDENCE",
    "technical-description": "ARTICLE",
    "mailing-list": "DISCUSSION",
    "product": "PACKAGE",
}
# The CNA container's texts that become the vulnerability's notes, by note category.
NOTE_FIELDS = {
    "workarounds": "workaround",
    "exploits": "exploit",
    "solutions": "solution",
    "configurations": "configuration",
}
# CNA keys read into the snapshot's own fields; every other key is kept as given in
# the vulnerability's ``extra["cve"]`` (timeline, source, taxonomyMappings, x_ fields,
# datePublic, tags, cpeApplicability, replacedBy ...).
MODELLED = {
    "providerMetadata",
    "title",
    "descriptions",
    "affected",
    "problemTypes",
    "metrics",
    "impacts",
    "credits",
    "references",
    "rejectedReasons",
    *NOTE_FIELDS,
}
# cveMetadata keys with a home in SourceSnapshot; the others go in its ``extra``.
METADATA_HOMES = {
    "cveId",
    "state",
    "assignerShortName",
    "datePublished",
    "dateUpdated",
    "dateRejected",
}
# Entry keys with a home in AffectedSnapshot (the rest stay in ``extra`` as given).
ENTRY_HOMES = {"vendor", "product", "packageName", "repo", "defaultStatus", "versions"}
# Versions-entry keys the VersionRange events hold (the rest go in database_specific).
VERSION_HOMES = {"version", "status", "versionType", "lessThan", "lessThanOrEqual"}
SCORE_TYPES = {
    "cvssV2_0": "CVSS_V2",
    "cvssV3_0": "CVSS_V3.0",
    "cvssV3_1": "CVSS_V3.1",
    "cvssV4_0": "CVSS_V4.0",
}
SEVERITY_WORDS = {
    "low": "low",
    "moderate": "medium",
    "medium": "medium",
    "important": "high",
    "high": "high",
    "critical": "critical",
}
DEFAULT_SEVERITY = "medium"
CVE_ID = re.compile(r"CVE-\d{4}-\d{4,19}", re.IGNORECASE)
COLLECTION_ECOSYSTEMS = {
    "https://pypi.python.org": "PyPI",
    "https://pypi.org": "PyPI",
    "https://www.npmjs.com": "npm",
    "https://crates.io": "crates.io",
    "https://pkg.go.dev": "Go",
    "https://repo.maven.apache.org/maven2": "Maven",
    "https://www.nuget.org": "NuGet",
    "https://rubygems.org": "RubyGems",
    "https://packagist.org": "Packagist",
    "https://hex.pm": "Hex",
    "https://pub.dev": "Pub",
}


def read_cve(doc: dict[str, Any], *, file: str) -> Imported:
    """The advisory a CVE record (or a CNA container alone) describes."""
    notes: list[str] = []
    if doc.get("dataType") == "CVE_RECORD" or "cveMetadata" in doc:
        meta = _dict(doc.get("cveMetadata"))
        containers = _dict(doc.get("containers"))
        cna = _dict(containers.get("cna"))
        adps = [_dict(a) for a in _list(containers.get("adp"))]
        cve_id = str(meta.get("cveId") or "")
    else:  # a CNA container alone: its CVE id is the file's name
        meta, cna, adps = {}, doc, []
        match = CVE_ID.search(file)
        cve_id = match.group(0).upper() if match else ""
    rejected = meta.get("state") == "REJECTED" or "rejectedReasons" in cna

    texts: list[Note] = []
    cve_extra: dict[str, Any] = {k: v for k, v in cna.items() if k not in MODELLED}

    description = ""
    descriptions = [_dict(d) for d in _list(cna.get("descriptions"))]
    english = next((d for d in descriptions if _is_english(d.get("lang"))), None)
    for entry in descriptions:
        if entry is english:
            description = str(entry.get("value") or "")
            rest = {k: v for k, v in entry.items() if k != "value"}
            cve_extra["description"] = rest
        else:
            texts.append(_note("description", entry))

    withdrawn_reason = ""
    reasons = [_dict(r) for r in _list(cna.get("rejectedReasons"))]
    english_reason = next((r for r in reasons if _is_english(r.get("lang"))), None)
    for entry in reasons:
        if entry is english_reason:
            withdrawn_reason = str(entry.get("value") or "")
            cve_extra["rejectedReason"] = {k: v for k, v in entry.items() if k != "value"}
        else:
            texts.append(_note("rejected_reason", entry))

    for impact in _list(cna.get("impacts")):
        impact = _dict(impact)
        for entry in _list(impact.get("descriptions")):
            texts.append(_note("impact", _dict(entry), title=str(impact.get("capecId") or "")))
    for field, category in NOTE_FIELDS.items():
        for entry in _list(cna.get(field)):
            texts.append(_note(category, _dict(entry)))

    cwe_ids: list[str] = []
    problem_types = _list(cna.get("problemTypes"))
    for problem in problem_types:
        for entry in _list(_dict(problem).get("descriptions")):
            cwe = str(_dict(entry).get("cweId") or "")
            if cwe and cwe not in cwe_ids:
                cwe_ids.append(cwe)
    if problem_types:
        # The CNA's own words for each weakness and its non-CWE problem types; which
        # CWEs apply is ``cwe_ids``'s.
        cve_extra["problemTypes"] = problem_types

    metrics = _metrics([_dict(m) for m in _list(cna.get("metrics"))])
    if metrics.wrappers:
        cve_extra["metrics"] = metrics.wrappers

    rows = tuple(
        row
        for number, entry in enumerate(_list(cna.get("affected")))
        for row in _rows(number, _dict(entry))
    )
    references = tuple(
        _reference(_dict(r)) for r in _list(cna.get("references")) if _dict(r).get("url")
    )
    credits = tuple(_credit(_dict(c)) for c in _list(cna.get("credits")))
    third_party = tuple(
        ThirdParty(
            source=_provider_name(adp),
            kind="adp",
            title=str(adp.get("title") or ""),
            data=adp,
        )
        for adp in adps
    )
    title = str(cna.get("title") or "")
    vulnerability = VulnerabilitySnapshot(
        cve_id=cve_id,
        title=title,
        cwe_ids=tuple(cwe_ids),
        cvss_v3_vector=metrics.v3_vector,
        cvss_v3_score=metrics.v3_score,
        cvss_v4_vector=metrics.v4_vector,
        cvss_v4_score=metrics.v4_score,
        scores=tuple(metrics.scores),
        notes=tuple(texts),
        affected=rows,
        references=references,
        third_party=third_party,
        extra={"cve": cve_extra} if cve_extra else {},
    )

    source = SourceSnapshot(
        kind="cve",
        id=cve_id or file,
        url=f"https://www.cve.org/CVERecord?id={cve_id}" if cve_id else "",
        publisher=str(meta.get("assignerShortName") or ""),
        published=_datetime(meta.get("datePublished")),
        modified=_datetime(meta.get("dateUpdated")),
        withdrawn=_datetime(meta.get("dateRejected")),
        schema_version=str(doc.get("dataVersion") or ""),
        extra={
            **{k: v for k, v in meta.items() if k not in METADATA_HOMES},
            **({"providerMetadata": cna["providerMetadata"]} if "providerMetadata" in cna else {}),
        },
    )

    advisory_title = title or _first_sentence(description)
    if advisory_title and not title:
        notes.append("no title in the record: the description's first sentence used")
    if not advisory_title:
        advisory_title = f"{cve_id} (rejected)" if rejected else cve_id
        notes.append(f"no title in the record: {advisory_title!r} used")
    if rejected and not withdrawn_reason:
        withdrawn_reason = f"{cve_id} was rejected."
        notes.append("no English rejection reason in the record: a generic one used")
    severity = metrics.severity
    if not severity:
        severity = DEFAULT_SEVERITY
        notes.append(f"no severity in the record: {DEFAULT_SEVERITY} assumed")
    names = list(dict.fromkeys(r.product for r in rows if r.status == "affected"))
    affected_users = (
        "Users of " + ", ".join(names[:10]) + ("" if len(names) <= 10 else ", and others") + "."
        if names
        else "Users of the products the record names."
    )
    notes.append("affected users written from the affected products")
    fixed = any(r.status == "not_affected" or any(_has_end(v) for v in r.ranges) for r in rows)
    notes.append(
        "status fixed: the record names versions that are not affected"
        if fixed
        else "status reported: the record names no version that is not affected"
    )
    public = _datetime(cna.get("datePublic"))
    snapshot = AdvisorySnapshot(
        identifier="",
        title=advisory_title[:300],
        state="withdrawn" if rejected else "published",
        status="fixed" if fixed else "reported",
        severity=severity,
        description=description or withdrawn_reason,
        affected_users=affected_users,
        disclosed_at=public.date() if public else None,
        withdrawn_reason=withdrawn_reason if rejected else "",
        vulnerabilities=(vulnerability,),
        credits=credits,
        sources=(source,),
    )
    return Imported(snapshot=snapshot, notes=tuple(notes))


# --- pieces ---------------------------------------------------------------------------


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _is_english(lang: Any) -> bool:
    return str(lang or "").lower().split("-")[0] == "en"


def _first_sentence(text: str) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return re.split(r"(?<=[.!?])\s", line, maxsplit=1)[0]


def _datetime(value: Any) -> dt.datetime | None:
    """An RFC 3339 time; one without an offset (some records write them) is UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _note(category: str, entry: dict[str, Any], *, title: str = "") -> Note:
    return Note(
        category=category,
        text=str(entry.get("value") or ""),
        title=title,
        lang=str(entry.get("lang") or ""),
        media=tuple(_dict(m) for m in _list(entry.get("supportingMedia"))),
    )


def _provider_name(container: dict[str, Any]) -> str:
    provider = _dict(container.get("providerMetadata"))
    return str(provider.get("shortName") or provider.get("orgId") or "")


def _reference(ref: dict[str, Any]) -> ReferenceSnapshot:
    tags = tuple(str(t) for t in _list(ref.get("tags")))
    kind = next((TAG_TYPES[t] for t in tags if t in TAG_TYPES), "WEB")
    return ReferenceSnapshot(
        url=str(ref["url"]), type=kind, name=str(ref.get("name") or ""), tags=tags
    )


def _credit(credit: dict[str, Any]) -> CreditSnapshot:
    # CVE's default credit type is "finder".
    kind = str(credit.get("type") or "finder").upper().replace(" ", "_")
    return CreditSnapshot(
        name=str(credit.get("value") or ""), type=kind, lang=str(credit.get("lang") or "")
    )


class _Metrics:
    def __init__(self) -> None:
        self.v3_vector = ""
        self.v3_score: Decimal | None = None
        self.v4_vector = ""
        self.v4_score: Decimal | None = None
        self.scores: list[Score] = []
        # The two computed metrics as the record wrote them (format, scenarios, the
        # object with the CNA's own spelling of the score), re-emitted while the
        # vector is still theirs.
        self.wrappers: dict[str, Any] = {}
        self.severities: list[str] = []

    @property
    def severity(self) -> str:
        if self.v4_score is not None:
            return _severity_of(self.v4_score)
        if self.v3_score is not None:
            return _severity_of(self.v3_score)
        for word in self.severities:
            if word in SEVERITY_WORDS:
                return SEVERITY_WORDS[word]
        return ""


def _severity_of(score: Decimal) -> str:
    if score >= Decimal("9.0"):
        return "critical"
    if score >= Decimal("7.0"):
        return "high"
    if score >= Decimal("4.0"):
        return "medium"
    return "low"


def _metrics(metrics: list[dict[str, Any]]) -> _Metrics:
    """CVSS 3.1 and 4.0 (the first of each that parses) computed into Herald's fields;
    everything else a ``Score`` whose ``content`` is the metric as the record gave it."""
    found = _Metrics()
    for position, metric in enumerate(metrics):
        key = next((k for k in metric if k in SCORE_TYPES or k == "other"), "")
        body = _dict(metric.get(key))
        vector = str(body.get("vectorString") or "")
        if key == "cvssV3_1" and not found.v3_vector and vector.startswith("CVSS:3.1/"):
            with contextlib.suppress(CVSSError):
                score = Decimal(str(CVSS3(vector).scores()[0]))
                if score > 0:  # a 0.0 vector is no severity Herald can publish
                    found.v3_score, found.v3_vector = score, vector
                    found.wrappers[key] = metric
                    found.wrappers.setdefault("positions", {})[key] = position
                    continue
        if key == "cvssV4_0" and not found.v4_vector and vector.startswith("CVSS:4.0/"):
            with contextlib.suppress(CVSSError):
                score = Decimal(str(CVSS4(vector).base_score))
                if score > 0:
                    found.v4_score, found.v4_vector = score, vector
                    found.wrappers[key] = metric
                    found.wrappers.setdefault("positions", {})[key] = position
                    continue
        if key == "other":
            kind = str(body.get("type") or "other")
            content = _dict(body.get("content"))
            word = str(content.get("value") or content.get("other") or "").lower()
            found.severities.append(word)
            found.scores.append(Score(type=kind, severity=word, content=metric))
            continue
        given = body.get("baseScore")
        severity = str(body.get("baseSeverity") or "").lower()
        if not severity and key == "cvssV2_0" and vector:
            with contextlib.suppress(CVSSError):
                severity = str(CVSS2(vector).severities()[0]).lower()
        found.severities.append(severity)
        found.scores.append(
            Score(
                type=SCORE_TYPES.get(key, key or "unknown"),
                vector=vector,
                base_score=Decimal(str(given)) if isinstance(given, (int, float)) else None,
                severity=severity,
                content=metric,
            )
        )
    return found


def _has_end(r: VersionRange) -> bool:
    return any(
        "fixed" in e or ("last_affected" in e and "*" not in e["last_affected"]) for e in r.events
    )


def _version_range(version: dict[str, Any]) -> VersionRange | None:
    """A versions[] entry as a range, or None when it is a plain version (its own row's
    ``versions``)."""
    start = str(version.get("version") or "")
    kept = {k: v for k, v in version.items() if k not in VERSION_HOMES}
    less, less_eq = version.get("lessThan"), version.get("lessThanOrEqual")
    kind = str(version.get("versionType") or "")
    if not (kind or kept or less is not None or less_eq is not None):
        return None
    events: list[dict[str, str]] = [{"introduced": start}]
    if less is not None:
        events.append({"fixed": str(less)})
    elif less_eq is not None:
        if str(less_eq) == start:
            # The renderer writes introduced == last_affected as one version; this
            # entry said it as a range, which the kept key restores.
            kept["lessThanOrEqual"] = less_eq
        events.append({"last_affected": str(less_eq)})
    else:
        events.append({"last_affected": start})  # one version of this type
    return VersionRange(type=kind, events=tuple(events), database_specific=kept)


def _rows(number: int, entry: dict[str, Any]) -> list[AffectedSnapshot]:
    """The product rows of ``affected[number]``: one per status its versions use."""
    vendor = str(entry.get("vendor") or "")
    package = str(entry.get("packageName") or "")
    named = "product" in entry and bool(entry.get("product"))
    product = str(entry.get("product") or package or entry.get("collectionURL") or vendor)
    collection = str(entry.get("collectionURL") or "")
    ecosystem = COLLECTION_ECOSYSTEMS.get(collection.rstrip("/"), "")
    extra: dict[str, Any] = {k: v for k, v in entry.items() if k not in ENTRY_HOMES}
    cpe = ""
    cpes = _list(extra.get("cpes"))
    if len(cpes) == 1 and isinstance(cpes[0], str):
        cpe = cpes[0]
        del extra["cpes"]
    platform = ""
    platforms = _list(extra.get("platforms"))
    if len(platforms) == 1 and isinstance(platforms[0], str):
        platform = platforms[0]
        del extra["platforms"]
    extra["cve_entry"] = number
    if not named:
        extra["cve_no_product"] = True
    default = str(entry.get("defaultStatus") or "")
    base = AffectedSnapshot(
        product=product[:200],
        product_slug=product_slug(vendor, product),
        deployment=(
            "sdk" if ecosystem and package else "self_hosted" if entry.get("repo") else "other"
        ),
        ecosystem=ecosystem,
        package_name=package,
        repository_url=str(entry.get("repo") or ""),
        vendor=vendor,
        platform=platform,
        cpe=cpe,
        default_status=default,
        extra=extra,
    )
    by_status: dict[str, tuple[list[str], list[VersionRange]]] = {}
    for version in _list(entry.get("versions")):
        version = _dict(version)
        status = ROW_STATUS.get(str(version.get("status")), "under_investigation")
        plain, ranges = by_status.setdefault(status, ([], []))
        found = _version_range(version)
        if found is None:
            plain.append(str(version.get("version") or ""))
        else:
            ranges.append(found)
    if not by_status:
        return [replace(base, status=ROW_STATUS.get(default, "under_investigation"))]
    return [
        replace(base, status=status, versions=tuple(plain), ranges=tuple(ranges))
        for status, (plain, ranges) in by_status.items()
    ]
