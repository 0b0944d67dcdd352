"""Where a desk lives, computed without touching the disk, and keeping it private.

The settings and the ``herald`` entry point both read it: the entry point must
know whether a desk exists before the settings are imported, because importing
them creates ``HERALD_HOME`` (the secret key, the static directory).
``make_private`` is the one function here that writes: ``herald setup`` calls it.
"""

from __future__ import annotations

import os
from pathlib import Path

SQLITE_NAME = "herald.sqlite3"


# This module reads the environment itself, an exception to "only herald/settings.py
# does": the entry point needs HERALD_HOME and DATABASE_URL before the settings load.


def herald_home() -> Path:
    """``HERALD_HOME``, default ``./var`` of the current directory, made absolute."""
    return Path(os.environ.get("HERALD_HOME", "var")).resolve()


def missing_desk() -> Path | None:
    """The directory where a desk was expected but is not; ``None`` when there is one.

    On the embedded default the desk is its SQLite file. With a PostgreSQL
    ``DATABASE_URL`` the desk is that database: a new web or worker machine
    pointed at it has no ``HERALD_HOME`` yet and needs none made by hand (the
    settings create it for the served copy). Whether the database is set up is
    said by the entry point when a query fails.
    """
    home = herald_home()
    url = os.environ.get("DATABASE_URL", "").strip()
    if url.startswith("sqlite://"):
        # As dj-database-url reads it: sqlite:////abs/path, sqlite:///relative/path.
        # A query string (?transaction_mode=...) carries options, not the file name.
        name = url.removeprefix("sqlite://")[1:].split("?", 1)[0]
        return None if name in ("", ":memory:") or Path(name).is_file() else home
    if url or os.environ.get("HERALD_TEST_DB") == "postgres":
        return None
    return None if (home / SQLITE_NAME).is_file() else home


def make_private(home: Path, sqlite: Path | None) -> None:
    """``home`` readable by its owner only (0700); the secret key and the SQLite files 0600.

    They hold embargoed drafts, TOTP secrets and sessions, as private as the secret
    key. A new database file is made 0600 before SQLite first opens it: SQLite
    gives its -wal and -shm files the database file's mode. An existing desk's
    modes are tightened too, so running ``herald setup`` again fixes an old one.
    """
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    home.chmod(0o700)
    if (home / "secret_key").exists():
        (home / "secret_key").chmod(0o600)
    if sqlite is None:
        return
    sqlite.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.close(os.open(sqlite, os.O_WRONLY | os.O_CREAT, 0o600))
    for path in (
        sqlite,
        sqlite.with_name(sqlite.name + "-wal"),
        sqlite.with_name(sqlite.name + "-shm"),
    ):
        if path.exists():
            path.chmod(0o600)
