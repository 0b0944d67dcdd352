"""The staff desk's front page: what is open, what is waiting, what just went out."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from herald.incidents.queries import open_incidents
from herald.web import queries
from herald.web.access import staff_required


@staff_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "web/desk/dashboard.html",
        {
            "now": timezone.now(),
            "incidents": open_incidents().order_by("-declared_at"),
            "drafts": queries.draft_advisories(),
            "published": queries.recently_published(),
        },
    )
