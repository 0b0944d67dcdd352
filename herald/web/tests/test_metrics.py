"""Metrics: times to acknowledge, triage, fix and disclose, drawn as SVG and exported as CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io

from django.utils import timezone

from herald.intake.actions import do_change_state, do_submit_report
from herald.web.charts import Bar, bar_chart, text_width
from herald.web.metrics import last_months, metrics
from herald.web.tests.base import WebTestCase


class MetricsTest(WebTestCase):
    def test_time_to_fix_and_disclose_are_medians_by_severity(self) -> None:
        for fixed, disclosed in ((dt.date(2026, 1, 5), dt.date(2026, 1, 11)),
                                 (dt.date(2026, 1, 3), dt.date(2026, 1, 3))):  # fmt: skip
            self.published(severity="high", reported_at=dt.date(2026, 1, 1), fixed_at=fixed,
                           discovered_at=None, disclosed_at=disclosed)  # fmt: skip
        data = metrics(dt.date(2026, 2, 1))
        fix = next(s for s in data.summaries if s.metric.key == "fix")
        high = next(r for r in fix.by_severity if r.key == "high")
        assert (high.count, high.median) == (2, 3.0)
        disclose = next(s for s in data.summaries if s.metric.key == "disclose")
        january = next(r for r in disclose.by_month if r.key == "2026-01")
        assert (january.count, january.median) == (2, 6.0)

    def test_reports_count_by_state_and_source_and_time_to_triage(self) -> None:
        report = do_submit_report(source="web", email="ada@researcher.example", title="T",
                                  body="B", acknowledge=False)  # fmt: skip
        do_change_state(report, "informative", acting_user=self.bob)
        data = metrics(timezone.localdate())
        assert data.reports_by_state is not None and data.reports_by_source is not None
        assert {r.key: r.count for r in data.reports_by_state}["informative"] == 1
        assert {r.key: r.count for r in data.reports_by_source}["web"] == 1
        triage = next(s for s in data.summaries if s.metric.key == "triage")
        assert triage.count == 1

    def test_the_page_draws_accessible_svg_charts_and_the_csv_has_the_same_numbers(self) -> None:
        self.published(severity="medium")
        page = self.client.get("/desk/metrics/").content.decode()
        assert page.count('<svg class="chart" role="img"') >= 8
        assert "Time to fix, median by severity (days)" in page
        response = self.client.get("/desk/metrics.csv")
        assert response["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(response.content.decode())))
        assert rows[0] == ["metric", "unit", "group", "key", "count", "median"]
        assert ["fix", "days", "severity", "medium", "1", "1.0"] in rows
        assert self.client_for(self.charlie).get("/desk/metrics.csv").status_code == 403

    def test_chart_text_is_escaped(self) -> None:
        svg = bar_chart("x", "<b>t</b>", [Bar("<script>", 1.0)])
        assert "<script>" not in svg and "&lt;script&gt;" in svg

    def test_months_run_back_a_year(self) -> None:
        assert last_months(dt.date(2026, 2, 10), 3) == ["2025-12", "2026-01", "2026-02"]


def test_a_long_label_or_value_widens_the_chart_instead_of_being_clipped() -> None:
    """The label is drawn right-aligned before the bar: it must start inside the chart."""
    import re

    label = "Remote code execution in the reporting gateway"
    svg = str(bar_chart("x", "t", [Bar(label, 1.0, note="n=12345"), Bar("ok", 0.5)]))
    width = int(re.search(r'viewBox="0 0 (\d+) ', svg).group(1))  # type: ignore[union-attr]
    label_end = float(re.search(r'<text x="([\d.]+)"[^>]*class="chart-label"', svg).group(1))  # type: ignore[union-attr]
    assert label_end - text_width(label) >= 0
    value_x = float(re.findall(r'<text x="([\d.]+)"[^>]*class="chart-value"', svg)[0])
    assert value_x + text_width("1 (n=12345)") <= width
