"""Two changes published at once: the site-wide files carry both.

Each thread has its own database connection, as two web requests would. On
PostgreSQL the second change must not render the site-wide files (the handbook
page, the OSV archive, the ROLIE feed) before the first has committed, or its
write, coming last, would drop the first change from them.
"""

from __future__ import annotations

import threading
import time
import zlib
from typing import Any

from django.db import connection, connections, transaction
from django.test import override_settings

from herald.advisories.models import Advisory
from herald.publication.actions import do_update_advisory
from herald.publishing.site import builders, surfaces_csaf, surfaces_osv
from herald.publishing.store.artifacts import read_one
from herald.publishing.tests.surfaces_support import WiredArtifacts
from herald.test import HeraldTransactionTestCase


@override_settings(HERALD_ARTIFACT_BLOCKS_FROM=0)
class ConcurrentPublication(WiredArtifacts, HeraldTransactionTestCase):
    def test_a_change_committed_while_another_renders_is_in_every_listing(self) -> None:
        # Two incidents: nothing but the site-wide files is shared by the two changes.
        first = self.published(self.declare("One"), title="First as published")
        second = self.published(self.declare("Two"), title="Second as published", cve_ids=[])
        if connection.vendor == "sqlite":
            connection.close()  # threads share nothing but the database file
        first_written = threading.Event()
        release = threading.Event()
        errors: list[BaseException] = []

        def change(pk: int, title: str, *, hold: bool) -> None:
            try:
                with transaction.atomic():
                    do_update_advisory(
                        Advisory.objects.get(pk=pk),
                        acting_user=self.bob,
                        title=title,
                        change_summary="Title.",
                    )
                    if hold:  # committed only once the other change is under way
                        first_written.set()
                        release.wait(30)
            except BaseException as exc:  # reported below, not lost in the thread
                errors.append(exc)
                first_written.set()
            finally:
                connections.close_all()

        threads: list[Any] = [
            threading.Thread(
                target=change, args=(first.pk, "First, changed"), kwargs={"hold": True}
            ),
            threading.Thread(
                target=change, args=(second.pk, "Second, changed"), kwargs={"hold": False}
            ),
        ]
        threads[0].start()
        assert first_written.wait(30)
        threads[1].start()
        time.sleep(0.5)  # the second change waits for, or races, the first
        release.set()
        for thread in threads:
            thread.join(60)
        assert not errors, errors

        handbook = read_one(builders.MARKDOWN_PATH) or b""
        feed = read_one(surfaces_csaf.FEED) or b""
        for title in (b"First, changed", b"Second, changed"):
            assert title in handbook, title
            assert title in feed, title
        archive = read_one(surfaces_osv.ZIP_PATH) or b""
        members = surfaces_osv.members_of(archive)
        assert members is not None
        for advisory in (first, second):
            osv_id = f"x_{advisory.identifier}"  # the default OSV id prefix
            document = read_one(surfaces_osv.osv_path(osv_id))
            assert document is not None
            member = members[osv_id]
            assert member.crc == zlib.crc32(document), osv_id
