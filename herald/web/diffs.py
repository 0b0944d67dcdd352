"""Field-by-field differences between consecutive revisions of an advisory.

Revisions store ``AdvisorySnapshot.to_dict()``; comparing two of those dicts shows
reviewers exactly what each public change altered, line by line for prose.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from herald.advisories.models import Revision
from herald.advisories.snapshot import AdvisorySnapshot
from herald.web.errors import label_for

# updated_at moves with every save; listing it would bury the changes that matter.
IGNORED = frozenset({"updated_at"})


@dataclass(frozen=True)
class DiffLine:
    sign: str  # "+", "-" or " "
    text: str

    @property
    def kind(self) -> str:
        return {"+": "added", "-": "removed"}.get(self.sign, "same")


@dataclass(frozen=True)
class FieldChange:
    field: str
    label: str
    lines: tuple[DiffLine, ...]


@dataclass(frozen=True)
class RevisionChanges:
    revision: Revision
    previous: Revision | None
    changes: tuple[FieldChange, ...]


def _lines(value: Any) -> list[str]:
    if value is None or value == "" or value == []:
        return []
    if isinstance(value, str):
        return value.splitlines() or [""]
    if isinstance(value, list):
        return [
            json.dumps(item, sort_keys=True, ensure_ascii=False)
            if isinstance(item, (dict, list))
            else str(item)
            for item in value
        ]
    return [json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else str(value)]


def _flat(stored: Mapping[str, Any]) -> dict[str, Any]:
    """A stored snapshot (of any age: ``from_dict`` reads the flat shape of revisions
    made before vulnerabilities existed) with each vulnerability's fields as their own
    entries, named by the vulnerability's CVE id (or its place), so a reviewer sees
    "CVE-2026-1234 cwe_ids" change rather than one long JSON line."""
    data = AdvisorySnapshot.from_dict(dict(stored)).to_dict()
    data.update({k: v for k, v in stored.items() if k not in data and k not in _OLD_FLAT})
    vulnerabilities = data.pop("vulnerabilities", [])
    for i, vulnerability in enumerate(vulnerabilities):
        name = vulnerability.get("cve_id") or f"Vulnerability {i + 1}"
        for key, value in vulnerability.items():
            if key != "cve_id":
                data[f"{name}: {key}"] = value
        data.setdefault(f"{name}: cve_id", vulnerability.get("cve_id") or "")
    return data


# Keys of the flat snapshots stored before vulnerabilities existed; ``from_dict`` turns
# them into vulnerabilities.
_OLD_FLAT = frozenset(
    {"cve_ids", "cwe_ids", "cvss_v3_vector", "cvss_v3_score", "cvss_v4_vector", "cvss_v4_score",
     "affected"}
)  # fmt: skip


def field_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[FieldChange, ...]:
    before, after = _flat(before), _flat(after)
    keys = [*after, *(k for k in before if k not in after)]
    changes = []
    for key in keys:
        if key in IGNORED or before.get(key) == after.get(key):
            continue
        lines = tuple(
            DiffLine(line[0], line[2:])
            for line in difflib.ndiff(_lines(before.get(key)), _lines(after.get(key)))
            if not line.startswith("?")  # ndiff's intraline hints; the lines say enough
        )
        changes.append(FieldChange(key, _label(key), lines))
    return tuple(changes)


def _label(key: str) -> str:
    """A vulnerability's field reads "CVE-2026-1234: CWE ids" (its name kept as it is)."""
    name, sep, field = key.rpartition(": ")
    return f"{name}: {label_for(field)}" if sep else label_for(key)


def revision_changes(revisions: Iterable[Revision]) -> list[RevisionChanges]:
    """Each revision with what changed since the one before it (the first has none)."""
    result = []
    previous: Revision | None = None
    for revision in revisions:
        changes = field_changes(previous.snapshot, revision.snapshot) if previous else ()
        result.append(RevisionChanges(revision, previous, changes))
        previous = revision
    return result
