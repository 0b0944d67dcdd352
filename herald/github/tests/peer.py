"""GitHub as the tests see it: one loopback ``OpenAPIPeer`` loaded with GitHub's own
OpenAPI description (npm ``@octokit/openapi``, installed by ``make .venv/.installed-test``
into ``herald/github/tests/openapi``).

The description is 13 MB: it is loaded and its peer started once per test process,
and each test starts from a clean peer (``github_peer``). Without the npm package the
tests skip with the reason; in CI (``CI`` or ``HERALD_REQUIRE_SERVICES=1``) its absence
is a failure.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

from herald.test import unavailable
from herald.test_openapi import OpenAPIPeer

SPEC = (
    Path(__file__).parent
    / "openapi"
    / "node_modules"
    / "@octokit"
    / "openapi"
    / "generated"
    / "api.github.com.json"
)
TOKEN = "github_pat_11TESTTOKEN0000000000000000"
# GitHub's front answers these for any operation (bad token, rate limit, outage),
# though the description lists them only for some.
GATEWAY_STATUSES = (401, 429, 500, 502, 503)


def require_description() -> None:
    if SPEC.exists():
        return
    # The one skip-or-fail rule: skipped on a user's machine, a failure in CI.
    unavailable(
        f"{SPEC} is missing: install GitHub's OpenAPI description with "
        "`npm ci --prefix herald/github/tests/openapi` (make .venv/.installed-test does)"
    )


@functools.cache
def _document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SPEC.read_text(encoding="utf-8"))
    return loaded


@functools.cache
def _peer() -> OpenAPIPeer:
    peer = OpenAPIPeer(_document(), gateway_statuses=GATEWAY_STATUSES)
    peer.__enter__()  # lives as long as the test process; loopback only
    return peer


def github_peer() -> OpenAPIPeer:
    """The process's GitHub peer, with no request, violation or queued answer left."""
    require_description()
    peer = _peer()
    peer.requests.clear()
    peer.violations.clear()
    peer._answers.clear()  # each test queues its own answers
    return peer


def example(name: str) -> dict[str, Any]:
    """A documented example of the description (``components/examples/<name>``)."""
    value: dict[str, Any] = copy.deepcopy(_document()["components"]["examples"][name]["value"])
    return value


def advisory_answer(**changes: Any) -> dict[str, Any]:
    """GitHub's documented repository advisory, with ``changes``."""
    answer = example("repository-advisory")
    # GitHub's own example lists teams without the "type" its schema requires.
    answer.update(collaborating_teams=[], collaborating_users=[])
    answer.update(changes)
    return answer


def settings_for(peer: OpenAPIPeer, **extra: Any) -> dict[str, Any]:
    return {
        "HERALD_GITHUB_API_URL": peer.url,
        "HERALD_GITHUB_TOKEN": TOKEN,
        "HERALD_HTTP_ALLOW_NETWORKS": "127.0.0.0/8",
        "HERALD_NOTIFY_RETRY_DELAYS": "60,300",
        **extra,
    }


def answer_now(peer: OpenAPIPeer, operation: str, **answer: Any) -> None:
    """From now on ``operation`` gets this answer (queued ones before it are dropped)."""
    peer._answers.pop(peer.operation(operation).name, None)
    peer.respond(operation, **answer)
