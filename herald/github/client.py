"""The GitHub REST client Herald uses: githubkit, over the one HTTP wrapper.

``api()`` builds githubkit's ``GitHub`` with the token and base URL of the
settings (``HERALD_GITHUB_TOKEN``, ``HERALD_GITHUB_API_URL``) and Herald's
transport (``herald.github.transport``). githubkit's own retries and HTTP cache
are off: a write that fails is retried by the outbox (scheduled, never in
place), and a read is asked again by the person who asked.

``call`` runs one githubkit call and turns every failure into ``GitHubError``
in plain words: whether trying again may help (``transient``: 5xx, 429, the
rate limit, the network) and after how long (``retry_after``: GitHub's
``Retry-After`` or ``x-ratelimit-reset``, which githubkit reads).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from githubkit import GitHub
from githubkit.exception import GitHubException, RateLimitExceeded, RequestError, RequestFailed
from pydantic import ValidationError as PydanticValidationError

from herald.core.http import USER_AGENT
from herald.github.transport import HeraldTransport

T = TypeVar("T")


class GitHubError(Exception):
    """A GitHub call that did not succeed, in words a responder can act on."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        transient: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.transient = transient
        self.retry_after = retry_after


def web_url(answer: dict[str, Any], old: str = "") -> str:
    """``html_url`` of an answer when it is an http(s) address, else ``old``: the desk
    renders it as a link, and a ``javascript:`` URL must never become one."""
    value = str(answer.get("html_url") or "")
    return value[:500] if value.startswith(("https://", "http://")) else old


def configured() -> bool:
    return bool(settings.HERALD_GITHUB_TOKEN)


UNCONFIGURED = (
    "HERALD_GITHUB_TOKEN is not set: Herald has no token to call GitHub with "
    "(docs/github.md lists the permissions it needs)."
)


def api() -> GitHub[Any]:
    token = settings.HERALD_GITHUB_TOKEN
    if not token:
        raise GitHubError(UNCONFIGURED, transient=True)
    return GitHub(
        token,
        base_url=settings.HERALD_GITHUB_API_URL + "/",
        user_agent=USER_AGENT,
        transport=HeraldTransport(),
        http_cache=False,
        auto_retry=False,
        trust_env=False,
    )


_PLAIN = {
    401: "GitHub refused the token (401): HERALD_GITHUB_TOKEN is wrong, expired or revoked",
    403: "GitHub forbids it (403): the token lacks a permission docs/github.md lists, "
    "or the repository's settings do not allow it",
    404: "GitHub knows no such repository or advisory, or the token cannot see it (404)",
    422: "GitHub refused what Herald sent (422)",
}


def _message_of(exc: RequestFailed) -> str:
    try:
        data = exc.response.raw_response.json()
    except ValueError:
        return exc.response.raw_response.text[:300]
    if not isinstance(data, dict):
        return ""
    words = str(data.get("message") or "")
    errors = data.get("errors")
    if isinstance(errors, list) and errors:
        words += ": " + "; ".join(
            str(e) if not isinstance(e, dict) else str(e.get("message") or e) for e in errors[:5]
        )
    return words[:500]


def call(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``function(*args, **kwargs)``, with every failure as a ``GitHubError``."""
    try:
        return function(*args, **kwargs)
    except RateLimitExceeded as exc:
        seconds = max(0.0, exc.retry_after.total_seconds())
        status = exc.response.status_code
        raise GitHubError(
            f"GitHub's rate limit (HTTP {status}): try again in {seconds:.0f}s",
            status=status,
            transient=True,
            retry_after=seconds,
        ) from None
    except RequestFailed as exc:
        status = exc.response.status_code
        said = _message_of(exc)
        if status in (408, 429) or status >= 500:
            raise GitHubError(
                f"GitHub answered HTTP {status}" + (f": {said}" if said else ""),
                status=status,
                transient=True,
            ) from None
        base = _PLAIN.get(status, f"GitHub answered HTTP {status}")
        raise GitHubError(base + (f": {said}" if said else ""), status=status) from None
    except RequestError as exc:
        raise GitHubError(f"GitHub could not be reached: {exc.exc}", transient=True) from None
    except PydanticValidationError as exc:
        # githubkit checks a body against GitHub's schema before sending it.
        raise GitHubError(
            f"Herald's record does not fit GitHub's form: {exc.errors()[:3]}"
        ) from None
    except GitHubException as exc:
        raise GitHubError(f"GitHub: {type(exc).__name__}: {exc}", transient=True) from None
