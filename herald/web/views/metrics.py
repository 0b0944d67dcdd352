"""The metrics page (SVG charts beside their tables) and the same numbers as CSV."""

from __future__ import annotations

import csv
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.safestring import SafeString

from herald.accounts.guard import staff_required
from herald.web.charts import Bar, bar_chart, column_chart
from herald.web.metrics import MetricSummary, Row, csv_rows, metrics


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    svg: SafeString
    rows: list[Row]
    unit: str


def _bars(rows: list[Row], *, counts: bool = False) -> list[Bar]:
    if counts:
        return [Bar(r.label, float(r.count)) for r in rows]
    return [Bar(r.label, r.median, f"n={r.count}" if r.count else "") for r in rows]


def _charts(summary: MetricSummary) -> list[Chart]:
    m = summary.metric
    by_sev = f"{m.label}, median by severity ({m.unit})"
    by_month = f"{m.label}, median by month ({m.unit})"
    return [
        Chart(f"{m.key}-sev", by_sev, bar_chart(f"{m.key}-sev", by_sev,
              _bars(summary.by_severity), unit=m.unit), summary.by_severity, m.unit),
        Chart(f"{m.key}-month", by_month, column_chart(f"{m.key}-month", by_month,
              _bars(summary.by_month), unit=m.unit), summary.by_month, m.unit),
    ]  # fmt: skip


@staff_required
def metrics_page(request: HttpRequest) -> HttpResponse:
    data = metrics(timezone.localdate())
    sections = [(s, _charts(s)) for s in data.summaries]
    counts = []
    for key, title, rows in (
        ("state", "Reports by state", data.reports_by_state),
        ("source", "Reports by source", data.reports_by_source),
    ):
        if rows is not None:
            svg = bar_chart(f"reports-{key}", title, _bars(rows, counts=True), unit="")
            counts.append(Chart(f"reports-{key}", title, svg, rows, "reports"))
    return render(
        request,
        "web/desk/metrics.html",
        {"data": data, "sections": sections, "counts": counts},
    )


@staff_required
def metrics_csv(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="herald-metrics.csv"'
    writer = csv.writer(response)
    writer.writerows(csv_rows(metrics(timezone.localdate())))
    return response
