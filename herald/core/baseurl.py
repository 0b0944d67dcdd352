"""The public base URL: the one address every absolute link starts with.

Every surface reads it from the vendor profile (``base_url()``): the rendered
artifacts (security.txt, CSAF metadata, feeds, OSV, pages), the links in mail to
reporters and subscribers, the publish hook. What the profile holds is decided by
``herald setup`` and ``herald serve`` when they start
(``herald.publication.actions.do_apply_base_url``):

1. ``HERALD_BASE_URL`` when it is set: the address the world uses (behind a proxy,
   a CDN, a domain name);
2. else, while the profile follows the server (``base_url_follows_server``, true
   until a person sets the base URL), the address ``herald serve`` listens on,
   e.g. ``herald serve --port 8123`` gives ``http://127.0.0.1:8123``;
3. else what a person set.

A change is written through the profile action (audited), and every artifact is
rendered again, because the old address is inside each of them.
"""

from __future__ import annotations

from django.conf import settings

from herald.core.models import VendorProfile

WILDCARD_HOSTS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # noqa: S104 (names)


def base_url() -> str:
    """The public base URL, without a trailing slash."""
    return VendorProfile.get().base_url.rstrip("/")


def configured() -> str:
    """``HERALD_BASE_URL``, or "" when it is not set."""
    return str(getattr(settings, "HERALD_BASE_URL", "") or "").strip().rstrip("/")


def served_url(host: str, port: int) -> str:
    """The address a browser on this machine reaches ``herald serve --host --port`` at."""
    host = WILDCARD_HOSTS.get(host, host)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def default_served_url() -> str:
    """What ``herald serve`` listens on without options (HERALD_HOST, HERALD_PORT)."""
    return served_url(
        settings.HERALD_ENV.get("HERALD_HOST", "127.0.0.1"),
        int(settings.HERALD_ENV.get("HERALD_PORT", "8000")),
    )
