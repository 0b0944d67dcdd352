"""What publishing one advisory will do, told before the button is pressed.

A read-only plan for the publish dialog: the public surfaces that change, the
internal channels and the number of subscribers told, the outreach campaign
(DESIGN.md rule 4) and its recipients, and the embargo. It reads through the
notify app's own selection functions when that app is installed, so the counts
are the ones the publication will use; without it, those lines are left out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from django.apps import apps

from herald.advisories.models import Advisory
from herald.advisories.rules import embargo_in_force, outreach_required, publish_blockers
from herald.cna.actions import ids_to_send
from herald.cna.queries import cve_services_used
from herald.core.models import VendorProfile
from herald.github import client as github_client
from herald.github.actions import link_of
from herald.publishing.site.surfaces import site_publisher


@dataclass(frozen=True)
class Surface:
    name: str
    detail: str


@dataclass
class PublishPlan:
    surfaces: list[Surface]
    channels: list[str] | None = None  # None: notify is not installed
    subscribers: int | None = None
    needs_outreach: bool = False
    outreach_customers: int | None = None
    outreach_contacts: int | None = None
    embargo_left: dt.timedelta | None = None
    problems: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)


def surfaces_for(advisory: Advisory) -> list[Surface]:
    """The public formats the publication writes (DESIGN.md "Outputs")."""
    cves = list(advisory.cve_ids or [])
    return [
        Surface("Public page", "its own page, and a block under Current advisories"),
        Surface("Markdown handbook page", "a new entry in the handbook layout"),
        Surface("Atom and RSS feeds", "a new entry in each feed"),
        Surface("JSON API", "listed by the advisories API"),
        Surface("OSV", "an OSV 1.7 record, also in all.zip and the query API"),
        Surface("CSAF 2.0", "a signed csaf_security_advisory document and the ROLIE feed"),
        Surface(
            "VEX",
            "a csaf_vex document, OpenVEX and CycloneDX VEX, and each product's VEX page",
        ),
        Surface("CVE JSON 5", _cve_files(cves)),
    ]


def outside_herald(advisory: Advisory, *, withdraw: bool = False) -> list[str]:
    """What the worker then does at CVE Services and on GitHub, from the same functions
    the publication queues its rows with; empty for a desk that uses neither."""
    lines = []
    if cve_services_used():
        sent = ids_to_send(advisory)
        verb = "rejected" if withdraw else "published"
        for cve_id in sorted(set(advisory.cve_ids)):
            if cve_id in sent:
                lines.append(
                    f"CVE Services: the record of {cve_id} is {verb} by the worker, "
                    "retried until CVE Services takes it."
                )
            else:
                lines.append(
                    f"CVE Services: nothing is sent for {cve_id} (not reserved by this CNA "
                    "through Herald, or CVE Services is not configured)."
                )
    link = link_of(advisory)
    if link is not None and not github_client.configured():
        why = github_client.UNCONFIGURED
        lines.append(f"GitHub: nothing reaches {link.repository} yet. {why}")
    elif link is not None:
        name = f"{link.ghsa_id} on {link.repository}" if link.ghsa_id else link.repository
        if link.is_closed:
            lines.append(f"GitHub: {name} is {link.state} there; Herald changes it no more.")
        elif not withdraw:
            lines.append(
                f"GitHub: the repository advisory {name} is published by the worker."
                if link.is_draft
                else f"GitHub: the repository advisory {name} ({link.state}) is updated."
            )
        elif not link.is_draft:
            lines.append(
                f"GitHub: {name} is published there, and GitHub's API cannot withdraw it: "
                "ask GitHub to (https://support.github.com)."
            )
        elif link.ghsa_id and not link.is_closed:
            lines.append(f"GitHub: the draft {name} is closed by the worker.")
    return lines


def _cve_files(cves: list[str]) -> str:
    """What the CVE builder will write: nothing until the CNA's organisation id is set
    (the same test the builder makes, ``Publisher.can_publish_cve``)."""
    if not cves:
        return "no CVE id, no CVE record written"
    if not site_publisher(VendorProfile.get()).can_publish_cve:
        return (
            f"not written for {', '.join(cves)}: CVE records are written for a CNA only, "
            "once HERALD_CNA_SHORT_NAME and HERALD_CNA_ORG_ID are set"
        )
    plural = "s" if len(cves) != 1 else ""
    return f"a CVE record and CNA container for {', '.join(cves)} (file{plural} cve/…)"


def _notify() -> Any | None:
    if not apps.is_installed("herald.notify"):
        return None
    try:
        return import_module("herald.notify.actions")
    except ImportError:
        return None


def publish_plan(advisory: Advisory, *, now: dt.datetime) -> PublishPlan:
    plan = PublishPlan(surfaces=surfaces_for(advisory), outside=outside_herald(advisory))
    plan.needs_outreach = outreach_required(advisory)
    if embargo_in_force(advisory, now):
        assert advisory.embargo_until is not None
        plan.embargo_left = advisory.embargo_until - now
    # The action's own list; the embargo is shown above, and the dialog asks for its reason.
    plan.problems = [b.message for b in publish_blockers(advisory, at=now)
                     if b.field != "embargo_until"]  # fmt: skip
    notify = _notify()
    if notify is None:
        return plan
    from herald.notify.models import Event, Subscriber

    plan.channels = [f"{c.name} ({c.get_kind_display()})"
                     for c in notify.internal_channels(Event.ADVISORY_PUBLISHED)]  # fmt: skip
    product_ids = set(advisory.affected.values_list("product_id", flat=True))
    subscribers = Subscriber.objects.filter(status=Subscriber.Status.ACTIVE).prefetch_related(
        "products"
    )
    plan.subscribers = sum(1 for s in subscribers if s.wants(advisory.severity, product_ids))
    if plan.needs_outreach:
        from herald.notify.models import Contact

        matches = notify.affected_customers(advisory)
        plan.outreach_customers = len(matches)
        plan.outreach_contacts = Contact.objects.filter(
            customer__in=[m.customer for m in matches]
        ).count()
    return plan
