"""``/metrics`` in the Prometheus text format, computed from the database at scrape time.

Every value is read from the database (or this machine's served copy) when
Prometheus asks, with a handful of aggregate queries: the numbers are the same
whichever process or machine answers, and nothing needs counting in memory
across web processes, workers and the CLI. Publications are the
``Regeneration`` rows each publication writes with its duration.

Who may read it (``allowed``): a request bearing ``HERALD_METRICS_TOKEN``, or one
from a network in ``HERALD_METRICS_ALLOW`` (default: loopback) that did not come
through a proxy (no ``X-Forwarded-For``/``Forwarded`` header: behind a reverse
proxy on the same machine every visitor would otherwise look like loopback).
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterator

from django.apps import apps
from django.conf import settings
from django.db.models import Count, Max, Min, Sum
from django.http import HttpRequest
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry


class HeraldCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily | SummaryMetricFamily]:
        from herald.notify.delivery import UNFINISHED_ROWS
        from herald.notify.models import Delivery
        from herald.ops.health import heartbeat_age, site_lag
        from herald.publishing.models import Regeneration

        now = timezone.now()
        deliveries = GaugeMetricFamily(
            "herald_deliveries",
            "Deliveries (messages to one recipient) by state and channel kind.",
            labels=["state", "channel"],
        )
        counts = {(s, k): 0 for s in Delivery.Status.values for k in _channel_kinds()}
        for row in Delivery.objects.values("status", "kind").annotate(n=Count("id")).order_by():
            counts[(row["status"], row["kind"])] = row["n"]
        for (state, kind), n in sorted(counts.items()):
            deliveries.add_metric([state, kind], n)
        yield deliveries

        oldest = Delivery.objects.filter(UNFINISHED_ROWS).aggregate(at=Min("created_at"))["at"]
        yield GaugeMetricFamily(
            "herald_delivery_oldest_pending_age_seconds",
            "Age of the oldest delivery not yet sent nor dead (0 when none).",
            value=(now - oldest).total_seconds() if oldest else 0.0,
        )

        age = heartbeat_age()
        yield GaugeMetricFamily(
            "herald_worker_heartbeat_age_seconds",
            "Seconds since the newest worker heartbeat (absent: no worker ever ran).",
            value=age if age is not None else float("nan"),
        )

        totals = Regeneration.objects.aggregate(n=Count("generation"), s=Sum("seconds"))
        summary = SummaryMetricFamily(
            "herald_publication_duration_seconds",
            "Publications (regenerations of the published files) and the time they took.",
            count_value=totals["n"] or 0,
            sum_value=totals["s"] or 0.0,
        )
        yield summary
        last = Regeneration.objects.order_by("-generation").values("seconds", "finished_at").first()
        yield GaugeMetricFamily(
            "herald_publication_last_duration_seconds",
            "Duration of the newest publication.",
            value=last["seconds"] if last else 0.0,
        )
        yield GaugeMetricFamily(
            "herald_publication_last_timestamp_seconds",
            "When the newest publication finished (Unix time; 0 when none).",
            value=last["finished_at"].timestamp() if last else 0.0,
        )

        newest, served, lag = site_lag()
        yield GaugeMetricFamily(
            "herald_served_copy_lag_seconds",
            "How long this machine's served copy has been behind the database (0 when current).",
            value=lag,
        )
        yield GaugeMetricFamily(
            "herald_served_copy_generations_behind",
            "Generations of published files the served copy lacks.",
            value=max(0, newest - served),
        )

        if apps.is_installed("herald.intake"):
            from herald.intake.models import Report

            reports = CounterMetricFamily(
                "herald_reports_received",
                "Vulnerability reports received, by how they came.",
                labels=["source"],
            )
            by_source = dict.fromkeys(Report.Source.values, 0)
            sources = Report.objects.values_list("source").annotate(n=Count("id")).order_by()
            for source, n in sources:
                by_source[source] = n
            for name, count in sorted(by_source.items()):
                reports.add_metric([name], count)
            yield reports
            newest_report = Report.objects.aggregate(at=Max("created_at"))["at"]
            yield GaugeMetricFamily(
                "herald_report_last_timestamp_seconds",
                "When the newest report arrived (Unix time; 0 when none).",
                value=newest_report.timestamp() if newest_report else 0.0,
            )


def _channel_kinds() -> list[str]:
    from herald.notify.models import Channel

    return list(Channel.Kind.values)


def render() -> bytes:
    from prometheus_client import generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(HeraldCollector())
    return generate_latest(registry)


def allowed(request: HttpRequest) -> bool:
    """A valid bearer token, or a direct request from an allowed network."""
    token = settings.HERALD_METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer "):
        return hmac.compare_digest(header[7:].strip().encode(), token.encode())
    if "X-Forwarded-For" in request.headers or "Forwarded" in request.headers:
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in allowed_networks())


def allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    networks = []
    for text in settings.HERALD_METRICS_ALLOW:
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            continue  # reported by the system check herald.E020
    return networks
