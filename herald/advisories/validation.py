"""``check_*`` functions: each validates one aspect and raises ``ValidationError``
keyed by the field at fault, so every interface can say which field is wrong."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from cvss import CVSS3, CVSS4
from cvss.exceptions import CVSSError

from herald.advisories.fields import ADVISORY_FIELDS
from herald.core.errors import ValidationError
from herald.incidents.models import Severity

CVE_RE = re.compile(r"^CVE-(\d{4})-(\d{4,19})$")
CWE_RE = re.compile(r"^CWE-[1-9]\d{0,5}$")
TIMELINE = ("discovered_at", "reported_at", "fixed_at", "disclosed_at")
TIMELINE_LABELS = {
    "discovered_at": "discovered",
    "reported_at": "reported",
    "fixed_at": "fixed",
    "disclosed_at": "disclosed",
}


def check_cve_ids(values: Any) -> list[str]:
    """Upper-cased, de-duplicated CVE ids; raises on any malformed one."""
    if values in (None, ""):
        return []
    if isinstance(values, str):
        values = [v for v in re.split(r"[\s,]+", values) if v]
    if not isinstance(values, (list, tuple)):
        raise ValidationError({"cve_ids": "Give CVE ids as a list."})
    cleaned: list[str] = []
    for raw in values:
        value = str(raw).strip().upper()
        match = CVE_RE.match(value)
        if not match or int(match.group(1)) < 1999:
            raise ValidationError(
                {
                    "cve_ids": f"{str(raw)[:60]!r} is not a CVE id "
                    "(CVE-YYYY-NNNN, four or more digits)."
                }
            )
        if value not in cleaned:
            cleaned.append(value)
    return cleaned


def check_cwe_ids(values: Any) -> list[str]:
    if values in (None, ""):
        return []
    if isinstance(values, str):
        values = [v for v in re.split(r"[\s,]+", values) if v]
    cleaned: list[str] = []
    for raw in values:
        value = str(raw).strip().upper()
        if value.isdigit():
            value = f"CWE-{value}"
        if not CWE_RE.match(value):
            raise ValidationError({"cwe_ids": f"{str(raw)[:60]!r} is not a CWE id (CWE-79)."})
        if value not in cleaned:
            cleaned.append(value)
    return cleaned


@dataclass(frozen=True)
class CvssScore:
    vector: str
    score: Decimal
    severity: str


def check_cvss(vector: str, field: str) -> CvssScore | None:
    """Parse and score a CVSS v3.x (``cvss_v3_vector``) or v4.0 (``cvss_v4_vector``) vector."""
    vector = (vector or "").strip()
    if not vector:
        return None
    try:
        if field == "cvss_v3_vector":
            if not vector.startswith(("CVSS:3.1/", "CVSS:3.0/")):
                raise ValidationError({field: "A CVSS v3 vector starts with CVSS:3.1/."})
            parsed3 = CVSS3(vector)
            score, severity, clean = (
                parsed3.scores()[0],
                parsed3.severities()[0],
                parsed3.clean_vector(),
            )
        else:
            if not vector.startswith("CVSS:4.0/"):
                raise ValidationError({field: "A CVSS v4 vector starts with CVSS:4.0/."})
            parsed4 = CVSS4(vector)
            score, severity, clean = parsed4.base_score, parsed4.severity, parsed4.clean_vector()
    except CVSSError as exc:
        raise ValidationError({field: f"Invalid CVSS vector: {exc}"}) from None
    severity = str(severity).lower()
    if severity == "none":
        raise ValidationError(
            {field: "This vector scores 0.0 (no impact); an advisory needs low severity or above."}
        )
    return CvssScore(
        vector=clean, score=Decimal(str(score)).quantize(Decimal("0.1")), severity=severity
    )


def check_severity(value: str) -> str:
    value = (value or "").strip().lower()
    if value and value not in Severity.values:
        raise ValidationError(
            {"severity": f"Unknown severity {value!r}; use one of {', '.join(Severity.values)}."}
        )
    return value


def check_timeline(dates: dict[str, dt.date | None]) -> None:
    """DESIGN.md rule 2: discovered <= reported <= fixed <= disclosed, over the dates given."""
    present = [(name, dates.get(name)) for name in TIMELINE if dates.get(name) is not None]
    for (earlier, earlier_date), (later, later_date) in itertools.pairwise(present):
        assert earlier_date is not None and later_date is not None
        if later_date < earlier_date:
            raise ValidationError(
                {
                    later: f"{TIMELINE_LABELS[later].capitalize()} ({later_date.isoformat()}) "
                    f"is before {TIMELINE_LABELS[earlier]} ({earlier_date.isoformat()}); "
                    "the timeline runs discovered ≤ reported ≤ fixed ≤ disclosed."
                }
            )


def check_status(status: str, fixed_at: dt.date | None) -> None:
    from herald.advisories.models import Advisory

    if status not in Advisory.Status.values:
        raise ValidationError(
            {"status": f"Unknown status {status!r}; use reported, fixed or resolved."}
        )
    if status in (Advisory.Status.FIXED, Advisory.Status.RESOLVED) and fixed_at is None:
        raise ValidationError({"fixed_at": f"Status {status} needs the date it was fixed."})


# What the page's template cannot do without: declared with each field.
PUBLISH_REQUIRED = {f.name: f.needed_to_publish for f in ADVISORY_FIELDS if f.needed_to_publish}


def check_publishable(values: dict[str, Any]) -> None:
    """Everything the public page's template shows must be there before publishing."""
    errors: dict[str, list[str]] = {}
    for name, what in PUBLISH_REQUIRED.items():
        if not values.get(name):
            errors.setdefault(name, []).append(f"Publishing needs {what}.")
    if (
        values.get("status") in ("fixed", "resolved")
        and not (values.get("resolution") or "").strip()
    ):
        errors.setdefault("resolution", []).append(
            "A fixed advisory needs its resolution: the fix and what users should do."
        )
    if errors:
        raise ValidationError(errors)
