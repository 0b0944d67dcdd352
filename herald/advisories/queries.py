"""Reads of advisories. Public reads never return a draft (DESIGN.md rule 3)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q, QuerySet

from herald.advisories.models import Advisory, Vulnerability
from herald.core.errors import HeraldError

PUBLIC_STATES = (Advisory.State.PUBLISHED, Advisory.State.WITHDRAWN)
# Public and not current: withdrawn, or published and resolved (the complement of
# current_advisories() among the public ones, as one condition on the row).
PAST = Q(state=Advisory.State.WITHDRAWN) | Q(
    state=Advisory.State.PUBLISHED, status=Advisory.Status.RESOLVED
)


def public_advisories() -> QuerySet[Advisory]:
    """Every advisory the public may see, newest first."""
    return (
        Advisory.objects.filter(state__in=PUBLIC_STATES)
        .select_related("incident")
        .prefetch_related(
            "affected__product", "vulnerabilities", "sources", "credits", "references"
        )
        .order_by("-published_at", "-id")
    )


def current_advisories() -> QuerySet[Advisory]:
    return (
        public_advisories()
        .filter(state=Advisory.State.PUBLISHED)
        .exclude(status=Advisory.Status.RESOLVED)
    )


def past_advisories() -> QuerySet[Advisory]:
    """Resolved and withdrawn advisories, kept for reference."""
    return public_advisories().filter(PAST)


def access_public_advisory(identifier: str) -> Advisory:
    """A public advisory by identifier or CVE id; a draft is "not found", like a missing one."""
    key = identifier.strip().upper()
    queryset = public_advisories()
    advisory = queryset.filter(identifier=key).first()
    if advisory is None and key.startswith("CVE-"):
        advisory = with_cve(queryset, key).first()
    if advisory is None:
        raise HeraldError(f"No published advisory {identifier[:60]!r}.")
    return advisory


def access_advisory_by_identifier(identifier: str) -> Advisory:
    """Any advisory, drafts included: for the desk and the CLI only."""
    try:
        return Advisory.objects.select_related("incident").get(
            identifier=identifier.strip().upper()
        )
    except Advisory.DoesNotExist:
        raise HeraldError(f"No advisory {identifier[:60]!r}.") from None


# ---------------------------------------------------------------- incidents, for people


def declared_for_change(advisory: Advisory, incident_before: int | None) -> str:
    """What to tell the person whose change made Herald declare an incident, or "".

    ``incident_before`` is the advisory's incident before the change (None for a
    new draft). An advisory moved to another incident by hand is no news: only
    an incident declared automatically for this advisory alone is.
    """
    incident = advisory.incident
    if advisory.incident_id == incident_before or not incident.auto_declared:
        return ""
    if incident.advisories.exclude(pk=advisory.pk).exists():
        return ""
    return f"Incident {incident.identifier} declared automatically: {incident.declared_reason}"


def with_cve(queryset: QuerySet[Advisory], cve: str) -> QuerySet[Advisory]:
    """The advisories of ``queryset`` one of whose vulnerabilities has this CVE id."""
    return queryset.filter(
        pk__in=Vulnerability.objects.filter(cve_id=cve.strip().upper()).values("advisory_id")
    ).order_by("id")


def cve_ids_of(advisory_ids: Iterable[int]) -> dict[int, list[str]]:
    """Each advisory's CVE ids in its vulnerabilities' order, in one query (for lists
    that load advisories as values, not instances)."""
    ids = list(advisory_ids)
    found: dict[int, list[str]] = {pk: [] for pk in ids}
    for start in range(0, len(ids), 900):  # SQLite's bound-parameter limit
        rows = (
            Vulnerability.objects.filter(advisory_id__in=ids[start : start + 900])
            .exclude(cve_id="")
            .order_by("advisory_id", "position", "id")
            .values_list("advisory_id", "cve_id")
        )
        for pk, cve in rows:
            found[pk].append(cve)
    return found
