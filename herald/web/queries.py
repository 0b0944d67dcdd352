"""Reads the staff desk needs beyond the apps' own queries: lists and dashboard panels.

They return drafts, so only desk views (``staff_required``) may call them; public
pages read through ``herald.advisories.queries`` alone, which never returns a draft.
"""

from __future__ import annotations

from django.db.models import QuerySet

from herald.advisories.models import Advisory
from herald.advisories.queries import public_advisories
from herald.incidents.models import Incident


def desk_advisories(*, state: str = "", status: str = "") -> QuerySet[Advisory]:
    """Every advisory, drafts included, optionally narrowed by state and status."""
    queryset = Advisory.objects.select_related("incident").order_by("-updated_at", "-id")
    if state:
        queryset = queryset.filter(state=state)
    if status:
        queryset = queryset.filter(status=status)
    return queryset


def draft_advisories() -> QuerySet[Advisory]:
    """Drafts, the soonest embargo end first, then those without an embargo."""
    return (
        Advisory.objects.filter(state=Advisory.State.DRAFT)
        .select_related("incident")
        .order_by("embargo_until", "-updated_at")
    )


def recently_published(limit: int = 10) -> QuerySet[Advisory]:
    return public_advisories()[:limit]


def all_incidents() -> QuerySet[Incident]:
    """Open incidents first ("open" sorts before "resolved"), newest first within each."""
    return Incident.objects.select_related("commander").order_by("status", "-declared_at", "-id")
