"""Large artifacts stored as blocks: the same bytes as stored whole, at the cost of a change.

``HERALD_ARTIFACT_BLOCKS_FROM=0`` stores every file given in parts as blocks, so
that a handful of advisories exercises what 10,000 would.
"""

from __future__ import annotations

import gzip
import random
import threading
import zlib
from pathlib import Path

import pytest
from django.conf import settings
from django.test import TestCase, override_settings

from herald.core import caches
from herald.publication.actions import do_update_advisory
from herald.publishing.models import Artifact, ArtifactBlock
from herald.publishing.site import builders, surfaces_csaf, surfaces_osv
from herald.publishing.store import artifacts, blocks, serving
from herald.publishing.store.artifacts import read_one, regenerate_everything
from herald.publishing.tests.surfaces_support import WiredArtifacts
from herald.test import HeraldTestCase

LISTINGS = (builders.MARKDOWN_PATH, surfaces_osv.ZIP_PATH, surfaces_csaf.FEED)


def entries(count: int, seed: int = 1) -> list[bytes]:
    rng = random.Random(seed)  # noqa: S311 (test text)
    words = ("token", "cookie", "tenant", "export", "session", "webhook", "region", "invite")
    return [
        f"### Advisory {i}\n\n{' '.join(rng.choice(words) for _ in range(60))}\n\n".encode()
        for i in range(count)
    ]


class GroupingTests(TestCase):
    def test_blocks_join_to_the_parts_and_change_only_where_a_part_changes(self) -> None:
        parts = entries(3000)
        before = blocks.group(parts)
        assert b"".join(before) == b"".join(parts)
        assert 30 < len(before) < 300  # about one block per 32 parts

        # A new entry at the top, one edited in the middle: the blocks around stay.
        edited = list(parts)
        edited[1500] = b"### Advisory 1500\n\nrewritten\n\n"
        after = blocks.group([b"### Advisory new\n\nfresh\n\n", *edited])
        assert b"".join(after) == b"".join([b"### Advisory new\n\nfresh\n\n", *edited])
        new = set(after) - set(before)
        assert 1 <= len(new) <= 4, len(new)

    def test_no_block_grows_past_the_maximum(self) -> None:
        # Parts whose checksums never end a block: the size limit does.
        huge = [b"x" * 300_000 for _ in range(10)]
        assert zlib.crc32(huge[0]) & blocks.BOUNDARY_MASK  # never a boundary by checksum
        # A block closes at the first part that takes it to MAX_BLOCK: 4 parts, 4, 2.
        assert [len(block) for block in blocks.group(huge)] == [1_200_000, 1_200_000, 600_000]
        assert blocks.group([]) == []
        assert blocks.group([b"", b"a"]) == [b"a"]

    def test_the_gzip_joined_from_block_streams_is_one_valid_member(self) -> None:
        parts = entries(800, seed=2)
        grouped = blocks.group(parts)
        content = b"".join(grouped)
        joined = blocks.gzip_of([blocks.deflate(block) for block in grouped], content)
        assert gzip.decompress(joined) == content
        # zlib (what browsers and curl use) reads it as one stream, nothing left over.
        reader = zlib.decompressobj(31)
        assert reader.decompress(joined) + reader.flush() == content
        assert reader.eof and not reader.unused_data
        # Blocks lose the context across their edges, and little else.
        assert len(joined) < len(gzip.compress(content, 6)) * 1.2


@override_settings(HERALD_ARTIFACT_BLOCKS_FROM=0)
class StoredAsBlocksTests(WiredArtifacts, HeraldTestCase):
    @pytest.fixture(autouse=True)
    def _dirs(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setitem(settings.HERALD_ENV, "HERALD_SIGNING_KEY_DIR", str(tmp_path / "keys"))
        self.tmp = tmp_path

    def test_listings_are_stored_as_blocks_with_the_bytes_a_whole_render_gives(self) -> None:
        advisories = [self.published(title=f"Listed {i}") for i in range(3)]
        for path in LISTINGS:
            row = Artifact.objects.get(path=path)
            assert row.blocks and bytes(row.content) == b"", path
        stored = {path: (read_one(path), Artifact.objects.get(path=path).etag) for path in LISTINGS}
        with override_settings(HERALD_ARTIFACT_BLOCKS_FROM=1 << 40):
            # Rendered again from nothing, stored whole: the same bytes and ETags.
            Artifact.objects.all().delete()
            ArtifactBlock.objects.all().delete()
            regenerate_everything()
            for path in LISTINGS:
                row = Artifact.objects.get(path=path)
                assert row.blocks == [], path
                assert (bytes(row.content), row.etag) == stored[path], path
        # Back to blocks with the next change, and back to whole with the one after.
        do_update_advisory(advisories[0], acting_user=self.bob, title="Moved", change_summary="T.")
        assert all(Artifact.objects.get(path=path).blocks for path in LISTINGS)
        with override_settings(HERALD_ARTIFACT_BLOCKS_FROM=1 << 40):
            do_update_advisory(
                advisories[1], acting_user=self.bob, title="Back", change_summary="T."
            )
        for path in LISTINGS:
            assert Artifact.objects.get(path=path).blocks == [], path
        assert not ArtifactBlock.objects.exists()

    def test_a_publication_adds_the_new_blocks_and_deletes_the_unused(self) -> None:
        first = self.published(title="First")
        self.published(title="Second")
        digests = {path: list(Artifact.objects.get(path=path).blocks) for path in LISTINGS}
        do_update_advisory(
            first, acting_user=self.bob, title="First, corrected", change_summary="Title."
        )
        for path in LISTINGS:
            listed = Artifact.objects.get(path=path).blocks
            assert listed != digests[path], path
            # Exactly the listed blocks are stored: nothing stale is left behind.
            assert set(
                ArtifactBlock.objects.filter(path=path).values_list("digest", flat=True)
            ) == (set(listed))
        assert b"First, corrected" in (read_one(builders.MARKDOWN_PATH) or b"")

    def test_the_served_copy_has_the_bytes_and_a_gzip_form_of_them(self) -> None:
        self.published(title="Served")
        store = serving.SiteStore(self.tmp / "site")
        serving.sync(store)
        for path in LISTINGS:
            bundle = serving.unpack(store.bundle_path(path).read_bytes())
            identity, gz, br = bundle.bodies
            assert identity == read_one(path), path
            assert gzip.decompress(gz) == identity, path
            assert br == b"", path  # brotli has no form made of independent blocks

    def test_a_missing_block_is_an_error_naming_the_file(self) -> None:
        self.published(title="Damaged")
        row = Artifact.objects.get(path=builders.MARKDOWN_PATH)
        ArtifactBlock.objects.filter(path=row.path, digest=row.blocks[0]).delete()
        with self.assertRaisesMessage(blocks.MissingBlock, builders.MARKDOWN_PATH):
            read_one(builders.MARKDOWN_PATH)

    def test_files_not_given_in_parts_are_stored_whole(self) -> None:
        self.published(title="Whole")
        whole = Artifact.objects.exclude(path__in=LISTINGS)
        assert whole.count() > 10
        for row in whole:
            assert row.blocks == [] and bytes(row.content), row.path
        assert set(ArtifactBlock.objects.values_list("path", flat=True)) == set(LISTINGS)


class WarmingTests(WiredArtifacts, HeraldTestCase):
    """A process reads the listings' lines at start, so its first publication is fast."""

    @pytest.fixture(autouse=True)
    def _keys(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setitem(settings.HERALD_ENV, "HERALD_SIGNING_KEY_DIR", str(tmp_path / "keys"))

    def forget(self) -> None:
        """What a new process knows: nothing."""
        caches.reset_all()

    def test_warming_fills_what_a_publication_reuses(self) -> None:
        published = [self.published(title=f"Warm {i}", cve_ids=[]) for i in range(3)]
        self.forget()
        artifacts.warm()
        stored = Artifact.objects.get(path=builders.MARKDOWN_PATH).etag
        assert caches.named("handbook texts").tag == stored
        assert len(caches.named("handbook texts")) == len(published)
        kept = caches.named("osv archive members")
        assert kept.tag == Artifact.objects.get(path=surfaces_osv.ZIP_PATH).etag
        from herald.publishing.site.surfaces import site_publisher

        publisher = site_publisher()
        assert set(kept.entries()) == {publisher.osv_id(a.identifier) for a in published}
        assert len(caches.named("csaf entries")) == len(published)
        # Each advisory's CSAF document and its VEX document.
        assert len(caches.named("csaf rolie entry texts")) == 2 * len(published)

    def test_warming_an_empty_desk_or_a_failing_warmer_raises_nothing(self) -> None:
        self.forget()
        artifacts.warm()  # nothing published, nothing stored
        assert caches.named("osv archive members").tag is None
        with pytest.MonkeyPatch.context() as patch:
            patch.setitem(artifacts._warmers, "broken", lambda profile: 1 / 0)
            with self.assertLogs("herald.publishing.store.artifacts", "ERROR") as logged:
                artifacts.warm()
        assert "could not warm broken" in logged.output[0]

    def test_warming_runs_in_the_background_unless_switched_off(self) -> None:
        ran = threading.Event()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(artifacts, "warm", ran.set)
            with override_settings(HERALD_WARM_PUBLISHING=False):
                assert artifacts.start_warming() is None
            assert not ran.is_set()
            thread = artifacts.start_warming()
            assert thread is not None and thread.daemon
            thread.join(30)
        assert ran.is_set()
