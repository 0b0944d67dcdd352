"""The process caches save work and change nothing: cached and plain builds agree.

A publication builds the handbook page, the OSV archive and the CSAF ROLIE feed from
the parts this process kept (``herald.core.caches``), rendering only what changed.
Each test publishes and changes advisories so that the kept parts are used, then
empties the caches and builds again from nothing: the bytes must be the same.
"""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string

from herald.core import caches
from herald.core.models import Product, VendorProfile
from herald.publication.actions import do_update_advisory, do_withdraw_advisory
from herald.publishing.render import pages
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


class ProductPageRowsTests(WiredArtifacts, HeraldTestCase):
    """The product VEX pages are joined from each advisory's kept rows (``pages``)."""

    PAGES = ("security/products/agent/vex/index.html", "security/products/cloud/vex/index.html")

    def test_product_pages_from_kept_rows_equal_pages_built_from_nothing(self) -> None:
        Product.objects.create(name="Northwind Agent", slug="agent")
        rows = [
            {"product": "cloud", "deployment": "cloud"},
            {"product": "agent", "deployment": "sdk", "introduced": "1.0.0", "fixed": "1.4.2"},
        ]
        first = self.published(title="First", affected=rows)
        second = self.published(title="Second", affected=rows[1:])
        self.published(title="Third", affected=rows[:1])
        # The fix came one version later: first's rows change.
        fixed_later = [rows[0], {**rows[1], "fixed": "1.4.3"}]
        do_update_advisory(first, acting_user=self.bob, affected=fixed_later, change_summary="T.")
        do_withdraw_advisory(second, acting_user=self.bob, reason="Not a vulnerability.")
        # The publications above joined kept rows: the cache holds each advisory's.
        assert len(caches.named("product vex rows")) == 3
        cached = {path: artifact(path) for path in self.PAGES}

        caches.reset_all()
        regenerate_everything()
        plain = {path: artifact(path) for path in self.PAGES}
        assert cached == plain
        # And both equal the page built from the snapshots without the cache.
        agent = Product.objects.get(slug="agent")
        page = render_to_string(
            pages.PRODUCT_VEX_TEMPLATE,
            pages.product_vex_context(VendorProfile.get(), agent, pages.product_advisories(agent)),
        ).encode()
        assert page == plain[self.PAGES[0]]
        # First's rows (affected before 1.4.2, fixed from it); second is withdrawn.
        assert page.count(b"<tr><td>") == 2
        assert first.identifier.encode() in page and second.identifier.encode() not in page
        assert b"1.4.3" in page and b"1.4.2" not in page

    def test_a_row_kept_for_an_older_version_is_not_served(self) -> None:
        Product.objects.create(name="Northwind Agent", slug="agent")
        first = self.published(
            title="First",
            affected=[{"product": "agent", "deployment": "sdk", "fixed": "1.4.2"}],
        )
        kept: Any = caches.named("product vex rows")
        # Rows kept under another version of the advisory: rebuilt, not joined.
        stale = {pk: (("stale", *key[1:]), {"agent": "<tr>stale</tr>"})
                 for pk, (key, _) in kept.entries().items()}  # fmt: skip
        kept.replace(stale, tag=kept.tag)
        do_update_advisory(first, acting_user=self.bob, title="First, again", change_summary="T.")
        page = artifact(self.PAGES[0])
        assert b"stale" not in page and first.identifier.encode() in page
