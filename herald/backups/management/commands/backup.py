"""``herald backup FILE``: one consistent archive of the desk, taken while it runs."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from herald.backups.archive import create_backup
from herald.backups.cli import BackupCommand


class Command(BackupCommand):
    help = (
        "Write one archive with everything the desk needs to come back whole: the database\n"
        "(SQLite's online backup, or pg_dump) and a logical dump of the same snapshot, the\n"
        "secret key, the signing keys (retired ones too), report attachments, the GnuPG\n"
        "home, the audit anchor, and a manifest with checksums and Herald's version.\n"
        "Safe while Herald runs. The archive holds secret keys: keep it like them, or\n"
        "encrypt it with --encrypt-to."
    )
    epilog = (
        "examples:\n"
        "  herald backup /backups/herald-2026-12-07.tar.gz\n"
        "  herald backup --encrypt-to ops-team.asc /backups/herald.tar.gz.pgp"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", help="the archive to write (replaced if it exists)")
        parser.add_argument(
            "--encrypt-to",
            metavar="KEYFILE",
            help="encrypt the archive to this OpenPGP public key (restore needs its secret key)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        encrypt_to = Path(options["encrypt_to"]) if options.get("encrypt_to") else None
        result = create_backup(Path(options["file"]), encrypt_to=encrypt_to)
        self.stdout.write(
            f"Backup written: {result.path} ({result.size:,} bytes, {result.engine}, "
            f"{result.files} files{', encrypted' if result.encrypted else ''})."
        )
