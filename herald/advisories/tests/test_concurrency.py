"""Concurrent writers, on real connections: the rules hold when people act at once.

Each thread uses its own database connection, as two web requests would.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from django.db import connection, connections
from django.test import TransactionTestCase

from herald.advisories.models import Advisory
from herald.audit.actions import verify
from herald.audit.models import AuditEvent
from herald.core.errors import ConflictError
from herald.core.models import VendorProfile
from herald.publication.actions import do_create_advisory, do_declare_incident, do_update_advisory
from herald.test import make_user, publishable


def run_together(functions: list[Callable[[], Any]]) -> list[Any]:
    """Start every function at the same moment; return each result or exception."""
    barrier = threading.Barrier(len(functions))
    results: list[Any] = [None] * len(functions)

    def run(i: int, fn: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[i] = fn()
        except Exception as exc:
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(functions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


class ConcurrentWriters(TransactionTestCase):
    def setUp(self) -> None:
        VendorProfile.get()
        self.alice = make_user("alice", superuser=True)
        self.bob = make_user("bob", staff=True)
        self.incident = do_declare_incident(title="Race", acting_user=self.alice)
        if connection.vendor == "sqlite":
            # Threads share nothing but the database file, as separate processes would.
            connection.close()

    def test_two_editors_saving_the_same_version_at_once_one_wins_one_conflicts(self) -> None:
        advisory = do_create_advisory(
            acting_user=self.alice, incident=self.incident, **publishable()
        )
        version = advisory.version
        results = run_together(
            [
                lambda: do_update_advisory(
                    Advisory.objects.get(pk=advisory.pk),
                    acting_user=self.alice,
                    expected_version=version,
                    title="Alice wins",
                ),
                lambda: do_update_advisory(
                    Advisory.objects.get(pk=advisory.pk),
                    acting_user=self.bob,
                    expected_version=version,
                    title="Bob wins",
                ),
            ]
        )
        conflicts = [r for r in results if isinstance(r, ConflictError)]
        saved = [r for r in results if isinstance(r, Advisory)]
        assert len(conflicts) == 1 and len(saved) == 1, results
        advisory.refresh_from_db()
        assert advisory.title == saved[0].title
        assert advisory.version == version + 1

    def test_advisories_created_at_once_get_distinct_identifiers_and_an_intact_chain(self) -> None:
        n = 8
        results = run_together(
            [
                functools.partial(
                    do_create_advisory,
                    acting_user=self.bob,
                    incident=self.incident,
                    **publishable(title=f"Parallel {i}", cve_ids=[]),
                )
                for i in range(n)
            ]
        )
        errors = [r for r in results if isinstance(r, Exception)]
        assert not errors, errors
        identifiers = {a.identifier for a in results}
        assert len(identifiers) == n
        assert verify() == []
        assert AuditEvent.objects.filter(action="advisory.create").count() == n
