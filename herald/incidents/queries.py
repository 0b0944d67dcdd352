"""Reads of incidents."""

from __future__ import annotations

from django.db.models import QuerySet

from herald.core.errors import HeraldError
from herald.incidents.models import Incident


def open_incidents() -> QuerySet[Incident]:
    return Incident.objects.filter(status=Incident.Status.OPEN).select_related("commander")


def access_incident_by_identifier(identifier: str) -> Incident:
    try:
        return Incident.objects.select_related("commander").get(identifier=identifier.upper())
    except Incident.DoesNotExist:
        raise HeraldError(f"No incident {identifier!r}.") from None


def drafts_left_warning(incident: Incident) -> str:
    """A warning when a resolved (or resolving) incident still holds unpublished drafts.

    Reads the advisories through the incident's reverse relation: incidents sit
    below advisories and import nothing from them.
    """
    drafts = list(
        incident.advisories.filter(state=incident.advisories.model.State.DRAFT)
        .order_by("created_at")
        .values_list("identifier", flat=True)
    )
    if not drafts:
        return ""
    names = ", ".join(drafts[:5]) + (f" and {len(drafts) - 5} more" if len(drafts) > 5 else "")
    return (
        f"{incident.identifier} still holds {len(drafts)} unpublished draft(s): {names}. "
        "Publishing or changing one later declares a new incident."
    )
