"""Public machine-readable surfaces: feeds, security.txt, the signing keys, the handbook page.

Normally served as artifacts (``herald.publishing.site.builders``, ``serving``); these
views render the same bytes with the same functions for whatever is not an
artifact yet, e.g. a product with no public advisory, or a fresh install.
"""

from __future__ import annotations

import datetime as dt

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from herald.core.models import Product, VendorProfile
from herald.publishing.site import builders
from herald.publishing.store import signing


def _feed_response(kind: str, product_slug: str | None) -> HttpResponse:
    product = None
    if product_slug is not None:
        product = Product.objects.filter(slug=product_slug).first()
        if product is None:
            raise Http404("No such product.")
    return HttpResponse(
        builders.feed_bytes(VendorProfile.get(), kind, product),
        content_type=builders.FEED_TYPES[kind],
    )


@require_safe
def atom_feed(request: HttpRequest, product: str | None = None) -> HttpResponse:
    return _feed_response("atom", product)


@require_safe
def rss_feed(request: HttpRequest, product: str | None = None) -> HttpResponse:
    return _feed_response("rss", product)


@require_safe
def security_txt(request: HttpRequest) -> HttpResponse:
    text = builders.security_txt_text(VendorProfile.get())
    response = HttpResponse(text, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = f"public, max-age={int(dt.timedelta(hours=1).total_seconds())}"
    return response


@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    icon = builders.favicon_bytes()
    if icon is None:
        raise Http404("No icon.")
    response = HttpResponse(icon, content_type=builders.STATIC_FILES[builders.FAVICON_SOURCE])
    response["Cache-Control"] = f"public, max-age={int(dt.timedelta(days=1).total_seconds())}"
    return response


@require_safe
def pgp_key(request: HttpRequest) -> HttpResponse:
    keys = signing.public_keys_armored()
    if not keys:
        raise Http404("No signing key yet.")
    return HttpResponse(keys, content_type="application/pgp-keys")


@require_safe
def markdown_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse(
        builders.handbook_markdown(VendorProfile.get()),
        content_type="text/markdown; charset=utf-8",
    )
