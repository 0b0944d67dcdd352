"""An advisory's record in the shape of a GitHub repository security advisory.

Pure functions of an ``AdvisorySnapshot``: the body of ``POST
/repos/{owner}/{repo}/security-advisories`` (``create_body``) and of the
``PATCH`` that keeps the draft in sync (``update_body``). What maps where:

- ``summary``: the title; ``description``: the description (Markdown), else
  the summary, else the title (GitHub requires one).
- ``vulnerabilities``: one entry per affected product row that names a package
  (its ecosystem in GitHub's vocabulary, else ``other``), with the row's range
  as ``vulnerable_version_range`` (">= 1.0, < 1.2.3") and its fixed version as
  ``patched_versions``; a row without a package is sent as ``other`` named
  after the product. Rows that are not affected are left out.
- ``cwe_ids``: every vulnerability's CWEs; ``cve_id``: the first CVE id.
- ``cvss_vector_string``: the headline vector (4.0, else 3.1); ``severity``
  only without a vector (GitHub takes one or the other).
- ``credits``: the credits whose contact is a GitHub account
  (``https://github.com/LOGIN`` or ``@LOGIN``): GitHub credits logins only.
"""

from __future__ import annotations

import re
from typing import Any

from herald.advisories.snapshot import AdvisorySnapshot, AffectedSnapshot, CreditSnapshot

# OSV's ecosystem names (what Herald's rows carry) to GitHub's.
ECOSYSTEMS = {
    "pypi": "pip",
    "npm": "npm",
    "maven": "maven",
    "nuget": "nuget",
    "packagist": "composer",
    "go": "go",
    "crates.io": "rust",
    "rubygems": "rubygems",
    "hex": "erlang",
    "pub": "pub",
    "github actions": "actions",
    "swifturl": "swift",
}
CREDIT_TYPES = {
    "FINDER", "REPORTER", "ANALYST", "COORDINATOR", "REMEDIATION_DEVELOPER",
    "REMEDIATION_REVIEWER", "REMEDIATION_VERIFIER", "TOOL", "SPONSOR", "OTHER",
}  # fmt: skip
_LOGIN = re.compile(r"(?:https?://github\.com/|@)([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/?")


def github_ecosystem(ecosystem: str) -> str:
    return ECOSYSTEMS.get(ecosystem.strip().lower(), "other")


def _range(row: AffectedSnapshot) -> str:
    if row.introduced or row.fixed or row.last_affected:
        parts = [f">= {row.introduced}"] if row.introduced and row.introduced != "0" else []
        if row.fixed:
            parts.append(f"< {row.fixed}")
        elif row.last_affected:
            parts.append(f"<= {row.last_affected}")
        return ", ".join(parts)
    if row.version:
        return f"= {row.version}"
    return ""


def vulnerabilities(snapshot: AdvisorySnapshot) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for row in snapshot.affected:
        if row.status in ("not_affected", "under_investigation"):
            continue
        ecosystem = github_ecosystem(row.ecosystem) if row.package_name else "other"
        entry: dict[str, Any] = {
            "package": {"ecosystem": ecosystem, "name": row.package_name or row.product},
            "vulnerable_version_range": _range(row) or None,
            "patched_versions": row.fixed or None,
        }
        if entry not in entries:
            entries.append(entry)
    return entries


def login_of(credit: CreditSnapshot) -> str:
    match = _LOGIN.fullmatch(credit.contact.strip())
    return match.group(1) if match else ""


def credits(snapshot: AdvisorySnapshot) -> list[dict[str, str]]:
    out = []
    for credit in snapshot.credits:
        login = login_of(credit)
        if login:
            kind = credit.type if credit.type in CREDIT_TYPES else "OTHER"
            out.append({"login": login, "type": kind.lower()})
    return out


def _content(snapshot: AdvisorySnapshot) -> dict[str, Any]:
    body: dict[str, Any] = {
        "summary": snapshot.title[:1024],
        "description": snapshot.description or snapshot.summary or snapshot.title,
        "vulnerabilities": vulnerabilities(snapshot),
        "cwe_ids": list(snapshot.cwe_ids),
        "credits": credits(snapshot),
    }
    if snapshot.cve_ids:
        body["cve_id"] = snapshot.cve_ids[0]
    vector = snapshot.cvss_v4_vector or snapshot.cvss_v3_vector
    if vector:
        body["cvss_vector_string"] = vector
    elif snapshot.severity:
        body["severity"] = snapshot.severity
    return body


def create_body(snapshot: AdvisorySnapshot) -> dict[str, Any]:
    """The body of POST /repos/{owner}/{repo}/security-advisories."""
    return _content(snapshot)


def update_body(snapshot: AdvisorySnapshot, *, publish: bool = False) -> dict[str, Any]:
    """The body of PATCH .../security-advisories/{ghsa_id}; ``publish`` adds state=published."""
    body = _content(snapshot)
    if publish:
        body["state"] = "published"
    return body
