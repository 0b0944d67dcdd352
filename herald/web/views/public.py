"""The public advisories page and one page per public advisory. No login, no drafts.

Everything here reads through ``herald.advisories.queries``, which returns
published and withdrawn advisories only (DESIGN.md rule 3). An unknown identifier
and a draft's identifier both raise a bare ``Http404``, so the response is the same
byte for byte: the 404 page must not tell that an embargoed advisory exists.
"""

from __future__ import annotations

from typing import Any

import yaml
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from herald.advisories import queries
from herald.advisories.snapshot import snapshot_of
from herald.core.errors import HeraldError
from herald.core.models import VendorProfile

DEFAULT_TITLE = "Security advisories"


def page_title(profile: VendorProfile) -> str:
    """The handbook page's ``title:`` front matter, or a plain default."""
    try:
        data: Any = yaml.safe_load(profile.front_matter or "")
    except yaml.YAMLError:
        return DEFAULT_TITLE
    title = data.get("title") if isinstance(data, dict) else None
    return str(title).strip() if title else DEFAULT_TITLE


def advisories_index(request: HttpRequest) -> HttpResponse:
    profile = VendorProfile.get()
    return render(
        request,
        "web/public/index.html",
        {
            "profile": profile,
            "page_title": page_title(profile),
            "current": list(queries.current_advisories()),
            "past": list(queries.past_advisories()),
        },
    )


def advisory_page(request: HttpRequest, identifier: str) -> HttpResponse:
    try:
        advisory = queries.access_public_advisory(identifier)
    except HeraldError:
        # No message: the global 404 page is rendered identically for every miss.
        raise Http404 from None
    if identifier != advisory.identifier:
        # Found by CVE id or in other letter case: one canonical address per advisory.
        return redirect("web:public_advisory", identifier=advisory.identifier)
    return render(
        request,
        "web/public/detail.html",
        {"a": snapshot_of(advisory), "preview": False},
    )
