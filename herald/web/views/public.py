"""The public advisories page and one page per public advisory. No login, no drafts.

These pages are normally served as artifacts, rendered once when they change
(``herald.publishing.site.builders``); these views render the same templates from the
same context functions (``herald.publishing.render.pages``) for whatever is not served that way.

Everything here reads through ``herald.advisories.queries``, which returns
published and withdrawn advisories only (DESIGN.md rule 3). An unknown identifier
and a draft's identifier both raise a bare ``Http404``, so the response is the same
byte for byte: the 404 page must not tell that an embargoed advisory exists.
"""

from __future__ import annotations

import datetime as dt

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from herald.advisories import queries
from herald.advisories.snapshot import snapshot_of
from herald.core.errors import HeraldError
from herald.core.models import Product, VendorProfile
from herald.publishing.render import pages


def advisories_index(request: HttpRequest) -> HttpResponse:
    return render(request, pages.INDEX_TEMPLATE, pages.index_context(VendorProfile.get()))


def advisories_archive(request: HttpRequest, year: int) -> HttpResponse:
    if not dt.MINYEAR <= year <= dt.MAXYEAR:
        raise Http404  # a year no date can have: no advisory was published in it
    context = pages.archive_context(VendorProfile.get(), year)
    if not context["advisories"]:
        raise Http404
    return render(request, pages.ARCHIVE_TEMPLATE, context)


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
        pages.DETAIL_TEMPLATE,
        pages.advisory_context(VendorProfile.get(), snapshot_of(advisory)),
    )


def product_vex(request: HttpRequest, slug: str) -> HttpResponse:
    """One product's vulnerabilities and their status (``pages.product_page_context``)."""
    product = Product.objects.filter(slug=slug).first()
    if product is None:
        raise Http404
    context = pages.product_page_context(VendorProfile.get(), product)
    return render(request, pages.PRODUCT_VEX_TEMPLATE, context)
