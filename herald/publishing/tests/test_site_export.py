"""``herald export site DIR`` and the publish hook that pushes the export after each publication."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from herald.publication.actions import do_withdraw_advisory
from herald.publishing import tasks
from herald.publishing.models import Artifact
from herald.publishing.site import builders
from herald.publishing.store import serving, siteexport
from herald.publishing.store.artifacts import read_one
from herald.publishing.store.siteexport import MANIFEST, export_site
from herald.test import HeraldTestCase


def files(root: Path) -> dict[str, tuple[int, int]]:
    """path -> (inode, mtime_ns) of every exported file: what a rewrite would change."""
    return {
        p.relative_to(root).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns)
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith(".herald")
    }


class SiteExport(HeraldTestCase):
    @pytest.fixture(autouse=True)
    def _dirs(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.out = tmp_path / "www"

    def test_it_writes_every_artifact_with_compressed_copies(self) -> None:
        advisory = self.published(title="Exported")
        stdout = io.StringIO()
        call_command("export", "site", str(self.out), stdout=stdout)
        assert "written" in stdout.getvalue()
        for artifact in Artifact.objects.all():
            assert (self.out / artifact.path).read_bytes() == read_one(artifact.path)
            mtime = (self.out / artifact.path).stat().st_mtime
            assert int(mtime) == int(artifact.updated_at.timestamp())
        page = self.out / builders.ADVISORY_PATH.format(identifier=advisory.identifier)
        assert gzip.decompress(page.with_name("index.html.gz").read_bytes()) == page.read_bytes()
        assert page.with_name("index.html.br").is_file()
        assert json.loads((self.out / MANIFEST).read_text())["files"]

    def test_exporting_again_after_one_change_rewrites_only_what_changed(self) -> None:
        first = self.published(title="First", affected=[{"product": "cloud"}])
        export_site(self.out)
        before = files(self.out)
        assert export_site(self.out).written == ()
        assert files(self.out) == before

        second = self.published(title="Second", cve_ids=[])
        result = export_site(self.out)
        page = builders.ADVISORY_PATH.format(identifier=second.identifier)
        assert page in result.written
        assert builders.INDEX_PATH in result.written
        after = files(self.out)
        untouched = builders.ADVISORY_PATH.format(identifier=first.identifier)
        assert after[untouched] == before[untouched]
        assert untouched not in result.written
        rewritten = {path for path in after if after[path] != before.get(path)}
        expected = {
            name
            for path in result.written
            for name in (path, path + ".gz", path + ".br")
            if name in after
        }
        assert rewritten == expected

    def test_a_directory_without_its_record_is_compared_by_content(self) -> None:
        self.published()
        export_site(self.out)
        (self.out / MANIFEST).unlink()
        assert export_site(self.out).written == ()

    def test_a_file_deleted_by_hand_is_written_again(self) -> None:
        self.published()
        export_site(self.out)
        (self.out / builders.INDEX_PATH).unlink()
        assert export_site(self.out).written == (builders.INDEX_PATH,)

    def test_withdrawal_reaches_the_export(self) -> None:
        advisory = self.published(title="Wrong")
        export_site(self.out)
        do_withdraw_advisory(advisory, acting_user=self.bob, reason="Published in error.")
        result = export_site(self.out)
        page = builders.ADVISORY_PATH.format(identifier=advisory.identifier)
        assert page in result.written
        assert "Published in error." in (self.out / page).read_text()

    def test_compressed_copies_come_from_a_current_bundle_of_the_served_copy(self) -> None:
        advisory = self.published(title="Bundled")
        page = builders.ADVISORY_PATH.format(identifier=advisory.identifier)
        row = Artifact.objects.get(path=page)
        content = bytes(row.content)
        store = serving.SiteStore(self.tmp / "site")
        store.ensure()
        # A bundle with the row's ETag: its compressed bodies are exported as they are.
        header = {"etag": row.etag, "type": row.content_type, "modified": 0}
        gz = gzip.compress(content, mtime=0)
        bundle = (
            serving.MAGIC
            + json.dumps({**header, "sizes": [len(content), len(gz), 3]}).encode()
            + b"\n"
            + content
            + gz
            + b"BR!"
        )
        store.write(page, bundle)
        # A bundle of an older version (another ETag) is ignored: compressed here.
        stale = serving.pack(b"old " * 100, row.content_type, "0" * 32, 0)
        store.write(builders.INDEX_PATH, stale)
        with self.settings(HERALD_SITE_DIR=self.tmp / "site"):
            result = export_site(self.out)
        assert page in result.written
        assert (self.out / (page + ".br")).read_bytes() == b"BR!"
        assert (self.out / (page + ".gz")).read_bytes() == gz
        assert (self.out / page).read_bytes() == content
        index = Artifact.objects.get(path=builders.INDEX_PATH)
        assert (self.out / builders.INDEX_PATH).read_bytes() == bytes(index.content)
        assert gzip.decompress((self.out / (builders.INDEX_PATH + ".gz")).read_bytes()) == bytes(
            index.content
        )

    def test_a_damaged_bundle_is_not_exported(self) -> None:
        advisory = self.published(title="Damaged")
        page = builders.ADVISORY_PATH.format(identifier=advisory.identifier)
        row = Artifact.objects.get(path=page)
        store = serving.SiteStore(self.tmp / "site")
        store.ensure()
        packed = serving.pack(bytes(row.content), row.content_type, row.etag, 0)
        store.write(page, packed[:-10])  # cut short
        with self.settings(HERALD_SITE_DIR=self.tmp / "site"):
            export_site(self.out)
        assert (self.out / page).read_bytes() == bytes(row.content)
        gz = (self.out / (page + ".gz")).read_bytes()
        assert gzip.decompress(gz) == bytes(row.content)

    def test_worker_processes_write_the_same_files_and_reexport_replaces_atomically(
        self,
    ) -> None:
        self.published(title="One")
        self.published(title="Two")
        plain = self.tmp / "plain"
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(siteexport, "PARALLEL_MIN", 0)
            patch.setattr(siteexport, "BATCH", 2)
            export_site(self.out)
            export_site(plain, precompress=False)
            (self.out / MANIFEST).unlink()
            (self.out / builders.INDEX_PATH).write_bytes(b"edited by hand")
            inode = (self.out / builders.INDEX_PATH).stat().st_ino
            assert export_site(self.out).written == (builders.INDEX_PATH,)
        assert (self.out / builders.INDEX_PATH).stat().st_ino != inode  # renamed over
        for artifact in Artifact.objects.all():
            content = read_one(artifact.path)
            for root in (self.out, plain):
                target = root / artifact.path
                assert target.read_bytes() == content
                assert target.stat().st_mode & 0o777 == 0o644
                assert int(target.stat().st_mtime) == int(artifact.updated_at.timestamp())
            assert not (plain / (artifact.path + ".gz")).exists()
            gz = self.out / (artifact.path + ".gz")
            if gz.exists():
                assert gzip.decompress(gz.read_bytes()) == content
                assert int(gz.stat().st_mtime) == int(artifact.updated_at.timestamp())
        assert not (self.out / siteexport.TMP).exists()

    def test_the_command_needs_a_directory(self) -> None:
        with pytest.raises(Exception, match="needs DIR"):
            call_command("export", "site", stdout=io.StringIO(), stderr=io.StringIO())


class PublishHook(HeraldTestCase):
    @pytest.fixture(autouse=True)
    def _dirs(self, tmp_path: Path) -> None:
        self.tmp = tmp_path

    def test_the_publish_hook_runs_after_a_publication_with_the_changed_paths(self) -> None:
        hook = (
            f'cp "$HERALD_CHANGED_FILE" {self.tmp}/changed.txt && '
            f'echo "$HERALD_EXPORT_DIR $HERALD_CHANGED_COUNT" > {self.tmp}/ran.txt'
        )
        export = self.tmp / "export"
        with self.settings(
            HERALD_PUBLISH_HOOK=hook, HERALD_EXPORT_DIR=export, HERALD_SITE_DIR=self.tmp / "site"
        ):
            with self.captureOnCommitCallbacks(execute=True):
                advisory = self.published(title="Pushed")
            queued = DBTaskResult.objects.filter(
                task_path=tasks.push_export.module_path, status=TaskResultStatus.READY
            )
            assert queued.count() == 1
            outcome = tasks.push_export.call()
        assert outcome["hook"] == 0
        changed = (self.tmp / "changed.txt").read_text().splitlines()
        assert f"/security/advisories/{advisory.identifier}/index.html" in changed
        assert "/security/advisories/index.html" in changed
        ran = (self.tmp / "ran.txt").read_text().split()
        assert ran == [str(export), str(len(changed))]
        assert (export / builders.INDEX_PATH).is_file()

    def test_a_failing_hook_fails_the_task_so_the_worker_records_it(self) -> None:
        self.published()
        failing = self.settings(HERALD_PUBLISH_HOOK="exit 3", HERALD_EXPORT_DIR=self.tmp / "out")
        with failing, pytest.raises(RuntimeError, match="status 3"):
            tasks.push_export.call()

    def test_no_hook_no_task(self) -> None:
        no_hook = self.settings(HERALD_PUBLISH_HOOK="", HERALD_SITE_DIR=self.tmp / "site")
        with no_hook, self.captureOnCommitCallbacks(execute=True):
            self.published()
        assert not DBTaskResult.objects.filter(task_path=tasks.push_export.module_path).exists()
