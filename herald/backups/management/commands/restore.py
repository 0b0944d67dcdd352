"""``herald restore FILE``: bring a desk back from ``herald backup`` into an empty home."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from herald.backups.archive import restore_backup
from herald.backups.cli import BackupCommand


class Command(BackupCommand):
    help = (
        "Restore an archive made by `herald backup` into an empty HERALD_HOME and an empty\n"
        "database (SQLite under HERALD_HOME, or the PostgreSQL database of DATABASE_URL).\n"
        "The whole archive is checked against its manifest first: a damaged, truncated or\n"
        "foreign file is refused and nothing is written. A SQLite backup restores into\n"
        "PostgreSQL (and back) through its logical dump. An archive from an older Herald\n"
        "is upgraded after the restore."
    )
    epilog = (
        "examples:\n"
        "  HERALD_HOME=/srv/herald herald restore /backups/herald-2026-12-07.tar.gz\n"
        "  DATABASE_URL=postgres://herald@db/herald herald restore herald.tar.gz\n"
        "  herald restore --decrypt-with ops-team-secret.asc herald.tar.gz.pgp"
    )
    # The database is empty until the restore: no check may need its tables.
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", help="the archive written by herald backup")
        parser.add_argument(
            "--decrypt-with",
            metavar="KEYFILE",
            help="the OpenPGP secret key an encrypted archive was encrypted to",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        decrypt_with = Path(options["decrypt_with"]) if options.get("decrypt_with") else None
        result = restore_backup(
            Path(options["file"]), decrypt_with=decrypt_with, progress=self.stdout.write
        )
        self.stdout.write(
            f"Restored by {result.method}: the database and {result.files} files "
            f"(Herald {result.herald_version}'s backup)."
        )
        if result.upgraded:
            self.stdout.write(f"Database upgraded: {len(result.upgraded)} migration(s) applied:")
            for name in result.upgraded:
                self.stdout.write(f"    {name}")
        if result.secret_key_differs:
            self.stdout.write(
                "HERALD_SECRET_KEY is set and differs from the restored secret key: set it to "
                "the old desk's value, or its sign-in sessions and reporters' links stop working."
            )
        self.stdout.write("Next: herald audit verify, herald validate, then herald serve.")
