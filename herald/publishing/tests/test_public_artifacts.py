"""The public surface as stored artifacts: what a publication, an update and a withdrawal write."""

from __future__ import annotations

import datetime as dt
import io
import xml.etree.ElementTree as ET
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.core.management import call_command
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from herald.core.models import Product
from herald.publication.actions import (
    do_resolve_advisory,
    do_update_vendor_profile,
    do_withdraw_advisory,
)
from herald.publishing import tasks
from herald.publishing.models import Artifact
from herald.publishing.render import pages
from herald.publishing.render.securitytxt import parse_security_txt
from herald.publishing.site import builders
from herald.publishing.store import signing
from herald.publishing.store.artifacts import read_many, read_one, regenerate, regenerate_everything
from herald.test import HeraldTestCase

ATOM = "{http://www.w3.org/2005/Atom}"


def text(path: str) -> str:
    content = read_one(path)
    assert content is not None, f"no artifact {path}"
    return content.decode()


def atom_titles(path: str) -> list[str]:
    root = ET.fromstring(text(path))
    return [e.findtext(f"{ATOM}title") or "" for e in root.iter(f"{ATOM}entry")]


class Publication(HeraldTestCase):
    def test_after_a_publish_every_surface_has_the_new_advisory(self) -> None:
        advisory = self.published(title="Token leak in exports", affected=[{"product": "cloud"}])
        ident = advisory.identifier
        assert not ident.startswith("NW-2026-DRAFT")
        index = text(builders.INDEX_PATH)
        assert f'href="/security/advisories/{ident}/"' in index
        assert "Token leak in exports" in text(f"security/advisories/{ident}/index.html")
        assert "### Token leak in exports" in text(builders.MARKDOWN_PATH)
        for path in (builders.feed_path("atom"), builders.feed_path("atom", "cloud")):
            assert any(ident in title for title in atom_titles(path)), path
        for path in (builders.feed_path("rss"), builders.feed_path("rss", "cloud")):
            assert "Token leak in exports" in text(path), path

    def test_a_drafts_canary_string_appears_in_no_artifact(self) -> None:
        draft = self.draft(
            title="EMBARGO-CANARY-7731",
            description="EMBARGO-CANARY-7731 details",
            cve_ids=["CVE-2026-77310"],
            affected=[{"product": "cloud"}],
        )
        self.published(title="Public one")
        regenerate_everything()
        assert Artifact.objects.exists()
        for path, content in read_many(Artifact.objects.all()):
            for secret in (b"EMBARGO-CANARY-7731", b"CVE-2026-77310", draft.identifier.encode()):
                assert secret not in content, (path, secret)

    def test_the_stored_pages_are_the_pages_django_renders(self) -> None:
        advisory = self.published(
            credits=[{"name": "Ada Finder", "type": "FINDER"}], affected=[{"product": "cloud"}]
        )
        for url, path in (
            ("/security/advisories/", builders.INDEX_PATH),
            (f"/security/advisories/{advisory.identifier}/", builders.ADVISORY_PATH.format(
                identifier=advisory.identifier)),
            ("/security/advisories/feed.atom", builders.feed_path("atom")),
            ("/security/advisories/products/cloud/feed.rss", builders.feed_path("rss", "cloud")),
            ("/security/advisories.md", builders.MARKDOWN_PATH),
        ):  # fmt: skip
            assert self.client.get(url).content == read_one(path), url

    def test_an_update_changes_only_the_files_it_touches(self) -> None:
        first = self.published(title="First")
        self.published(title="Second", cve_ids=[])
        page = Artifact.objects.get(path=builders.ADVISORY_PATH.format(identifier=first.identifier))
        result = regenerate()
        assert result.changed == ()
        assert Artifact.objects.get(pk=page.pk).generation == page.generation

    def test_resolving_moves_the_advisory_to_past_on_the_index(self) -> None:
        advisory = self.published(title="Moving on")
        do_resolve_advisory(advisory, acting_user=self.bob)
        index = text(builders.INDEX_PATH)
        past = index[index.index('id="past"') :]
        assert "Moving on" in past
        assert "Moving on" not in index[index.index('id="current"') : index.index('id="past"')]

    def test_withdrawal_updates_every_artifact(self) -> None:
        advisory = self.published(title="Mistaken report", affected=[{"product": "cloud"}])
        ident = advisory.identifier
        before = dict(Artifact.objects.values_list("path", "etag"))
        do_withdraw_advisory(advisory, acting_user=self.bob, reason="Not a vulnerability.")
        after = dict(Artifact.objects.values_list("path", "etag"))
        page = f"security/advisories/{ident}/index.html"
        surfaces = (
            page,
            builders.INDEX_PATH,
            builders.MARKDOWN_PATH,
            builders.feed_path("atom"),
            builders.feed_path("rss"),
            builders.feed_path("atom", "cloud"),
            builders.feed_path("rss", "cloud"),
        )
        for path in surfaces:
            assert before[path] != after[path], f"{path} did not change"
        assert "Not a vulnerability." in text(page)
        assert "**Status:** Withdrawn" in text(builders.MARKDOWN_PATH)
        assert any(t.startswith("[Withdrawn]") for t in atom_titles(builders.feed_path("atom")))
        # Every file written for this advisory by any builder changed with it.
        mine = [p for p in after if ident in p]
        assert mine and all(before.get(p) != after[p] for p in mine), mine


class IndexAtScale(HeraldTestCase):
    def test_older_past_advisories_are_listed_on_their_years_archive_page(self) -> None:
        resolved = []
        with mock.patch.object(pages, "RECENT_PAST", 1):
            for n, year in enumerate((2024, 2025)):
                advisory = self.published(
                    title=f"Old {year}",
                    cve_ids=[],
                    discovered_at=dt.date(year, 1, 1),
                    reported_at=dt.date(year, 1, 2),
                    fixed_at=dt.date(year, 1, 3),
                )
                advisory.published_at = dt.datetime(year, 2, 1 + n, tzinfo=dt.UTC)
                advisory.save(update_fields=["published_at"])
                resolved.append(do_resolve_advisory(advisory, acting_user=self.bob))
            regenerate_everything()
            index = text(builders.INDEX_PATH)
        assert 'href="/security/advisories/archive/2024/"' in index
        assert "Old 2025" in index and "Old 2024" not in index
        archive = text(builders.ARCHIVE_PATH.format(year=2024))
        assert f'href="/security/advisories/{resolved[0].identifier}/"' in archive
        assert self.client.get("/security/advisories/archive/2024/").content == archive.encode()
        assert self.client.get("/security/advisories/archive/1999/").status_code == 404

    def test_a_product_feed_is_written_for_the_products_of_the_changed_advisory_only(self) -> None:
        Product.objects.create(name="Other", slug="other")
        self.published(affected=[{"product": "cloud"}])
        assert Artifact.objects.filter(path=builders.feed_path("atom", "cloud")).exists()
        assert not Artifact.objects.filter(path=builders.feed_path("atom", "other")).exists()


class SecurityTxtArtifact(HeraldTestCase):
    @pytest.fixture(autouse=True)
    def _keydir(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setitem(settings.HERALD_ENV, "HERALD_SIGNING_KEY_DIR", str(tmp_path / "keys"))

    def test_it_is_signed_and_signed_again_only_when_its_text_changes(self) -> None:
        signing.ensure_signing_key()
        regenerate()
        first = Artifact.objects.get(path=builders.SECURITY_TXT_PATH)
        assert bytes(first.content).startswith(b"-----BEGIN PGP SIGNED MESSAGE-----")
        regenerate()
        assert Artifact.objects.get(path=builders.SECURITY_TXT_PATH).etag == first.etag
        tomorrow = builders.start_of_day() + dt.timedelta(days=1, hours=1)
        with mock.patch("herald.publishing.site.builders.timezone.now", return_value=tomorrow):
            regenerate()
        later = Artifact.objects.get(path=builders.SECURITY_TXT_PATH)
        assert later.etag != first.etag
        old = parse_security_txt(bytes(first.content).decode())["expires"][0]
        assert parse_security_txt(bytes(later.content).decode())["expires"][0] > old

    def test_the_daily_task_renews_it_and_schedules_its_next_run(self) -> None:
        signing.ensure_signing_key()
        regenerate()
        first = Artifact.objects.get(path=builders.SECURITY_TXT_PATH).etag
        tomorrow = builders.start_of_day() + dt.timedelta(days=1, minutes=1)
        with mock.patch("herald.publishing.site.builders.timezone.now", return_value=tomorrow):
            tasks.refresh_security_txt.call()
        assert Artifact.objects.get(path=builders.SECURITY_TXT_PATH).etag != first
        queued = DBTaskResult.objects.get(
            task_path=tasks.refresh_security_txt.module_path, status=TaskResultStatus.READY
        )
        assert queued.run_after is not None and queued.run_after > builders.start_of_day()

    def test_the_public_key_is_published(self) -> None:
        key = signing.ensure_signing_key()
        regenerate()
        assert key.public_key.strip() in text(builders.PUBLIC_KEY_PATH)


class Rebuilds(HeraldTestCase):
    @pytest.fixture(autouse=True)
    def _dirs(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setitem(settings.HERALD_ENV, "HERALD_SIGNING_KEY_DIR", str(tmp_path / "keys"))
        self.site = tmp_path / "site"

    def test_a_profile_edit_queues_a_rebuild_of_every_file(self) -> None:
        with self.captureOnCommitCallbacks(execute=True):
            do_update_vendor_profile(acting_user=self.alice, name="Northwind Labs")
        assert DBTaskResult.objects.filter(
            task_path=tasks.regenerate_all.module_path, status=TaskResultStatus.READY
        ).exists()
        with self.settings(HERALD_SITE_DIR=self.site):
            tasks.regenerate_all.call()
        assert "Northwind Labs" in text(builders.INDEX_PATH)

    def test_setup_renders_every_public_file_and_the_served_copy(self) -> None:
        advisory = self.published()
        Artifact.objects.all().delete()
        with self.settings(HERALD_SITE_DIR=self.site):
            call_command("setup", stdout=io.StringIO())
        page = builders.ADVISORY_PATH.format(identifier=advisory.identifier)
        assert Artifact.objects.filter(path=builders.INDEX_PATH).exists()
        assert Artifact.objects.filter(path=page).exists()
        assert (self.site / "files" / page).is_file()


class HandbookTexts(HeraldTestCase):
    """The handbook page joins kept advisory texts: always the page a full render makes."""

    def full_render(self) -> str:
        from herald.advisories.queries import public_advisories
        from herald.advisories.snapshot import snapshot_of
        from herald.core.models import VendorProfile
        from herald.publishing.render.markdown import PageContent, render_page

        snapshots = [snapshot_of(a) for a in public_advisories()]
        return render_page(
            PageContent.from_profile(VendorProfile.get()),
            [s for s in snapshots if s.is_current],
            [s for s in snapshots if not s.is_current],
        )

    def test_the_page_after_each_change_is_the_full_render(self) -> None:
        first = self.published(title="First one")
        assert text(builders.MARKDOWN_PATH) == self.full_render()
        second = self.published(title="Second one")
        assert text(builders.MARKDOWN_PATH) == self.full_render()
        do_resolve_advisory(first, acting_user=self.bob)
        assert text(builders.MARKDOWN_PATH) == self.full_render()
        do_withdraw_advisory(second, acting_user=self.bob, reason="Duplicate.")
        page = text(builders.MARKDOWN_PATH)
        assert page == self.full_render()
        assert "Second one" in page and "**Status:** Withdrawn" in page

    def test_texts_are_dropped_when_the_stored_page_is_not_this_process_page(self) -> None:
        advisory = self.published(title="Kept text")
        # A change that moves no key (as another process or a restored database
        # could make): kept texts must not survive a stored page they did not make.
        type(advisory).objects.filter(pk=advisory.pk).update(title="Changed elsewhere")
        Artifact.objects.filter(path=builders.MARKDOWN_PATH).update(etag="other")
        from herald.core.models import VendorProfile

        assert "### Changed elsewhere" in builders.handbook_markdown(VendorProfile.get())
