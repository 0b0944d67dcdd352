"""What the dashboard shows: each panel is one read, computed for one moment ``now``.

Panels about reports and campaigns appear only when their apps are installed
(``herald.web.optional``). Every read here includes drafts, so only desk views
(``staff_required``) call it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Case, Count, F, Q, QuerySet, When
from django.urls import reverse

from herald.advisories.models import Advisory
from herald.incidents.models import Incident
from herald.incidents.queries import open_incidents
from herald.web.optional import optional_model

DEADLINE_WINDOW = dt.timedelta(days=14)
PANEL_LIMIT = 50


@dataclass(frozen=True)
class WaitingReport:
    report: Any
    waiting_for: str  # "first response" or "triage decision"
    due: dt.datetime
    overdue: bool


@dataclass(frozen=True)
class CampaignProgress:
    campaign: Any
    recipients: int
    sent: int
    waiting: int
    dead: int

    @property
    def percent(self) -> int:
        total = self.sent + self.waiting + self.dead
        return round(100 * (self.sent + self.dead) / total) if total else 0


@dataclass(frozen=True)
class Deadline:
    at: dt.datetime
    what: str
    label: str
    url: str


@dataclass
class Dashboard:
    now: dt.datetime
    incidents: list[Incident]
    embargoed: list[Advisory]
    other_drafts: list[Advisory]
    reports: list[WaitingReport] | None = None  # None: intake is not installed
    campaigns: list[CampaignProgress] | None = None  # None: notify is not installed
    deadlines: list[Deadline] = field(default_factory=list)
    given_up: list[Any] | None = None  # None: notify is not installed
    given_up_count: int = 0


def _drafts() -> QuerySet[Advisory]:
    return Advisory.objects.filter(state=Advisory.State.DRAFT).select_related("incident")


def waiting_reports(now: dt.datetime) -> list[WaitingReport] | None:
    """Reports waiting for a first response or a triage decision, the most overdue first."""
    report_model = optional_model("report")
    if report_model is None:
        return None
    queryset = (
        report_model.objects.filter(state__in=["new", "needs_more_info"])
        .filter(Q(first_responded_at__isnull=True) | Q(triaged_at__isnull=True))
        .select_related("reporter", "assignee")
        .annotate(
            due=Case(
                When(first_responded_at__isnull=True, then=F("first_response_due")),
                default=F("triage_due"),
            )
        )
        .order_by("due", "id")[:PANEL_LIMIT]
    )
    return [
        WaitingReport(
            report=r,
            waiting_for="first response" if r.first_responded_at is None else "triage decision",
            due=r.due,
            overdue=r.due < now,
        )
        for r in queryset
    ]


def campaigns_in_flight() -> list[CampaignProgress] | None:
    """Campaigns awaiting approval or sending, and sent ones with deliveries still going."""
    campaign_model = optional_model("campaign")
    delivery_model = optional_model("delivery")
    if campaign_model is None or delivery_model is None:
        return None
    unfinished = ["pending", "sending", "failed"]
    campaigns = list(
        campaign_model.objects.filter(
            Q(status__in=["draft", "approved"])
            | Q(status="sent", deliveries__status__in=unfinished)
        )
        .distinct()
        .select_related("advisory")
        .annotate(recipient_count=Count("recipients", distinct=True))
        .order_by("created_at", "id")[:PANEL_LIMIT]
    )
    counts: dict[tuple[int, str], int] = {}
    rows = (
        delivery_model.objects.filter(campaign__in=[c.pk for c in campaigns])
        .order_by()
        .values_list("campaign", "status")
        .annotate(n=Count("id"))
    )
    for campaign_id, status, n in rows:
        counts[(campaign_id, status)] = n
    return [
        CampaignProgress(
            campaign=c,
            recipients=c.recipient_count,
            sent=counts.get((c.pk, "sent"), 0),
            waiting=sum(counts.get((c.pk, s), 0) for s in unfinished),
            dead=counts.get((c.pk, "dead"), 0),
        )
        for c in campaigns
    ]


def upcoming_deadlines(now: dt.datetime, window: dt.timedelta = DEADLINE_WINDOW) -> list[Deadline]:
    """Embargo ends, scheduled publications and report deadlines between now and ``window``."""
    until = now + window
    found: list[Deadline] = []
    for a in _drafts().filter(embargo_until__gte=now, embargo_until__lte=until):
        assert a.embargo_until is not None
        found.append(
            Deadline(
                a.embargo_until,
                "Embargo ends",
                f"{a.identifier}: {a.title}",
                reverse("web:advisory_detail", args=[a.identifier]),
            )
        )
    for a in _drafts().filter(scheduled_publish_at__gte=now, scheduled_publish_at__lte=until):
        assert a.scheduled_publish_at is not None
        found.append(
            Deadline(
                a.scheduled_publish_at,
                "Scheduled publication",
                f"{a.identifier}: {a.title}",
                reverse("web:advisory_detail", args=[a.identifier]),
            )
        )
    report_model = optional_model("report")
    if report_model is not None:
        open_states = ["new", "needs_more_info", "accepted"]
        checks: tuple[tuple[str, str, dict[str, Any]], ...] = (
            ("disclosure_deadline", "Disclosure deadline", {}),
            ("first_response_due", "First response due", {"first_responded_at__isnull": True}),
            ("triage_due", "Triage decision due", {"triaged_at__isnull": True}),
        )
        for field_name, what, extra in checks:
            reports = report_model.objects.filter(
                state__in=open_states,
                **{f"{field_name}__gte": now, f"{field_name}__lte": until},
                **extra,
            )[:PANEL_LIMIT]
            for r in reports:
                found.append(
                    Deadline(
                        getattr(r, field_name),
                        what,
                        f"{r.tracking_id}: {r.title}",
                        _report_url(r.tracking_id),
                    )
                )
    found.sort(key=lambda d: d.at)
    return found


def _report_url(tracking_id: str) -> str:
    try:
        return reverse("intake:desk_report", args=[tracking_id])
    except Exception:  # the intake app without its desk pages: no link rather than a crash
        return ""


def given_up() -> tuple[list[Any] | None, int]:
    """Dead deliveries waiting for a person (``herald.notify.queries.needs_a_person``)."""
    if optional_model("delivery") is None:
        return None, 0
    from herald.notify.queries import needs_a_person

    rows = needs_a_person()
    return list(rows[:PANEL_LIMIT]), rows.count()


def dashboard(now: dt.datetime) -> Dashboard:
    drafts = list(_drafts().order_by("embargo_until", "-updated_at"))
    dead, dead_count = given_up()
    return Dashboard(
        now=now,
        incidents=list(open_incidents().order_by("declared_at", "id")),
        embargoed=[a for a in drafts if a.embargo_until and a.embargo_until > now],
        other_drafts=[a for a in drafts if not (a.embargo_until and a.embargo_until > now)],
        reports=waiting_reports(now),
        campaigns=campaigns_in_flight(),
        deadlines=upcoming_deadlines(now),
        given_up=dead,
        given_up_count=dead_count,
    )
