"""The staff desk's front page: what needs a responder now, and what is due soon."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from herald.accounts.guard import staff_required
from herald.web import queries
from herald.web.dashboard import dashboard as dashboard_panels


@staff_required
def dashboard(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    return render(
        request,
        "web/desk/dashboard.html",
        {
            "now": now,
            "d": dashboard_panels(now),
            "published": queries.recently_published(),
        },
    )
