"""The security headers of every response: one definition for both paths a page takes.

Django's pages get them from ``SecurityHeadersMiddleware``
(``herald.accounts.middleware``); published artifacts, answered by the WSGI front
(``herald.publishing.store.serving``) without Django, get them from the same function,
so a page looks the same to a browser whichever path served it: a strict
Content-Security-Policy (no inline script or style, no framing), Permissions-Policy,
nosniff, Referrer-Policy, Cross-Origin-Opener-Policy, X-Frame-Options, and HSTS
on HTTPS requests when ``SECURE_HSTS_SECONDS`` is set (``HERALD_SECURE_COOKIES``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings

PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer", "camera", "geolocation", "gyroscope", "magnetometer",
        "microphone", "payment", "usb", "interest-cohort", "browsing-topics",
    )
) + ", publickey-credentials-get=(self), publickey-credentials-create=(self)"  # fmt: skip


def content_security_policy() -> str:
    form_targets = " ".join(["'self'", *getattr(settings, "HERALD_CSP_FORM_ACTION", [])])
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "manifest-src 'self'",
            f"form-action {form_targets}",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "object-src 'none'",
        ]
    )


def strict_transport_security() -> str | None:
    """The HSTS value, as Django's SecurityMiddleware builds it; None when off."""
    seconds = int(getattr(settings, "SECURE_HSTS_SECONDS", 0) or 0)
    if not seconds:
        return None
    value = f"max-age={seconds}"
    if getattr(settings, "SECURE_HSTS_INCLUDE_SUBDOMAINS", False):
        value += "; includeSubDomains"
    if getattr(settings, "SECURE_HSTS_PRELOAD", False):
        value += "; preload"
    return value


def security_headers(*, secure: bool) -> list[tuple[str, str]]:
    """Every security header of a response to a request made over HTTPS (``secure``) or not."""
    headers = [
        ("Content-Security-Policy", content_security_policy()),
        ("Permissions-Policy", PERMISSIONS_POLICY),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", str(settings.SECURE_REFERRER_POLICY or "same-origin")),
        (
            "Cross-Origin-Opener-Policy",
            str(getattr(settings, "SECURE_CROSS_ORIGIN_OPENER_POLICY", None) or "same-origin"),
        ),
        ("X-Frame-Options", str(getattr(settings, "X_FRAME_OPTIONS", None) or "DENY")),
    ]
    hsts = strict_transport_security()
    if secure and hsts:
        headers.append(("Strict-Transport-Security", hsts))
    return headers


def wsgi_is_secure(environ: Mapping[str, Any]) -> bool:
    """Whether a WSGI request came over HTTPS, as ``HttpRequest.is_secure`` decides it
    (the proxy's header named by ``SECURE_PROXY_SSL_HEADER`` counts when set)."""
    proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy:
        header, value = proxy
        forwarded = environ.get(header)
        if forwarded is not None:
            return str(forwarded).split(",", 1)[0].strip() == value
    return environ.get("wsgi.url_scheme") == "https"
