"""Is this Herald ready? The checks behind ``/readyz`` and ``herald status``.

- **database**: a ``SELECT 1`` answers;
- **migrations**: none left to apply (once true, remembered by the process for a
  minute: reading the migration files on every probe would not be cheap);
- **served copy**: this machine's copy of the artifacts (``HERALD_SITE_DIR``) has
  the newest generation in the database, or has been behind for less than
  ``HERALD_SITE_LAG_LIMIT`` seconds (a publication reaches it within a poll);
- **worker**: some worker, on any machine, touched its heartbeat row within
  ``HERALD_WORKER_STALE`` seconds.

``/healthz`` needs none of this: the front answers it without Django
(``herald.publishing.store.serving``), so it says only that the process answers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Max, Min
from django.utils import timezone

CHECKS = ("database", "migrations", "served_copy", "worker")
_migrations_checked_at: float | None = None  # monotonic time of the last clean plan


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Readiness:
    checks: tuple[Check, ...]

    @property
    def ready(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def failing(self) -> list[str]:
        return [check.name for check in self.checks if not check.ok]

    def as_dict(self) -> dict[str, Any]:
        return {
            "ready": self.ready,
            "failing": self.failing,
            "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in self.checks},
        }


def readiness() -> Readiness:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        skipped = [Check(name, False, "not checked: no database") for name in CHECKS[1:]]
        return Readiness((Check("database", False, f"unreachable: {first}"), *skipped))
    database = Check("database", True, f"reachable ({connection.vendor})")
    return Readiness((database, *(_guarded(name, check) for name, check in _AFTER_DATABASE)))


def _guarded(name: str, check: Any) -> Check:
    try:
        result: Check = check()
    except DatabaseError as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return Check(name, False, f"database error: {first}")
    return result


def _migrations() -> Check:
    global _migrations_checked_at
    now = time.monotonic()
    if _migrations_checked_at is not None and now - _migrations_checked_at < 60:
        return Check("migrations", True, "applied")
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        return Check("migrations", False, f"{len(plan)} not applied: run `herald setup`")
    _migrations_checked_at = now
    return Check("migrations", True, "applied")


def site_lag() -> tuple[int, int, float]:
    """(database generation, served generation, seconds the served copy is behind)."""
    from herald.publishing.models import Artifact
    from herald.publishing.store.serving import SiteStore, database_generation

    newest = database_generation()
    served = SiteStore().read_state().get("generation", 0)
    if served >= newest:
        return newest, served, 0.0
    oldest_missing = Artifact.objects.filter(generation__gt=served).aggregate(at=Min("updated_at"))
    at = oldest_missing["at"]
    lag = (timezone.now() - at).total_seconds() if at is not None else 0.0
    return newest, served, max(0.0, lag)


def _served_copy() -> Check:
    newest, served, lag = site_lag()
    if served >= newest or lag <= settings.HERALD_SITE_LAG_LIMIT:
        behind = "" if served >= newest else f", {newest - served} generation(s) being synced"
        return Check("served_copy", True, f"generation {served}{behind}")
    return Check(
        "served_copy",
        False,
        f"generation {served} of {newest}, behind for {lag:.0f} s "
        f"(limit {settings.HERALD_SITE_LAG_LIMIT:g} s)",
    )


def heartbeat_age() -> float | None:
    """Seconds since the newest worker heartbeat, or None when no worker ever beat."""
    from herald.core.models import WorkerHeartbeat

    newest = WorkerHeartbeat.objects.aggregate(at=Max("seen_at"))["at"]
    return None if newest is None else max(0.0, (timezone.now() - newest).total_seconds())


def _worker() -> Check:
    age = heartbeat_age()
    if age is None:
        return Check("worker", False, "no worker running: start `herald worker` or `herald serve`")
    if age > settings.HERALD_WORKER_STALE:
        return Check("worker", False, f"last heartbeat {age:.0f} s ago")
    return Check("worker", True, f"heartbeat {age:.0f} s ago")


_AFTER_DATABASE = (("migrations", _migrations), ("served_copy", _served_copy), ("worker", _worker))
