"""Notification settings: a Django setting when defined, else the environment, else a default.

The environment is read by herald/settings.py (``settings.HERALD_ENV``), not here.

- Where mail goes (HERALD_SMTP_URL, else the local outbox) is herald.core.mail's, for
  every sender alike
- HERALD_MAIL_FROM: From: of every e-mail (default: the vendor's security contact), also
  herald.core.mail's
- HERALD_NOTIFY_SESSIONS (8): parallel SMTP sessions per drain
- HERALD_NOTIFY_SENDERS (1 on SQLite, else processors): senders sharing those sessions;
  each drives its share at once and records the answers that arrive together in one commit
- HERALD_NOTIFY_FORK (1): run several senders as forked processes when safe (0: threads)
- HERALD_NOTIFY_BATCH (200): deliveries claimed per round trip
- HERALD_NOTIFY_LEASE (300): seconds a claim lasts before another worker may take it
- HERALD_NOTIFY_RETRY_DELAYS (60,300,1800,7200,21600): seconds before each retry; then dead
- HERALD_NOTIFY_DRAIN_SECONDS (20): how long one drain task runs at most
- HERALD_HTTP_TIMEOUT (10): seconds for one outbound HTTP exchange
- HERALD_HTTP_ALLOW_NETWORKS (none): non-public networks outbound HTTP may reach
- HERALD_SUBSCRIBE_RATE_PER_IP (10): sign-ups one client address may make per hour
  (0: no limit); each address gets at most one confirmation mail a day regardless
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings


def _get(name: str, default: str) -> str:
    value: Any = getattr(settings, name, None)
    if value is None:
        value = settings.HERALD_ENV.get(name, "")
    if isinstance(value, (list, tuple)):
        value = ",".join(str(v) for v in value)
    return str(value).strip() or default


def mail_from() -> str:
    from herald.core.mail import mail_from

    return mail_from()


def mail_domain() -> str:
    """The right-hand side of Message-IDs: the public site's host name."""
    return urlsplit(base_url()).hostname or "herald.invalid"


def base_url() -> str:
    from herald.core.baseurl import base_url

    return base_url()


def subscribe_rate_per_ip() -> int:
    try:
        return max(0, int(_get("HERALD_SUBSCRIBE_RATE_PER_IP", "10")))
    except ValueError:
        return 10


def sessions() -> int:
    return max(1, int(_get("HERALD_NOTIFY_SESSIONS", "8")))


def senders() -> int:
    """How many senders share the sessions: one on SQLite, where they would only take
    turns at the one write lock; one per processor on PostgreSQL."""
    from django.db import connection

    default = 1 if connection.vendor == "sqlite" else (os.cpu_count() or 1)
    return max(1, int(_get("HERALD_NOTIFY_SENDERS", str(default))))


def fork_sessions() -> bool:
    return _get("HERALD_NOTIFY_FORK", "1").lower() not in ("0", "false", "no")


def batch_size() -> int:
    return max(1, int(_get("HERALD_NOTIFY_BATCH", "200")))


def lease_seconds() -> float:
    return max(1.0, float(_get("HERALD_NOTIFY_LEASE", "300")))


def retry_delays() -> list[float]:
    raw = _get("HERALD_NOTIFY_RETRY_DELAYS", "60,300,1800,7200,21600")
    return [float(part) for part in raw.replace(" ", "").split(",") if part]


def drain_seconds() -> float:
    return max(0.5, float(_get("HERALD_NOTIFY_DRAIN_SECONDS", "20")))


def http_timeout() -> float:
    return max(0.5, float(_get("HERALD_HTTP_TIMEOUT", "10")))
