"""CVE Record Format 5.1: the CNA container CVE Services accepts, and the full record.

One record per CVE id of an advisory. A withdrawn advisory yields a REJECTED
record whose CNA container carries only the reason, as the format requires.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from cvss import CVSS2, CVSS3, CVSS4
from cvss.exceptions import CVSSError

from herald.advisories.snapshot import (
    AdvisorySnapshot,
    AffectedSnapshot,
    Note,
    ReferenceSnapshot,
    Score,
    SourceSnapshot,
    VersionRange,
    VulnerabilitySnapshot,
)
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
# The vulnerability's notes that are CVE container texts, by container field.
NOTE_FIELDS = {
    "workarounds": "workaround",
    "exploits": "exploit",
    "solutions": "solution",
    "configurations": "configuration",
}
# What an imported record's reader kept in ``extra["cve"]`` for the renderer's own use
# (the other keys are container fields re-emitted as given).
READ_KEYS = {"description", "rejectedReason", "problemTypes", "metrics"}
# Herald's score types -> the CVE metric keys.
METRIC_KEYS = {
    "CVSS_V2": "cvssV2_0",
    "CVSS_V3.0": "cvssV3_0",
    "CVSS_V3.1": "cvssV3_1",
    "CVSS_V4.0": "cvssV4_0",
}
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
    """The full CVE record (``dataType: CVE_RECORD``) for one of the advisory's CVE ids.

    When the advisory was imported from this CVE record (a ``cve`` source with this
    id), the record is the source's: its assigner, its dates and the CNA's provider
    metadata are re-emitted, and the ADP containers kept with the vulnerability come
    back as they were."""
    _check(snapshot, cve_id, publisher)
    source = source_record(snapshot, cve_id)
    vulnerability = vulnerability_of(snapshot, cve_id)
    metadata: dict[str, Any] = {"cveId": cve_id}
    if source is not None and source.extra.get("assignerOrgId"):
        metadata["assignerOrgId"] = source.extra["assignerOrgId"]
        if source.publisher:
            metadata["assignerShortName"] = source.publisher
    else:
        metadata["assignerOrgId"] = publisher.cna_org_id
        if _short_name(publisher):
            metadata["assignerShortName"] = _short_name(publisher)
    published = source.published if source is not None else snapshot.published_at
    updated = _updated(snapshot, source)
    if snapshot.is_withdrawn:
        metadata["state"] = "REJECTED"
        if source is not None and source.extra.get("dateReserved"):
            metadata["dateReserved"] = source.extra["dateReserved"]
        if published:
            metadata["datePublished"] = _stamp(published)
        metadata["dateUpdated"] = _stamp(updated)
        rejected = (source.withdrawn if source is not None else None) or (
            snapshot.withdrawn_at or updated
        )
        metadata["dateRejected"] = _stamp(rejected)
        container = render_rejected_container(snapshot, publisher, cve_id=cve_id)
    else:
        metadata["state"] = "PUBLISHED"
        if source is not None and source.extra.get("dateReserved"):
            metadata["dateReserved"] = source.extra["dateReserved"]
        if published:
            metadata["datePublished"] = _stamp(published)
        metadata["dateUpdated"] = _stamp(updated)
        container = render_cna_container(snapshot, cve_id, publisher)
    containers: dict[str, Any] = {"cna": container}
    adps = [t.data for t in vulnerability.third_party if t.kind == "adp"]
    if adps and not snapshot.is_withdrawn:  # a REJECTED record has the CNA's reason only
        containers["adp"] = adps
    return {
        "dataType": "CVE_RECORD",
        "dataVersion": DATA_VERSION,
        "cveMetadata": metadata,
        "containers": containers,
    }


def render_cve_record_bytes(snapshot: AdvisorySnapshot, cve_id: str, publisher: Publisher) -> bytes:
    return json_bytes(render_cve_record(snapshot, cve_id, publisher))


def source_record(snapshot: AdvisorySnapshot, cve_id: str) -> SourceSnapshot | None:
    """The CVE record the advisory was imported from for ``cve_id``, if it was."""
    return next((s for s in snapshot.sources if s.kind == "cve" and s.id == cve_id), None)


def vulnerability_of(snapshot: AdvisorySnapshot, cve_id: str) -> VulnerabilitySnapshot:
    """The vulnerability whose record this is (its own scores, CWEs, products, notes)."""
    return next(v for v in snapshot.vulnerabilities if v.cve_id == cve_id)


def _stamp(moment: dt.datetime) -> str:
    """``utc()``, keeping the fraction of a second a source's time has (CVE Services
    writes milliseconds): the source's instant, not a neighbour of it."""
    text = utc(moment)
    micro = moment.microsecond
    if not micro:
        return text
    fraction = f"{micro:06d}"
    fraction = fraction[:3] if fraction.endswith("000") else fraction
    return text.removesuffix("Z") + "." + fraction + "Z"


def _updated(snapshot: AdvisorySnapshot, source: SourceSnapshot | None) -> dt.datetime:
    if source is not None and source.modified:
        return source.modified
    if source is not None and not (
        snapshot.updated_at or snapshot.withdrawn_at or snapshot.published_at
    ):
        moment = source.withdrawn or source.published
        if moment:
            return moment
    return modified_at(snapshot)


def render_cna_container(
    snapshot: AdvisorySnapshot, cve_id: str, publisher: Publisher
) -> dict[str, Any]:
    """The published CNA container: what a CNA sends to CVE Services for ``cve_id``.

    Built from the vulnerability's own weaknesses, scores, products and notes; for a
    record imported from the CVE list, what the CNA wrote (names, versions entries,
    texts in every language, scores as given, its timeline, ``x_`` fields) comes back
    as the CNA wrote it."""
    _check(snapshot, cve_id, publisher)
    source = source_record(snapshot, cve_id)
    vuln = vulnerability_of(snapshot, cve_id)
    kept: dict[str, Any] = dict(vuln.extra.get("cve") or {}) if source is not None else {}
    container: dict[str, Any] = {"providerMetadata": _provider(snapshot, publisher, source)}
    title = vuln.title or ("" if source is not None else snapshot.title)
    if title:
        container["title"] = title[:256]
    public = snapshot.disclosed_at or snapshot.published_at
    if public and source is None:
        container["datePublic"] = utc(public)
    container["descriptions"] = _descriptions(snapshot, vuln, kept)
    container["affected"] = _affected(vuln, publisher)
    problems = _problem_types(vuln, kept)
    if problems:
        container["problemTypes"] = problems
    impacts = _impacts(vuln)
    if impacts:
        container["impacts"] = impacts
    metrics = _metrics(vuln, kept)
    if metrics:
        container["metrics"] = metrics
    for field, category in NOTE_FIELDS.items():
        texts = [_text_entry(n) for n in vuln.notes if n.category == category]
        if field == "solutions" and source is None and snapshot.resolution.strip():
            texts.insert(0, _description(snapshot.resolution))
        if texts:
            container[field] = texts
    container["references"] = _references(snapshot, vuln, publisher, source)
    timeline = [
        {"time": utc(getattr(snapshot, name)), "lang": "en", "value": label}
        for name, label in TIMELINE_EVENTS
        if getattr(snapshot, name)
    ]
    if timeline and source is None:
        container["timeline"] = timeline
    if snapshot.credits:
        container["credits"] = [
            {
                "lang": c.lang or "en",
                "value": c.name,
                "type": CREDIT_TYPES.get(c.type, "other"),
            }
            for c in snapshot.credits
        ]
    if source is None:
        container["source"] = {"advisory": snapshot.identifier, "discovery": "UNKNOWN"}
        container["x_generator"] = {"engine": f"{GENERATOR_NAME} {GENERATOR_VERSION}"}
    for key, value in kept.items():
        if key not in READ_KEYS:  # timeline, source, x_ fields, datePublic ... as given
            container[key] = value
    return container


def render_rejected_container(
    snapshot: AdvisorySnapshot, publisher: Publisher, *, cve_id: str = ""
) -> dict[str, Any]:
    source = source_record(snapshot, cve_id) if cve_id else None
    reason = snapshot.withdrawn_reason.strip() or (
        f"{publisher.name} withdrew advisory {snapshot.identifier}."
    )
    if source is None:
        return {
            "providerMetadata": _provider(snapshot, publisher, None),
            "rejectedReasons": [{"lang": "en", "value": _clip(plain_text(reason) or reason)}],
        }
    vuln = vulnerability_of(snapshot, cve_id)
    kept: dict[str, Any] = dict(vuln.extra.get("cve") or {})
    rest = dict(kept.get("rejectedReason") or {"lang": "en"})
    lang = rest.pop("lang", "en")
    reasons = [{"lang": lang, "value": snapshot.withdrawn_reason or reason, **rest}]
    reasons += [_text_entry(n) for n in vuln.notes if n.category == "rejected_reason"]
    container: dict[str, Any] = {
        "providerMetadata": _provider(snapshot, publisher, source),
        "rejectedReasons": reasons,
    }
    for key, value in kept.items():
        if key == "replacedBy" or key.startswith("x_"):
            container[key] = value
    return container


def _check(snapshot: AdvisorySnapshot, cve_id: str, publisher: Publisher) -> None:
    if not publisher.can_publish_cve:
        raise ValueError("CVE records need the CNA's organisation id (from CVE Services).")
    if cve_id not in snapshot.cve_ids:
        raise ValueError(f"{cve_id} is not one of {snapshot.identifier}'s CVE ids.")


def _short_name(publisher: Publisher) -> str:
    name = publisher.cna_short_name
    return name if 2 <= len(name) <= 32 else ""


def _provider(
    snapshot: AdvisorySnapshot, publisher: Publisher, source: SourceSnapshot | None
) -> dict[str, Any]:
    """Who wrote the container: the CNA whose record was imported (as it said so), else
    the publisher."""
    if source is not None and source.extra.get("providerMetadata"):
        return dict(source.extra["providerMetadata"])
    provider = {"orgId": publisher.cna_org_id}
    if _short_name(publisher):
        provider["shortName"] = _short_name(publisher)
    provider["dateUpdated"] = utc(_updated(snapshot, source))
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


def _is_english(lang: str) -> bool:
    return (lang or "en").lower().split("-")[0] == "en"


def _text_entry(note: Note) -> dict[str, Any]:
    """A note as a CVE text: ``{lang, value, supportingMedia}``."""
    entry: dict[str, Any] = {"lang": note.lang or "en", "value": note.text}
    if note.media:
        entry["supportingMedia"] = [dict(m) for m in note.media]
    return entry


def _descriptions(
    snapshot: AdvisorySnapshot, vuln: VulnerabilitySnapshot, kept: dict[str, Any]
) -> list[dict[str, Any]]:
    """The English description (the vulnerability's own, else the advisory's), then the
    vulnerability's descriptions in other languages."""
    notes = [n for n in vuln.notes if n.category == "description"]
    english = next((n for n in notes if _is_english(n.lang)), None)
    others = [_text_entry(n) for n in notes if n is not english]
    if english is not None:
        return [_text_entry(english), *others]
    if "description" in kept:  # imported: the text as the CNA wrote it, plain already
        rest = dict(kept["description"])
        entry = {"lang": rest.pop("lang", "en"), "value": snapshot.description, **rest}
        return [entry, *others] if snapshot.description else others
    return [_description(snapshot.description or snapshot.summary), *others]


def _impacts(vuln: VulnerabilitySnapshot) -> list[dict[str, Any]]:
    """Impact notes, grouped back by their CAPEC id (the note's title)."""
    impacts: dict[str, dict[str, Any]] = {}
    for note in vuln.notes:
        if note.category != "impact":
            continue
        impact = impacts.setdefault(note.title, {"capecId": note.title} if note.title else {})
        impact.setdefault("descriptions", []).append(_text_entry(note))
    return list(impacts.values())


def _problem_types(vuln: VulnerabilitySnapshot, kept: dict[str, Any]) -> list[dict[str, Any]]:
    """The CNA's problem types as it wrote them, for the CWEs the vulnerability still
    names; CWEs it names besides in Herald's words."""
    problems: list[dict[str, Any]] = []
    named: set[str] = set()
    for problem in kept.get("problemTypes") or []:
        descriptions = []
        for d in problem.get("descriptions") or []:
            cwe = d.get("cweId")
            if cwe and cwe not in vuln.cwe_ids:
                continue
            if cwe:
                named.add(cwe)
            descriptions.append(d)
        if descriptions:
            problems.append({**problem, "descriptions": descriptions})
    new = [c for c in vuln.cwe_ids if c not in named]
    if new:
        problems.append({"descriptions": [_problem_type(cwe) for cwe in new]})
    return problems


def _problem_type(cwe: str) -> dict[str, str]:
    name = CWE_NAMES.get(cwe)
    return {
        "lang": "en",
        "type": "CWE",
        "cweId": cwe,
        "description": f"{cwe} {name}" if name else cwe,
    }


def _metrics(vuln: VulnerabilitySnapshot, kept: dict[str, Any]) -> list[dict[str, Any]]:
    """Herald's computed CVSS 4.0 and 3.1, then the scores kept as given; an imported
    record's computed metrics go back where the CNA listed them."""
    wrappers = kept.get("metrics") or {}
    computed: list[tuple[str, dict[str, Any]]] = []
    if vuln.cvss_v4_vector:
        v4 = cvss_v4_object(vuln.cvss_v4_vector)
        computed.append(("cvssV4_0", _computed("cvssV4_0", v4, vuln.cvss_v4_vector, wrappers)))
    if vuln.cvss_v3_vector:
        v3 = cvss_v3_object(vuln.cvss_v3_vector)
        key = "cvssV3_1" if v3["version"] == "3.1" else "cvssV3_0"
        computed.append((key, _computed(key, v3, vuln.cvss_v3_vector, wrappers)))
    given = [m for m in (_score_metric(s) for s in vuln.scores) if m]
    positions = wrappers.get("positions") or {}
    placed = sorted((positions[k], m) for k, m in computed if k in positions)
    metrics = [m for k, m in computed if k not in positions] + given
    for position, metric in placed:
        metrics.insert(min(position, len(metrics)), metric)
    return metrics


def _computed(
    key: str, computed: dict[str, Any], vector: str, kept: dict[str, Any]
) -> dict[str, Any]:
    """Herald's computed metric; the record's own while it states the same vector and
    score (its extra fields and spelling of the score kept), else the record's format
    and scenarios around Herald's object."""
    given = kept.get(key)
    if not given:
        return {"format": "CVSS", **_general(), key: computed}
    body = given.get(key) or {}
    if body.get("vectorString") == vector and _same_number(
        body.get("baseScore"), computed.get("baseScore")
    ):
        return dict(given)
    return {**{k: v for k, v in given.items() if k != key}, key: computed}


def _same_number(a: Any, b: Any) -> bool:
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return False


def _score_metric(score: Score) -> dict[str, Any] | None:
    """A score as a CVE metric: the record's own when it came from one, else built."""
    if any(k in score.content for k in (*METRIC_KEYS.values(), "other")):
        return dict(score.content)
    if score.source:  # another organisation's score: theirs to publish (an ADP)
        return None
    key = METRIC_KEYS.get(score.type)
    try:
        if key == "cvssV2_0" and score.vector:
            return {"format": "CVSS", **_general(), key: cvss_v2_object(score.vector)}
        if key in ("cvssV3_0", "cvssV3_1") and score.vector:
            return {"format": "CVSS", **_general(), key: cvss_v3_object(score.vector)}
        if key == "cvssV4_0" and score.vector:
            return {"format": "CVSS", **_general(), key: cvss_v4_object(score.vector)}
    except CVSSError:  # a vector the cvss package refuses stays unsaid
        return None
    if score.severity or score.vector:
        content = {k: v for k, v in (("value", score.severity), ("vector", score.vector)) if v}
        return {"other": {"type": score.type, "content": content}}
    return None


def cvss_v2_object(vector: str) -> dict[str, Any]:
    """The FIRST CVSS v2.0 JSON object, computed by ``cvss``."""
    return dict(CVSS2(vector).as_json(sort=False, minimal=True))


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


CVE_STATUS = {
    "affected": "affected",
    "not_affected": "unaffected",
    "under_investigation": "unknown",
}


def _range_entry(r: VersionRange, status: str) -> dict[str, Any]:
    """One versions[] entry from a range a CVE record gave (``read_cve``'s mapping)."""
    events = {k: v for e in r.events for k, v in e.items()}
    start = events.get("introduced", "0")
    entry: dict[str, Any] = {"version": start}
    if "fixed" in events:
        entry["lessThan"] = events["fixed"]
    elif "last_affected" in events and events["last_affected"] != start:
        entry["lessThanOrEqual"] = events["last_affected"]
    entry["status"] = status
    if r.type:
        entry["versionType"] = r.type
    entry.update(r.database_specific)
    return entry


def _source_entry(rows: list[AffectedSnapshot]) -> dict[str, Any]:
    """A CVE ``affected[]`` entry from the rows one entry of a CVE record gave."""
    first = rows[0]
    entry: dict[str, Any] = {}
    if first.vendor:
        entry["vendor"] = first.vendor
    if not first.extra.get("cve_no_product"):
        entry["product"] = first.product
    if first.extra.get("collectionURL"):
        entry["collectionURL"] = first.extra["collectionURL"]
    if first.package_name:
        entry["packageName"] = first.package_name
    if first.cpe:
        entry["cpes"] = [first.cpe]
    if first.platform:
        entry["platforms"] = [first.platform]
    if first.repository_url:
        entry["repo"] = first.repository_url
    for key, value in first.extra.items():
        if key not in ("cve_entry", "cve_no_product"):
            entry[key] = value
    versions: list[dict[str, Any]] = []
    for row in rows:
        status = CVE_STATUS.get(row.status, "affected")
        versions += [{"version": v, "status": status} for v in row.versions]
        versions += [_range_entry(r, status) for r in row.ranges]
    if versions:
        entry["versions"] = versions
    if first.default_status:
        entry["defaultStatus"] = first.default_status
    return entry


def _affected(vuln: VulnerabilitySnapshot, publisher: Publisher) -> list[dict[str, Any]]:
    """One entry per product; versions outside every listed range are unaffected.

    Rows read from a CVE record's ``affected[]`` (``extra["cve_entry"]``) come back as
    the entries they were, names and versions as the CNA wrote them."""
    # A service (no versions) and a versioned product line of the same name go in
    # separate entries: each needs its own default status.
    groups: dict[tuple[str, str, bool | int], list[AffectedSnapshot]] = {}
    for row in vuln.affected:
        if isinstance(row.extra.get("cve_entry"), int):
            key: tuple[str, str, bool | int] = ("\0cve", "", row.extra["cve_entry"])
        else:
            key = (row.vendor, row.product, bool(_versions(row)))
        groups.setdefault(key, []).append(row)
    products: list[dict[str, Any]] = []
    for (vendor, name, versioned), rows in groups.items():
        if vendor == "\0cve":
            products.append(_source_entry(rows))
            continue
        first = rows[0]
        entry: dict[str, Any] = {"vendor": vendor or publisher.name, "product": name}
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


def _reference(ref: ReferenceSnapshot, fixes: list[str]) -> dict[str, Any]:
    entry: dict[str, Any] = {"url": ref.url}
    if ref.name:
        entry["name"] = ref.name
    if ref.tags:
        entry["tags"] = list(ref.tags)
    else:
        tag = "patch" if ref.url in fixes else REFERENCE_TAGS.get(ref.type)
        if tag:
            entry["tags"] = [tag]
    return entry


def _references(
    snapshot: AdvisorySnapshot,
    vuln: VulnerabilitySnapshot,
    publisher: Publisher,
    source: SourceSnapshot | None,
) -> list[dict[str, Any]]:
    """The vulnerability's references and the advisory's; Herald's advisory page first
    unless the record is the CNA's that Herald imported."""
    refs: list[dict[str, Any]] = []
    if source is None:
        refs.append(
            {
                "url": publisher.advisory_url(snapshot.identifier),
                "name": f"{publisher.name} advisory {snapshot.identifier}",
                "tags": ["vendor-advisory"],
            }
        )
    seen: set[str | tuple[str, str]] = {r["url"] for r in refs}
    fixes = fix_links(snapshot)
    ordered = (
        (*snapshot.references, *vuln.references)
        if source is None
        else (*vuln.references, *snapshot.references)
    )
    for ref in ordered:
        # A CNA may list one URL under several names; each stays, as it wrote them.
        key = ref.url if source is None else (ref.url, ref.name)
        if key in seen:
            continue
        refs.append(_reference(ref, fixes))
        seen.add(key)
    for url in fixes:
        if url not in seen:
            refs.append({"url": url, "tags": ["patch"]})
            seen.add(url)
    return refs
