"""The process caches save work and change nothing: cached and plain builds agree.

A publication builds the handbook page, the OSV archive and the CSAF ROLIE feed from
the parts this process kept (``herald.core.caches``), rendering only what changed.
Each test publishes and changes advisories so that the kept parts are used, then
empties the caches and builds again from nothing: the bytes must be the same.
"""

from __future__ import annotations

from herald.core import caches
from herald.publication.actions import do_update_advisory, do_withdraw_advisory
from herald.publishing.site import builders, surfaces_csaf, surfaces_osv
from herald.publishing.store.artifacts import regenerate_everything
from herald.publishing.tests.surfaces_support import WiredArtifacts, artifact
from herald.test import HeraldTestCase

LISTINGS = (builders.MARKDOWN_PATH, surfaces_osv.ZIP_PATH, surfaces_csaf.FEED)
CACHES = ("handbook texts", "osv archive members", "csaf entries", "csaf rolie entry texts")


class CachedBuildsTests(WiredArtifacts, HeraldTestCase):
    def test_listings_built_from_kept_parts_equal_listings_built_from_nothing(self) -> None:
        first = self.published(title="First")
        second = self.published(title="Second", cve_ids=[])
        self.published(title="Third", cve_ids=[])
        do_update_advisory(
            first, acting_user=self.bob, title="First, corrected", change_summary="T."
        )
        do_withdraw_advisory(second, acting_user=self.bob, reason="Not a vulnerability.")
        # The publications above used the kept parts: each cache holds the public three
        # (the ROLIE feed's texts: six, each advisory's CSAF document and its VEX form).
        for name in CACHES:
            expected = 6 if name == "csaf rolie entry texts" else 3
            assert len(caches.named(name)) == expected, name
        cached = {path: artifact(path) for path in LISTINGS}

        caches.reset_all()
        for name in CACHES:
            assert len(caches.named(name)) == 0, name
        regenerate_everything()
        plain = {path: artifact(path) for path in LISTINGS}
        assert b"First, corrected" in cached[builders.MARKDOWN_PATH]
        for path in LISTINGS:
            assert cached[path] == plain[path], path

    def test_a_stale_tag_is_not_trusted(self) -> None:
        first = self.published(title="First")
        kept = caches.named("handbook texts")
        # Parts built against another page (another process wrote it): thrown away.
        kept.replace({key: b"stale\n" for key in kept.entries()}, tag="another page")
        do_update_advisory(first, acting_user=self.bob, title="First, again", change_summary="T.")
        page = artifact(builders.MARKDOWN_PATH)
        assert b"stale" not in page and b"First, again" in page
