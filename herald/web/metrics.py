"""Response metrics for the desk: how fast reports are answered, triaged, fixed and disclosed.

Durations are measured from the moment the vulnerability reached the vendor:

- acknowledge: report received -> first response to the reporter (hours);
- triage: report received -> triage decision (hours);
- fix: advisory's reported date -> fixed date (days);
- disclose: advisory's reported date -> disclosed date (days).

Each is summarised by severity and by calendar month (medians: one slow case
should not hide how the typical case goes). Report metrics appear only when the
intake app is installed. Pure computation over rows read once; no writes.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from herald.advisories.models import Advisory
from herald.incidents.models import Severity
from herald.web.optional import optional_model

SEVERITIES = [*reversed(Severity.values), ""]  # critical first; "" is "not assessed"
SEVERITY_LABELS = {**dict(Severity.choices), "": "Not assessed"}
MONTHS = 12


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str  # "hours" or "days"


METRICS = (
    Metric("acknowledge", "Time to acknowledge", "hours"),
    Metric("triage", "Time to triage", "hours"),
    Metric("fix", "Time to fix", "days"),
    Metric("disclose", "Time to disclose", "days"),
)


@dataclass(frozen=True)
class Sample:
    severity: str
    month: str  # YYYY-MM of the end of the interval
    value: float


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    count: int
    median: float | None


@dataclass
class MetricSummary:
    metric: Metric
    by_severity: list[Row]
    by_month: list[Row]
    count: int


@dataclass
class Metrics:
    months: list[str]
    summaries: list[MetricSummary] = field(default_factory=list)
    reports_by_state: list[Row] | None = None
    reports_by_source: list[Row] | None = None


def _month(value: dt.date | dt.datetime) -> str:
    return f"{value.year:04d}-{value.month:02d}"


def last_months(today: dt.date, n: int = MONTHS) -> list[str]:
    year, month = today.year, today.month
    out = []
    for _ in range(n):
        out.append(f"{year:04d}-{month:02d}")
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return list(reversed(out))


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def summarise(metric: Metric, samples: Iterable[Sample], months: list[str]) -> MetricSummary:
    by_severity: dict[str, list[float]] = defaultdict(list)
    by_month: dict[str, list[float]] = defaultdict(list)
    count = 0
    for s in samples:
        count += 1
        by_severity[s.severity if s.severity in SEVERITY_LABELS else ""].append(s.value)
        by_month[s.month].append(s.value)
    return MetricSummary(
        metric=metric,
        by_severity=[
            Row(sev, str(SEVERITY_LABELS[sev]), len(by_severity[sev]), _median(by_severity[sev]))
            for sev in SEVERITIES
        ],
        by_month=[Row(m, m, len(by_month[m]), _median(by_month[m])) for m in months],
        count=count,
    )


def _hours(start: dt.datetime, end: dt.datetime) -> float:
    return max((end - start).total_seconds() / 3600, 0.0)


def report_samples() -> dict[str, list[Sample]] | None:
    report_model = optional_model("report")
    if report_model is None:
        return None
    out: dict[str, list[Sample]] = {"acknowledge": [], "triage": []}
    rows: Any = report_model.objects.exclude(state="spam").values_list(
        "created_at", "first_responded_at", "triaged_at", "severity", "advisory__severity"
    )
    for created, responded, triaged, severity, advisory_severity in rows.iterator():
        sev = severity or advisory_severity or ""
        if responded:
            out["acknowledge"].append(Sample(sev, _month(responded), _hours(created, responded)))
        if triaged:
            out["triage"].append(Sample(sev, _month(triaged), _hours(created, triaged)))
    return out


def advisory_samples() -> dict[str, list[Sample]]:
    out: dict[str, list[Sample]] = {"fix": [], "disclose": []}
    rows = Advisory.objects.exclude(reported_at=None).values_list(
        "reported_at", "fixed_at", "disclosed_at", "severity", "state"
    )
    for reported, fixed, disclosed, severity, state in rows.iterator():
        assert reported is not None  # excluded above
        if fixed:
            days = float(max((fixed - reported).days, 0))
            out["fix"].append(Sample(severity, _month(fixed), days))
        if disclosed and state != Advisory.State.DRAFT:
            out["disclose"].append(
                Sample(severity, _month(disclosed), float(max((disclosed - reported).days, 0)))
            )
    return out


def _counts(field_name: str, choices: list[tuple[str, str]]) -> list[Row]:
    report_model = optional_model("report")
    assert report_model is not None
    counts: Counter[str] = Counter(
        report_model.objects.values_list(field_name, flat=True).iterator()
    )
    return [Row(value, str(label), counts.get(value, 0), None) for value, label in choices]


def metrics(today: dt.date) -> Metrics:
    months = last_months(today)
    samples = advisory_samples()
    reports = report_samples()
    if reports is not None:
        samples.update(reports)
    result = Metrics(months=months)
    for metric in METRICS:
        if metric.key in samples:
            result.summaries.append(summarise(metric, samples[metric.key], months))
    report_model = optional_model("report")
    if report_model is not None:
        result.reports_by_state = _counts("state", list(report_model.State.choices))
        result.reports_by_source = _counts("source", list(report_model.Source.choices))
    return result


def csv_rows(data: Metrics) -> list[list[str]]:
    """One flat table of everything on the page: metric, grouping, key, count, median."""
    rows = [["metric", "unit", "group", "key", "count", "median"]]
    for s in data.summaries:
        for group, items in (("severity", s.by_severity), ("month", s.by_month)):
            for r in items:
                median = "" if r.median is None else f"{r.median:.1f}"
                rows.append([s.metric.key, s.metric.unit, group, r.key or "none", str(r.count),
                             median])  # fmt: skip
    for group, counted in (("state", data.reports_by_state), ("source", data.reports_by_source)):
        for r in counted or []:
            rows.append(["reports", "count", group, r.key, str(r.count), ""])
    return rows
