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
