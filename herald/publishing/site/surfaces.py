"""What the standard-format surfaces (OSV, CSAF, CVE) share on top of the renderers.

- ``site_publisher``: the ``Publisher`` of the vendor profile, completed from the
  environment for what the profile does not store yet (the CNA identity);
- ``refuse``: a renderer's output failed its validator; turn the problems into a
  ``ValidationError`` keyed by the advisory field at fault, so publishing is
  refused with a message the desk can attach to that field;
- ``stored``: the artifacts already stored under a path prefix, overlaid with what
  the running regeneration renders for the advisories that changed, so a site-wide
  index never re-renders 10,000 documents to add one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS

from herald.core.errors import ValidationError
from herald.core.models import VendorProfile
from herald.publishing.models import Artifact
from herald.publishing.render.publisher import Publisher, publisher_from_profile
from herald.publishing.store.artifacts import read_many

JSON = "application/json"
CSV = "text/csv; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
ZIP = "application/zip"
PGP_KEYS = "application/pgp-keys"
PGP_SIGNATURE = "application/pgp-signature"

# CVE Services identity. VendorProfile has no fields for it yet (proposed:
# cna_org_id, cna_short_name); until then settings or the environment give it.
CNA_SETTINGS = (("cna_org_id", "HERALD_CNA_ORG_ID"), ("cna_short_name", "HERALD_CNA_SHORT_NAME"))


def site_publisher(profile: VendorProfile | None = None) -> Publisher:
    """The publisher every surface renders with."""
    profile = profile or VendorProfile.get()
    overrides: dict[str, str] = {}
    for field, name in CNA_SETTINGS:
        if getattr(profile, field, ""):
            continue
        value = str(getattr(settings, name, "") or settings.HERALD_ENV.get(name, "")).strip()
        if value:
            overrides[field] = value
    prefix = getattr(settings, "HERALD_OSV_ID_PREFIX", None)
    if prefix is not None:
        overrides["osv_id_prefix"] = prefix
    return publisher_from_profile(profile, **overrides)


def stored(prefix: str, suffix: str = "") -> dict[str, bytes]:
    """Stored artifacts whose path starts with ``prefix`` (and ends with ``suffix``)."""
    rows = Artifact.objects.filter(path__startswith=prefix)
    if suffix:
        rows = rows.filter(path__endswith=suffix)
    return dict(read_many(rows))


def is_stored(path: str) -> bool:
    return Artifact.objects.filter(path=path).exists()


# --- refusing invalid output --------------------------------------------------------

# (format, JSON path pattern) -> advisory field. First match wins; a path that
# matches none is not the advisory's fault alone and goes to the non-field errors.
FieldRule = tuple[re.Pattern[str], str | Callable[[dict[str, Any], str], str]]


def _severity_field(doc: dict[str, Any], path: str) -> str:
    """OSV /severity/N: which vector, by the entry's type."""
    match = re.match(r"^/severity/(\d+)", path)
    if match:
        entries = doc.get("severity") or []
        index = int(match.group(1))
        entry = entries[index] if index < len(entries) else None
        if isinstance(entry, dict) and entry.get("type") == "CVSS_V4":
            return "cvss_v4_vector"
    return "cvss_v3_vector"


def _cve_metric_field(doc: dict[str, Any], path: str) -> str:
    return "cvss_v4_vector" if "cvssV4" in path else "cvss_v3_vector"


RULES: dict[str, list[FieldRule]] = {
    "OSV": [
        (re.compile(r"^/severity"), _severity_field),
        (re.compile(r"^/affected"), "affected"),
        (re.compile(r"^/aliases"), "cve_ids"),
        (re.compile(r"^/references"), "references"),
        (re.compile(r"^/credits"), "credits"),
        (re.compile(r"^/summary"), "title"),
        (re.compile(r"^/details"), "description"),
        (re.compile(r"^/id"), "identifier"),
        (re.compile(r"^/database_specific"), "cwe_ids"),
    ],
    "CSAF": [
        (re.compile(r"^/vulnerabilities/\d+/scores"), "cvss_v3_vector"),
        (re.compile(r"^/vulnerabilities/\d+/cwe"), "cwe_ids"),
        (re.compile(r"^/vulnerabilities/\d+/(cve|ids)"), "cve_ids"),
        (re.compile(r"^/vulnerabilities/\d+/references"), "references"),
        (re.compile(r"^/vulnerabilities/\d+/remediations"), "resolution"),
        (re.compile(r"^/vulnerabilities/\d+/notes"), "description"),
        (re.compile(r"^/vulnerabilities/\d+/(product_status|title)"), "affected"),
        (re.compile(r"^/vulnerabilities/\d+/discovery_date"), "discovered_at"),
        (re.compile(r"^/product_tree"), "affected"),
        (re.compile(r"^/document/acknowledgments"), "credits"),
        (re.compile(r"^/document/aggregate_severity"), "severity"),
        (re.compile(r"^/document/title"), "title"),
        (re.compile(r"^/document/notes"), "summary"),
        (re.compile(r"^/document/references"), "references"),
    ],
    "OpenVEX": [
        (re.compile(r"^/statements/\d+"), "affected"),
    ],
    "CycloneDX": [
        (re.compile(r"^/vulnerabilities/\d+/ratings"), "cvss_v3_vector"),
        (re.compile(r"^/vulnerabilities/\d+/cwes"), "cwe_ids"),
        (re.compile(r"^/vulnerabilities/\d+/(description|detail)"), "description"),
        (re.compile(r"^/vulnerabilities/\d+/(advisories|references)"), "references"),
        (re.compile(r"^/(vulnerabilities|components)"), "affected"),
    ],
    "CVE": [
        (re.compile(r"^/containers/cna/metrics"), _cve_metric_field),
        (re.compile(r"^/containers/cna/affected"), "affected"),
        (re.compile(r"^/containers/cna/problemTypes"), "cwe_ids"),
        (re.compile(r"^/containers/cna/references"), "references"),
        (re.compile(r"^/containers/cna/credits"), "credits"),
        (re.compile(r"^/containers/cna/descriptions"), "description"),
        (re.compile(r"^/containers/cna/solutions"), "resolution"),
        (re.compile(r"^/containers/cna/title"), "title"),
        (re.compile(r"^/containers/cna/timeline"), "disclosed_at"),
        (re.compile(r"^/containers/cna/rejectedReasons"), "withdrawn_reason"),
        (re.compile(r"^/cveMetadata/cveId"), "cve_ids"),
    ],
}


def _strip_prefix(path: str, prefix: str) -> str:
    return path[len(prefix) :] if prefix and path.startswith(prefix) else path


def field_of(kind: str, doc: Mapping[str, Any], path: str) -> str:
    """The advisory field a problem at ``path`` of a ``kind`` document comes from."""
    for pattern, target in RULES.get(kind, []):
        if pattern.search(path):
            return target if isinstance(target, str) else target(dict(doc), path)
    return NON_FIELD_ERRORS


def refuse(
    kind: str,
    label: str,
    doc: Mapping[str, Any],
    problems: Iterable[str],
    *,
    path_prefix: str = "",
) -> None:
    """Raise a ``ValidationError`` naming the fields at fault; nothing when no problem.

    ``problems`` are the validators' "path: message" strings; ``label`` says which
    document (e.g. "OSV NW-2026-0001.json") for the person reading the message.
    """
    errors: dict[str, list[str]] = {}
    for problem in problems:
        path = problem.split(":", 1)[0].strip()
        field = field_of(kind, doc, _strip_prefix(path, path_prefix))
        errors.setdefault(field, []).append(f"{label} {problem}")
    if errors:
        raise ValidationError(errors)
