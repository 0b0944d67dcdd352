"""Public machine-readable surfaces: feeds, security.txt, the signing keys."""

from __future__ import annotations

import datetime as dt

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from herald.advisories.queries import public_advisories
from herald.advisories.snapshot import snapshot_of
from herald.core.models import Product, VendorProfile
from herald.publishing import signing
from herald.publishing.feeds import FeedInfo, render_atom, render_rss
from herald.publishing.securitytxt import SecurityTxtInput, render_security_txt


def _absolute(profile: VendorProfile, path: str) -> str:
    return profile.base_url.rstrip("/") + path


def _feed_response(request: HttpRequest, kind: str, product_slug: str | None) -> HttpResponse:
    profile = VendorProfile.get()
    advisories = public_advisories()
    title = f"{profile.name} security advisories"
    if product_slug is not None:
        product = Product.objects.filter(slug=product_slug).first()
        if product is None:
            raise Http404("No such product.")
        advisories = advisories.filter(affected__product=product).distinct()
        title = f"{title}: {product.name}"
    info = FeedInfo(
        title=title,
        page_url=_absolute(profile, "/security/advisories/"),
        feed_url=_absolute(profile, request.path),
        advisory_url=_absolute(profile, "/security/advisories/{identifier}/"),
    )
    snapshots = [snapshot_of(a, with_history=False) for a in advisories[:100]]
    if kind == "atom":
        return HttpResponse(
            render_atom(info, snapshots), content_type="application/atom+xml; charset=utf-8"
        )
    return HttpResponse(
        render_rss(info, snapshots), content_type="application/rss+xml; charset=utf-8"
    )


@require_safe
def atom_feed(request: HttpRequest, product: str | None = None) -> HttpResponse:
    return _feed_response(request, "atom", product)


@require_safe
def rss_feed(request: HttpRequest, product: str | None = None) -> HttpResponse:
    return _feed_response(request, "rss", product)


def security_txt_input(profile: VendorProfile) -> SecurityTxtInput:
    return SecurityTxtInput(
        base_url=profile.base_url,
        contact_email=profile.security_contact,
        report_url=_absolute(profile, "/security/report/"),
        policy_url=_absolute(profile, "/security/advisories/#reporting"),
        encryption_url=_absolute(profile, reverse("publishing:pgp-key")),
        acknowledgments_url=_absolute(profile, "/security/advisories/#acknowledgments"),
        preferred_languages=("en",),
    )


@require_safe
def security_txt(request: HttpRequest) -> HttpResponse:
    profile = VendorProfile.get()
    # The start of the day: one text (and one signature) per day, always 90 days ahead.
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    text = render_security_txt(security_txt_input(profile), today)
    if signing.active_key() is not None:
        text = signing.sign_cleartext(text)
    response = HttpResponse(text, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = f"public, max-age={int(dt.timedelta(hours=1).total_seconds())}"
    return response


@require_safe
def pgp_key(request: HttpRequest) -> HttpResponse:
    keys = signing.public_keys_armored()
    if not keys:
        raise Http404("No signing key yet.")
    return HttpResponse(keys, content_type="application/pgp-keys")
