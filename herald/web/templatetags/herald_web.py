"""Template filters of Herald's pages: sanitised Markdown and human labels for stored codes."""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import TextChoices
from django.urls import NoReverseMatch, reverse
from django.utils.safestring import SafeString, mark_safe

from herald.advisories.models import Advisory, Affected, Credit, Reference, Revision
from herald.core.markdown import render
from herald.core.text import named
from herald.incidents.models import Incident, IncidentEvent, Severity

register = template.Library()

CHOICES: dict[str, type[TextChoices]] = {
    "severity": Severity,
    "status": Advisory.Status,
    "state": Advisory.State,
    "deployment": Affected.Deployment,
    "affected_status": Affected.Status,
    "credit_type": Credit.Type,
    "reference_type": Reference.Type,
    "revision_kind": Revision.Kind,
    "incident_status": Incident.Status,
    "event_kind": IncidentEvent.Kind,
}


@register.filter
def named_controls(text: str | None) -> str:
    """A sender's text with control and bidirectional characters written out
    (``herald.core.text.named``), so the page shows it in the order it was stored."""
    return named(text or "")


@register.filter
def markdown(text: str | None) -> SafeString:
    # render() parses with raw HTML off and then sanitises with nh3: safe to mark.
    return mark_safe(render(text or ""))


@register.filter
def label(value: Any, kind: str) -> str:
    """The display label of a stored choice value, e.g. ``"self_hosted"|label:"deployment"``."""
    return str(dict(CHOICES[kind].choices).get(value, value))


@register.filter
def stored_row_status(row: Any, advisory: Any) -> str:
    """The label of a stored product row's status now, by the rule the public page uses."""
    from herald.advisories.snapshot import row_status_now

    return label(row_status_now(row, advisory.status), "affected_status")


@register.filter
def stored_row_regions(row: Any, advisory: Any) -> str:
    """A stored product row's regions, as the public page shows them ("All" when none)."""
    from herald.advisories.snapshot import row_regions

    return ", ".join(row_regions(row.region, advisory.affected_regions or [])) or "All"


@register.filter
def product_status(row: Any, advisory: Any) -> str:
    """The label of a product row's status as it is now (``AdvisorySnapshot.status_of``)."""
    return label(advisory.status_of(row), "affected_status")


@register.filter
def product_pages(advisory: Any) -> list[tuple[str, str]]:
    """(slug, name) of each product the advisory names, once: their VEX pages' links."""
    return list(
        {row.product_slug: row.product for row in advisory.affected if row.product_slug}.items()
    )


@register.filter
def product_regions(row: Any, advisory: Any) -> str:
    """A product row's regions: its own, else the advisory's (``AdvisorySnapshot.regions_of``)."""
    return str(advisory.regions_of(row))


@register.simple_tag
def optional_url(name: str) -> str:
    """The address of a page of an optional app (reports, campaigns), or "" without it."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return ""
