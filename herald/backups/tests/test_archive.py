"""What a backup holds, and the archives restore refuses before writing anything.

The archive is made once for the module, by ``herald setup`` and ``herald backup``
in their own processes on a fresh SQLite home; the refusals then run in-process.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import tempfile
from pathlib import Path

import pysequoia as pgp
import pytest
from django.core.management import CommandError, call_command
from django.test import TestCase, override_settings

from herald.backups import tasks
from herald.backups.archive import (
    LOGICAL_MEMBER,
    MANIFEST,
    SECRET_MEMBER,
    home_sections,
    open_verified,
)
from herald.backups.tests.test_restore_drill import ON_POSTGRES_PASS, Desk
from herald.test import HeraldTransactionTestCase


def files_under(roots: list[Path]) -> set[Path]:
    return {p for root in roots if root.exists() for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Desk, Path]:
    desk = Desk(tmp_path_factory.mktemp("home"), None)
    desk.run("setup")
    archive = tmp_path_factory.mktemp("archives") / "herald.tar.gz"
    desk.run("backup", str(archive))
    return desk, archive


@pytest.mark.skipif(ON_POSTGRES_PASS, reason="the archive is engine-independent: SQLite pass")
class Backups(TestCase):
    @pytest.fixture(autouse=True)
    def _archive(self, made: tuple[Desk, Path], tmp_path: Path) -> None:
        self.desk, self.archive = made
        self.tmp = tmp_path

    def members(self, path: Path | None = None) -> dict[str, bytes]:
        with tarfile.open(path or self.archive, "r:gz") as tar:
            return {
                info.name: tar.extractfile(info).read()  # type: ignore[union-attr]
                for info in tar
                if info.isfile()
            }

    def restore(self, path: Path, *extra: str) -> str:
        err = io.StringIO()
        home = list(home_sections().values())
        before = files_under(home)
        try:
            with pytest.raises(CommandError):
                call_command("restore", str(path), *extra, stdout=io.StringIO(), stderr=err)
        finally:
            # Refused before writing anything: no file appeared in the home directories.
            assert files_under(home) == before
        assert "Traceback" not in err.getvalue()
        return err.getvalue()

    def test_the_archive_holds_database_keys_anchor_secret_and_a_checked_manifest(self) -> None:
        members = self.members()
        manifest = json.loads(members[MANIFEST])
        assert manifest["format"] == "herald-backup"
        assert manifest["herald_version"]
        assert manifest["database"] in members and LOGICAL_MEMBER in members
        assert "audit.0001_initial" in manifest["migrations"]
        keys = [n for n in members if n.startswith("herald-backup/home/keys/")]
        assert len(keys) == 1 and keys[0].endswith(".key")
        assert "herald-backup/home/audit/anchor.jsonl" in members
        assert members[SECRET_MEMBER] == (self.desk.home / "secret_key").read_bytes().strip()
        for name, entry in manifest["files"].items():
            assert hashlib.sha256(members[name]).hexdigest() == entry["sha256"], name
        logical = json.loads(members[LOGICAL_MEMBER])
        fingerprints = [
            o["fields"]["fingerprint"] for o in logical if o["model"] == "publishing.signingkey"
        ]
        assert keys[0].endswith(f"{fingerprints[0]}.key")
        assert self.archive.stat().st_mode & 0o077 == 0  # it holds secret keys

    def test_the_logical_dump_keeps_times_to_the_microsecond(self) -> None:
        logical = json.loads(self.members()[LOGICAL_MEMBER])
        times = [o["fields"]["at"] for o in logical if o["model"] == "audit.auditevent"]
        assert times and all("." in t and len(t.split(".")[1]) >= 6 for t in times), times

    def test_restore_refuses_a_truncated_archive(self) -> None:
        data = self.archive.read_bytes()
        truncated = self.tmp / "truncated.tar.gz"
        truncated.write_bytes(data[: len(data) // 2])
        assert "damaged or truncated" in self.restore(truncated)

    def test_restore_refuses_a_damaged_archive(self) -> None:
        data = bytearray(self.archive.read_bytes())
        data[len(data) // 2] ^= 0xFF
        damaged = self.tmp / "damaged.tar.gz"
        damaged.write_bytes(bytes(data))
        assert "damaged" in self.restore(damaged)

    def test_restore_refuses_a_member_that_does_not_match_its_checksum(self) -> None:
        members = self.members()
        members[LOGICAL_MEMBER] = members[LOGICAL_MEMBER].replace(b"advisories", b"advisoriez")
        altered = self.tmp / "altered.tar.gz"
        with tarfile.open(altered, "w:gz") as tar:
            for name, body in members.items():
                info = tarfile.TarInfo(name)
                info.size = len(body)
                tar.addfile(info, io.BytesIO(body))
        assert f"{LOGICAL_MEMBER} does not match its checksum" in self.restore(altered)

    def test_restore_refuses_a_foreign_archive(self) -> None:
        foreign = self.tmp / "site.tar.gz"
        with tarfile.open(foreign, "w:gz") as tar:
            info = tarfile.TarInfo("index.html")
            info.size = 5
            tar.addfile(info, io.BytesIO(b"hello"))
        assert "is not a Herald backup" in self.restore(foreign)
        text = self.tmp / "notes.txt"
        text.write_text("not an archive")
        assert "not a plain Herald backup" in self.restore(text)
        other_format = self.tmp / "other.tar.gz"
        with gzip.open(other_format, "wb") as fh:
            fh.write(b"\0" * 1024)
        assert "not a Herald backup" in self.restore(other_format)

    def test_restore_refuses_a_desk_that_already_has_data(self) -> None:
        assert "restore needs an empty database" in self.restore(self.archive)

    def test_an_encrypted_backup_opens_only_with_its_secret_key(self) -> None:
        ops = pgp.Tsk.generate(user_id="Ops <ops@example.com>")
        (self.tmp / "ops.asc").write_text(str(ops.extract_certificate()))
        (self.tmp / "ops-secret.asc").write_text(str(ops))
        encrypted = self.tmp / "herald.tar.gz.pgp"
        out = self.desk.run("backup", str(encrypted), "--encrypt-to", str(self.tmp / "ops.asc"))
        assert "encrypted" in out.stdout
        assert b"herald-backup" not in encrypted.read_bytes()
        assert "--decrypt-with" in self.restore(encrypted)
        other = pgp.Tsk.generate(user_id="Mallory")
        (self.tmp / "other.asc").write_text(str(other))
        assert "cannot be decrypted" in self.restore(
            encrypted, "--decrypt-with", str(self.tmp / "other.asc")
        )
        staging = self.tmp / "staging"
        staging.mkdir()
        opened = open_verified(encrypted, staging, decrypt_with=self.tmp / "ops-secret.asc")
        assert opened.manifest["format"] == "herald-backup"

    def test_backup_names_a_missing_key_file_without_a_traceback(self) -> None:
        refused = self.desk.run(
            "backup", str(self.tmp / "x.tar.gz"), "--encrypt-to", "missing.asc", ok=False
        )
        assert refused.returncode == 1
        assert "--encrypt-to: missing.asc does not exist" in refused.stderr
        assert "Traceback" not in refused.stderr
        assert not (self.tmp / "x.tar.gz").exists()


class ScheduledBackups(HeraldTransactionTestCase):
    def test_the_scheduled_backup_keeps_the_newest_and_schedules_the_next(self) -> None:
        from django_tasks_db.models import DBTaskResult

        directory = Path(tempfile.mkdtemp(prefix="herald-scheduled-"))
        with override_settings(HERALD_BACKUP_DIR=str(directory), HERALD_BACKUP_KEEP=2):
            for _ in range(3):
                tasks.scheduled_backup.call()
        kept = sorted(p.name for p in directory.iterdir())
        assert len(kept) == 2 and all(name.startswith("herald-") for name in kept)
        assert DBTaskResult.objects.filter(task_path=tasks.scheduled_backup.module_path).exists()
