"""Demo data: a fictional vendor with incidents and advisories in every state.

Created through the actions, exactly as people would, so the demo also shows
the audit log, incident timelines and revisions.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from herald.advisories.models import Advisory
from herald.core.models import Product, VendorProfile
from herald.incidents.actions import do_resolve_incident
from herald.publication.actions import (
    do_create_advisory,
    do_declare_incident,
    do_mark_fixed,
    do_publish_advisory,
    do_resolve_advisory,
    do_withdraw_advisory,
)


def demo_profile() -> None:
    """The demo vendor's profile (setup writes it before the signing key is generated,
    so that the key's user id names this vendor)."""
    profile = VendorProfile.get()
    profile.name = "Northwind Analytics"
    profile.security_contact = "security@northwind.example"
    profile.status_page_url = "https://status.northwind.example/"
    profile.advisory_prefix = "NWA"
    profile.regions = ["US", "EU"]
    profile.internal_channels = ["#security-incidents", "#support", "#company-announcements"]
    profile.save()


def load_demo() -> str:
    """Load the demo once; returns what was created, or "" if the desk has advisories."""
    if Advisory.objects.exists():
        return ""
    admin = get_user_model().objects.filter(is_superuser=True).order_by("pk").first()
    today = timezone.now().date()

    def ago(days: int) -> dt.date:
        return today - dt.timedelta(days=days)

    with transaction.atomic():
        demo_profile()

        Product.objects.create(
            name="Northwind Cloud", slug="cloud", description="The hosted analytics service."
        )
        Product.objects.create(
            name="northwind-js",
            slug="northwind-js",
            description="The browser SDK.",
            ecosystem="npm",
            package_name="northwind-js",
            repository_url="https://github.com/northwind/northwind-js",
        )
        Product.objects.create(
            name="Northwind Server",
            slug="server",
            description="The self-hosted edition.",
            ecosystem="PyPI",
            package_name="northwind-server",
        )

        past = do_declare_incident(
            title="Session fixation on the login page",
            severity="high",
            reason="Reported by a researcher through the security address.",
            acting_user=admin,
        )
        resolved = do_create_advisory(
            acting_user=admin,
            incident=past,
            title="Session fixation on the login page",
            description="A session identifier set before login was kept after it, so an "
            "attacker who planted one could take over the signed-in session.",
            cve_ids=["CVE-2026-10001"],
            cwe_ids=["CWE-384"],
            cvss_v3_vector="CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:H/I:H/A:N",
            affected_users="Cloud customers in the US and EU regions who signed in with a password.",  # noqa: E501
            resolution="Fixed in [#4211](https://github.com/northwind/app/pull/4211): the "
            "session is rotated at login. No action is needed.",
            discovered_at=ago(60),
            reported_at=ago(59),
            fixed_at=ago(57),
            status="fixed",
            affected=[{"product": "cloud", "deployment": "cloud"}],
            credits=[{"name": "Ada Researcher", "type": "FINDER"}],
            references=[{"url": "https://github.com/northwind/app/pull/4211", "type": "FIX"}],
        )
        resolved = do_publish_advisory(resolved, acting_user=admin)
        do_resolve_advisory(resolved, acting_user=admin, change_summary="Resolved: fix verified.")
        withdrawn = do_create_advisory(
            acting_user=admin,
            incident=past,
            title="Open redirect in the share dialog",
            description="Reported as an open redirect; the target list is in fact fixed.",
            severity="low",
            affected_users="No one: the redirect targets are fixed.",
            discovered_at=ago(58),
            reported_at=ago(58),
            status="reported",
            affected=[{"product": "cloud", "deployment": "cloud", "status": "not_affected"}],
        )
        withdrawn = do_publish_advisory(withdrawn, acting_user=admin)
        do_withdraw_advisory(
            withdrawn,
            acting_user=admin,
            reason="Not a vulnerability: the redirect targets are an allow-list.",
        )
        do_resolve_incident(past, summary="Fixed and disclosed.", acting_user=admin)

        current = do_declare_incident(
            title="SDK leaks project keys to third-party pages",
            severity="critical",
            reason="Found by our own monitoring.",
            acting_user=admin,
        )
        fixed = do_create_advisory(
            acting_user=admin,
            incident=current,
            title="Project API key exposed to embedding pages in northwind-js",
            description="northwind-js 3.0.0 to 3.4.1 exposed the project API key to scripts "
            "on the page that embeds it.",
            cve_ids=["CVE-2026-10002"],
            cwe_ids=["CWE-200"],
            cvss_v4_vector="CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N",
            affected_users="Customers whose pages embed northwind-js 3.0.0 to 3.4.1, in every "
            "region.",
            resolution="Upgrade to 3.4.2 ([#88](https://github.com/northwind/northwind-js/pull/88)).",
            discovered_at=ago(6),
            reported_at=ago(6),
            fixed_at=ago(4),
            status="fixed",
            affected=[
                {
                    "product": "northwind-js",
                    "deployment": "sdk",
                    "introduced": "3.0.0",
                    "fixed": "3.4.2",
                }
            ],
            references=[
                {"url": "https://github.com/northwind/northwind-js/pull/88", "type": "FIX"}
            ],
        )
        do_publish_advisory(fixed, acting_user=admin)
        reported = do_create_advisory(
            acting_user=admin,
            incident=current,
            title="Denial of service in the self-hosted ingestion endpoint",
            description="A crafted batch request makes the ingestion worker loop.",
            severity="medium",
            affected_users="Self-hosted Northwind Server before 2.8.0.",
            resolution="A fix is in progress; rate-limit /batch at your proxy meanwhile.",
            discovered_at=ago(2),
            reported_at=ago(2),
            status="reported",
            affected=[{"product": "server", "deployment": "self_hosted", "introduced": "2.0.0"}],
        )
        do_publish_advisory(reported, acting_user=admin)
        draft = do_create_advisory(
            acting_user=admin,
            incident=current,
            title="Privilege escalation through team invitations",
            description="Under embargo: an invited member could accept as an admin.",
            severity="high",
            affected_users="Cloud customers in the US region.",
            discovered_at=ago(1),
            reported_at=ago(1),
            status="reported",
            embargo_until=timezone.now() + dt.timedelta(days=7),
            confirmed_exposure=True,
            affected=[{"product": "cloud", "deployment": "cloud", "region": "US"}],
        )
        do_mark_fixed(
            draft,
            acting_user=admin,
            fixed_at=today,
            resolution="Fixed in the invitation service; rolling out.",
        )
    return "3 products, 2 incidents, 5 advisories (draft, reported, fixed, resolved, withdrawn)"
