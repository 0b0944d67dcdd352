"""CVE Services through cvelib's ``CveApi``, over Herald's one HTTP wrapper.

Why cvelib: it is the CVE Program's own client (``cve`` command), already a
dependency; it knows the paths, the auth headers, the container envelopes
(``{"cnaContainer": ...}``) and validates a container against the CNA schema
before it is sent. Its only network call is ``CveApi._http_request`` (one
``requests.request``): ``HeraldCveApi`` overrides that one method to send through
``herald.core.http.request`` instead, so every request to CVE Services gets the
wrapper's timeouts, redirect checks, body cap and address rules (loopback and
private networks refused unless ``HERALD_HTTP_ALLOW_NETWORKS`` lists them), and
answers come back as ``requests.Response`` objects, which is what the rest of
cvelib reads. A transport adapter on a ``requests.Session`` was the other seam;
cvelib calls the module-level ``requests.request`` and takes no session, so
the override is the smaller and more honest one.

Errors: ``CveServicesError`` carries what a person needs in plain words and the
HTTP status; the API key never appears in it (the wrapper's messages name the
host and the failure, never the headers).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode, urljoin

import requests
from cvelib.cve_api import CveApi, CveRecordValidationError
from django.conf import settings
from django.utils import timezone
from requests.structures import CaseInsensitiveDict

from herald.core import http

TIMEOUT = 30.0

__all__ = [
    "CveRecordValidationError",
    "CveServicesConfig",
    "CveServicesError",
    "HeraldCveApi",
    "client",
    "config",
    "explain",
]


@dataclass(frozen=True)
class CveServicesConfig:
    url: str
    user: str
    org: str
    org_id: str
    key: str = field(repr=False)

    def missing(self) -> list[str]:
        """The settings still to set, by name."""
        names = {
            "HERALD_CVE_API_URL": self.url,
            "HERALD_CVE_API_USER": self.user,
            "HERALD_CVE_API_KEY": self.key,
            "HERALD_CNA_SHORT_NAME": self.org,
            "HERALD_CNA_ORG_ID": self.org_id,
        }
        return [name for name, value in names.items() if not value]

    @property
    def configured(self) -> bool:
        return not self.missing()

    def not_configured_message(self) -> str:
        return (
            "CVE Services is not configured: set "
            + ", ".join(self.missing())
            + " (docs/cve-services.md)."
        )


def _setting(name: str) -> str:
    value: Any = getattr(settings, name, None)
    if value is None:
        value = settings.HERALD_ENV.get(name, "")
    return str(value or "").strip()


def config() -> CveServicesConfig:
    """CVE Services' settings as they are now (tests override them)."""
    return CveServicesConfig(
        url=_setting("HERALD_CVE_API_URL"),
        user=_setting("HERALD_CVE_API_USER"),
        org=_setting("HERALD_CNA_SHORT_NAME"),
        org_id=_setting("HERALD_CNA_ORG_ID"),
        key=_setting("HERALD_CVE_API_KEY"),
    )


class CveServicesError(Exception):
    """CVE Services did not do what was asked; ``str()`` is the plain-words reason.

    ``status``: the HTTP status (None: no answer at all); ``transient``: trying
    again later may help; ``retry_after``: seconds CVE Services asked to wait.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        transient: bool = False,
        retry_after: float | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.transient = transient
        self.retry_after = retry_after
        self.body = body


class HeraldCveApi(CveApi):
    """``CveApi`` whose requests go through ``herald.core.http`` (see the module's docstring)."""

    def __init__(self, cfg: CveServicesConfig) -> None:
        # urljoin needs the trailing slash to keep the /api of the base URL.
        super().__init__(
            username=cfg.user, org=cfg.org, api_key=cfg.key, url=cfg.url.rstrip("/") + "/"
        )

    def _http_request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = urljoin(self.url, path)
        params = kwargs.pop("params", None)
        if params:
            url += "?" + urlencode({k: str(v) for k, v in params.items()})
        headers = {
            "CVE-API-KEY": self.api_key,
            "CVE-API-ORG": self.org,
            "CVE-API-USER": self.username,
            "Accept": "application/json",
        }
        body = None
        if "json" in kwargs:
            body = json.dumps(kwargs.pop("json")).encode()
            headers["Content-Type"] = "application/json"
        try:
            answer = http.request(method.upper(), url, body=body, headers=headers, timeout=TIMEOUT)
        except http.RefusedAddress as exc:
            raise CveServicesError(
                f"Herald may not connect to CVE Services at {self.url}: {exc}"
            ) from None
        except http.HTTPError as exc:
            raise CveServicesError(
                f"CVE Services did not answer ({exc}).", transient=True
            ) from None
        response = requests.Response()
        response.status_code = answer.status
        response._content = answer.body
        response.headers = CaseInsensitiveDict(answer.headers)
        response.url = answer.url
        response.encoding = "utf-8"
        if not 200 <= answer.status < 300:
            raise explain(response)
        return response


def client(cfg: CveServicesConfig | None = None) -> HeraldCveApi:
    cfg = cfg or config()
    if not cfg.configured:
        raise CveServicesError(cfg.not_configured_message())
    return HeraldCveApi(cfg)


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds: a number of seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - timezone.now()).total_seconds())


def explain(response: requests.Response) -> CveServicesError:
    """An answer that is not a success, in plain words, and whether to try again."""
    status = response.status_code
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    said = ""
    if isinstance(body, dict):
        said = str(body.get("message") or body.get("error") or "")[:300]
        details = body.get("details")
        if isinstance(details, list) and details:
            said += (
                " ("
                + "; ".join(
                    f"{d.get('param', '?')}: {d.get('msg', '')}"
                    for d in details[:3]
                    if isinstance(d, dict)
                )
                + ")"
            )
    said = f" CVE Services said: {said}" if said else ""
    # Retry-After, else CVE Services' own RateLimit-Reset (seconds until the quota resets).
    retry_after = _retry_after(response.headers.get("Retry-After"))
    if retry_after is None and status == 429:
        retry_after = _retry_after(response.headers.get("RateLimit-Reset"))
    if status in (401, 403):
        text = (
            "CVE Services refused Herald's credentials (HTTP "
            f"{status}): check HERALD_CVE_API_USER, HERALD_CVE_API_KEY and "
            "HERALD_CNA_SHORT_NAME, and that the account may do this for the organisation."
        )
        return CveServicesError(text + said, status=status, body=body)
    if status == 404:
        return CveServicesError(
            "CVE Services does not know this id, or it is not this CNA's (HTTP 404)." + said,
            status=status,
            body=body,
        )
    if status == 400:
        return CveServicesError(
            "CVE Services refused the request as invalid (HTTP 400)." + said,
            status=status,
            body=body,
        )
    if status == 429:
        wait = f" It asked to wait {retry_after:.0f} s." if retry_after is not None else ""
        return CveServicesError(
            "CVE Services is limiting requests (HTTP 429, over the rate or quota); "
            "Herald will try again." + wait + said,
            status=status,
            transient=True,
            retry_after=retry_after,
            body=body,
        )
    if status >= 500 or status in (408, 425):
        wait = f" It asked to wait {retry_after:.0f} s." if retry_after is not None else ""
        return CveServicesError(
            f"CVE Services is unavailable (HTTP {status}); Herald will try again." + wait + said,
            status=status,
            transient=True,
            retry_after=retry_after,
            body=body,
        )
    return CveServicesError(
        f"CVE Services answered HTTP {status}." + said, status=status, body=body
    )
